package linux

import (
	"encoding/binary"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

// CPU-clock encoding of negative clock IDs (include/linux/posix-timers.h):
// ~pid << 3 | perThread << 2 | which.
const (
	cpuClockPerThread = 4
	cpuClockWhichMask = 3
	cpuClockMax       = 3
)

// clockNanos returns the current value of clock id for t.
func clockNanos(t *kernel.Task, id int32) (int64, linux.Errno) {
	k := t.Kernel()
	switch id {
	case linux.CLOCK_REALTIME, linux.CLOCK_REALTIME_COARSE, linux.CLOCK_REALTIME_ALARM, linux.CLOCK_TAI:
		// The TAI offset is 0 until something sets it, as on Linux.
		return k.RealtimeNanos(), 0
	case linux.CLOCK_MONOTONIC, linux.CLOCK_MONOTONIC_COARSE, linux.CLOCK_MONOTONIC_RAW,
		linux.CLOCK_BOOTTIME, linux.CLOCK_BOOTTIME_ALARM:
		// The sandbox never suspends, so BOOTTIME equals MONOTONIC.
		return k.MonotonicNanos(), 0
	case linux.CLOCK_PROCESS_CPUTIME_ID:
		return t.ThreadGroup().CPUNanos(), 0
	case linux.CLOCK_THREAD_CPUTIME_ID:
		return t.CPUNanos(), 0
	}
	if id >= 0 {
		return 0, unix.EINVAL
	}
	// A CPU clock of a process or thread named by ID; only the caller's
	// own are known until there are other tasks.
	if id&cpuClockWhichMask == cpuClockMax {
		return 0, unix.EINVAL
	}
	pid := ^(id >> 3)
	if id&cpuClockPerThread != 0 {
		if pid == 0 || pid == t.ThreadID() {
			return t.CPUNanos(), 0
		}
		return 0, unix.EINVAL
	}
	if pid == 0 || pid == t.ThreadGroup().PID() {
		return t.ThreadGroup().CPUNanos(), 0
	}
	return 0, unix.EINVAL
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

// ClockGettime implements clock_gettime(2).
func ClockGettime(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	ns, errno := clockNanos(t, args[0].Int())
	if errno != 0 {
		return 0, errno
	}
	return 0, copyOutTimespec(t, args[1].Pointer(), ns)
}

// ClockGetres implements clock_getres(2): every clock has nanosecond
// resolution except the coarse ones, which tick at the scheduler rate.
func ClockGetres(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	id := args[0].Int()
	if _, errno := clockNanos(t, id); errno != 0 {
		return 0, errno
	}
	addr := args[1].Pointer()
	if addr == 0 {
		return 0, 0
	}
	res := int64(1)
	if id == linux.CLOCK_REALTIME_COARSE || id == linux.CLOCK_MONOTONIC_COARSE {
		res = 4000000 // CONFIG_HZ=250
	}
	return 0, copyOutTimespec(t, addr, res)
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
