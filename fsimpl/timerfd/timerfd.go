// Package timerfd implements timerfd_create(2) files: an interval timer on
// a clock whose expirations are counted in the file instead of being
// signalled. read(2) takes the count as an 8-byte integer (EINVAL for a
// shorter buffer), blocking while it is zero unless the description is
// O_NONBLOCK (EAGAIN); a blocked read gives up with ERESTARTSYS when the
// context's Done channel (the task's interrupt) closes. The file is
// readable (EPOLLIN, and nothing else, as on Linux) while the count is
// non-zero; readers, poll and epoll wait on one waiter.Queue.
//
// The timer is a kernel.Timer. Like Linux's, a periodic timer is not
// re-armed after it expires until someone looks at it: the expiration
// handler counts the expirations it was given and holds the timer; a
// read or timerfd_gettime restarts it and adds the expirations it skipped
// meanwhile (Timer.TakeMissed), so an unread periodic timerfd costs no
// wake-ups. timerfd_settime replaces the kernel.Timer with a fresh one and
// clears the count; an expiration of the old timer that races with it is
// recognised by its timer and dropped.
package timerfd

import (
	"context"
	"encoding/binary"
	"math"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/anon"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/waiter"
)

// timerfd_create(2) and timerfd_settime(2) flags
// (include/uapi/linux/timerfd.h).
const (
	TFD_TIMER_ABSTIME       = 1
	TFD_TIMER_CANCEL_ON_SET = 2
	TFD_CLOEXEC             = linux.O_CLOEXEC
	TFD_NONBLOCK            = linux.O_NONBLOCK

	// CreateFlags are the flags timerfd_create accepts.
	CreateFlags = TFD_CLOEXEC | TFD_NONBLOCK
	// SettimeFlags are the flags timerfd_settime accepts.
	SettimeFlags = TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET

	// TFD_IOC_SET_TICKS is _IOW('T', 0, u64): set the expiration
	// count (for checkpoint/restore).
	TFD_IOC_SET_TICKS = 0x40085400
)

// TimerFD is a timerfd's file description implementation.
type TimerFD struct {
	vfs.FileDescriptionDefaultImpl
	clock kernel.Clock
	queue waiter.Queue
	vfsfd *vfs.FileDescription

	// mu guards timer and ticks. It is taken before the timer's own
	// lock; the expiration handler takes it without holding that.
	mu sync.Mutex
	// timer is the current setting's timer; nil once the file is
	// released.
	timer *kernel.Timer
	// ticks counts the expirations not yet read.
	ticks uint64
}

// New implements timerfd_create(2) on clock c: a description (O_RDWR) of
// a new, disarmed timerfd. flags may hold TFD_NONBLOCK and TFD_CLOEXEC
// (which belongs to the caller's fd table and is ignored here); anything
// else is EINVAL. Which clocks exist, and who may use them, is the
// caller's business.
func New(v *vfs.VirtualFilesystem, creds *vfs.Credentials, c kernel.Clock, flags uint32) (*vfs.FileDescription, error) {
	if flags&^uint32(CreateFlags) != 0 {
		return nil, unix.EINVAL
	}
	vd := anon.NewVD(v, creds, "[timerfd]")
	defer vd.DecRef()
	tfd := &TimerFD{clock: c}
	tfd.timer = tfd.newTimer()
	// Linux's timerfd seeks with noop_llseek (lseek succeeds and leaves
	// the offset at 0) but has no pread or pwrite (ESPIPE): the impl
	// keeps the offset, which stays 0.
	fd := vfs.NewFileDescription(tfd, linux.O_RDWR|flags&TFD_NONBLOCK, vd, vfs.FileDescriptionOptions{ImplOffset: true})
	tfd.vfsfd = fd
	return fd, nil
}

// newTimer returns a disarmed timer whose expirations count only while it
// is the file's current timer.
func (tfd *TimerFD) newTimer() *kernel.Timer {
	var tm *kernel.Timer
	tm = kernel.NewTimer(tfd.clock, func(n uint64) bool { return tfd.expire(tm, n) })
	return tm
}

// expire is tm's expiration handler: it counts n expirations and wakes
// readers. It holds a periodic timer (returns false) until a read or
// timerfd_gettime looks at it, as Linux does.
func (tfd *TimerFD) expire(tm *kernel.Timer, n uint64) bool {
	tfd.mu.Lock()
	if tfd.timer != tm {
		// Replaced by timerfd_settime, or released.
		tfd.mu.Unlock()
		return false
	}
	tfd.ticks = satAdd(tfd.ticks, n)
	tfd.mu.Unlock()
	tfd.queue.Notify(waiter.ReadableEvents)
	return false
}

// catchUpLocked restarts a held periodic timer and counts the expirations
// it skipped since it was held. mu must be held.
func (tfd *TimerFD) catchUpLocked() {
	tfd.timer.Rearm()
	if m := tfd.timer.TakeMissed(); m > 0 {
		tfd.ticks = satAdd(tfd.ticks, uint64(m))
	}
}

