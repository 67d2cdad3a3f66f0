package futex

import (
	"sync/atomic"
	"time"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"golang.org/x/sys/unix"
)

// Waiter is a task's place in a futex queue. A task can keep one Waiter
// for its whole life and reuse it for every wait; it may be queued on at
// most one futex at a time.
type Waiter struct {
	// bucket is the bucket w is queued in, or nil when w is not queued.
	// It is written with that bucket's mu held and read without it by
	// Dequeue, which then locks the bucket and checks again (requeue
	// can move a waiter between buckets).
	bucket atomic.Pointer[bucket]

	// key, prev and next are guarded by bucket.mu of the bucket w is
	// queued in.
	key        Key
	prev, next *Waiter

	// bitset is set by Wait before w is queued and read by wakers with
	// the bucket lock held.
	bitset uint32

	// pi, tid, target and addr describe a FUTEX_LOCK_PI waiter: the
	// waiting task's TID, its address space and the futex word, so
	// that an unlock or the owner's exit can hand the futex over. They
	// are guarded like key.
	pi     bool
	tid    int32
	target Target
	addr   uintptr

	// ch receives one token when w is woken. It is empty whenever w is
	// not queued and not woken-but-undrained.
	ch chan struct{}
}

// NewWaiter returns a Waiter that is not queued.
func NewWaiter() *Waiter {
	return &Waiter{ch: make(chan struct{}, 1)}
}

// C returns the channel that becomes ready when w is woken. After
// receiving from it the wait is over and w may be reused; a caller that
// stops waiting for any other reason must call Dequeue instead.
func (w *Waiter) C() <-chan struct{} { return w.ch }

// Dequeue takes w off whatever futex queue it is on, for a caller that
// gives up waiting (timeout, signal). It reports whether w had been woken
// before it could be removed, in which case the wait succeeded and the
// caller should report success, as Linux does. Either way w is reusable
// afterwards. Dequeue on a Waiter whose token was already received from
// C returns true and must not happen; on a Waiter never queued it blocks
// forever, so call it only after a successful Wait.
func (m *Manager) Dequeue(w *Waiter) (woken bool) {
	for {
		b := w.bucket.Load()
		if b == nil {
			// A wake took w off its queue and sent (or is about to
			// send, under the same lock) its token: drain it so the
			// channel is empty for the next wait.
			<-w.ch
			return true
		}
		b.mu.Lock()
		if w.bucket.Load() != b {
			// Requeued to another bucket, or woken, meanwhile.
			b.mu.Unlock()
			continue
		}
		b.unlinkLocked(w)
		w.key = Key{}
		w.bucket.Store(nil)
		b.mu.Unlock()
		return false
	}
}

// Block waits until w, queued by a successful Wait, is woken (nil), the
// interrupt channel is closed (ERESTARTSYS, as in package vfs/lock: the
// kernel closes it when a signal is to be delivered), or timeout fires
// (ETIMEDOUT). A nil channel never fires. When a wake races with the
// interrupt or the timeout, the wake wins and Block returns nil. w is
// off every queue when Block returns.
//
// Linux restarts an interrupted FUTEX_WAIT with ERESTART_RESTARTBLOCK
// when it had a timeout (so the restarted call keeps the original
// deadline) and ERESTARTSYS when it had none; the syscall handler, which
// owns restart blocks, should translate accordingly.
func (m *Manager) Block(w *Waiter, interrupt <-chan struct{}, timeout <-chan time.Time) error {
	select {
	case <-w.ch:
		return nil
	case <-interrupt:
		if m.Dequeue(w) {
			return nil
		}
		return linux.ERESTARTSYS
	case <-timeout:
		if m.Dequeue(w) {
			return nil
		}
		return unix.ETIMEDOUT
	}
}

// WaitFor is Block with a deadline on Go's clock instead of a timer
// channel; a zero deadline waits forever. A deadline already past still
// reports a wake that happened first.
func (m *Manager) WaitFor(w *Waiter, interrupt <-chan struct{}, deadline time.Time) error {
	if deadline.IsZero() {
		return m.Block(w, interrupt, nil)
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	return m.Block(w, interrupt, timer.C)
}
