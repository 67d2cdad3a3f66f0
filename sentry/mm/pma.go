package mm

import (
	"sort"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/pgalloc"
)

// pma says that guest pages [start, end) are backed by the memory-file
// range fr (fr.Start backs start). Each pma holds one reference on fr.
type pma struct {
	start, end uintptr
	fr         pgalloc.FileRange
	// needsCopy marks pages that may be shared copy-on-write with another
	// address space (set on both sides by Fork): they are mapped without
	// write access, and a write first copies every page whose memory-file
	// reference count is above one (see breakCOW).
	needsCopy bool
	// clean marks pages of a shared file mapping that this address
	// space has not written since it got them: they are mapped without
	// write access, so that the first write faults and is recorded
	// (markDirty) for write-back.
	clean bool
}

// findPMA returns the index of the first pma whose end is above addr.
func (mm *MemoryManager) findPMA(addr uintptr) int {
	return sort.Search(len(mm.pmas), func(i int) bool { return mm.pmas[i].end > addr })
}

// splitPMAAt makes addr a pma boundary if it falls inside one.
func (mm *MemoryManager) splitPMAAt(addr uintptr) {
	i := mm.findPMA(addr)
	if i == len(mm.pmas) || mm.pmas[i].start >= addr {
		return
	}
	p := mm.pmas[i]
	off := uint64(addr - p.start)
	lo, hi := p, p
	lo.end, lo.fr.End = addr, p.fr.Start+off
	hi.start, hi.fr.Start = addr, p.fr.Start+off
	mm.pmas = append(mm.pmas, pma{})
	copy(mm.pmas[i+2:], mm.pmas[i+1:])
	mm.pmas[i], mm.pmas[i+1] = lo, hi
}

// takePMAs removes the pmas backing [start, end) from the address space
// and returns them with their references.
func (mm *MemoryManager) takePMAs(start, end uintptr) []pma {
	mm.splitPMAAt(start)
	mm.splitPMAAt(end)
	i := mm.findPMA(start)
	j := i
	for j < len(mm.pmas) && mm.pmas[j].start < end {
		j++
	}
	out := append([]pma(nil), mm.pmas[i:j]...)
	mm.pmas = append(mm.pmas[:i], mm.pmas[j:]...)
	return out
}

// insertPMAs inserts ps (sorted, over a range with no pmas).
func (mm *MemoryManager) insertPMAs(ps []pma) {
	if len(ps) == 0 {
		return
	}
	i := mm.findPMA(ps[0].start)
	mm.pmas = append(mm.pmas, ps...)
	copy(mm.pmas[i+len(ps):], mm.pmas[i:])
	copy(mm.pmas[i:], ps)
}

// removePMAs drops the pages backing [start, end) and reports whether
// there were any.
func (mm *MemoryManager) removePMAs(start, end uintptr) bool {
	ps := mm.takePMAs(start, end)
	for _, p := range ps {
		mm.mf.DecRef(p.fr)
	}
	return len(ps) > 0
}

// ensurePMAs makes sure every page of [start, end) (page aligned, inside
// VMA v) has backing, allocating pages for the holes: zeroed for private
// anonymous memory, filled from the file (one read per hole) for a file
// mapping, and taken from the shared object for shared anonymous memory.
// For a file mapping it stops quietly at the first page wholly past the
// end of the file, which gets no backing; callers check that the pages
// they need are covered (hasPMA).
func (mm *MemoryManager) ensurePMAs(v *vma, start, end uintptr) linux.Errno {
	addr := start
	i := mm.findPMA(addr)
	for addr < end {
		if i < len(mm.pmas) && mm.pmas[i].start <= addr {
			addr = mm.pmas[i].end
			i++
			continue
		}
		holeEnd := end
		if i < len(mm.pmas) && mm.pmas[i].start < holeEnd {
			holeEnd = mm.pmas[i].start
		}
		ps, errno := mm.fillHole(v, addr, holeEnd)
		if errno == errBeyondEOF {
			// The rest of the range is past the end of the file.
			return 0
		}
		if errno != 0 {
			return errno
		}
		mm.insertPMAs(ps)
		i += len(ps)
		// Merge the new pmas with their predecessors (within v) when the
		// file ranges continue.
		for k := i - len(ps); k < i; k++ {
			if k > 0 && mm.pmas[k-1].start >= v.start && mm.pmas[k-1].end == mm.pmas[k].start &&
				mm.pmas[k-1].fr.End == mm.pmas[k].fr.Start && !mm.pmas[k-1].needsCopy &&
				mm.pmas[k-1].clean == mm.pmas[k].clean {
				mm.pmas[k-1].end = mm.pmas[k].end
				mm.pmas[k-1].fr.End = mm.pmas[k].fr.End
				mm.pmas = append(mm.pmas[:k], mm.pmas[k+1:]...)
				k--
				i--
			}
		}
		if ps[len(ps)-1].end < holeEnd {
			// Cut short at the end of the file.
			return 0
		}
		addr = holeEnd
	}
	return 0
}

// hasPMA reports whether addr has backing.
func (mm *MemoryManager) hasPMA(addr uintptr) bool {
	i := mm.findPMA(addr)
	return i < len(mm.pmas) && mm.pmas[i].start <= addr
}

