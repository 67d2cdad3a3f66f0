package seccomp

import (
	"golang.org/x/sys/unix"
)

// goRuntimeCloneFlags are the flags the Go runtime passes to clone(2) to
// start a thread (runtime/os_linux.go): CLONE_VM|CLONE_FS|CLONE_FILES|
// CLONE_SIGHAND|CLONE_SYSVSEM|CLONE_THREAD. No other clone is allowed, so
// a confined process can start threads but never processes.
const goRuntimeCloneFlags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES |
	unix.CLONE_SIGHAND | unix.CLONE_SYSVSEM | unix.CLONE_THREAD

// glibcThreadCloneFlags are the flags glibc's pthread_create passes to
// clone(2) (the binary links libc through cgo, for libseccomp): the Go
// runtime's plus CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID.
const glibcThreadCloneFlags = goRuntimeCloneFlags | unix.CLONE_SETTLS |
	unix.CLONE_PARENT_SETTID | unix.CLONE_CHILD_CLEARTID

// archSetFS is arch_prctl's ARCH_SET_FS: a new Go thread sets its TLS base.
const archSetFS = 0x1002

// GoferFilter is the policy of the Gofer after it has pivoted into its
// trees: the file system calls it serves 9P with, the socket calls of the
// 9P connections it inherited, and what the Go runtime needs. Everything
// else kills the process: no execve, no socket/connect/bind/listen/accept,
// no ptrace, no mount, no process creation, no open that follows a
// symlink.
func GoferFilter() *Filter {
	allow := AllowRule
	argEq := func(i uint, v uint64) ArgMatch { return ArgMatch{Index: i, Op: Equal, Value: v} }
	argMask := func(i uint, mask, v uint64) ArgMatch {
		return ArgMatch{Index: i, Op: MaskedEqual, Mask: mask, Value: v}
	}
	rules := []Rule{
		// Go runtime.
		allow(unix.SYS_FUTEX, "Go runtime: locks, notes, thread parking"),
		allow(unix.SYS_MMAP, "Go runtime: heap and stacks (never executable)", argMask(2, unix.PROT_EXEC, 0)),
		allow(unix.SYS_MUNMAP, "Go runtime: returning memory"),
		allow(unix.SYS_MADVISE, "Go runtime: scavenger (MADV_DONTNEED etc.)"),
		allow(unix.SYS_RT_SIGACTION, "Go runtime: signal handlers"),
		allow(unix.SYS_RT_SIGPROCMASK, "Go runtime: per-thread signal masks"),
		allow(unix.SYS_RT_SIGRETURN, "Go runtime: returning from signal handlers"),
		allow(unix.SYS_SIGALTSTACK, "Go runtime: signal stack of each thread"),
		allow(unix.SYS_CLONE, "Go runtime: new threads (thread flags only, no processes)",
			argEq(0, goRuntimeCloneFlags)),
		allow(unix.SYS_CLONE, "cgo runtime: new threads through pthread_create (thread flags only)",
			argEq(0, glibcThreadCloneFlags)),
		{Syscall: unix.SYS_CLONE3, Action: Errno(unix.ENOSYS),
			Reason: "clone3's flags are in memory, out of the filter's reach: ENOSYS makes glibc fall back to clone"},
		allow(unix.SYS_MPROTECT, "glibc: thread stack guard pages (never executable)", argMask(2, unix.PROT_EXEC, 0)),
		allow(unix.SYS_SET_ROBUST_LIST, "glibc: start of every thread"),
		allow(unix.SYS_RSEQ, "glibc: restartable sequences registration of every thread"),
		allow(unix.SYS_EPOLL_CREATE1, "Go runtime: netpoller (p9 sockets are non-blocking and polled)"),
		allow(unix.SYS_EPOLL_CTL, "Go runtime: netpoller"),
		allow(unix.SYS_EPOLL_PWAIT, "Go runtime: netpoller wait with timer deadlines"),
		allow(unix.SYS_EVENTFD2, "Go runtime: netpoller wakeups (netpollBreak)"),
		allow(unix.SYS_ARCH_PRCTL, "Go runtime: TLS base of a new thread", argEq(0, archSetFS)),
		allow(unix.SYS_SCHED_YIELD, "Go runtime: spinning"),
		allow(unix.SYS_SCHED_GETAFFINITY, "Go runtime: CPU count for GOMAXPROCS updates"),
		allow(unix.SYS_NANOSLEEP, "Go runtime: usleep"),
		allow(unix.SYS_CLOCK_GETTIME, "Go runtime: time, when the vDSO is not used"),
		allow(unix.SYS_GETPID, "Go runtime: signalling itself (preemption)"),
		allow(unix.SYS_GETTID, "Go runtime: thread ids"),
		allow(unix.SYS_TGKILL, "Go runtime: preemption signals to its own threads"),
		allow(unix.SYS_GETRANDOM, "Go runtime: random seeds"),
		allow(unix.SYS_EXIT, "Go runtime: thread exit"),
		allow(unix.SYS_EXIT_GROUP, "process exit when every connection has closed"),
		allow(unix.SYS_RESTART_SYSCALL, "kernel restart of an interrupted sleep"),

		// Descriptor I/O: the 9P sockets, opened files, logging to stderr.
		allow(unix.SYS_READ, "reading opened files and runtime state"),
		allow(unix.SYS_WRITE, "log lines to stderr"),
		allow(unix.SYS_PREAD64, "Tread on opened files"),
		allow(unix.SYS_PWRITE64, "Twrite on opened files"),
		allow(unix.SYS_CLOSE, "closing nodes, opened files, donated duplicates"),
		allow(unix.SYS_RECVMSG, "receiving 9P requests"),
		allow(unix.SYS_SENDMSG, "sending 9P replies and donated descriptors (SCM_RIGHTS)"),
		allow(unix.SYS_SHUTDOWN, "closing a 9P connection"),
		allow(unix.SYS_GETSOCKOPT, "p9 server checks its socket's type",
			argEq(1, unix.SOL_SOCKET), argEq(2, unix.SO_TYPE)),
		allow(unix.SYS_GETSOCKOPT, "p9 server reads its send buffer size (bounds msize)",
			argEq(1, unix.SOL_SOCKET), argEq(2, unix.SO_SNDBUF)),
		allow(unix.SYS_SETSOCKOPT, "p9 server sizes its send buffer for msize packets",
			argEq(1, unix.SOL_SOCKET), argEq(2, unix.SO_SNDBUFFORCE)),
		allow(unix.SYS_SETSOCKOPT, "p9 server sizes its send buffer (unprivileged fallback)",
			argEq(1, unix.SOL_SOCKET), argEq(2, unix.SO_SNDBUF)),
		allow(unix.SYS_FCNTL, "status flags (blocking mode, clearing O_NONBLOCK)", argEq(1, unix.F_GETFL)),
		allow(unix.SYS_FCNTL, "status flags (blocking mode, clearing O_NONBLOCK)", argEq(1, unix.F_SETFL)),
		allow(unix.SYS_FCNTL, "duplicating an opened file for donation", argEq(1, unix.F_DUPFD_CLOEXEC)),
		allow(unix.SYS_FCNTL, "Tlock: open-file-description locks", argEq(1, unix.F_OFD_SETLK)),
		allow(unix.SYS_FCNTL, "Tgetlock: open-file-description locks", argEq(1, unix.F_OFD_GETLK)),

		// File system calls; every path argument is one validated name
		// relative to a directory descriptor the Gofer holds.
		allow(unix.SYS_OPENAT, "walk and open: only with O_NOFOLLOW",
			argMask(2, unix.O_NOFOLLOW, unix.O_NOFOLLOW)),
		allow(unix.SYS_NEWFSTATAT, "Tgetattr, readdir attributes, swap checks"),
		allow(unix.SYS_FSTAT, "(dev, ino) checks of opened files"),
		allow(unix.SYS_FSTATFS, "Tstatfs"),
		allow(unix.SYS_GETDENTS64, "Treaddir"),
		allow(unix.SYS_LSEEK, "Treaddir offset cookies"),
		allow(unix.SYS_MKDIRAT, "Tmkdir"),
		allow(unix.SYS_SYMLINKAT, "Tsymlink"),
		allow(unix.SYS_MKNODAT, "Tmknod (regular files and FIFOs only, checked before)"),
		allow(unix.SYS_LINKAT, "Tlink"),
		allow(unix.SYS_RENAMEAT, "Trename, Trenameat"),
		allow(unix.SYS_UNLINKAT, "Tunlinkat, Tremove"),
		allow(unix.SYS_READLINKAT, "Treadlink"),
		allow(unix.SYS_FCHMOD, "exact mode of a created file"),
		allow(unix.SYS_FCHMODAT2, "Tsetattr mode on the node itself (AT_EMPTY_PATH)"),
		allow(unix.SYS_FCHOWN, "owner of a created file"),
		allow(unix.SYS_FCHOWNAT, "Tsetattr owner, owner of created nodes"),
		allow(unix.SYS_UTIMENSAT, "Tsetattr times"),
		allow(unix.SYS_FTRUNCATE, "Tsetattr size, O_TRUNC"),
		allow(unix.SYS_FSYNC, "Tfsync"),
		allow(unix.SYS_FDATASYNC, "Tfsync (datasync)"),
		allow(unix.SYS_GETXATTRAT, "Txattrwalk"),
		allow(unix.SYS_LISTXATTRAT, "Txattrwalk (list)"),
		allow(unix.SYS_SETXATTRAT, "Txattrcreate"),
		allow(unix.SYS_REMOVEXATTRAT, "Txattrcreate (remove)"),
	}
	return &Filter{Name: "gofer", Default: KillProcess, Rules: rules}
}
