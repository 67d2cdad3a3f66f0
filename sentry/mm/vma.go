package mm

import (
	"sort"

	"github.com/palisade-sandbox/palisade/platform"
)

// vma is a virtual memory area.
type vma struct {
	start, end uintptr
	// perms are the current permissions; maxPerms bound what mprotect
	// may grant (all, for anonymous memory).
	perms    platform.AccessType
	maxPerms platform.AccessType
	// private: MAP_PRIVATE (copy-on-write across fork); otherwise
	// MAP_SHARED.
	private bool
	// growsDown marks a stack area (MAP_GROWSDOWN / the initial stack).
	growsDown bool
	// mappable is the file backing the area and off the file offset of
	// start; nil means anonymous memory. A non-nil mappable carries one
	// reference held by this vma.
	mappable Mappable
	off      uint64
	// shm, if not nil, is the shared object backing MAP_SHARED anonymous
	// memory (off is then the object offset of start) or a MAP_SHARED
	// mapping of a SharedMappable file (whose object offsets are file
	// offsets). A non-nil shm carries one reference held by this vma.
	shm *sharedMemory
	// locked is VM_LOCKED (mlock).
	locked bool
	// dontFork (MADV_DONTFORK) leaves the area out of a fork's child;
	// wipeOnFork (MADV_WIPEONFORK) gives the child fresh zero pages.
	dontFork   bool
	wipeOnFork bool
}

// fileOffsetAt returns the file offset that backs addr in v.
func (v *vma) fileOffsetAt(addr uintptr) uint64 { return v.off + uint64(addr-v.start) }

// release drops v's reference on its file or shared object, if any.
func (v *vma) release() {
	if v.mappable != nil {
		v.mappable.DecRef()
	}
	if v.shm != nil {
		v.shm.decRef()
	}
}

// incRef takes another reference on v's file or shared object, for a copy
// of v (a split or a fork).
func (v *vma) incRef() {
	if v.mappable != nil {
		v.mappable.IncRef()
	}
	if v.shm != nil {
		v.shm.incRef()
	}
}

// cow reports whether v's pages are copy-on-write across fork: everything
// but shared anonymous memory (shared file mappings are private copies
// that never become writable here).
func (v *vma) cow() bool { return v.shm == nil }

// canMerge reports whether b can be appended to a (they touch and have the
// same attributes).
func (a *vma) canMerge(b *vma) bool {
	return a.end == b.start && a.perms == b.perms && a.maxPerms == b.maxPerms &&
		a.private == b.private && a.growsDown == b.growsDown &&
		a.locked == b.locked && a.dontFork == b.dontFork && a.wipeOnFork == b.wipeOnFork &&
		a.mappable == b.mappable && a.shm == b.shm &&
		((a.mappable == nil && a.shm == nil) || a.fileOffsetAt(a.end) == b.off)
}

// VMAInfo describes one VMA, for tests and /proc/PID/maps later.
type VMAInfo struct {
	Start, End uintptr
	Perms      platform.AccessType
	Private    bool
	GrowsDown  bool
	// Locked is set for mlocked areas (VM_LOCKED).
	Locked bool
	// File is set for file mappings, SharedAnon for MAP_SHARED anonymous
	// memory.
	File       bool
	SharedAnon bool
	// Offset is the file offset of Start for a file mapping, and
	// Mappable its file (for /proc/PID/maps to name).
	Offset   uint64
	Mappable Mappable
}

// VMAs returns a snapshot of the address space's areas.
func (mm *MemoryManager) VMAs() []VMAInfo {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	out := make([]VMAInfo, len(mm.vmas))
	for i, v := range mm.vmas {
		out[i] = VMAInfo{
			Start: v.start, End: v.end, Perms: v.perms, Private: v.private, GrowsDown: v.growsDown,
			Locked: v.locked, File: v.mappable != nil, SharedAnon: v.shm != nil,
		}
		if v.mappable != nil {
			out[i].Offset = v.off
			out[i].Mappable = v.mappable
		}
	}
	return out
}

// findVMA returns the index of the first VMA whose end is above addr.
func (mm *MemoryManager) findVMA(addr uintptr) int {
	return sort.Search(len(mm.vmas), func(i int) bool { return mm.vmas[i].end > addr })
}

// vmaAt returns the VMA containing addr, or nil.
func (mm *MemoryManager) vmaAt(addr uintptr) *vma {
	i := mm.findVMA(addr)
	if i < len(mm.vmas) && mm.vmas[i].start <= addr {
		return &mm.vmas[i]
	}
	return nil
}

