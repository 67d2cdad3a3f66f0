// Package lock implements the advisory file locks of Linux for one inode:
// POSIX record locks (fcntl F_SETLK/F_SETLKW/F_GETLK), open file
// description locks (F_OFD_*), which share the POSIX range table but are
// owned by a file description instead of a process, and whole-file flock(2)
// locks, which are independent of both.
//
// A Locks value lives in each inode that supports locking. Record locks are
// kept as a flat list of (owner, type, range) records in which the ranges of
// one owner never overlap and adjacent ranges of one owner with the same
// type are merged, so setting a lock is: check for conflicts with other
// owners, cut the owner's existing coverage of the range out (splitting
// records), insert the new record, merge neighbours. Blocking requests wait
// on a channel that is closed and replaced whenever any lock on the inode
// is released or downgraded, and give up when their interrupt channel
// closes (the kernel closes it when a signal arrives) with ERESTARTSYS.
// POSIX (not OFD) waits detect simple wait-for cycles across inodes and
// fail with EDEADLK, as Linux does.
package lock

import (
	"math"
	"sync"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"golang.org/x/sys/unix"
)

// Type is a lock type.
type Type int

// Lock types.
const (
	ReadLock Type = iota
	WriteLock
)

// EOF is the End of a range that extends to the end of any file.
const EOF = math.MaxUint64

// Range is the byte range [Start, End). End == EOF means "to infinity".
type Range struct {
	Start uint64
	End   uint64
}

func (r Range) overlaps(o Range) bool { return r.Start < o.End && o.Start < r.End }

// ComputeRange converts the l_start/l_len pair of a struct flock, with
// l_start already made absolute (start = whence base + l_start), to a
// Range, following fcntl(2): a zero length extends to infinity, a negative
// length covers the bytes before start.
func ComputeRange(start, length int64) (Range, error) {
	if length < 0 {
		if start+length < 0 {
			return Range{}, unix.EINVAL
		}
		return Range{Start: uint64(start + length), End: uint64(start)}, nil
	}
	if start < 0 {
		return Range{}, unix.EINVAL
	}
	if length == 0 {
		return Range{Start: uint64(start), End: EOF}, nil
	}
	if start > math.MaxInt64-length {
		return Range{}, unix.EOVERFLOW
	}
	return Range{Start: uint64(start), End: uint64(start + length)}, nil
}

// Record is one held record lock.
type Record struct {
	// Owner is the process's lock owner (POSIX) or the file description
	// (OFD). Owners are compared with ==.
	Owner any
	// PID is reported by F_GETLK: the owner's thread-group ID, or -1 for
	// OFD locks.
	PID   int32
	Type  Type
	Range Range
}

// Locks is the lock state of one inode. The zero value is ready to use.
type Locks struct {
	// mu guards records, flocks and changed.
	mu      sync.Mutex
	records []Record
	flocks  map[any]Type
	// changed is closed (and replaced) when a lock is released or
	// downgraded, waking blocked waiters so they retry.
	changed chan struct{}
}

// waitChanLocked returns the channel closed at the next release.
func (l *Locks) waitChanLocked() chan struct{} {
	if l.changed == nil {
		l.changed = make(chan struct{})
	}
	return l.changed
}

// wakeLocked wakes every waiter.
func (l *Locks) wakeLocked() {
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
}

func conflicts(a, b Type) bool { return a == WriteLock || b == WriteLock }

// conflictLocked returns the first record of another owner that conflicts
// with (owner, t, r).
func (l *Locks) conflictLocked(owner any, t Type, r Range) (Record, bool) {
	for _, rec := range l.records {
		if rec.Owner != owner && rec.Range.overlaps(r) && conflicts(rec.Type, t) {
			return rec, true
		}
	}
	return Record{}, false
}

// removeLocked cuts r out of owner's records, splitting as needed. It
// reports whether anything was removed.
func (l *Locks) removeLocked(owner any, r Range) bool {
	changed := false
	out := l.records[:0:0]
	for _, rec := range l.records {
		if rec.Owner != owner || !rec.Range.overlaps(r) {
			out = append(out, rec)
			continue
		}
		changed = true
		if rec.Range.Start < r.Start {
			left := rec
			left.Range.End = r.Start
			out = append(out, left)
		}
		if rec.Range.End > r.End {
			right := rec
			right.Range.Start = r.End
			out = append(out, right)
		}
	}
	l.records = out
	return changed
}

// insertLocked adds rec and merges it with the owner's adjacent or
// overlapping records of the same type. rec's range must not overlap any
// other record of the same owner.
func (l *Locks) insertLocked(rec Record) {
	out := l.records[:0:0]
	for _, o := range l.records {
		if o.Owner == rec.Owner && o.Type == rec.Type &&
			o.Range.Start <= rec.Range.End && rec.Range.Start <= o.Range.End {
			rec.Range.Start = min(rec.Range.Start, o.Range.Start)
			rec.Range.End = max(rec.Range.End, o.Range.End)
			continue
		}
		out = append(out, o)
	}
	l.records = append(out, rec)
}

