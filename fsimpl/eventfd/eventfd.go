// Package eventfd implements eventfd(2) files: a 64-bit counter that
// write(2) adds to and read(2) takes (all of it, or one at a time with
// EFD_SEMAPHORE), blocking a reader while it is zero and a writer while
// the sum would pass 0xfffffffffffffffe, unless the description is
// O_NONBLOCK (EAGAIN). Reads and writes move exactly 8 bytes (EINVAL for
// a shorter buffer, and for writing 0xffffffffffffffff). Waits end with
// ERESTARTSYS when the context's Done channel (the task's interrupt)
// closes. The counter's state is guarded by one mutex; readers, writers,
// poll and epoll wait on one waiter.Queue: the file is readable while the
// counter is non-zero and writable while it is below the maximum.
package eventfd

import (
	"context"
	"encoding/binary"
	"github.com/palisade-sandbox/palisade/fsimpl/anon"
	"math"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/waiter"
)

// eventfd2 flags (include/uapi/linux/eventfd.h).
const (
	EFD_SEMAPHORE = 1
	EFD_CLOEXEC   = linux.O_CLOEXEC
	EFD_NONBLOCK  = linux.O_NONBLOCK
)

// maxCount is the largest value the counter holds.
const maxCount = math.MaxUint64 - 1

// EventFD is an eventfd's file description implementation.
type EventFD struct {
	vfs.FileDescriptionDefaultImpl
	queue     waiter.Queue
	semaphore bool
	vfsfd     *vfs.FileDescription

	// mu guards count.
	mu    sync.Mutex
	count uint64
}

// New implements eventfd2(2): a description (O_RDWR) of a new eventfd
// whose counter starts at initval. flags may hold EFD_SEMAPHORE,
// EFD_NONBLOCK and EFD_CLOEXEC (which belongs to the caller's fd table
// and is ignored here); anything else is EINVAL.
func New(v *vfs.VirtualFilesystem, creds *vfs.Credentials, initval uint64, flags uint32) (*vfs.FileDescription, error) {
	if flags&^uint32(EFD_SEMAPHORE|EFD_CLOEXEC|EFD_NONBLOCK) != 0 {
		return nil, unix.EINVAL
	}
	vd := anon.NewVD(v, creds, "[eventfd]")
	defer vd.DecRef()
	e := &EventFD{count: initval, semaphore: flags&EFD_SEMAPHORE != 0}
	fd := vfs.NewFileDescription(e, linux.O_RDWR|flags&EFD_NONBLOCK, vd, vfs.FileDescriptionOptions{Stream: true})
	e.vfsfd = fd
	return fd, nil
}

func (e *EventFD) nonblocking() bool {
	return e.vfsfd.StatusFlags()&linux.O_NONBLOCK != 0
}

// Count returns the counter (fdinfo's eventfd-count).
func (e *EventFD) Count() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.count
}

// wait sleeps until ch fires or ctx's interrupt closes (ERESTARTSYS).
func wait(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return linux.ERESTARTSYS
	}
}

// Read implements vfs.FileDescriptionImpl.Read.
func (e *EventFD) Read(ctx context.Context, dst vfs.IOSequence) (int64, error) {
	if dst.NumBytes() < 8 {
		return 0, unix.EINVAL
	}
	var (
		ent *waiter.Entry
		ch  <-chan struct{}
	)
	defer func() {
		if ent != nil {
			e.queue.EventUnregister(ent)
		}
	}()
	for {
		e.mu.Lock()
		if e.count > 0 {
			v := e.count
			if e.semaphore {
				v = 1
			}
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], v)
			if _, err := dst.CopyOutAt(ctx, 0, b[:]); err != nil {
				e.mu.Unlock()
				return 0, err
			}
			e.count -= v
			e.mu.Unlock()
			e.queue.Notify(waiter.WritableEvents)
			return 8, nil
		}
		if e.nonblocking() {
			e.mu.Unlock()
			return 0, unix.EAGAIN
		}
		if ent == nil {
			ent, ch = waiter.NewEntry(waiter.ReadableEvents)
			e.queue.EventRegister(ent)
			e.mu.Unlock()
			continue // recheck now that we are registered
		}
		e.mu.Unlock()
		if err := wait(ctx, ch); err != nil {
			return 0, err
		}
	}
}

// Write implements vfs.FileDescriptionImpl.Write.
func (e *EventFD) Write(ctx context.Context, src vfs.IOSequence) (int64, error) {
	if src.NumBytes() < 8 {
		return 0, unix.EINVAL
	}
	var b [8]byte
	if n, err := src.CopyInAt(ctx, 0, b[:]); n < 8 {
		if err == nil {
			err = unix.EFAULT
		}
		return 0, err
	}
	v := binary.LittleEndian.Uint64(b[:])
	if v == math.MaxUint64 {
		return 0, unix.EINVAL
	}
	var (
		ent *waiter.Entry
		ch  <-chan struct{}
	)
	defer func() {
		if ent != nil {
			e.queue.EventUnregister(ent)
		}
	}()
	for {
		e.mu.Lock()
		if v <= maxCount-e.count {
			e.count += v
			e.mu.Unlock()
			if v > 0 {
				e.queue.Notify(waiter.ReadableEvents)
			}
			return 8, nil
		}
		if e.nonblocking() {
			e.mu.Unlock()
			return 0, unix.EAGAIN
		}
		if ent == nil {
			ent, ch = waiter.NewEntry(waiter.WritableEvents)
			e.queue.EventRegister(ent)
			e.mu.Unlock()
			continue
		}
		e.mu.Unlock()
		if err := wait(ctx, ch); err != nil {
			return 0, err
		}
	}
}

// Readiness implements waiter.Waitable.Readiness.
func (e *EventFD) Readiness(mask waiter.EventMask) waiter.EventMask {
	e.mu.Lock()
	defer e.mu.Unlock()
	var m waiter.EventMask
	if e.count > 0 {
		m |= waiter.ReadableEvents
	}
	if e.count < maxCount {
		m |= waiter.WritableEvents
	}
	return m & mask
}

// EventRegister implements waiter.Waitable.EventRegister.
func (e *EventFD) EventRegister(ent *waiter.Entry) { e.queue.EventRegister(ent) }

// EventUnregister implements waiter.Waitable.EventUnregister.
func (e *EventFD) EventUnregister(ent *waiter.Entry) { e.queue.EventUnregister(ent) }

// EventFD is pollable.
var _ waiter.Waitable = (*EventFD)(nil)
