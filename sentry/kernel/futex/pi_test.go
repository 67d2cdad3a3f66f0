package futex

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"golang.org/x/sys/unix"
)

// piTarget adds a set of live TIDs to fakeTarget.
type piTarget struct {
	*fakeTarget
	mu   sync.Mutex
	dead map[int32]bool
}

func newPITarget(t *fakeTarget) *piTarget { return &piTarget{fakeTarget: t, dead: map[int32]bool{}} }

func (p *piTarget) TaskExists(tid int32) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return tid > 0 && tid < 1000 && !p.dead[tid]
}

func (p *piTarget) kill(tid int32) {
	p.mu.Lock()
	p.dead[tid] = true
	p.mu.Unlock()
}

func TestLockPIUncontended(t *testing.T) {
	m, ft := newEnv()
	tg := newPITarget(ft)
	const addr = privBase + 0x300
	for _, private := range []bool{true, false} {
		ft.store(addr, 0)
		if ok, err := m.LockPI(tg, addr, private, 10, NewWaiter(), false); !ok || err != nil {
			t.Fatalf("LockPI = %v, %v", ok, err)
		}
		if got := ft.load(addr); got != 10 {
			t.Fatalf("word = %#x, want 10", got)
		}
		if _, err := m.LockPI(tg, addr, private, 10, NewWaiter(), false); err != unix.EDEADLK {
			t.Fatalf("relock = %v, want EDEADLK", err)
		}
		if _, err := m.LockPI(tg, addr, private, 10, nil, true); err != unix.EDEADLK {
			t.Fatalf("trylock by owner = %v, want EDEADLK", err)
		}
		if _, err := m.LockPI(tg, addr, private, 11, nil, true); err != unix.EWOULDBLOCK {
			t.Fatalf("trylock of owned = %v, want EWOULDBLOCK", err)
		}
		if err := m.UnlockPI(tg, addr, private, 11); err != unix.EPERM {
			t.Fatalf("unlock by non-owner = %v, want EPERM", err)
		}
		if err := m.UnlockPI(tg, addr, private, 10); err != nil {
			t.Fatalf("UnlockPI = %v", err)
		}
		if got := ft.load(addr); got != 0 {
			t.Fatalf("word after unlock = %#x", got)
		}
		if ok, err := m.LockPI(tg, addr, private, 11, nil, true); !ok || err != nil {
			t.Fatalf("trylock of free = %v, %v", ok, err)
		}
	}
	// OWNER_DIED survives a takeover.
	ft.store(addr, linux.FUTEX_OWNER_DIED)
	if ok, err := m.LockPI(tg, addr, true, 12, nil, true); !ok || err != nil || ft.load(addr) != linux.FUTEX_OWNER_DIED|12 {
		t.Fatalf("takeover of dead futex = %v, %v, word %#x", ok, err, ft.load(addr))
	}
	// A missing owner is ESRCH.
	ft.store(addr, 5000)
	if _, err := m.LockPI(tg, addr, true, 12, NewWaiter(), false); err != unix.ESRCH {
		t.Fatalf("LockPI with missing owner = %v, want ESRCH", err)
	}
	if _, err := m.LockPI(tg, addr+2, true, 12, NewWaiter(), false); err != unix.EINVAL {
		t.Fatalf("unaligned LockPI = %v", err)
	}
	if err := m.UnlockPI(tg, 0x900000, false, 12); err != unix.EFAULT {
		t.Fatalf("UnlockPI of unmapped = %v", err)
	}
}

