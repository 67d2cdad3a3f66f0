package kernel

import (
	"testing"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

func TestPendingSignalsQueueing(t *testing.T) {
	var p pendingSignals
	info := func(sig linux.Signal, val uint64) *linux.SignalInfo {
		i := &linux.SignalInfo{Signo: int32(sig)}
		i.SetValue(val)
		return i
	}
	// A standard signal is queued once; real-time ones each time.
	p.enqueue(info(linux.SIGUSR1, 1))
	p.enqueue(info(linux.SIGUSR1, 2))
	p.enqueue(info(linux.SIGRTMIN+1, 10))
	p.enqueue(info(linux.SIGRTMIN+1, 11))
	if n := len(p.queue); n != 3 {
		t.Fatalf("queue has %d entries, want 3", n)
	}
	// Lowest number first.
	if sig := p.pick(0); sig != linux.SIGUSR1 {
		t.Fatalf("pick = %v, want SIGUSR1", sig)
	}
	if got := p.take(linux.SIGUSR1); got.Value() != 1 {
		t.Errorf("SIGUSR1 value %d, want the first (1)", got.Value())
	}
	if p.set.Has(linux.SIGUSR1) {
		t.Error("SIGUSR1 still pending after its only instance was taken")
	}
	// Real-time instances come out in order, and the bit stays while one
	// is left.
	if got := p.take(linux.SIGRTMIN + 1); got.Value() != 10 {
		t.Errorf("first RT value %d, want 10", got.Value())
	}
	if !p.set.Has(linux.SIGRTMIN + 1) {
		t.Error("RT signal not pending with one instance left")
	}
	// A masked signal is not picked; a synchronous one goes first.
	p.enqueue(info(linux.SIGSEGV, 0))
	p.enqueue(info(linux.SIGHUP, 0))
	if sig := p.pick(0); sig != linux.SIGSEGV {
		t.Errorf("pick = %v, want the synchronous SIGSEGV first", sig)
	}
	if sig := p.pick(linux.MakeSignalSet(linux.SIGSEGV)); sig != linux.SIGHUP {
		t.Errorf("pick with SIGSEGV masked = %v, want SIGHUP", sig)
	}
	p.discard(linux.MakeSignalSet(linux.SIGSEGV, linux.SIGHUP, linux.SIGRTMIN+1))
	if p.set != 0 || len(p.queue) != 0 {
		t.Errorf("after discard: set %#x, %d queued", p.set, len(p.queue))
	}
}

func TestPendingSignalsBounded(t *testing.T) {
	var p pendingSignals
	for i := 0; i < maxQueuedSignals; i++ {
		if !p.enqueue(&linux.SignalInfo{Signo: int32(linux.SIGRTMIN)}) {
			t.Fatalf("enqueue %d refused below the bound", i)
		}
	}
	if p.enqueue(&linux.SignalInfo{Signo: int32(linux.SIGRTMIN)}) {
		t.Error("enqueue past the bound accepted")
	}
}

func TestDefaultActions(t *testing.T) {
	for sig, want := range map[linux.Signal]defaultAction{
		linux.SIGTERM: actTerminate, linux.SIGKILL: actTerminate, linux.SIGRTMIN + 3: actTerminate,
		linux.SIGSEGV: actCore, linux.SIGQUIT: actCore, linux.SIGABRT: actCore,
		linux.SIGCHLD: actIgnore, linux.SIGWINCH: actIgnore, linux.SIGURG: actIgnore,
		linux.SIGSTOP: actStop, linux.SIGTSTP: actStop, linux.SIGTTIN: actStop,
		linux.SIGCONT: actContinue,
	} {
		if got := defaultActionOf(sig); got != want {
			t.Errorf("default action of %v = %v, want %v", sig, got, want)
		}
	}
}

func TestWaitStatusEncoding(t *testing.T) {
	for _, c := range []struct {
		s    ExitStatus
		want uint32
	}{
		{ExitStatus{Code: 3}, 0x0300},
		{ExitStatus{Code: 256 + 7}, 0x0700},
		{ExitStatus{Signal: linux.SIGKILL}, 9},
		{ExitStatus{Signal: linux.SIGSEGV, CoreDumped: true}, 11 | 0x80},
	} {
		if got := c.s.WaitStatus(); got != c.want {
			t.Errorf("%+v: wait status %#x, want %#x", c.s, got, c.want)
		}
	}
}

func TestWaitOptionsMatch(t *testing.T) {
	child := &ThreadGroup{pid: 5, pgid: 4, exitSignal: linux.SIGCHLD}
	clone := &ThreadGroup{pid: 6, pgid: 4, exitSignal: 0}
	for _, c := range []struct {
		o           WaitOptions
		child, clon bool
	}{
		{WaitOptions{}, true, false},
		{WaitOptions{Clone: true}, false, true},
		{WaitOptions{All: true}, true, true},
		{WaitOptions{PID: 5}, true, false},
		{WaitOptions{PID: 7, All: true}, false, false},
		{WaitOptions{PGID: 4, All: true}, true, true},
		{WaitOptions{PGID: 3, All: true}, false, false},
	} {
		if got := c.o.matches(child); got != c.child {
			t.Errorf("%+v matches child = %v", c.o, got)
		}
		if got := c.o.matches(clone); got != c.clon {
			t.Errorf("%+v matches clone child = %v", c.o, got)
		}
	}
}

func TestSchedAttrForChild(t *testing.T) {
	keep := SchedAttr{Nice: -5, Policy: schedFIFO, Affinity: []byte{3}}
	if c := keep.forChild(); c.Nice != -5 || c.Policy != schedFIFO || c.ResetOnFork || len(c.Affinity) != 1 || c.Affinity[0] != 3 {
		t.Errorf("inherited %+v, want the parent's", c)
	}
	reset := SchedAttr{Nice: -5, Policy: schedRR, ResetOnFork: true}
	if c := reset.forChild(); c.Nice != 0 || c.Policy != schedOther || c.ResetOnFork {
		t.Errorf("reset-on-fork child %+v, want nice 0, SCHED_OTHER, flag cleared", c)
	}
	p := SchedAttr{Affinity: []byte{1}}
	c := p.forChild()
	c.Affinity[0] = 2
	if p.Affinity[0] != 1 {
		t.Error("child's affinity mask aliases the parent's")
	}
}
