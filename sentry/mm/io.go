package mm

import (
	"encoding/binary"
	"golang.org/x/sys/unix"
	"math"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
	"github.com/palisade-sandbox/palisade/sentry/pgalloc"
)

// checkRange validates a guest range [addr, addr+n) for a Sentry copy.
func (mm *MemoryManager) checkRange(addr uintptr, n int) linux.Errno {
	if n < 0 {
		return unix.EFAULT
	}
	end := addr + uintptr(n)
	if end < addr || end > mm.maxAddr {
		return unix.EFAULT
	}
	return 0
}

// block returns the Sentry's view of guest memory starting at addr (at
// most n bytes, within one pma and one VMA), allocating backing if
// needed. mm.mu must be held.
func (mm *MemoryManager) block(addr uintptr, n int, at platform.AccessType) ([]byte, linux.Errno) {
	v := mm.vmaAt(addr)
	if v == nil {
		// A kernel write below a stack grows it, as the page fault
		// of Linux's copy_to_user would (a signal frame, say).
		v = mm.growStack(addr)
	}
	if v == nil || !allows(v.perms, at) {
		return nil, unix.EFAULT
	}
	i := mm.findPMA(addr)
	cs := max(v.start, addr&^(faultAroundSize-1))
	ce := min(v.end, (addr&^(faultAroundSize-1))+faultAroundSize)
	if i == len(mm.pmas) || mm.pmas[i].start > addr {
		// Allocate the surrounding chunk, as a fault would.
		if err := mm.ensurePMAs(v, cs, ce); err != 0 {
			return nil, err
		}
		if !mm.hasPMA(addr) {
			// Past the end of the mapped file.
			return nil, unix.EFAULT
		}
		i = mm.findPMA(addr)
	}
	if at.Write && mm.pmas[i].needsCopy {
		// A Sentry write breaks copy-on-write like a guest write, and
		// the guest's view must follow to the new pages.
		if err := mm.ensurePMAs(v, cs, ce); err != 0 {
			return nil, err
		}
		if err := mm.breakCOW(cs, ce); err != 0 {
			return nil, err
		}
		if mm.as != nil {
			if mm.mapRange(cs, ce, v.perms) != 0 {
				_ = mm.as.Unmap(cs, ce-cs)
			}
		}
		i = mm.findPMA(addr)
	}
	p := &mm.pmas[i]
	end := min(p.end, v.end)
	if uintptr(n) < end-addr {
		end = addr + uintptr(n)
	}
	if at.Write && p.clean {
		// The Sentry writes these pages: they must be written back.
		mm.markDirty(v, pageRoundDown(addr), pageRoundUp(end))
		i = mm.findPMA(addr)
		p = &mm.pmas[i]
		end = min(end, p.end)
	}
	off := p.fr.Start + uint64(addr-p.start)
	return mm.mf.Slice(pgaFileRange(off, uint64(end-addr))), 0
}

