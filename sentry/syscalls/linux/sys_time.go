package linux

import (
	"encoding/binary"
	"math"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

func init() { registrars = append(registrars, registerTime) }

// registerTime registers the clock and sleep calls (this file) and the
// interval and POSIX timers (sys_timer.go).
func registerTime(b *tableBuilder) {
	b.full(linux.SYS_CLOCK_GETTIME, ClockGettime)
	b.full(linux.SYS_CLOCK_GETRES, ClockGetres)
	b.partial(linux.SYS_CLOCK_SETTIME, ClockSettime, "the sandbox never sets the host's clock: CLOCK_REALTIME is EPERM even for root; other clocks EINVAL as on Linux")
	b.full(linux.SYS_GETTIMEOFDAY, Gettimeofday)
	b.full(linux.SYS_TIME, Time)
	b.full(linux.SYS_NANOSLEEP, Nanosleep)
	b.partial(linux.SYS_CLOCK_NANOSLEEP, ClockNanosleep, "REALTIME, MONOTONIC, BOOTTIME, TAI and process CPU clocks; alarm clocks EOPNOTSUPP as on a machine without an RTC; CPU time advances when a task leaves the guest, so CPU-clock sleeps end up to 10 ms late")
	b.full(linux.SYS_ALARM, Alarm)
	b.partial(linux.SYS_SETITIMER, Setitimer, "ITIMER_VIRTUAL and ITIMER_PROF are checked every 10 ms of real time, against CPU time accounted when a task leaves the guest")
	b.full(linux.SYS_GETITIMER, Getitimer)
	b.partial(linux.SYS_TIMER_CREATE, TimerCreate, "SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD_ID on REALTIME, MONOTONIC, BOOTTIME, TAI and CPU clocks (CPU clocks checked every 10 ms); at most min(RLIMIT_SIGPENDING, 8192) timers per process")
	b.full(linux.SYS_TIMER_SETTIME, TimerSettime)
	b.full(linux.SYS_TIMER_GETTIME, TimerGettime)
	b.full(linux.SYS_TIMER_GETOVERRUN, TimerGetoverrun)
	b.full(linux.SYS_TIMER_DELETE, TimerDelete)
	b.partial(linux.SYS_ADJTIMEX, Adjtimex, "reads the clock state (unsynchronized, TIME_ERROR); adjusting is EPERM: the sandbox never sets the host's clock")
	b.partial(linux.SYS_CLOCK_ADJTIME, ClockAdjtime, "CLOCK_REALTIME only, read-only as adjtimex")
}

// TIMER_ABSTIME is the clock_nanosleep(2) and timer_settime(2) flag for an
// absolute time.
const timerAbstime = 1

// CPU-clock encoding of negative clock IDs (include/linux/posix-timers.h):
// ~pid << 3 | perThread << 2 | which, where which 3 marks a dynamic
// (file-descriptor) clock when perThread is clear.
const (
	cpuClockPerThread = 4
	cpuClockWhichMask = 3
	cpuClockVirt      = 1
	cpuClockMax       = 3
	clockFDMask       = 7
	clockFD           = 3
)

// clockRef is a clock ID resolved for one task, with what each call may do
// with it (Linux's per-clock operation table).
type clockRef struct {
	// c reads the clock; nil when the clock cannot be read (EINVAL).
	c kernel.Clock
	// coarse clocks tick at the scheduler rate (clock_getres).
	coarse bool
	// sleepEarly is clock_nanosleep's errno before the timespec is
	// read (no sleep operation: EOPNOTSUPP); sleepLate the errno after
	// it is checked (a bad or thread CPU clock: EINVAL).
	sleepEarly, sleepLate linux.Errno
	// timerEarly is timer_create's errno before a timer is allocated;
	// timerLate the errno after its ID was handed out.
	timerEarly, timerLate linux.Errno
}

// lookupClock resolves clock id for t; false if there is no such clock
// (EINVAL for every call).
func lookupClock(t *kernel.Task, id int32) (clockRef, bool) {
	k := t.Kernel()
	switch id {
	case linux.CLOCK_REALTIME, linux.CLOCK_TAI:
		// The TAI offset is 0 until something sets it, as on Linux.
		return clockRef{c: k.RealtimeClock()}, true
	case linux.CLOCK_MONOTONIC, linux.CLOCK_BOOTTIME:
		// The sandbox never suspends, so BOOTTIME equals MONOTONIC.
		return clockRef{c: k.MonotonicClock()}, true
	case linux.CLOCK_MONOTONIC_RAW:
		return clockRef{c: k.MonotonicClock(), sleepEarly: unix.EOPNOTSUPP, timerEarly: unix.EOPNOTSUPP}, true
	case linux.CLOCK_REALTIME_COARSE:
		return clockRef{c: k.RealtimeClock(), coarse: true, sleepEarly: unix.EOPNOTSUPP, timerEarly: unix.EOPNOTSUPP}, true
	case linux.CLOCK_MONOTONIC_COARSE:
		return clockRef{c: k.MonotonicClock(), coarse: true, sleepEarly: unix.EOPNOTSUPP, timerEarly: unix.EOPNOTSUPP}, true
	case linux.CLOCK_PROCESS_CPUTIME_ID:
		return clockRef{c: t.ThreadGroup().CPUClock()}, true
	case linux.CLOCK_THREAD_CPUTIME_ID:
		return clockRef{c: t.CPUClock(), sleepEarly: unix.EOPNOTSUPP}, true
	case linux.CLOCK_REALTIME_ALARM, linux.CLOCK_BOOTTIME_ALARM:
		// As on a machine without an RTC to wake it.
		return clockRef{sleepEarly: unix.EOPNOTSUPP, timerLate: unix.EOPNOTSUPP}, true
	}
	if id >= 0 {
		return clockRef{}, false
	}
	if id&clockFDMask == clockFD {
		// A posix clock device (PTP, ...): none exist in the sandbox.
		return clockRef{sleepEarly: unix.EOPNOTSUPP, timerEarly: unix.EOPNOTSUPP}, true
	}
	bad := clockRef{sleepLate: unix.EINVAL, timerLate: unix.EINVAL}
	if id&cpuClockWhichMask == cpuClockMax {
		return bad, true
	}
	// VIRT reads user time; PROF and SCHED user and system time.
	virt := id&cpuClockWhichMask == cpuClockVirt
	pid := ^(id >> 3)
	if id&cpuClockPerThread != 0 {
		target := t
		if pid != 0 {
			target = k.TaskByTID(pid)
		}
		if target == nil || target.ThreadGroup() != t.ThreadGroup() {
			return bad, true
		}
		c := target.CPUClock()
		if virt {
			c = target.UserCPUClock()
		}
		// Linux cannot sleep on a thread's CPU clock.
		return clockRef{c: c, sleepLate: unix.EINVAL}, true
	}
	tg := t.ThreadGroup()
	if pid != 0 {
		leader := k.TaskByTID(pid)
		if leader == nil || leader.ThreadGroup().PID() != pid {
			return bad, true
		}
		tg = leader.ThreadGroup()
	}
	if virt {
		return clockRef{c: tg.UserCPUClock()}, true
	}
	return clockRef{c: tg.CPUClock()}, true
}

// readableClock returns clock id's reader, or EINVAL.
func readableClock(t *kernel.Task, id int32) (kernel.Clock, linux.Errno) {
	cr, ok := lookupClock(t, id)
	if !ok || cr.c == nil {
		return nil, unix.EINVAL
	}
	return cr.c, 0
}

// copyOutTimespec writes ns as a struct timespec at addr.
func copyOutTimespec(t *kernel.Task, addr uintptr, ns int64) linux.Errno {
	ts := linux.NsecToTimespec(ns)
	var b [linux.TimespecSize]byte
	ts.Encode(b[:])
	if _, err := t.MemoryManager().CopyOut(addr, b[:]); err != nil {
		return unix.EFAULT
	}
	return 0
}

// copyInTimespec reads a struct timespec at addr.
func copyInTimespec(t *kernel.Task, addr uintptr) (linux.Timespec, linux.Errno) {
	var b [linux.TimespecSize]byte
	var ts linux.Timespec
	if _, err := t.MemoryManager().CopyIn(addr, b[:]); err != nil {
		return ts, unix.EFAULT
	}
	ts.Decode(b[:])
	return ts, 0
}

// timespecValid is Linux's timespec64_valid: a non-negative time with
// nanoseconds in range.
func timespecValid(ts linux.Timespec) bool {
	return ts.Sec >= 0 && ts.Nsec >= 0 && ts.Nsec < 1e9
}

// timespecNanos converts a valid timespec to nanoseconds, saturating as
// Linux's ktime does.
func timespecNanos(ts linux.Timespec) int64 {
	if ts.Sec >= math.MaxInt64/1_000_000_000 {
		return math.MaxInt64
	}
	return ts.Sec*1e9 + ts.Nsec
}

// ClockGettime implements clock_gettime(2).
func ClockGettime(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	c, errno := readableClock(t, args[0].Int())
	if errno != 0 {
		return 0, errno
	}
	return 0, copyOutTimespec(t, args[1].Pointer(), c.Now())
}

// ClockGetres implements clock_getres(2): every clock has nanosecond
// resolution except the coarse ones, which tick at the scheduler rate.
func ClockGetres(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	cr, ok := lookupClock(t, args[0].Int())
	if !ok || cr.c == nil {
		return 0, unix.EINVAL
	}
	addr := args[1].Pointer()
	if addr == 0 {
		return 0, 0
	}
	res := int64(1)
	if cr.coarse {
		res = 4000000 // CONFIG_HZ=250
	}
	return 0, copyOutTimespec(t, addr, res)
}

// ClockSettime implements clock_settime(2). Only CLOCK_REALTIME and the
// CPU clocks named by ID have a set operation on Linux; the sandbox refuses
// to set the real-time clock (it is the host's), and CPU clocks are never
// settable.
func ClockSettime(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	id := args[0].Int()
	cr, ok := lookupClock(t, id)
	// CPU clocks named by ID have a set operation (that always fails);
	// CLOCK_PROCESS_CPUTIME_ID and CLOCK_THREAD_CPUTIME_ID have none.
	settable := id == linux.CLOCK_REALTIME || (id < 0 && id&clockFDMask != clockFD)
	if !ok || !settable {
		return 0, unix.EINVAL
	}
	ts, errno := copyInTimespec(t, args[1].Pointer())
	if errno != 0 {
		return 0, errno
	}
	if id == linux.CLOCK_REALTIME {
		if !timespecValid(ts) {
			return 0, unix.EINVAL
		}
		return 0, unix.EPERM
	}
	if cr.c == nil {
		return 0, unix.EINVAL
	}
	return 0, unix.EPERM
}

// Gettimeofday implements gettimeofday(2). The timezone, if asked for, is
// UTC.
func Gettimeofday(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	m := t.MemoryManager()
	if tv := args[0].Pointer(); tv != 0 {
		ns := t.Kernel().RealtimeNanos()
		var b [16]byte
		binary.LittleEndian.PutUint64(b[0:], uint64(ns/1e9))
		binary.LittleEndian.PutUint64(b[8:], uint64(ns%1e9/1e3))
		if _, err := m.CopyOut(tv, b[:]); err != nil {
			return 0, unix.EFAULT
		}
	}
	if tz := args[1].Pointer(); tz != 0 {
		var b [8]byte // tz_minuteswest, tz_dsttime
		if _, err := m.CopyOut(tz, b[:]); err != nil {
			return 0, unix.EFAULT
		}
	}
	return 0, 0
}

// Time implements time(2).
func Time(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	sec := t.Kernel().RealtimeNanos() / 1e9
	if addr := args[0].Pointer(); addr != 0 {
		if err := t.MemoryManager().CopyOutUint64(addr, uint64(sec)); err != nil {
			return 0, unix.EFAULT
		}
	}
	return uintptr(sec), 0
}

// sleepUntil blocks until c reads at least deadline, or the task must stop
// blocking; it reports whether the deadline was reached.
func sleepUntil(t *kernel.Task, c kernel.Clock, deadline int64) bool {
	if c.Now() >= deadline {
		return true
	}
	interrupted := t.Interrupted()
	reached := make(chan struct{})
	stop := c.AfterFunc(deadline, func() { close(reached) })
	select {
	case <-reached:
		return true
	case <-interrupted:
		if !stop() {
			<-reached
			return true
		}
		return false
	}
}

// sleepRelative is a relative nanosleep until deadline on c, with rem the
// guest's address for the remaining time (0 for none). When interrupted
// it writes rem and arranges for restart_syscall(2) to go on sleeping
// until the same deadline, as Linux does.
func sleepRelative(t *kernel.Task, c kernel.Clock, deadline int64, rem uintptr) (uintptr, linux.Errno) {
	if sleepUntil(t, c, deadline) {
		return 0, 0
	}
	left := deadline - c.Now()
	if left <= 0 {
		return 0, 0
	}
	if rem != 0 {
		if errno := copyOutTimespec(t, rem, left); errno != 0 {
			return 0, errno
		}
	}
	t.SetRestartBlock(func(t *kernel.Task) (uintptr, linux.Errno) {
		return sleepRelative(t, c, deadline, rem)
	})
	return 0, linux.ERESTART_RESTARTBLOCK
}

// Nanosleep implements nanosleep(2) on CLOCK_MONOTONIC.
func Nanosleep(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	ts, errno := copyInTimespec(t, args[0].Pointer())
	if errno != 0 {
		return 0, errno
	}
	if !timespecValid(ts) {
		return 0, unix.EINVAL
	}
	c := t.Kernel().MonotonicClock()
	return sleepRelative(t, c, satAddNanos(c.Now(), timespecNanos(ts)), args[1].Pointer())
}

// ClockNanosleep implements clock_nanosleep(2). Flags other than
// TIMER_ABSTIME are ignored, as on Linux.
func ClockNanosleep(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	cr, ok := lookupClock(t, args[0].Int())
	if !ok {
		return 0, unix.EINVAL
	}
	if cr.sleepEarly != 0 {
		return 0, cr.sleepEarly
	}
	ts, errno := copyInTimespec(t, args[2].Pointer())
	if errno != 0 {
		return 0, errno
	}
	if !timespecValid(ts) {
		return 0, unix.EINVAL
	}
	if cr.sleepLate != 0 {
		return 0, cr.sleepLate
	}
	ns := timespecNanos(ts)
	if args[1].Int()&timerAbstime != 0 {
		if sleepUntil(t, cr.c, ns) {
			return 0, 0
		}
		// Restarted (with the same absolute time) unless a handler
		// runs; rem is not written.
		return 0, linux.ERESTARTNOHAND
	}
	return sleepRelative(t, cr.c, satAddNanos(cr.c.Now(), ns), args[3].Pointer())
}

// satAddNanos returns a+b for b >= 0, saturated.
func satAddNanos(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// struct timex (include/uapi/linux/timex.h) on amd64, and the constants
// adjtimex(2) uses.
const (
	timexSize = 208

	adjOffsetSingleshot = 0x8001
	adjOffsetReadonly   = 0x2000
	adjAdjtime          = 0x8000

	staUnsync = 0x40
	timeError = 5
)

// Adjtimex implements adjtimex(2).
func Adjtimex(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return readTimex(t, args[0].Pointer())
}

// ClockAdjtime implements clock_adjtime(2): only CLOCK_REALTIME can be
// adjusted (here, read) on Linux.
func ClockAdjtime(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	id := args[0].Int()
	if _, ok := lookupClock(t, id); !ok || (id < 0 && id&clockFDMask == clockFD) {
		return 0, unix.EINVAL
	}
	if id != linux.CLOCK_REALTIME {
		return 0, unix.EOPNOTSUPP
	}
	return readTimex(t, args[1].Pointer())
}

// readTimex serves adjtimex on CLOCK_REALTIME: the state of a clock that
// NTP does not discipline, which is what the guest sees of the host's.
// Any change is EPERM, as without CAP_SYS_TIME: the sandbox does not set
// the host's clock.
func readTimex(t *kernel.Task, addr uintptr) (uintptr, linux.Errno) {
	var b [timexSize]byte
	m := t.MemoryManager()
	if _, err := m.CopyIn(addr, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	modes := binary.LittleEndian.Uint32(b[0:])
	if modes&adjAdjtime != 0 {
		if modes&adjOffsetSingleshot != adjOffsetSingleshot {
			return 0, unix.EINVAL
		}
		if modes&adjOffsetReadonly == 0 {
			return 0, unix.EPERM
		}
	} else if modes != 0 {
		return 0, unix.EPERM
	}
	put := func(off int, v int64) { binary.LittleEndian.PutUint64(b[off:], uint64(v)) }
	put32 := func(off int, v int32) { binary.LittleEndian.PutUint32(b[off:], uint32(v)) }
	// offset, freq and the PPS fields are 0.
	clear(b[4:])
	put(24, 16000000)    // maxerror: NTP_PHASE_LIMIT
	put(32, 16000000)    // esterror
	put32(40, staUnsync) // status
	put(48, 2)           // constant
	put(56, 1)           // precision
	put(64, 32768000)    // tolerance: MAXFREQ_SCALED (500 ppm << 16)
	encodeTimeval(b[72:], t.Kernel().RealtimeNanos())
	put(88, 10000) // tick: 1e6 / USER_HZ
	if _, err := m.CopyOut(addr, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	return timeError, 0
}
