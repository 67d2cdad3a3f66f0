package linux

import (
	"encoding/binary"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

// Sizes of the timer structures on amd64.
const (
	// itimervalSize is sizeof(struct itimerval): interval, then value,
	// each a struct timeval of two 64-bit fields.
	itimervalSize = 32
	// itimerspecSize is sizeof(struct itimerspec): interval, then value.
	itimerspecSize = 32
	// sigeventSize is sizeof(struct sigevent), all of which
	// timer_create(2) reads: sigev_value (8 bytes), sigev_signo,
	// sigev_notify, then a union whose first int is the target thread of
	// SIGEV_THREAD_ID.
	sigeventSize = 64
)

// timersOf returns the timers of t's process.
func timersOf(t *kernel.Task) *kernel.TimerSet { return t.ThreadGroup().Timers() }

// decodeTimeval reads a struct timeval; ok is false if it is not valid
// (negative seconds, microseconds out of range).
func decodeTimeval(b []byte) (ns int64, ok bool) {
	sec := int64(binary.LittleEndian.Uint64(b[0:]))
	usec := int64(binary.LittleEndian.Uint64(b[8:]))
	if sec < 0 || usec < 0 || usec >= 1e6 {
		return 0, false
	}
	return timespecNanos(linux.Timespec{Sec: sec, Nsec: usec * 1e3}), true
}

// encodeTimeval writes ns as a struct timeval, truncated to microseconds.
func encodeTimeval(b []byte, ns int64) {
	binary.LittleEndian.PutUint64(b[0:], uint64(ns/1e9))
	binary.LittleEndian.PutUint64(b[8:], uint64(ns%1e9/1e3))
}

// copyOutItimerval writes an itimer setting. An armed timer shows at least
// 1us, so that it never looks disarmed.
func copyOutItimerval(t *kernel.Task, addr uintptr, value, interval int64) linux.Errno {
	if value > 0 && value < 1e3 {
		value = 1e3
	}
	var b [itimervalSize]byte
	encodeTimeval(b[0:], interval)
	encodeTimeval(b[16:], value)
	if _, err := t.MemoryManager().CopyOut(addr, b[:]); err != nil {
		return unix.EFAULT
	}
	return 0
}

// Setitimer implements setitimer(2). A NULL new value disarms the timer,
// as Linux still allows.
func Setitimer(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	which, newAddr, oldAddr := args[0].Int(), args[1].Pointer(), args[2].Pointer()
	var value, interval int64
	if newAddr != 0 {
		var b [itimervalSize]byte
		if _, err := t.MemoryManager().CopyIn(newAddr, b[:]); err != nil {
			return 0, unix.EFAULT
		}
		var okI, okV bool
		interval, okI = decodeTimeval(b[0:])
		value, okV = decodeTimeval(b[16:])
		if !okI || !okV {
			return 0, unix.EINVAL
		}
	}
	oldValue, oldInterval, err := timersOf(t).SetITimer(which, value, interval)
	if err != nil {
		return 0, errnoOf(err)
	}
	if oldAddr != 0 {
		return 0, copyOutItimerval(t, oldAddr, oldValue, oldInterval)
	}
	return 0, 0
}

// Getitimer implements getitimer(2).
func Getitimer(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	value, interval, err := timersOf(t).GetITimer(args[0].Int())
	if err != nil {
		return 0, errnoOf(err)
	}
	return 0, copyOutItimerval(t, args[1].Pointer(), value, interval)
}

// Alarm implements alarm(2): ITIMER_REAL in whole seconds. It returns the
// seconds that were left, rounded to nearest but never 0 for a pending
// alarm, as Linux does.
func Alarm(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	seconds := int64(args[0].Uint())
	old, _, err := timersOf(t).SetITimer(kernel.ITIMER_REAL, seconds*1e9, 0)
	if err != nil {
		return 0, errnoOf(err)
	}
	sec, nsec := old/1e9, old%1e9
	if (sec == 0 && nsec != 0) || nsec >= 5e8 {
		sec++
	}
	return uintptr(sec), 0
}

// TimerCreate implements timer_create(2).
func TimerCreate(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	clockID, evAddr, idAddr := args[0].Int(), args[1].Pointer(), args[2].Pointer()
	var ev *kernel.SigEvent
	if evAddr != 0 {
		var b [sigeventSize]byte
		if _, err := t.MemoryManager().CopyIn(evAddr, b[:]); err != nil {
			return 0, unix.EFAULT
		}
		ev = &kernel.SigEvent{
			Value:  binary.LittleEndian.Uint64(b[0:]),
			Signo:  int32(binary.LittleEndian.Uint32(b[8:])),
			Notify: int32(binary.LittleEndian.Uint32(b[12:])),
			TID:    int32(binary.LittleEndian.Uint32(b[16:])),
		}
	}
	cr, ok := lookupClock(t, clockID)
	if !ok {
		return 0, unix.EINVAL
	}
	if cr.timerEarly != 0 {
		return 0, cr.timerEarly
	}
	_, err := timersOf(t).CreateTimer(cr.c, ev, func(id int32) error {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(id))
		if _, err := t.MemoryManager().CopyOut(idAddr, b[:]); err != nil {
			return unix.EFAULT
		}
		if cr.timerLate != 0 {
			return cr.timerLate
		}
		return nil
	})
	if err != nil {
		return 0, errnoOf(err)
	}
	return 0, 0
}

// copyOutItimerspec writes a POSIX timer setting.
func copyOutItimerspec(t *kernel.Task, addr uintptr, value, interval int64) linux.Errno {
	var b [itimerspecSize]byte
	iv, v := linux.NsecToTimespec(interval), linux.NsecToTimespec(value)
	iv.Encode(b[0:])
	v.Encode(b[16:])
	if _, err := t.MemoryManager().CopyOut(addr, b[:]); err != nil {
		return unix.EFAULT
	}
	return 0
}

// TimerSettime implements timer_settime(2).
func TimerSettime(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	id, flags, newAddr, oldAddr := args[0].Int(), args[1].Int(), args[2].Pointer(), args[3].Pointer()
	if newAddr == 0 {
		return 0, unix.EINVAL
	}
	var b [itimerspecSize]byte
	if _, err := t.MemoryManager().CopyIn(newAddr, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	var iv, v linux.Timespec
	iv.Decode(b[0:])
	v.Decode(b[16:])
	if !timespecValid(iv) || !timespecValid(v) {
		return 0, unix.EINVAL
	}
	oldValue, oldInterval, err := timersOf(t).SetTimer(id, timespecNanos(v), timespecNanos(iv), flags&timerAbstime != 0)
	if err != nil {
		return 0, errnoOf(err)
	}
	if oldAddr != 0 {
		return 0, copyOutItimerspec(t, oldAddr, oldValue, oldInterval)
	}
	return 0, 0
}

// TimerGettime implements timer_gettime(2).
func TimerGettime(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	value, interval, err := timersOf(t).GetTimer(args[0].Int())
	if err != nil {
		return 0, errnoOf(err)
	}
	return 0, copyOutItimerspec(t, args[1].Pointer(), value, interval)
}

// TimerGetoverrun implements timer_getoverrun(2).
func TimerGetoverrun(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	n, err := timersOf(t).TimerOverrun(args[0].Int())
	if err != nil {
		return 0, errnoOf(err)
	}
	return uintptr(n), 0
}

// TimerDelete implements timer_delete(2).
func TimerDelete(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	if err := timersOf(t).DeleteTimer(args[0].Int()); err != nil {
		return 0, errnoOf(err)
	}
	return 0, 0
}