// deadlock detection: blockedOn maps a blocked POSIX owner to the owner it
// waits for, across all inodes.
var (
	// deadlockMu guards blockedOn.
	deadlockMu sync.Mutex
	blockedOn  = map[any]any{}
)

const maxDeadlockDepth = 64

// wouldDeadlock reports whether owner waiting for blocker closes a cycle.
func wouldDeadlock(owner, blocker any) bool {
	b := blocker
	for range maxDeadlockDepth {
		if b == owner {
			return true
		}
		next, ok := blockedOn[b]
		if !ok {
			return false
		}
		b = next
	}
	return false
}

// LockRegion sets a lock of type t on r for owner (F_SETLK / F_SETLKW and
// the OFD variants). If a conflicting lock is held by another owner it
// fails with EAGAIN, or when block is set waits until it can proceed or
// interrupt is closed (ERESTARTSYS). ofd disables deadlock detection, as
// in Linux. pid is recorded for F_GETLK.
func (l *Locks) LockRegion(owner any, pid int32, t Type, r Range, ofd, block bool, interrupt <-chan struct{}) error {
	if r.Start >= r.End {
		return unix.EINVAL
	}
	for {
		l.mu.Lock()
		c, conflict := l.conflictLocked(owner, t, r)
		if !conflict {
			downgrade := l.removeLocked(owner, r)
			l.insertLocked(Record{Owner: owner, PID: pid, Type: t, Range: r})
			if downgrade {
				l.wakeLocked()
			}
			l.mu.Unlock()
			return nil
		}
		if !block {
			l.mu.Unlock()
			return unix.EAGAIN
		}
		ch := l.waitChanLocked()
		l.mu.Unlock()

		if !ofd {
			deadlockMu.Lock()
			if wouldDeadlock(owner, c.Owner) {
				deadlockMu.Unlock()
				return unix.EDEADLK
			}
			blockedOn[owner] = c.Owner
			deadlockMu.Unlock()
		}
		var err error
		select {
		case <-ch:
		case <-interrupt:
			err = linux.ERESTARTSYS
		}
		if !ofd {
			deadlockMu.Lock()
			delete(blockedOn, owner)
			deadlockMu.Unlock()
		}
		if err != nil {
			return err
		}
	}
}

// UnlockRegion releases owner's locks on r (F_UNLCK). Unlocking a range
// that is not locked succeeds.
func (l *Locks) UnlockRegion(owner any, r Range) {
	l.mu.Lock()
	if l.removeLocked(owner, r) {
		l.wakeLocked()
	}
	l.mu.Unlock()
}

// UnlockAll releases every record lock of owner: called when a process
// closes any fd of the file (POSIX) or the description is released (OFD).
func (l *Locks) UnlockAll(owner any) {
	l.UnlockRegion(owner, Range{Start: 0, End: EOF})
}

// TestRegion implements F_GETLK: it returns a lock that would prevent
// owner from taking a lock of type t on r, if any.
func (l *Locks) TestRegion(owner any, t Type, r Range) (Record, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conflictLocked(owner, t, r)
}

// Records returns a copy of the current record locks (for tests and
// /proc/locks).
func (l *Locks) Records() []Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Record(nil), l.records...)
}

// Flock implements flock(2) LOCK_SH (ReadLock) and LOCK_EX (WriteLock) for
// owner, which is the open file description. As in Linux, converting an
// existing lock first drops it, so a failed conversion loses the old lock.
// Without block it fails with EWOULDBLOCK; with block it waits until
// interrupt closes (ERESTARTSYS).
func (l *Locks) Flock(owner any, t Type, block bool, interrupt <-chan struct{}) error {
	l.mu.Lock()
	if cur, ok := l.flocks[owner]; ok {
		if cur == t {
			l.mu.Unlock()
			return nil
		}
		delete(l.flocks, owner)
		l.wakeLocked()
	}
	for {
		conflict := false
		for o, ot := range l.flocks {
			if o != owner && conflicts(ot, t) {
				conflict = true
				break
			}
		}
		if !conflict {
			if l.flocks == nil {
				l.flocks = make(map[any]Type)
			}
			l.flocks[owner] = t
			l.mu.Unlock()
			return nil
		}
		if !block {
			l.mu.Unlock()
			return unix.EWOULDBLOCK
		}
		ch := l.waitChanLocked()
		l.mu.Unlock()
		select {
		case <-ch:
		case <-interrupt:
			return linux.ERESTARTSYS
		}
		l.mu.Lock()
	}
}

// Funlock implements flock(2) LOCK_UN and the release of a description.
func (l *Locks) Funlock(owner any) {
	l.mu.Lock()
	if _, ok := l.flocks[owner]; ok {
		delete(l.flocks, owner)
		l.wakeLocked()
	}
	l.mu.Unlock()
}
