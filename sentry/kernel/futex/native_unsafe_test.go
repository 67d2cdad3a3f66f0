package futex

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"golang.org/x/sys/unix"
)

// pingPong runs rounds round trips between two goroutines that pass a
// turn through a futex word, using wait(cur) and wake() to block, and
// returns the elapsed time.
func pingPong(rounds int, load func() uint32, store func(uint32), wait func(cur uint32), wake func(), lockThread bool) time.Duration {
	var wg sync.WaitGroup
	start := time.Now()
	for side := uint32(0); side < 2; side++ {
		wg.Go(func() {
			if lockThread {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
			}
			for range rounds {
				for {
					cur := load()
					if cur == side {
						break
					}
					wait(cur)
				}
				store(1 - side)
				wake()
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkWaitWakeRoundTrip measures a round trip (each side waits once
// and wakes once) through the Manager, and reports it as a ratio to the
// same ping-pong done with the host's futex(2) between two OS threads in
// the same run. "lockedThreads" runs the Manager's sides on locked OS
// threads, as task goroutines are; "goroutines" lets the Go scheduler
// park them.
func BenchmarkWaitWakeRoundTrip(b *testing.B) {
	for _, locked := range []bool{true, false} {
		name := "goroutines"
		if locked {
			name = "lockedThreads"
		}
		b.Run(name, func(b *testing.B) { benchRoundTrip(b, locked) })
	}
}

func benchRoundTrip(b *testing.B, locked bool) {
	m, tg := newEnv()
	const addr = privBase
	waiters := [2]*Waiter{NewWaiter(), NewWaiter()}

	var word atomic.Uint32
	p := uintptr(unsafe.Pointer(&word))
	native := pingPong(b.N,
		word.Load, word.Store,
		func(cur uint32) {
			unix.Syscall6(unix.SYS_FUTEX, p, linux.FUTEX_WAIT_PRIVATE, uintptr(cur), 0, 0, 0)
		},
		func() { unix.Syscall6(unix.SYS_FUTEX, p, linux.FUTEX_WAKE_PRIVATE, 1, 0, 0, 0) },
		true)

	b.ResetTimer()
	ours := pingPong(b.N,
		func() uint32 { return tg.load(addr) },
		func(v uint32) { tg.store(addr, v) },
		func(cur uint32) {
			// The side that waits while the word holds cur owns
			// waiters[cur].
			w := waiters[cur]
			if m.Wait(tg, addr, true, cur, any32, w) == nil {
				m.WaitFor(w, nil, time.Time{})
			}
		},
		func() { m.Wake(tg, addr, true, any32, 1) },
		locked)
	b.StopTimer()
	b.ReportMetric(float64(native.Nanoseconds())/float64(b.N), "native-ns/op")
	b.ReportMetric(float64(ours)/float64(native), "x-native")
}

// BenchmarkWakeNoWaiters measures FUTEX_WAKE with nobody waiting (the
// common uncontended unlock path that still calls into the kernel).
func BenchmarkWakeNoWaiters(b *testing.B) {
	m, tg := newEnv()
	for b.Loop() {
		m.Wake(tg, privBase, true, any32, 1)
	}
}
