package linux

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
)

// Exit implements exit(2): it ends the calling thread; the last thread
// to exit ends the process with its code.
func Exit(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	t.Exit(int(args[0].Int() & 0xff))
	return 0, 0
}

// ExitGroup implements exit_group(2).
func ExitGroup(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	t.ExitGroup(int(args[0].Int() & 0xff))
	return 0, 0
}

// Getpid implements getpid(2).
func Getpid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return uintptr(t.ThreadGroup().PID()), 0
}

// Getppid implements getppid(2). The first process's parent is outside
// the sandbox, so it sees 0, like a process whose parent is in another PID
// namespace.
func Getppid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return uintptr(t.ThreadGroup().PPID()), 0
}

// Gettid implements gettid(2).
func Gettid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return uintptr(t.ThreadID()), 0
}

// SetTidAddress implements set_tid_address(2).
func SetTidAddress(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	t.SetClearTID(args[0].Pointer())
	return uintptr(t.ThreadID()), 0
}
