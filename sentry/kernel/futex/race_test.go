package futex

import (
	"sync"
	"testing"
)

// TestNoLostWakeupsPingPong runs pairs of goroutines that hand a turn back
// and forth through a futex word: each waits while the word says it is
// the other's turn, then flips it and wakes the other. A lost wakeup
// leaves both waiting forever (and the test binary's timeout fails it).
func TestNoLostWakeupsPingPong(t *testing.T) {
	m, tg := newEnv()
	const pairs = 8
	rounds := 2000
	if testing.Short() {
		rounds = 200
	}
	var wg sync.WaitGroup
	for p := range pairs {
		// Mix private words, shared words and neighbours in one bucket
		// or across buckets.
		addr := uintptr(privBase + 4*p)
		private := p%2 == 0
		if p%4 >= 2 {
			addr = uintptr(sharedBase + 4*p)
		}
		for side := uint32(0); side < 2; side++ {
			wg.Go(func() {
				w := NewWaiter()
				for range rounds {
					for {
						cur := tg.load(addr)
						if cur == side {
							break
						}
						if err := m.Wait(tg, addr, private, cur, any32, w); err != nil {
							continue // EAGAIN: the word changed.
						}
						if err := m.WaitFor(w, nil, zeroTime); err != nil {
							t.Errorf("WaitFor: %v", err)
							return
						}
					}
					tg.store(addr, 1-side)
					if _, err := m.Wake(tg, addr, private, any32, 1); err != nil {
						t.Errorf("Wake: %v", err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
}

// TestNoLostWakeupsSemaphore runs a futex-based counting semaphore with
// many posters and many waiters on one word; every post must be consumed
// by some waiter.
func TestNoLostWakeupsSemaphore(t *testing.T) {
	m, tg := newEnv()
	const addr = sharedBase + 0x100
	const workers = 8
	perWorker := 1000
	if testing.Short() {
		perWorker = 100
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { // consumer
			w := NewWaiter()
			for range perWorker {
				for {
					v := tg.load(addr)
					if v > 0 {
						if prev, _ := tg.CompareAndSwapUint32(addr, v, v-1); prev == v {
							break
						}
						continue
					}
					if err := m.Wait(tg, addr, false, 0, any32, w); err != nil {
						continue
					}
					if err := m.WaitFor(w, nil, zeroTime); err != nil {
						t.Errorf("WaitFor: %v", err)
						return
					}
				}
			}
		})
		wg.Go(func() { // producer
			for range perWorker {
				for {
					v := tg.load(addr)
					if prev, _ := tg.CompareAndSwapUint32(addr, v, v+1); prev == v {
						break
					}
				}
				if _, err := m.Wake(tg, addr, false, any32, 1); err != nil {
					t.Errorf("Wake: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if v := tg.load(addr); v != 0 {
		t.Fatalf("semaphore ends at %d, want 0", v)
	}
}

// TestConcurrentTimeoutsAndWakes races wakes, requeues, timeouts and
// interrupts against each other and checks that every waiter is
// accounted for exactly once: a waiter either reports a wake or left its
// queue itself, and nothing stays queued.
func TestConcurrentTimeoutsAndWakes(t *testing.T) {
	m, tg := newEnv()
	const a, b = privBase + 0x200, privBase + 0x204
	const waiters = 8
	iters := 500
	if testing.Short() {
		iters = 50
	}
	intr := make(chan struct{})
	close(intr)
	var wg sync.WaitGroup
	var mu sync.Mutex
	woke := 0
	for i := range waiters {
		wg.Go(func() {
			w := NewWaiter()
			for range iters {
				if err := m.Wait(tg, a, true, 0, any32, w); err != nil {
					t.Errorf("Wait: %v", err)
					return
				}
				var err error
				if i%2 == 0 {
					err = m.Block(w, intr, nil)
				} else {
					err = m.Block(w, nil, firedTimer())
				}
				if err == nil {
					mu.Lock()
					woke++
					mu.Unlock()
				}
			}
		})
	}
	wakers := make(chan int, 2)
	for k := range 2 {
		go func() {
			total := 0
			for range iters * 4 {
				if k == 0 {
					n, _ := m.Wake(tg, a, true, any32, 1)
					total += n
					n, _ = m.Wake(tg, b, true, any32, 1)
					total += n
				} else {
					n, _ := m.Requeue(tg, a, b, true, 0, 2)
					_ = n // requeued, not woken
				}
			}
			wakers <- total
		}()
	}
	wg.Wait()
	total := <-wakers + <-wakers
	if total != woke {
		t.Fatalf("wakes reported by Wake: %d, seen by waiters: %d", total, woke)
	}
	for i := range m.buckets {
		if len(m.buckets[i].queues) != 0 {
			t.Fatalf("waiters left queued in bucket %d", i)
		}
	}
}
