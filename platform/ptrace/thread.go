package ptrace

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/seccomp"
)

// thread is one traced stub thread. All its methods must be called on the
// OS thread that traces it.
type thread struct {
	tgid int // the stub process
	tid  int

	// template holds registers from a real stop of this thread; injected
	// system calls start from it so that segment registers and flags are
	// valid.
	template linux.PtraceRegs

	// kregs is what the kernel holds as this thread's registers when
	// kregsValid; an injected syscall clobbers them.
	kregs      linux.PtraceRegs
	kregsValid bool

	// fp is what the kernel holds as this thread's FP state when fpValid.
	fp      []byte
	fpValid bool

	// dead is set once the thread has exited and been reaped (or, for a
	// forked leader, let go).
	dead bool

	// forked marks the leader of a stub process forked from the master:
	// the kernel reaps it once its tracer lets go (the master ignores
	// SIGCHLD).
	forked bool
}

// errStubDied reports a stub thread that exited or was killed.
type errStubDied struct {
	tid    int
	status unix.WaitStatus
}

func (e *errStubDied) Error() string {
	if e.status.Signaled() {
		return fmt.Sprintf("stub thread %d killed by %v", e.tid, e.status.Signal())
	}
	return fmt.Sprintf("stub thread %d exited with status %d", e.tid, e.status.ExitStatus())
}

// Signals that show that an injected system call was interrupted and
// should be made again.
const (
	errnoERESTARTSYS           = 512
	errnoERESTARTNOINTR        = 513
	errnoERESTARTNOHAND        = 514
	errnoERESTART_RESTARTBLOCK = 516
)

// maxInjectRetries bounds the retries of an interrupted injected call.
const maxInjectRetries = 100

// syscall makes the stopped thread t run system call nr with args, using
// the stub snippet at pc whose int3 reports Rip trapRip. It returns the
// raw result (rax). Signals that arrive meanwhile are suppressed; calls
// interrupted with EINTR or a restart code are made again.
func (t *thread) syscall(pc, trapRip, nr uintptr, args ...uintptr) (uintptr, error) {
	if t.dead {
		return 0, fmt.Errorf("injecting %s: stub thread %d is gone", linux.SyscallName(nr), t.tid)
	}
	if t.forked {
		// A leader rests stopped between calls; if its process was
		// killed meanwhile it now waits at its exit stop, and resuming
		// it would make this thread wait for the whole process.
		if pid, status, err := wait4opts(t.tid, unix.WNOHANG); err == nil && pid == t.tid {
			if status.Stopped() && uint32(status)>>16 == unix.PTRACE_EVENT_EXIT {
				return 0, t.exiting()
			}
			if status.Exited() || status.Signaled() {
				t.dead = true
				return 0, &errStubDied{tid: t.tid, status: status}
			}
		}
	}
	for attempt := 0; ; attempt++ {
		regs := t.template
		regs.Rip = uint64(pc)
		regs.Rax = uint64(nr)
		regs.Orig_rax = ^uint64(0)
		var a [6]uint64
		for i, v := range args {
			a[i] = uint64(v)
		}
		regs.Rdi, regs.Rsi, regs.Rdx, regs.R10, regs.R8, regs.R9 = a[0], a[1], a[2], a[3], a[4], a[5]
		t.kregsValid = false
		if err := setRegs(t.tid, &regs); err != nil {
			return 0, fmt.Errorf("injecting %s into stub thread %d: PTRACE_SETREGS: %w", linux.SyscallName(nr), t.tid, err)
		}
		if err := ptrace(unix.PTRACE_CONT, t.tid, 0, 0); err != nil {
			return 0, fmt.Errorf("injecting %s into stub thread %d: PTRACE_CONT: %w", linux.SyscallName(nr), t.tid, err)
		}
		ret, err := t.waitTrap(uint64(trapRip))
		if err != nil {
			return 0, fmt.Errorf("injecting %s: %w", linux.SyscallName(nr), err)
		}
		switch e := -int64(ret); e {
		case int64(unix.EINTR), errnoERESTARTSYS, errnoERESTARTNOINTR, errnoERESTARTNOHAND, errnoERESTART_RESTARTBLOCK:
			if attempt < maxInjectRetries {
				continue
			}
		}
		return uintptr(ret), nil
	}
}

