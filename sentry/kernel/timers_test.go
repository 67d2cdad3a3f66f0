package kernel

import (
	"errors"
	"math"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"golang.org/x/sys/unix"
)

// fakeClock is a Clock that moves only when told; due callbacks run
// synchronously in Advance.
type fakeClock struct {
	mu    sync.Mutex
	now   int64
	waits []*fakeWait
}

type fakeWait struct {
	at   int64
	f    func()
	over bool
}

func (c *fakeClock) Now() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(at int64, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := &fakeWait{at: at, f: f}
	c.waits = append(c.waits, w)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if w.over {
			return false
		}
		w.over = true
		return true
	}
}

// pending returns how many callbacks are waiting.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, w := range c.waits {
		if !w.over {
			n++
		}
	}
	return n
}

// Advance moves the clock by d, running every callback that becomes due
// (in order of due time) at the new time.
func (c *fakeClock) Advance(d int64) {
	c.mu.Lock()
	c.now += d
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var due []*fakeWait
		live := c.waits[:0]
		for _, w := range c.waits {
			if w.over {
				continue
			}
			if w.at <= c.now {
				w.over = true
				due = append(due, w)
				continue
			}
			live = append(live, w)
		}
		c.waits = live
		c.mu.Unlock()
		if len(due) == 0 {
			return
		}
		sort.Slice(due, func(i, j int) bool { return due[i].at < due[j].at })
		for _, w := range due {
			w.f()
		}
	}
}

const ms = int64(time.Millisecond)

func TestSatAddAndForward(t *testing.T) {
	if got := satAdd(math.MaxInt64-1, 5); got != math.MaxInt64 {
		t.Errorf("satAdd overflow = %d", got)
	}
	if got := satAdd(math.MinInt64+1, -5); got != math.MinInt64 {
		t.Errorf("satAdd underflow = %d", got)
	}
	if got := satAdd(3, -5); got != -2 {
		t.Errorf("satAdd(3,-5) = %d", got)
	}
	for _, c := range []struct {
		next, interval, now int64
		n                   uint64
		after               int64
	}{
		{100, 10, 100, 1, 110},
		{100, 10, 109, 1, 110},
		{100, 10, 110, 2, 120},
		{100, 10, 135, 4, 140},
		{0, math.MaxInt64 / 2, math.MaxInt64 / 2, 2, math.MaxInt64 - 1},
		{5, math.MaxInt64 - 10, math.MaxInt64 - 1, 2, math.MaxInt64},
	} {
		n, after := forward(c.next, c.interval, c.now)
		if n != c.n || after != c.after {
			t.Errorf("forward(%d, %d, %d) = %d, %d; want %d, %d", c.next, c.interval, c.now, n, after, c.n, c.after)
		}
	}
}

func TestTimerOneShot(t *testing.T) {
	c := &fakeClock{now: 1000}
	var got []uint64
	tm := NewTimer(c, func(n uint64) bool { got = append(got, n); return true })
	if v, i := tm.Get(); v != 0 || i != 0 {
		t.Fatalf("new timer Get = %d, %d", v, i)
	}
	tm.Set(10*ms, 0, false)
	if v, _ := tm.Get(); v != 10*ms {
		t.Errorf("Get = %d, want %d", v, 10*ms)
	}
	c.Advance(10*ms - 1)
	if len(got) != 0 {
		t.Fatalf("fired early: %v", got)
	}
	c.Advance(1)
	if len(got) != 1 || got[0] != 1 {
		t.Fatalf("expirations = %v, want [1]", got)
	}
	if v, _ := tm.Get(); v != 0 {
		t.Errorf("expired one-shot Get = %d, want 0", v)
	}
	c.Advance(100 * ms)
	if len(got) != 1 {
		t.Errorf("one-shot fired again: %v", got)
	}
	if c.pending() != 0 {
		t.Errorf("%d callbacks left", c.pending())
	}
}

func TestTimerAbsoluteInPast(t *testing.T) {
	c := &fakeClock{now: 50 * ms}
	fired := 0
	tm := NewTimer(c, func(uint64) bool { fired++; return true })
	tm.Set(1*ms, 0, true)
	c.Advance(0)
	if fired != 1 {
		t.Errorf("absolute time in the past fired %d times, want 1", fired)
	}
}

