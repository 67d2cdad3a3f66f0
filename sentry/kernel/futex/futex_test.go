package futex

import (
	"errors"
	"testing"
	"time"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"golang.org/x/sys/unix"
)

const (
	privBase   = 0x10000
	sharedBase = 0x20000
	regionSize = 0x1000
	any32      = linux.FUTEX_BITSET_MATCH_ANY
)

// newEnv returns a manager and a target with a private region at
// privBase (file offset 0) and a shared region at sharedBase (file offset
// regionSize).
func newEnv() (*Manager, *fakeTarget) {
	f := newFakeFile(4 * regionSize)
	t := newFakeTarget(f,
		fakeMapping{start: privBase, end: privBase + regionSize, off: 0},
		fakeMapping{start: sharedBase, end: sharedBase + regionSize, off: regionSize, shared: true},
	)
	return NewManager(), t
}

// woken reports whether w has a wake token, consuming it.
func woken(w *Waiter) bool {
	select {
	case <-w.C():
		return true
	default:
		return false
	}
}

func mustWait(tb testing.TB, m *Manager, t Target, addr uintptr, private bool, val, bitset uint32) *Waiter {
	tb.Helper()
	w := NewWaiter()
	if err := m.Wait(t, addr, private, val, bitset, w); err != nil {
		tb.Fatalf("Wait(%#x, %v, %d, %#x): %v", addr, private, val, bitset, err)
	}
	return w
}

func mustWake(tb testing.TB, m *Manager, t Target, addr uintptr, private bool, bitset uint32, n int) int {
	tb.Helper()
	got, err := m.Wake(t, addr, private, bitset, n)
	if err != nil {
		tb.Fatalf("Wake(%#x, %v, %#x, %d): %v", addr, private, bitset, n, err)
	}
	return got
}

func TestWaitWake(t *testing.T) {
	for _, private := range []bool{true, false} {
		m, tg := newEnv()
		for _, addr := range []uintptr{privBase + 8, sharedBase + 8} {
			tg.store(addr, 7)
			w := mustWait(t, m, tg, addr, private, 7, any32)
			if woken(w) {
				t.Fatalf("waiter woken before any wake")
			}
			if n := mustWake(t, m, tg, addr+4, private, any32, 1); n != 0 {
				t.Fatalf("wake of another word woke %d", n)
			}
			if n := mustWake(t, m, tg, addr, private, any32, 1); n != 1 {
				t.Fatalf("Wake = %d, want 1", n)
			}
			if !woken(w) {
				t.Fatalf("waiter not woken")
			}
			if n := mustWake(t, m, tg, addr, private, any32, 1); n != 0 {
				t.Fatalf("second Wake = %d, want 0", n)
			}
			// The waiter is reusable.
			if err := m.Wait(tg, addr, private, 7, any32, w); err != nil {
				t.Fatal(err)
			}
			if n := mustWake(t, m, tg, addr, private, any32, 1); n != 1 || !woken(w) {
				t.Fatalf("reused waiter: Wake = %d", n)
			}
		}
	}
}

