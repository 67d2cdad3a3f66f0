package loader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/mm"
	"golang.org/x/sys/unix"
)

const helloC = `#include <stdio.h>
int main(void) { printf("hello, world\n"); return 0; }
`

// buildC compiles src with gcc and flags into a temporary directory, or
// skips the test without gcc.
func buildC(t testing.TB, name, src string, flags ...string) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("needs gcc")
	}
	dir := t.TempDir()
	c := filepath.Join(dir, name+".c")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, name)
	args := append([]string{"-O1", "-o", bin, c}, flags...)
	if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", name, err, out)
	}
	return bin
}

func pageDown(a uint64) uint64 { return a &^ (linux.PageSize - 1) }
func pageUp(a uint64) uint64   { return (a + linux.PageSize - 1) &^ (linux.PageSize - 1) }

// checkImage checks that every PT_LOAD of the ELF file at path is in m at
// bias: the file's bytes, a zero bss start, and the segment's permissions.
// It returns the page-aligned range the segments span.
func checkImage(t *testing.T, m *mm.MemoryManager, path string, bias uint64) (lo, hi uint64) {
	t.Helper()
	ef, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	vmas := m.VMAs()
	lo = ^uint64(0)
	for _, p := range ef.Progs {
		if p.Type != elf.PT_LOAD || p.Memsz == 0 {
			continue
		}
		lo = min(lo, pageDown(p.Vaddr+bias))
		hi = max(hi, pageUp(p.Vaddr+p.Memsz+bias))
		got := make([]byte, p.Filesz)
		if n, err := m.CopyIn(uintptr(p.Vaddr+bias), got); n != len(got) || err != nil {
			t.Errorf("%s segment at %#x: read %d bytes: %v", path, p.Vaddr+bias, n, err)
		} else if !bytes.Equal(got, raw[p.Off:p.Off+p.Filesz]) {
			t.Errorf("%s segment at %#x differs from the file", path, p.Vaddr+bias)
		}
		if bss := min(p.Memsz-p.Filesz, 4096); bss > 0 {
			z := make([]byte, bss)
			m.CopyIn(uintptr(p.Vaddr+p.Filesz+bias), z)
			if !bytes.Equal(z, make([]byte, bss)) {
				t.Errorf("%s bss at %#x is not zero", path, p.Vaddr+p.Filesz+bias)
			}
		}
		want := 0
		if p.Flags&elf.PF_R != 0 {
			want |= linux.PROT_READ
		}
		if p.Flags&elf.PF_W != 0 {
			want |= linux.PROT_WRITE
		}
		if p.Flags&elf.PF_X != 0 {
			want |= linux.PROT_EXEC
		}
		mid := uintptr(p.Vaddr + p.Memsz/2 + bias)
		found := false
		for _, v := range vmas {
			if v.Start <= mid && mid < v.End {
				found = true
				if v.Perms.Prot() != want || !v.Private {
					t.Errorf("%s segment at %#x: VMA %+v, want prot %#x private", path, p.Vaddr+bias, v, want)
				}
			}
		}
		if !found {
			t.Errorf("%s segment at %#x: no VMA", path, p.Vaddr+bias)
		}
	}
	return lo, hi
}