func TestTimerPeriodicCountsLateExpirations(t *testing.T) {
	c := &fakeClock{}
	var got []uint64
	tm := NewTimer(c, func(n uint64) bool { got = append(got, n); return true })
	tm.Set(5*ms, 2*ms, false)
	c.Advance(5 * ms)
	c.Advance(2 * ms)
	// Late: the expirations at 9, 11 and 13ms come at once.
	c.Advance(7 * ms)
	want := []uint64{1, 1, 3}
	if len(got) != len(want) {
		t.Fatalf("expirations = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("expirations = %v, want %v", got, want)
		}
	}
	// Next expiry is at 15ms; now is 14ms.
	if v, i := tm.Get(); v != 1*ms || i != 2*ms {
		t.Errorf("Get = %d, %d; want %d, %d", v, i, 1*ms, 2*ms)
	}
	old, oldI := tm.Set(0, 0, false)
	if old != 1*ms || oldI != 2*ms {
		t.Errorf("Set returned %d, %d", old, oldI)
	}
	c.Advance(100 * ms)
	if len(got) != 3 {
		t.Errorf("stopped timer fired: %v", got)
	}
}

func TestTimerTinyIntervalDoesNotSpin(t *testing.T) {
	c := &fakeClock{}
	var total uint64
	calls := 0
	tm := NewTimer(c, func(n uint64) bool { total += n; calls++; return true })
	tm.Set(1, 1, false) // 1ns period
	c.Advance(1)
	c.Advance(int64(minTimerPeriod))
	if calls != 2 {
		t.Errorf("calls = %d, want 2 (one per minTimerPeriod)", calls)
	}
	if want := uint64(1 + minTimerPeriod); total != want {
		t.Errorf("expirations = %d, want %d", total, want)
	}
	tm.Stop()
}

func TestTimerHeldAndRearmed(t *testing.T) {
	c := &fakeClock{}
	calls := 0
	tm := NewTimer(c, func(uint64) bool { calls++; return false })
	tm.Set(10*ms, 10*ms, false)
	c.Advance(10 * ms)
	if calls != 1 {
		t.Fatalf("calls = %d", calls)
	}
	c.Advance(35 * ms) // now 45ms; held, so no more calls
	if calls != 1 {
		t.Fatalf("held timer fired: calls = %d", calls)
	}
	// Get moves a held timer forward: 20, 30, 40 were missed.
	if v, _ := tm.Get(); v != 5*ms {
		t.Errorf("held Get = %d, want %d", v, 5*ms)
	}
	if m := tm.TakeMissed(); m != 3 {
		t.Errorf("missed = %d, want 3", m)
	}
	c.Advance(10 * ms) // now 55: 50 missed too
	tm.Rearm()
	if m := tm.TakeMissed(); m != 1 {
		t.Errorf("missed at rearm = %d, want 1", m)
	}
	c.Advance(5 * ms) // 60: fires again
	if calls != 2 {
		t.Errorf("rearmed timer calls = %d, want 2", calls)
	}
	// It fired and is held again: Rearm restarts it, a second Rearm
	// does nothing.
	tm.Rearm()
	tm.Rearm()
	if c.pending() != 1 {
		t.Errorf("%d callbacks after Rearm of a running timer, want 1", c.pending())
	}
	tm.Stop()
}

func TestTimerRearmDuringExpire(t *testing.T) {
	c := &fakeClock{}
	calls := 0
	var tm *Timer
	tm = NewTimer(c, func(uint64) bool {
		calls++
		tm.Rearm() // the signal is taken before expire returns
		return false
	})
	tm.Set(ms, ms, false)
	c.Advance(ms)
	c.Advance(ms)
	c.Advance(ms)
	if calls != 3 {
		t.Errorf("calls = %d, want 3: a Rearm during expire must not be lost", calls)
	}
	tm.Stop()
}

func TestTimerPassive(t *testing.T) {
	c := &fakeClock{}
	tm := NewTimer(c, func(uint64) bool { t.Error("passive timer expired"); return true })
	tm.passive = true
	tm.Set(10*ms, 0, false)
	if c.pending() != 0 {
		t.Fatal("passive timer scheduled")
	}
	c.Advance(4 * ms)
	if v, _ := tm.Get(); v != 6*ms {
		t.Errorf("Get = %d", v)
	}
	c.Advance(6 * ms)
	if v, _ := tm.Get(); v != 0 {
		t.Errorf("expired passive one-shot Get = %d, want 0", v)
	}
	tm.Set(10*ms, 4*ms, false)
	c.Advance(15 * ms) // expiries at 10, 14; next 18
	if v, i := tm.Get(); v != 3*ms || i != 4*ms {
		t.Errorf("periodic passive Get = %d, %d", v, i)
	}
}

