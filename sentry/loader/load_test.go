package loader

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand"
	"strings"
	"testing"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
	"github.com/palisade-sandbox/palisade/sentry/mm"
	"github.com/palisade-sandbox/palisade/sentry/pgalloc"
	"golang.org/x/sys/unix"
)

type nopAS struct{}

func (nopAS) MapFile(uintptr, int, int64, uintptr, platform.AccessType) error { return nil }
func (nopAS) Unmap(uintptr, uintptr) error                                    { return nil }
func (nopAS) Release()                                                        {}

const testMaxAddr = 0x7fffffffe000 &^ (linux.PageSize - 1)

func newMM(t *testing.T) *mm.MemoryManager {
	mf, err := pgalloc.New("loader-test", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	m := mm.New(mf, nopAS{}, 0x10000, testMaxAddr)
	t.Cleanup(func() {
		m.DecUsers()
		mf.Close()
	})
	return m
}

// decodedStack is the initial stack read back from guest memory.
type decodedStack struct {
	argv, envv []string
	auxv       map[uint64]uint64
	auxOrder   []uint64
}

func decodeStack(t *testing.T, m *mm.MemoryManager, sp uintptr) decodedStack {
	t.Helper()
	word := func(a uintptr) uint64 {
		var b [8]byte
		if _, err := m.CopyIn(a, b[:]); err != nil {
			t.Fatalf("reading stack word at %#x: %v", a, err)
		}
		return binary.LittleEndian.Uint64(b[:])
	}
	str := func(a uint64) string {
		s, err := m.CopyInString(uintptr(a), 1<<16)
		if err != nil {
			t.Fatalf("reading string at %#x: %v", a, err)
		}
		return s
	}
	var d decodedStack
	argc := word(sp)
	p := sp + 8
	for i := uint64(0); i < argc; i++ {
		d.argv = append(d.argv, str(word(p)))
		p += 8
	}
	if word(p) != 0 {
		t.Fatalf("argv not NULL-terminated")
	}
	p += 8
	for w := word(p); w != 0; w = word(p) {
		d.envv = append(d.envv, str(w))
		p += 8
	}
	p += 8
	d.auxv = map[uint64]uint64{}
	for {
		k, v := word(p), word(p+8)
		p += 16
		d.auxOrder = append(d.auxOrder, k)
		if k == linux.AT_NULL {
			break
		}
		d.auxv[k] = v
	}
	return d
}

func TestLoadStaticExec(t *testing.T) {
	m := newMM(t)
	file := goodELF()
	res, err := Load(LoadArgs{
		File: bytes.NewReader(file), Size: int64(len(file)),
		Filename: "/bin/prog", Argv: []string{"prog", "a b", ""}, Envv: []string{"A=1", "PATH=/bin"},
		MM: m, FPStateSize: 832, HWCap: 0x1234, HWCap2: 2,
		Creds: Credentials{UID: 1, EUID: 2, GID: 3, EGID: 4},
		Rand:  rand.New(rand.NewSource(1)),
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if res.Entry != 0x400100 || res.Bias != 0 {
		t.Errorf("entry %#x bias %#x", res.Entry, res.Bias)
	}
	if res.StackPointer%16 != 0 {
		t.Errorf("rsp %#x not 16-byte aligned", res.StackPointer)
	}
	if res.BrkStart != 0x408000 {
		t.Errorf("brk = %#x, want 0x408000 (page above the bss)", res.BrkStart)
	}
	// Segments: text r-x with file bytes, data rw- with file bytes then
	// zeroed bss.
	vmas := m.VMAs()
	want := []struct {
		start, end uintptr
		prot       int
	}{
		{0x400000, 0x402000, linux.PROT_READ | linux.PROT_EXEC},
		{0x402000, 0x408000, linux.PROT_READ | linux.PROT_WRITE},
	}
	for i, w := range want {
		if vmas[i].Start != w.start || vmas[i].End != w.end || vmas[i].Perms.Prot() != w.prot {
			t.Errorf("vma %d = %+v, want %+v", i, vmas[i], w)
		}
	}
	last := vmas[len(vmas)-1]
	if !last.GrowsDown || last.End != res.StackTop || last.End-last.Start != mm.DefaultStackSize || last.Perms.Prot() != linux.PROT_READ|linux.PROT_WRITE {
		t.Errorf("stack vma = %+v", last)
	}
	got := make([]byte, 0x1800)
	m.CopyIn(0x400000, got)
	if !bytes.Equal(got, file[:0x1800]) {
		t.Errorf("text contents differ from the file")
	}
	data := make([]byte, 0x300)
	m.CopyIn(0x402800, data)
	if !bytes.Equal(data, file[0x1800:0x1b00]) {
		t.Errorf("data contents differ from the file")
	}
	bss := make([]byte, 0x5000-0x300)
	m.CopyIn(0x402b00, bss)
	if !bytes.Equal(bss, make([]byte, len(bss))) {
		t.Errorf("bss is not zero")
	}
	// The program headers are where AT_PHDR says.
	d := decodeStack(t, m, res.StackPointer)
	if strings.Join(d.argv, "|") != "prog|a b|" || strings.Join(d.envv, "|") != "A=1|PATH=/bin" {
		t.Errorf("argv %q envv %q", d.argv, d.envv)
	}
	checks := map[uint64]uint64{
		linux.AT_PHDR: 0x400040, linux.AT_PHENT: 56, linux.AT_PHNUM: 3,
		linux.AT_PAGESZ: 4096, linux.AT_BASE: 0, linux.AT_ENTRY: 0x400100,
		linux.AT_UID: 1, linux.AT_EUID: 2, linux.AT_GID: 3, linux.AT_EGID: 4,
		linux.AT_SECURE: 0, linux.AT_HWCAP: 0x1234, linux.AT_HWCAP2: 2,
		linux.AT_CLKTCK: 100, linux.AT_FLAGS: 0,
	}
	for k, v := range checks {
		if got, ok := d.auxv[k]; !ok || got != v {
			t.Errorf("auxv[%d] = %#x (present %v), want %#x", k, got, ok, v)
		}
	}
	if _, ok := d.auxv[linux.AT_SYSINFO_EHDR]; ok {
		t.Errorf("AT_SYSINFO_EHDR present without a vDSO")
	}
	if d.auxv[linux.AT_MINSIGSTKSZ] < 832 {
		t.Errorf("AT_MINSIGSTKSZ = %d", d.auxv[linux.AT_MINSIGSTKSZ])
	}
	platformStr, _ := m.CopyInString(uintptr(d.auxv[linux.AT_PLATFORM]), 64)
	execfn, _ := m.CopyInString(uintptr(d.auxv[linux.AT_EXECFN]), 64)
	if platformStr != "x86_64" || execfn != "/bin/prog" {
		t.Errorf("AT_PLATFORM %q AT_EXECFN %q", platformStr, execfn)
	}
	var rnd [16]byte
	if n, err := m.CopyIn(uintptr(d.auxv[linux.AT_RANDOM]), rnd[:]); n != 16 || err != nil || rnd == [16]byte{} {
		t.Errorf("AT_RANDOM bytes %x unreadable or zero: %v", rnd, err)
	}
	if execAddr := d.auxv[linux.AT_EXECFN]; execAddr+uint64(len("/bin/prog"))+1+8 != uint64(res.StackTop) {
		t.Errorf("AT_EXECFN %#x is not at the top of the stack %#x", execAddr, res.StackTop)
	}
	if d.auxOrder[len(d.auxOrder)-1] != linux.AT_NULL {
		t.Errorf("auxv does not end with AT_NULL")
	}
	// The page of the header is readable, the data page not executable.
	if errno := m.HandleFault(0x400000, platform.ReadExec); errno != 0 {
		t.Errorf("exec fault in text: %v", errno)
	}
	if errno := m.HandleFault(0x402000, platform.ReadExec); errno == 0 {
		t.Errorf("exec fault in data succeeded")
	}
}

func TestLoadStaticPIE(t *testing.T) {
	m := newMM(t)
	phdrs := []testPhdr{
		{linux.PT_PHDR, linux.PF_R, 64, 64, 3 * 56, 3 * 56, 8},
		{linux.PT_LOAD, linux.PF_R | linux.PF_X, 0, 0, 0x1800, 0x1800, 0x200000},
		{linux.PT_LOAD, linux.PF_R | linux.PF_W, 0x1800, 0x2800, 0x300, 0x1000, 0x1000},
	}
	file := buildELF(linux.ET_DYN, 0x120, phdrs, 0x2000)
	for _, randomize := range []bool{false, true} {
		m := m
		if randomize {
			m = newMM(t)
		}
		res, err := Load(LoadArgs{
			File: bytes.NewReader(file), Size: int64(len(file)), Filename: "p", Argv: []string{"p"},
			MM: m, Randomize: randomize, Rand: rand.New(rand.NewSource(2)),
		})
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if res.Bias == 0 || res.Bias%0x200000 != 0 {
			t.Errorf("bias %#x not a non-zero multiple of the 2 MiB alignment", res.Bias)
		}
		if base := elfETDynBase(testMaxAddr); !randomize && (res.Bias < base || res.Bias >= base+0x200000) {
			t.Errorf("bias %#x, want ELF_ET_DYN_BASE %#x rounded up to 2 MiB", res.Bias, base)
		}
		if res.Entry != res.Bias+0x120 {
			t.Errorf("entry %#x, bias %#x", res.Entry, res.Bias)
		}
		d := decodeStack(t, m, res.StackPointer)
		if d.auxv[linux.AT_PHDR] != uint64(res.Bias)+64 || d.auxv[linux.AT_ENTRY] != uint64(res.Entry) {
			t.Errorf("AT_PHDR %#x AT_ENTRY %#x", d.auxv[linux.AT_PHDR], d.auxv[linux.AT_ENTRY])
		}
	}
}

func TestLoadInterpWithoutOpener(t *testing.T) {
	m := newMM(t)
	b := buildELF(linux.ET_DYN, 0x1000, []testPhdr{
		{linux.PT_INTERP, linux.PF_R, 0x200, 0, 28, 28, 1},
		{linux.PT_LOAD, linux.PF_R | linux.PF_X, 0, 0, 0x1000, 0x1000, 0x1000},
	}, 0x1000)
	copy(b[0x200:], "/lib64/ld-linux-x86-64.so.2\x00")
	_, err := Load(LoadArgs{File: bytes.NewReader(b), Size: int64(len(b)), MM: m, Argv: []string{"x"}})
	if !errors.Is(err, ErrNoOpener) || !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), "/lib64/ld-linux-x86-64.so.2") {
		t.Errorf("err = %v, want ErrNoOpener and ENOENT naming the interpreter", err)
	}
}

func TestLoadRejectsOutOfRange(t *testing.T) {
	for _, vaddr := range []uint64{0x1000, 0x7ffffffff000} {
		m := newMM(t)
		b := buildELF(linux.ET_EXEC, vaddr, []testPhdr{{linux.PT_LOAD, linux.PF_R, 0, vaddr, 0x100, 0x2000, 0x1000}}, 0x1000)
		if _, err := Load(LoadArgs{File: bytes.NewReader(b), Size: int64(len(b)), MM: m, Argv: []string{"x"}}); err == nil {
			t.Errorf("segment at %#x loaded", vaddr)
		}
	}
}

func TestArgLimits(t *testing.T) {
	// 8 MiB stack: strings may use 2 MiB less the pointers.
	limit, err := argLimit(8<<20, 2, 1)
	if err != nil || limit != 2<<20-3*8 {
		t.Errorf("argLimit(8 MiB) = %d, %v", limit, err)
	}
	// Tiny stacks still get ARG_MAX; huge ones at most 6 MiB.
	if l, _ := argLimit(64<<10, 0, 0); l != 128<<10-8 {
		t.Errorf("argLimit(64 KiB) = %d", l)
	}
	if l, _ := argLimit(1<<40, 0, 0); l != 6<<20-8 {
		t.Errorf("argLimit(1 TiB) = %d", l)
	}
	if _, err := argLimit(8<<20, 1<<20, 1<<20); !errors.Is(err, unix.E2BIG) {
		t.Errorf("argLimit with 2^21 pointers = %v, want E2BIG", err)
	}
	// MAX_ARG_STRLEN counts the NUL.
	ok := strings.Repeat("x", maxArgStrlen-1)
	if err := checkArgs(limit, "f", []string{ok}, nil); err != nil {
		t.Errorf("argument of MAX_ARG_STRLEN-1 bytes: %v", err)
	}
	if err := checkArgs(limit, "f", []string{ok + "x"}, nil); !errors.Is(err, unix.E2BIG) {
		t.Errorf("argument of MAX_ARG_STRLEN bytes: %v, want E2BIG", err)
	}
	if err := checkArgs(limit, "f", nil, []string{ok + "x"}); !errors.Is(err, unix.E2BIG) {
		t.Errorf("environment string of MAX_ARG_STRLEN bytes: %v, want E2BIG", err)
	}
	many := make([]string, 100000)
	for i := range many {
		many[i] = "0123456789012345678901234567890"
	}
	if err := checkArgs(limit, "f", many, nil); !errors.Is(err, unix.E2BIG) {
		t.Errorf("3.2 MB of arguments: %v, want E2BIG", err)
	}
	// Through Load: E2BIG, and nothing mapped.
	m := newMM(t)
	file := goodELF()
	_, err = Load(LoadArgs{File: bytes.NewReader(file), Size: int64(len(file)), MM: m, Argv: []string{"p"}, Envv: many})
	if !errors.Is(err, unix.E2BIG) {
		t.Errorf("Load with 3.2 MB of environment: %v, want E2BIG", err)
	}
	if len(m.VMAs()) != 0 {
		t.Errorf("Load failing with E2BIG left mappings: %+v", m.VMAs())
	}
	// An empty argv becomes {""}.
	res, err := Load(LoadArgs{File: bytes.NewReader(file), Size: int64(len(file)), MM: m, Filename: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if d := decodeStack(t, m, res.StackPointer); len(d.argv) != 1 || d.argv[0] != "" {
		t.Errorf("argv for an empty Argv = %q, want [\"\"]", d.argv)
	}
}