// satAdd returns a+b, saturated.
func satAdd(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

// SetTime implements timerfd_settime(2): the timer expires at value
// (nanoseconds from now, or on the clock if abs) and then every interval;
// a zero value disarms it (the interval is still reported by GetTime, as
// on Linux). Expirations not yet read are forgotten. It returns the
// previous setting as GetTime would have.
func (tfd *TimerFD) SetTime(value, interval int64, abs bool) (oldValue, oldInterval int64) {
	tfd.mu.Lock()
	defer tfd.mu.Unlock()
	if tfd.timer == nil {
		return 0, 0
	}
	oldValue, oldInterval = tfd.timer.Get()
	tfd.timer.Stop()
	tfd.timer = tfd.newTimer()
	tfd.ticks = 0
	tfd.timer.Set(value, interval, abs)
	return oldValue, oldInterval
}

// GetTime implements timerfd_gettime(2): the time until the next
// expiration (0 if disarmed) and the interval, in nanoseconds. Like
// Linux, it restarts a periodic timer held since it expired and counts the
// expirations it skipped.
func (tfd *TimerFD) GetTime() (value, interval int64) {
	tfd.mu.Lock()
	defer tfd.mu.Unlock()
	if tfd.timer == nil {
		return 0, 0
	}
	tfd.catchUpLocked()
	return tfd.timer.Get()
}

// nonblocking reports whether the description is O_NONBLOCK now (F_SETFL
// may change it).
func (tfd *TimerFD) nonblocking() bool {
	return tfd.vfsfd.StatusFlags()&linux.O_NONBLOCK != 0
}

// take returns and clears the expiration count, or 0 if there is none.
func (tfd *TimerFD) take() uint64 {
	tfd.mu.Lock()
	defer tfd.mu.Unlock()
	if tfd.ticks == 0 || tfd.timer == nil {
		return 0
	}
	tfd.catchUpLocked()
	n := tfd.ticks
	tfd.ticks = 0
	return n
}

// Read implements vfs.FileDescriptionImpl.Read. As on Linux, the count is
// taken before it is copied out: if the copy faults, the expirations are
// lost and the read fails with EFAULT.
func (tfd *TimerFD) Read(ctx context.Context, dst vfs.IOSequence) (int64, error) {
	if dst.NumBytes() < 8 {
		return 0, unix.EINVAL
	}
	var (
		ent *waiter.Entry
		ch  <-chan struct{}
	)
	defer func() {
		if ent != nil {
			tfd.queue.EventUnregister(ent)
		}
	}()
	for {
		if n := tfd.take(); n > 0 {
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], n)
			if c, err := dst.CopyOutAt(ctx, 0, b[:]); c < 8 || err != nil {
				return 0, unix.EFAULT
			}
			return 8, nil
		}
		if tfd.nonblocking() {
			return 0, unix.EAGAIN
		}
		if ent == nil {
			// Register, then check again, so that an expiration
			// in between is not missed.
			ent, ch = waiter.NewEntry(waiter.EventIn)
			tfd.queue.EventRegister(ent)
			continue
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, linux.ERESTARTSYS
		}
	}
}

// SetTicks implements TFD_IOC_SET_TICKS: the expiration count becomes n
// (EINVAL for 0) and readers are woken. The timer is not changed.
func (tfd *TimerFD) SetTicks(n uint64) error {
	if n == 0 {
		return unix.EINVAL
	}
	tfd.mu.Lock()
	tfd.ticks = n
	tfd.mu.Unlock()
	tfd.queue.Notify(waiter.ReadableEvents)
	return nil
}

// Ioctl implements vfs.FileDescriptionImpl.Ioctl: TFD_IOC_SET_TICKS, whose
// argument is a u64 in the calling task's memory; anything else is
// ENOTTY.
func (tfd *TimerFD) Ioctl(ctx context.Context, cmd uint32, arg uintptr) (uintptr, error) {
	if cmd != TFD_IOC_SET_TICKS {
		return 0, unix.ENOTTY
	}
	t := kernel.TaskFromContext(ctx)
	if t == nil {
		return 0, unix.EFAULT
	}
	var b [8]byte
	if n, err := t.MemoryManager().CopyIn(arg, b[:]); n < len(b) || err != nil {
		return 0, unix.EFAULT
	}
	return 0, tfd.SetTicks(binary.LittleEndian.Uint64(b[:]))
}

// Seek implements vfs.FileDescriptionImpl.Seek as Linux's noop_llseek:
// the offset is always 0.
func (tfd *TimerFD) Seek(context.Context, int64, int64, int32) (int64, error) {
	return 0, nil
}

// Sync implements vfs.FileDescriptionImpl.Sync: a timerfd has no fsync
// (EINVAL).
func (tfd *TimerFD) Sync(context.Context) error { return unix.EINVAL }

// Release implements vfs.FileDescriptionImpl.Release: the timer stops, so
// no Go timer outlives the file.
func (tfd *TimerFD) Release(context.Context) {
	tfd.mu.Lock()
	defer tfd.mu.Unlock()
	if tfd.timer != nil {
		tfd.timer.Stop()
		tfd.timer = nil
	}
}

// Readiness implements waiter.Waitable.Readiness: EPOLLIN while
// expirations are waiting to be read (Linux reports neither EPOLLRDNORM
// nor EPOLLOUT for a timerfd).
func (tfd *TimerFD) Readiness(mask waiter.EventMask) waiter.EventMask {
	tfd.mu.Lock()
	defer tfd.mu.Unlock()
	if tfd.ticks > 0 {
		return waiter.EventIn & mask
	}
	return 0
}

// EventRegister implements waiter.Waitable.EventRegister.
func (tfd *TimerFD) EventRegister(e *waiter.Entry) { tfd.queue.EventRegister(e) }

// EventUnregister implements waiter.Waitable.EventUnregister.
func (tfd *TimerFD) EventUnregister(e *waiter.Entry) { tfd.queue.EventUnregister(e) }

// TimerFD is pollable.
var _ waiter.Waitable = (*TimerFD)(nil)