// sent is a signal a test TimerSet sent.
type sent struct {
	info linux.SignalInfo
	tid  int32
}

type timerFixture struct {
	mono, cpu *fakeClock
	ts        *TimerSet
	sent      []sent
	sendErr   error
	limit     int
}

func newTimerFixture() *timerFixture {
	f := &timerFixture{mono: &fakeClock{}, cpu: &fakeClock{}, limit: 4}
	f.ts = newTimerSetWith(timerEnv{
		itimerClocks: [3]Clock{f.mono, f.cpu, f.cpu},
		send: func(info *linux.SignalInfo, tid int32) error {
			if f.sendErr != nil {
				return f.sendErr
			}
			f.sent = append(f.sent, sent{*info, tid})
			return nil
		},
		ownThread: func(tid int32) bool { return tid == 77 },
		limit:     func() int { return f.limit },
	})
	return f
}

func (f *timerFixture) create(t *testing.T, ev *SigEvent) int32 {
	t.Helper()
	id, err := f.ts.CreateTimer(f.mono, ev, func(int32) error { return nil })
	if err != nil {
		t.Fatalf("CreateTimer: %v", err)
	}
	return id
}

func TestITimers(t *testing.T) {
	f := newTimerFixture()
	ts := f.ts
	if _, _, err := ts.SetITimer(3, 1, 1); err != unix.EINVAL {
		t.Errorf("SetITimer(3) err = %v", err)
	}
	if _, _, err := ts.GetITimer(-1); err != unix.EINVAL {
		t.Errorf("GetITimer(-1) err = %v", err)
	}
	ts.SetITimer(ITIMER_REAL, 10*ms, 5*ms)
	f.mono.Advance(10 * ms)
	f.mono.Advance(5 * ms)
	if len(f.sent) != 2 {
		t.Fatalf("sent %d signals, want 2", len(f.sent))
	}
	for _, s := range f.sent {
		if s.info.Signo != int32(linux.SIGALRM) || s.info.Code != linux.SI_KERNEL || s.tid != 0 {
			t.Errorf("sent %+v to %d", s.info, s.tid)
		}
	}
	v, i, _ := ts.GetITimer(ITIMER_REAL)
	if v != 5*ms || i != 5*ms {
		t.Errorf("GetITimer = %d, %d", v, i)
	}
	// A zero value disarms ITIMER_REAL and forgets its interval ...
	ov, oi, _ := ts.SetITimer(ITIMER_REAL, 0, time.Second.Nanoseconds())
	if ov != 5*ms || oi != 5*ms {
		t.Errorf("old = %d, %d", ov, oi)
	}
	if v, i, _ := ts.GetITimer(ITIMER_REAL); v != 0 || i != 0 {
		t.Errorf("disarmed REAL = %d, %d", v, i)
	}
	// ... but a CPU itimer keeps it, as on Linux.
	ts.SetITimer(ITIMER_VIRTUAL, 0, 7*ms)
	if v, i, _ := ts.GetITimer(ITIMER_VIRTUAL); v != 0 || i != 7*ms {
		t.Errorf("disarmed VIRTUAL = %d, %d", v, i)
	}
	f.sent = nil
	ts.SetITimer(ITIMER_PROF, 3*ms, 0)
	f.mono.Advance(time.Hour.Nanoseconds())
	if len(f.sent) != 0 {
		t.Errorf("PROF fired on real time")
	}
	f.cpu.Advance(3 * ms)
	if len(f.sent) != 1 || f.sent[0].info.Signo != int32(linux.SIGPROF) {
		t.Errorf("PROF sent %+v", f.sent)
	}
}