func TestLoadDynamic(t *testing.T) {
	for _, c := range []struct {
		name  string
		flags []string
		pie   bool
	}{
		{"default", nil, true},
		{"pie", []string{"-pie", "-fPIE"}, true},
		{"no-pie", []string{"-no-pie"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			bin := buildC(t, "hello", helloC, c.flags...)
			ef, err := elf.Open(bin)
			if err != nil {
				t.Fatal(err)
			}
			defer ef.Close()
			if (ef.Type == elf.ET_DYN) != c.pie {
				t.Fatalf("gcc %v made an ELF of type %v", c.flags, ef.Type)
			}
			var interpPath string
			var phdrVaddr uint64
			var lastEnd uint64
			for _, p := range ef.Progs {
				switch p.Type {
				case elf.PT_INTERP:
					b := make([]byte, p.Filesz)
					p.ReadAt(b, 0)
					interpPath = string(bytes.TrimRight(b, "\x00"))
				case elf.PT_PHDR:
					phdrVaddr = p.Vaddr
				case elf.PT_LOAD:
					lastEnd = max(lastEnd, p.Vaddr+p.Memsz)
				}
			}
			if interpPath == "" {
				t.Fatalf("no PT_INTERP in %s", bin)
			}
			var interpBases []uintptr
			for i, randomize := range []bool{false, true, true} {
				m := newMM(t)
				res, err := Load(LoadArgs{
					Filename: bin, Opener: HostOpener{}, Argv: []string{"hello", "arg"}, Envv: []string{"A=1"},
					MM: m, Randomize: randomize, Rand: rand.New(rand.NewSource(int64(i))),
				})
				if err != nil {
					t.Fatalf("Load(randomize=%v): %v", randomize, err)
				}
				bias := uint64(res.Bias)
				switch {
				case !c.pie && bias != 0:
					t.Errorf("ET_EXEC bias %#x", bias)
				case c.pie && !randomize && bias != 0x555555554000:
					t.Errorf("PIE bias %#x, want 0x555555554000", bias)
				case c.pie && randomize && (bias < 0x555555554000 || bias >= 0x555555554000+pieRandPages*linux.PageSize || bias%linux.PageSize != 0):
					t.Errorf("randomized PIE bias %#x out of range", bias)
				}
				if res.Interpreter != interpPath || res.Executable != bin {
					t.Errorf("Interpreter %q Executable %q", res.Interpreter, res.Executable)
				}
				progLo, progHi := checkImage(t, m, bin, bias)
				interpLo, interpHi := checkImage(t, m, interpPath, uint64(res.InterpBase))
				if interpLo < progHi && progLo < interpHi {
					t.Errorf("interpreter [%#x, %#x) overlaps the program [%#x, %#x)", interpLo, interpHi, progLo, progHi)
				}
				if uintptr(interpHi) > m.MmapBase() || uintptr(interpLo) < res.BrkStart {
					t.Errorf("interpreter [%#x, %#x) not between the break %#x and the mmap base %#x", interpLo, interpHi, res.BrkStart, m.MmapBase())
				}
				if res.InterpBase%linux.PageSize != 0 || res.InterpBase == 0 {
					t.Errorf("interpreter base %#x", res.InterpBase)
				}
				interpBases = append(interpBases, res.InterpBase)
				if !randomize && uint64(res.BrkStart) != pageUp(lastEnd+bias) {
					t.Errorf("brk %#x, want %#x (after the program, not the interpreter)", res.BrkStart, pageUp(lastEnd+bias))
				} else if randomize && (uint64(res.BrkStart) < pageUp(lastEnd+bias) || uint64(res.BrkStart) >= pageUp(lastEnd+bias)+32<<20) {
					t.Errorf("randomized brk %#x not within 32 MiB above the program end %#x", res.BrkStart, lastEnd+bias)
				}
				ief, err := elf.Open(interpPath)
				if err != nil {
					t.Fatal(err)
				}
				if res.Entry != uintptr(ief.Entry)+res.InterpBase {
					t.Errorf("entry %#x, want the interpreter's %#x + %#x", res.Entry, ief.Entry, res.InterpBase)
				}
				ief.Close()
				d := decodeStack(t, m, res.StackPointer)
				if strings.Join(d.argv, "|") != "hello|arg" || strings.Join(d.envv, "|") != "A=1" {
					t.Errorf("argv %q envv %q", d.argv, d.envv)
				}
				wantAux := map[uint64]uint64{
					linux.AT_BASE:  uint64(res.InterpBase),
					linux.AT_ENTRY: ef.Entry + bias,
					linux.AT_PHDR:  phdrVaddr + bias,
					linux.AT_PHNUM: uint64(len(ef.Progs)),
					linux.AT_PHENT: 56,
				}
				for k, v := range wantAux {
					if d.auxv[k] != v {
						t.Errorf("auxv[%d] = %#x, want %#x", k, d.auxv[k], v)
					}
				}
				// The program headers are readable where AT_PHDR
				// says, as ld.so reads them.
				raw, _ := os.ReadFile(bin)
				phoff := binary.LittleEndian.Uint64(raw[linux.EhdrPhoff:])
				got := make([]byte, len(ef.Progs)*56)
				m.CopyIn(uintptr(d.auxv[linux.AT_PHDR]), got)
				if !bytes.Equal(got, raw[phoff:phoff+uint64(len(got))]) {
					t.Errorf("memory at AT_PHDR is not the program headers")
				}
				execfn, _ := m.CopyInString(uintptr(d.auxv[linux.AT_EXECFN]), 4096)
				if execfn != bin {
					t.Errorf("AT_EXECFN %q", execfn)
				}
			}
			if interpBases[1] == interpBases[2] {
				t.Errorf("randomized interpreter base %#x did not change with the seed", interpBases[1])
			}
		})
	}
}

