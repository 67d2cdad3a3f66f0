package mm

import (
	"math"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
	"golang.org/x/sys/unix"
)

// MMapOpts describes a new mapping.
type MMapOpts struct {
	// Length is the length in bytes (rounded up to pages).
	Length uintptr
	// Addr is the requested address: a hint, or exact with Fixed.
	Addr uintptr
	// Fixed places the mapping exactly at Addr, replacing what was there
	// (MAP_FIXED); with NoReplace, fails with EEXIST instead
	// (MAP_FIXED_NOREPLACE).
	Fixed     bool
	NoReplace bool
	// Perms are the initial permissions.
	Perms platform.AccessType
	// Private is MAP_PRIVATE; otherwise MAP_SHARED.
	Private bool
	// GrowsDown marks a stack area.
	GrowsDown bool
	// Mappable, if not nil, is the file backing the mapping and Offset
	// the (page aligned) file offset of its start; MMap takes its own
	// reference on it. Nil means anonymous memory.
	Mappable Mappable
	Offset   uint64
	// MaxPerms bound what mprotect may later grant to a file mapping
	// (anonymous memory may always get any access). Perms must be
	// within them.
	MaxPerms platform.AccessType
	// Populate prefaults the whole mapping (MAP_POPULATE); running out
	// of memory while doing so is not an error, as in Linux.
	Populate bool
	// Locked marks the area VM_LOCKED (MAP_LOCKED) and populates it.
	Locked bool
}

