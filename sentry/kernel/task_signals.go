package kernel

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/waiter"
	"golang.org/x/sys/unix"
)

// Signals
//
// A signal is queued on a task (thread-directed: tkill, faults) or on its
// thread group (process-directed: kill, timers, SIGCHLD). The sender then
// picks a task that does not block it, sets that task's signalCheck flag
// and interrupts it: a task running guest code is stopped by the platform
// (Context.Interrupt), a task blocked in a syscall sees its interrupt
// channel close and returns ERESTARTSYS (or a variant). Either way the task
// loop, before switching back to the guest, calls handleSignals, which
// dequeues deliverable signals one at a time and acts on them: the default
// action (ignore, terminate, dump core, stop or continue), or a frame built
// on the guest stack by arch.SignalSetup so the guest's handler runs next.
// Syscall restart follows Linux: an interrupted call that returned one of
// the ERESTART* codes becomes EINTR when a handler runs (unless SA_RESTART
// and ERESTARTSYS) and is re-executed otherwise, by backing rip up over the
// syscall instruction.
//
// All signal state (masks, queues, actions, group stop) is guarded by the
// kernel's mu; the task goroutine reads its own mask without it only where
// noted.

// maxQueuedSignals bounds each queue of real-time signals (RLIMIT_SIGPENDING
// is per user on Linux; one bound per queue keeps a guest from growing it
// without limit).
const maxQueuedSignals = 4096

// ErrnoNoReturn is returned by syscall handlers that set the task's
// registers themselves (rt_sigreturn) so that the dispatcher leaves rax as
// they left it.
const ErrnoNoReturn = linux.Errno(0x7fff_0000)

// eintrReturn is -EINTR as a syscall return register value.
var eintrReturn = ^uintptr(unix.EINTR) + 1

// unblockable are the signals that cannot be blocked, caught or ignored.
var unblockable = linux.MakeSignalSet(linux.SIGKILL, linux.SIGSTOP)

// syncSignals are delivered before other pending signals, as Linux's
// SYNCHRONOUS_MASK orders them.
var syncSignals = linux.MakeSignalSet(linux.SIGSEGV, linux.SIGBUS, linux.SIGILL,
	linux.SIGTRAP, linux.SIGFPE, linux.SIGSYS)

// defaultAction is what SIG_DFL does with a signal.
type defaultAction int

const (
	actTerminate defaultAction = iota
	actCore
	actIgnore
	actStop
	actContinue
)

func defaultActionOf(sig linux.Signal) defaultAction {
	switch sig {
	case linux.SIGQUIT, linux.SIGILL, linux.SIGTRAP, linux.SIGABRT, linux.SIGBUS,
		linux.SIGFPE, linux.SIGSEGV, linux.SIGXCPU, linux.SIGXFSZ, linux.SIGSYS:
		return actCore
	case linux.SIGCHLD, linux.SIGURG, linux.SIGWINCH:
		return actIgnore
	case linux.SIGCONT:
		return actContinue
	case linux.SIGSTOP, linux.SIGTSTP, linux.SIGTTIN, linux.SIGTTOU:
		return actStop
	}
	return actTerminate
}

// SignalHandlers are the signal actions of one or more thread groups.
type SignalHandlers struct {
	// actions is guarded by the kernel's mu; index sig-1.
	actions [linux.NumSignals]linux.SigAction
}

// copy returns an independent copy (fork without CLONE_SIGHAND).
func (sh *SignalHandlers) copy() *SignalHandlers {
	n := *sh
	return &n
}

// resetForExec sets caught signals back to SIG_DFL, keeping ignored ones,
// as execve does.
func (sh *SignalHandlers) resetForExec() *SignalHandlers {
	n := &SignalHandlers{}
	for i, a := range sh.actions {
		if a.Handler == linux.SIG_IGN {
			n.actions[i] = linux.SigAction{Handler: linux.SIG_IGN}
		}
	}
	return n
}

func (sh *SignalHandlers) action(sig linux.Signal) linux.SigAction { return sh.actions[sig-1] }

// pendingSignals is a queue of signals not yet delivered. A standard
// signal is queued at most once; real-time signals queue each instance.
type pendingSignals struct {
	queue []linux.SignalInfo
	set   linux.SignalSet
}