// overlaps reports whether any VMA intersects [start, end).
func (mm *MemoryManager) overlaps(start, end uintptr) bool {
	i := mm.findVMA(start)
	return i < len(mm.vmas) && mm.vmas[i].start < end
}

// splitVMAAt makes addr a VMA boundary if it falls inside one.
func (mm *MemoryManager) splitVMAAt(addr uintptr) {
	i := mm.findVMA(addr)
	if i == len(mm.vmas) || mm.vmas[i].start >= addr {
		return
	}
	v := mm.vmas[i]
	lo, hi := v, v
	lo.end, hi.start = addr, addr
	if v.mappable != nil || v.shm != nil {
		hi.off = v.fileOffsetAt(addr)
		v.incRef()
	}
	mm.vmas = append(mm.vmas, vma{})
	copy(mm.vmas[i+2:], mm.vmas[i+1:])
	mm.vmas[i], mm.vmas[i+1] = lo, hi
}

// insertVMA inserts v over a free range and merges it with its neighbours.
func (mm *MemoryManager) insertVMA(v vma) {
	i := mm.findVMA(v.start)
	mm.vmas = append(mm.vmas, vma{})
	copy(mm.vmas[i+1:], mm.vmas[i:])
	mm.vmas[i] = v
	mm.mergeVMAs(i)
}

// mergeVMAs merges VMA i with mergeable neighbours.
func (mm *MemoryManager) mergeVMAs(i int) {
	if i+1 < len(mm.vmas) && mm.vmas[i].canMerge(&mm.vmas[i+1]) {
		mm.vmas[i+1].release()
		mm.vmas[i].end = mm.vmas[i+1].end
		mm.vmas = append(mm.vmas[:i+1], mm.vmas[i+2:]...)
	}
	if i > 0 && i < len(mm.vmas) && mm.vmas[i-1].canMerge(&mm.vmas[i]) {
		mm.vmas[i].release()
		mm.vmas[i-1].end = mm.vmas[i].end
		mm.vmas = append(mm.vmas[:i], mm.vmas[i+1:]...)
	}
}

// removeRange unmaps [start, end): VMAs, their pages and the platform
// mappings.
func (mm *MemoryManager) removeRange(start, end uintptr) {
	// Dirty pages of shared file mappings reach the file on munmap.
	_ = mm.writeback(start, end)
	mm.splitVMAAt(start)
	mm.splitVMAAt(end)
	i := mm.findVMA(start)
	j := i
	for j < len(mm.vmas) && mm.vmas[j].start < end {
		mm.vmas[j].release()
		j++
	}
	mm.vmas = append(mm.vmas[:i], mm.vmas[j:]...)
	if mm.removePMAs(start, end) && mm.as != nil {
		// An unmap of a range we had mapped cannot be refused by a
		// healthy platform; if it is, the stub is broken and the next
		// Switch reports it.
		_ = mm.as.Unmap(start, end-start)
	}
}

// findGap finds a free range of length bytes: at hint if that is free and
// in bounds, else the highest free range below mmapBase, else the lowest
// anywhere. It returns 0 if none exists.
func (mm *MemoryManager) findGap(hint, length uintptr) uintptr {
	if length > mm.maxAddr-mm.minAddr {
		return 0
	}
	if hint != 0 {
		// Like round_hint_to_min: a hint below the minimum address is
		// moved up to it.
		hint = max(pageRoundUp(hint), mm.minAddr)
		if hint >= mm.minAddr && hint <= mm.maxAddr-length && !mm.overlaps(hint, hint+length) {
			return hint
		}
	}
	// Top-down below mmapBase.
	top := mm.mmapBase
	i := mm.findVMA(top)
	if i < len(mm.vmas) && mm.vmas[i].start < top {
		top = mm.vmas[i].start
	}
	for {
		lo := mm.minAddr
		if i > 0 {
			lo = mm.vmas[i-1].end
		}
		if top >= lo && top-lo >= length {
			return top - length
		}
		if i == 0 {
			break
		}
		i--
		top = mm.vmas[i].start
	}
	// Bottom-up over the whole space.
	lo := mm.minAddr
	for _, v := range mm.vmas {
		if v.start >= lo && v.start-lo >= length {
			return lo
		}
		if v.end > lo {
			lo = v.end
		}
	}
	if mm.maxAddr >= lo && mm.maxAddr-lo >= length {
		return lo
	}
	return 0
}
