package kernel

// Timers: clocks that can be waited on, an interval-timer engine, and each
// thread group's timers (setitimer(2) and alarm(2) itimers, POSIX timers of
// timer_create(2)).
//
// A Clock reads nanoseconds and calls a function once it has reached a
// point. The wall clocks (CLOCK_REALTIME, CLOCK_MONOTONIC) wait with a Go
// timer; the CPU clocks of a thread or a thread group cannot be waited on
// directly (CPU time is accounted when a task leaves the guest), so they are
// polled every cpuClockPoll at most. Either kind re-reads the clock when
// its Go timer fires and waits again if it has not arrived yet.
//
// A Timer expires at a point on its clock and then every interval. When it
// fires it computes how many expirations passed (one, or more if it fired
// late) and calls its expire function without holding its lock, so that
// the function can send signals. expire can hold a periodic timer: it then
// does not re-arm until Rearm is called. POSIX timers use this as Linux
// does: while a timer's signal is queued the timer does not run; when the
// signal is dequeued the timer is moved forward past now and the intervals
// it skipped become the signal's si_overrun (TimerSignalDequeued).
//
// Lock order: TimerSet.mu, then posixTimer.mu, then Timer.mu, then a
// clockWait's mu. None of them is held while a clock is read (a CPU clock
// takes Kernel.mu), a signal is sent, or a task is looked up, so Release
// and ExecReset may run under Kernel.mu.

import (
	"encoding/binary"
	"math"
	"sync"
	"time"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"golang.org/x/sys/unix"
)

// Clock is a clock that timers and sleeps can wait on.
type Clock interface {
	// Now returns the clock's reading in nanoseconds.
	Now() int64
	// AfterFunc calls f on its own goroutine once Now() >= at (never,
	// if the clock stops for good first). stop cancels the call; it
	// reports false if f has already been called or is being called.
	AfterFunc(at int64, f func()) (stop func() bool)
}

const (
	// cpuClockPoll is how often a CPU clock that is waited on is read.
	cpuClockPoll = 10 * time.Millisecond
	// minTimerPeriod is the least real time between two firings of a
	// periodic timer: a shorter interval still counts every expiration
	// (in the count passed to expire, or as overruns), but the Sentry
	// does not spin a host CPU for it.
	minTimerPeriod = 100 * time.Microsecond
)

// wallClock is a clock that advances with real time.
type wallClock struct{ now func() int64 }

func (c wallClock) Now() int64 { return c.now() }

func (c wallClock) AfterFunc(at int64, f func()) func() bool {
	first := time.Duration(max(at-c.now(), 0))
	return waitFor(c.now, at, f, nil, first, func(rem int64) time.Duration { return time.Duration(rem) }).stop
}

// cpuClock is the CPU time of a task or a thread group. done, if not nil,
// is closed when the clock stops for good (the group has exited); waiting
// on it then stops.
type cpuClock struct {
	now  func() int64
	done <-chan struct{}
}

func (c cpuClock) Now() int64 { return c.now() }

// AfterFunc does not read the clock itself (that takes the kernel's mu,
// which callers may hold): the first check runs at once on the Go timer's
// goroutine.
func (c cpuClock) AfterFunc(at int64, f func()) func() bool {
	return waitFor(c.now, at, f, c.done, 0, func(rem int64) time.Duration {
		return min(time.Duration(rem), cpuClockPoll)
	}).stop
}

// RealtimeClock returns CLOCK_REALTIME.
func (k *Kernel) RealtimeClock() Clock { return wallClock{now: k.RealtimeNanos} }

// MonotonicClock returns CLOCK_MONOTONIC (and CLOCK_BOOTTIME: the sandbox
// never suspends).
func (k *Kernel) MonotonicClock() Clock { return wallClock{now: k.MonotonicNanos} }

// CPUClock returns the group's CPU clock (CLOCK_PROCESS_CPUTIME_ID): user
// and system time.
func (tg *ThreadGroup) CPUClock() Clock { return cpuClock{now: tg.CPUNanos, done: tg.Done()} }