// enqueue adds info. It reports false if a real-time queue is full; a
// standard signal already pending is merged (and reported as queued).
func (p *pendingSignals) enqueue(info *linux.SignalInfo) bool {
	sig := linux.Signal(info.Signo)
	if sig < linux.SIGRTMIN && p.set.Has(sig) {
		return true
	}
	if len(p.queue) >= maxQueuedSignals {
		return false
	}
	p.queue = append(p.queue, *info)
	p.set |= linux.SignalSetOf(sig)
	return true
}

// pick returns the signal to deliver among those not in mask: synchronous
// ones first, then the lowest number. 0 if none.
func (p *pendingSignals) pick(mask linux.SignalSet) linux.Signal {
	ready := p.set &^ mask
	if ready == 0 {
		return 0
	}
	if s := ready & syncSignals; s != 0 {
		ready = s
	}
	for sig := linux.Signal(1); sig <= linux.NumSignals; sig++ {
		if ready.Has(sig) {
			return sig
		}
	}
	return 0
}

// take removes and returns the first queued instance of sig.
func (p *pendingSignals) take(sig linux.Signal) linux.SignalInfo {
	var info linux.SignalInfo
	found, more := false, false
	out := p.queue[:0]
	for _, q := range p.queue {
		if linux.Signal(q.Signo) == sig {
			if !found {
				info, found = q, true
				continue
			}
			more = true
		}
		out = append(out, q)
	}
	clear(p.queue[len(out):])
	p.queue = out
	if !more {
		p.set &^= linux.SignalSetOf(sig)
	}
	return info
}

// discard removes every queued signal in set.
func (p *pendingSignals) discard(set linux.SignalSet) {
	if p.set&set == 0 {
		return
	}
	out := p.queue[:0]
	for _, q := range p.queue {
		if !set.Has(linux.Signal(q.Signo)) {
			out = append(out, q)
		}
	}
	clear(p.queue[len(out):])
	p.queue = out
	p.set &^= set
}

// signalInfoFrom returns the siginfo of a signal sent by kill(2) and
// friends from sender (nil for the kernel).
func signalInfoFrom(sig linux.Signal, code int32, sender *Task) *linux.SignalInfo {
	info := &linux.SignalInfo{Signo: int32(sig), Code: code}
	if sender != nil {
		info.SetPID(sender.tg.pid)
		info.SetUID(sender.Credentials().RealUID)
	}
	return info
}

// ErrSignalDropped is returned by SendSignal when the signal was not
// queued: its action ignores it, or its target is exiting. Timers count
// such a signal as an overrun.
var ErrSignalDropped = errors.New("signal dropped: ignored, or the target is exiting")

// SendSignal sends a thread-directed signal from the kernel.
func (t *Task) SendSignal(info *linux.SignalInfo) error {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	if t.k.droppedLocked(info, t.tg, t) {
		return ErrSignalDropped
	}
	return t.k.sendSignalLocked(info, t.tg, t)
}

// SendSignal sends a process-directed signal from the kernel.
func (tg *ThreadGroup) SendSignal(info *linux.SignalInfo) error {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	if tg.k.droppedLocked(info, tg, nil) {
		return ErrSignalDropped
	}
	return tg.k.sendSignalLocked(info, tg, nil)
}

// droppedLocked reports whether sendSignalLocked would drop info
// without queueing it (SIGKILL and stop/continue effects aside).
func (k *Kernel) droppedLocked(info *linux.SignalInfo, tg *ThreadGroup, t *Task) bool {
	sig := linux.Signal(info.Signo)
	if !sig.Valid() || sig == linux.SIGKILL {
		return false
	}
	return tg.zombie || tg.exiting || k.ignoredLocked(tg, t, sig)
}

// isInit reports whether tg is the sandbox's PID 1.
func (tg *ThreadGroup) isInit() bool { return tg.pid == 1 }

