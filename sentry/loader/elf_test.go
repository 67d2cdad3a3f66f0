package loader

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"golang.org/x/sys/unix"
)

// testPhdr is a program header for buildELF.
type testPhdr struct {
	typ   uint32
	flags uint32
	off   uint64
	vaddr uint64
	filesz,
	memsz uint64
	align uint64
}

// buildELF returns an ELF64 x86-64 file of the given type with phdrs at
// offset 64, padded with pattern bytes to size.
func buildELF(typ uint16, entry uint64, phdrs []testPhdr, size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i * 7)
	}
	copy(b, linux.ELFMagic)
	b[linux.EI_CLASS] = linux.ELFCLASS64
	b[linux.EI_DATA] = linux.ELFDATA2LSB
	b[linux.EI_VERSION] = linux.EV_CURRENT
	for i := 7; i < 16; i++ {
		b[i] = 0
	}
	le := binary.LittleEndian
	le.PutUint16(b[linux.EhdrType:], typ)
	le.PutUint16(b[linux.EhdrMachine:], linux.EM_X86_64)
	le.PutUint32(b[linux.EhdrVersion:], linux.EV_CURRENT)
	le.PutUint64(b[linux.EhdrEntry:], entry)
	le.PutUint64(b[linux.EhdrPhoff:], linux.ELF64EhdrSize)
	le.PutUint64(b[linux.EhdrShoff:], 0)
	le.PutUint32(b[linux.EhdrFlags:], 0)
	le.PutUint16(b[linux.EhdrEhsize:], linux.ELF64EhdrSize)
	le.PutUint16(b[linux.EhdrPhentsize:], linux.ELF64PhdrSize)
	le.PutUint16(b[linux.EhdrPhnum:], uint16(len(phdrs)))
	le.PutUint16(b[linux.EhdrShentsize:], 0)
	le.PutUint16(b[linux.EhdrShnum:], 0)
	le.PutUint16(b[linux.EhdrShstrndx:], 0)
	for i, p := range phdrs {
		h := b[linux.ELF64EhdrSize+i*linux.ELF64PhdrSize:]
		le.PutUint32(h[linux.PhdrType:], p.typ)
		le.PutUint32(h[linux.PhdrFlags:], p.flags)
		le.PutUint64(h[linux.PhdrOffset:], p.off)
		le.PutUint64(h[linux.PhdrVaddr:], p.vaddr)
		le.PutUint64(h[linux.PhdrPaddr:], p.vaddr)
		le.PutUint64(h[linux.PhdrFilesz:], p.filesz)
		le.PutUint64(h[linux.PhdrMemsz:], p.memsz)
		le.PutUint64(h[linux.PhdrAlign:], p.align)
	}
	return b
}

// goodPhdrs are a text segment (with the headers) and a data+bss segment.
var goodPhdrs = []testPhdr{
	{linux.PT_LOAD, linux.PF_R | linux.PF_X, 0, 0x400000, 0x1800, 0x1800, 0x1000},
	{linux.PT_LOAD, linux.PF_R | linux.PF_W, 0x1800, 0x402800, 0x300, 0x5000, 0x1000},
	{linux.PT_GNU_STACK, linux.PF_R | linux.PF_W, 0, 0, 0, 0, 16},
}

func goodELF() []byte { return buildELF(linux.ET_EXEC, 0x400100, goodPhdrs, 0x2000) }

func TestParseGood(t *testing.T) {
	b := goodELF()
	info, err := ParseELF(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("ParseELF: %v", err)
	}
	if len(info.Segments) != 2 || info.ExecStack || info.Entry != 0x400100 || info.Phnum != 3 {
		t.Errorf("info = %+v", info)
	}
	if got := info.phdrAddr(); got != 0x400040 {
		t.Errorf("phdrAddr = %#x, want 0x400040", got)
	}
}

