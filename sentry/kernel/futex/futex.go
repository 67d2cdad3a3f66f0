// Package futex implements the kernel side of futex(2): queues of tasks
// blocked on 32-bit words of guest memory, keyed so that every task that
// can see a word finds the same queue, and the wake, requeue and wake-op
// operations on them, plus robust-list cleanup at thread exit.
//
// A Key names a futex word: private futexes (FUTEX_PRIVATE_FLAG) by
// address space and virtual address, shared ones by what backs the page
// (the memory-file offset of MAP_SHARED anonymous and shm memory, the file
// and offset of a shared file mapping, or the address space and address
// for a MAP_PRIVATE mapping). The kernel supplies keys and guest memory
// through the Target interface. One Manager serves the whole kernel: a
// global table of buckets, each a mutex and a map from Key to a FIFO
// queue of Waiters; keys of all address spaces and kinds share it, so no
// per-address-space state has to be created or torn down.
//
// Correctness rests on the classic futex condition: Wait loads the futex
// word with the key's bucket lock held and queues the waiter before
// releasing it, and every wake takes the same lock. A waker that changed
// the word before calling Wake therefore either runs before the waiter's
// load (which then sees the new value and fails with EAGAIN) or after the
// waiter is queued (and wakes it): no wakeup is lost.
//
// Blocking is the caller's: Wait only queues a Waiter, whose channel
// (Waiter.C) becomes ready when it is woken. The kernel selects on it
// together with its interrupt channel and a timer, or calls WaitFor, which
// does so and returns nil, ETIMEDOUT, or ERESTARTSYS (when the interrupt
// channel closes, as in package vfs/lock). A waiter that gives up is
// removed from its queue by Dequeue; if a wake got there first the wait
// counts as successful, as in Linux.
//
// PI futexes (FUTEX_LOCK_PI, FUTEX_LOCK_PI2, FUTEX_TRYLOCK_PI,
// FUTEX_UNLOCK_PI) follow Linux's owner-TID protocol on the futex word
// (FUTEX_WAITERS, FUTEX_OWNER_DIED, direct hand-off to the oldest waiter
// on unlock, hand-off when the owner exits) but without priority
// inheritance, since the Sentry has no task priorities to boost. The
// requeue-PI commands are not implemented (ENOSYS).
package futex

import (
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"golang.org/x/sys/unix"
)

// numBuckets is the number of hash buckets (a power of two).
const numBuckets = 256

// bucket is one hash chain of the futex table.
type bucket struct {
	// mu guards queues and the queue links, key and bucket fields of
	// every Waiter queued here.
	mu sync.Mutex
	// queues maps a key to its waiters in FIFO order. Empty queues are
	// deleted, so the map holds only keys with waiters.
	queues map[Key]*queue
	// piWaiters points to Manager.piWaiters.
	piWaiters *atomic.Int64
}

// queue is a FIFO list of waiters on one key.
type queue struct {
	head, tail *Waiter
	// pi is set when the waiters are FUTEX_LOCK_PI waiters; a queue
	// never mixes PI and plain waiters.
	pi bool
	// piOwner is, for a PI queue, the TID the kernel knows as the
	// owner of the futex: the one its waiters wait for.
	piOwner int32
}

// pushBack appends w.
func (q *queue) pushBack(w *Waiter) {
	w.prev, w.next = q.tail, nil
	if q.tail != nil {
		q.tail.next = w
	} else {
		q.head = w
	}
	q.tail = w
}

// remove unlinks w.
func (q *queue) remove(w *Waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		q.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		q.tail = w.prev
	}
	w.prev, w.next = nil, nil
}

// enqueueLocked queues w on key k in b. b.mu must be held.
func (b *bucket) enqueueLocked(k Key, w *Waiter) {
	q := b.queues[k]
	if q == nil {
		if b.queues == nil {
			b.queues = make(map[Key]*queue)
		}
		q = &queue{}
		b.queues[k] = q
	}
	q.pushBack(w)
	w.key = k
	w.bucket.Store(b)
}

