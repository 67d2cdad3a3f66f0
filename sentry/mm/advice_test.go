package mm

import (
	"testing"

	"github.com/palisade-sandbox/palisade/platform"
	"golang.org/x/sys/unix"
)

func TestMRemapGrowInPlaceAndMove(t *testing.T) {
	m, _ := newTestMM(t)
	a := mustMap(t, m, MMapOpts{Length: 2 * pg, Perms: platform.ReadWrite, Private: true, Addr: 0x200000000, Fixed: true})
	write(t, m, a, "data")
	// Room after it: grows in place.
	got, errno := m.MRemap(a, 2*pg, 4*pg, MRemapOpts{})
	if errno != 0 || got != a {
		t.Fatalf("grow in place = %#x, %v", got, errno)
	}
	if s := vmaString(m); s != "["+hex(a)+","+hex(a+4*pg)+")3 " {
		t.Errorf("VMAs after growing: %s", s)
	}
	// Blocked: ENOMEM without MAYMOVE, a move with it.
	mustMap(t, m, MMapOpts{Length: pg, Perms: platform.Read, Private: true, Addr: a + 4*pg, Fixed: true})
	if _, errno := m.MRemap(a, 4*pg, 8*pg, MRemapOpts{}); errno != unix.ENOMEM {
		t.Errorf("blocked grow = %v, want ENOMEM", errno)
	}
	u := m.mf.Usage()
	got, errno = m.MRemap(a, 4*pg, 8*pg, MRemapOpts{MayMove: true})
	if errno != 0 || got == a {
		t.Fatalf("move = %#x, %v", got, errno)
	}
	if s := read(t, m, got, 4); s != "data" {
		t.Errorf("moved mapping reads %q", s)
	}
	if m.mf.Usage() != u {
		t.Errorf("move copied pages: usage %d -> %d", u, m.mf.Usage())
	}
	if m.vmaAt(a) != nil {
		t.Errorf("old range still mapped: %s", vmaString(m))
	}
	if _, err := m.CopyIn(got+8*pg-1, make([]byte, 1)); err != nil {
		t.Errorf("grown tail not accessible: %v", err)
	}
}

func TestMRemapShrinkFixedDontUnmap(t *testing.T) {
	m, _ := newTestMM(t)
	a := mustMap(t, m, MMapOpts{Length: 4 * pg, Perms: platform.ReadWrite, Private: true})
	write(t, m, a, "keep")
	if got, errno := m.MRemap(a, 4*pg, pg, MRemapOpts{}); errno != 0 || got != a {
		t.Fatalf("shrink = %#x, %v", got, errno)
	}
	if m.vmaAt(a+pg) != nil {
		t.Errorf("shrink left the tail mapped")
	}
	dst := uintptr(0x300000000)
	mustMap(t, m, MMapOpts{Length: pg, Perms: platform.Read, Private: true, Addr: dst, Fixed: true})
	got, errno := m.MRemap(a, pg, 2*pg, MRemapOpts{MayMove: true, Fixed: true, NewAddr: dst})
	if errno != 0 || got != dst {
		t.Fatalf("MREMAP_FIXED = %#x, %v", got, errno)
	}
	if s := read(t, m, dst, 4); s != "keep" {
		t.Errorf("fixed move reads %q", s)
	}
	// DONTUNMAP: the old range stays, empty (zero).
	got, errno = m.MRemap(dst, 2*pg, 2*pg, MRemapOpts{MayMove: true, DontUnmap: true})
	if errno != 0 {
		t.Fatalf("DONTUNMAP: %v", errno)
	}
	if s := read(t, m, got, 4); s != "keep" {
		t.Errorf("DONTUNMAP destination reads %q", s)
	}
	if s := read(t, m, dst, 4); s != "\x00\x00\x00\x00" {
		t.Errorf("DONTUNMAP source reads %q, want zeroes", s)
	}
	cases := []struct {
		addr, oldLen, newLen uintptr
		opts                 MRemapOpts
		want                 unix.Errno
	}{
		{got + 1, pg, pg, MRemapOpts{}, unix.EINVAL},
		{got, pg, 0, MRemapOpts{MayMove: true}, unix.EINVAL},
		{got, pg, pg, MRemapOpts{Fixed: true, NewAddr: 0x500000000}, unix.EINVAL},
		{got, pg, 2 * pg, MRemapOpts{MayMove: true, DontUnmap: true}, unix.EINVAL},
		{got, pg, pg, MRemapOpts{MayMove: true, Fixed: true, NewAddr: got}, unix.EINVAL}, // overlap
		{0x700000000, pg, 2 * pg, MRemapOpts{MayMove: true}, unix.EFAULT},
		{got, 3 * pg, 4 * pg, MRemapOpts{MayMove: true}, unix.EFAULT}, // crosses the VMA's end
		{got, 0, pg, MRemapOpts{MayMove: true}, unix.EINVAL},          // duplicating a private mapping
	}
	for _, c := range cases {
		if _, errno := m.MRemap(c.addr, c.oldLen, c.newLen, c.opts); errno != c.want {
			t.Errorf("MRemap(%#x, %#x, %#x, %+v) = %v, want %v", c.addr, c.oldLen, c.newLen, c.opts, errno, c.want)
		}
	}
}

