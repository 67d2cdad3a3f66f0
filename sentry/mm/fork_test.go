package mm

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/palisade-sandbox/palisade/platform"
	"golang.org/x/sys/unix"
)

// forkTestMM forks m into a child with its own fake address space, released
// at the end of the test (before the parent's cleanup checks usage).
func forkTestMM(t *testing.T, m *MemoryManager) (*MemoryManager, *fakeAS) {
	t.Helper()
	as := &fakeAS{}
	c, err := m.Fork(as)
	if err != nil {
		t.Fatalf("Fork: %v", err)
	}
	t.Cleanup(c.DecUsers)
	return c, as
}

func write(t *testing.T, m *MemoryManager, addr uintptr, s string) {
	t.Helper()
	if n, err := m.CopyOut(addr, []byte(s)); err != nil || n != len(s) {
		t.Fatalf("CopyOut(%#x, %q) = %d, %v", addr, s, n, err)
	}
}

func read(t *testing.T, m *MemoryManager, addr uintptr, n int) string {
	t.Helper()
	b := make([]byte, n)
	if c, err := m.CopyIn(addr, b); err != nil || c != n {
		t.Fatalf("CopyIn(%#x, %d) = %d, %v", addr, n, c, err)
	}
	return string(b)
}

func TestForkPrivateIsolation(t *testing.T) {
	m, _ := newTestMM(t)
	a := mustMap(t, m, MMapOpts{Length: 4 * pg, Perms: platform.ReadWrite, Private: true})
	write(t, m, a, "parent")
	write(t, m, a+3*pg, "far")
	c, _ := forkTestMM(t, m)
	if got := read(t, c, a, 6); got != "parent" {
		t.Fatalf("child sees %q, want the parent's data", got)
	}
	write(t, c, a, "child!")
	if got := read(t, m, a, 6); got != "parent" {
		t.Errorf("parent sees %q after the child's write", got)
	}
	write(t, m, a+3*pg, "PAR")
	if got := read(t, c, a+3*pg, 3); got != "far" {
		t.Errorf("child sees %q after the parent's write", got)
	}
	if got := read(t, c, a, 6); got != "child!" {
		t.Errorf("child lost its write: %q", got)
	}
	// A page first touched after the fork is private too.
	write(t, c, a+pg, "new")
	if got := read(t, m, a+pg, 3); got != "\x00\x00\x00" {
		t.Errorf("parent sees %q in a page only the child touched", got)
	}
}

func TestForkCopiesOnlyWhenShared(t *testing.T) {
	m, _ := newTestMM(t)
	a := mustMap(t, m, MMapOpts{Length: 4 * pg, Perms: platform.ReadWrite, Private: true})
	write(t, m, a, "x")
	before := m.mf.Usage()
	c, _ := forkTestMM(t, m)
	if u := m.mf.Usage(); u != before {
		t.Fatalf("fork allocated %d bytes, want none", u-before)
	}
	// The child's write copies (count 2): usage grows by the 4 pages
	// that were shared.
	write(t, c, a, "y")
	if u := m.mf.Usage(); u != before+4*pg {
		t.Errorf("after the child's write usage %d, want %d", u, before+4*pg)
	}
	// The parent's pages now have a count of one: no copy.
	write(t, m, a, "z")
	if u := m.mf.Usage(); u != before+4*pg {
		t.Errorf("after the parent's write usage %d, want %d (no copy)", u, before+4*pg)
	}
	if got := read(t, c, a, 1) + read(t, m, a, 1); got != "yz" {
		t.Errorf("child+parent = %q, want \"yz\"", got)
	}
	// Reads never copy.
	c2, _ := forkTestMM(t, m)
	u := m.mf.Usage()
	read(t, c2, a, 1)
	read(t, m, a, 1)
	if m.mf.Usage() != u {
		t.Errorf("reads after fork allocated memory")
	}
}

func TestForkDowngradesParentMappings(t *testing.T) {
	m, as := newTestMM(t)
	a := mustMap(t, m, MMapOpts{Length: 2 * pg, Perms: platform.ReadWrite, Private: true})
	if errno := m.HandleFault(a, platform.AccessType{Write: true}); errno != 0 {
		t.Fatalf("HandleFault: %v", errno)
	}
	as.maps = nil
	c, cas := forkTestMM(t, m)
	want := []string{hex(a) + "+0x2000 1"}
	if strings.Join(as.maps, ",") != strings.Join(want, ",") {
		t.Errorf("parent re-mapped %v, want %v (read-only)", as.maps, want)
	}
	// A read fault in the child maps read-only; a write fault copies and
	// maps read-write.
	if errno := c.HandleFault(a, platform.Read); errno != 0 {
		t.Fatalf("child read fault: %v", errno)
	}
	if errno := c.HandleFault(a, platform.AccessType{Write: true}); errno != 0 {
		t.Fatalf("child write fault: %v", errno)
	}
	if got := strings.Join(cas.maps, ","); got != hex(a)+"+0x2000 1,"+hex(a)+"+0x2000 3" {
		t.Errorf("child mappings %q", got)
	}
	if m.mf.RefCount(m.pmas[0].fr.Start) != 1 || c.pmas[0].fr == m.pmas[0].fr {
		t.Errorf("child write did not give it its own pages")
	}
	// The parent's next write fault maps writable without copying.
	u := m.mf.Usage()
	as.maps = nil
	if errno := m.HandleFault(a, platform.AccessType{Write: true}); errno != 0 {
		t.Fatalf("parent write fault: %v", errno)
	}
	if m.mf.Usage() != u || len(as.maps) != 1 || !strings.HasSuffix(as.maps[0], " 3") {
		t.Errorf("parent write fault: usage %d->%d, maps %v", u, m.mf.Usage(), as.maps)
	}
}