// UserCPUClock returns the group's user CPU time (ITIMER_VIRTUAL, and the
// CPUCLOCK_VIRT clocks).
func (tg *ThreadGroup) UserCPUClock() Clock {
	return cpuClock{now: func() int64 { u, _ := tg.CPUTimes(); return u }, done: tg.Done()}
}

// CPUClock returns the task's CPU clock (CLOCK_THREAD_CPUTIME_ID).
func (t *Task) CPUClock() Clock { return cpuClock{now: t.CPUNanos} }

// UserCPUClock returns the task's user CPU time.
func (t *Task) UserCPUClock() Clock {
	return cpuClock{now: func() int64 { u, _ := t.CPUTimes(); return u }}
}

// clockWait is one pending AfterFunc.
type clockWait struct {
	now   func() int64
	at    int64
	f     func()
	done  <-chan struct{}
	delay func(rem int64) time.Duration

	// mu guards timer, over and fired.
	mu    sync.Mutex
	timer *time.Timer
	// over is set once f has been called, the wait was stopped, or the
	// clock stopped for good; fired once f has been called.
	over  bool
	fired bool
}

// waitFor calls f once now() >= at, checking first after the first
// duration, then after delay(remaining) each time; it gives up if done is
// closed first.
func waitFor(now func() int64, at int64, f func(), done <-chan struct{}, first time.Duration, delay func(int64) time.Duration) *clockWait {
	w := &clockWait{now: now, at: at, f: f, done: done, delay: delay}
	w.mu.Lock()
	w.timer = time.AfterFunc(first, w.check)
	w.mu.Unlock()
	return w
}

// isOver reports whether f ran or the wait ended.
func (w *clockWait) isOver() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.over
}

func (w *clockWait) check() {
	rem := w.at - w.now()
	w.mu.Lock()
	if w.over {
		w.mu.Unlock()
		return
	}
	if rem > 0 {
		select {
		case <-w.done:
			// The clock will not move again.
			w.over = true
		default:
			w.timer = time.AfterFunc(w.delay(rem), w.check)
		}
		w.mu.Unlock()
		return
	}
	w.over, w.fired = true, true
	w.mu.Unlock()
	w.f()
}

// stop ends the wait; it reports false if f has been called (or is
// being called).
func (w *clockWait) stop() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fired {
		return false
	}
	w.over = true
	w.timer.Stop()
	return true
}

// satAdd returns a+b, saturated to the int64 range.
func satAdd(a, b int64) int64 {
	s := a + b
	if a > 0 && b > 0 && s < 0 {
		return math.MaxInt64
	}
	if a < 0 && b < 0 && s >= 0 {
		return math.MinInt64
	}
	return s
}

// forward returns how many points of the series next, next+interval, ...
// are at or before now (at least 1, next <= now and interval > 0 are
// required), and the first point after now (saturated).
func forward(next, interval, now int64) (n uint64, after int64) {
	k := (now-next)/interval + 1 // now-next >= 0 cannot overflow for clock readings >= 0
	if k > math.MaxInt64/interval {
		return uint64(k), math.MaxInt64
	}
	return uint64(k), satAdd(next, k*interval)
}

// Timer is an interval timer on a Clock.
//
// A CPU clock's reading takes Kernel.mu, so the clock is never read with
// a timer lock held: Set, Get and Rearm read it before taking mu (and so
// must not be called with Kernel.mu held on a CPU-clock timer); Stop does
// not read it and may be called anywhere.
type Timer struct {
	clock Clock
	// expire is called, without mu held, with the number of expirations
	// since the previous call (at least 1). For a periodic timer it
	// returns false to hold the timer until Rearm.
	expire func(n uint64) bool
	// passive timers are never scheduled: their expirations are only
	// computed when they are read (SIGEV_NONE POSIX timers).
	passive bool

	// mu guards the fields below.
	mu sync.Mutex
	// armed is set while an expiration is due at next (or held).
	armed    bool
	next     int64
	interval int64
	// held is set when expire held a periodic timer.
	held bool
	// firing is set while expire runs; rearmAsked records a Rearm that
	// came in meanwhile.
	firing     bool
	rearmAsked bool
	// missed counts expirations skipped by moving a held timer forward
	// (Get, Rearm), for the owner to take with TakeMissed.
	missed int64
	// stop cancels the scheduled firing, if any.
	stop func() bool
	// gen changes at every Set and Stop, so that a firing scheduled
	// before is ignored.
	gen uint64
}

