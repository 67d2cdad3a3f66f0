package kernel

import (
	"strconv"
	"time"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/waiter"
)

// ExitStatus is how a thread group ended: with an exit code, or killed by
// a signal.
type ExitStatus struct {
	Code   int
	Signal linux.Signal
	// CoreDumped is set for signals whose default action dumps core
	// (no core file is written; the bit is reported as Linux does).
	CoreDumped bool
}

// Signaled reports whether the group was killed by a signal.
func (s ExitStatus) Signaled() bool { return s.Signal != 0 }

// ShellStatus returns the status a shell would report: the exit code, or
// 128 + the signal number.
func (s ExitStatus) ShellStatus() int {
	if s.Signal != 0 {
		return 128 + int(s.Signal)
	}
	return s.Code & 0xff
}

// WaitStatus returns the status word wait4(2) reports.
func (s ExitStatus) WaitStatus() uint32 {
	if s.Signal != 0 {
		w := uint32(s.Signal) & 0x7f
		if s.CoreDumped {
			w |= 0x80
		}
		return w
	}
	return uint32(s.Code&0xff) << 8
}

func (s ExitStatus) String() string {
	if s.Signal != 0 {
		return "killed by " + s.Signal.String()
	}
	return "exited with status " + strconv.Itoa(s.Code&0xff)
}

// ThreadGroup is a process. Everything below that changes after creation
// is guarded by the kernel's mu (Kernel.mu), which orders every change to
// the process tree and to signal state.
type ThreadGroup struct {
	k     *Kernel
	pid   int32
	start time.Time

	// limits are the group's resource limits (getrlimit(2)); the set has
	// its own lock.
	limits *LimitSet

	// timers are the group's interval and POSIX timers.
	timers *TimerSet

	// signalQueue wakes signalfd readers and pollers when a signal is
	// queued for the group or one of its tasks (it has its own lock).
	signalQueue waiter.Queue

	// The fields below are guarded by k.mu.

	leader *Task
	tasks  []*Task
	// parent is nil for the first process, whose parent is outside the
	// sandbox.
	parent   *ThreadGroup
	children map[*ThreadGroup]struct{}
	// pgid and sid are the process group and session.
	pgid, sid int32
	// exitSignal is sent to the parent when the group exits (SIGCHLD
	// usually; 0 for none).
	exitSignal linux.Signal
	// handlers are the signal actions, shared with other groups cloned
	// with CLONE_SIGHAND.
	handlers *SignalHandlers
	// pending are the process-directed signals not yet taken by a task.
	pending pendingSignals
	// exiting is set once exit_group, a fatal signal or the last task's
	// exit ended the group; status is then final.
	exiting bool
	status  ExitStatus
	// zombie is set when the last task has exited; reaped when a parent
	// collected it (or nobody will).
	zombie bool
	reaped bool
	// Group stop (SIGSTOP and friends): stopped while in effect;
	// stopSignal what stopped it; continueCh is closed on SIGCONT to
	// resume the tasks. stopReport and contReport are pending reports
	// for wait with WUNTRACED / WCONTINUED.
	stopped    bool
	stopSignal linux.Signal
	continueCh chan struct{}
	stopReport bool
	contReport bool
	// childEvent is closed (and replaced) whenever a child changes state,
	// waking wait(2) callers.
	childEvent chan struct{}
	// subreaper is prctl(PR_SET_CHILD_SUBREAPER).
	subreaper bool
	// execing is the task doing an execve, which the group's other
	// tasks must make way for.
	execing *Task
	// pdeathSignal is prctl(PR_SET_PDEATHSIG): sent when the parent
	// exits.
	pdeathSignal linux.Signal
	// userNanos and sysNanos are the CPU time of tasks that already
	// exited; childUser and childSys of reaped children (getrusage
	// RUSAGE_CHILDREN, times(2)).
	userNanos, sysNanos int64
	childUser, childSys int64
	// exe is the executable the group runs (/proc/PID/exe), with a
	// reference; released when the group exits.
	exe vfs.VirtualDentry
	// didExec is set once the group has exec'd (setpgid on it from the
	// parent is then EACCES).
	didExec bool
	// noNewPrivs is prctl(PR_SET_NO_NEW_PRIVS).
	noNewPrivs bool
	// dumpable is prctl(PR_GET/SET_DUMPABLE).
	dumpable int32

	// done is closed when the group has exited and been reaped (or, for
	// the first process, when every task of the sandbox is gone).
	done chan struct{}
}