func TestPosixTimerSignalAndOverrun(t *testing.T) {
	f := newTimerFixture()
	ts := f.ts
	id := f.create(t, &SigEvent{Notify: SIGEV_SIGNAL, Signo: int32(linux.SIGRTMIN + 2), Value: 4242})
	ts.SetTimer(id, 10*ms, 10*ms, false)
	f.mono.Advance(10 * ms)
	if len(f.sent) != 1 {
		t.Fatalf("sent %d", len(f.sent))
	}
	info := f.sent[0].info
	if info.Signo != int32(linux.SIGRTMIN+2) || info.Code != linux.SI_TIMER || info.TimerID() != id || info.Value() != 4242 || f.sent[0].tid != 0 {
		t.Errorf("info = %+v to %d", info, f.sent[0].tid)
	}
	// The signal stays queued for 45ms: the timer waits, and the
	// expirations at 20, 30, 40 and 50 become overruns.
	f.mono.Advance(45 * ms)
	if len(f.sent) != 1 {
		t.Fatalf("queued timer sent again: %d", len(f.sent))
	}
	if v, i, _ := ts.GetTimer(id); v != 5*ms || i != 10*ms {
		t.Errorf("GetTimer = %d, %d", v, i)
	}
	if !ts.TimerSignalDequeued(&info) {
		t.Fatal("live timer's signal dropped")
	}
	if info.Overrun() != 4 {
		t.Errorf("si_overrun = %d, want 4", info.Overrun())
	}
	if info.Fields[siTimerMarkOff-16] != 0 {
		t.Error("private mark left in the siginfo")
	}
	if n, _ := ts.TimerOverrun(id); n != 4 {
		t.Errorf("timer_getoverrun = %d, want 4", n)
	}
	// Taken at once: the next signal has no overrun.
	f.mono.Advance(5 * ms)
	if len(f.sent) != 2 {
		t.Fatalf("rearmed timer sent %d", len(f.sent))
	}
	info = f.sent[1].info
	ts.TimerSignalDequeued(&info)
	if info.Overrun() != 0 {
		t.Errorf("prompt si_overrun = %d", info.Overrun())
	}
	if n, _ := ts.TimerOverrun(id); n != 0 {
		t.Errorf("timer_getoverrun = %d, want 0", n)
	}
	// A signal queued before timer_settime is dropped (Linux 6.13+),
	// and the count is reset.
	f.mono.Advance(10 * ms)
	if len(f.sent) != 3 {
		t.Fatalf("sent %d", len(f.sent))
	}
	ts.SetTimer(id, 0, 0, false)
	info = f.sent[2].info
	if ts.TimerSignalDequeued(&info) {
		t.Error("signal of an older setting delivered")
	}
	if n, _ := ts.TimerOverrun(id); n != 0 {
		t.Errorf("after settime overrun = %d", n)
	}
	if err := ts.DeleteTimer(id); err != nil {
		t.Fatal(err)
	}
	if f.mono.pending() != 0 {
		t.Errorf("%d callbacks left", f.mono.pending())
	}
}

func TestPosixTimerDiscardedSignal(t *testing.T) {
	f := newTimerFixture()
	id := f.create(t, &SigEvent{Notify: SIGEV_SIGNAL, Signo: int32(linux.SIGUSR1)})
	f.ts.SetTimer(id, ms, ms, false)
	f.mono.Advance(ms)
	f.ts.TimerSignalDiscarded(&f.sent[0].info)
	f.mono.Advance(ms)
	if len(f.sent) != 2 {
		t.Fatalf("timer held after its signal was discarded: sent %d", len(f.sent))
	}
	info := f.sent[1].info
	f.ts.TimerSignalDequeued(&info)
	if info.Overrun() != 1 {
		t.Errorf("si_overrun = %d, want 1 (the discarded one)", info.Overrun())
	}
}

func TestPosixTimerSendFailureKeepsRunning(t *testing.T) {
	f := newTimerFixture()
	id := f.create(t, &SigEvent{Notify: SIGEV_THREAD_ID, Signo: int32(linux.SIGUSR2), TID: 77})
	f.ts.SetTimer(id, ms, ms, false)
	f.sendErr = unix.ESRCH
	f.mono.Advance(ms)
	f.mono.Advance(ms)
	f.sendErr = nil
	f.mono.Advance(ms)
	if len(f.sent) != 1 || f.sent[0].tid != 77 {
		t.Fatalf("sent = %+v", f.sent)
	}
	info := f.sent[0].info
	f.ts.TimerSignalDequeued(&info)
	if info.Overrun() != 2 {
		t.Errorf("si_overrun = %d, want 2 (two unsent expirations)", info.Overrun())
	}
}

