package mm

import (
	"golang.org/x/sys/unix"
	"sort"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/pgalloc"
)

// pma says that guest pages [start, end) are backed by the memory-file
// range fr (fr.Start backs start). Each pma holds one reference on fr.
type pma struct {
	start, end uintptr
	fr         pgalloc.FileRange
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
	lo := pma{p.start, addr, pgalloc.FileRange{Start: p.fr.Start, End: p.fr.Start + off}}
	hi := pma{addr, p.end, pgalloc.FileRange{Start: p.fr.Start + off, End: p.fr.End}}
	mm.pmas = append(mm.pmas, pma{})
	copy(mm.pmas[i+2:], mm.pmas[i+1:])
	mm.pmas[i], mm.pmas[i+1] = lo, hi
}

// removePMAs drops the pages backing [start, end) and reports whether
// there were any.
func (mm *MemoryManager) removePMAs(start, end uintptr) bool {
	mm.splitPMAAt(start)
	mm.splitPMAAt(end)
	i := mm.findPMA(start)
	j := i
	for j < len(mm.pmas) && mm.pmas[j].start < end {
		mm.mf.DecRef(mm.pmas[j].fr)
		j++
	}
	mm.pmas = append(mm.pmas[:i], mm.pmas[j:]...)
	return j > i
}

// ensurePMAs makes sure every page of [start, end) (page aligned, inside
// VMA v) has backing, allocating pages for the holes: zeroed for anonymous
// memory, filled from the file (one read per hole) for a file mapping.
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
		fr, err := mm.mf.Allocate(uint64(holeEnd - addr))
		if err != nil {
			return unix.ENOMEM
		}
		if v.mappable != nil {
			if errno := mm.fillFromFile(v, addr, fr); errno != 0 {
				mm.mf.DecRef(fr)
				return errno
			}
		}
		mm.pmas = append(mm.pmas, pma{})
		copy(mm.pmas[i+1:], mm.pmas[i:])
		mm.pmas[i] = pma{addr, holeEnd, fr}
		// Merge with the previous pma when the file ranges continue.
		if i > 0 && mm.pmas[i-1].end == addr && mm.pmas[i-1].fr.End == fr.Start {
			mm.pmas[i-1].end = holeEnd
			mm.pmas[i-1].fr.End = fr.End
			mm.pmas = append(mm.pmas[:i], mm.pmas[i+1:]...)
			i--
		}
		addr = holeEnd
		i++
	}
	return 0
}