// sendSignalLocked queues info on target (a thread if t is not nil, else
// the group) and wakes a task to take it. Signal 0 only checks that the
// target exists. k.mu must be held.
func (k *Kernel) sendSignalLocked(info *linux.SignalInfo, tg *ThreadGroup, t *Task) error {
	sig := linux.Signal(info.Signo)
	if sig == 0 {
		return nil
	}
	if !sig.Valid() {
		return unix.EINVAL
	}
	if tg.zombie || tg.exiting && sig != linux.SIGKILL {
		return nil
	}
	k.prepareSignalLocked(tg, sig)
	if k.ignoredLocked(tg, t, sig) {
		return nil
	}
	if sig == linux.SIGKILL {
		tg.exitGroupLocked(ExitStatus{Signal: linux.SIGKILL})
		return nil
	}
	q := &tg.pending
	if t != nil {
		q = &t.pending
	}
	if !q.enqueue(info) {
		return unix.EAGAIN
	}
	k.wakeForSignalLocked(tg, t, sig)
	tg.signalQueue.Notify(waiter.EventIn)
	return nil
}

// prepareSignalLocked applies the side effects a stop or continue signal
// has when it is sent, whether or not it is blocked: a stop signal
// discards pending SIGCONTs; SIGCONT discards pending stop signals and
// resumes a stopped group.
func (k *Kernel) prepareSignalLocked(tg *ThreadGroup, sig linux.Signal) {
	stops := linux.MakeSignalSet(linux.SIGSTOP, linux.SIGTSTP, linux.SIGTTIN, linux.SIGTTOU)
	switch {
	case stops.Has(sig):
		tg.pending.discard(linux.SignalSetOf(linux.SIGCONT))
		for _, t := range tg.tasks {
			t.pending.discard(linux.SignalSetOf(linux.SIGCONT))
		}
	case sig == linux.SIGCONT:
		tg.pending.discard(stops)
		for _, t := range tg.tasks {
			t.pending.discard(stops)
		}
		if tg.stopped {
			tg.stopped = false
			tg.stopReport = false
			tg.contReport = true
			close(tg.continueCh)
			tg.continueCh = nil
			if p := tg.parent; p != nil {
				k.notifyParentStateLocked(tg, linux.CLD_CONTINUED, int32(linux.SIGCONT))
			}
		}
	}
}

// ignoredLocked reports whether sig sent to tg (thread t, if not nil)
// would be ignored on delivery and can be dropped now: its action ignores
// it and no task blocks it (a blocked signal stays pending, since the
// action may change before it is unblocked). PID 1 ignores every signal
// it has no handler for, SIGKILL and SIGSTOP included, as init does for
// signals from its own namespace.
func (k *Kernel) ignoredLocked(tg *ThreadGroup, t *Task, sig linux.Signal) bool {
	act := tg.handlers.action(sig)
	// A signal a task blocks or waits for in sigtimedwait stays
	// pending, whatever its action, as Linux's sig_ignored checks
	// blocked and real_blocked first.
	if !unblockable.Has(sig) {
		if t != nil && (t.sigMask | t.sigWaiting).Has(sig) {
			return false
		}
		if t == nil {
			for _, x := range tg.tasks {
				if (x.sigMask | x.sigWaiting).Has(sig) {
					return false
				}
			}
		}
	}
	if tg.isInit() && act.Handler == linux.SIG_DFL {
		return true
	}
	if unblockable.Has(sig) {
		return false
	}
	switch act.Handler {
	case linux.SIG_IGN:
		return true
	case linux.SIG_DFL:
		return defaultActionOf(sig) == actIgnore || (defaultActionOf(sig) == actContinue)
	}
	return false
}

// wakeForSignalLocked makes a task notice sig: t itself for a
// thread-directed signal, else the first task that does not block it.
func (k *Kernel) wakeForSignalLocked(tg *ThreadGroup, t *Task, sig linux.Signal) {
	if t != nil {
		t.signalCheck.Store(true)
		if !t.sigMask.Has(sig) || t.sigWaiting.Has(sig) {
			t.interruptForSignal()
		}
		return
	}
	var chosen *Task
	for _, x := range tg.tasks {
		x.signalCheck.Store(true)
		if chosen == nil && (!x.sigMask.Has(sig) || x.sigWaiting.Has(sig)) {
			chosen = x
		}
	}
	if chosen != nil {
		chosen.interruptForSignal()
	}
}