// NewTimer returns a disarmed timer on c.
func NewTimer(c Clock, expire func(n uint64) bool) *Timer {
	return &Timer{clock: c, expire: expire}
}

// Clock returns the timer's clock.
func (tm *Timer) Clock() Clock { return tm.clock }

// Set arms the timer to expire at value (relative to now, or on the clock
// if abs) and then every interval; a zero value disarms it (interval is
// still recorded, to be reported by Get). It returns the previous setting
// as Get would.
func (tm *Timer) Set(value, interval int64, abs bool) (oldValue, oldInterval int64) {
	return tm.setAt(tm.clock.Now(), value, interval, abs)
}

func (tm *Timer) setAt(now, value, interval int64, abs bool) (oldValue, oldInterval int64) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	oldValue, oldInterval = tm.getLocked(now)
	tm.resetLocked()
	tm.interval = max(interval, 0)
	tm.armed = value != 0
	if !tm.armed {
		return oldValue, oldInterval
	}
	if abs {
		tm.next = value
	} else {
		tm.next = satAdd(now, value)
	}
	tm.scheduleLocked(tm.next)
	return oldValue, oldInterval
}

// resetLocked cancels any firing and forgets the state of the last
// setting.
func (tm *Timer) resetLocked() {
	if tm.stop != nil {
		tm.stop()
		tm.stop = nil
	}
	tm.gen++
	tm.armed, tm.held, tm.rearmAsked, tm.missed = false, false, false, 0
}

// Stop disarms the timer. It does not read the clock.
func (tm *Timer) Stop() {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	tm.resetLocked()
	tm.interval = 0
}

// Get returns the time until the next expiration (0 if disarmed, at least
// 1 if armed) and the interval.
func (tm *Timer) Get() (value, interval int64) {
	return tm.getAt(tm.clock.Now())
}

func (tm *Timer) getAt(now int64) (value, interval int64) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.getLocked(now)
}

func (tm *Timer) getLocked(now int64) (value, interval int64) {
	if !tm.armed {
		return 0, tm.interval
	}
	if tm.next <= now && tm.interval > 0 && (tm.held || tm.passive) {
		n, after := forward(tm.next, tm.interval, now)
		tm.next = after
		tm.missed = satAdd(tm.missed, int64(n))
	}
	if tm.next <= now {
		if tm.passive {
			// An expired one-shot timer nobody is told about.
			tm.armed = false
			return 0, tm.interval
		}
		return 1, tm.interval
	}
	return tm.next - now, tm.interval
}

// Rearm restarts a periodic timer that expire held: it moves it forward
// past now (counting the skipped expirations as missed) and schedules it.
// It does nothing to a timer that is not held.
func (tm *Timer) Rearm() {
	tm.rearmAt(tm.clock.Now())
}

func (tm *Timer) rearmAt(now int64) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if tm.firing {
		tm.rearmAsked = true
		return
	}
	if !tm.armed || !tm.held {
		return
	}
	tm.held = false
	tm.restartLocked(now)
}

// TakeMissed returns the expirations skipped since the last call (see
// Rearm and Get) and resets the count.
func (tm *Timer) TakeMissed() int64 {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	n := tm.missed
	tm.missed = 0
	return n
}

// restartLocked schedules a periodic timer after it fired or was held.
func (tm *Timer) restartLocked(now int64) {
	if tm.next <= now {
		n, after := forward(tm.next, tm.interval, now)
		tm.next = after
		tm.missed = satAdd(tm.missed, int64(n))
	}
	tm.scheduleLocked(max(tm.next, satAdd(now, int64(minTimerPeriod))))
}

// scheduleLocked arranges for fire to run at clock time at.
func (tm *Timer) scheduleLocked(at int64) {
	if tm.passive {
		return
	}
	gen := tm.gen
	tm.stop = tm.clock.AfterFunc(at, func() { tm.fire(gen) })
}

