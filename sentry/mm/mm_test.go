package mm

import (
	"bytes"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
	"github.com/palisade-sandbox/palisade/sentry/pgalloc"
	"golang.org/x/sys/unix"
)

// fakeAS records the platform calls the memory manager makes.
type fakeAS struct {
	mu       sync.Mutex
	maps     []string
	unmaps   []string
	released bool
}

func (a *fakeAS) MapFile(addr uintptr, fd int, offset int64, length uintptr, at platform.AccessType) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.maps = append(a.maps, fmt.Sprintf("%#x+%#x %d", addr, length, at.Prot()))
	return nil
}

func (a *fakeAS) Unmap(addr, length uintptr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.unmaps = append(a.unmaps, fmt.Sprintf("%#x+%#x", addr, length))
	return nil
}

func (a *fakeAS) Release() { a.released = true }

const (
	testMin = 0x10000
	testMax = 0x7fff00000000
	pg      = linux.PageSize
)

func newTestMM(t *testing.T) (*MemoryManager, *fakeAS) {
	t.Helper()
	mf, err := pgalloc.New("mm-test", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	as := &fakeAS{}
	m := New(mf, as, testMin, testMax)
	m.SetLayout(testMax, DefaultStackSize, 0)
	t.Cleanup(func() {
		m.DecUsers()
		if u := mf.Usage(); u != 0 {
			t.Errorf("memory file usage %d after release", u)
		}
		mf.Close()
	})
	return m, as
}

func mustMap(t *testing.T, m *MemoryManager, opts MMapOpts) uintptr {
	t.Helper()
	addr, errno := m.MMap(opts)
	if errno != 0 {
		t.Fatalf("MMap(%+v): %v", opts, errno)
	}
	return addr
}

func vmaString(m *MemoryManager) string {
	var b bytes.Buffer
	for _, v := range m.VMAs() {
		fmt.Fprintf(&b, "[%#x,%#x)%d ", v.Start, v.End, v.Perms.Prot())
	}
	return b.String()
}

func TestMMapTopDownAndHint(t *testing.T) {
	m, _ := newTestMM(t)
	base := m.MmapBase()
	a := mustMap(t, m, MMapOpts{Length: 3 * pg, Perms: platform.ReadWrite, Private: true})
	if a != base-3*pg {
		t.Errorf("first mapping at %#x, want %#x (just below mmap_base)", a, base-3*pg)
	}
	b := mustMap(t, m, MMapOpts{Length: pg, Perms: platform.Read, Private: true})
	if b != a-pg {
		t.Errorf("second mapping at %#x, want %#x", b, a-pg)
	}
	// A free hint is honoured (rounded up to a page).
	h := mustMap(t, m, MMapOpts{Length: pg, Addr: 0x100000123, Perms: platform.Read, Private: true})
	if h != 0x100001000 {
		t.Errorf("hinted mapping at %#x, want 0x100001000", h)
	}
	// A taken hint is not.
	h2 := mustMap(t, m, MMapOpts{Length: pg, Addr: 0x100001000, Perms: platform.Read, Private: true})
	if h2 == 0x100001000 {
		t.Errorf("hint over an existing mapping was used")
	}
}

func TestMMapErrors(t *testing.T) {
	m, _ := newTestMM(t)
	cases := []struct {
		opts MMapOpts
		want unix.Errno
	}{
		{MMapOpts{Length: 0}, unix.EINVAL},
		{MMapOpts{Length: math.MaxUint64 - 10}, unix.ENOMEM},
		{MMapOpts{Length: testMax + pg}, unix.ENOMEM},
		{MMapOpts{Length: pg, Addr: 0x100000001, Fixed: true}, unix.EINVAL},
		{MMapOpts{Length: 2 * pg, Addr: testMax - pg, Fixed: true}, unix.ENOMEM},
		{MMapOpts{Length: pg, Addr: 0x1000, Fixed: true}, unix.EPERM},
	}
	for _, c := range cases {
		if _, errno := m.MMap(c.opts); errno != c.want {
			t.Errorf("MMap(%+v) = %v, want %v", c.opts, errno, c.want)
		}
	}
	a := mustMap(t, m, MMapOpts{Length: pg, Addr: 0x200000000, Fixed: true, Perms: platform.Read})
	if _, errno := m.MMap(MMapOpts{Length: pg, Addr: a, Fixed: true, NoReplace: true}); errno != unix.EEXIST {
		t.Errorf("MAP_FIXED_NOREPLACE over a mapping = %v, want EEXIST", errno)
	}
}

func TestFixedReplacesAndMerges(t *testing.T) {
	m, as := newTestMM(t)
	const A = 0x300000000
	mustMap(t, m, MMapOpts{Length: 4 * pg, Addr: A, Fixed: true, Perms: platform.ReadWrite, Private: true})
	// Touch a page so there is something to unmap.
	if _, err := m.CopyOut(A+pg, []byte{1}); err != nil {
		t.Fatal(err)
	}
	mustMap(t, m, MMapOpts{Length: pg, Addr: A + pg, Fixed: true, Perms: platform.Read, Private: true})
	if got, want := vmaString(m), fmt.Sprintf("[%#x,%#x)3 [%#x,%#x)1 [%#x,%#x)3 ", A, A+pg, A+pg, A+2*pg, A+2*pg, A+4*pg); got != want {
		t.Errorf("VMAs = %s, want %s", got, want)
	}
	if len(as.unmaps) == 0 {
		t.Errorf("replacing populated pages did not unmap them from the address space")
	}
	// The replaced page reads as zero again.
	var b [1]byte
	if _, err := m.CopyIn(A+pg, b[:]); err != nil || b[0] != 0 {
		t.Errorf("replaced page = %d, %v; want 0", b[0], err)
	}
	// Restoring the permissions merges the three areas back into one.
	if errno := m.MProtect(A+pg, pg, linux.PROT_READ|linux.PROT_WRITE); errno != 0 {
		t.Fatal(errno)
	}
	if got, want := vmaString(m), fmt.Sprintf("[%#x,%#x)3 ", A, A+4*pg); got != want {
		t.Errorf("after mprotect: VMAs = %s, want %s", got, want)
	}
}

func TestMUnmapSplits(t *testing.T) {
	m, _ := newTestMM(t)
	const A = 0x400000000
	mustMap(t, m, MMapOpts{Length: 5 * pg, Addr: A, Fixed: true, Perms: platform.ReadWrite, Private: true})
	if errno := m.MUnmap(A+pg, 2*pg); errno != 0 {
		t.Fatal(errno)
	}
	if got, want := vmaString(m), fmt.Sprintf("[%#x,%#x)3 [%#x,%#x)3 ", A, A+pg, A+3*pg, A+5*pg); got != want {
		t.Errorf("VMAs = %s, want %s", got, want)
	}
	// Unmapping nothing succeeds; bad arguments do not.
	if errno := m.MUnmap(0x500000000, pg); errno != 0 {
		t.Errorf("munmap of a hole = %v", errno)
	}
	for _, c := range []struct{ addr, len uintptr }{{A + 1, pg}, {A, 0}, {testMax - pg, 2 * pg}, {A, math.MaxUint64}} {
		if errno := m.MUnmap(c.addr, c.len); errno != unix.EINVAL {
			t.Errorf("MUnmap(%#x, %#x) = %v, want EINVAL", c.addr, c.len, errno)
		}
	}
}

func TestMProtectRules(t *testing.T) {
	m, _ := newTestMM(t)
	const A = 0x600000000
	mustMap(t, m, MMapOpts{Length: 2 * pg, Addr: A, Fixed: true, Perms: platform.ReadWrite, Private: true})
	mustMap(t, m, MMapOpts{Length: pg, Addr: A + 3*pg, Fixed: true, Perms: platform.ReadWrite, Private: true})
	if errno := m.MProtect(A+1, pg, linux.PROT_READ); errno != unix.EINVAL {
		t.Errorf("unaligned = %v, want EINVAL", errno)
	}
	if errno := m.MProtect(A, pg, 0x100); errno != unix.EINVAL {
		t.Errorf("bad prot = %v, want EINVAL", errno)
	}
	if errno := m.MProtect(A, 0, linux.PROT_READ); errno != 0 {
		t.Errorf("zero length = %v, want success", errno)
	}
	if errno := m.MProtect(A+2*pg, pg, linux.PROT_READ); errno != unix.ENOMEM {
		t.Errorf("hole = %v, want ENOMEM", errno)
	}
	// Across a hole: the mapped prefix changes, then ENOMEM (as Linux).
	if errno := m.MProtect(A, 4*pg, linux.PROT_READ); errno != unix.ENOMEM {
		t.Errorf("range with a hole = %v, want ENOMEM", errno)
	}
	if got, want := vmaString(m), fmt.Sprintf("[%#x,%#x)1 [%#x,%#x)3 ", A, A+2*pg, A+3*pg, A+4*pg); got != want {
		t.Errorf("VMAs = %s, want %s", got, want)
	}
	if errno := m.MProtect(A, pg, linux.PROT_READ|linux.PROT_GROWSDOWN); errno != unix.EINVAL {
		t.Errorf("PROT_GROWSDOWN on a non-stack = %v, want EINVAL", errno)
	}
}

func TestFaultAround(t *testing.T) {
	m, as := newTestMM(t)
	const A = 0x700000000
	mustMap(t, m, MMapOpts{Length: 1 << 20, Addr: A, Fixed: true, Perms: platform.ReadWrite, Private: true})
	if errno := m.HandleFault(A+0x12345, platform.ReadWrite); errno != 0 {
		t.Fatalf("HandleFault: %v", errno)
	}
	want := fmt.Sprintf("%#x+%#x 3", uintptr(A+0x10000), faultAroundSize)
	if len(as.maps) != 1 || as.maps[0] != want {
		t.Errorf("maps = %v, want [%s]", as.maps, want)
	}
	// A small VMA is mapped whole.
	const B = 0x800000000
	mustMap(t, m, MMapOpts{Length: 3 * pg, Addr: B, Fixed: true, Perms: platform.Read, Private: true})
	as.maps = nil
	if errno := m.HandleFault(B+2*pg, platform.Read); errno != 0 {
		t.Fatal(errno)
	}
	if want := fmt.Sprintf("%#x+%#x 1", uintptr(B), 3*pg); len(as.maps) != 1 || as.maps[0] != want {
		t.Errorf("maps = %v, want [%s]", as.maps, want)
	}
	// Faults that must become SIGSEGV.
	if errno := m.HandleFault(B, platform.ReadWrite); errno != unix.EACCES {
		t.Errorf("write to read-only = %v, want EACCES", errno)
	}
	if errno := m.HandleFault(B, platform.ReadExec); errno != unix.EACCES {
		t.Errorf("exec of non-exec = %v, want EACCES", errno)
	}
	if errno := m.HandleFault(0, platform.Read); errno != unix.EFAULT {
		t.Errorf("NULL = %v, want EFAULT", errno)
	}
	if errno := m.HandleFault(testMax+pg, platform.Read); errno != unix.EFAULT {
		t.Errorf("kernel half = %v, want EFAULT", errno)
	}
}

func TestCopyInOut(t *testing.T) {
	m, _ := newTestMM(t)
	const A = 0x900000000
	mustMap(t, m, MMapOpts{Length: 2 * pg, Addr: A, Fixed: true, Perms: platform.ReadWrite, Private: true})
	mustMap(t, m, MMapOpts{Length: pg, Addr: A + 2*pg, Fixed: true, Perms: platform.Read, Private: true})
	data := bytes.Repeat([]byte("0123456789"), 500) // crosses a page
	if n, err := m.CopyOut(A+100, data); err != nil || n != len(data) {
		t.Fatalf("CopyOut = %d, %v", n, err)
	}
	got := make([]byte, len(data))
	if n, err := m.CopyIn(A+100, got); err != nil || n != len(got) || !bytes.Equal(got, data) {
		t.Fatalf("CopyIn = %d, %v, equal=%v", n, err, bytes.Equal(got, data))
	}
	// Writing into the read-only page stops at its start.
	n, err := m.CopyOut(A+2*pg-10, make([]byte, 20))
	if n != 10 || err != unix.EFAULT {
		t.Errorf("CopyOut into read-only = %d, %v; want 10, EFAULT", n, err)
	}
	// Reading it works (untouched pages read as zero).
	if n, err := m.CopyIn(A+2*pg, make([]byte, 8)); n != 8 || err != nil {
		t.Errorf("CopyIn of read-only = %d, %v", n, err)
	}
	for _, c := range []struct {
		addr uintptr
		n    int
	}{
		{0, 1},                   // NULL
		{A + 3*pg, 1},            // unmapped
		{math.MaxUint64 - 2, 8},  // overflow
		{testMax, 1},             // kernel half
		{0xffff800000000000, 16}, // kernel addresses
	} {
		if _, err := m.CopyIn(c.addr, make([]byte, c.n)); err != unix.EFAULT {
			t.Errorf("CopyIn(%#x, %d) = %v, want EFAULT", c.addr, c.n, err)
		}
	}
}

func TestCopyInString(t *testing.T) {
	m, _ := newTestMM(t)
	const A = 0xa00000000
	mustMap(t, m, MMapOpts{Length: pg, Addr: A, Fixed: true, Perms: platform.ReadWrite, Private: true})
	m.CopyOut(A, []byte("hello\x00"))
	if s, err := m.CopyInString(A, 100); err != nil || s != "hello" {
		t.Errorf("CopyInString = %q, %v", s, err)
	}
	if _, err := m.CopyInString(A, 3); err != unix.ENAMETOOLONG {
		t.Errorf("too long: %v, want ENAMETOOLONG", err)
	}
	// A string running off the end of the mapping faults.
	tail := bytes.Repeat([]byte{'x'}, 10)
	m.CopyOut(A+pg-10, tail)
	if _, err := m.CopyInString(A+pg-10, 100); err != unix.EFAULT {
		t.Errorf("unterminated at mapping end: %v, want EFAULT", err)
	}
	if _, err := m.CopyInString(0, 100); err != unix.EFAULT {
		t.Errorf("NULL: %v, want EFAULT", err)
	}
}

func TestCopyInIovecs(t *testing.T) {
	m, _ := newTestMM(t)
	const A = 0xb00000000
	mustMap(t, m, MMapOpts{Length: pg, Addr: A, Fixed: true, Perms: platform.ReadWrite, Private: true})
	var raw [3 * linux.IovecSize]byte
	iovs := []linux.Iovec{{Base: A, Len: 5}, {Base: A + 8, Len: linux.MAX_RW_COUNT}, {Base: A + 16, Len: 7}}
	for i := range iovs {
		iovs[i].Encode(raw[i*linux.IovecSize:])
	}
	m.CopyOut(A+0x800, raw[:])
	got, err := m.CopyInIovecs(A+0x800, 3)
	if err != nil {
		t.Fatal(err)
	}
	var total uint64
	for _, v := range got {
		total += v.Len
	}
	if total != linux.MAX_RW_COUNT || got[0].Len != 5 || got[2].Len != 0 {
		t.Errorf("iovecs not clamped to MAX_RW_COUNT: %+v", got)
	}
	if _, err := m.CopyInIovecs(A, linux.UIO_MAXIOV+1); err != unix.EINVAL {
		t.Errorf("count > UIO_MAXIOV: %v, want EINVAL", err)
	}
	if _, err := m.CopyInIovecs(0, 2); err != unix.EFAULT {
		t.Errorf("NULL iovecs: %v, want EFAULT", err)
	}
	(&linux.Iovec{Base: A, Len: 1 << 63}).Encode(raw[:])
	m.CopyOut(A+0x800, raw[:linux.IovecSize])
	if _, err := m.CopyInIovecs(A+0x800, 1); err != unix.EINVAL {
		t.Errorf("negative length: %v, want EINVAL", err)
	}
}

func TestBrk(t *testing.T) {
	m, _ := newTestMM(t)
	const H = 0x5000000
	m.SetBrkStart(H)
	if got := m.Brk(0); got != H {
		t.Errorf("brk(0) = %#x, want %#x", got, H)
	}
	if got := m.Brk(H + 0x21000 + 5); got != H+0x21005 {
		t.Errorf("grow = %#x", got)
	}
	if n, err := m.CopyOut(H+0x21004, []byte{1}); n != 1 || err != nil {
		t.Errorf("write into the heap: %d, %v", n, err)
	}
	if got := m.Brk(H + pg); got != H+pg {
		t.Errorf("shrink = %#x", got)
	}
	if _, err := m.CopyOut(H+2*pg, []byte{1}); err != unix.EFAULT {
		t.Errorf("write above a shrunk break: %v, want EFAULT", err)
	}
	// Growing into another mapping (within the guard gap) fails.
	mustMap(t, m, MMapOpts{Length: pg, Addr: H + 0x200000, Fixed: true, Perms: platform.Read, Private: true})
	if got := m.Brk(H + 0x200000); got != H+pg {
		t.Errorf("grow into a mapping = %#x, want unchanged %#x", got, H+pg)
	}
	if got := m.Brk(H - pg); got != H+pg {
		t.Errorf("below start = %#x, want unchanged", got)
	}
}

func TestReleaseFreesEverything(t *testing.T) {
	mf, err := pgalloc.New("mm-test", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	as := &fakeAS{}
	m := New(mf, as, testMin, testMax)
	addr, _ := m.MMap(MMapOpts{Length: 1 << 20, Perms: platform.ReadWrite, Private: true})
	m.CopyOut(addr, make([]byte, 1<<20))
	if mf.Usage() == 0 {
		t.Fatal("no memory allocated")
	}
	m.DecUsers()
	if mf.Usage() != 0 || !as.released {
		t.Errorf("after release: usage %d, as released %v", mf.Usage(), as.released)
	}
}