func TestWaitErrors(t *testing.T) {
	m, tg := newEnv()
	w := NewWaiter()
	tg.store(privBase, 1)
	for _, tc := range []struct {
		name    string
		addr    uintptr
		private bool
		val     uint32
		bitset  uint32
		want    error
	}{
		{"mismatch private", privBase, true, 2, any32, unix.EAGAIN},
		{"mismatch shared", privBase, false, 2, any32, unix.EAGAIN},
		{"bitset 0", privBase, true, 1, 0, unix.EINVAL},
		{"unaligned", privBase + 2, true, 1, any32, unix.EINVAL},
		{"unmapped private", 0x900000, true, 0, any32, unix.EFAULT},
		{"unmapped shared", 0x900000, false, 0, any32, unix.EFAULT},
		{"straddles end", privBase + regionSize - 2, false, 0, any32, unix.EINVAL},
	} {
		if err := m.Wait(tg, tc.addr, tc.private, tc.val, tc.bitset, w); !errors.Is(err, tc.want) {
			t.Errorf("%s: Wait = %v, want %v", tc.name, err, tc.want)
		}
	}
	// None of the failures left the waiter queued.
	if n := mustWake(t, m, tg, privBase, true, any32, 10) + mustWake(t, m, tg, privBase, false, any32, 10); n != 0 {
		t.Fatalf("failed waits left %d waiters", n)
	}
	if _, err := m.Wake(tg, privBase, true, 0, 1); err != unix.EINVAL {
		t.Errorf("Wake with bitset 0 = %v, want EINVAL", err)
	}
	if _, err := m.Wake(tg, privBase+1, true, any32, 1); err != unix.EINVAL {
		t.Errorf("unaligned Wake = %v, want EINVAL", err)
	}
	if _, err := m.Wake(tg, 0x900000, false, any32, 1); err != unix.EFAULT {
		t.Errorf("shared Wake of unmapped = %v, want EFAULT", err)
	}
	// A private wake does not touch memory, as in Linux.
	if n, err := m.Wake(tg, 0x900000, true, any32, 1); err != nil || n != 0 {
		t.Errorf("private Wake of unmapped = %d, %v, want 0, nil", n, err)
	}
}

func TestWakeCountAndOrder(t *testing.T) {
	m, tg := newEnv()
	const addr = privBase
	var ws []*Waiter
	for range 6 {
		ws = append(ws, mustWait(t, m, tg, addr, true, 0, any32))
	}
	if n := mustWake(t, m, tg, addr, true, any32, 2); n != 2 {
		t.Fatalf("Wake(2) = %d", n)
	}
	if !woken(ws[0]) || !woken(ws[1]) || woken(ws[2]) {
		t.Fatalf("Wake(2) did not wake the two oldest")
	}
	// Linux wakes one waiter for n <= 0.
	if n := mustWake(t, m, tg, addr, true, any32, 0); n != 1 || !woken(ws[2]) {
		t.Fatalf("Wake(0) = %d, want 1 (the oldest)", n)
	}
	if n := mustWake(t, m, tg, addr, true, any32, -5); n != 1 || !woken(ws[3]) {
		t.Fatalf("Wake(-5) = %d, want 1", n)
	}
	if n := mustWake(t, m, tg, addr, true, any32, 100); n != 2 || !woken(ws[4]) || !woken(ws[5]) {
		t.Fatalf("Wake(100) = %d, want 2", n)
	}
}

func TestBitset(t *testing.T) {
	m, tg := newEnv()
	const addr = sharedBase
	w1 := mustWait(t, m, tg, addr, false, 0, 0b001)
	w2 := mustWait(t, m, tg, addr, false, 0, 0b010)
	w3 := mustWait(t, m, tg, addr, false, 0, 0b110)
	if n := mustWake(t, m, tg, addr, false, 0b100, 10); n != 1 || !woken(w3) {
		t.Fatalf("Wake(bitset 4) = %d, want w3 only", n)
	}
	if n := mustWake(t, m, tg, addr, false, 0b011, 1); n != 1 || !woken(w1) || woken(w2) {
		t.Fatalf("Wake(bitset 3, n 1) = %d, want w1 only", n)
	}
	if n := mustWake(t, m, tg, addr, false, 0b001, 10); n != 0 {
		t.Fatalf("Wake(bitset 1) = %d, want 0", n)
	}
	if n := mustWake(t, m, tg, addr, false, any32, 10); n != 1 || !woken(w2) {
		t.Fatalf("Wake(any) = %d, want w2", n)
	}
}

