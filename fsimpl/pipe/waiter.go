package pipe

import (
	"context"
	"sync"

	"golang.org/x/sys/unix"
)

// EventMask is a set of readiness events, with the values of epoll(7)'s
// EPOLL* bits (which equal poll(2)'s POLL* bits for these events).
type EventMask uint32

// Readiness events.
const (
	EventIn  EventMask = unix.EPOLLIN | unix.EPOLLRDNORM
	EventOut EventMask = unix.EPOLLOUT | unix.EPOLLWRNORM
	EventErr EventMask = unix.EPOLLERR
	EventHUp EventMask = unix.EPOLLHUP
)

// Entry is one registration on a Queue: when an event in its mask is
// notified, a token is put on its channel (without blocking; one pending
// token is enough to wake a waiter, which then rechecks readiness).
type Entry struct {
	mask EventMask
	ch   chan struct{}
}

// NewEntry returns an entry for the events in mask and the channel on
// which it is woken.
func NewEntry(mask EventMask) (*Entry, <-chan struct{}) {
	e := &Entry{mask: mask, ch: make(chan struct{}, 1)}
	return e, e.ch
}

// Queue is a set of entries waiting for readiness events of one object.
// It is the registration point poll, select and epoll use (through
// EventRegister/EventUnregister) and that blocking reads and writes wait
// on. The zero value is ready to use.
type Queue struct {
	// mu guards entries.
	mu      sync.Mutex
	entries map[*Entry]struct{}
}

// EventRegister adds e to the queue.
func (q *Queue) EventRegister(e *Entry) {
	q.mu.Lock()
	if q.entries == nil {
		q.entries = make(map[*Entry]struct{})
	}
	q.entries[e] = struct{}{}
	q.mu.Unlock()
}

// EventUnregister removes e from the queue.
func (q *Queue) EventUnregister(e *Entry) {
	q.mu.Lock()
	delete(q.entries, e)
	q.mu.Unlock()
}

// Notify wakes the entries interested in any event of mask.
func (q *Queue) Notify(mask EventMask) {
	q.mu.Lock()
	for e := range q.entries {
		if e.mask&mask != 0 {
			select {
			case e.ch <- struct{}{}:
			default:
			}
		}
	}
	q.mu.Unlock()
}

// interruptKey is the context key of a task's interrupt channel.
type interruptKey struct{}

// WithInterrupt returns a context that carries interrupt, the channel the
// kernel closes when a signal must interrupt the calling task's blocking
// operation. Blocking pipe operations (read, write, FIFO open) give up
// with ERESTARTSYS when it closes, as vfs/lock's blocking calls do with
// their interrupt argument.
func WithInterrupt(ctx context.Context, interrupt <-chan struct{}) context.Context {
	return context.WithValue(ctx, interruptKey{}, interrupt)
}

// Interrupt returns the interrupt channel carried by ctx (WithInterrupt),
// or else ctx.Done(), so that cancelling the context also interrupts.
func Interrupt(ctx context.Context) <-chan struct{} {
	if ch, ok := ctx.Value(interruptKey{}).(<-chan struct{}); ok {
		return ch
	}
	return ctx.Done()
}
