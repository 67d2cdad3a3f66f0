// Package linux implements the Linux system calls the Sentry serves, one
// file per area, and the amd64 table (AMD64) that maps syscall numbers to
// them. Each table entry carries the call's name and how completely it is
// supported, so the compatibility table can be generated from it. Numbers
// without a handler return ENOSYS.
//
// Handlers read their arguments from arch.SyscallArguments, reach guest
// memory only through the task's MemoryManager (so bad pointers are EFAULT),
// and return a value or an errno; they never panic on guest input.
package linux

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

// AMD64 is the amd64 syscall table.
var AMD64 = newTable()

func newTable() *kernel.SyscallTable {
	st := &kernel.SyscallTable{}
	for nr := range st.Table {
		st.Table[nr] = kernel.Syscall{Name: linux.SyscallName(uintptr(nr)), Support: kernel.Unsupported}
	}
	full := func(nr int, fn kernel.SyscallFn) {
		st.Table[nr].Fn = fn
		st.Table[nr].Support = kernel.Supported
	}
	partial := func(nr int, fn kernel.SyscallFn, note string) {
		st.Table[nr].Fn = fn
		st.Table[nr].Support = kernel.Partial
		st.Table[nr].Note = note
	}
	note := func(nr int, note string) { st.Table[nr].Note = note }

	partial(linux.SYS_READ, Read, "only fds 0-2 (the host's stdio); other fds are EBADF")
	partial(linux.SYS_WRITE, Write, "only fds 0-2 (the host's stdio); other fds are EBADF; no SIGPIPE")
	partial(linux.SYS_WRITEV, Writev, "only fds 0-2 (the host's stdio); other fds are EBADF; no SIGPIPE")
	partial(linux.SYS_MMAP, Mmap, "anonymous memory only; file mappings are ENODEV (fds 0-2) or EBADF")
	full(linux.SYS_MUNMAP, Munmap)
	full(linux.SYS_MPROTECT, Mprotect)
	full(linux.SYS_BRK, Brk)
	partial(linux.SYS_ARCH_PRCTL, ArchPrctl, "ARCH_SET_FS, ARCH_GET_FS, ARCH_SET_GS, ARCH_GET_GS; others EINVAL")
	partial(linux.SYS_SET_TID_ADDRESS, SetTidAddress, "the address is recorded; the clear-and-wake on exit comes with futexes")
	full(linux.SYS_EXIT, Exit)
	full(linux.SYS_EXIT_GROUP, ExitGroup)
	full(linux.SYS_GETPID, Getpid)
	full(linux.SYS_GETPPID, Getppid)
	full(linux.SYS_GETTID, Gettid)
	full(linux.SYS_UNAME, Uname)
	full(linux.SYS_CLOCK_GETTIME, ClockGettime)
	full(linux.SYS_CLOCK_GETRES, ClockGetres)
	full(linux.SYS_GETTIMEOFDAY, Gettimeofday)
	full(linux.SYS_TIME, Time)
	partial(linux.SYS_GETRANDOM, Getrandom, "GRND_RANDOM and GRND_NONBLOCK never block: the pool is always ready")

	note(linux.SYS_RSEQ, "ENOSYS: glibc then runs without restartable sequences")
	note(linux.SYS_SET_ROBUST_LIST, "ENOSYS until futexes exist; glibc tolerates it")
	note(linux.SYS_PRLIMIT64, "ENOSYS until resource limits exist; glibc falls back to defaults")
	note(linux.SYS_READLINK, "ENOSYS until the VFS exists")
	note(linux.SYS_NEWFSTATAT, "ENOSYS until the VFS exists; stdio then uses full buffering")
	note(linux.SYS_IOCTL, "ENOSYS until the VFS exists")
	return st
}

// errnoOf returns err's errno (EIO for an error that carries none).
func errnoOf(err error) linux.Errno {
	if e, ok := err.(linux.Errno); ok {
		return e
	}
	return unix.EIO
}