func TestMRemapDuplicateShared(t *testing.T) {
	m, _ := newTestMM(t)
	a := mustMap(t, m, MMapOpts{Length: pg, Perms: platform.ReadWrite})
	write(t, m, a, "one")
	b, errno := m.MRemap(a, 0, pg, MRemapOpts{MayMove: true})
	if errno != 0 {
		t.Fatalf("duplicate: %v", errno)
	}
	write(t, m, b, "two")
	if s := read(t, m, a, 3); s != "two" {
		t.Errorf("original view reads %q after a write through the duplicate", s)
	}
}

func TestMadviseDontNeed(t *testing.T) {
	m, as := newTestMM(t)
	a := mustMap(t, m, MMapOpts{Length: 2 * pg, Perms: platform.ReadWrite, Private: true})
	write(t, m, a, "aaaa")
	write(t, m, a+pg, "bbbb")
	as.unmaps = nil
	if errno := m.Madvise(a, pg, unix.MADV_DONTNEED); errno != 0 {
		t.Fatal(errno)
	}
	if len(as.unmaps) != 1 {
		t.Errorf("platform unmaps %v", as.unmaps)
	}
	if s := read(t, m, a, 4) + read(t, m, a+pg, 4); s != "\x00\x00\x00\x00bbbb" {
		t.Errorf("after DONTNEED reads %q", s)
	}
	f := &fakeFile{data: pattern(pg)}
	fa := mustMap(t, m, fileOpts(f, 0x500000000, pg, 0, platform.ReadWrite))
	write(t, m, fa, "ZZ")
	if errno := m.Madvise(fa, pg, unix.MADV_FREE); errno != unix.EINVAL {
		t.Errorf("MADV_FREE on a file mapping = %v, want EINVAL", errno)
	}
	if errno := m.Madvise(fa, pg, unix.MADV_DONTNEED); errno != 0 {
		t.Fatal(errno)
	}
	if s := read(t, m, fa, 2); s != string(pattern(2)) {
		t.Errorf("private file mapping after DONTNEED reads %q, want the file", s)
	}
	if errno := m.Madvise(a, pg, 12345); errno != unix.EINVAL {
		t.Errorf("unknown advice = %v", errno)
	}
	if errno := m.Madvise(a+1, pg, unix.MADV_NORMAL); errno != unix.EINVAL {
		t.Errorf("unaligned = %v", errno)
	}
	if errno := m.Madvise(a, 0, unix.MADV_DONTNEED); errno != 0 {
		t.Errorf("zero length = %v", errno)
	}
	if errno := m.Madvise(a, 3*pg, unix.MADV_DONTNEED); errno != unix.ENOMEM {
		t.Errorf("range with a hole = %v, want ENOMEM", errno)
	}
	if errno := m.Mlock(a, pg, true); errno != 0 {
		t.Fatal(errno)
	}
	if errno := m.Madvise(a, pg, unix.MADV_DONTNEED); errno != unix.EINVAL {
		t.Errorf("DONTNEED on locked memory = %v, want EINVAL", errno)
	}
}