func TestParseMalformed(t *testing.T) {
	mutate := func(f func(b []byte) []byte) []byte { return f(goodELF()) }
	le := binary.LittleEndian
	phdr := func(b []byte, i int) []byte { return b[linux.ELF64EhdrSize+i*linux.ELF64PhdrSize:] }
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "not an ELF file"},
		{"short", []byte("\x7fEL"), "not an ELF file"},
		{"text", []byte("#!/bin/sh\necho hi\n"), "not an ELF file"},
		{"truncated header", goodELF()[:40], "truncated ELF header"},
		{"32-bit", mutate(func(b []byte) []byte { b[linux.EI_CLASS] = 1; return b }), "not a 64-bit"},
		{"big-endian", mutate(func(b []byte) []byte { b[linux.EI_DATA] = 2; return b }), "little-endian"},
		{"arm64", mutate(func(b []byte) []byte { le.PutUint16(b[linux.EhdrMachine:], 183); return b }), "not x86-64"},
		{"relocatable", mutate(func(b []byte) []byte { le.PutUint16(b[linux.EhdrType:], 1); return b }), "not an executable"},
		{"phentsize", mutate(func(b []byte) []byte { le.PutUint16(b[linux.EhdrPhentsize:], 32); return b }), "program header size"},
		{"no phdrs", mutate(func(b []byte) []byte { le.PutUint16(b[linux.EhdrPhnum:], 0); return b }), "no program headers"},
		{"huge phnum", mutate(func(b []byte) []byte { le.PutUint16(b[linux.EhdrPhnum:], 0xffff); return b }), "too many program headers"},
		{"phdrs past EOF", mutate(func(b []byte) []byte { le.PutUint16(b[linux.EhdrPhnum:], 1000); return b }), "outside the file"},
		{"phoff overflow", mutate(func(b []byte) []byte { le.PutUint64(b[linux.EhdrPhoff:], ^uint64(0)-10); return b }), "outside the file"},
		{"truncated file", goodELF()[:0x1900], "outside the file"},
		{"filesz > memsz", mutate(func(b []byte) []byte { le.PutUint64(phdr(b, 1)[linux.PhdrFilesz:], 0x6000); return b }), "exceeds memory size"},
		{"offset past EOF", mutate(func(b []byte) []byte { le.PutUint64(phdr(b, 1)[linux.PhdrOffset:], 0x100800); return b }), "outside the file"},
		{"offset overflow", mutate(func(b []byte) []byte { le.PutUint64(phdr(b, 1)[linux.PhdrOffset:], ^uint64(0)-0x7ff); return b }), "outside the file"},
		{"vaddr overflow", mutate(func(b []byte) []byte { le.PutUint64(phdr(b, 1)[linux.PhdrVaddr:], ^uint64(0)-0x7ff); return b }), "out of range"},
		{"not congruent", mutate(func(b []byte) []byte { le.PutUint64(phdr(b, 1)[linux.PhdrVaddr:], 0x402900); return b }), "not congruent"},
		{"bad align", mutate(func(b []byte) []byte { le.PutUint64(phdr(b, 1)[linux.PhdrAlign:], 0x3000); return b }), "power of two"},
		{"overlap", mutate(func(b []byte) []byte { le.PutUint64(phdr(b, 1)[linux.PhdrVaddr:], 0x400800); return b }), "overlaps"},
		{"no PT_LOAD", buildELF(linux.ET_EXEC, 0, []testPhdr{{typ: linux.PT_NOTE}}, 0x200), "no PT_LOAD"},
		{"interp unterminated", buildELF(linux.ET_DYN, 0, []testPhdr{{typ: linux.PT_INTERP, off: 0x100, filesz: 10}}, 0x200), "not NUL-terminated"},
		{"interp too long", buildELF(linux.ET_DYN, 0, []testPhdr{{typ: linux.PT_INTERP, off: 0, filesz: 4097}}, 0x2000), "not in [2, 4096]"},
		{"interp too short", buildELF(linux.ET_DYN, 0, []testPhdr{{typ: linux.PT_INTERP, off: 0x100, filesz: 1}}, 0x200), "not in [2, 4096]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseELF(bytes.NewReader(c.file), int64(len(c.file)))
			if err == nil {
				t.Fatalf("ParseELF succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %q, want it to mention %q", err, c.want)
			}
			if !errors.Is(err, unix.ENOEXEC) {
				t.Errorf("err %v is not ENOEXEC", err)
			}
		})
	}
}

