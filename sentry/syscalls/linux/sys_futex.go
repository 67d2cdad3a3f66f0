package linux

import (
	"time"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/kernel/futex"
	"golang.org/x/sys/unix"
)

// futexDeadline reads futex(2)'s timeout: a relative CLOCK_MONOTONIC
// duration for FUTEX_WAIT, an absolute time for FUTEX_WAIT_BITSET
// (CLOCK_MONOTONIC, or CLOCK_REALTIME with FUTEX_CLOCK_REALTIME). A NULL
// timeout is no deadline (the zero time).
func futexDeadline(t *kernel.Task, addr uintptr, absolute, realtime bool) (time.Time, linux.Errno) {
	if addr == 0 {
		return time.Time{}, 0
	}
	ts, errno := copyInTimespec(t, addr)
	if errno != 0 {
		return time.Time{}, errno
	}
	if !timespecValid(ts) {
		return time.Time{}, unix.EINVAL
	}
	d := time.Duration(min(timespecNanos(ts), 1<<62)) // 2^62 ns: forever enough
	now := time.Now()
	if !absolute {
		return now.Add(d), 0
	}
	var clockNow time.Duration
	if realtime {
		clockNow = time.Duration(t.Kernel().RealtimeNanos())
	} else {
		clockNow = time.Duration(t.Kernel().MonotonicNanos())
	}
	return now.Add(d - clockNow), 0
}

// futexWait waits on the futex word at addr until woken, the deadline
// (zero: none) or a signal. An interrupted wait with a relative timeout
// restarts through a restart block that keeps the original deadline, as
// Linux does; without one it restarts with ERESTARTSYS.
func futexWait(t *kernel.Task, addr uintptr, private bool, val, bitset uint32, deadline time.Time, relative bool) (uintptr, linux.Errno) {
	m, target := t.Kernel().Futexes(), t.FutexTarget()
	w := t.FutexWaiter()
	if err := m.Wait(target, addr, private, val, bitset, w); err != nil {
		return 0, errnoOf(err)
	}
	err := m.WaitFor(w, t.Interrupted(), deadline)
	if err == linux.ERESTARTSYS && relative {
		t.SetRestartBlock(func(t *kernel.Task) (uintptr, linux.Errno) {
			return futexWait(t, addr, private, val, bitset, deadline, true)
		})
		return 0, linux.ERESTART_RESTARTBLOCK
	}
	if err != nil {
		return 0, errnoOf(err)
	}
	return 0, 0
}

// Futex implements futex(2): wait, wake, requeue, cmp-requeue, wake-op
// and the bitset variants. A wait ends when woken, at its timeout, or when
// a signal interrupts it. PI futexes (LOCK_PI, LOCK_PI2, TRYLOCK_PI,
// UNLOCK_PI) hand the lock over on unlock; there is no priority
// inheritance to do, since the Sentry does not schedule by priority.
// The requeue-to-PI commands are ENOSYS.
func Futex(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	addr, val, timeoutAddr, addr2, val3 := args[0].Pointer(), args[2].Uint(), args[3].Pointer(), args[4].Pointer(), args[5].Uint()
	op, err := futex.ParseOp(args[1].Int())
	if err != nil {
		return 0, errnoOf(err)
	}
	// get_futex_key: a misaligned word is EINVAL, one outside the user
	// address space EFAULT, even for calls that never read it.
	if addr%4 != 0 {
		return 0, unix.EINVAL
	}
	if addr >= t.MemoryManager().MaxAddress() {
		return 0, unix.EFAULT
	}
	m, target := t.Kernel().Futexes(), t.FutexTarget()
	switch op.Cmd {
	case linux.FUTEX_WAIT, linux.FUTEX_WAIT_BITSET:
		bitset := uint32(linux.FUTEX_BITSET_MATCH_ANY)
		if op.Cmd == linux.FUTEX_WAIT_BITSET {
			bitset = val3
		}
		deadline, errno := futexDeadline(t, timeoutAddr, op.Cmd == linux.FUTEX_WAIT_BITSET, op.ClockRealtime)
		if errno != 0 {
			return 0, errno
		}
		return futexWait(t, addr, op.Private, val, bitset, deadline, op.Cmd == linux.FUTEX_WAIT && timeoutAddr != 0)
	case linux.FUTEX_WAKE, linux.FUTEX_WAKE_BITSET:
		bitset := uint32(linux.FUTEX_BITSET_MATCH_ANY)
		if op.Cmd == linux.FUTEX_WAKE_BITSET {
			bitset = val3
		}
		n, err := m.Wake(target, addr, op.Private, bitset, int(int32(val)))
		if err != nil {
			return 0, errnoOf(err)
		}
		return uintptr(n), 0
	case linux.FUTEX_REQUEUE:
		n, err := m.Requeue(target, addr, addr2, op.Private, int(int32(val)), int(int32(uint32(timeoutAddr))))
		if err != nil {
			return 0, errnoOf(err)
		}
		return uintptr(n), 0
	case linux.FUTEX_CMP_REQUEUE:
		n, err := m.CmpRequeue(target, addr, addr2, op.Private, int(int32(val)), int(int32(uint32(timeoutAddr))), val3)
		if err != nil {
			return 0, errnoOf(err)
		}
		return uintptr(n), 0
	case linux.FUTEX_WAKE_OP:
		n, err := m.WakeOp(target, addr, addr2, op.Private, int(int32(val)), int(int32(uint32(timeoutAddr))), val3)
		if err != nil {
			return 0, errnoOf(err)
		}
		return uintptr(n), 0
	case linux.FUTEX_LOCK_PI, linux.FUTEX_LOCK_PI2, linux.FUTEX_TRYLOCK_PI:
		try := op.Cmd == linux.FUTEX_TRYLOCK_PI
		var deadline time.Time
		if !try {
			// FUTEX_LOCK_PI's timeout is an absolute CLOCK_REALTIME
			// time; FUTEX_LOCK_PI2's uses the clock the op names.
			realtime := op.Cmd == linux.FUTEX_LOCK_PI || op.ClockRealtime
			var errno linux.Errno
			if deadline, errno = futexDeadline(t, timeoutAddr, true, realtime); errno != 0 {
				return 0, errno
			}
		}
		pt := t.PIFutexTarget()
		var w *futex.Waiter
		if !try {
			w = t.FutexWaiter()
		}
		acquired, err := m.LockPI(pt, addr, op.Private, t.ThreadID(), w, try)
		if err != nil {
			return 0, errnoOf(err)
		}
		if acquired {
			return 0, 0
		}
		if err := m.WaitFor(w, t.Interrupted(), deadline); err != nil {
			if err == linux.ERESTARTSYS {
				// Linux restarts an interrupted LOCK_PI whatever the
				// handler's SA_RESTART.
				return 0, linux.ERESTARTNOINTR
			}
			return 0, errnoOf(err)
		}
		return 0, 0
	case linux.FUTEX_UNLOCK_PI:
		if err := m.UnlockPI(target, addr, op.Private, t.ThreadID()); err != nil {
			return 0, errnoOf(err)
		}
		return 0, 0
	}
	return 0, unix.ENOSYS
}