// fillHole returns new pmas backing [start, end) of v, which has none.
func (mm *MemoryManager) fillHole(v *vma, start, end uintptr) ([]pma, linux.Errno) {
	if v.shm != nil {
		segs, err := v.shm.pages(v.fileOffsetAt(start), v.fileOffsetAt(end))
		if err != nil {
			return nil, unix.ENOMEM
		}
		if len(segs) == 0 {
			return nil, errBeyondEOF
		}
		ps := make([]pma, len(segs))
		for k, g := range segs {
			s := start + uintptr(g.start-v.fileOffsetAt(start))
			ps[k] = pma{start: s, end: s + uintptr(g.end-g.start), fr: g.fr, clean: v.shm.file != nil}
		}
		return ps, 0
	}
	fr, err := mm.mf.Allocate(uint64(end - start))
	if err != nil {
		return nil, unix.ENOMEM
	}
	if v.mappable != nil {
		n, errno := mm.fillFromFile(v, start, fr)
		if errno != 0 {
			mm.mf.DecRef(fr)
			return nil, errno
		}
		// Pages wholly past the end of the file get no backing: an
		// access there is SIGBUS (errBeyondEOF), as in Linux.
		if valid := pageRoundUp(uintptr(n)); valid < end-start {
			mm.mf.DecRef(pgalloc.FileRange{Start: fr.Start + uint64(valid), End: fr.End})
			if valid == 0 {
				return nil, errBeyondEOF
			}
			fr.End = fr.Start + uint64(valid)
			end = start + valid
		}
	}
	return []pma{{start: start, end: end, fr: fr}}, 0
}

// errBeyondEOF is ensurePMAs's error for a page wholly past the end of a
// mapped file: SIGBUS for a guest fault (as ENOMEM), EFAULT for a Sentry
// copy.
const errBeyondEOF = unix.ENXIO

// breakCOW gives [start, end) (page aligned, every page with a pma) pages
// of its own where they are marked needsCopy: a page whose memory-file
// reference count is above one is copied into a fresh page, one with a
// count of one (the other side already copied or went away) is simply
// unmarked. It returns ENOMEM if no memory is left for a copy.
func (mm *MemoryManager) breakCOW(start, end uintptr) linux.Errno {
	i := mm.findPMA(start)
	if !mm.anyNeedsCopy(i, end) {
		return 0
	}
	mm.splitPMAAt(start)
	mm.splitPMAAt(end)
	for i = mm.findPMA(start); i < len(mm.pmas) && mm.pmas[i].start < end; i++ {
		p := mm.pmas[i]
		if !p.needsCopy {
			continue
		}
		// The run of pages from p.start that share the first page's
		// "is shared" state.
		shared := mm.mf.RefCount(p.fr.Start) > 1
		runEnd := p.start + linux.PageSize
		for runEnd < p.end && (mm.mf.RefCount(p.fr.Start+uint64(runEnd-p.start)) > 1) == shared {
			runEnd += linux.PageSize
		}
		if runEnd < p.end {
			mm.splitPMAAt(runEnd)
			p = mm.pmas[i]
		}
		if shared {
			fr, err := mm.mf.Allocate(p.fr.Length())
			if err != nil {
				return unix.ENOMEM
			}
			copy(mm.mf.Slice(fr), mm.mf.Slice(p.fr))
			mm.mf.DecRef(p.fr)
			mm.pmas[i].fr = fr
		}
		mm.pmas[i].needsCopy = false
	}
	return 0
}

// anyNeedsCopy reports whether a pma from index i below end is marked
// needsCopy.
func (mm *MemoryManager) anyNeedsCopy(i int, end uintptr) bool {
	for ; i < len(mm.pmas) && mm.pmas[i].start < end; i++ {
		if mm.pmas[i].needsCopy {
			return true
		}
	}
	return false
}

// markDirty records guest writes to [start, end) (page aligned, inside
// VMA v) of a shared file mapping: the pages become dirty in the shared
// object and lose their clean mark here, so they are mapped writable.
// Every page of the range must have a pma.
func (mm *MemoryManager) markDirty(v *vma, start, end uintptr) {
	if v.shm == nil || v.shm.file == nil {
		return
	}
	i := mm.findPMA(start)
	if !mm.anyClean(i, end) {
		return
	}
	v.shm.markDirty(v.fileOffsetAt(start), v.fileOffsetAt(end))
	mm.splitPMAAt(start)
	mm.splitPMAAt(end)
	for i := mm.findPMA(start); i < len(mm.pmas) && mm.pmas[i].start < end; i++ {
		mm.pmas[i].clean = false
	}
}

// anyClean reports whether a pma from index i below end is marked clean.
func (mm *MemoryManager) anyClean(i int, end uintptr) bool {
	for ; i < len(mm.pmas) && mm.pmas[i].start < end; i++ {
		if mm.pmas[i].clean {
			return true
		}
	}
	return false
}

// writeback writes the dirty pages of the shared file mappings in
// [start, end) back to their files and returns the first error.
func (mm *MemoryManager) writeback(start, end uintptr) error {
	var firstErr error
	for i := mm.findVMA(start); i < len(mm.vmas) && mm.vmas[i].start < end; i++ {
		v := &mm.vmas[i]
		if v.shm == nil || v.shm.file == nil {
			continue
		}
		s, e := max(v.start, start), min(v.end, end)
		if err := v.shm.writeback(v.fileOffsetAt(s), v.fileOffsetAt(e)); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}