func hex(a uintptr) string { return fmt.Sprintf("%#x", a) }

func TestForkSharedAnonymous(t *testing.T) {
	m, _ := newTestMM(t)
	a := mustMap(t, m, MMapOpts{Length: 8 * pg, Perms: platform.ReadWrite})
	write(t, m, a, "before")
	c, _ := forkTestMM(t, m)
	write(t, c, a, "child1")
	if got := read(t, m, a, 6); got != "child1" {
		t.Errorf("parent sees %q, want the child's write", got)
	}
	// Pages first touched after the fork, from either side.
	write(t, c, a+5*pg, "c5")
	if got := read(t, m, a+5*pg, 2); got != "c5" {
		t.Errorf("parent sees %q in a page the child touched first", got)
	}
	write(t, m, a+7*pg, "p7")
	if got := read(t, c, a+7*pg, 2); got != "p7" {
		t.Errorf("child sees %q in a page the parent touched first", got)
	}
	// Through faults as well: both map the same memory-file page.
	if errno := c.HandleFault(a+6*pg, platform.AccessType{Write: true}); errno != 0 {
		t.Fatal(errno)
	}
	if errno := m.HandleFault(a+6*pg, platform.Read); errno != 0 {
		t.Fatal(errno)
	}
	off := func(mm *MemoryManager) uint64 {
		p := &mm.pmas[mm.findPMA(a+6*pg)]
		return p.fr.Start + uint64(a+6*pg-p.start)
	}
	if off(c) != off(m) {
		t.Errorf("shared page at file offsets %#x and %#x", off(c), off(m))
	}
	// DONTNEED keeps the contents.
	if errno := m.Madvise(a, pg, unix.MADV_DONTNEED); errno != 0 {
		t.Fatal(errno)
	}
	if got := read(t, m, a, 6); got != "child1" {
		t.Errorf("after DONTNEED parent sees %q", got)
	}
	// Unmapping in one leaves the other working.
	if errno := m.MUnmap(a, 8*pg); errno != 0 {
		t.Fatal(errno)
	}
	if got := read(t, c, a+7*pg, 2); got != "p7" {
		t.Errorf("after the parent's munmap child sees %q", got)
	}
}

func TestForkKeepsLayoutAndSkipsDontFork(t *testing.T) {
	m, _ := newTestMM(t)
	m.SetBrkStart(0x600000)
	m.Brk(0x600000 + 3*pg)
	m.SetArgvEnv(1, 2, 3, 4)
	keep := mustMap(t, m, MMapOpts{Length: pg, Perms: platform.ReadWrite, Private: true})
	hide := mustMap(t, m, MMapOpts{Length: pg, Perms: platform.Read, Private: true})
	wipe := mustMap(t, m, MMapOpts{Length: pg, Perms: platform.ReadWrite, Private: true, Addr: 0x300000000, Fixed: true})
	write(t, m, wipe, "w")
	if errno := m.Madvise(hide, pg, unix.MADV_DONTFORK); errno != 0 {
		t.Fatal(errno)
	}
	if errno := m.Madvise(wipe, pg, unix.MADV_WIPEONFORK); errno != 0 {
		t.Fatal(errno)
	}
	c, _ := forkTestMM(t, m)
	if c.Brk(0) != 0x600000+3*pg || c.MmapBase() != m.MmapBase() {
		t.Errorf("child brk %#x mmap base %#x", c.Brk(0), c.MmapBase())
	}
	if s, e := c.ArgvRange(); s != 1 || e != 2 {
		t.Errorf("child argv range %d-%d", s, e)
	}
	if c.vmaAt(keep) == nil || c.vmaAt(hide) != nil {
		t.Errorf("child VMAs %s", vmaString(c))
	}
	if got := read(t, c, wipe, 1); got != "\x00" {
		t.Errorf("WIPEONFORK page in child reads %q", got)
	}
	if got := read(t, m, wipe, 1); got != "w" {
		t.Errorf("WIPEONFORK page in parent reads %q", got)
	}
}

func TestNoReserveHugeMapping(t *testing.T) {
	m, _ := newTestMM(t)
	const size = 100 << 30
	a := mustMap(t, m, MMapOpts{Length: size, Perms: platform.ReadWrite, Private: true})
	if u := m.mf.Usage(); u != 0 {
		t.Fatalf("a 100 GiB mapping allocated %d bytes", u)
	}
	if v := m.VirtualSize(); v != size {
		t.Errorf("VirtualSize %d, want %d", v, uint64(size))
	}
	write(t, m, a+size/2, "x")
	if u, r := m.mf.Usage(), m.ResidentSize(); u != faultAroundSize || r != faultAroundSize {
		t.Errorf("one touch: usage %d resident %d, want %d", u, r, faultAroundSize)
	}
}

func TestPopulate(t *testing.T) {
	m, as := newTestMM(t)
	a := mustMap(t, m, MMapOpts{Length: 40 * pg, Perms: platform.ReadWrite, Private: true, Populate: true})
	if r := m.ResidentSize(); r != 40*pg {
		t.Errorf("resident %d after MAP_POPULATE, want %d", r, 40*pg)
	}
	if len(as.maps) == 0 {
		t.Errorf("MAP_POPULATE mapped nothing into the platform")
	}
	vec := make([]byte, 41)
	if errno := m.Mincore(a, vec[:40]); errno != 0 || !bytes.Equal(vec[:40], bytes.Repeat([]byte{1}, 40)) {
		t.Errorf("Mincore = %v %v", errno, vec)
	}
	if errno := m.Mincore(a, vec); errno != unix.ENOMEM {
		t.Errorf("Mincore over a hole = %v, want ENOMEM", errno)
	}
}