func TestRequeue(t *testing.T) {
	m, tg := newEnv()
	const a, b = privBase, privBase + 0x100
	var ws []*Waiter
	for range 6 {
		ws = append(ws, mustWait(t, m, tg, a, true, 0, any32))
	}
	n, err := m.Requeue(tg, a, b, true, 1, 3)
	if err != nil || n != 4 {
		t.Fatalf("Requeue(1, 3) = %d, %v, want 4", n, err)
	}
	if !woken(ws[0]) {
		t.Fatalf("first waiter not woken")
	}
	for _, w := range ws[1:] {
		if woken(w) {
			t.Fatalf("requeue woke too many")
		}
	}
	// ws[1..3] now wait on b, ws[4..5] still on a.
	if n := mustWake(t, m, tg, b, true, any32, 10); n != 3 || !woken(ws[1]) || !woken(ws[2]) || !woken(ws[3]) {
		t.Fatalf("Wake(b) = %d, want ws[1..3]", n)
	}
	if n := mustWake(t, m, tg, a, true, any32, 10); n != 2 || !woken(ws[4]) || !woken(ws[5]) {
		t.Fatalf("Wake(a) = %d, want ws[4..5]", n)
	}

	// Requeued waiters keep their order behind existing waiters of b.
	wb := mustWait(t, m, tg, b, true, 0, any32)
	wa := mustWait(t, m, tg, a, true, 0, any32)
	if n, err := m.Requeue(tg, a, b, true, 0, 1); err != nil || n != 1 {
		t.Fatalf("Requeue(0, 1) = %d, %v", n, err)
	}
	if n := mustWake(t, m, tg, b, true, any32, 1); n != 1 || !woken(wb) || woken(wa) {
		t.Fatalf("requeued waiter jumped the queue")
	}
	if n := mustWake(t, m, tg, b, true, any32, 1); n != 1 || !woken(wa) {
		t.Fatalf("requeued waiter lost")
	}

	// Zero counts do nothing; negative counts are EINVAL.
	w := mustWait(t, m, tg, a, true, 0, any32)
	if n, err := m.Requeue(tg, a, b, true, 0, 0); err != nil || n != 0 || woken(w) {
		t.Fatalf("Requeue(0, 0) = %d, %v", n, err)
	}
	for _, c := range [][2]int{{-1, 0}, {0, -1}} {
		if _, err := m.Requeue(tg, a, b, true, c[0], c[1]); err != unix.EINVAL {
			t.Fatalf("Requeue(%d, %d) = %v, want EINVAL", c[0], c[1], err)
		}
	}
	// Requeue onto the same futex keeps the waiter and counts it.
	if n, err := m.Requeue(tg, a, a, true, 0, 5); err != nil || n != 1 {
		t.Fatalf("Requeue(a, a) = %d, %v", n, err)
	}
	if n := mustWake(t, m, tg, a, true, any32, 5); n != 1 || !woken(w) {
		t.Fatalf("waiter lost by self-requeue")
	}
}

func TestCmpRequeue(t *testing.T) {
	m, tg := newEnv()
	const a, b = sharedBase, sharedBase + 0x40
	tg.store(a, 3)
	w1 := mustWait(t, m, tg, a, false, 3, any32)
	w2 := mustWait(t, m, tg, a, false, 3, any32)
	if _, err := m.CmpRequeue(tg, a, b, false, 1, 1, 4); err != unix.EAGAIN {
		t.Fatalf("CmpRequeue mismatch = %v, want EAGAIN", err)
	}
	if woken(w1) || woken(w2) {
		t.Fatalf("failed CmpRequeue woke a waiter")
	}
	if _, err := m.CmpRequeue(tg, a, 0x900000, false, 1, 1, 3); err != unix.EFAULT {
		t.Fatalf("CmpRequeue to unmapped = %v, want EFAULT", err)
	}
	if _, err := m.CmpRequeue(tg, a, b, false, -1, 1, 3); err != unix.EINVAL {
		t.Fatalf("CmpRequeue negative = %v, want EINVAL", err)
	}
	if n, err := m.CmpRequeue(tg, a, b, false, 1, 1, 3); err != nil || n != 2 || !woken(w1) {
		t.Fatalf("CmpRequeue = %d, %v", n, err)
	}
	if n := mustWake(t, m, tg, b, false, any32, 1); n != 1 || !woken(w2) {
		t.Fatalf("waiter not moved to b")
	}
}