// waitTrap resumes t past every stop until it stops at the int3 whose Rip
// is trapRip, and returns rax there.
func (t *thread) waitTrap(trapRip uint64) (uint64, error) {
	for {
		status, err := wait4(t.tid)
		if err != nil {
			return 0, fmt.Errorf("wait4 on stub thread %d: %w", t.tid, err)
		}
		if status.Exited() || status.Signaled() {
			t.dead = true
			return 0, &errStubDied{tid: t.tid, status: status}
		}
		if !status.Stopped() {
			continue
		}
		if uint32(status)>>16 == unix.PTRACE_EVENT_EXIT {
			if t.forked {
				return 0, t.exiting()
			}
			var msg uint64
			getEventMsg(t.tid, &msg)
			ptrace(unix.PTRACE_CONT, t.tid, 0, 0)
			t.reap()
			return 0, &errStubDied{tid: t.tid, status: unix.WaitStatus(msg)}
		}
		sig := status.StopSignal()
		if uint32(status)>>16 == 0 && sig != unix.SIGTRAP|0x80 {
			// A signal-delivery-stop: ours, a fault, or a host signal.
			var r linux.PtraceRegs
			if err := getRegs(t.tid, &r); err != nil {
				return 0, fmt.Errorf("stub thread %d: PTRACE_GETREGS: %w", t.tid, err)
			}
			if sig == unix.SIGTRAP && r.Rip == trapRip {
				return r.Rax, nil
			}
			switch sig {
			case unix.SIGSEGV, unix.SIGBUS, unix.SIGILL, unix.SIGFPE, unix.SIGTRAP:
				var si linux.SignalInfo
				if err := getSigInfo(t.tid, &si); err == nil && si.Code > 0 {
					return 0, fmt.Errorf("stub thread %d: %v at %#x (si_addr %#x)", t.tid, linux.Signal(sig), r.Rip, si.Addr())
				}
			}
		}
		// Anything else (a host signal, a ptrace event) is suppressed.
		if err := ptrace(unix.PTRACE_CONT, t.tid, 0, 0); err != nil {
			return 0, fmt.Errorf("stub thread %d: PTRACE_CONT: %w", t.tid, err)
		}
	}
}

// syscallErr converts a raw injected-syscall result to an error.
func syscallErr(ret uintptr) error {
	if e := -int64(ret); e > 0 && e < 4096 {
		return unix.Errno(e)
	}
	return nil
}

// mmap maps fd into the thread's address space (MAP_SHARED|MAP_FIXED).
func (t *thread) mmap(addr uintptr, length uintptr, prot int, fd int, offset int64) error {
	ret, err := t.syscall(stubSyscall+stubBase, stubSyscallTrap+stubBase, unix.SYS_MMAP,
		addr, length, uintptr(prot), seccomp.StubMmapFlags, uintptr(fd), uintptr(offset))
	if err != nil {
		return err
	}
	if err := syscallErr(ret); err != nil {
		return fmt.Errorf("stub mmap: %w", err)
	}
	if ret != addr {
		return fmt.Errorf("stub mmap returned %#x, want %#x", ret, addr)
	}
	return nil
}

// munmap unmaps a range of the thread's address space.
func (t *thread) munmap(addr, length uintptr) error {
	ret, err := t.syscall(stubSyscall+stubBase, stubSyscallTrap+stubBase, unix.SYS_MUNMAP, addr, length)
	if err != nil {
		return err
	}
	if err := syscallErr(ret); err != nil {
		return fmt.Errorf("stub munmap: %w", err)
	}
	return nil
}

// clone injects clone(flags) and returns the new task's id. The new task
// starts in the stub's park loop.
func (t *thread) clone(flags uintptr) (int, error) {
	ret, err := t.syscall(stubClone+stubBase, stubCloneTrap+stubBase, unix.SYS_CLONE, flags, 0, 0, 0, 0)
	if err != nil {
		return 0, err
	}
	if err := syscallErr(ret); err != nil {
		return 0, fmt.Errorf("stub clone: %w", err)
	}
	return int(ret), nil
}

// exit makes a stub thread (never a process leader) exit and reaps it.
func (t *thread) exit() error {
	if t.dead {
		return nil
	}
	regs := t.template
	regs.Rip = stubBase + stubSyscall
	regs.Rax = unix.SYS_EXIT
	regs.Orig_rax = ^uint64(0)
	regs.Rdi = 0
	if err := setRegs(t.tid, &regs); err == nil {
		if err := ptrace(unix.PTRACE_CONT, t.tid, 0, 0); err != nil {
			return fmt.Errorf("stub thread %d: PTRACE_CONT: %w", t.tid, err)
		}
	}
	return t.reap()
}

// reap waits until t is gone, suppressing any stop on the way.
func (t *thread) reap() error {
	for !t.dead {
		status, err := wait4(t.tid)
		if err != nil {
			t.dead = true
			if err == unix.ECHILD {
				return nil
			}
			return fmt.Errorf("reaping stub thread %d: %w", t.tid, err)
		}
		if status.Exited() || status.Signaled() {
			t.dead = true
			break
		}
		if status.Stopped() {
			if t.forked && uint32(status)>>16 == unix.PTRACE_EVENT_EXIT {
				t.exiting()
				break
			}
			ptrace(unix.PTRACE_CONT, t.tid, 0, 0)
		}
	}
	return nil
}

// exiting handles the PTRACE_EVENT_EXIT stop of a stub process leader (the
// process is being killed): the leader is detached, so that its tracer does
// not wait for it (a leader cannot be reaped before the threads other
// tracers hold), and the kernel reaps it once the whole process is gone
// (its parent, the master, ignores SIGCHLD).
func (t *thread) exiting() error {
	var msg uint64
	getEventMsg(t.tid, &msg)
	ptrace(unix.PTRACE_DETACH, t.tid, 0, 0)
	t.dead = true
	return &errStubDied{tid: t.tid, status: unix.WaitStatus(msg)}
}