// fire runs when the clock reached a scheduled expiration.
func (tm *Timer) fire(gen uint64) {
	now := tm.clock.Now()
	tm.mu.Lock()
	if gen != tm.gen || !tm.armed || tm.held || tm.firing {
		tm.mu.Unlock()
		return
	}
	tm.stop = nil
	if now < tm.next {
		// A wall clock set back; or scheduled later than next
		// (minTimerPeriod), which cannot be early.
		tm.scheduleLocked(tm.next)
		tm.mu.Unlock()
		return
	}
	n := uint64(1)
	if tm.interval > 0 {
		n, tm.next = forward(tm.next, tm.interval, now)
	} else {
		tm.armed = false
	}
	tm.firing = true
	tm.mu.Unlock()

	keep := tm.expire(n)

	now = tm.clock.Now()
	tm.mu.Lock()
	defer tm.mu.Unlock()
	tm.firing = false
	asked := tm.rearmAsked
	tm.rearmAsked = false
	if gen != tm.gen || !tm.armed {
		return
	}
	if keep || asked {
		tm.restartLocked(now)
	} else {
		tm.held = true
	}
}

// Interval timer numbers (setitimer(2)).
const (
	ITIMER_REAL    = 0
	ITIMER_VIRTUAL = 1
	ITIMER_PROF    = 2
)

// sigevent_t notification kinds (include/uapi/asm-generic/siginfo.h).
const (
	SIGEV_SIGNAL    = 0
	SIGEV_NONE      = 1
	SIGEV_THREAD    = 2
	SIGEV_THREAD_ID = 4
)

// maxPosixTimers bounds the POSIX timers of one thread group, whatever
// RLIMIT_SIGPENDING says (Linux charges each timer's preallocated signal
// to that limit).
const maxPosixTimers = 8192

// SigEvent is the part of a struct sigevent that timer_create(2) uses.
type SigEvent struct {
	Notify int32
	Signo  int32
	// Value is the sigval delivered as si_value.
	Value uint64
	// TID is the target thread of SIGEV_THREAD_ID.
	TID int32
}

// posixTimer is one timer_create(2) timer.
type posixTimer struct {
	id     int32
	timer  *Timer
	notify int32
	signo  linux.Signal
	value  uint64
	tid    int32

	// mu guards the fields below. It is taken before the Timer's mu.
	mu sync.Mutex
	// seq counts timer_settime calls; a queued signal of an older
	// setting is dropped when dequeued, as on Linux since 6.13.
	seq uint64
	// queued is set while a signal of this timer is queued; queuedSeq
	// is the setting it stands for.
	queued    bool
	queuedSeq uint64
	// overrun counts expirations since the last delivered signal that
	// did not get their own (Linux's it_overrun).
	overrun int64
	// overrunLast is the overrun reported with the last delivered signal
	// (timer_getoverrun(2)).
	overrunLast int64
	// deleted is set by timer_delete.
	deleted bool
}

// siTimerMarkOff is the offset in siginfo of the timer union's
// _sys_private int, which Linux keeps for itself and clears before the
// guest sees it. A timer's signal carries timerSignalMark there, so the
// dequeue hooks can tell it from an SI_TIMER forged with
// rt_sigqueueinfo(2).
const (
	siTimerMarkOff  = 32
	timerSignalMark = 0x54494d52 // "TIMR"
)

func markTimerSignal(info *linux.SignalInfo) {
	binary.LittleEndian.PutUint32(info.Fields[siTimerMarkOff-16:], timerSignalMark)
}

// takeTimerMark reports whether info is a timer's signal, and clears the
// mark.
func takeTimerMark(info *linux.SignalInfo) bool {
	b := info.Fields[siTimerMarkOff-16:]
	if info.Code != linux.SI_TIMER || binary.LittleEndian.Uint32(b) != timerSignalMark {
		return false
	}
	binary.LittleEndian.PutUint32(b, 0)
	return true
}

// TimerSet holds a thread group's timers: the three itimers (ITIMER_REAL
// also serves alarm(2)) and its POSIX timers. A child process starts with
// an empty set; execve keeps the itimers and deletes the POSIX timers.
type TimerSet struct {
	env timerEnv

	itimers [3]*Timer

	// mu guards posix, nextID, released and the posixTimer fields it
	// names. It is taken before any Timer's lock, never after.
	mu       sync.Mutex
	posix    map[int32]*posixTimer
	nextID   int32
	released bool
}

