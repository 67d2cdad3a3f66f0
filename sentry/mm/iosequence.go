package mm

import (
	"context"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
	"golang.org/x/sys/unix"
)

// IOSequence is a list of guest memory ranges that a read fills and a
// write drains, in order. It is how file operations reach guest memory
// (it satisfies vfs.IOSequence); a bad range surfaces as a short copy with
// EFAULT, never as a Sentry fault.
type IOSequence struct {
	mm   *MemoryManager
	iovs []linux.Iovec
	n    int64
	// writable is set on a sequence WritablePart made: all of it was
	// writable when checked.
	writable bool
}

// SingleIOSequence is the one range [addr, addr+n), clamped to
// MAX_RW_COUNT.
func (mm *MemoryManager) SingleIOSequence(addr uintptr, n uint64) IOSequence {
	n = min(n, linux.MAX_RW_COUNT)
	return IOSequence{mm: mm, iovs: []linux.Iovec{{Base: uint64(addr), Len: n}}, n: int64(n)}
}

// IOVecsIOSequence is the ranges iovs. As in Linux, a total beyond
// MAX_RW_COUNT is clamped, and an iovec whose length or end overflows is
// EINVAL.
func (mm *MemoryManager) IOVecsIOSequence(iovs []linux.Iovec) (IOSequence, error) {
	var total uint64
	out := make([]linux.Iovec, 0, len(iovs))
	for _, iov := range iovs {
		if int64(iov.Len) < 0 || iov.Base+iov.Len < iov.Base {
			return IOSequence{}, unix.EINVAL
		}
		room := linux.MAX_RW_COUNT - total
		if iov.Len > room {
			iov.Len = room
		}
		total += iov.Len
		if iov.Len > 0 {
			out = append(out, iov)
		}
	}
	return IOSequence{mm: mm, iovs: out, n: int64(total)}, nil
}

// NumBytes implements vfs.IOSequence.NumBytes.
func (s IOSequence) NumBytes() int64 { return s.n }

// CopyOutAt implements vfs.IOSequence.CopyOutAt: it copies src into the
// sequence starting off bytes in.
func (s IOSequence) CopyOutAt(_ context.Context, off int64, src []byte) (int, error) {
	return s.walk(off, len(src), func(addr uintptr, lo, hi int) (int, error) {
		return s.mm.CopyOut(addr, src[lo:hi])
	})
}

// CopyInAt implements vfs.IOSequence.CopyInAt: it copies from the sequence
// starting off bytes in into dst.
func (s IOSequence) CopyInAt(_ context.Context, off int64, dst []byte) (int, error) {
	return s.walk(off, len(dst), func(addr uintptr, lo, hi int) (int, error) {
		return s.mm.CopyIn(addr, dst[lo:hi])
	})
}

// walk calls fn for each piece of guest memory covering [off, off+n) of
// the sequence, with the matching [lo, hi) of the caller's buffer, and
// stops at the first short copy.
func (s IOSequence) walk(off int64, n int, fn func(addr uintptr, lo, hi int) (int, error)) (int, error) {
	if off < 0 || off > s.n {
		return 0, unix.EINVAL
	}
	done := 0
	for _, iov := range s.iovs {
		if done == n {
			break
		}
		l := int64(iov.Len)
		if off >= l {
			off -= l
			continue
		}
		chunk := int(min(l-off, int64(n-done)))
		c, err := fn(uintptr(iov.Base+uint64(off)), done, done+chunk)
		done += c
		if err != nil {
			return done, err
		}
		if c < chunk {
			return done, unix.EFAULT
		}
		off = 0
	}
	return done, nil
}

// WritablePrefix returns how many bytes from the start of the sequence
// lie in guest mappings that allow writing, up to the first byte that
// does not. It allocates nothing. Reads truncate their destination to it
// first, so that a buffer that goes bad part way gets the bytes before
// the bad page (Linux's partial count) without a source that cannot take
// data back (a pipe, a terminal) losing what did not fit.
func (s IOSequence) WritablePrefix() int64 {
	if s.writable {
		return s.n
	}
	s.mm.mu.Lock()
	defer s.mm.mu.Unlock()
	var n int64
	for _, iov := range s.iovs {
		addr, end := uintptr(iov.Base), uintptr(iov.Base+iov.Len)
		if end < addr || end > s.mm.maxAddr {
			if addr < s.mm.maxAddr {
				end = s.mm.maxAddr
			} else {
				return n
			}
		}
		for addr < end {
			v := s.mm.vmaAt(addr)
			if v == nil || !allows(v.perms, platform.AccessType{Write: true}) {
				return n
			}
			next := min(v.end, end)
			n += int64(next - addr)
			addr = next
		}
		if uintptr(iov.Base+iov.Len) != end {
			return n
		}
	}
	return n
}

// WritablePart returns the writable prefix of the sequence (see
// WritablePrefix) and its length; the result remembers that it was
// checked, so the file reading into it does not check again.
func (s IOSequence) WritablePart() (IOSequence, int64) {
	n := s.WritablePrefix()
	p := s.Prefix(n)
	p.writable = true
	return p, n
}

// Prefix returns the first n bytes of the sequence (all of it if n is
// larger).
func (s IOSequence) Prefix(n int64) IOSequence {
	if n >= s.n {
		return s
	}
	out := IOSequence{mm: s.mm, n: n}
	for _, iov := range s.iovs {
		if n == 0 {
			break
		}
		l := min(int64(iov.Len), n)
		out.iovs = append(out.iovs, linux.Iovec{Base: iov.Base, Len: uint64(l)})
		n -= l
	}
	return out
}