func TestDecodeWakeOp(t *testing.T) {
	// glibc's FUTEX_OP_CLEAR_WAKE_IF_GT_ONE.
	if got := linux.FutexOp(linux.FUTEX_OP_SET, 0, linux.FUTEX_OP_CMP_GT, 1); got != 0x04000001 {
		t.Fatalf("FutexOp = %#x", got)
	}
	op := DecodeWakeOp(linux.FutexOp(linux.FUTEX_OP_ADD, 0xfff, linux.FUTEX_OP_CMP_LE, 0x800))
	if op.Op != linux.FUTEX_OP_ADD || op.Oparg != 0xffffffff || op.Cmp != linux.FUTEX_OP_CMP_LE || op.Cmparg != -2048 {
		t.Fatalf("decoded %+v", op)
	}
	op = DecodeWakeOp(linux.FutexOp(linux.FUTEX_OP_OR|linux.FUTEX_OP_OPARG_SHIFT, 5, linux.FUTEX_OP_CMP_EQ, 7))
	if op.Op != linux.FUTEX_OP_OR || op.Oparg != 1<<5 || op.Cmparg != 7 {
		t.Fatalf("decoded shift %+v", op)
	}
	// Out-of-range shifts are taken modulo 32, negative ones too.
	if op := DecodeWakeOp(linux.FutexOp(linux.FUTEX_OP_SET|linux.FUTEX_OP_OPARG_SHIFT, 33, 0, 0)); op.Oparg != 2 {
		t.Fatalf("shift 33 gave %#x", op.Oparg)
	}
	if op := DecodeWakeOp(linux.FutexOp(linux.FUTEX_OP_SET|linux.FUTEX_OP_OPARG_SHIFT, 0xfff, 0, 0)); op.Oparg != 1<<31 {
		t.Fatalf("shift -1 gave %#x", op.Oparg)
	}
}

