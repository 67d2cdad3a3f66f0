// Package loader implements what execve(2) does to a fresh address space.
// It opens the named file through a FileOpener (the kernel's VFS, or the
// host for tests and runsc do) and follows "#!" interpreter scripts as
// Linux's binfmt_script does (the first line of at most 256 bytes names
// the interpreter and one optional argument; argv becomes interpreter,
// argument, script path, original argv[1:]; at most five nested scripts,
// then ELOOP). It parses and validates the ELF program (every offset and
// size is treated as hostile), creates a VMA per PT_LOAD segment and
// copies the file's bytes into it (the bss is left as the memory file's
// zero pages); a PIE goes at ELF_ET_DYN_BASE, 2/3 of the address space,
// plus a random offset. If the program names an interpreter (PT_INTERP,
// the dynamic linker), that is opened and loaded the same way where mmap
// would put it, and execution starts at its entry with AT_BASE, AT_ENTRY
// and AT_PHDR telling it where everything is. The break goes just above
// the program's highest segment, and the initial stack is built exactly as
// Linux's create_elf_tables does (argument and environment strings, the
// platform string, AT_RANDOM bytes, the auxiliary vector, the pointer
// arrays and argc). Errors carry the errno execve returns.
package loader

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

// maxInterpLen bounds PT_INTERP (PATH_MAX).
const maxInterpLen = 4096

// Segment is a validated PT_LOAD program header.
type Segment struct {
	Offset uint64
	Vaddr  uint64
	Filesz uint64
	Memsz  uint64
	Align  uint64
	Flags  uint32
}

// ELFInfo is what the loader needs from an ELF file, validated.
type ELFInfo struct {
	// Type is ET_EXEC or ET_DYN.
	Type  uint16
	Entry uint64
	// Phoff, Phnum: where the program headers are in the file.
	Phoff uint64
	Phnum int
	// PhdrVaddr is PT_PHDR's p_vaddr if present.
	PhdrVaddr uint64
	HasPhdr   bool
	// Segments are the PT_LOAD headers in ascending, non-overlapping
	// address order.
	Segments []Segment
	// HasInterp is set if the file has a PT_INTERP; Interp is its path
	// (up to the first NUL; it may be empty, which no file opener finds).
	HasInterp bool
	Interp    string
	// ExecStack is true if PT_GNU_STACK asks for an executable stack (or
	// is absent, as Linux defaults on x86-64).
	ExecStack bool
	// MaxAlign is the largest power-of-two p_align of a PT_LOAD.
	MaxAlign uint64
}

// ParseELF reads and validates the ELF header and program headers of a
// file of size bytes. It never panics on malformed input; every error is a
// *FormatError or an I/O error.
func ParseELF(r io.ReaderAt, size int64) (*ELFInfo, error) {
	if size < 0 {
		return nil, formatErr("negative file size")
	}
	var hdr [linux.ELF64EhdrSize]byte
	if size < 4 {
		return nil, ErrNotELF
	}
	n, err := r.ReadAt(hdr[:min(int64(len(hdr)), size)], 0)
	if n < 4 {
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("reading ELF header: %w", err)
		}
		return nil, ErrNotELF
	}
	if string(hdr[:4]) != linux.ELFMagic {
		return nil, ErrNotELF
	}
	if n < len(hdr) {
		return nil, formatErr("truncated ELF header (%d bytes)", n)
	}
	if hdr[linux.EI_CLASS] != linux.ELFCLASS64 {
		return nil, formatErr("not a 64-bit ELF file (class %d)", hdr[linux.EI_CLASS])
	}
	if hdr[linux.EI_DATA] != linux.ELFDATA2LSB {
		return nil, formatErr("not a little-endian ELF file")
	}
	if hdr[linux.EI_VERSION] != linux.EV_CURRENT {
		return nil, formatErr("unknown ELF identification version %d", hdr[linux.EI_VERSION])
	}
	le := binary.LittleEndian
	info := &ELFInfo{
		Type:      le.Uint16(hdr[linux.EhdrType:]),
		Entry:     le.Uint64(hdr[linux.EhdrEntry:]),
		Phoff:     le.Uint64(hdr[linux.EhdrPhoff:]),
		ExecStack: true,
	}
	if m := le.Uint16(hdr[linux.EhdrMachine:]); m != linux.EM_X86_64 {
		return nil, formatErr("ELF machine %d is not x86-64", m)
	}
	if v := le.Uint32(hdr[linux.EhdrVersion:]); v != linux.EV_CURRENT {
		return nil, formatErr("unknown ELF version %d", v)
	}
	if info.Type != linux.ET_EXEC && info.Type != linux.ET_DYN {
		return nil, formatErr("ELF type %d is not an executable", info.Type)
	}
	if es := le.Uint16(hdr[linux.EhdrPhentsize:]); es != linux.ELF64PhdrSize {
		return nil, formatErr("program header size %d, want %d", es, linux.ELF64PhdrSize)
	}
	phnum := int(le.Uint16(hdr[linux.EhdrPhnum:]))
	if phnum == 0 {
		return nil, formatErr("no program headers")
	}
	phsize := uint64(phnum) * linux.ELF64PhdrSize
	if phsize > linux.ELFMaxPhdrBytes {
		return nil, formatErr("too many program headers (%d)", phnum)
	}
	if info.Phoff > uint64(size) || phsize > uint64(size)-info.Phoff {
		return nil, formatErr("program headers [%#x, +%#x) lie outside the file (%d bytes)", info.Phoff, phsize, size)
	}
	info.Phnum = phnum
	phdrs := make([]byte, phsize)
	if _, err := r.ReadAt(phdrs, int64(info.Phoff)); err != nil {
		return nil, fmt.Errorf("reading program headers: %w", err)
	}
	for i := 0; i < phnum; i++ {
		ph := phdrs[i*linux.ELF64PhdrSize:]
		typ := le.Uint32(ph[linux.PhdrType:])
		s := Segment{
			Flags:  le.Uint32(ph[linux.PhdrFlags:]),
			Offset: le.Uint64(ph[linux.PhdrOffset:]),
			Vaddr:  le.Uint64(ph[linux.PhdrVaddr:]),
			Filesz: le.Uint64(ph[linux.PhdrFilesz:]),
			Memsz:  le.Uint64(ph[linux.PhdrMemsz:]),
			Align:  le.Uint64(ph[linux.PhdrAlign:]),
		}
		switch typ {
		case linux.PT_LOAD:
			if err := info.addLoad(i, s, uint64(size)); err != nil {
				return nil, err
			}
		case linux.PT_INTERP:
			// Like Linux, the first PT_INTERP counts and later ones
			// are ignored.
			if info.HasInterp {
				continue
			}
			interp, err := readInterp(r, s, uint64(size))
			if err != nil {
				return nil, err
			}
			info.Interp = interp
			info.HasInterp = true
		case linux.PT_PHDR:
			info.PhdrVaddr = s.Vaddr
			info.HasPhdr = true
		case linux.PT_GNU_STACK:
			info.ExecStack = s.Flags&linux.PF_X != 0
		}
	}
	if len(info.Segments) == 0 {
		return nil, formatErr("no PT_LOAD segments")
	}
	return info, nil
}