// timerEnv is what a TimerSet needs from its thread group (tests replace
// it).
type timerEnv struct {
	// itimerClocks are the clocks of ITIMER_REAL (CLOCK_MONOTONIC, as
	// on Linux), ITIMER_VIRTUAL and ITIMER_PROF.
	itimerClocks [3]Clock
	// send delivers a timer's signal: to the thread tid of the group,
	// or to the whole group if tid is 0.
	send func(info *linux.SignalInfo, tid int32) error
	// ownThread reports whether tid is a thread of the group.
	ownThread func(tid int32) bool
	// limit returns the most POSIX timers the group may have.
	limit func() int
}

// newTimerSet returns tg's timers, all disarmed.
func newTimerSet(tg *ThreadGroup) *TimerSet {
	k := tg.k
	return newTimerSetWith(timerEnv{
		itimerClocks: [3]Clock{k.MonotonicClock(), tg.UserCPUClock(), tg.CPUClock()},
		send: func(info *linux.SignalInfo, tid int32) error {
			if tid == 0 {
				return tg.SendSignal(info)
			}
			t := k.TaskByTID(tid)
			if t == nil || t.ThreadGroup() != tg {
				return unix.ESRCH
			}
			return t.SendSignal(info)
		},
		ownThread: func(tid int32) bool {
			t := k.TaskByTID(tid)
			return t != nil && t.ThreadGroup() == tg
		},
		limit: func() int {
			return int(min(tg.Limits().Cur(linux.RLIMIT_SIGPENDING), maxPosixTimers))
		},
	})
}

// newTimerSetWith builds a TimerSet on env.
func newTimerSetWith(env timerEnv) *TimerSet {
	ts := &TimerSet{env: env, posix: make(map[int32]*posixTimer)}
	itimerSignal := [3]linux.Signal{linux.SIGALRM, linux.SIGVTALRM, linux.SIGPROF}
	for i := range ts.itimers {
		sig := itimerSignal[i]
		ts.itimers[i] = NewTimer(env.itimerClocks[i], func(uint64) bool {
			info := &linux.SignalInfo{Signo: int32(sig), Code: linux.SI_KERNEL}
			// A signal already pending absorbs this one, as on Linux.
			_ = ts.env.send(info, 0)
			return true
		})
	}
	return ts
}

// SetITimer implements setitimer(2): it sets itimer which to expire after
// value nanoseconds and then every interval, and returns the previous
// setting. EINVAL if which is not an itimer.
func (ts *TimerSet) SetITimer(which int32, value, interval int64) (oldValue, oldInterval int64, err error) {
	if which < 0 || int(which) >= len(ts.itimers) {
		return 0, 0, unix.EINVAL
	}
	if which == ITIMER_REAL && value == 0 {
		// Linux forgets the interval of a disarmed ITIMER_REAL (but
		// not of the CPU itimers).
		interval = 0
	}
	ts.mu.Lock()
	released := ts.released
	ts.mu.Unlock()
	if released {
		value = 0
	}
	oldValue, oldInterval = ts.itimers[which].Set(value, interval, false)
	return oldValue, oldInterval, nil
}

// GetITimer implements getitimer(2).
func (ts *TimerSet) GetITimer(which int32) (value, interval int64, err error) {
	if which < 0 || int(which) >= len(ts.itimers) {
		return 0, 0, unix.EINVAL
	}
	value, interval = ts.itimers[which].Get()
	return value, interval, nil
}

