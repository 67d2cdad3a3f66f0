// Package signalfd implements signalfd(2) files: reading one takes the
// reading task's pending signals in the file's mask (its own queue first,
// then its process's) and returns them as struct signalfd_siginfo, 128
// bytes each, instead of having them delivered. A read blocks while none
// is pending, unless the description is O_NONBLOCK (EAGAIN), and gives up
// with ERESTARTSYS when the task must handle something else (the
// context's Done). The file is readable while a signal in its mask is
// pending for the task that created it; pollers and blocked readers wait
// on the process's signal queue, which the kernel notifies whenever it
// queues a signal. The mask can be changed by signalfd(2) on the fd.
package signalfd

import (
	"context"
	"encoding/binary"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/anon"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/waiter"
)

// signalfd4 flags.
const (
	SFD_CLOEXEC  = linux.O_CLOEXEC
	SFD_NONBLOCK = linux.O_NONBLOCK
)

// InfoSize is sizeof(struct signalfd_siginfo).
const InfoSize = 128

// SignalFD is a signalfd's file description implementation.
type SignalFD struct {
	vfs.FileDescriptionDefaultImpl
	// target is the task that created the file: readiness is judged by
	// its pending signals (reads use the reading task's).
	target *kernel.Task
	vfsfd  *vfs.FileDescription

	// mu guards mask.
	mu   sync.Mutex
	mask linux.SignalSet
}

// New returns a description (O_RDONLY) of a new signalfd of t for the
// signals in mask. flags may hold SFD_NONBLOCK and SFD_CLOEXEC (which
// belongs to the caller's fd table); anything else is EINVAL.
func New(t *kernel.Task, mask linux.SignalSet, flags uint32) (*vfs.FileDescription, error) {
	if flags&^uint32(SFD_CLOEXEC|SFD_NONBLOCK) != 0 {
		return nil, unix.EINVAL
	}
	vd := anon.NewVD(t.Kernel().VFS(), t.Credentials(), "[signalfd]")
	defer vd.DecRef()
	s := &SignalFD{target: t, mask: cleanMask(mask)}
	fd := vfs.NewFileDescription(s, linux.O_RDONLY|flags&SFD_NONBLOCK, vd, vfs.FileDescriptionOptions{Stream: true})
	s.vfsfd = fd
	return fd, nil
}

// cleanMask drops SIGKILL and SIGSTOP, which a signalfd never takes.
func cleanMask(m linux.SignalSet) linux.SignalSet {
	return m &^ linux.MakeSignalSet(linux.SIGKILL, linux.SIGSTOP)
}

// SetMask replaces the file's mask (signalfd(2) on an existing fd).
func (s *SignalFD) SetMask(m linux.SignalSet) {
	s.mu.Lock()
	s.mask = cleanMask(m)
	s.mu.Unlock()
	s.target.ThreadGroup().SignalQueue().Notify(waiter.EventIn)
}

// Mask returns the file's mask (fdinfo's sigmask).
func (s *SignalFD) Mask() linux.SignalSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mask
}

// Read implements vfs.FileDescriptionImpl.Read.
func (s *SignalFD) Read(ctx context.Context, dst vfs.IOSequence) (int64, error) {
	if dst.NumBytes() < InfoSize {
		return 0, unix.EINVAL
	}
	t := kernel.TaskFromContext(ctx)
	if t == nil {
		t = s.target
	}
	max := dst.NumBytes() / InfoSize
	var (
		done int64
		ent  *waiter.Entry
		ch   <-chan struct{}
	)
	q := t.ThreadGroup().SignalQueue()
	defer func() {
		if ent != nil {
			q.EventUnregister(ent)
		}
	}()
	for {
		for done < max {
			info, ok := t.DequeueSignalIn(s.Mask())
			if !ok {
				break
			}
			b := Encode(&info)
			if _, err := dst.CopyOutAt(ctx, done*InfoSize, b[:]); err != nil {
				// Linux loses the signal too: it was dequeued.
				if done > 0 {
					return done * InfoSize, nil
				}
				return 0, err
			}
			done++
		}
		if done > 0 {
			return done * InfoSize, nil
		}
		if s.vfsfd.StatusFlags()&linux.O_NONBLOCK != 0 {
			return 0, unix.EAGAIN
		}
		if ent == nil {
			ent, ch = waiter.NewEntry(waiter.EventIn)
			q.EventRegister(ent)
			continue // recheck now that we are registered
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, linux.ERESTARTSYS
		}
	}
}

// Readiness implements waiter.Waitable.Readiness.
func (s *SignalFD) Readiness(mask waiter.EventMask) waiter.EventMask {
	if s.target.HasPendingIn(s.Mask()) {
		return mask & waiter.ReadableEvents
	}
	return 0
}

// EventRegister implements waiter.Waitable.EventRegister.
func (s *SignalFD) EventRegister(e *waiter.Entry) {
	s.target.ThreadGroup().SignalQueue().EventRegister(e)
}

// EventUnregister implements waiter.Waitable.EventUnregister.
func (s *SignalFD) EventUnregister(e *waiter.Entry) {
	s.target.ThreadGroup().SignalQueue().EventUnregister(e)
}

// SignalFD is pollable.
var _ waiter.Waitable = (*SignalFD)(nil)

// Encode returns info as struct signalfd_siginfo, with the fields Linux's
// signalfd_copyinfo fills for the signal's kind.
func Encode(info *linux.SignalInfo) [InfoSize]byte {
	var b [InfoSize]byte
	le := binary.LittleEndian
	sig := linux.Signal(info.Signo)
	le.PutUint32(b[0:], uint32(info.Signo))
	le.PutUint32(b[4:], uint32(info.Errno))
	le.PutUint32(b[8:], uint32(info.Code))
	value := func() {
		le.PutUint32(b[44:], uint32(info.Value()))
		le.PutUint64(b[48:], info.Value())
	}
	switch {
	case info.Code == linux.SI_TIMER:
		le.PutUint32(b[24:], uint32(info.TimerID()))
		le.PutUint32(b[32:], uint32(info.Overrun()))
		value()
	case info.Code > 0 && (sig == linux.SIGSEGV || sig == linux.SIGBUS || sig == linux.SIGILL ||
		sig == linux.SIGFPE || sig == linux.SIGTRAP):
		le.PutUint64(b[72:], info.Addr())
	case info.Code > 0 && sig == linux.SIGCHLD:
		le.PutUint32(b[12:], uint32(info.PID()))
		le.PutUint32(b[16:], info.UID())
		le.PutUint32(b[40:], uint32(info.Status()))
		le.PutUint64(b[56:], uint64(info.Utime()))
		le.PutUint64(b[64:], uint64(info.Stime()))
	default:
		le.PutUint32(b[12:], uint32(info.PID()))
		le.PutUint32(b[16:], info.UID())
		value()
	}
	return b
}