func TestMlock(t *testing.T) {
	m, _ := newTestMM(t)
	a := mustMap(t, m, MMapOpts{Length: 4 * pg, Perms: platform.ReadWrite, Private: true})
	if errno := m.Mlock(a+pg+5, pg, false); errno != 0 {
		t.Fatal(errno)
	}
	// Widened to two pages, which are now resident.
	if l, r := m.LockedSize(), m.ResidentSize(); l != 2*pg || r != 2*pg {
		t.Errorf("locked %d resident %d, want %d each", l, r, 2*pg)
	}
	if n := len(m.VMAs()); n != 3 {
		t.Errorf("%d VMAs after a partial mlock, want 3", n)
	}
	if errno := m.Munlock(a, 4*pg); errno != 0 {
		t.Fatal(errno)
	}
	if n := len(m.VMAs()); n != 1 || m.LockedSize() != 0 {
		t.Errorf("after munlock: %d VMAs, %d locked", n, m.LockedSize())
	}
	if errno := m.Mlock(a, 5*pg, false); errno != unix.ENOMEM {
		t.Errorf("mlock over a hole = %v", errno)
	}
	m.MlockAll(false, true)
	b := mustMap(t, m, MMapOpts{Length: pg, Perms: platform.Read, Private: true})
	if v := m.vmaAt(b); v == nil || !v.locked {
		t.Errorf("MCL_FUTURE did not lock a new mapping")
	}
	m.MunlockAll()
	if m.LockedSize() != 0 {
		t.Errorf("munlockall left %d locked", m.LockedSize())
	}
}

func TestMsync(t *testing.T) {
	m, _ := newTestMM(t)
	a := mustMap(t, m, MMapOpts{Length: pg, Perms: platform.ReadWrite, Private: true})
	for _, c := range []struct {
		addr, n uintptr
		flags   int
		want    unix.Errno
	}{
		{a, pg, unix.MS_SYNC, 0},
		{a, pg, unix.MS_ASYNC | unix.MS_INVALIDATE, 0},
		{a, pg, unix.MS_SYNC | unix.MS_ASYNC, unix.EINVAL},
		{a, pg, 0x100, unix.EINVAL},
		{a + 1, pg, unix.MS_SYNC, unix.EINVAL},
		{a, 2 * pg, unix.MS_SYNC, unix.ENOMEM},
		{a, 0, unix.MS_SYNC, 0},
	} {
		if errno := m.Msync(c.addr, c.n, c.flags); errno != c.want {
			t.Errorf("Msync(%#x, %#x, %#x) = %v, want %v", c.addr, c.n, c.flags, errno, c.want)
		}
	}
}

func TestGrowsDownFault(t *testing.T) {
	m, _ := newTestMM(t)
	top := uintptr(0x400000000)
	a := mustMap(t, m, MMapOpts{Length: pg, Addr: top, Fixed: true, Perms: platform.ReadWrite, Private: true, GrowsDown: true})
	if errno := m.HandleFault(a-100, platform.AccessType{Write: true}); errno != 0 {
		t.Fatalf("fault below a growsdown area: %v", errno)
	}
	if v := m.vmaAt(a - pg); v == nil || v.start != a-pg {
		t.Errorf("area did not grow: %s", vmaString(m))
	}
	// Far below works too, up to the stack limit.
	if errno := m.HandleFault(a-1000*pg, platform.Read); errno != 0 {
		t.Errorf("fault far below: %v", errno)
	}
	if errno := m.HandleFault(a-DefaultStackSize-pg, platform.Read); errno != unix.EFAULT {
		t.Errorf("fault beyond the stack limit = %v, want EFAULT", errno)
	}
	// A Sentry copy below the area grows it too (a signal frame).
	if _, err := m.CopyOut(a-1001*pg, []byte("frame")); err != nil {
		t.Errorf("CopyOut below a growsdown area: %v", err)
	}
	// An accessible mapping within the guard gap blocks growth.
	low := a - 1000*pg - StackGuardGap
	mustMap(t, m, MMapOpts{Length: pg, Addr: low, Fixed: true, Perms: platform.Read, Private: true})
	if errno := m.HandleFault(a-1002*pg, platform.Read); errno != unix.EFAULT {
		t.Errorf("growth into the guard gap = %v, want EFAULT", errno)
	}
}

func TestMincoreTouchedPagesOnly(t *testing.T) {
	m, _ := newTestMM(t)
	a := mustMap(t, m, MMapOpts{Length: 3 * pg, Perms: platform.ReadWrite, Private: true})
	write(t, m, a+2*pg, "x")
	vec := make([]byte, 3)
	if errno := m.Mincore(a, vec); errno != 0 || string(vec) != "\x00\x00\x01" {
		t.Errorf("Mincore = %v %v, want only the written page", vec, errno)
	}
	if errno := m.Madvise(a+2*pg, pg, unix.MADV_DONTNEED); errno != 0 {
		t.Fatal(errno)
	}
	if errno := m.Mincore(a, vec); errno != 0 || string(vec) != "\x00\x00\x00" {
		t.Errorf("Mincore after DONTNEED = %v %v", vec, errno)
	}
	if errno := m.Mincore(a+1, vec); errno != unix.EINVAL {
		t.Errorf("unaligned Mincore = %v", errno)
	}
}