// unlinkLocked removes w from its queue in b without waking it. b.mu must
// be held and w must be queued in b.
func (b *bucket) unlinkLocked(w *Waiter) {
	q := b.queues[w.key]
	q.remove(w)
	if w.pi {
		w.pi = false
		w.target = nil
		b.piWaiters.Add(-1)
	}
	if q.head == nil {
		delete(b.queues, w.key)
	}
}

// wakeLocked removes w from b and wakes it. b.mu must be held.
func (b *bucket) wakeLocked(w *Waiter) {
	b.unlinkLocked(w)
	w.key = Key{}
	w.bucket.Store(nil)
	// The channel is empty while w is queued (see Dequeue), so this
	// never drops the token.
	w.ch <- struct{}{}
}

// wakeKeyLocked wakes waiters on k whose bitset intersects bitset, up to
// n of them (but at least one, matching Linux's treatment of n <= 0). It
// returns how many it woke, or EINVAL if k's waiters are PI waiters. b.mu
// must be held.
func (b *bucket) wakeKeyLocked(k Key, bitset uint32, n int) (int, error) {
	q := b.queues[k]
	if q == nil {
		return 0, nil
	}
	if q.pi {
		return 0, unix.EINVAL
	}
	woken := 0
	for w := q.head; w != nil; {
		next := w.next
		if w.bitset&bitset != 0 {
			b.wakeLocked(w)
			woken++
			if woken >= n {
				break
			}
		}
		w = next
	}
	return woken, nil
}

// Manager holds every futex queue of a kernel. The zero value is not
// usable; use NewManager.
type Manager struct {
	seed    maphash.Seed
	buckets [numBuckets]bucket
	// piWaiters counts queued PI waiters, so ExitPI can skip the scan
	// of all buckets when there are none.
	piWaiters atomic.Int64
}

// NewManager returns an empty Manager.
func NewManager() *Manager {
	m := &Manager{seed: maphash.MakeSeed()}
	for i := range m.buckets {
		m.buckets[i].piWaiters = &m.piWaiters
	}
	return m
}

// bucketFor returns k's bucket.
func (m *Manager) bucketFor(k Key) *bucket {
	return &m.buckets[maphash.Comparable(m.seed, k)&(numBuckets-1)]
}

// lockTwo locks the buckets of two keys in a fixed order (once if they
// are the same) and returns them.
func (m *Manager) lockTwo(k1, k2 Key) (*bucket, *bucket) {
	i1 := maphash.Comparable(m.seed, k1) & (numBuckets - 1)
	i2 := maphash.Comparable(m.seed, k2) & (numBuckets - 1)
	b1, b2 := &m.buckets[i1], &m.buckets[i2]
	switch {
	case i1 == i2:
		b1.mu.Lock()
	case i1 < i2:
		b1.mu.Lock()
		b2.mu.Lock()
	default:
		b2.mu.Lock()
		b1.mu.Lock()
	}
	return b1, b2
}

// unlockTwo undoes lockTwo.
func unlockTwo(b1, b2 *bucket) {
	b1.mu.Unlock()
	if b2 != b1 {
		b2.mu.Unlock()
	}
}

// key returns the key of the futex word at addr.
func (m *Manager) key(t Target, addr uintptr, private bool) (Key, error) {
	if addr%4 != 0 {
		return Key{}, unix.EINVAL
	}
	if private {
		return Key{Kind: KindPrivate, Object: t.AddressSpaceIdentity(), Offset: uint64(addr)}, nil
	}
	k, err := t.GetSharedKey(addr)
	if err != nil {
		return Key{}, err
	}
	if k.Kind == KindPrivate {
		// A Target must not forge private keys: they would collide
		// with FUTEX_PRIVATE_FLAG operations.
		k.Kind = KindAddressSpace
	}
	return k, nil
}