func TestWakeOp(t *testing.T) {
	const a1, a2 = privBase, privBase + 0x80
	for _, tc := range []struct {
		name     string
		op       uint32
		oparg    uint32
		cmp      uint32
		cmparg   uint32
		old      uint32
		wantNew  uint32
		wantCond bool
	}{
		{"set eq", linux.FUTEX_OP_SET, 9, linux.FUTEX_OP_CMP_EQ, 5, 5, 9, true},
		{"set ne", linux.FUTEX_OP_SET, 0, linux.FUTEX_OP_CMP_NE, 5, 5, 0, false},
		{"add lt", linux.FUTEX_OP_ADD, 3, linux.FUTEX_OP_CMP_LT, 5, 4, 7, true},
		{"add negative", linux.FUTEX_OP_ADD, 0xfff, linux.FUTEX_OP_CMP_LT, 5, 5, 4, false},
		{"or le", linux.FUTEX_OP_OR, 0x10, linux.FUTEX_OP_CMP_LE, 5, 5, 0x15, true},
		{"andn gt", linux.FUTEX_OP_ANDN, 0x1, linux.FUTEX_OP_CMP_GT, 5, 5, 4, false},
		{"xor ge", linux.FUTEX_OP_XOR, 0xff, linux.FUTEX_OP_CMP_GE, 5, 5, 0xfa, true},
		{"shifted or", linux.FUTEX_OP_OR | linux.FUTEX_OP_OPARG_SHIFT, 31, linux.FUTEX_OP_CMP_NE, 0, 1, 0x80000001, true},
		// Comparisons are signed: 0xffffffff is -1.
		{"signed lt", linux.FUTEX_OP_SET, 0, linux.FUTEX_OP_CMP_LT, 0, 0xffffffff, 0, true},
		{"signed gt negative cmparg", linux.FUTEX_OP_SET, 0, linux.FUTEX_OP_CMP_GT, 0xffe, 0xffffffff, 0, true},
		{"glibc unlock", linux.FUTEX_OP_SET, 0, linux.FUTEX_OP_CMP_GT, 1, 2, 0, true},
		{"glibc unlock uncontended", linux.FUTEX_OP_SET, 0, linux.FUTEX_OP_CMP_GT, 1, 1, 0, false},
	} {
		m, tg := newEnv()
		tg.store(a2, tc.old)
		w1a := mustWait(t, m, tg, a1, true, 0, 0b1)
		w1b := mustWait(t, m, tg, a1, true, 0, 0b1)
		w2a := mustWait(t, m, tg, a2, true, tc.old, 0b10)
		w2b := mustWait(t, m, tg, a2, true, tc.old, 0b10)
		n, err := m.WakeOp(tg, a1, a2, true, 1, 2, linux.FutexOp(tc.op, tc.oparg, tc.cmp, tc.cmparg))
		if err != nil {
			t.Fatalf("%s: WakeOp: %v", tc.name, err)
		}
		if got := tg.load(a2); got != tc.wantNew {
			t.Errorf("%s: word = %#x, want %#x", tc.name, got, tc.wantNew)
		}
		want := 1
		if tc.wantCond {
			want = 3
		}
		// Bitsets are ignored by WAKE_OP.
		if n != want || !woken(w1a) || woken(w1b) || woken(w2a) != tc.wantCond || woken(w2b) != tc.wantCond {
			t.Errorf("%s: WakeOp woke %d, want %d", tc.name, n, want)
		}
	}

	m, tg := newEnv()
	tg.store(a2, 5)
	// Unknown operation: ENOSYS, memory untouched.
	if _, err := m.WakeOp(tg, a1, a2, true, 1, 1, 5<<28); err != unix.ENOSYS {
		t.Fatalf("op 5: %v, want ENOSYS", err)
	}
	if got := tg.load(a2); got != 5 {
		t.Fatalf("op 5 changed memory to %d", got)
	}
	// Unknown comparison: ENOSYS after the operation, as in Linux.
	if _, err := m.WakeOp(tg, a1, a2, true, 1, 1, linux.FutexOp(linux.FUTEX_OP_ADD, 1, 6, 0)); err != unix.ENOSYS {
		t.Fatalf("cmp 6: %v, want ENOSYS", err)
	}
	if got := tg.load(a2); got != 6 {
		t.Fatalf("cmp 6: word = %d, want 6", got)
	}
	if _, err := m.WakeOp(tg, a1, 0x900000, true, 1, 1, 0); err != unix.EFAULT {
		t.Fatalf("unmapped addr2: %v, want EFAULT", err)
	}
	if _, err := m.WakeOp(tg, a1, a2+1, true, 1, 1, 0); err != unix.EINVAL {
		t.Fatalf("unaligned addr2: %v, want EINVAL", err)
	}
	// A read-only word cannot be changed.
	ro := newFakeTarget(tg.f, fakeMapping{start: privBase, end: privBase + regionSize, readOnly: true})
	if _, err := m.WakeOp(ro, a1, a2, true, 1, 1, 0); err != unix.EFAULT {
		t.Fatalf("read-only addr2: %v, want EFAULT", err)
	}
	// Same word for both: one wake pass each.
	w := mustWait(t, m, tg, a1, true, 0, any32)
	w2 := mustWait(t, m, tg, a1, true, 0, any32)
	if n, err := m.WakeOp(tg, a1, a1, true, 1, 1, linux.FutexOp(linux.FUTEX_OP_ADD, 0, linux.FUTEX_OP_CMP_EQ, 0)); err != nil || n != 2 || !woken(w) || !woken(w2) {
		t.Fatalf("WakeOp same word = %d, %v", n, err)
	}
}