// forceSignalLocked delivers a synchronous signal the task caused (a
// fault): if the task blocks or ignores it, the action is reset to the
// default so that it kills, as Linux's force_sig_info does.
func (t *Task) forceSignalLocked(info *linux.SignalInfo) {
	sig := linux.Signal(info.Signo)
	act := t.tg.handlers.action(sig)
	if t.sigMask.Has(sig) || act.Handler == linux.SIG_IGN {
		t.tg.handlers.actions[sig-1] = linux.SigAction{}
		t.sigMask &^= linux.SignalSetOf(sig)
	}
	t.pending.enqueue(info)
	t.signalCheck.Store(true)
}

// handleSignals delivers the task's deliverable signals and takes part in
// a group stop. It runs on the task goroutine before returning to the
// guest, and finishes an interrupted syscall's restart.
func (t *Task) handleSignals() {
	k := t.k
	handled := false
	for {
		k.mu.Lock()
		if t.killed.Load() {
			k.mu.Unlock()
			return
		}
		if t.tg.stopped {
			ch := t.tg.continueCh
			k.mu.Unlock()
			select {
			case <-ch:
			case <-t.killedCh:
			}
			continue
		}
		t.signalCheck.Store(false)
		sig := t.pending.pick(t.sigMask)
		var info linux.SignalInfo
		if sig != 0 {
			info = t.pending.take(sig)
		} else if sig = t.tg.pending.pick(t.sigMask); sig != 0 {
			info = t.tg.pending.take(sig)
		}
		if sig == 0 {
			k.mu.Unlock()
			break
		}
		if info.Code == linux.SI_TIMER {
			// The timer fills in the overrun count, or says the signal
			// is stale (its timer was deleted or reset); it reads
			// clocks, which take k.mu.
			k.mu.Unlock()
			deliver := t.tg.timers.TimerSignalDequeued(&info)
			k.mu.Lock()
			if !deliver {
				k.mu.Unlock()
				continue
			}
		}
		act := t.tg.handlers.action(sig)
		if act.Handler == linux.SIG_IGN {
			k.mu.Unlock()
			continue
		}
		if act.Handler == linux.SIG_DFL {
			// PID 1's default-action signals were dropped when sent;
			// what reaches it here was forced (a fault) and kills it.
			switch defaultActionOf(sig) {
			case actIgnore, actContinue:
				k.mu.Unlock()
				continue
			case actStop:
				t.tg.startGroupStopLocked(sig)
				k.mu.Unlock()
				continue
			case actCore:
				t.tg.exitGroupLocked(ExitStatus{Signal: sig, CoreDumped: true})
				k.mu.Unlock()
				if info.Code > 0 && syncSignals.Has(sig) {
					// A fault the program did not handle: worth a line
					// in the log, as the kernel prints one.
					slog.Warn("guest killed by a fault", "pid", t.tg.pid, "tid", t.tid,
						"signal", sig.String(), "code", info.Code,
						"addr", fmt.Sprintf("%#x", info.Addr()), "ip", fmt.Sprintf("%#x", t.arch.IP()))
				}
				return
			default:
				t.tg.exitGroupLocked(ExitStatus{Signal: sig})
				k.mu.Unlock()
				return
			}
		}
		// A handler: the frame is built without the lock (it writes
		// guest memory); the mask changes after.
		if act.Flags&linux.SA_RESETHAND != 0 {
			t.tg.handlers.actions[sig-1] = linux.SigAction{}
		}
		oldMask := t.sigMask
		if t.haveSavedMask {
			oldMask = t.savedMask
			t.haveSavedMask = false
		}
		k.mu.Unlock()
		t.applyRestart(&act)
		if !t.setupFrame(&act, &info, oldMask) {
			return
		}
		handled = true
		k.mu.Lock()
		newMask := t.sigMask | act.Mask
		if act.Flags&linux.SA_NODEFER == 0 {
			newMask |= linux.SignalSetOf(sig)
		}
		t.sigMask = newMask &^ unblockable
		k.mu.Unlock()
	}
	if !handled {
		t.applyRestart(nil)
	}
	k.mu.Lock()
	if t.haveSavedMask {
		// sigsuspend and friends restore the mask when no handler ran.
		t.sigMask = t.savedMask
		t.haveSavedMask = false
	}
	k.mu.Unlock()
}

