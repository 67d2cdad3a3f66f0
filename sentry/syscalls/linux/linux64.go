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

// AMD64 is the amd64 syscall table, built by table.go's init once every
// area file has registered.
var AMD64 *kernel.SyscallTable

func newTable() *kernel.SyscallTable {
	st := &kernel.SyscallTable{}
	for nr := range st.Table {
		st.Table[nr] = kernel.Syscall{Name: linux.SyscallName(uintptr(nr)), Support: kernel.Unsupported}
	}
	b := &tableBuilder{st: st}
	full, partial := b.full, b.partial
	note := func(nr int, note string) { st.Table[nr].Note = note }

	full(linux.SYS_READ, Read)
	full(linux.SYS_WRITE, Write)
	full(linux.SYS_WRITEV, Writev)
	full(linux.SYS_READV, Readv)
	full(linux.SYS_PREAD64, Pread64)
	full(linux.SYS_PWRITE64, Pwrite64)
	full(linux.SYS_PREADV, Preadv)
	full(linux.SYS_PWRITEV, Pwritev)
	full(linux.SYS_LSEEK, Lseek)
	full(linux.SYS_OPEN, Open)
	full(linux.SYS_OPENAT, Openat)
	full(linux.SYS_CREAT, Creat)
	full(linux.SYS_OPENAT2, Openat2)
	full(linux.SYS_CLOSE, Close)
	full(linux.SYS_STAT, Stat)
	full(linux.SYS_LSTAT, Lstat)
	full(linux.SYS_FSTAT, Fstat)
	full(linux.SYS_NEWFSTATAT, Newfstatat)
	full(linux.SYS_STATX, Statx)
	full(linux.SYS_GETDENTS64, Getdents64)
	full(linux.SYS_GETCWD, Getcwd)
	full(linux.SYS_CHDIR, Chdir)
	full(linux.SYS_FCHDIR, Fchdir)
	full(linux.SYS_MKDIR, Mkdir)
	full(linux.SYS_MKDIRAT, Mkdirat)
	full(linux.SYS_RMDIR, Rmdir)
	full(linux.SYS_UNLINK, Unlink)
	full(linux.SYS_UNLINKAT, Unlinkat)
	full(linux.SYS_RENAME, Rename)
	full(linux.SYS_RENAMEAT, Renameat)
	full(linux.SYS_RENAMEAT2, Renameat2)
	full(linux.SYS_SYMLINK, Symlink)
	full(linux.SYS_SYMLINKAT, Symlinkat)
	full(linux.SYS_LINK, Link)
	full(linux.SYS_LINKAT, Linkat)
	full(linux.SYS_READLINK, Readlink)
	full(linux.SYS_READLINKAT, Readlinkat)
	full(linux.SYS_ACCESS, Access)
	full(linux.SYS_FACCESSAT, Faccessat)
	full(linux.SYS_FACCESSAT2, Faccessat2)
	full(linux.SYS_UMASK, Umask)
	full(linux.SYS_DUP, Dup)
	full(linux.SYS_DUP2, Dup2)
	full(linux.SYS_DUP3, Dup3)
	partial(linux.SYS_FCNTL, Fcntl, "F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL; locks and the rest are EINVAL")
	partial(linux.SYS_IOCTL, Ioctl, "FIOCLEX, FIONCLEX, FIONBIO, FIONREAD, and what each file answers (terminal requests on host ttys)")
	full(linux.SYS_FSYNC, Fsync)
	full(linux.SYS_FTRUNCATE, Ftruncate)
	full(linux.SYS_PIPE, Pipe)
	full(linux.SYS_PIPE2, Pipe2)
	partial(linux.SYS_FUTEX, Futex, "wait, wake, requeue, cmp-requeue, wake-op and bitset variants, private and shared; waits end on wake, timeout or a signal (restarted as Linux does); PI lock/trylock/unlock hand the lock over (no priority boosting); requeue-to-PI is ENOSYS")
	full(linux.SYS_GETXATTR, Getxattr)
	full(linux.SYS_LGETXATTR, Lgetxattr)
	full(linux.SYS_FGETXATTR, Fgetxattr)
	full(linux.SYS_LISTXATTR, Listxattr)
	full(linux.SYS_LLISTXATTR, Llistxattr)
	full(linux.SYS_FLISTXATTR, Flistxattr)
	full(linux.SYS_GETUID, Getuid)
	full(linux.SYS_GETEUID, Geteuid)
	full(linux.SYS_GETGID, Getgid)
	full(linux.SYS_GETEGID, Getegid)
	full(linux.SYS_GETGROUPS, Getgroups)
	partial(linux.SYS_GETRLIMIT, Getrlimit, "limits are per process; NOFILE, NPROC (for non-root), AS, STACK (at exec) and MEMLOCK are enforced, the others recorded")
	partial(linux.SYS_SETRLIMIT, Setrlimit, "limits are per process; NOFILE, NPROC (for non-root), AS, STACK (at exec) and MEMLOCK are enforced, the others recorded")
	partial(linux.SYS_PRLIMIT64, Prlimit64, "any task of the sandbox; NOFILE, NPROC (for non-root), AS, STACK (at exec) and MEMLOCK are enforced, the others recorded")
	partial(linux.SYS_MMAP, Mmap, "anonymous and regular-file mappings; file pages are private copies: MAP_SHARED file mappings are read-only (PROT_WRITE is ENODEV, mprotect to write EACCES) and do not see later writes to the file; pages wholly past EOF read as zero instead of SIGBUS; other file types are ENODEV")
	full(linux.SYS_MUNMAP, Munmap)
	full(linux.SYS_MPROTECT, Mprotect)
	full(linux.SYS_BRK, Brk)
	partial(linux.SYS_ARCH_PRCTL, ArchPrctl, "ARCH_SET_FS, ARCH_GET_FS, ARCH_SET_GS, ARCH_GET_GS; others EINVAL")
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
	for _, register := range registrars {
		register(b)
	}
	return st
}

// tableBuilder fills table entries; area files register theirs through
// it (see registrars).
type tableBuilder struct{ st *kernel.SyscallTable }

// full registers a fully supported call.
func (b *tableBuilder) full(nr int, fn kernel.SyscallFn) {
	b.st.Table[nr].Fn = fn
	b.st.Table[nr].Support = kernel.Supported
	b.st.Table[nr].Note = ""
}

// partial registers a call with some modes missing, which note names.
func (b *tableBuilder) partial(nr int, fn kernel.SyscallFn, note string) {
	b.st.Table[nr].Fn = fn
	b.st.Table[nr].Support = kernel.Partial
	b.st.Table[nr].Note = note
}

// registrars are the area files' registration functions, appended by
// their init functions, so that each area keeps its table entries beside
// its handlers. They run after the entries above (and so override them), in
// file-name order.
var registrars []func(*tableBuilder)

// errnoOf returns err's errno (EIO for an error that carries none).
func errnoOf(err error) linux.Errno {
	if e, ok := err.(linux.Errno); ok {
		return e
	}
	return unix.EIO
}