func TestPosixTimerOneShotWhileQueued(t *testing.T) {
	f := newTimerFixture()
	id := f.create(t, &SigEvent{Notify: SIGEV_SIGNAL, Signo: int32(linux.SIGUSR1)})
	f.ts.SetTimer(id, ms, 0, false)
	f.mono.Advance(ms)
	f.ts.SetTimer(id, ms, 0, false)
	f.mono.Advance(ms)
	if len(f.sent) != 1 {
		t.Fatalf("a second signal was queued: %d", len(f.sent))
	}
	// The queued signal now stands for the second setting's expiry.
	info := f.sent[0].info
	if !f.ts.TimerSignalDequeued(&info) {
		t.Error("signal taken over by the new setting dropped")
	}
	if info.Overrun() != 0 {
		t.Errorf("si_overrun = %d, want 0", info.Overrun())
	}
	if n, _ := f.ts.TimerOverrun(id); n != 0 {
		t.Errorf("one-shot timer_getoverrun = %d, want 0", n)
	}
}

func TestPosixTimerDeletedOrForgedSignal(t *testing.T) {
	f := newTimerFixture()
	id := f.create(t, &SigEvent{Notify: SIGEV_SIGNAL, Signo: int32(linux.SIGUSR1), Value: 5})
	f.ts.SetTimer(id, ms, 0, false)
	f.mono.Advance(ms)
	f.ts.DeleteTimer(id)
	info := f.sent[0].info
	if f.ts.TimerSignalDequeued(&info) {
		t.Error("deleted timer's signal delivered")
	}
	// rt_sigqueueinfo with SI_TIMER: not the kernel's, delivered as is.
	forged := linux.SignalInfo{Signo: int32(linux.SIGUSR1), Code: linux.SI_TIMER}
	forged.SetTimerID(id)
	forged.SetOverrun(12)
	if !f.ts.TimerSignalDequeued(&forged) || forged.Overrun() != 12 {
		t.Errorf("forged SI_TIMER changed or dropped: %+v", forged)
	}
}

func TestPosixTimerNoneAndAbsolute(t *testing.T) {
	f := newTimerFixture()
	id := f.create(t, &SigEvent{Notify: SIGEV_NONE, Signo: 9999})
	f.mono.Advance(100 * ms)
	f.ts.SetTimer(id, 150*ms, 0, true)
	if v, _, _ := f.ts.GetTimer(id); v != 50*ms {
		t.Errorf("absolute GetTimer = %d", v)
	}
	f.mono.Advance(60 * ms)
	if v, _, _ := f.ts.GetTimer(id); v != 0 {
		t.Errorf("expired SIGEV_NONE GetTimer = %d", v)
	}
	if len(f.sent) != 0 {
		t.Errorf("SIGEV_NONE sent %+v", f.sent)
	}
}

func TestPosixTimerDefaultSigevent(t *testing.T) {
	f := newTimerFixture()
	f.create(t, nil)
	id := f.create(t, nil)
	f.ts.SetTimer(id, ms, 0, false)
	f.mono.Advance(ms)
	if len(f.sent) != 1 {
		t.Fatal("no signal")
	}
	if in := f.sent[0].info; in.Signo != int32(linux.SIGALRM) || in.Value() != uint64(id) || in.TimerID() != id {
		t.Errorf("default sigevent info = %+v", in)
	}
}

func TestCreateTimerErrorsAndIDs(t *testing.T) {
	f := newTimerFixture()
	ts := f.ts
	ok := func(int32) error { return nil }
	for _, ev := range []*SigEvent{
		{Notify: SIGEV_SIGNAL, Signo: 0},
		{Notify: SIGEV_SIGNAL, Signo: 65},
		{Notify: SIGEV_THREAD, Signo: -1},
		{Notify: 99, Signo: 10},
		{Notify: SIGEV_SIGNAL | 8, Signo: 10},
		{Notify: SIGEV_THREAD_ID, Signo: 10, TID: 78},
		{Notify: SIGEV_THREAD_ID, Signo: 0, TID: 77},
	} {
		if _, err := ts.CreateTimer(f.mono, ev, ok); err != unix.EINVAL {
			t.Errorf("CreateTimer(%+v) err = %v, want EINVAL", ev, err)
		}
	}
	// Failed creations used IDs 0-6, as on Linux.
	errPublish := errors.New("copy-out")
	if _, err := ts.CreateTimer(f.mono, nil, func(int32) error { return errPublish }); err != errPublish {
		t.Errorf("publish failure err = %v", err)
	}
	var ids []int32
	for range f.limit {
		id, err := ts.CreateTimer(f.mono, nil, ok)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if ids[0] != 8 || ids[3] != 11 {
		t.Errorf("ids = %v, want 8..11", ids)
	}
	if _, err := ts.CreateTimer(f.mono, nil, ok); err != unix.EAGAIN {
		t.Errorf("over the limit err = %v, want EAGAIN", err)
	}
	if err := ts.DeleteTimer(ids[1]); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		ts.DeleteTimer(ids[1]),
		func() error { _, _, err := ts.GetTimer(ids[1]); return err }(),
		func() error { _, _, err := ts.SetTimer(ids[1], 1, 0, false); return err }(),
		func() error { _, err := ts.TimerOverrun(-5); return err }(),
	} {
		if err != unix.EINVAL {
			t.Errorf("deleted timer err = %v, want EINVAL", err)
		}
	}
	if _, err := ts.CreateTimer(f.mono, nil, ok); err != nil {
		t.Errorf("after delete: %v", err)
	}
}