// Wait queues w on the futex word at addr if the word holds val
// (FUTEX_WAIT, FUTEX_WAIT_BITSET). The check and the queueing happen
// under the key's bucket lock, atomically with respect to every wake. w
// is woken only by wakes whose bitset intersects bitset (use
// linux.FUTEX_BITSET_MATCH_ANY for FUTEX_WAIT).
//
// Errors: EINVAL for bitset 0, an unaligned addr, or a word with PI
// waiters (Linux would queue the waiter and fail later wakes instead),
// EAGAIN if the word does not hold val, EFAULT from the Target. On success the caller must
// block on w (WaitFor, or a select on w.C() followed by Dequeue when it
// gives up). w must not be queued already.
func (m *Manager) Wait(t Target, addr uintptr, private bool, val, bitset uint32, w *Waiter) error {
	if bitset == 0 {
		return unix.EINVAL
	}
	if w.bucket.Load() != nil {
		panic("futex: Wait with a waiter that is already queued")
	}
	k, err := m.key(t, addr, private)
	if err != nil {
		return err
	}
	w.bitset = bitset
	b := m.bucketFor(k)
	b.mu.Lock()
	defer b.mu.Unlock()
	if q := b.queues[k]; q != nil && q.pi {
		return unix.EINVAL
	}
	cur, err := t.LoadUint32(addr)
	if err != nil {
		return err
	}
	if cur != val {
		return unix.EAGAIN
	}
	b.enqueueLocked(k, w)
	return nil
}

// Wake wakes up to n waiters on the futex word at addr whose bitset
// intersects bitset (FUTEX_WAKE, FUTEX_WAKE_BITSET), oldest first, and
// returns how many it woke. As in Linux, n <= 0 still wakes one waiter.
// Errors: EINVAL for bitset 0 or an unaligned addr, EFAULT from
// GetSharedKey.
func (m *Manager) Wake(t Target, addr uintptr, private bool, bitset uint32, n int) (int, error) {
	if bitset == 0 {
		return 0, unix.EINVAL
	}
	k, err := m.key(t, addr, private)
	if err != nil {
		return 0, err
	}
	b := m.bucketFor(k)
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.wakeKeyLocked(k, bitset, n)
}

// Requeue implements FUTEX_REQUEUE: it wakes up to nwake waiters on addr
// and moves up to nrequeue of the rest to naddr, and returns the number
// woken plus the number moved. Negative counts are EINVAL.
func (m *Manager) Requeue(t Target, addr, naddr uintptr, private bool, nwake, nrequeue int) (int, error) {
	return m.requeue(t, addr, naddr, private, nwake, nrequeue, false, 0)
}

// CmpRequeue implements FUTEX_CMP_REQUEUE: Requeue, done only if the word
// at addr holds val (checked under the queue locks), else EAGAIN.
func (m *Manager) CmpRequeue(t Target, addr, naddr uintptr, private bool, nwake, nrequeue int, val uint32) (int, error) {
	return m.requeue(t, addr, naddr, private, nwake, nrequeue, true, val)
}

func (m *Manager) requeue(t Target, addr, naddr uintptr, private bool, nwake, nrequeue int, cmp bool, val uint32) (int, error) {
	if nwake < 0 || nrequeue < 0 {
		return 0, unix.EINVAL
	}
	k1, err := m.key(t, addr, private)
	if err != nil {
		return 0, err
	}
	k2, err := m.key(t, naddr, private)
	if err != nil {
		return 0, err
	}
	b1, b2 := m.lockTwo(k1, k2)
	defer unlockTwo(b1, b2)
	if cmp {
		cur, err := t.LoadUint32(addr)
		if err != nil {
			return 0, err
		}
		if cur != val {
			return 0, unix.EAGAIN
		}
	}
	q := b1.queues[k1]
	if q == nil {
		return 0, nil
	}
	if q.pi {
		return 0, unix.EINVAL
	}
	if q2 := b2.queues[k2]; q2 != nil && q2.pi {
		return 0, unix.EINVAL
	}
	count := 0
	for w := q.head; w != nil && count-nwake < nrequeue; {
		next := w.next
		count++
		switch {
		case count <= nwake:
			b1.wakeLocked(w)
		case k1 == k2:
			// Requeueing onto the same futex leaves the waiter where
			// it is; Linux counts it all the same.
		default:
			b1.unlinkLocked(w)
			b2.enqueueLocked(k2, w)
		}
		w = next
	}
	return count, nil
}

// matchAny is the bitset of waiters every wake matches.
const matchAny = linux.FUTEX_BITSET_MATCH_ANY
