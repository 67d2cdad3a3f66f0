package loader

import (
	"fmt"
	"io"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
	"github.com/palisade-sandbox/palisade/sentry/mm"
	"golang.org/x/sys/unix"
)

// loadSegments maps every PT_LOAD of the ELF file f (parsed as info) at
// its address plus bias and copies its file bytes in; the rest of each
// segment (the bss) is the memory file's zero pages. A page shared by two
// segments keeps the earlier one's bytes and gets the later one's
// permissions, as Linux's successive mmaps would.
//
// This is the one place file contents become guest memory. The mappings
// are anonymous private memory filled by copying; when mm gains
// file-backed VMAs, this is what changes to map f instead.
func loadSegments(m *mm.MemoryManager, f io.ReaderAt, info *ELFInfo, bias uintptr) error {
	var prevEnd uintptr
	type prot struct {
		start, end uintptr
		perms      int
	}
	prots := make([]prot, 0, len(info.Segments))
	for _, s := range info.Segments {
		vaddr := uintptr(s.Vaddr) + bias
		start := vaddr &^ (linux.PageSize - 1)
		end := (vaddr + uintptr(s.Memsz) + linux.PageSize - 1) &^ (linux.PageSize - 1)
		mapStart := max(start, prevEnd)
		if mapStart < end {
			if _, errno := m.MMap(mm.MMapOpts{
				Length:  end - mapStart,
				Addr:    mapStart,
				Fixed:   true,
				Perms:   platform.ReadWrite,
				Private: true,
			}); errno != 0 {
				return fmt.Errorf("mapping segment at %#x: %w", vaddr, errno)
			}
		}
		// Copy from the page-aligned file offset unless the first page
		// belongs to the previous segment too.
		fileOff, dst, n := s.Offset, vaddr, s.Filesz
		if start >= prevEnd {
			lead := uint64(vaddr - start)
			fileOff -= lead
			dst = start
			n += lead
		}
		if err := copyFromFile(m, f, int64(fileOff), dst, n); err != nil {
			return err
		}
		perms := 0
		if s.Flags&linux.PF_R != 0 {
			perms |= linux.PROT_READ
		}
		if s.Flags&linux.PF_W != 0 {
			perms |= linux.PROT_WRITE
		}
		if s.Flags&linux.PF_X != 0 {
			perms |= linux.PROT_EXEC
		}
		prots = append(prots, prot{start, end, perms})
		prevEnd = end
	}
	for _, p := range prots {
		if errno := m.MProtect(p.start, p.end-p.start, p.perms); errno != 0 {
			return fmt.Errorf("setting permissions of [%#x, %#x): %w", p.start, p.end, errno)
		}
	}
	return nil
}

// copyFromFile copies n bytes at file offset off to guest address dst.
func copyFromFile(m *mm.MemoryManager, f io.ReaderAt, off int64, dst uintptr, n uint64) error {
	if n == 0 {
		return nil
	}
	if n > 1<<40 {
		return formatErr("segment too large")
	}
	done, err := m.CopyOutFrom(dst, int(n), func(b []byte) (int, error) {
		k, err := f.ReadAt(b, off)
		off += int64(k)
		if err == io.EOF && k == len(b) {
			err = nil
		}
		return k, err
	})
	if err != nil && err != io.EOF {
		return fmt.Errorf("reading segment at %#x: %w", dst, err)
	}
	if uint64(done) != n {
		return truncatedErr("file shorter than its segments")
	}
	return nil
}

// placeInterpreter chooses the bias of an ELF interpreter and checks its
// range is free. Like Linux's load_elf_interp, an ET_DYN interpreter goes
// where mmap would put a mapping of its size (top-down below the mmap
// base, so away from the program and its heap), here also aligned to its
// largest p_align; an ET_EXEC one stays at its own addresses, which must
// not overlap the program.
func placeInterpreter(m *mm.MemoryManager, info *ELFInfo) (uintptr, error) {
	lo, hi := info.span()
	size := uintptr(hi - lo)
	if info.Type == linux.ET_EXEC {
		// Probe the range: a fixed, no-replace mapping fails if
		// anything is there.
		addr, errno := m.MMap(mm.MMapOpts{Length: size, Addr: uintptr(lo), Fixed: true, NoReplace: true, Private: true})
		switch errno {
		case 0:
			m.MUnmap(addr, size)
			return 0, nil
		case unix.EEXIST:
			return 0, formatErr("its segments [%#x, %#x) overlap the program", lo, hi)
		default:
			return 0, formatErr("its segments [%#x, %#x) do not fit the address space: %v", lo, hi, errno)
		}
	}
	align := uintptr(linux.PageSize)
	if a := uintptr(info.MaxAlign); a > align && a <= maxSegmentAlign {
		align = a
	}
	reserve := size + align - linux.PageSize
	if reserve < size {
		return 0, formatErr("segments too large")
	}
	addr, errno := m.MMap(mm.MMapOpts{Length: reserve, Private: true})
	if errno != 0 {
		return 0, fmt.Errorf("finding room for %#x bytes: %w", reserve, errno)
	}
	m.MUnmap(addr, reserve)
	base := (addr + align - 1) &^ (align - 1)
	return base - uintptr(lo), nil
}

// maxSegmentAlign bounds the p_align the loader honours when choosing a
// base; larger alignments (legal, but absurd) are treated as a page.
const maxSegmentAlign = 1 << 30