// setupFrame builds the handler's frame. On failure the task gets SIGSEGV
// (with the default action) and false is returned.
func (t *Task) setupFrame(act *linux.SigAction, info *linux.SignalInfo, oldMask linux.SignalSet) bool {
	if err := t.ctx.PullFPState(t.mm.AddressSpace(), &t.arch.State); err != nil {
		slog.Error("pulling FP state for a signal frame", "tid", t.tid, "err", err)
		t.tg.ExitGroup(ExitStatus{Signal: linux.SIGKILL})
		return false
	}
	alt := t.altStack
	var fault *arch.SignalFault
	if t.lastFault.Trapno != 0 || t.lastFault.Cr2 != 0 {
		fault = &t.lastFault
	}
	err := t.arch.SignalSetup(t.mm, act, info, &alt, oldMask, fault)
	if err != nil {
		slog.Debug("signal frame setup failed", "tid", t.tid, "signal", linux.Signal(info.Signo).String(), "err", err)
		t.k.mu.Lock()
		t.tg.handlers.actions[linux.SIGSEGV-1] = linux.SigAction{}
		t.sigMask &^= linux.SignalSetOf(linux.SIGSEGV)
		t.pending.enqueue(&linux.SignalInfo{Signo: int32(linux.SIGSEGV), Code: linux.SI_KERNEL})
		t.signalCheck.Store(true)
		t.k.mu.Unlock()
		return true
	}
	if act.Flags&linux.SA_ONSTACK != 0 && alt.Flags&linux.SS_AUTODISARM != 0 && alt.IsEnabled() {
		t.altStack = linux.SignalStack{Flags: linux.SS_DISABLE}
	}
	return true
}

// applyRestart finishes a syscall that returned an ERESTART code: act is
// the handler about to run, nil if none does.
func (t *Task) applyRestart(act *linux.SigAction) {
	errno := t.restartErrno
	if errno == 0 {
		return
	}
	t.restartErrno = 0
	restart := false
	if act != nil {
		switch errno {
		case linux.ERESTARTSYS:
			restart = act.Flags&linux.SA_RESTART != 0
		case linux.ERESTARTNOINTR:
			restart = true
		}
		if !restart {
			t.restartBlock = nil
			t.arch.SetReturn(eintrReturn)
			return
		}
	}
	r := &t.arch.Regs
	r.Rip -= 2
	if errno == linux.ERESTART_RESTARTBLOCK && act == nil {
		r.Rax = uint64(linux.SYS_RESTART_SYSCALL)
		return
	}
	t.restartBlock = nil
	r.Rax = r.Orig_rax
}

// startGroupStopLocked stops every task of the group with sig and tells
// the parent.
func (tg *ThreadGroup) startGroupStopLocked(sig linux.Signal) {
	if tg.stopped || tg.exiting {
		return
	}
	tg.stopped = true
	tg.stopSignal = sig
	tg.stopReport = true
	tg.contReport = false
	tg.continueCh = make(chan struct{})
	for _, t := range tg.tasks {
		t.signalCheck.Store(true)
		t.interruptForSignal()
	}
	tg.k.notifyParentStateLocked(tg, linux.CLD_STOPPED, int32(sig))
}

// notifyParentStateLocked tells tg's parent that tg stopped or continued:
// SIGCHLD unless the parent asked for none (SA_NOCLDSTOP), and a wake-up
// of its waiters.
func (k *Kernel) notifyParentStateLocked(tg *ThreadGroup, code int32, status int32) {
	p := tg.parent
	if p == nil {
		return
	}
	p.notifyChildEventLocked()
	act := p.handlers.action(linux.SIGCHLD)
	if act.Handler == linux.SIG_IGN || act.Flags&linux.SA_NOCLDSTOP != 0 {
		return
	}
	info := &linux.SignalInfo{Signo: int32(linux.SIGCHLD), Code: code}
	info.SetPID(tg.pid)
	info.SetUID(tg.realUIDLocked())
	info.SetStatus(status)
	_ = k.sendSignalLocked(info, p, nil)
}

// realUIDLocked returns the real UID of the group's leader, which
// SIGCHLD's si_uid and wait's results carry.
func (tg *ThreadGroup) realUIDLocked() uint32 {
	if tg.leader != nil {
		return tg.leader.Credentials().RealUID
	}
	return 0
}