// readInterp reads and validates the PT_INTERP segment s of a file of size
// bytes as Linux's load_elf_binary does: 2 to PATH_MAX bytes (else
// ENOEXEC), inside the file (else EIO, a short read), ending in a NUL
// (else ENOEXEC). The path is the C string it holds.
func readInterp(r io.ReaderAt, s Segment, size uint64) (string, error) {
	if s.Filesz < 2 || s.Filesz > maxInterpLen {
		return "", formatErr("PT_INTERP size %#x is not in [2, %d]", s.Filesz, maxInterpLen)
	}
	if s.Offset > size || s.Filesz > size-s.Offset {
		return "", truncatedErr("PT_INTERP [%#x, +%#x) lies outside the file (%d bytes)", s.Offset, s.Filesz, size)
	}
	b := make([]byte, s.Filesz)
	if n, err := r.ReadAt(b, int64(s.Offset)); n != len(b) {
		if err == nil || err == io.EOF {
			return "", truncatedErr("PT_INTERP: short read")
		}
		return "", fmt.Errorf("reading PT_INTERP: %w", err)
	}
	if b[len(b)-1] != 0 {
		return "", formatErr("PT_INTERP is not NUL-terminated")
	}
	return string(b[:bytes.IndexByte(b, 0)]), nil
}

// addLoad validates PT_LOAD number i and appends it.
func (info *ELFInfo) addLoad(i int, s Segment, size uint64) error {
	if s.Filesz > s.Memsz {
		return formatErr("segment %d: file size %#x exceeds memory size %#x", i, s.Filesz, s.Memsz)
	}
	if s.Offset > size || s.Filesz > size-s.Offset {
		return formatErr("segment %d: file range [%#x, +%#x) lies outside the file (%d bytes)", i, s.Offset, s.Filesz, size)
	}
	if s.Vaddr+s.Memsz < s.Vaddr || s.Vaddr+s.Memsz > 1<<47 {
		return formatErr("segment %d: address range [%#x, +%#x) out of range", i, s.Vaddr, s.Memsz)
	}
	if s.Vaddr%linux.PageSize != s.Offset%linux.PageSize {
		return formatErr("segment %d: address %#x and file offset %#x are not congruent modulo the page size", i, s.Vaddr, s.Offset)
	}
	if s.Align > 1 {
		if bits.OnesCount64(s.Align) != 1 {
			return formatErr("segment %d: alignment %#x is not a power of two", i, s.Align)
		}
		if s.Align > info.MaxAlign {
			info.MaxAlign = s.Align
		}
	}
	if s.Memsz == 0 {
		return nil
	}
	if n := len(info.Segments); n > 0 {
		prev := info.Segments[n-1]
		if s.Vaddr < prev.Vaddr+prev.Memsz {
			return formatErr("segment %d at %#x overlaps or precedes the previous segment [%#x, %#x)", i, s.Vaddr, prev.Vaddr, prev.Vaddr+prev.Memsz)
		}
	}
	info.Segments = append(info.Segments, s)
	return nil
}

// span returns the page-aligned address range covering all segments.
func (info *ELFInfo) span() (lo, hi uint64) {
	lo = info.Segments[0].Vaddr &^ (linux.PageSize - 1)
	last := info.Segments[len(info.Segments)-1]
	hi = (last.Vaddr + last.Memsz + linux.PageSize - 1) &^ (linux.PageSize - 1)
	return lo, hi
}

// phdrAddr returns the (unbiased) address of the program headers in
// memory (AT_PHDR): PT_PHDR's, else where the first PT_LOAD whose file
// bytes include e_phoff puts them (as Linux computes it), else where they
// would be if the first segment's mapping extended to them.
func (info *ELFInfo) phdrAddr() uint64 {
	if info.HasPhdr {
		return info.PhdrVaddr
	}
	for _, s := range info.Segments {
		if s.Offset <= info.Phoff && info.Phoff-s.Offset < s.Filesz {
			return s.Vaddr + (info.Phoff - s.Offset)
		}
	}
	s := info.Segments[0]
	return s.Vaddr - s.Offset + info.Phoff
}
