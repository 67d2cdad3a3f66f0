package futex

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"golang.org/x/sys/unix"
)

// maxPIRetries bounds the compare-and-swap retries of one PI operation
// against guest threads that keep changing the word; the operation then
// fails with EAGAIN ("the owner is about to exit, try again" in
// futex(2)), rather than spinning with a bucket lock held.
const maxPIRetries = 128

// PITarget is a Target that can also tell whether a thread exists, to
// validate the owner named by a PI futex word.
type PITarget interface {
	Target
	// TaskExists reports whether a thread with TID tid (in the calling
	// task's PID namespace) exists and has not yet started its futex
	// exit cleanup (Manager.ExitPI): it must report false for a thread
	// from the moment ExitPI(tid) begins.
	TaskExists(tid int32) bool
}

// LockPI implements FUTEX_LOCK_PI and FUTEX_LOCK_PI2 (and, with try,
// FUTEX_TRYLOCK_PI) for the task with TID tid. If the word at addr has
// no owner (TID 0) it takes the futex at once, keeping FUTEX_OWNER_DIED,
// and returns acquired = true. If another thread owns it, it sets
// FUTEX_WAITERS in the word and queues w (acquired = false); the caller
// then blocks with Block or WaitFor: a nil result means the futex was
// handed over and the word already names tid. A timeout or interrupt
// leaves the futex unowned by the caller (the handler turns ERESTARTSYS
// into ERESTARTNOINTR, as Linux does for FUTEX_LOCK_PI). w may be nil
// only for a trylock.
//
// Errors: EDEADLK if tid already owns it; ESRCH if the owner does not
// exist; EWOULDBLOCK (EAGAIN) for a trylock on an owned futex; EINVAL if
// plain waiters wait on the word or addr is unaligned; EAGAIN if guest
// threads keep changing the word; EFAULT from the Target.
func (m *Manager) LockPI(t PITarget, addr uintptr, private bool, tid int32, w *Waiter, try bool) (acquired bool, err error) {
	if w == nil && !try {
		panic("futex: blocking LockPI without a waiter")
	}
	if w != nil && w.bucket.Load() != nil {
		panic("futex: LockPI with a waiter that is already queued")
	}
	k, err := m.key(t, addr, private)
	if err != nil {
		return false, err
	}
	b := m.bucketFor(k)
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queues[k]
	if q != nil && !q.pi {
		return false, unix.EINVAL
	}
	uval, err := t.LoadUint32(addr)
	if err != nil {
		return false, err
	}
	for range maxPIRetries {
		owner := int32(uval & linux.FUTEX_TID_MASK)
		if owner == tid {
			return false, unix.EDEADLK
		}
		if owner == 0 {
			nval := uval&linux.FUTEX_OWNER_DIED | uint32(tid)
			if q != nil {
				// Waiters remain from an owner that released the
				// word behind the kernel's back: keep unlocks
				// coming to the kernel.
				nval |= linux.FUTEX_WAITERS
			}
			prev, err := t.CompareAndSwapUint32(addr, uval, nval)
			if err != nil {
				return false, err
			}
			if prev != uval {
				uval = prev
				continue
			}
			if q != nil {
				q.piOwner = tid
			}
			return true, nil
		}
		if (q == nil || q.piOwner != owner) && !t.TaskExists(owner) {
			return false, unix.ESRCH
		}
		if try {
			return false, unix.EWOULDBLOCK
		}
		if uval&linux.FUTEX_WAITERS == 0 {
			prev, err := t.CompareAndSwapUint32(addr, uval, uval|linux.FUTEX_WAITERS)
			if err != nil {
				return false, err
			}
			if prev != uval {
				uval = prev
				continue
			}
		}
		w.pi, w.tid, w.target, w.addr = true, tid, t, addr
		w.bitset = 0
		b.enqueueLocked(k, w)
		m.piWaiters.Add(1)
		q = b.queues[k]
		q.pi = true
		q.piOwner = owner
		return false, nil
	}
	return false, unix.EAGAIN
}

// UnlockPI implements FUTEX_UNLOCK_PI for the task with TID tid, which
// must own the futex (EPERM otherwise). With waiters queued, ownership
// passes to the oldest: the word becomes its TID with FUTEX_WAITERS set
// and it is woken. Without, the word becomes 0; if guest threads changed
// it meanwhile that fails with EAGAIN, as in Linux. EINVAL if plain
// waiters wait on the word.
func (m *Manager) UnlockPI(t Target, addr uintptr, private bool, tid int32) error {
	k, err := m.key(t, addr, private)
	if err != nil {
		return err
	}
	b := m.bucketFor(k)
	b.mu.Lock()
	defer b.mu.Unlock()
	uval, err := t.LoadUint32(addr)
	if err != nil {
		return err
	}
	if int32(uval&linux.FUTEX_TID_MASK) != tid {
		return unix.EPERM
	}
	q := b.queues[k]
	if q == nil {
		prev, err := t.CompareAndSwapUint32(addr, uval, 0)
		if err != nil {
			return err
		}
		if prev != uval {
			return unix.EAGAIN
		}
		return nil
	}
	if !q.pi {
		return unix.EINVAL
	}
	for range maxPIRetries {
		if int32(uval&linux.FUTEX_TID_MASK) != tid {
			return unix.EPERM
		}
		next := q.head
		prev, err := t.CompareAndSwapUint32(addr, uval, linux.FUTEX_WAITERS|uint32(next.tid))
		if err != nil {
			return err
		}
		if prev != uval {
			uval = prev
			continue
		}
		q.piOwner = next.tid
		b.wakeLocked(next)
		return nil
	}
	return unix.EAGAIN
}

// ExitPI hands every PI futex that waiters know to be owned by the
// exiting thread tid over to its oldest waiter, as Linux does at exit:
// the word becomes the waiter's TID with FUTEX_WAITERS, keeping
// FUTEX_OWNER_DIED (set by HandleRobustList for robust futexes, which
// the kernel runs first). The kernel calls it at thread exit after
// making TaskExists(tid) false. It writes the word through the waiter's
// own Target, from the exiting task's goroutine.
func (m *Manager) ExitPI(tid int32) {
	if m.piWaiters.Load() == 0 {
		return
	}
	for i := range m.buckets {
		b := &m.buckets[i]
		b.mu.Lock()
		for _, q := range b.queues {
			if !q.pi || q.piOwner != tid {
				continue
			}
			next := q.head
			t, addr := next.target, next.addr
			if uval, err := t.LoadUint32(addr); err == nil {
				for range maxPIRetries {
					nval := uval&linux.FUTEX_OWNER_DIED | linux.FUTEX_WAITERS | uint32(next.tid)
					prev, err := t.CompareAndSwapUint32(addr, uval, nval)
					if err != nil || prev == uval {
						break
					}
					uval = prev
				}
			}
			// The waiter owns the futex now in the kernel's view
			// even if the word could not be updated: waking it is
			// what keeps it from waiting for a dead thread.
			q.piOwner = next.tid
			b.wakeLocked(next)
		}
		b.mu.Unlock()
	}
}