// CreateTimer implements timer_create(2) on clock c. ev nil means the
// default: SIGALRM with the timer's ID as its value. publish is called
// with the new ID before the timer becomes usable (to copy the ID out);
// if it fails, the timer is not created (its ID stays used, as on
// Linux). Errors: EAGAIN (too many timers), EINVAL (bad sigevent), or
// publish's.
func (ts *TimerSet) CreateTimer(c Clock, ev *SigEvent, publish func(id int32) error) (int32, error) {
	// Looked up before taking mu: TaskByTID takes the kernel's mu.
	ownThread := ev != nil && ev.Notify == SIGEV_THREAD_ID && ts.env.ownThread(ev.TID)
	limit := ts.env.limit()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.released || len(ts.posix) >= limit {
		return 0, unix.EAGAIN
	}
	id := ts.nextID
	for {
		ts.nextID = (ts.nextID + 1) & math.MaxInt32
		if _, used := ts.posix[id]; !used {
			break
		}
		id = ts.nextID
	}
	pt := &posixTimer{id: id, notify: SIGEV_SIGNAL, signo: linux.SIGALRM, value: uint64(id)}
	if ev != nil {
		switch ev.Notify {
		case SIGEV_THREAD_ID:
			if !ownThread {
				return 0, unix.EINVAL
			}
			fallthrough
		case SIGEV_SIGNAL, SIGEV_THREAD:
			if !linux.Signal(ev.Signo).Valid() {
				return 0, unix.EINVAL
			}
		case SIGEV_NONE:
		default:
			return 0, unix.EINVAL
		}
		pt.notify, pt.signo, pt.value = ev.Notify, linux.Signal(ev.Signo), ev.Value
		if ev.Notify == SIGEV_THREAD_ID {
			pt.tid = ev.TID
		}
	}
	if err := publish(id); err != nil {
		return 0, err
	}
	pt.timer = NewTimer(c, func(n uint64) bool { return ts.posixExpire(pt, n) })
	pt.timer.passive = pt.notify == SIGEV_NONE
	ts.posix[id] = pt
	return id, nil
}

// posixExpire sends a POSIX timer's signal for n expirations. It holds a
// periodic timer while the signal is queued.
func (ts *TimerSet) posixExpire(pt *posixTimer, n uint64) bool {
	pt.mu.Lock()
	if pt.deleted {
		pt.mu.Unlock()
		return false
	}
	pt.overrun = satAdd(pt.overrun, int64(n-1))
	if pt.queued {
		if pt.queuedSeq == pt.seq {
			// The queued signal stands for this expiration too.
			pt.overrun = satAdd(pt.overrun, 1)
		} else {
			// It was queued for an older setting; now it stands
			// for this one.
			pt.queuedSeq = pt.seq
		}
		pt.mu.Unlock()
		return false
	}
	pt.queued, pt.queuedSeq = true, pt.seq
	info := &linux.SignalInfo{Signo: int32(pt.signo), Code: linux.SI_TIMER}
	info.SetTimerID(pt.id)
	info.SetValue(pt.value)
	markTimerSignal(info)
	tid := pt.tid
	pt.mu.Unlock()

	if err := ts.env.send(info, tid); err != nil {
		// Not queued (the queue is full, or the thread is gone): the
		// timer goes on and the expiration counts as an overrun.
		pt.mu.Lock()
		pt.queued = false
		pt.overrun = satAdd(pt.overrun, 1)
		pt.mu.Unlock()
		return true
	}
	return false
}

// TimerSignalDequeued must be called when a signal with si_code SI_TIMER
// is taken from a pending queue of the group (to be delivered, or by
// sigwaitinfo), before info is copied to the guest, and without
// Kernel.mu held (a CPU-clock timer reads the clock). For a timer's own
// signal it does what Linux does at that point: it re-arms the periodic
// timer that sent it, moved forward past now, sets si_overrun to the
// expirations that had no signal of their own, and clears the kernel's
// private field. It reports false if the signal must be dropped instead
// of delivered: its timer was deleted or set again since it was queued
// (Linux 6.13 and later). Signals not sent by a timer are left alone.
func (ts *TimerSet) TimerSignalDequeued(info *linux.SignalInfo) (deliver bool) {
	return ts.signalDone(info, true)
}

// TimerSignalDiscarded must be called (without Kernel.mu held) when a
// queued SI_TIMER signal is dropped without being delivered (ignored when
// dequeued, its target thread exited), so that its timer is not held
// forever.
func (ts *TimerSet) TimerSignalDiscarded(info *linux.SignalInfo) {
	ts.signalDone(info, false)
}

