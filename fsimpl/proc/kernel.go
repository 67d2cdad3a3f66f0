package proc

import (
	"context"
	"time"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// Kernel is what /proc shows of the sandbox. The kernel implements it
// with an adapter; every method may be called concurrently from any VFS
// operation and must not call back into the VFS while holding locks the
// VFS could wait on. Process and thread IDs are those of the sandbox's
// (single) PID namespace.
type Kernel interface {
	// PIDs returns the thread group IDs of the live and zombie
	// processes, in ascending order.
	PIDs() []int32
	// Process returns the process whose thread group ID is pid, or nil
	// if there is none (or pid names a non-leader thread).
	Process(pid int32) Process
	// Caller returns the thread group ID and thread ID of the task on
	// whose behalf ctx makes a VFS call (for /proc/self and
	// /proc/thread-self); ok is false when ctx carries no task.
	Caller(ctx context.Context) (pid, tid int32, ok bool)
	// MayInspect reports whether the task making the call may inspect
	// process pid as ptrace_may_access(PTRACE_MODE_READ_FSCREDS) says:
	// the caller is the target, or its fsuid/fsgid match the target's
	// real, effective and saved IDs, or it has CAP_SYS_PTRACE. It guards
	// the magic links (fd/N, exe, cwd, root), environ and maps. A ctx
	// with no task (the Sentry itself) may inspect everything.
	MayInspect(ctx context.Context, pid int32) bool
	// System returns system-wide figures.
	System() SystemInfo
}

// SystemInfo holds the system-wide figures /proc reports.
type SystemInfo struct {
	// Uname is what uname(2) returns; /proc/version and
	// /proc/sys/kernel/{hostname,domainname,osrelease,ostype,version}
	// show its fields.
	Uname linux.Utsname
	// BootTime is when the sandbox's kernel started (CLOCK_REALTIME):
	// /proc/stat's btime and the zero of /proc/uptime and of process
	// start times.
	BootTime time.Time
	// NumCPU is the number of CPUs the sandbox shows (/proc/cpuinfo,
	// /proc/stat).
	NumCPU int
	// MemTotal and MemFree are the sandbox's memory size and its unused
	// part in bytes; MemCached and MemShmem are the bytes used by file
	// caches and shared memory (tmpfs, MAP_SHARED anonymous), 0 if not
	// tracked. There is no swap.
	MemTotal, MemFree, MemCached, MemShmem uint64
	// Forks counts processes and threads created since boot
	// (/proc/stat "processes"); ContextSwitches counts context switches
	// (/proc/stat "ctxt"), 0 if not tracked.
	Forks, ContextSwitches uint64
	// LastPID is the most recently allocated process ID
	// (/proc/loadavg's last field).
	LastPID int32
}

// Process is one thread group, live or zombie. A zombie reports
// ENOENT (or nil/empty) from the methods that need its memory, files or
// filesystem context, which it no longer has.
type Process interface {
	// Info returns a snapshot of the process's identity and accounting.
	Info() ProcessInfo
	// Owner returns the effective user and group IDs, which own the
	// process's /proc directory. It is called on every path walk step
	// through the directory and must be cheap.
	Owner() (uid, gid uint32)
	// TIDs returns the IDs of the process's threads in ascending order.
	TIDs() []int32
	// Task returns a snapshot of thread tid, or false if tid is not a
	// thread of this process.
	Task(tid int32) (TaskInfo, bool)
	// Cmdline returns the argument area of the process's memory
	// (NUL-separated arguments, as /proc/[pid]/cmdline shows it); empty
	// for a zombie.
	Cmdline() ([]byte, error)
	// Environ returns the environment area (NUL-terminated
	// "NAME=value" strings); empty for a zombie.
	Environ() ([]byte, error)
	// Maps returns the process's memory mappings in ascending address
	// order; empty for a zombie.
	Maps() ([]Mapping, error)
	// FDTable returns the process's file descriptor table, or nil for a
	// zombie.
	FDTable() *vfs.FDTable
	// Exe returns the executable the process runs, with a reference.
	Exe() (vfs.VirtualDentry, error)
	// Cwd returns the working directory, with a reference.
	Cwd() (vfs.VirtualDentry, error)
	// Root returns the root directory (chroot), with a reference.
	Root() (vfs.VirtualDentry, error)
	// Limits returns the resource limits, indexed by RLIMIT_*.
	Limits() [linux.RLIM_NLIMITS]linux.RLimit64
	// Mounts returns the mounts of the process's mount namespace in
	// mount order, as seen from its root (/proc/[pid]/mounts).
	Mounts() []MountInfo
}

// TaskInfo is a snapshot of one thread, or of a whole process (then the
// times are the sum over its threads and State is the leader's).
type TaskInfo struct {
	// TID is the thread ID (the PID for a process).
	TID int32
	// Comm is the thread's name (prctl PR_SET_NAME, at most 15 bytes).
	Comm string
	// State is one of 'R' (running), 'S' (sleeping), 'D' (disk sleep),
	// 'T' (stopped), 't' (tracing stop), 'Z' (zombie), 'X' (dead).
	State byte
	// UserTime and SysTime are the CPU time spent in the guest and in
	// the Sentry serving it.
	UserTime, SysTime time.Duration
	// StartTime is when the thread (or process) was created.
	StartTime time.Time
	// MinorFaults and MajorFaults count page faults (0 if not tracked).
	MinorFaults, MajorFaults uint64
	// SigPending is the thread's private pending signal set, SigBlocked
	// its signal mask (bit n-1 for signal n).
	SigPending, SigBlocked uint64
	// VoluntarySwitches and InvoluntarySwitches count context switches
	// (0 if not tracked).
	VoluntarySwitches, InvoluntarySwitches uint64
	// LastCPU is the CPU the thread last ran on.
	LastCPU int32
}

// ProcessInfo is a snapshot of a process. The embedded TaskInfo is the
// whole-process view (/proc/[pid]/stat).
type ProcessInfo struct {
	TaskInfo
	// PPID, PGID and SID are the parent, process group and session IDs.
	PPID, PGID, SID int32
	// TTY is the controlling terminal's device number (linux.MakeDev
	// encoding), 0 if none; TPGID its foreground process group, or -1.
	TTY   uint64
	TPGID int32
	// TracerPID is the ptrace tracer's PID, or 0.
	TracerPID int32
	// UIDs and GIDs are the real, effective, saved and filesystem IDs.
	UIDs, GIDs [4]uint32
	// Groups are the supplementary groups.
	Groups []uint32
	// Umask is the file mode creation mask.
	Umask uint32
	// Capability sets (bit n for capability n).
	CapInheritable, CapPermitted, CapEffective, CapBounding, CapAmbient uint64
	// NoNewPrivs is PR_SET_NO_NEW_PRIVS; Seccomp the seccomp mode (0
	// none, 1 strict, 2 filter).
	NoNewPrivs bool
	Seccomp    int
	// ChildUserTime and ChildSysTime are the CPU times of waited-for
	// children.
	ChildUserTime, ChildSysTime time.Duration
	// NumThreads is the number of threads.
	NumThreads int
	// Nice is the nice value (-20..19).
	Nice int32
	// SigShared is the process-wide pending set; SigIgnored and
	// SigCaught the signals with SIG_IGN and a handler; SigQueued the
	// number of queued signals for the real user (SigQ).
	SigShared, SigIgnored, SigCaught uint64
	SigQueued                        uint64
	// ExitSignal is the signal sent to the parent on exit (SIGCHLD, or
	// 0 for a clone without one).
	ExitSignal int32
	// ExitCode is the wait(2) status of a zombie, 0 otherwise.
	ExitCode int32
	// Mem describes the address space; nil for a zombie.
	Mem *MemoryInfo
}

// MemoryInfo describes an address space: sizes in bytes and the
// addresses /proc/[pid]/stat reports.
type MemoryInfo struct {
	VirtualSize, PeakVirtualSize   uint64
	ResidentSize, PeakResidentSize uint64
	// LockedSize is mlock'ed memory (VmLck).
	LockedSize uint64
	// DataSize is private writable memory, StackSize the main stack,
	// ExeSize the executable's text, LibSize other executable mappings.
	DataSize, StackSize, ExeSize, LibSize uint64
	// Layout addresses: text, stack start, data, brk start, argument
	// and environment areas.
	StartCode, EndCode, StartStack uint64
	StartData, EndData, StartBrk   uint64
	ArgStart, ArgEnd               uint64
	EnvStart, EnvEnd               uint64
}

// Mapping is one memory mapping (VMA) of a process.
type Mapping struct {
	Start, End         uint64
	Read, Write, Exec  bool
	Shared             bool
	Offset             uint64
	DevMajor, DevMinor uint32
	Inode              uint64
	// Name is the mapped file's path or a pseudo name such as "[heap]",
	// "[stack]" or "[vdso]"; empty for anonymous memory.
	Name string
}

// MountInfo is one mount as /proc/[pid]/mounts and
// /proc/[pid]/mountinfo show it.
type MountInfo struct {
	// ID and ParentID are the mount's ID (statx stx_mnt_id) and its
	// parent's (its own for the namespace root).
	ID, ParentID uint64
	// DevMajor and DevMinor are the filesystem's device number (st_dev).
	DevMajor, DevMinor uint32
	// Root is the path, within its filesystem, of the directory mounted
	// ("/" unless a bind mount of a subdirectory).
	Root string
	// MountPoint is the mount's path from the process's root.
	MountPoint string
	// MountOptions are the per-mount options, starting with "rw" or
	// "ro" ("rw,nosuid,nodev,noexec,relatime").
	MountOptions string
	// FSType is the filesystem type name ("tmpfs", "proc", "9p").
	FSType string
	// Source is the mount source ("tmpfs", "proc", "none", a 9P tag).
	Source string
	// SuperOptions are the filesystem's options, starting with "rw" or
	// "ro" ("rw,size=65536k,mode=755").
	SuperOptions string
}

// AuxvProcess may be implemented by a Process that keeps the auxiliary
// vector its program started with; /proc/[pid]/auxv then exists.
type AuxvProcess interface {
	// Auxv returns the auxiliary vector as it was put on the initial
	// stack: (type, value) pairs of 64-bit words ending with AT_NULL.
	Auxv() ([]byte, error)
}