// interruptForSignal makes the task stop what it is doing and look at its
// signals: its interrupt channel closes and the platform stops the guest.
func (t *Task) interruptForSignal() {
	t.intMu.Lock()
	if !t.intClosed.Load() {
		close(t.intCh)
		t.intClosed.Store(true)
	}
	t.intMu.Unlock()
	t.ctx.Interrupt()
}

// Interrupted returns a channel that is closed when the task must stop
// blocking: a signal is to be delivered, or the task is being killed.
// Blocking syscalls select on it and return ERESTARTSYS (or a variant).
func (t *Task) Interrupted() <-chan struct{} {
	t.intMu.Lock()
	defer t.intMu.Unlock()
	return t.intCh
}

// rearmInterrupt gives the task a fresh interrupt channel if the old one
// was closed and nothing is left to act on; called before each syscall.
func (t *Task) rearmInterrupt() {
	// The common case (nothing interrupted the task) takes no lock.
	if !t.intClosed.Load() || t.killed.Load() {
		return
	}
	k := t.k
	k.mu.Lock()
	busy := t.pending.pick(t.sigMask) != 0 || t.tg.pending.pick(t.sigMask) != 0 || t.tg.stopped
	if !busy {
		t.intMu.Lock()
		t.intCh = make(chan struct{})
		t.intClosed.Store(false)
		t.intMu.Unlock()
	}
	k.mu.Unlock()
}

// SignalMask returns the task's blocked set.
func (t *Task) SignalMask() linux.SignalSet {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.sigMask
}

// SetSignalMask sets the blocked set (SIGKILL and SIGSTOP are never
// blocked) and makes the task check for newly unblocked signals.
func (t *Task) SetSignalMask(mask linux.SignalSet) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.setSignalMaskLocked(mask)
}

func (t *Task) setSignalMaskLocked(mask linux.SignalSet) {
	t.sigMask = mask &^ unblockable
	// Only a newly deliverable signal needs the task to look (most mask
	// changes, around every fork and lock in glibc, unblock nothing).
	if t.pending.pick(t.sigMask) != 0 || t.tg.pending.pick(t.sigMask) != 0 {
		t.signalCheck.Store(true)
		t.interruptForSignal()
	}
}

// SetSavedSignalMask makes mask the task's blocked set until the next
// signal delivery, which restores old (sigsuspend, ppoll, pselect).
func (t *Task) SetSavedSignalMask(mask linux.SignalSet) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.savedMask = t.sigMask
	t.haveSavedMask = true
	t.setSignalMaskLocked(mask)
}

// PendingSignals returns the signals pending for the task or its group.
func (t *Task) PendingSignals() linux.SignalSet {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.pending.set | t.tg.pending.set
}

// SignalAction returns the action of sig.
func (t *Task) SignalAction(sig linux.Signal) linux.SigAction {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.tg.handlers.action(sig)
}

// SetSignalAction installs act for sig and returns the old one. Setting
// an action that ignores a signal discards its pending instances, as
// Linux does.
func (t *Task) SetSignalAction(sig linux.Signal, act linux.SigAction) linux.SigAction {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	old := t.tg.handlers.action(sig)
	act.Mask &^= unblockable
	t.tg.handlers.actions[sig-1] = act
	ignores := act.Handler == linux.SIG_IGN ||
		(act.Handler == linux.SIG_DFL && (defaultActionOf(sig) == actIgnore || defaultActionOf(sig) == actContinue))
	if ignores {
		set := linux.SignalSetOf(sig)
		t.tg.pending.discard(set)
		for _, x := range t.tg.tasks {
			x.pending.discard(set)
		}
	}
	return old
}

// SignalStack returns the alternate signal stack (task goroutine only).
func (t *Task) SignalStack() linux.SignalStack { return t.altStack }

// SetSignalStack sets the alternate signal stack (task goroutine only).
func (t *Task) SetSignalStack(s linux.SignalStack) { t.altStack = s }

// OnSignalStack reports whether the task runs on its alternate stack.
func (t *Task) OnSignalStack() bool {
	return arch.OnSignalStack(&t.altStack, t.arch.Regs.Rsp)
}

// SetRestartBlock records how restart_syscall(2) continues the
// interrupted call that returns ERESTART_RESTARTBLOCK.
func (t *Task) SetRestartBlock(fn func(t *Task) (uintptr, linux.Errno)) { t.restartBlock = fn }