func TestTimeoutAndInterrupt(t *testing.T) {
	m, tg := newEnv()
	const addr = privBase

	w := mustWait(t, m, tg, addr, true, 0, any32)
	if err := m.WaitFor(w, nil, time.Now().Add(time.Millisecond)); err != unix.ETIMEDOUT {
		t.Fatalf("WaitFor = %v, want ETIMEDOUT", err)
	}
	if n := mustWake(t, m, tg, addr, true, any32, 10); n != 0 {
		t.Fatalf("timed-out waiter still queued")
	}

	fired := make(chan time.Time, 1)
	fired <- time.Time{}
	if err := m.Wait(tg, addr, true, 0, any32, w); err != nil {
		t.Fatal(err)
	}
	if err := m.Block(w, nil, fired); err != unix.ETIMEDOUT {
		t.Fatalf("Block with fired timer = %v, want ETIMEDOUT", err)
	}

	intr := make(chan struct{})
	close(intr)
	if err := m.Wait(tg, addr, true, 0, any32, w); err != nil {
		t.Fatal(err)
	}
	if err := m.WaitFor(w, intr, time.Time{}); err != linux.ERESTARTSYS {
		t.Fatalf("interrupted WaitFor = %v, want ERESTARTSYS", err)
	}
	if n := mustWake(t, m, tg, addr, true, any32, 10); n != 0 {
		t.Fatalf("interrupted waiter still queued")
	}

	// A wake that came first wins over a pending interrupt and timeout,
	// whichever the select picks.
	for range 100 {
		if err := m.Wait(tg, addr, true, 0, any32, w); err != nil {
			t.Fatal(err)
		}
		mustWake(t, m, tg, addr, true, any32, 1)
		fired <- time.Time{}
		if err := m.Block(w, intr, fired); err != nil {
			t.Fatalf("woken waiter reported %v", err)
		}
		select {
		case <-fired:
		default:
		}
	}

	// Blocking until woken by another goroutine.
	if err := m.Wait(tg, addr, true, 0, any32, w); err != nil {
		t.Fatal(err)
	}
	go func() {
		if _, err := m.Wake(tg, addr, true, any32, 1); err != nil {
			t.Errorf("Wake: %v", err)
		}
	}()
	if err := m.WaitFor(w, nil, time.Time{}); err != nil {
		t.Fatalf("WaitFor = %v", err)
	}
}

func TestDequeueAfterRequeue(t *testing.T) {
	m, tg := newEnv()
	w := mustWait(t, m, tg, privBase, true, 0, any32)
	// Move it across many keys, so it changes bucket.
	for i := uintptr(1); i < 20; i++ {
		if n, err := m.Requeue(tg, privBase+(i-1)*4, privBase+i*4, true, 0, 1); err != nil || n != 1 {
			t.Fatalf("Requeue %d = %d, %v", i, n, err)
		}
	}
	if m.Dequeue(w) {
		t.Fatalf("Dequeue reported a wake")
	}
	for i := uintptr(0); i < 20; i++ {
		if n := mustWake(t, m, tg, privBase+i*4, true, any32, 10); n != 0 {
			t.Fatalf("dequeued waiter still on key %d", i)
		}
	}
	for i := range m.buckets {
		if len(m.buckets[i].queues) != 0 {
			t.Fatalf("bucket %d keeps %d empty queues", i, len(m.buckets[i].queues))
		}
	}
}

