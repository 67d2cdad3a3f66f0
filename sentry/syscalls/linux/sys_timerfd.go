package linux

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/timerfd"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"golang.org/x/sys/unix"
)

func init() { registrars = append(registrars, registerTimerfd) }

func registerTimerfd(b *tableBuilder) {
	b.partial(linux.SYS_TIMERFD_CREATE, TimerfdCreate, "REALTIME, MONOTONIC, BOOTTIME (equal to MONOTONIC: the sandbox never suspends) and the two ALARM clocks (CAP_WAKE_ALARM, else EPERM; they behave as REALTIME and BOOTTIME, there being no suspend to wake from); /proc/[pid]/fdinfo lacks the timer lines")
	b.partial(linux.SYS_TIMERFD_SETTIME, TimerfdSettime, "TFD_TIMER_CANCEL_ON_SET is accepted and never cancels a read (ECANCELED): the sandbox's clock is never set")
	b.full(linux.SYS_TIMERFD_GETTIME, TimerfdGettime)
}

// timerfdClock returns the clock a timerfd on clock id runs on: EINVAL
// for a clock timerfd_create does not take, EPERM for an alarm clock
// without CAP_WAKE_ALARM (Linux's order of checks).
func timerfdClock(t *kernel.Task, id int32) (kernel.Clock, linux.Errno) {
	k := t.Kernel()
	switch id {
	case linux.CLOCK_REALTIME:
		return k.RealtimeClock(), 0
	case linux.CLOCK_MONOTONIC, linux.CLOCK_BOOTTIME:
		// The sandbox never suspends, so BOOTTIME equals MONOTONIC.
		return k.MonotonicClock(), 0
	case linux.CLOCK_REALTIME_ALARM, linux.CLOCK_BOOTTIME_ALARM:
		// Linux's timerfd does not need an RTC for these (unlike
		// timer_create and clock_nanosleep): an alarm timer is an
		// ordinary one that may also wake the machine from suspend,
		// which the sandbox never enters.
		if !t.Credentials().HasCapability(unix.CAP_WAKE_ALARM) {
			return nil, unix.EPERM
		}
		if id == linux.CLOCK_REALTIME_ALARM {
			return k.RealtimeClock(), 0
		}
		return k.MonotonicClock(), 0
	}
	return nil, unix.EINVAL
}

// TimerfdCreate implements timerfd_create(2).
func TimerfdCreate(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	id, flags := args[0].Int(), args[1].Uint()
	if flags&^uint32(timerfd.CreateFlags) != 0 {
		return 0, unix.EINVAL
	}
	c, errno := timerfdClock(t, id)
	if errno != 0 {
		return 0, errno
	}
	f, err := timerfd.New(t.Kernel().VFS(), t.Credentials(), c, flags)
	if err != nil {
		return 0, errnoOf(err)
	}
	defer f.DecRef(t.Ctx())
	fd, err := t.FDTable().NewFD(0, f, vfs.FDFlags{CloseOnExec: flags&timerfd.TFD_CLOEXEC != 0})
	if err != nil {
		return 0, errnoOf(err)
	}
	return uintptr(fd), 0
}

// getTimerfd returns the timerfd fd refers to (with a reference on its
// description, which the caller drops): EBADF if fd is not open (or is
// O_PATH), EINVAL if it is not a timerfd.
func getTimerfd(t *kernel.Task, fd int32) (*vfs.FileDescription, *timerfd.TimerFD, linux.Errno) {
	f, errno := getFile(t, fd)
	if errno != 0 {
		return nil, nil, errno
	}
	if f.IsPath() {
		f.DecRef(t.Ctx())
		return nil, nil, unix.EBADF
	}
	tfd, ok := f.Impl().(*timerfd.TimerFD)
	if !ok {
		f.DecRef(t.Ctx())
		return nil, nil, unix.EINVAL
	}
	return f, tfd, 0
}

// TimerfdSettime implements timerfd_settime(2). As on Linux the new
// setting is read first (EFAULT), then checked with the flags (EINVAL),
// then the fd is looked up; a fault writing the old setting is reported
// after the timer has been set.
func TimerfdSettime(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, flags, newAddr, oldAddr := args[0].Int(), args[1].Int(), args[2].Pointer(), args[3].Pointer()
	var b [itimerspecSize]byte
	if _, err := t.MemoryManager().CopyIn(newAddr, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	var iv, v linux.Timespec
	iv.Decode(b[0:])
	v.Decode(b[16:])
	if flags&^timerfd.SettimeFlags != 0 || !timespecValid(iv) || !timespecValid(v) {
		return 0, unix.EINVAL
	}
	f, tfd, errno := getTimerfd(t, fd)
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	// TFD_TIMER_CANCEL_ON_SET would make a read fail with ECANCELED
	// once CLOCK_REALTIME is set; nothing in the sandbox sets it
	// (clock_settime is EPERM), so it never fires.
	oldValue, oldInterval := tfd.SetTime(timespecNanos(v), timespecNanos(iv), flags&timerfd.TFD_TIMER_ABSTIME != 0)
	if oldAddr != 0 {
		return 0, copyOutItimerspec(t, oldAddr, oldValue, oldInterval)
	}
	return 0, 0
}

// TimerfdGettime implements timerfd_gettime(2).
func TimerfdGettime(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	f, tfd, errno := getTimerfd(t, args[0].Int())
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	value, interval := tfd.GetTime()
	return 0, copyOutItimerspec(t, args[1].Pointer(), value, interval)
}
