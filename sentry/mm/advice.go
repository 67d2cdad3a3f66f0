package mm

import (
	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

// Linux madvise advice values not (or not on every version) in x/sys/unix.
const (
	madvPopulateRead  = 22
	madvPopulateWrite = 23
)

// userRange validates a page-aligned start and a length for madvise,
// mlock and msync-style calls and returns the page-rounded end. A zero
// length gives end == start.
func userRange(addr, length uintptr) (uintptr, linux.Errno) {
	if addr&(linux.PageSize-1) != 0 {
		return 0, unix.EINVAL
	}
	l, ok := pageRoundUpChecked(length)
	if !ok || (length != 0 && l == 0) {
		return 0, unix.EINVAL
	}
	end := addr + l
	if end < addr {
		return 0, unix.EINVAL
	}
	return end, 0
}

// forEachVMA splits the VMAs at start and end and calls fn on each VMA
// piece inside [start, end), in order. It returns ENOMEM if part of the
// range is unmapped (after calling fn on the mapped parts, as Linux does),
// or fn's first error. mm.mu must be held. fn must not add or remove VMAs.
func (mm *MemoryManager) forEachVMA(start, end uintptr, fn func(v *vma) linux.Errno) linux.Errno {
	mm.splitVMAAt(start)
	mm.splitVMAAt(end)
	hole := false
	cur := start
	for i := mm.findVMA(start); i < len(mm.vmas) && mm.vmas[i].start < end; i++ {
		if mm.vmas[i].start > cur {
			hole = true
		}
		if err := fn(&mm.vmas[i]); err != 0 {
			mm.remergeVMAs(start, end)
			return err
		}
		cur = mm.vmas[i].end
	}
	if cur < end {
		hole = true
	}
	mm.remergeVMAs(start, end)
	if hole {
		return unix.ENOMEM
	}
	return 0
}

// remergeVMAs merges VMAs around and inside [start, end) that have become
// mergeable.
func (mm *MemoryManager) remergeVMAs(start, end uintptr) {
	j := mm.findVMA(start)
	if j > 0 {
		j--
	}
	for j < len(mm.vmas) && mm.vmas[j].start <= end {
		before := len(mm.vmas)
		mm.mergeVMAs(j)
		if len(mm.vmas) == before {
			j++
		}
	}
}

// checkVMAs checks, before anything changes, that [start, end) is fully
// mapped (ENOMEM otherwise) and that fn accepts every VMA there.
func (mm *MemoryManager) checkVMAs(start, end uintptr, fn func(v *vma) linux.Errno) linux.Errno {
	cur := start
	for i := mm.findVMA(start); i < len(mm.vmas) && mm.vmas[i].start < end; i++ {
		if mm.vmas[i].start > cur {
			return unix.ENOMEM
		}
		if fn != nil {
			if err := fn(&mm.vmas[i]); err != 0 {
				return err
			}
		}
		cur = mm.vmas[i].end
	}
	if cur < end {
		return unix.ENOMEM
	}
	return 0
}

// dropPages drops the pages of [start, end) and the platform mappings of
// them; the next access faults in fresh ones (zeroes for private anonymous
// memory, file contents for file mappings, the shared object's pages for
// shared anonymous memory). mm.mu must be held.
func (mm *MemoryManager) dropPages(start, end uintptr) {
	if mm.removePMAs(start, end) && mm.as != nil {
		_ = mm.as.Unmap(start, end-start)
	}
}

// Madvise implements madvise(2). MADV_DONTNEED and MADV_FREE drop pages
// (private anonymous memory then reads as zero, private file mappings
// re-read the file, shared anonymous memory keeps its contents);
// MADV_DONTFORK/DOFORK and MADV_WIPEONFORK/KEEPONFORK change what fork
// copies; MADV_WILLNEED and MADV_POPULATE_READ/WRITE prefault; the other
// advice Linux knows is accepted as a hint. Unknown advice is EINVAL, an
// unmapped part of the range ENOMEM.
func (mm *MemoryManager) Madvise(addr, length uintptr, advice int) linux.Errno {
	switch advice {
	case unix.MADV_NORMAL, unix.MADV_RANDOM, unix.MADV_SEQUENTIAL, unix.MADV_WILLNEED,
		unix.MADV_DONTNEED, unix.MADV_FREE, unix.MADV_REMOVE,
		unix.MADV_DONTFORK, unix.MADV_DOFORK, unix.MADV_WIPEONFORK, unix.MADV_KEEPONFORK,
		unix.MADV_MERGEABLE, unix.MADV_UNMERGEABLE, unix.MADV_HUGEPAGE, unix.MADV_NOHUGEPAGE,
		unix.MADV_DONTDUMP, unix.MADV_DODUMP, unix.MADV_COLD, unix.MADV_PAGEOUT,
		madvPopulateRead, madvPopulateWrite:
	default:
		return unix.EINVAL
	}
	end, errno := userRange(addr, length)
	if errno != 0 {
		return errno
	}
	if end == addr {
		return 0
	}
	if end > mm.maxAddr {
		return unix.ENOMEM
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	switch advice {
	case unix.MADV_DONTNEED:
		if err := mm.checkVMAs(addr, end, func(v *vma) linux.Errno {
			if v.locked {
				return unix.EINVAL
			}
			return 0
		}); err == unix.EINVAL {
			return err
		}
		return mm.forEachVMA(addr, end, func(v *vma) linux.Errno {
			mm.dropPages(max(v.start, addr), min(v.end, end))
			return 0
		})
	case unix.MADV_FREE:
		if err := mm.checkVMAs(addr, end, func(v *vma) linux.Errno {
			if v.locked || v.mappable != nil || v.shm != nil {
				return unix.EINVAL
			}
			return 0
		}); err == unix.EINVAL {
			return err
		}
		return mm.forEachVMA(addr, end, func(v *vma) linux.Errno {
			mm.dropPages(max(v.start, addr), min(v.end, end))
			return 0
		})
	case unix.MADV_REMOVE:
		// Punching holes in shared memory that other address spaces
		// map is not supported; Linux says EOPNOTSUPP for a backing
		// without hole punching, EINVAL for private mappings.
		return mm.checkVMAs(addr, end, func(v *vma) linux.Errno {
			if v.private {
				return unix.EINVAL
			}
			return unix.EOPNOTSUPP
		})
	case unix.MADV_DONTFORK, unix.MADV_DOFORK:
		return mm.forEachVMA(addr, end, func(v *vma) linux.Errno {
			v.dontFork = advice == unix.MADV_DONTFORK
			return 0
		})
	case unix.MADV_WIPEONFORK, unix.MADV_KEEPONFORK:
		if advice == unix.MADV_WIPEONFORK {
			if err := mm.checkVMAs(addr, end, func(v *vma) linux.Errno {
				if !v.private || v.mappable != nil {
					return unix.EINVAL
				}
				return 0
			}); err == unix.EINVAL {
				return err
			}
		}
		return mm.forEachVMA(addr, end, func(v *vma) linux.Errno {
			v.wipeOnFork = advice == unix.MADV_WIPEONFORK
			return 0
		})
	case madvPopulateRead, madvPopulateWrite:
		write := advice == madvPopulateWrite
		if err := mm.checkVMAs(addr, end, func(v *vma) linux.Errno {
			if !readable(v.perms) || (write && !v.perms.Write) {
				return unix.EINVAL
			}
			return 0
		}); err != 0 {
			return err
		}
		if err := mm.populate(addr, end); err != 0 {
			return err
		}
		return 0
	case unix.MADV_WILLNEED:
		// Anonymous memory is allocated on touch anyway; only report
		// holes.
		return mm.checkVMAs(addr, end, nil)
	default:
		return mm.checkVMAs(addr, end, nil)
	}
}

// Mincore implements mincore(2)'s lookup: it sets vec[i] to 1 if page
// addr+i*PageSize is resident and to 0 otherwise. A page is resident when
// it has a pma whose memory-file page the host backs with memory: a page
// allocated by fault-around but never touched is not, like in Linux, where
// only touched anonymous pages exist. addr must be page aligned (EINVAL);
// a page outside every VMA is ENOMEM.
func (mm *MemoryManager) Mincore(addr uintptr, vec []byte) linux.Errno {
	if addr&(linux.PageSize-1) != 0 {
		return unix.EINVAL
	}
	n := uintptr(len(vec))
	if n > (mm.maxAddr-min(addr, mm.maxAddr))/linux.PageSize {
		return unix.ENOMEM
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	end := addr + n*linux.PageSize
	if err := mm.checkVMAs(addr, end, nil); err != 0 {
		return err
	}
	clear(vec)
	for i := mm.findPMA(addr); i < len(mm.pmas) && mm.pmas[i].start < end; i++ {
		p := &mm.pmas[i]
		s, e := max(p.start, addr), min(p.end, end)
		fr := pgaFileRange(p.fr.Start+uint64(s-p.start), uint64(e-s))
		if err := mm.mf.Resident(fr, vec[(s-addr)/linux.PageSize:]); err != nil {
			// The host refused to say; pages with backing count
			// as resident.
			for a := s; a < e; a += linux.PageSize {
				vec[(a-addr)/linux.PageSize] = 1
			}
		}
	}
	return 0
}

// Msync implements msync(2): it writes the dirty pages of shared file
// mappings in the range back to their files (for MS_ASYNC too), after
// checking the flags and the range (EINVAL for bad flags or alignment,
// EBUSY for MS_INVALIDATE on locked memory). An unmapped part of the range
// is ENOMEM, a failed write EIO.
func (mm *MemoryManager) Msync(addr, length uintptr, flags int) linux.Errno {
	if flags&^(unix.MS_ASYNC|unix.MS_INVALIDATE|unix.MS_SYNC) != 0 {
		return unix.EINVAL
	}
	if flags&unix.MS_ASYNC != 0 && flags&unix.MS_SYNC != 0 {
		return unix.EINVAL
	}
	if addr&(linux.PageSize-1) != 0 {
		return unix.EINVAL
	}
	l, ok := pageRoundUpChecked(length)
	end := addr + l
	if !ok || end < addr {
		return unix.ENOMEM
	}
	if end == addr {
		return 0
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if err := mm.checkVMAs(addr, end, func(v *vma) linux.Errno {
		if flags&unix.MS_INVALIDATE != 0 && v.locked {
			return unix.EBUSY
		}
		return 0
	}); err == unix.EBUSY {
		return err
	}
	// MS_ASYNC writes back too: read(2) sees mapped writes only once
	// they are written back.
	werr := mm.writeback(addr, end)
	if err := mm.checkVMAs(addr, end, nil); err != 0 {
		return err
	}
	if werr != nil {
		return unix.EIO
	}
	return 0
}

// Mlock implements mlock(2) and mlock2(2): it marks the areas of
// [addr, addr+length) (widened to pages) locked and, unless onFault,
// faults their pages in. RLIMIT_MEMLOCK is not enforced. An unmapped
// part of the range is ENOMEM (and nothing changes).
func (mm *MemoryManager) Mlock(addr, length uintptr, onFault bool) linux.Errno {
	start, end, errno := lockRange(addr, length)
	if errno != 0 || start == end {
		return errno
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if err := mm.checkVMAs(start, end, nil); err != 0 {
		return err
	}
	mm.forEachVMA(start, end, func(v *vma) linux.Errno {
		v.locked = true
		return 0
	})
	if !onFault {
		// Like Linux, a failure to populate (no memory) is reported.
		if err := mm.populate(start, end); err != 0 {
			return unix.ENOMEM
		}
	}
	return 0
}

// Munlock implements munlock(2).
func (mm *MemoryManager) Munlock(addr, length uintptr) linux.Errno {
	start, end, errno := lockRange(addr, length)
	if errno != 0 || start == end {
		return errno
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if err := mm.checkVMAs(start, end, nil); err != 0 {
		return err
	}
	return mm.forEachVMA(start, end, func(v *vma) linux.Errno {
		v.locked = false
		return 0
	})
}

// lockRange widens [addr, addr+length) to pages as mlock does.
func lockRange(addr, length uintptr) (uintptr, uintptr, linux.Errno) {
	start := pageRoundDown(addr)
	l, ok := pageRoundUpChecked(length + (addr - start))
	if !ok || length+(addr-start) < length {
		return 0, 0, unix.ENOMEM
	}
	end := start + l
	if end < start {
		return 0, 0, unix.ENOMEM
	}
	return start, end, 0
}

// MlockAll implements mlockall(2) for flags already validated by the
// caller: current marks every area locked (without faulting pages in),
// future makes new areas locked.
func (mm *MemoryManager) MlockAll(current, future bool) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if current {
		for i := range mm.vmas {
			mm.vmas[i].locked = true
		}
		mm.remergeVMAs(mm.minAddr, mm.maxAddr)
	}
	if future {
		mm.lockFuture = true
	}
}

// MunlockAll implements munlockall(2).
func (mm *MemoryManager) MunlockAll() {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	for i := range mm.vmas {
		mm.vmas[i].locked = false
	}
	mm.lockFuture = false
	mm.remergeVMAs(mm.minAddr, mm.maxAddr)
}
