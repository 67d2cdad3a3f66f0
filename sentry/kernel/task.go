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

// taskCommLen is the size of a task's command name with its NUL.
const taskCommLen = 16

// maxRepeatedFaults is how often the same fault (address and instruction)
// may recur after being handled before it is treated as fatal: a platform
// that misreports the access kind must not make the task loop forever.
const maxRepeatedFaults = 4

// Task is a thread.
type Task struct {
	k  *Kernel
	tg *ThreadGroup
	// tid changes only when a non-leader thread execs and takes over
	// the leader's ID (under k.mu, with no other task left in the
	// group).
	tid int32
	// mm is the address space; it changes at execve (task goroutine,
	// under k.mu so that other goroutines may read it with the lock).
	mm *mm.MemoryManager

	// ctx runs the task; it is used only on the task's OS thread.
	ctx platform.Context
	// arch is the task's register state, owned by the task goroutine.
	arch *arch.Context

	// fdTable and fsc are shared by the tasks created with CLONE_FILES and
	// CLONE_FS; they change at execve and unshare (task goroutine, under
	// k.mu).
	fdTable *vfs.FDTable
	fsc     *FSContext
	// credsMu guards creds, which other tasks read (kill permission
	// checks, /proc); the Credentials value itself is never changed.
	credsMu sync.Mutex
	creds   *vfs.Credentials

	// Guarded by k.mu: the blocked set, thread-directed pending
	// signals, the mask sigsuspend saved, and the command name.
	sigMask       linux.SignalSet
	pending       pendingSignals
	savedMask     linux.SignalSet
	haveSavedMask bool
	// sigWaiting is the set rt_sigtimedwait waits for (real_blocked).
	sigWaiting linux.SignalSet
	name       string

	// signalCheck is set when the task may have a signal to act on; the
	// task loop checks it before every return to the guest.
	signalCheck atomic.Bool

	// intMu guards intCh, the interrupt channel, and changes to
	// intClosed: the channel is closed when the task must stop blocking
	// and replaced before its next syscall once nothing is left to act
	// on; intClosed can be read without the lock.
	intMu     sync.Mutex
	intCh     chan struct{}
	intClosed atomic.Bool

	// The fields below are owned by the task goroutine.

	// args is scratch space for the current syscall's arguments.
	args arch.SyscallArguments
	// clearTID is set_tid_address's (or CLONE_CHILD_CLEARTID's) address.
	clearTID uintptr
	// schedMu guards sched, the scheduling attributes other tasks may
	// read and set (sched_setaffinity on a TID).
	schedMu sync.Mutex
	sched   SchedAttr
	// personality is personality(2)'s value, inherited by children.
	personality uint32
	// exe is the path of the program the task runs (/proc/PID/exe).
	exe string
	// robustList is set_robust_list's head.
	robustList uintptr
	// altStack is sigaltstack's stack.
	altStack linux.SignalStack
	// restartErrno is the ERESTART code the last syscall returned;
	// restartBlock continues an ERESTART_RESTARTBLOCK call.
	restartErrno linux.Errno
	restartBlock func(t *Task) (uintptr, linux.Errno)
	// lastFault is the last exception, copied into signal frames.
	lastFault arch.SignalFault
	// exiting is set when the task has decided to exit; exitCode is its
	// exit(2) code.
	exiting  bool
	exitCode int
	// lastFaultAddr, lastFaultIP and faultRepeats detect a fault that
	// handling did not resolve.
	lastFaultAddr uintptr
	lastFaultIP   uintptr
	faultRepeats  int
	// vforkDone, if not nil, is closed when the task execs or exits,
	// releasing its vfork(2) parent.
	vforkDone chan struct{}

	// killed is set by other goroutines to make the task exit;
	// killedCh is closed at the same time (once, under killOnce).
	killed   atomic.Bool
	killedCh chan struct{}
	killOnce sync.Once
	// futexExited is set when the task begins its futex exit work: from
	// then on PI futexes treat it as gone.
	futexExited atomic.Bool
	// futexWaiter is the task's reusable futex waiter (task goroutine
	// only).
	futexWaiter *futex.Waiter
	// userNanos is the time the task spent running guest code,
	// sysNanos serving its syscalls and faults.
	userNanos atomic.Int64
	sysNanos  atomic.Int64
	// syscallSince is when the current syscall started (0: none), which
	// tells a sleeping task from a running one for /proc.
	syscallSince atomic.Int64
}