// RestartSyscall runs the restart block (restart_syscall(2)).
func (t *Task) RestartSyscall() (uintptr, linux.Errno) {
	fn := t.restartBlock
	t.restartBlock = nil
	if fn == nil {
		return 0, unix.EINTR
	}
	return fn(t)
}

// Sigreturn implements rt_sigreturn(2): it restores the registers, FP
// state, mask and alternate stack saved by the frame at rsp.
func (t *Task) Sigreturn() linux.Errno {
	if err := t.ctx.PullFPState(t.mm.AddressSpace(), &t.arch.State); err != nil {
		t.tg.ExitGroup(ExitStatus{Signal: linux.SIGKILL})
		return ErrnoNoReturn
	}
	mask, stack, err := t.arch.SignalRestore(t.mm)
	if err != nil {
		t.k.mu.Lock()
		t.forceSignalLocked(&linux.SignalInfo{Signo: int32(linux.SIGSEGV), Code: linux.SI_KERNEL})
		t.k.mu.Unlock()
		return ErrnoNoReturn
	}
	t.restartBlock = nil
	if stack.Flags&linux.SS_DISABLE == 0 || stack.Size != 0 {
		if !t.OnSignalStack() {
			t.altStack = stack
		}
	}
	t.SetSignalMask(mask)
	return ErrnoNoReturn
}

// SigWait waits until one of set is pending for the task and takes it
// (rt_sigtimedwait): it returns the signal's info, EAGAIN when done
// fires first (nil: never), or EINTR when another signal interrupts the wait. While
// it waits, the set counts as blocked for the "is it ignored" test (it is
// queued whatever its action) but wakes the task, like Linux's
// real_blocked.
func (t *Task) SigWait(set linux.SignalSet, done <-chan time.Time) (linux.SignalInfo, linux.Errno) {
	set &^= unblockable
	k := t.k
	take := func() (linux.SignalInfo, bool) { return t.DequeueSignalIn(set) }
	k.mu.Lock()
	t.sigWaiting = set
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		t.sigWaiting = 0
		k.mu.Unlock()
	}()
	for {
		ch := t.Interrupted()
		if info, ok := take(); ok {
			return info, 0
		}
		select {
		case <-ch:
			if info, ok := take(); ok {
				return info, 0
			}
			if t.interruptedForOther(set) {
				return linux.SignalInfo{}, unix.EINTR
			}
			// A stale timer signal woke us: wait again once the
			// channel is re-armed.
			t.rearmInterrupt()
		case <-done:
			if info, ok := take(); ok {
				return info, 0
			}
			return linux.SignalInfo{}, unix.EAGAIN
		}
	}
}

// interruptedForOther reports whether something other than a signal in
// set wants the task: a deliverable signal, a stop or a kill.
func (t *Task) interruptedForOther(set linux.SignalSet) bool {
	if t.killed.Load() {
		return true
	}
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	return t.pending.pick(t.sigMask) != 0 || t.tg.pending.pick(t.sigMask) != 0 || t.tg.stopped
}

// SendHostSignal delivers a signal that came from outside the sandbox
// (runsc forwarding SIGINT, SIGTERM, ...). A handler or SIG_IGN the
// process installed is honoured; otherwise the default action applies,
// also to PID 1, which a signal from its own namespace could not kill:
// this is how the parent namespace's signals reach a container's init.
func (tg *ThreadGroup) SendHostSignal(sig linux.Signal) {
	k := tg.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if !sig.Valid() || tg.zombie {
		return
	}
	act := tg.handlers.action(sig)
	if act.Handler == linux.SIG_DFL && tg.isInit() {
		switch defaultActionOf(sig) {
		case actTerminate:
			tg.exitGroupLocked(ExitStatus{Signal: sig})
			return
		case actCore:
			tg.exitGroupLocked(ExitStatus{Signal: sig, CoreDumped: true})
			return
		}
	}
	if sig == linux.SIGKILL {
		tg.exitGroupLocked(ExitStatus{Signal: sig})
		return
	}
	_ = k.sendSignalLocked(&linux.SignalInfo{Signo: int32(sig), Code: linux.SI_USER}, tg, nil)
}