func TestLockPIHandOff(t *testing.T) {
	m, ft := newEnv()
	tg := newPITarget(ft)
	const addr = sharedBase + 0x300
	ft.store(addr, 10)
	wb, wc := NewWaiter(), NewWaiter()
	if ok, err := m.LockPI(tg, addr, false, 11, wb, false); ok || err != nil {
		t.Fatalf("contended LockPI = %v, %v", ok, err)
	}
	if ok, err := m.LockPI(tg, addr, false, 12, wc, false); ok || err != nil {
		t.Fatalf("second contended LockPI = %v, %v", ok, err)
	}
	if got := ft.load(addr); got != 10|linux.FUTEX_WAITERS {
		t.Fatalf("word = %#x, want owner 10 with WAITERS", got)
	}
	// Plain futex operations on a PI futex are EINVAL.
	if _, err := m.Wake(tg, addr, false, any32, 1); err != unix.EINVAL {
		t.Fatalf("Wake on PI futex = %v", err)
	}
	if _, err := m.Requeue(tg, addr, addr+4, false, 1, 1); err != unix.EINVAL {
		t.Fatalf("Requeue of PI futex = %v", err)
	}
	if _, err := m.WakeOp(tg, addr, addr+4, false, 1, 1, 0); err != unix.EINVAL {
		t.Fatalf("WakeOp on PI futex = %v", err)
	}

	if err := m.UnlockPI(tg, addr, false, 10); err != nil {
		t.Fatal(err)
	}
	if got := ft.load(addr); got != 11|linux.FUTEX_WAITERS {
		t.Fatalf("word after hand-off = %#x, want 11|WAITERS", got)
	}
	if err := m.Block(wb, nil, nil); err != nil {
		t.Fatalf("new owner's Block = %v", err)
	}
	if woken(wc) {
		t.Fatalf("second waiter woken by first unlock")
	}
	if err := m.UnlockPI(tg, addr, false, 11); err != nil {
		t.Fatal(err)
	}
	if !woken(wc) || ft.load(addr) != 12|linux.FUTEX_WAITERS {
		t.Fatalf("second hand-off: word %#x", ft.load(addr))
	}
	// The last owner's unlock finds no waiters and clears the word.
	if err := m.UnlockPI(tg, addr, false, 12); err != nil || ft.load(addr) != 0 {
		t.Fatalf("last unlock = %v, word %#x", err, ft.load(addr))
	}

	// A waiter that times out is dequeued; the owner unlocks to 0.
	ft.store(addr, 10)
	if ok, err := m.LockPI(tg, addr, false, 11, wb, false); ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := m.Block(wb, nil, firedTimer()); err != unix.ETIMEDOUT {
		t.Fatalf("PI Block = %v, want ETIMEDOUT", err)
	}
	if err := m.UnlockPI(tg, addr, false, 10); err != nil || ft.load(addr) != 0 {
		t.Fatalf("unlock after timeout = %v, word %#x", err, ft.load(addr))
	}
	if m.piWaiters.Load() != 0 {
		t.Fatalf("piWaiters = %d", m.piWaiters.Load())
	}

	// PI and plain waiters do not mix.
	ft.store(addr, 10)
	if ok, err := m.LockPI(tg, addr, false, 11, wb, false); ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := m.Wait(ft, addr, false, 10|linux.FUTEX_WAITERS, any32, NewWaiter()); err != unix.EINVAL {
		t.Fatalf("Wait on PI futex = %v, want EINVAL", err)
	}
	if m.Dequeue(wb) {
		t.Fatalf("PI waiter reported woken")
	}
	ft.store(addr, 0)
	w := mustWait(t, m, ft, addr, false, 0, any32)
	ft.store(addr, 10)
	if _, err := m.LockPI(tg, addr, false, 11, NewWaiter(), false); err != unix.EINVAL {
		t.Fatalf("LockPI over plain waiters = %v", err)
	}
	if err := m.UnlockPI(tg, addr, false, 10); err != unix.EINVAL {
		t.Fatalf("UnlockPI over plain waiters = %v", err)
	}
	m.Dequeue(w)
}

func TestExitPI(t *testing.T) {
	m, ft := newEnv()
	tg := newPITarget(ft)
	const e1 = privBase + 0x500
	const addr = e1 + futexOff
	ft.store(addr, 10)
	w := NewWaiter()
	if ok, err := m.LockPI(tg, addr, false, 11, w, false); ok || err != nil {
		t.Fatal(ok, err)
	}
	// Thread 10 exits: its robust list names the PI futex.
	writeHead(ft, e1|1, 0, futexOff)
	ft.put64(e1, headAddr)
	tg.kill(10)
	if n := m.HandleRobustList(tg, headAddr, 10); n != 1 {
		t.Fatalf("robust list marked %d", n)
	}
	if woken(w) {
		t.Fatalf("robust list woke a PI waiter")
	}
	if got := ft.load(addr); got != linux.FUTEX_WAITERS|linux.FUTEX_OWNER_DIED {
		t.Fatalf("word after robust list = %#x", got)
	}
	m.ExitPI(10)
	if err := m.Block(w, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := ft.load(addr); got != linux.FUTEX_WAITERS|linux.FUTEX_OWNER_DIED|11 {
		t.Fatalf("word after ExitPI = %#x", got)
	}
	// Nothing else is owned by 11's peers; ExitPI of an unrelated TID is
	// a no-op.
	m.ExitPI(99)
	if err := m.UnlockPI(tg, addr, false, 11); err != nil || ft.load(addr) != 0 {
		t.Fatalf("unlock = %v, word %#x", err, ft.load(addr))
	}
}

// TestPIMutex uses LockPI/UnlockPI as the slow path of a PI mutex, the
// way glibc does, and checks mutual exclusion and progress.
func TestPIMutex(t *testing.T) {
	m, ft := newEnv()
	tg := newPITarget(ft)
	const addr = sharedBase + 0x800
	const workers = 6
	iters := 1000
	if testing.Short() {
		iters = 100
	}
	var inside atomic.Int32
	counter := 0
	var wg sync.WaitGroup
	for i := range workers {
		tid := int32(100 + i)
		wg.Go(func() {
			w := NewWaiter()
			for range iters {
				if prev, _ := ft.CompareAndSwapUint32(addr, 0, uint32(tid)); prev != 0 {
					for {
						ok, err := m.LockPI(tg, addr, false, tid, w, false)
						if err == unix.EAGAIN {
							continue
						}
						if err != nil {
							t.Errorf("LockPI: %v", err)
							return
						}
						if !ok {
							if err := m.WaitFor(w, nil, zeroTime); err != nil {
								t.Errorf("WaitFor: %v", err)
								return
							}
						}
						break
					}
				}
				if inside.Add(1) != 1 {
					t.Errorf("two owners")
				}
				if got := int32(ft.load(addr) & linux.FUTEX_TID_MASK); got != tid {
					t.Errorf("owner %d in word while %d holds the lock", got, tid)
				}
				counter++
				inside.Add(-1)
				if prev, _ := ft.CompareAndSwapUint32(addr, uint32(tid), 0); prev != uint32(tid) {
					if err := m.UnlockPI(tg, addr, false, tid); err != nil {
						t.Errorf("UnlockPI: %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if counter != workers*iters {
		t.Fatalf("counter = %d, want %d", counter, workers*iters)
	}
	if got := ft.load(addr); got != 0 {
		t.Fatalf("word ends at %#x", got)
	}
}