// newTask returns a task of tg, not yet registered.
func newTask(k *Kernel, tg *ThreadGroup, m *mm.MemoryManager, ctx platform.Context, ac *arch.Context,
	fdTable *vfs.FDTable, fsc *FSContext, creds *vfs.Credentials) *Task {
	return &Task{
		k: k, tg: tg, mm: m, ctx: ctx, arch: ac, fdTable: fdTable, fsc: fsc, creds: creds,
		intCh:    make(chan struct{}),
		killedCh: make(chan struct{}),
	}
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
func (t *Task) CPUNanos() int64 { return t.userNanos.Load() + t.sysNanos.Load() }

// CPUTimes returns the task's user and system time.
func (t *Task) CPUTimes() (user, sys int64) { return t.userNanos.Load(), t.sysNanos.Load() }

// Name returns the task's command name (comm).
func (t *Task) Name() string {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.name
}

// SetName sets the command name, truncated to 15 bytes as Linux does.
func (t *Task) SetName(name string) {
	if len(name) > taskCommLen-1 {
		name = name[:taskCommLen-1]
	}
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.name = name
}

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

// Killed reports whether the task has been told to exit.
func (t *Task) Killed() bool { return t.killed.Load() }

// Exiting reports whether the task is exiting (after exit or exit_group,
// or because it was killed).
func (t *Task) Exiting() bool { return t.exiting || t.killed.Load() }

// kill makes the task exit as soon as possible.
func (t *Task) kill() {
	t.killed.Store(true)
	t.killOnce.Do(func() { close(t.killedCh) })
	t.interruptForSignal()
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
	for {
		if t.signalCheck.Load() || t.restartErrno != 0 {
			t.handleSignals()
		}
		if t.exiting || t.killed.Load() {
			return
		}
		start := time.Now()
		ev, err := t.ctx.Switch(t.mm.AddressSpace(), st)
		now := time.Now()
		t.userNanos.Add(int64(now.Sub(start)))
		if err != nil {
			slog.Error("task lost its platform context", "pid", t.tg.pid, "tid", t.tid, "err", err)
			t.tg.ExitGroup(ExitStatus{Signal: linux.SIGKILL})
			return
		}
		switch ev.Kind {
		case platform.EventSyscall:
			t.faultRepeats = 0
			t.syscallSince.Store(now.UnixNano())
			t.doSyscall()
			t.syscallSince.Store(0)
		case platform.EventFault:
			t.handleFault(&ev)
		case platform.EventInterrupted:
			// The loop checks why.
		}
		t.sysNanos.Add(int64(time.Since(now)))
	}
}

// doSyscall serves the system call the task stopped at.
func (t *Task) doSyscall() {
	t.rearmInterrupt()
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
	switch errno {
	case 0:
		t.arch.SetReturn(rval)
	case ErrnoNoReturn:
	case linux.ERESTARTSYS, linux.ERESTARTNOINTR, linux.ERESTARTNOHAND, linux.ERESTART_RESTARTBLOCK:
		// Finished by handleSignals: EINTR if a handler runs, else
		// the call is made again.
		t.restartErrno = errno
		t.arch.SetReturn(eintrReturn)
	default:
		t.arch.SetReturn(-uintptr(errno))
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
	} else if sig == linux.SIGBUS {
		// The host refused an access to the memory file: a mapping
		// the Sentry made is wrong. Say so; the guest gets the SIGBUS.
		slog.Warn("host SIGBUS on a guest access", "pid", t.tg.pid, "tid", t.tid,
			"addr", fmt.Sprintf("%#x", ev.FaultAddr), "code", ev.Info.Code)
	}
	info := ev.Info
	info.Signo = int32(sig)
	info.Code = code
	if sig == linux.SIGSEGV || sig == linux.SIGBUS {
		info.SetAddr(uint64(ev.FaultAddr))
		errCode := uint64(linux.X86_PF_USER)
		if code == linux.SEGV_ACCERR {
			errCode |= linux.X86_PF_PROT
		}
		if ev.Access.Write {
			errCode |= linux.X86_PF_WRITE
		}
		if ev.Access.Execute {
			errCode |= linux.X86_PF_INSTR
		}
		t.lastFault = arch.SignalFault{Trapno: linux.X86_TRAP_PF, Err: errCode, Cr2: uint64(ev.FaultAddr)}
	}
	slog.Debug("guest fault becomes a signal",
		"pid", t.tg.pid, "tid", t.tid, "signal", sig.String(), "code", code,
		"addr", fmt.Sprintf("%#x", ev.FaultAddr), "ip", fmt.Sprintf("%#x", t.arch.IP()))
	t.k.mu.Lock()
	t.forceSignalLocked(&info)
	t.k.mu.Unlock()
}