// newThreadGroup returns an empty group.
func newThreadGroup(k *Kernel, limits *LimitSet, handlers *SignalHandlers) *ThreadGroup {
	tg := &ThreadGroup{
		k:          k,
		start:      time.Now(),
		limits:     limits,
		handlers:   handlers,
		children:   make(map[*ThreadGroup]struct{}),
		childEvent: make(chan struct{}),
		exitSignal: linux.SIGCHLD,
		dumpable:   1,
		done:       make(chan struct{}),
	}
	tg.timers = newTimerSet(tg)
	return tg
}

// PID returns the thread group ID.
func (tg *ThreadGroup) PID() int32 { return tg.pid }

// PPID returns the parent's PID, 0 if the parent is outside the sandbox.
func (tg *ThreadGroup) PPID() int32 {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	if tg.parent == nil {
		return 0
	}
	return tg.parent.pid
}

// Limits returns the group's resource limits.
func (tg *ThreadGroup) Limits() *LimitSet { return tg.limits }

// Timers returns the group's timers.
func (tg *ThreadGroup) Timers() *TimerSet { return tg.timers }

// Kernel returns the group's kernel.
func (tg *ThreadGroup) Kernel() *Kernel { return tg.k }

// StartTime returns when the group was created.
func (tg *ThreadGroup) StartTime() time.Time { return tg.start }

// Leader returns the thread group leader.
func (tg *ThreadGroup) Leader() *Task {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	return tg.leader
}

// Tasks returns the group's live tasks.
func (tg *ThreadGroup) Tasks() []*Task {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	return append([]*Task(nil), tg.tasks...)
}

// ProcessGroupID returns the group's process group ID.
func (tg *ThreadGroup) ProcessGroupID() int32 {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	return tg.pgid
}

// SessionID returns the group's session ID.
func (tg *ThreadGroup) SessionID() int32 {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	return tg.sid
}

// Done is closed when the group has exited (for the first process: when
// every task of the sandbox has exited).
func (tg *ThreadGroup) Done() <-chan struct{} { return tg.done }

// Wait blocks until Done and returns the group's status.
func (tg *ThreadGroup) Wait() ExitStatus {
	<-tg.done
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	return tg.status
}

// ExitGroup ends every task of the group with status (exit_group(2), or a
// fatal signal). The first status wins.
func (tg *ThreadGroup) ExitGroup(status ExitStatus) {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	tg.exitGroupLocked(status)
}

// exitGroupLocked is ExitGroup with k.mu held.
func (tg *ThreadGroup) exitGroupLocked(status ExitStatus) {
	if !tg.exiting {
		tg.exiting = true
		tg.status = status
	}
	for _, t := range tg.tasks {
		t.kill()
	}
}

// Exiting reports whether the group is exiting.
func (tg *ThreadGroup) Exiting() bool {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	return tg.exiting
}

// CPUNanos returns the CPU time of all the group's tasks, live and exited.
func (tg *ThreadGroup) CPUNanos() int64 {
	u, s := tg.CPUTimes()
	return u + s
}

// CPUTimes returns the user and system time of the group's tasks, live
// and exited: time running guest code, and time serving its syscalls and
// faults.
func (tg *ThreadGroup) CPUTimes() (user, sys int64) {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	return tg.cpuTimesLocked()
}

func (tg *ThreadGroup) cpuTimesLocked() (user, sys int64) {
	user, sys = tg.userNanos, tg.sysNanos
	for _, t := range tg.tasks {
		user += t.userNanos.Load()
		sys += t.sysNanos.Load()
	}
	return user, sys
}

// ChildrenCPUTimes returns the CPU times of reaped children.
func (tg *ThreadGroup) ChildrenCPUTimes() (user, sys int64) {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	return tg.childUser, tg.childSys
}

// notifyChildEventLocked wakes the group's wait(2) callers.
func (tg *ThreadGroup) notifyChildEventLocked() {
	close(tg.childEvent)
	tg.childEvent = make(chan struct{})
}

// Start starts every task of the group.
func (tg *ThreadGroup) Start() {
	for _, t := range tg.Tasks() {
		t.Start()
	}
}
