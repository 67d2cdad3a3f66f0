// Package waiter is the readiness event mechanism every pollable file
// shares: an EventMask with the values of epoll(7)'s EPOLL* bits (equal to
// poll(2)'s POLL* bits on amd64), a Queue of Entries that an object
// notifies when its readiness changes, and the Waitable interface that
// poll, select and epoll use to ask a file what is ready now and to be
// told when that may have changed.
//
// The protocol is register-then-check: a waiter registers an Entry with
// EventRegister, then asks Readiness, and only then sleeps until the entry
// fires. An object changes its state first and calls Queue.Notify after,
// so a change is either seen by the waiter's Readiness call or wakes it.
// Notifications are hints: a woken waiter asks Readiness again, so
// spurious wake-ups are harmless. An Entry either puts a token on a
// channel (blocking syscalls) or calls a function (epoll); callbacks run
// with the queue's lock held, so after EventUnregister returns the entry
// is never called again, and a callback must not block, must not
// register or unregister entries on the queue that calls it, and must not
// take a lock held by code that calls Notify, EventRegister or
// EventUnregister of that queue.
package waiter

import (
	"sync"
	"sync/atomic"
)

// EventMask is a set of readiness events.
type EventMask uint32

// Readiness events, with the values of EPOLL* (and POLL*) bits.
const (
	EventIn     EventMask = 0x001  // EPOLLIN: data to read.
	EventPri    EventMask = 0x002  // EPOLLPRI: exceptional condition.
	EventOut    EventMask = 0x004  // EPOLLOUT: writing does not block.
	EventErr    EventMask = 0x008  // EPOLLERR: error condition.
	EventHUp    EventMask = 0x010  // EPOLLHUP: hang-up.
	EventNVal   EventMask = 0x020  // POLLNVAL: not an open file (poll only).
	EventRdNorm EventMask = 0x040  // EPOLLRDNORM
	EventRdBand EventMask = 0x080  // EPOLLRDBAND
	EventWrNorm EventMask = 0x100  // EPOLLWRNORM
	EventWrBand EventMask = 0x200  // EPOLLWRBAND
	EventMsg    EventMask = 0x400  // EPOLLMSG
	EventRdHUp  EventMask = 0x2000 // EPOLLRDHUP: peer shut down writing.

	// ReadableEvents is what a file reports when a read would not block.
	ReadableEvents = EventIn | EventRdNorm
	// WritableEvents is what a file reports when a write would not block.
	WritableEvents = EventOut | EventWrNorm
	// AlwaysReported are reported by poll and epoll whether asked for or
	// not.
	AlwaysReported = EventErr | EventHUp
	// DefaultReadiness is the readiness of files that cannot block (a
	// regular file, /dev/null), Linux's DEFAULT_POLLMASK.
	DefaultReadiness = ReadableEvents | WritableEvents
	// AllEvents are the bits a file may report.
	AllEvents = EventIn | EventPri | EventOut | EventErr | EventHUp | EventRdNorm |
		EventRdBand | EventWrNorm | EventWrBand | EventMsg | EventRdHUp
)

// Waitable is implemented by files whose readiness can change (pipes,
// eventfds, epoll instances, host streams). Files that do not implement it
// are always ready for reading and writing (DefaultReadiness).
type Waitable interface {
	// Readiness returns the events of mask that are ready now, plus any
	// AlwaysReported events that hold.
	Readiness(mask EventMask) EventMask
	// EventRegister makes e fire (at least) when an event in e's mask may
	// have become ready.
	EventRegister(e *Entry)
	// EventUnregister undoes EventRegister; e does not fire afterwards.
	EventUnregister(e *Entry)
}

// Entry is one registration: when an event in its mask is notified it
// puts a token on its channel without blocking (one pending token is
// enough: the woken waiter rechecks readiness), or calls its function.
type Entry struct {
	mask atomic.Uint32
	ch   chan struct{}
	fn   func(EventMask)
}

// NewEntry returns an entry for the events in mask and the channel on
// which it is woken.
func NewEntry(mask EventMask) (*Entry, <-chan struct{}) {
	ch := make(chan struct{}, 1)
	return NewChannelEntry(mask, ch), ch
}

// NewChannelEntry returns an entry that wakes ch, which should have a
// buffer of one: several entries may share it (poll's one wait on many
// files).
func NewChannelEntry(mask EventMask, ch chan struct{}) *Entry {
	e := &Entry{ch: ch}
	e.mask.Store(uint32(mask))
	return e
}

// NewFunctionEntry returns an entry that calls fn with the notified
// events it is interested in. fn runs under the notifying queue's lock;
// see the package comment for what it may do.
func NewFunctionEntry(mask EventMask, fn func(EventMask)) *Entry {
	e := &Entry{fn: fn}
	e.mask.Store(uint32(mask))
	return e
}

// Mask returns the events the entry is interested in.
func (e *Entry) Mask() EventMask { return EventMask(e.mask.Load()) }

// SetMask changes the events the entry is interested in.
func (e *Entry) SetMask(m EventMask) { e.mask.Store(uint32(m)) }

// Notify fires the entry if mask holds an event it is interested in;
// every entry is interested in the AlwaysReported events. Queue.Notify
// calls it; objects that track registrations themselves (host files) call
// it directly.
func (e *Entry) Notify(mask EventMask) {
	m := mask & (e.Mask() | AlwaysReported)
	if m == 0 {
		return
	}
	if e.fn != nil {
		e.fn(m)
		return
	}
	select {
	case e.ch <- struct{}{}:
	default:
	}
}

// Queue is the set of entries waiting for readiness events of one object.
// The zero value is ready to use.
type Queue struct {
	// mu guards entries and serializes notifications.
	mu      sync.Mutex
	entries []*Entry
}

// EventRegister adds e to the queue.
func (q *Queue) EventRegister(e *Entry) {
	q.mu.Lock()
	q.entries = append(q.entries, e)
	q.mu.Unlock()
}

// EventUnregister removes e from the queue; once it returns, e is not
// notified by this queue again.
func (q *Queue) EventUnregister(e *Entry) {
	q.mu.Lock()
	for i, x := range q.entries {
		if x == e {
			last := len(q.entries) - 1
			q.entries[i] = q.entries[last]
			q.entries[last] = nil
			q.entries = q.entries[:last]
			break
		}
	}
	if len(q.entries) == 0 {
		q.entries = nil
	}
	q.mu.Unlock()
}

// Notify fires the entries interested in any event of mask.
func (q *Queue) Notify(mask EventMask) {
	q.mu.Lock()
	for _, e := range q.entries {
		e.Notify(mask)
	}
	q.mu.Unlock()
}

// Events returns the union of the masks of the registered entries (what
// some waiter is interested in).
func (q *Queue) Events() EventMask {
	q.mu.Lock()
	defer q.mu.Unlock()
	var m EventMask
	for _, e := range q.entries {
		m |= e.Mask()
	}
	return m
}

// IsEmpty reports whether no entry is registered.
func (q *Queue) IsEmpty() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.entries) == 0
}

// Len returns the number of registered entries.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.entries)
}
