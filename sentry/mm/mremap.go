package mm

import (
	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

// MRemapOpts are mremap(2)'s flags.
type MRemapOpts struct {
	// MayMove is MREMAP_MAYMOVE: the mapping may move if it cannot grow
	// in place.
	MayMove bool
	// Fixed is MREMAP_FIXED: move to NewAddr, replacing what is there.
	Fixed   bool
	NewAddr uintptr
	// DontUnmap is MREMAP_DONTUNMAP: move, but leave the old range
	// mapped, without pages.
	DontUnmap bool
}

// MRemap implements mremap(2): it resizes and possibly moves the mapping
// at [oldAddr, oldAddr+oldLen), which must lie in one VMA, to newLen bytes
// and returns its new address. Pages move with the mapping (their pmas are
// moved, nothing is copied). Errors follow Linux: EINVAL for bad flags,
// alignment, a zero new length, overlapping MREMAP_FIXED ranges or
// duplicating (oldLen 0) a private mapping; EFAULT when oldAddr is not
// mapped or the range crosses VMAs; ENOMEM when the mapping can neither
// grow in place nor move.
func (mm *MemoryManager) MRemap(oldAddr, oldLen, newLen uintptr, opts MRemapOpts) (uintptr, linux.Errno) {
	if opts.Fixed && !opts.MayMove {
		return 0, unix.EINVAL
	}
	if opts.DontUnmap && (!opts.MayMove || oldLen != newLen) {
		return 0, unix.EINVAL
	}
	if oldAddr&(linux.PageSize-1) != 0 {
		return 0, unix.EINVAL
	}
	oldLen, ok1 := pageRoundUpChecked(oldLen)
	newLen, ok2 := pageRoundUpChecked(newLen)
	if !ok1 || !ok2 {
		// PAGE_ALIGN wraps to a small value; Linux then fails later
		// with EINVAL or EFAULT. Neither length can be valid.
		return 0, unix.EINVAL
	}
	if newLen == 0 {
		return 0, unix.EINVAL
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	v := mm.vmaAt(oldAddr)
	if v == nil {
		return 0, unix.EFAULT
	}
	if opts.Fixed || opts.DontUnmap {
		return mm.remapTo(oldAddr, oldLen, newLen, opts)
	}
	if oldLen >= newLen {
		if oldLen > newLen {
			mm.removeRange(oldAddr+newLen, oldAddr+oldLen)
		}
		return oldAddr, 0
	}
	if errno := mm.checkResize(v, oldAddr, oldLen); errno != 0 {
		return 0, errno
	}
	// Grow in place when the range runs to the VMA's end and the space
	// after it is free.
	if oldLen == v.end-oldAddr && oldLen != 0 {
		newEnd := oldAddr + newLen
		if newEnd > oldAddr && newEnd <= mm.maxAddr && !mm.overlaps(v.end, newEnd) {
			v.end = newEnd
			mm.mergeVMAs(mm.findVMA(oldAddr))
			return oldAddr, 0
		}
	}
	if !opts.MayMove {
		return 0, unix.ENOMEM
	}
	newAddr := mm.findGap(0, newLen)
	if newAddr == 0 {
		return 0, unix.ENOMEM
	}
	return mm.moveRange(oldAddr, oldLen, newAddr, newLen, false), 0
}

// checkResize checks, as Linux's vma_to_resize, that [addr, addr+oldLen)
// of v may be resized or moved. mm.mu must be held.
func (mm *MemoryManager) checkResize(v *vma, addr, oldLen uintptr) linux.Errno {
	if oldLen == 0 && v.shm == nil {
		// Duplicating a mapping works only for shared ones.
		return unix.EINVAL
	}
	if oldLen > v.end-addr {
		return unix.EFAULT
	}
	return 0
}

// remapTo is mremap with MREMAP_FIXED or MREMAP_DONTUNMAP (Linux's
// mremap_to). mm.mu must be held.
func (mm *MemoryManager) remapTo(addr, oldLen, newLen uintptr, opts MRemapOpts) (uintptr, linux.Errno) {
	// Linux checks the new address even when it is only a hint
	// (MREMAP_DONTUNMAP without MREMAP_FIXED).
	newAddr := opts.NewAddr
	if newAddr&(linux.PageSize-1) != 0 {
		return 0, unix.EINVAL
	}
	if newLen > mm.maxAddr || newAddr > mm.maxAddr-newLen {
		return 0, unix.EINVAL
	}
	if addr+oldLen > newAddr && newAddr+newLen > addr {
		return 0, unix.EINVAL
	}
	if opts.Fixed {
		if newAddr < mm.minAddr {
			return 0, unix.EPERM
		}
		mm.removeRange(newAddr, newAddr+newLen)
	}
	if oldLen > newLen {
		mm.removeRange(addr+newLen, addr+oldLen)
		oldLen = newLen
	}
	v := mm.vmaAt(addr)
	if v == nil {
		return 0, unix.EFAULT
	}
	if errno := mm.checkResize(v, addr, oldLen); errno != 0 {
		return 0, errno
	}
	if !opts.Fixed {
		newAddr = mm.findGap(newAddr, newLen)
		if newAddr == 0 {
			return 0, unix.ENOMEM
		}
	}
	return mm.moveRange(addr, oldLen, newAddr, newLen, opts.DontUnmap), 0
}

// moveRange moves [addr, addr+oldLen) (inside one VMA) to the free range
// [newAddr, newAddr+newLen), newLen >= oldLen, with its pages; the rest of
// the new range is like the tail of the old VMA would have been. With
// dontUnmap the old range stays mapped but loses its pages. With oldLen 0
// (shared memory only) the new mapping is a second view of the same pages.
// It returns newAddr. mm.mu must be held.
func (mm *MemoryManager) moveRange(addr, oldLen, newAddr, newLen uintptr, dontUnmap bool) uintptr {
	mm.splitVMAAt(addr)
	mm.splitVMAAt(addr + oldLen)
	v := mm.vmaAt(addr)
	nv := *v
	nv.start, nv.end = newAddr, newAddr+newLen
	if v.mappable != nil || v.shm != nil {
		nv.off = v.fileOffsetAt(addr)
	}
	nv.incRef()
	if dontUnmap {
		v.locked = false
	}
	ps := mm.takePMAs(addr, addr+oldLen)
	if len(ps) > 0 && mm.as != nil {
		_ = mm.as.Unmap(addr, oldLen)
	}
	if !dontUnmap && oldLen > 0 {
		mm.removeRange(addr, addr+oldLen)
	}
	for i := range ps {
		ps[i].start = ps[i].start - addr + newAddr
		ps[i].end = ps[i].end - addr + newAddr
	}
	mm.insertVMA(nv)
	mm.insertPMAs(ps)
	return newAddr
}
