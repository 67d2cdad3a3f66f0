package ptrace

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/seccomp"
)

// jumpTo jumps to pc (stub_amd64.s).
//
//go:noescape
func jumpTo(pc uintptr)

// Exit codes of a master stub that failed before reaching the stub code.
const (
	masterExitPdeathsig = 100 + iota
	masterExitParentGone
	masterExitTraceme
	masterExitSigaction
	masterExitMmap
	masterExitStop
	masterExitSeccomp
)

// masterExitReason describes a master exit code.
func masterExitReason(code int) string {
	switch code {
	case masterExitPdeathsig:
		return "prctl(PR_SET_PDEATHSIG) failed"
	case masterExitParentGone:
		return "parent died before PR_SET_PDEATHSIG took effect"
	case masterExitTraceme:
		return "ptrace(PTRACE_TRACEME) failed"
	case masterExitSigaction:
		return "ignoring SIGCHLD failed"
	case masterExitMmap:
		return "mapping the stub code failed"
	case masterExitStop:
		return "stopping for the tracer failed"
	case masterExitSeccomp:
		return "installing the stub seccomp filter failed"
	}
	return "unknown"
}

// masterArgs is everything the raw-cloned master needs, prepared before
// the clone so that the child only reads memory and makes raw syscalls.
type masterArgs struct {
	ppid    uintptr // the Sentry's pid, for the parent-death race check
	codeFD  uintptr // memfd with the stub code (shared through CLONE_FILES)
	prog    *seccomp.Program
	allSigs uint64 // every signal
	oldSigs uint64 // the cloning thread's mask, restored after the clone
	// ignChld is a kernel struct sigaction {handler, flags, restorer,
	// mask} with handler SIG_IGN: the master ignores SIGCHLD so that the
	// stub processes forked from it are reaped by the kernel once their
	// tracer lets go of them.
	ignChld [4]uint64
}

// cloneMaster creates the master stub with a raw clone. It must be called
// on the OS thread that will trace the master (the child calls
// PTRACE_TRACEME, which makes the cloning thread its tracer).
//
// All signals are blocked across the clone so that no Go signal handler can
// run in the child; the child keeps them blocked (the platform unblocks the
// interrupt signal per stub thread with PTRACE_SETSIGMASK).
//
//go:nosplit
//go:norace
//go:nocheckptr
func cloneMaster(a *masterArgs) (int, unix.Errno) {
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK,
		uintptr(unsafe.Pointer(&a.allSigs)), uintptr(unsafe.Pointer(&a.oldSigs)), 8, 0, 0); e != 0 {
		return 0, e
	}
	pid, _, e := unix.RawSyscall6(unix.SYS_CLONE, seccomp.StubCloneProcessFlags, 0, 0, 0, 0, 0)
	if e == 0 && pid == 0 {
		masterChild(a) // does not return
	}
	unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK,
		uintptr(unsafe.Pointer(&a.oldSigs)), 0, 8, 0, 0)
	return int(pid), e
}

// masterChild runs in the raw-cloned master. It must not run the Go
// runtime: no allocation, no stack growth, no calls that are not nosplit.
//
//go:nosplit
//go:norace
//go:nocheckptr
func masterChild(a *masterArgs) {
	// Die with the parent thread, then close the race where the parent
	// died before the prctl.
	if _, _, e := unix.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0, 0); e != 0 {
		masterExit(masterExitPdeathsig)
	}
	if ppid, _, _ := unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0); ppid != a.ppid {
		masterExit(masterExitParentGone)
	}
	if _, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_TRACEME, 0, 0, 0, 0, 0); e != 0 {
		masterExit(masterExitTraceme)
	}
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD),
		uintptr(unsafe.Pointer(&a.ignChld)), 0, 8, 0, 0); e != 0 {
		masterExit(masterExitSigaction)
	}
	addr, _, e := unix.RawSyscall6(unix.SYS_MMAP, stubBase, stubSize,
		unix.PROT_READ|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_FIXED, a.codeFD, 0)
	if e != 0 || addr != stubBase {
		masterExit(masterExitMmap)
	}
	// Stop for the tracer, which sets its options and unregisters the
	// restartable sequence the C library may have registered for the
	// cloning thread (its area is about to be unmapped).
	pid, _, _ := unix.RawSyscall(unix.SYS_GETPID, 0, 0, 0)
	if _, _, e := unix.RawSyscall(unix.SYS_KILL, pid, uintptr(unix.SIGSTOP), 0); e != 0 {
		masterExit(masterExitStop)
	}
	if e := a.prog.InstallRaw(); e != 0 {
		masterExit(masterExitSeccomp)
	}
	// The stub code unmaps everything below it and traps to the tracer.
	jumpTo(stubBase + stubEntry)
}

//go:nosplit
//go:norace
func masterExit(code uintptr) {
	for {
		unix.RawSyscall(unix.SYS_EXIT_GROUP, code, 0, 0)
	}
}