// forEachBlock calls fn on successive blocks of [addr, addr+n) until fn
// returns fewer bytes than given or an error, or a page is inaccessible.
// It returns the bytes fn consumed and EFAULT if it stopped at a bad page.
func (mm *MemoryManager) forEachBlock(addr uintptr, n int, at platform.AccessType, fn func([]byte) (int, error)) (int, error) {
	if err := mm.checkRange(addr, n); err != 0 {
		return 0, err
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	done := 0
	for done < n {
		b, errno := mm.block(addr+uintptr(done), n-done, at)
		if errno != 0 {
			return done, errno
		}
		m, err := fn(b)
		done += m
		if err != nil {
			return done, err
		}
		if m < len(b) {
			break
		}
	}
	return done, nil
}

// CopyOut copies src to guest memory at addr. It returns the number of
// bytes copied and EFAULT if it hit an address the guest cannot write.
func (mm *MemoryManager) CopyOut(addr uintptr, src []byte) (int, error) {
	return mm.forEachBlock(addr, len(src), writeAccess, func(b []byte) (int, error) {
		n := copy(b, src)
		src = src[n:]
		return n, nil
	})
}

// CopyIn copies guest memory at addr into dst. It returns the number of
// bytes copied and EFAULT if it hit an address the guest cannot read.
func (mm *MemoryManager) CopyIn(addr uintptr, dst []byte) (int, error) {
	return mm.forEachBlock(addr, len(dst), platform.Read, func(b []byte) (int, error) {
		n := copy(dst, b)
		dst = dst[n:]
		return n, nil
	})
}

// ZeroOut writes n zero bytes at addr.
func (mm *MemoryManager) ZeroOut(addr uintptr, n int) (int, error) {
	return mm.forEachBlock(addr, n, writeAccess, func(b []byte) (int, error) {
		clear(b)
		return len(b), nil
	})
}

// CopyInTo hands guest memory [addr, addr+n) to w block by block, without
// copying it first (for write(2)-style handlers). It stops when w consumes
// less than a whole block or fails, and returns the bytes w consumed; the
// error is w's, or EFAULT at an unreadable page.
//
// w runs without the address space locked (it may block on host I/O): each
// block's memory-file pages are held by a reference while w uses them, so a
// concurrent munmap cannot hand them to someone else.
func (mm *MemoryManager) CopyInTo(addr uintptr, n int, w func([]byte) (int, error)) (int, error) {
	return mm.forEachBlockUnlocked(addr, n, platform.Read, w)
}

// CopyOutFrom lets r fill guest memory [addr, addr+n) block by block (for
// read(2)-style handlers), with CopyInTo's rules.
func (mm *MemoryManager) CopyOutFrom(addr uintptr, n int, r func([]byte) (int, error)) (int, error) {
	return mm.forEachBlockUnlocked(addr, n, writeAccess, r)
}

// forEachBlockUnlocked is forEachBlock with fn called outside mm.mu.
func (mm *MemoryManager) forEachBlockUnlocked(addr uintptr, n int, at platform.AccessType, fn func([]byte) (int, error)) (int, error) {
	if err := mm.checkRange(addr, n); err != 0 {
		return 0, err
	}
	done := 0
	for done < n {
		mm.mu.Lock()
		b, fr, errno := mm.blockRef(addr+uintptr(done), n-done, at)
		mm.mu.Unlock()
		if errno != 0 {
			return done, errno
		}
		m, err := fn(b)
		mm.mf.DecRef(fr)
		done += m
		if err != nil {
			return done, err
		}
		if m < len(b) {
			break
		}
	}
	return done, nil
}

// blockRef is block, also taking a reference on the block's file range.
func (mm *MemoryManager) blockRef(addr uintptr, n int, at platform.AccessType) ([]byte, pgalloc.FileRange, linux.Errno) {
	b, errno := mm.block(addr, n, at)
	if errno != 0 {
		return nil, pgalloc.FileRange{}, errno
	}
	i := mm.findPMA(addr)
	p := &mm.pmas[i]
	off := p.fr.Start + uint64(addr-p.start)
	fr := pgalloc.FileRange{Start: off &^ (linux.PageSize - 1), End: (off + uint64(len(b)) + linux.PageSize - 1) &^ (linux.PageSize - 1)}
	mm.mf.IncRef(fr)
	return b, fr, 0
}

// CopyInString reads a NUL-terminated string of at most maxLen bytes
// (excluding the NUL) at addr. It returns ENAMETOOLONG if no NUL is found
// within maxLen+1 bytes, EFAULT at an unreadable page first.
func (mm *MemoryManager) CopyInString(addr uintptr, maxLen int) (string, error) {
	if maxLen < 0 {
		return "", unix.EINVAL
	}
	var buf []byte
	const chunk = 256
	for len(buf) <= maxLen {
		want := min(chunk, maxLen+1-len(buf))
		// Do not cross into a page we have not checked yet needlessly:
		// read up to the end of the current page.
		a := addr + uintptr(len(buf))
		if a < addr || a >= mm.maxAddr {
			return "", unix.EFAULT
		}
		if rest := int(linux.PageSize - a%linux.PageSize); want > rest {
			want = rest
		}
		if a+uintptr(want) > mm.maxAddr {
			want = int(mm.maxAddr - a)
		}
		found := -1
		_, err := mm.forEachBlock(a, want, platform.Read, func(b []byte) (int, error) {
			for i, c := range b {
				if c == 0 {
					found = i
					buf = append(buf, b[:i]...)
					return i, nil
				}
			}
			buf = append(buf, b...)
			return len(b), nil
		})
		if found >= 0 {
			return string(buf), nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", unix.ENAMETOOLONG
}

// CopyInIovecs reads an iovec array of count entries at addr, as readv and
// writev do: more than UIO_MAXIOV entries or a length above SSIZE_MAX is
// EINVAL; the total is clamped to MAX_RW_COUNT by shortening the iovecs.
func (mm *MemoryManager) CopyInIovecs(addr uintptr, count int) ([]linux.Iovec, error) {
	if count < 0 || count > linux.UIO_MAXIOV {
		return nil, unix.EINVAL
	}
	if count == 0 {
		return nil, nil
	}
	raw := make([]byte, count*linux.IovecSize)
	if n, err := mm.CopyIn(addr, raw); err != nil || n != len(raw) {
		return nil, unix.EFAULT
	}
	iovs := make([]linux.Iovec, count)
	var total uint64
	for i := range iovs {
		iovs[i].Decode(raw[i*linux.IovecSize:])
		if iovs[i].Len > math.MaxInt64 {
			return nil, unix.EINVAL
		}
		if left := uint64(linux.MAX_RW_COUNT) - total; iovs[i].Len > left {
			iovs[i].Len = left
		}
		total += iovs[i].Len
	}
	return iovs, nil
}

// CopyOutUint64 writes a little-endian 64-bit value at addr.
func (mm *MemoryManager) CopyOutUint64(addr uintptr, v uint64) error {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	_, err := mm.CopyOut(addr, b[:])
	return err
}