func TestCreateTimerIDWraps(t *testing.T) {
	f := newTimerFixture()
	f.ts.nextID = math.MaxInt32
	a := f.create(t, nil)
	b := f.create(t, nil)
	if a != math.MaxInt32 || b != 0 {
		t.Errorf("ids = %d, %d", a, b)
	}
	f.ts.nextID = 0 // in use: skipped
	if c := f.create(t, nil); c != 1 {
		t.Errorf("id = %d, want 1", c)
	}
}

func TestExecResetAndRelease(t *testing.T) {
	f := newTimerFixture()
	ts := f.ts
	id := f.create(t, &SigEvent{Notify: SIGEV_SIGNAL, Signo: 10})
	ts.SetTimer(id, ms, ms, false)
	ts.SetITimer(ITIMER_REAL, 2*ms, 0)
	ts.ExecReset()
	if _, _, err := ts.GetTimer(id); err != unix.EINVAL {
		t.Errorf("POSIX timer survived exec: %v", err)
	}
	f.mono.Advance(2 * ms)
	if len(f.sent) != 1 || f.sent[0].info.Signo != int32(linux.SIGALRM) {
		t.Errorf("after exec sent %+v; want only the itimer's SIGALRM", f.sent)
	}
	ts.SetITimer(ITIMER_REAL, ms, ms)
	ts.SetITimer(ITIMER_PROF, ms, ms)
	id = f.create(t, &SigEvent{Notify: SIGEV_SIGNAL, Signo: 10})
	ts.SetTimer(id, ms, ms, false)
	ts.Release()
	if f.mono.pending() != 0 || f.cpu.pending() != 0 {
		t.Errorf("callbacks left after Release: %d, %d", f.mono.pending(), f.cpu.pending())
	}
	if _, err := ts.CreateTimer(f.mono, nil, func(int32) error { return nil }); err != unix.EAGAIN {
		t.Errorf("CreateTimer after Release err = %v", err)
	}
}

// TestWallClockAfterFunc uses real time, with no upper bound on how long
// anything takes.
func TestWallClockAfterFunc(t *testing.T) {
	var now int64
	var mu sync.Mutex
	c := wallClock{now: func() int64 { mu.Lock(); defer mu.Unlock(); return now }}
	done := make(chan struct{})
	// The clock does not advance by itself here: f must not run until
	// it is moved, however often the Go timer fires.
	stop1 := c.AfterFunc(int64(time.Millisecond), func() { close(done) })
	time.Sleep(3 * time.Millisecond)
	select {
	case <-done:
		t.Fatal("fired before the clock reached the time")
	default:
	}
	mu.Lock()
	now = int64(time.Millisecond)
	mu.Unlock()
	<-done
	if stop1() {
		t.Error("stop after f ran reported true")
	}

	stop := c.AfterFunc(now+int64(time.Hour), func() { t.Error("stopped wait fired") })
	if !stop() {
		t.Error("stop of a pending wait reported false")
	}
}

func TestCPUClockStopsWhenDone(t *testing.T) {
	done := make(chan struct{})
	close(done)
	fired := make(chan struct{})
	w := waitFor(func() int64 { return 0 }, 1, func() { close(fired) }, done,
		0, func(int64) time.Duration { return time.Microsecond })
	for !w.isOver() {
		runtime.Gosched()
	}
	select {
	case <-fired:
		t.Error("fired on a clock that stopped for good")
	default:
	}
	if !w.stop() {
		t.Error("stop after the wait gave up reported false, but f never ran")
	}
}