func (ts *TimerSet) signalDone(info *linux.SignalInfo, delivered bool) bool {
	if !takeTimerMark(info) {
		return true
	}
	ts.mu.Lock()
	pt := ts.posix[info.TimerID()]
	ts.mu.Unlock()
	if pt == nil {
		return false
	}
	now := pt.timer.clock.Now() // not under pt.mu: a CPU clock takes Kernel.mu
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if !pt.queued || int32(pt.signo) != info.Signo {
		return false
	}
	pt.queued = false
	if pt.queuedSeq != pt.seq {
		return false
	}
	_, interval := pt.timer.getAt(now)
	pt.timer.rearmAt(now)
	pt.overrun = satAdd(pt.overrun, pt.timer.TakeMissed())
	if !delivered {
		// The expiration the signal stood for is lost too.
		pt.overrun = satAdd(pt.overrun, 1)
		return false
	}
	if interval > 0 {
		pt.overrunLast = pt.overrun
	}
	info.SetOverrun(clampInt32(pt.overrun))
	pt.overrun = 0
	return true
}

func clampInt32(n int64) int32 {
	return int32(min(max(n, 0), math.MaxInt32))
}

// lookup returns the live timer id.
func (ts *TimerSet) lookup(id int32) (*posixTimer, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	pt := ts.posix[id]
	if pt == nil {
		return nil, unix.EINVAL
	}
	return pt, nil
}

// SetTimer implements timer_settime(2): value and interval in
// nanoseconds, value absolute on the timer's clock if abs. It returns the
// previous setting. EINVAL if id is not a timer.
func (ts *TimerSet) SetTimer(id int32, value, interval int64, abs bool) (oldValue, oldInterval int64, err error) {
	pt, err := ts.lookup(id)
	if err != nil {
		return 0, 0, err
	}
	if value == 0 {
		interval = 0
	}
	now := pt.timer.clock.Now()
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.deleted {
		return 0, 0, unix.EINVAL
	}
	oldValue, oldInterval = pt.timer.setAt(now, value, interval, abs)
	pt.seq++
	pt.overrun, pt.overrunLast = 0, 0
	return oldValue, oldInterval, nil
}

// GetTimer implements timer_gettime(2).
func (ts *TimerSet) GetTimer(id int32) (value, interval int64, err error) {
	pt, err := ts.lookup(id)
	if err != nil {
		return 0, 0, err
	}
	value, interval = pt.timer.Get()
	pt.mu.Lock()
	defer pt.mu.Unlock()
	pt.overrun = satAdd(pt.overrun, pt.timer.TakeMissed())
	return value, interval, nil
}

// TimerOverrun implements timer_getoverrun(2): the overrun count of the
// timer's last delivered signal.
func (ts *TimerSet) TimerOverrun(id int32) (int32, error) {
	pt, err := ts.lookup(id)
	if err != nil {
		return 0, err
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	return clampInt32(pt.overrunLast), nil
}

// DeleteTimer implements timer_delete(2). A signal it already queued stays
// queued.
func (ts *TimerSet) DeleteTimer(id int32) error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	pt := ts.posix[id]
	if pt == nil {
		return unix.EINVAL
	}
	ts.deleteLocked(pt)
	return nil
}

// deleteLocked removes pt; ts.mu must be held.
func (ts *TimerSet) deleteLocked(pt *posixTimer) {
	pt.mu.Lock()
	pt.deleted = true
	pt.mu.Unlock()
	pt.timer.Stop()
	delete(ts.posix, pt.id)
}

// ExecReset deletes the POSIX timers at execve; the itimers stay. It reads
// no clock and sends nothing, so it may be called under Kernel.mu.
func (ts *TimerSet) ExecReset() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, pt := range ts.posix {
		ts.deleteLocked(pt)
	}
}

// Release stops every timer when the group exits: no Go timer of the set
// is left running afterwards, and the set refuses new timers. It may be
// called under Kernel.mu.
func (ts *TimerSet) Release() {
	ts.mu.Lock()
	ts.released = true
	for _, pt := range ts.posix {
		ts.deleteLocked(pt)
	}
	ts.mu.Unlock()
	for _, it := range ts.itimers {
		it.Stop()
	}
}