// progWithInterp is an ET_EXEC program at 0x400000 whose PT_INTERP holds
// interp (which must fit in 0x100 bytes with its NUL).
func progWithInterp(interp string) []byte {
	b := buildELF(linux.ET_EXEC, 0x400100, []testPhdr{
		{linux.PT_INTERP, linux.PF_R, 0x200, 0x400200, uint64(len(interp) + 1), uint64(len(interp) + 1), 1},
		{linux.PT_LOAD, linux.PF_R | linux.PF_X, 0, 0x400000, 0x1000, 0x1000, 0x1000},
	}, 0x1000)
	copy(b[0x200:], interp+"\x00")
	return b
}

func TestLoadInterpreterErrors(t *testing.T) {
	dir := t.TempDir()
	ldso := writeFile(t, dir, "ld.so", string(buildELF(linux.ET_DYN, 0x80, []testPhdr{
		{linux.PT_LOAD, linux.PF_R | linux.PF_X, 0, 0, 0x800, 0x800, 0x1000},
		{linux.PT_LOAD, linux.PF_R | linux.PF_W, 0x800, 0x1800, 0x100, 0x3000, 0x1000},
	}, 0x1000)), 0o755)
	class32 := goodELF()
	class32[linux.EI_CLASS] = 1
	badPhdrs := buildELF(linux.ET_DYN, 0, goodPhdrs, 0x2000)
	badPhdrs[linux.EhdrPhentsize] = 32
	files := map[string]struct {
		content string
		mode    os.FileMode
	}{
		"junk":     {strings.Repeat("not an ELF file ", 10), 0o755},
		"short":    {string(goodELF()[:40]), 0o755},
		"script":   {"#!/bin/sh\n", 0o755},
		"noexec":   {string(goodELF()), 0o644},
		"class32":  {string(class32), 0o755},
		"badphdrs": {string(badPhdrs), 0o755},
		"overlaps": {string(goodELF()), 0o755}, // ET_EXEC at 0x400000, like the program
	}
	for name, f := range files {
		writeFile(t, dir, name, f.content, f.mode)
	}
	for _, c := range []struct {
		interp string
		want   error
	}{
		{filepath.Join(dir, "missing"), unix.ENOENT},
		{dir, unix.EACCES},
		{filepath.Join(dir, "noexec"), unix.EACCES},
		{filepath.Join(dir, "junk"), unix.ELIBBAD},
		{filepath.Join(dir, "class32"), unix.ELIBBAD},
		{filepath.Join(dir, "badphdrs"), unix.ELIBBAD},
		{filepath.Join(dir, "overlaps"), unix.ELIBBAD},
		{filepath.Join(dir, "short"), unix.EIO},  // as Linux: a short read of the header
		{filepath.Join(dir, "script"), unix.EIO}, // likewise: interpreters are not scripts
		{"", unix.ENOEXEC},                       // PT_INTERP of one byte, the NUL
	} {
		prog := writeFile(t, t.TempDir(), "prog", string(progWithInterp(c.interp)), 0o755)
		_, _, err := loadPath(t, prog, []string{"prog"})
		if !errors.Is(err, c.want) {
			t.Errorf("interpreter %q: %v, want %v", c.interp, err, c.want)
		}
		if c.want == unix.ELIBBAD && errors.Is(err, unix.ENOEXEC) {
			t.Errorf("interpreter %q: %v also matches ENOEXEC", c.interp, err)
		}
	}
	// A minimal ET_DYN interpreter loads where mmap would put it, with its
	// bss, and execution starts at its entry.
	prog := writeFile(t, dir, "prog", string(progWithInterp(ldso)), 0o755)
	res, d, err := loadPath(t, prog, []string{"prog"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if res.Entry != res.InterpBase+0x80 || d.auxv[linux.AT_BASE] != uint64(res.InterpBase) || d.auxv[linux.AT_ENTRY] != 0x400100 {
		t.Errorf("entry %#x base %#x auxv %v", res.Entry, res.InterpBase, d.auxv)
	}
	if d.auxv[linux.AT_PHDR] != 0x400040 || res.BrkStart != 0x401000 {
		t.Errorf("AT_PHDR %#x brk %#x", d.auxv[linux.AT_PHDR], res.BrkStart)
	}
	// A program with a PT_INTERP as the caller's File, and no opener.
	m := newMM(t)
	b := progWithInterp(ldso)
	if _, err := Load(LoadArgs{File: bytes.NewReader(b), Size: int64(len(b)), Filename: "p", MM: m}); !errors.Is(err, unix.ENOENT) {
		t.Errorf("no opener: %v, want ENOENT", err)
	}
	// With an opener, a caller's File works as well.
	m = newMM(t)
	res, err = Load(LoadArgs{File: bytes.NewReader(b), Size: int64(len(b)), Filename: "p", Opener: HostOpener{}, MM: m})
	if err != nil || res.Interpreter != ldso {
		t.Errorf("Load with File and Opener: %+v, %v", res, err)
	}
}