// MMap creates an anonymous or file mapping and returns its address.
// Errors follow Linux's do_mmap: EINVAL for a zero length or a misaligned
// fixed address or offset, ENOMEM when the length overflows or nothing
// fits, EOVERFLOW when the file range overflows, EACCES for permissions
// beyond MaxPerms, EPERM below the minimum address, EEXIST for
// MAP_FIXED_NOREPLACE over an existing mapping.
func (mm *MemoryManager) MMap(opts MMapOpts) (uintptr, linux.Errno) {
	if opts.Length == 0 {
		return 0, unix.EINVAL
	}
	length, ok := pageRoundUpChecked(opts.Length)
	if !ok || length == 0 {
		return 0, unix.ENOMEM
	}
	maxPerms := platform.AnyAccess
	if opts.Mappable != nil {
		if opts.Offset&(linux.PageSize-1) != 0 {
			return 0, unix.EINVAL
		}
		if fileEnd := opts.Offset + uint64(length); fileEnd < opts.Offset || fileEnd > math.MaxInt64 {
			return 0, unix.EOVERFLOW
		}
		maxPerms = opts.MaxPerms
		p := opts.Perms
		if (p.Read && !maxPerms.Read) || (p.Write && !maxPerms.Write) || (p.Execute && !maxPerms.Execute) {
			return 0, unix.EACCES
		}
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if length > mm.maxAddr {
		return 0, unix.ENOMEM
	}
	if len(mm.vmas) >= maxMapCount {
		return 0, unix.ENOMEM
	}
	var addr uintptr
	if opts.Fixed {
		addr = opts.Addr
		if addr&(linux.PageSize-1) != 0 {
			return 0, unix.EINVAL
		}
		if addr > mm.maxAddr-length {
			return 0, unix.ENOMEM
		}
		if addr < mm.minAddr {
			return 0, unix.EPERM
		}
		if mm.overlaps(addr, addr+length) {
			if opts.NoReplace {
				return 0, unix.EEXIST
			}
			mm.removeRange(addr, addr+length)
		}
	} else {
		addr = mm.findGap(opts.Addr, length)
		if addr == 0 {
			return 0, unix.ENOMEM
		}
	}
	v := vma{
		start:     addr,
		end:       addr + length,
		perms:     opts.Perms,
		maxPerms:  maxPerms,
		private:   opts.Private,
		growsDown: opts.GrowsDown,
		mappable:  opts.Mappable,
		off:       opts.Offset,
		locked:    opts.Locked || mm.lockFuture,
	}
	if opts.Mappable != nil {
		opts.Mappable.IncRef()
		if sm, ok := opts.Mappable.(SharedMappable); ok && !opts.Private {
			v.shm = sharedFileObject(mm.mf, sm)
		}
	} else if !opts.Private {
		v.shm = newSharedMemory(mm.mf)
		v.off = 0
	}
	mm.insertVMA(v)
	if opts.Populate || opts.Locked {
		mm.populate(addr, addr+length)
	}
	return addr, 0
}

// populate faults in [start, end) (page aligned) as far as the VMAs there
// allow reading, with host memory committed behind every page, and
// reports ENOMEM at the first hole or allocation failure (MMap ignores
// it, as Linux does for MAP_POPULATE).
// Pages of writable private areas are also made private (copied) so later
// writes do not fault. mm.mu must be held.
func (mm *MemoryManager) populate(start, end uintptr) linux.Errno {
	for addr := start; addr < end; {
		v := mm.vmaAt(addr)
		if v == nil {
			return unix.ENOMEM
		}
		if !readable(v.perms) {
			addr = v.end
			continue
		}
		e := min(end, v.end)
		if err := mm.ensurePMAs(v, addr, e); err != 0 {
			return err
		}
		covered := addr
		for i := mm.findPMA(addr); i < len(mm.pmas) && mm.pmas[i].start == covered && covered < e; i++ {
			covered = mm.pmas[i].end
		}
		short := covered < e
		if short {
			// Past the end of a mapped file: populate what exists.
			e = covered
		}
		if v.perms.Write {
			if err := mm.breakCOW(addr, e); err != 0 {
				return err
			}
		}
		for i := mm.findPMA(addr); i < len(mm.pmas) && mm.pmas[i].start < e; i++ {
			p := &mm.pmas[i]
			s, pe := max(p.start, addr), min(p.end, e)
			if mm.mf.Commit(pgaFileRange(p.fr.Start+uint64(s-p.start), uint64(pe-s))) != nil {
				return unix.ENOMEM
			}
		}
		if err := mm.mapRange(addr, e, v.perms); err != 0 {
			return err
		}
		if short {
			return unix.ENOMEM
		}
		addr = e
	}
	return 0
}

// MUnmap implements munmap(2)'s checks and unmaps [addr, addr+length).
func (mm *MemoryManager) MUnmap(addr, length uintptr) linux.Errno {
	if addr&(linux.PageSize-1) != 0 || length == 0 {
		return unix.EINVAL
	}
	length, ok := pageRoundUpChecked(length)
	if !ok || length > mm.maxAddr || addr > mm.maxAddr-length {
		return unix.EINVAL
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	mm.removeRange(addr, addr+length)
	return 0
}

// MProtect implements mprotect(2): it changes the permissions of
// [addr, addr+length) to prot. Like Linux, it changes the mapped prefix
// of the range and fails with ENOMEM at the first hole.
func (mm *MemoryManager) MProtect(addr, length uintptr, prot int) linux.Errno {
	growsDown := prot&linux.PROT_GROWSDOWN != 0
	if prot&linux.PROT_GROWSUP != 0 {
		return unix.EINVAL
	}
	prot &^= linux.PROT_GROWSDOWN
	const protSem = 0x8
	if prot&^(linux.PROT_READ|linux.PROT_WRITE|linux.PROT_EXEC|protSem) != 0 {
		return unix.EINVAL
	}
	if addr&(linux.PageSize-1) != 0 {
		return unix.EINVAL
	}
	if length == 0 {
		return 0
	}
	length, ok := pageRoundUpChecked(length)
	if !ok || addr+length < addr {
		return unix.ENOMEM
	}
	end := addr + length
	perms := platform.AccessType{
		Read:    prot&linux.PROT_READ != 0,
		Write:   prot&linux.PROT_WRITE != 0,
		Execute: prot&linux.PROT_EXEC != 0,
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	first := mm.vmaAt(addr)
	if first == nil {
		return unix.ENOMEM
	}
	if growsDown {
		if !first.growsDown {
			return unix.EINVAL
		}
		addr = first.start
	}
	mm.splitVMAAt(addr)
	mm.splitVMAAt(end)
	i := mm.findVMA(addr)
	cur := addr
	var err linux.Errno
	for ; cur < end; i++ {
		if i >= len(mm.vmas) || mm.vmas[i].start != cur {
			err = unix.ENOMEM
			break
		}
		v := &mm.vmas[i]
		if (perms.Read && !v.maxPerms.Read) || (perms.Write && !v.maxPerms.Write) || (perms.Execute && !v.maxPerms.Execute) {
			err = unix.EACCES
			break
		}
		v.perms = perms
		cur = v.end
	}
	if cur > addr && mm.as != nil {
		// Drop the platform mappings; the next access faults them back
		// in with the new permissions.
		i := mm.findPMA(addr)
		if i < len(mm.pmas) && mm.pmas[i].start < cur {
			_ = mm.as.Unmap(addr, cur-addr)
		}
	}
	// Re-merge around the changed range.
	for j := mm.findVMA(addr); j >= 0 && j < len(mm.vmas) && mm.vmas[j].start <= cur; {
		before := len(mm.vmas)
		mm.mergeVMAs(j)
		if len(mm.vmas) == before {
			j++
		}
	}
	if i := mm.findVMA(addr); i > 0 {
		mm.mergeVMAs(i - 1)
	}
	return err
}

// SetBrkStart sets the start of the heap (and the break) to addr, which
// the loader picks just above the program's highest segment.
func (mm *MemoryManager) SetBrkStart(addr uintptr) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	mm.brkStart = addr
	mm.brk = addr
}

// Brk implements brk(2): it moves the break to addr if it can and returns
// the (possibly unchanged) break. Like Linux, a request below the heap
// start or one that would run into the next mapping (with a guard gap)
// leaves the break where it was.
func (mm *MemoryManager) Brk(addr uintptr) uintptr {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if addr < mm.brkStart || addr > mm.maxAddr {
		return mm.brk
	}
	oldEnd := pageRoundUp(mm.brk)
	newEnd := pageRoundUp(addr)
	switch {
	case newEnd == oldEnd:
	case newEnd < oldEnd:
		mm.removeRange(newEnd, oldEnd)
	default:
		if newEnd > mm.maxAddr-StackGuardGap {
			return mm.brk
		}
		i := mm.findVMA(oldEnd)
		if i < len(mm.vmas) && mm.vmas[i].start < newEnd+StackGuardGap {
			return mm.brk
		}
		mm.insertVMA(vma{
			start:    oldEnd,
			end:      newEnd,
			perms:    platform.ReadWrite,
			maxPerms: platform.AnyAccess,
			private:  true,
		})
	}
	mm.brk = addr
	return addr
}
