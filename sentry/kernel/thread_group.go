package kernel

import (
	"strconv"
	"sync"
	"time"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

// ExitStatus is how a thread group ended: with an exit code, or killed by
// a signal.
type ExitStatus struct {
	Code   int
	Signal linux.Signal
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

func (s ExitStatus) String() string {
	if s.Signal != 0 {
		return "killed by " + s.Signal.String()
	}
	return "exited with status " + strconv.Itoa(s.Code&0xff)
}

// ThreadGroup is a process.
type ThreadGroup struct {
	k      *Kernel
	pid    int32
	leader *Task
	// parent is nil for a process whose parent is outside the sandbox.
	parent *ThreadGroup
	start  time.Time

	// limits are the group's resource limits (getrlimit(2)); the set is
	// fixed at creation and has its own lock.
	limits *LimitSet

	// mu guards tasks, exiting, status and cpuNanos.
	mu    sync.Mutex
	tasks []*Task
	// exiting is set once exit_group or a fatal signal ended the group;
	// status is then final.
	exiting bool
	status  ExitStatus
	// cpuNanos is CPU time of tasks that already exited.
	cpuNanos int64

	// done is closed when the last task has exited.
	done chan struct{}
}

// PID returns the thread group ID.
func (tg *ThreadGroup) PID() int32 { return tg.pid }

// PPID returns the parent's PID, 0 if the parent is outside the sandbox.
func (tg *ThreadGroup) PPID() int32 {
	if tg.parent == nil {
		return 0
	}
	return tg.parent.pid
}

// Limits returns the group's resource limits.
func (tg *ThreadGroup) Limits() *LimitSet { return tg.limits }

// Leader returns the thread group leader.
func (tg *ThreadGroup) Leader() *Task { return tg.leader }

// Done is closed when every task of the group has exited.
func (tg *ThreadGroup) Done() <-chan struct{} { return tg.done }

// Wait blocks until the group has exited and returns its status.
func (tg *ThreadGroup) Wait() ExitStatus {
	<-tg.done
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.status
}

// ExitGroup ends every task of the group with status (exit_group(2), or a
// fatal signal). The first status wins.
func (tg *ThreadGroup) ExitGroup(status ExitStatus) {
	tg.mu.Lock()
	if !tg.exiting {
		tg.exiting = true
		tg.status = status
	}
	tasks := append([]*Task(nil), tg.tasks...)
	tg.mu.Unlock()
	for _, t := range tasks {
		t.kill()
	}
}

// Exiting reports whether the group is exiting.
func (tg *ThreadGroup) Exiting() bool {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.exiting
}

// CPUNanos returns the CPU time of all the group's tasks, live and exited.
func (tg *ThreadGroup) CPUNanos() int64 {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	n := tg.cpuNanos
	for _, t := range tg.tasks {
		n += t.cpuNanos.Load()
	}
	return n
}

// lastTask reports whether t is the only task left in the group.
func (tg *ThreadGroup) lastTask(t *Task) bool {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return len(tg.tasks) == 1 && tg.tasks[0] == t
}

// removeTask removes an exited task; when it was the last, the group is
// done. code is the task's own exit code, the group's status if nothing
// else set one.
func (tg *ThreadGroup) removeTask(t *Task, code int) {
	tg.mu.Lock()
	for i, x := range tg.tasks {
		if x == t {
			tg.tasks = append(tg.tasks[:i], tg.tasks[i+1:]...)
			break
		}
	}
	tg.cpuNanos += t.cpuNanos.Load()
	last := len(tg.tasks) == 0
	if last && !tg.exiting {
		tg.exiting = true
		tg.status = ExitStatus{Code: code}
	}
	tg.mu.Unlock()
	if last {
		close(tg.done)
	}
}
