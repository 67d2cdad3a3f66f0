package lock

import (
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

func rng(s, e uint64) Range { return Range{Start: s, End: e} }

func sorted(rs []Record) []Record {
	slices.SortFunc(rs, func(a, b Record) int {
		if a.Range.Start < b.Range.Start {
			return -1
		}
		if a.Range.Start > b.Range.Start {
			return 1
		}
		return 0
	})
	return rs
}

func TestComputeRange(t *testing.T) {
	cases := []struct {
		start, length int64
		want          Range
		err           error
	}{
		{0, 0, rng(0, EOF), nil},
		{10, 5, rng(10, 15), nil},
		{10, -5, rng(5, 10), nil},
		{3, -5, Range{}, unix.EINVAL},
		{-1, 5, Range{}, unix.EINVAL},
		{1 << 62, 1 << 62, Range{}, unix.EOVERFLOW},
	}
	for _, c := range cases {
		got, err := ComputeRange(c.start, c.length)
		if err != c.err || (err == nil && got != c.want) {
			t.Errorf("ComputeRange(%d, %d) = %v, %v", c.start, c.length, got, err)
		}
	}
}

func TestSplitAndMerge(t *testing.T) {
	var l Locks
	a := "A"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(l.LockRegion(a, 1, WriteLock, rng(0, 100), false, false, nil))
	// A read lock in the middle splits the write lock in three.
	must(l.LockRegion(a, 1, ReadLock, rng(40, 60), false, false, nil))
	got := sorted(l.Records())
	want := []Record{
		{a, 1, WriteLock, rng(0, 40)},
		{a, 1, ReadLock, rng(40, 60)},
		{a, 1, WriteLock, rng(60, 100)},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("split: %v", got)
	}
	// Unlocking a hole splits again.
	l.UnlockRegion(a, rng(10, 20))
	if n := len(l.Records()); n != 4 {
		t.Fatalf("after unlock hole: %v", l.Records())
	}
	// Write-locking everything merges into one record.
	must(l.LockRegion(a, 1, WriteLock, rng(0, 100), false, false, nil))
	if got := l.Records(); len(got) != 1 || got[0].Range != rng(0, 100) {
		t.Fatalf("merge: %v", got)
	}
	// Adjacent same-type ranges merge.
	must(l.LockRegion(a, 1, WriteLock, rng(100, 200), false, false, nil))
	if got := l.Records(); len(got) != 1 || got[0].Range != rng(0, 200) {
		t.Fatalf("adjacent merge: %v", got)
	}
	l.UnlockAll(a)
	if len(l.Records()) != 0 {
		t.Fatalf("UnlockAll left %v", l.Records())
	}
}

func TestConflicts(t *testing.T) {
	var l Locks
	a, b := "A", "B"
	if err := l.LockRegion(a, 1, ReadLock, rng(0, 10), false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := l.LockRegion(b, 2, ReadLock, rng(5, 15), false, false, nil); err != nil {
		t.Errorf("read/read conflict: %v", err)
	}
	if err := l.LockRegion(b, 2, WriteLock, rng(5, 15), false, false, nil); err != unix.EAGAIN {
		t.Errorf("write over read: %v", err)
	}
	if err := l.LockRegion(b, 2, WriteLock, rng(10, 15), false, false, nil); err != nil {
		t.Errorf("write beside: %v", err)
	}
	rec, ok := l.TestRegion(b, WriteLock, rng(0, EOF))
	if !ok || rec.Owner != a || rec.PID != 1 || rec.Range != rng(0, 10) {
		t.Errorf("F_GETLK = %v %v", rec, ok)
	}
	if _, ok := l.TestRegion(a, ReadLock, rng(0, 10)); ok {
		t.Errorf("own locks never conflict")
	}
	if _, ok := l.TestRegion(a, ReadLock, rng(20, 30)); ok {
		t.Errorf("conflict beyond locks")
	}
	if err := l.LockRegion(a, 1, ReadLock, rng(5, 5), false, false, nil); err != unix.EINVAL {
		t.Errorf("empty range: %v", err)
	}
}

func TestBlockingWaiterWoken(t *testing.T) {
	var l Locks
	a, b := "A", "B"
	if err := l.LockRegion(a, 1, WriteLock, rng(0, EOF), false, false, nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- l.LockRegion(b, 2, WriteLock, rng(0, 10), false, true, nil) }()
	select {
	case err := <-done:
		t.Fatalf("waiter returned early: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	l.UnlockRegion(a, rng(0, 5)) // still conflicts at [5,10)
	select {
	case err := <-done:
		t.Fatalf("waiter returned with conflict remaining: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	l.UnlockAll(a)
	if err := <-done; err != nil {
		t.Fatalf("waiter: %v", err)
	}
	if rec, ok := l.TestRegion(a, ReadLock, rng(0, 1)); !ok || rec.Owner != b {
		t.Errorf("waiter does not hold the lock")
	}
}

func TestBlockingCancel(t *testing.T) {
	var l Locks
	if err := l.LockRegion("A", 1, WriteLock, rng(0, EOF), false, false, nil); err != nil {
		t.Fatal(err)
	}
	intr := make(chan struct{})
	done := make(chan error)
	go func() { done <- l.LockRegion("B", 2, ReadLock, rng(0, 1), false, true, intr) }()
	close(intr)
	if err := <-done; err != linux.ERESTARTSYS {
		t.Errorf("cancelled wait: %v", err)
	}
	if len(l.Records()) != 1 {
		t.Errorf("cancelled waiter left records: %v", l.Records())
	}
}

func TestDeadlockDetection(t *testing.T) {
	var l1, l2 Locks
	a, b := "DA", "DB"
	l1.LockRegion(a, 1, WriteLock, rng(0, 1), false, false, nil)
	l2.LockRegion(b, 2, WriteLock, rng(0, 1), false, false, nil)
	intr := make(chan struct{})
	done := make(chan error)
	go func() { done <- l2.LockRegion(a, 1, WriteLock, rng(0, 1), false, true, intr) }()
	// Wait until a is recorded as blocked on b.
	for {
		deadlockMu.Lock()
		_, ok := blockedOn[a]
		deadlockMu.Unlock()
		if ok {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := l1.LockRegion(b, 2, WriteLock, rng(0, 1), false, true, nil); err != unix.EDEADLK {
		t.Errorf("deadlock: %v", err)
	}
	close(intr)
	<-done
}

func TestFlock(t *testing.T) {
	var l Locks
	a, b := "FA", "FB"
	if err := l.Flock(a, ReadLock, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := l.Flock(b, ReadLock, false, nil); err != nil {
		t.Errorf("shared+shared: %v", err)
	}
	if err := l.Flock(b, WriteLock, false, nil); err != unix.EWOULDBLOCK {
		t.Errorf("upgrade with other reader: %v", err)
	}
	// The failed conversion dropped b's shared lock, as Linux does.
	l.Funlock(a)
	if err := l.Flock(a, WriteLock, false, nil); err != nil {
		t.Errorf("exclusive when alone: %v", err)
	}
	done := make(chan error)
	go func() { done <- l.Flock(b, ReadLock, true, nil) }()
	select {
	case err := <-done:
		t.Fatalf("blocked flock returned early: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	l.Funlock(a)
	if err := <-done; err != nil {
		t.Errorf("woken flock: %v", err)
	}
	// Record locks and flocks do not interact.
	if err := l.LockRegion(a, 1, WriteLock, rng(0, EOF), false, false, nil); err != nil {
		t.Errorf("posix vs flock: %v", err)
	}
}
