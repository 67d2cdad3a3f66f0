package kernel

import (
	"fmt"
	"github.com/palisade-sandbox/palisade/sentry/kernel/futex"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/mm"
	"golang.org/x/sys/unix"
)

// maxRepeatedFaults is how often the same fault (address and instruction)
// may recur after being handled before it is treated as fatal: a platform
// that misreports the access kind must not make the task loop forever.
const maxRepeatedFaults = 4

// Task is a thread.
type Task struct {
	k   *Kernel
	tg  *ThreadGroup
	tid int32
	mm  *mm.MemoryManager

	// ctx runs the task; it is used only on the task's OS thread.
	ctx platform.Context
	// arch is the task's register state, owned by the task goroutine.
	arch *arch.Context

	// fdTable and fsc are shared by the threads of a process (CLONE_FILES,
	// CLONE_FS); creds are the task's credentials as the VFS checks them.
	fdTable *vfs.FDTable
	fsc     *FSContext
	// credsMu guards creds, which other tasks read (kill permission
	// checks, /proc); the Credentials value itself is never changed.
	credsMu sync.Mutex
	creds   *vfs.Credentials

	// The fields below are owned by the task goroutine.

	// args is scratch space for the current syscall's arguments.
	args arch.SyscallArguments
	// clearTID is set_tid_address's address.
	clearTID uintptr
	// exiting is set when the task has decided to exit; exitCode is its
	// exit(2) code.
	exiting  bool
	exitCode int
	// lastFaultAddr, lastFaultIP and faultRepeats detect a fault that
	// handling did not resolve.
	lastFaultAddr uintptr
	lastFaultIP   uintptr
	faultRepeats  int

	// killed is set by other goroutines to make the task exit;
	// interrupt is closed at the same time (once, under killOnce) so that
	// blocking syscalls return.
	killed    atomic.Bool
	interrupt chan struct{}
	killOnce  sync.Once
	// futexWaiter is the task's reusable futex waiter (task goroutine
	// only).
	futexWaiter *futex.Waiter
	// cpuNanos is the time the task spent running guest code or
	// serving its syscalls.
	cpuNanos atomic.Int64
}

// FDTable returns the task's file descriptor table.
func (t *Task) FDTable() *vfs.FDTable { return t.fdTable }

// FSContext returns the task's root, cwd and umask.
func (t *Task) FSContext() *FSContext { return t.fsc }

// Credentials returns the task's credentials. The caller must not change
// them.
func (t *Task) Credentials() *vfs.Credentials {
	t.credsMu.Lock()
	defer t.credsMu.Unlock()
	return t.creds
}

// Kernel returns the task's kernel.
func (t *Task) Kernel() *Kernel { return t.k }

// ThreadGroup returns the task's thread group.
func (t *Task) ThreadGroup() *ThreadGroup { return t.tg }

// ThreadID returns the task's TID.
func (t *Task) ThreadID() int32 { return t.tid }

// MemoryManager returns the task's address space.
func (t *Task) MemoryManager() *mm.MemoryManager { return t.mm }

// Arch returns the task's register state. Only the task goroutine (that
// is, syscall handlers) may use it.
func (t *Task) Arch() *arch.Context { return t.arch }

// SetClearTID records set_tid_address's pointer.
func (t *Task) SetClearTID(addr uintptr) { t.clearTID = addr }

// ClearTID returns set_tid_address's pointer.
func (t *Task) ClearTID() uintptr { return t.clearTID }

// CPUNanos returns the task's CPU time.
func (t *Task) CPUNanos() int64 { return t.cpuNanos.Load() }

// Exit ends the task with code (exit(2)). If it is the last task of its
// group, the group exits with code.
func (t *Task) Exit(code int) {
	t.exiting = true
	t.exitCode = code
}

// ExitGroup ends the task's whole thread group with code (exit_group(2)).
func (t *Task) ExitGroup(code int) {
	t.exiting = true
	t.exitCode = code
	t.tg.ExitGroup(ExitStatus{Code: code})
}