func TestParseInterp(t *testing.T) {
	b := buildELF(linux.ET_DYN, 0x1000, []testPhdr{
		{linux.PT_INTERP, linux.PF_R, 0x200, 0, 28, 28, 1},
		{linux.PT_LOAD, linux.PF_R | linux.PF_X, 0, 0, 0x1000, 0x1000, 0x1000},
	}, 0x1000)
	copy(b[0x200:], "/lib64/ld-linux-x86-64.so.2\x00")
	info, err := ParseELF(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if info.Interp != "/lib64/ld-linux-x86-64.so.2" {
		t.Errorf("Interp = %q", info.Interp)
	}
}

func TestParseInterpEdges(t *testing.T) {
	load := testPhdr{linux.PT_LOAD, linux.PF_R | linux.PF_X, 0, 0, 0x1000, 0x1000, 0x1000}
	// Past the end of the file, or straddling it: a short read, EIO as
	// on Linux.
	for _, off := range []uint64{0x1000, 0xffa, ^uint64(0) - 4} {
		b := buildELF(linux.ET_DYN, 0, []testPhdr{{typ: linux.PT_INTERP, off: off, filesz: 10}, load}, 0x1000)
		_, err := ParseELF(bytes.NewReader(b), int64(len(b)))
		if !errors.Is(err, unix.EIO) || errors.Is(err, unix.ENOEXEC) {
			t.Errorf("PT_INTERP at %#x: err = %v, want EIO", off, err)
		}
	}
	// An embedded NUL ends the path; a second PT_INTERP is ignored, even
	// a malformed one, as Linux uses the first.
	b := buildELF(linux.ET_DYN, 0, []testPhdr{
		{typ: linux.PT_INTERP, off: 0x200, filesz: 12},
		{typ: linux.PT_INTERP, off: 0x5000, filesz: 1},
		load,
	}, 0x1000)
	copy(b[0x200:], "/lib\x00/ld.so\x00")
	info, err := ParseELF(bytes.NewReader(b), int64(len(b)))
	if err != nil || !info.HasInterp || info.Interp != "/lib" {
		t.Errorf("info %+v err %v, want interpreter /lib", info, err)
	}
	// A lone NUL is an empty path (which no opener finds).
	b = buildELF(linux.ET_DYN, 0, []testPhdr{{typ: linux.PT_INTERP, off: 0x200, filesz: 2}, load}, 0x1000)
	copy(b[0x200:], "\x00\x00")
	info, err = ParseELF(bytes.NewReader(b), int64(len(b)))
	if err != nil || !info.HasInterp || info.Interp != "" {
		t.Errorf("info %+v err %v, want an empty interpreter", info, err)
	}
}

func TestPhdrAddr(t *testing.T) {
	// Without PT_PHDR: the first PT_LOAD whose file bytes include
	// e_phoff, even if the table runs past its end.
	b := buildELF(linux.ET_EXEC, 0x400100, []testPhdr{
		{linux.PT_LOAD, linux.PF_R, 0, 0x400000, 0x50, 0x50, 0x1000},
		{linux.PT_LOAD, linux.PF_R, 0x1000, 0x600000, 0x100, 0x100, 0x1000},
	}, 0x2000)
	info, err := ParseELF(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if got := info.phdrAddr(); got != 0x400040 {
		t.Errorf("phdrAddr = %#x, want 0x400040", got)
	}
	// With PT_PHDR, its address.
	b = buildELF(linux.ET_EXEC, 0x400100, []testPhdr{
		{linux.PT_PHDR, linux.PF_R, 64, 0x400040, 112, 112, 8},
		{linux.PT_LOAD, linux.PF_R, 0x1000, 0x400000, 0x100, 0x100, 0x1000},
	}, 0x2000)
	if info, err = ParseELF(bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
	if got := info.phdrAddr(); got != 0x400040 {
		t.Errorf("phdrAddr with PT_PHDR = %#x, want 0x400040", got)
	}
}

func FuzzParseELF(f *testing.F) {
	f.Add(goodELF())
	f.Add(goodELF()[:100])
	f.Add([]byte("\x7fELF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ParseELF(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		// Whatever parses must satisfy the loader's invariants.
		var prevEnd uint64
		for _, s := range info.Segments {
			if s.Filesz > s.Memsz || s.Offset+s.Filesz > uint64(len(b)) || s.Offset+s.Filesz < s.Offset {
				t.Fatalf("bad segment accepted: %+v", s)
			}
			if s.Vaddr < prevEnd || s.Vaddr+s.Memsz < s.Vaddr {
				t.Fatalf("overlapping segment accepted: %+v", s)
			}
			prevEnd = s.Vaddr + s.Memsz
		}
		info.span()
		info.phdrAddr()
	})
}
