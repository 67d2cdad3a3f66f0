package futex

import (
	"encoding/binary"
	"testing"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

const (
	robustTID = 1234
	headAddr  = privBase + 0x400
	futexOff  = 16
)

// writeHead writes a robust_list_head at headAddr.
func writeHead(tg *fakeTarget, list, pending uint64, off int64) {
	h := linux.RobustListHead{List: list, FutexOffset: off, ListOpPending: pending}
	var b [linux.RobustListHeadSize]byte
	h.Encode(b[:])
	var back linux.RobustListHead
	back.Decode(b[:])
	if back != h {
		panic("RobustListHead round trip")
	}
	for i := 0; i < len(b); i += 8 {
		tg.put64(headAddr+uintptr(i), binary.LittleEndian.Uint64(b[i:]))
	}
}

func TestRobustList(t *testing.T) {
	m, tg := newEnv()
	const (
		e1 = privBase + 0x500 // owned, waiters
		e2 = privBase + 0x540 // owned by someone else
		e3 = privBase + 0x580 // owned, no waiters
		e4 = privBase + 0x5c0 // pending, already unlocked (owner 0)
		e5 = privBase + 0x600 // owned PI futex
	)
	writeHead(tg, e1, e4, futexOff)
	tg.put64(e1, e2)
	tg.put64(e2, e3)
	tg.put64(e3, e5|1)
	tg.put64(e5, headAddr)
	tg.store(e1+futexOff, robustTID|linux.FUTEX_WAITERS)
	tg.store(e2+futexOff, 999|linux.FUTEX_WAITERS)
	tg.store(e3+futexOff, robustTID)
	tg.store(e4+futexOff, 0)
	tg.store(e5+futexOff, robustTID|linux.FUTEX_WAITERS)
	// Waiters use shared operations, as glibc does for robust mutexes.
	w1 := mustWait(t, m, tg, e1+futexOff, false, robustTID|linux.FUTEX_WAITERS, any32)
	w2 := mustWait(t, m, tg, e2+futexOff, false, 999|linux.FUTEX_WAITERS, any32)
	w4 := mustWait(t, m, tg, e4+futexOff, false, 0, any32)
	w5 := mustWait(t, m, tg, e5+futexOff, false, robustTID|linux.FUTEX_WAITERS, any32)

	if n := m.HandleRobustList(tg, headAddr, robustTID); n != 3 {
		t.Fatalf("marked %d futexes, want 3", n)
	}
	for _, c := range []struct {
		addr uintptr
		want uint32
	}{
		{e1, linux.FUTEX_WAITERS | linux.FUTEX_OWNER_DIED},
		{e2, 999 | linux.FUTEX_WAITERS},
		{e3, linux.FUTEX_OWNER_DIED},
		{e4, 0},
		{e5, linux.FUTEX_WAITERS | linux.FUTEX_OWNER_DIED},
	} {
		if got := tg.load(c.addr + futexOff); got != c.want {
			t.Errorf("word of entry %#x = %#x, want %#x", c.addr, got, c.want)
		}
	}
	if !woken(w1) || woken(w2) || !woken(w4) || woken(w5) {
		t.Errorf("wakes: w1 %v w2 %v w4 %v w5 %v, want true false true false",
			woken(w1), woken(w2), woken(w4), woken(w5))
	}
}

func TestRobustListCyclic(t *testing.T) {
	m, tg := newEnv()
	const e1, e2 = privBase + 0x500, privBase + 0x540
	writeHead(tg, e1, 0, futexOff)
	tg.put64(e1, e2)
	tg.put64(e2, e1) // never returns to the head
	tg.store(e1+futexOff, robustTID)
	tg.store(e2+futexOff, robustTID)
	if n := m.HandleRobustList(tg, headAddr, robustTID); n != 2 {
		t.Fatalf("marked %d, want 2", n)
	}
	// Three reads of the head, then one next pointer per entry visited.
	if got, want := tg.copyIns.Load(), int64(3+linux.ROBUST_LIST_LIMIT); got != want {
		t.Fatalf("walk read %d pointers, want %d", got, want)
	}
	// Self-loop.
	tg.copyIns.Store(0)
	tg.put64(e1, e1)
	tg.store(e1+futexOff, robustTID)
	if n := m.HandleRobustList(tg, headAddr, robustTID); n != 1 {
		t.Fatalf("self-loop marked %d, want 1", n)
	}
	if got := tg.copyIns.Load(); got != int64(3+linux.ROBUST_LIST_LIMIT) {
		t.Fatalf("self-loop walk read %d pointers", got)
	}
}

func TestRobustListBadInput(t *testing.T) {
	m, tg := newEnv()
	const e1 = privBase + 0x500
	tg.store(e1+futexOff, robustTID)

	// Unreadable head.
	if n := m.HandleRobustList(tg, 0x900000, robustTID); n != 0 {
		t.Fatalf("unreadable head marked %d", n)
	}
	// An entry pointing into unmapped memory: the walk handles e1 and
	// stops there.
	writeHead(tg, e1, 0, futexOff)
	tg.put64(e1, 0x900000)
	if n := m.HandleRobustList(tg, headAddr, robustTID); n != 1 {
		t.Fatalf("marked %d, want 1", n)
	}
	if got := tg.load(e1 + futexOff); got != linux.FUTEX_OWNER_DIED {
		t.Fatalf("word = %#x", got)
	}
	// An unaligned futex word stops the walk.
	tg.store(e1+futexOff, robustTID)
	writeHead(tg, e1, 0, futexOff+2)
	tg.put64(e1, headAddr)
	if n := m.HandleRobustList(tg, headAddr, robustTID); n != 0 {
		t.Fatalf("unaligned word marked %d", n)
	}
	// A negative futex_offset works (word before the entry).
	writeHead(tg, e1+0x20, 0, -0x20+futexOff)
	tg.put64(e1+0x20, headAddr)
	if n := m.HandleRobustList(tg, headAddr, robustTID); n != 1 {
		t.Fatalf("negative offset marked %d, want 1", n)
	}
	// The pending entry of the list is handled once, after the walk.
	tg.store(e1+futexOff, robustTID)
	writeHead(tg, e1, e1, futexOff)
	tg.put64(e1, headAddr)
	if n := m.HandleRobustList(tg, headAddr, robustTID); n != 1 {
		t.Fatalf("pending on list marked %d, want 1", n)
	}
	// A read-only word cannot be marked; the walk gives up cleanly.
	ro := newFakeTarget(tg.f, fakeMapping{start: privBase, end: privBase + regionSize, readOnly: true})
	tg.store(e1+futexOff, robustTID)
	if n := m.HandleRobustList(ro, headAddr, robustTID); n != 0 {
		t.Fatalf("read-only marked %d", n)
	}
}