// Exiting reports whether the task is exiting (after exit or exit_group,
// or because it was killed).
func (t *Task) Exiting() bool { return t.exiting || t.killed.Load() }

// kill makes the task exit as soon as possible.
func (t *Task) kill() {
	t.killed.Store(true)
	t.killOnce.Do(func() { close(t.interrupt) })
	t.ctx.Interrupt()
}

// Start runs the task on a new goroutine.
func (t *Task) Start() {
	go t.run()
}

// run is the task loop.
func (t *Task) run() {
	// The goroutine keeps its OS thread until it ends; the thread is then
	// discarded rather than reused, which is what a tracer thread wants.
	runtime.LockOSThread()
	defer t.exitTask()
	st := &t.arch.State
	as := t.mm.AddressSpace()
	for !t.exiting && !t.killed.Load() {
		start := time.Now()
		ev, err := t.ctx.Switch(as, st)
		if err != nil {
			slog.Error("task lost its platform context", "pid", t.tg.pid, "tid", t.tid, "err", err)
			t.tg.ExitGroup(ExitStatus{Signal: linux.SIGKILL})
			break
		}
		switch ev.Kind {
		case platform.EventSyscall:
			t.faultRepeats = 0
			t.doSyscall()
		case platform.EventFault:
			t.handleFault(&ev)
		case platform.EventInterrupted:
			// The loop condition checks why.
		}
		t.cpuNanos.Add(int64(time.Since(start)))
	}
}

// doSyscall serves the system call the task stopped at.
func (t *Task) doSyscall() {
	nr := t.arch.SyscallNo()
	t.arch.SyscallArgs(&t.args)
	var (
		rval  uintptr
		errno linux.Errno
	)
	if s := t.k.syscallTable.Lookup(nr); s != nil && s.Fn != nil {
		rval, errno = s.Fn(t, &t.args)
	} else {
		errno = unix.ENOSYS
	}
	if t.k.tracer != nil {
		t.k.tracer.SyscallExit(t, nr, &t.args, rval, errno)
	}
	if errno != 0 {
		t.arch.SetReturn(-uintptr(errno))
	} else {
		t.arch.SetReturn(rval)
	}
}

// handleFault serves a synchronous fault: a page fault the memory manager
// can resolve is retried; anything else kills the thread group with the
// signal, as an unhandled signal would.
func (t *Task) handleFault(ev *platform.Event) {
	sig := ev.Signal
	code := ev.Info.Code
	if sig == linux.SIGSEGV {
		switch errno := t.mm.HandleFault(ev.FaultAddr, ev.Access); errno {
		case 0:
			ip := t.arch.IP()
			if ev.FaultAddr == t.lastFaultAddr && ip == t.lastFaultIP {
				t.faultRepeats++
			} else {
				t.lastFaultAddr, t.lastFaultIP, t.faultRepeats = ev.FaultAddr, ip, 0
			}
			if t.faultRepeats < maxRepeatedFaults {
				return
			}
			code = linux.SEGV_ACCERR
		case unix.EACCES:
			code = linux.SEGV_ACCERR
		case unix.ENOMEM:
			sig, code = linux.SIGBUS, linux.BUS_ADRERR
		default:
			code = linux.SEGV_MAPERR
		}
	}
	slog.Warn("guest killed by fatal signal",
		"pid", t.tg.pid, "tid", t.tid, "signal", sig.String(), "code", code,
		"addr", fmt.Sprintf("%#x", ev.FaultAddr), "ip", fmt.Sprintf("%#x", t.arch.IP()))
	t.tg.ExitGroup(ExitStatus{Signal: sig})
}

// exitTask releases the task's resources on its own OS thread.
func (t *Task) exitTask() {
	t.ctx.Release()
	t.mm.DecUsers()
	if t.tg.lastTask(t) {
		// The process is gone: its files close and its directories
		// are released (threads share them until then).
		t.fdTable.RemoveAll(t.Ctx())
		t.fsc.Release()
	}
	t.k.removeTask(t)
	t.tg.removeTask(t, t.exitCode)
}