func TestKeys(t *testing.T) {
	f := newFakeFile(4 * regionSize)
	// Two address spaces: private memory at the same address but in
	// different pages, and one shared page mapped at different addresses.
	p1 := newFakeTarget(f,
		fakeMapping{start: privBase, end: privBase + regionSize, off: 0},
		fakeMapping{start: sharedBase, end: sharedBase + regionSize, off: 2 * regionSize, shared: true})
	p2 := newFakeTarget(f,
		fakeMapping{start: privBase, end: privBase + regionSize, off: regionSize},
		fakeMapping{start: sharedBase + 0x5000, end: sharedBase + 0x5000 + regionSize, off: 2 * regionSize, shared: true})
	m := NewManager()

	// Private futexes of different address spaces never meet.
	w := mustWait(t, m, p1, privBase, true, 0, any32)
	if n := mustWake(t, m, p2, privBase, true, any32, 1); n != 0 {
		t.Fatalf("other address space woke a private futex")
	}
	// A shared operation on the same private word is another futex
	// (Linux keys them apart as well).
	if n := mustWake(t, m, p1, privBase, false, any32, 1); n != 0 {
		t.Fatalf("shared wake matched a private waiter")
	}
	if n := mustWake(t, m, p1, privBase, true, any32, 1); n != 1 || !woken(w) {
		t.Fatalf("private wake failed")
	}
	w = mustWait(t, m, p1, privBase, false, 0, any32)
	if n := mustWake(t, m, p1, privBase, true, any32, 1); n != 0 {
		t.Fatalf("private wake matched a shared-op waiter on private memory")
	}
	if n := mustWake(t, m, p2, privBase, false, any32, 1); n != 0 {
		t.Fatalf("shared op on another address space's private memory matched")
	}
	if n := mustWake(t, m, p1, privBase, false, any32, 1); n != 1 || !woken(w) {
		t.Fatalf("shared wake on private memory failed")
	}

	// Shared memory: found through either mapping.
	p1.store(sharedBase+8, 42)
	w = mustWait(t, m, p1, sharedBase+8, false, 42, any32)
	if n := mustWake(t, m, p2, sharedBase+0x5000+8, true, any32, 1); n != 0 {
		t.Fatalf("private wake crossed address spaces")
	}
	if n := mustWake(t, m, p2, sharedBase+0x5000+8, false, any32, 1); n != 1 || !woken(w) {
		t.Fatalf("shared wake through the other mapping failed")
	}
	// The value check reads the shared word too.
	if err := m.Wait(p2, sharedBase+0x5000+8, false, 41, any32, w); err != unix.EAGAIN {
		t.Fatalf("Wait through second mapping = %v, want EAGAIN", err)
	}

	// Memory-file and file keys with equal offsets differ.
	fileID := new(int)
	if MemoryFileKey(8) == FileKey(fileID, 8) || FileKey(fileID, 8) != FileKey(fileID, 8) || FileKey(fileID, 8) == FileKey(new(int), 8) {
		t.Fatalf("key equality broken")
	}
}

func TestByteAtomics(t *testing.T) {
	b := make([]byte, 16)
	if _, err := LoadUint32Bytes(b[1:]); err != unix.EINVAL {
		t.Fatalf("unaligned load = %v", err)
	}
	if _, err := CompareAndSwapUint32Bytes(b[:3], 0, 1); err != unix.EFAULT {
		t.Fatalf("short CAS = %v", err)
	}
	if prev, err := CompareAndSwapUint32Bytes(b[4:], 0, 0x01020304); err != nil || prev != 0 {
		t.Fatalf("CAS = %#x, %v", prev, err)
	}
	if prev, err := CompareAndSwapUint32Bytes(b[4:], 0, 5); err != nil || prev != 0x01020304 {
		t.Fatalf("failing CAS = %#x, %v", prev, err)
	}
	if v, _ := LoadUint32Bytes(b[4:]); v != 0x01020304 || b[4] != 4 {
		t.Fatalf("load = %#x, bytes % x", v, b[4:8])
	}
}

func TestParseOp(t *testing.T) {
	for _, tc := range []struct {
		op   int32
		want Op
		err  error
	}{
		{linux.FUTEX_WAIT, Op{Cmd: linux.FUTEX_WAIT}, nil},
		{linux.FUTEX_WAKE_PRIVATE, Op{Cmd: linux.FUTEX_WAKE, Private: true}, nil},
		{linux.FUTEX_WAIT_BITSET_PRIVATE | linux.FUTEX_CLOCK_REALTIME, Op{Cmd: linux.FUTEX_WAIT_BITSET, Private: true, ClockRealtime: true}, nil},
		{linux.FUTEX_LOCK_PI2 | linux.FUTEX_CLOCK_REALTIME, Op{Cmd: linux.FUTEX_LOCK_PI2, ClockRealtime: true}, nil},
		{linux.FUTEX_WAIT | linux.FUTEX_CLOCK_REALTIME, Op{}, unix.ENOSYS},
		{linux.FUTEX_WAKE | linux.FUTEX_CLOCK_REALTIME, Op{}, unix.ENOSYS},
		{99, Op{Cmd: 99}, nil},
	} {
		got, err := ParseOp(tc.op)
		if got != tc.want || err != tc.err {
			t.Errorf("ParseOp(%#x) = %+v, %v, want %+v, %v", tc.op, got, err, tc.want, tc.err)
		}
	}
}
