// Package kernel holds the Sentry's process model: the Kernel (the platform,
// the memory file, clocks, UTS names and the syscall table), thread groups
// (processes) and tasks (threads).
//
// Each task runs on its own goroutine locked to one OS thread for its whole
// life, because the platform binds a guest thread to the host thread that
// traces it. The task loop switches into the guest with
// platform.Context.Switch and handles what comes back: a system call is
// dispatched through the SyscallTable and its result written to rax (a
// negated errno on failure); a fault goes to the task's MemoryManager, which
// maps the page in (demand paging) or declines, in which case the task's
// thread group dies of the signal, as with an unhandled signal; an
// interruption means another goroutine wants the task to stop (exit_group,
// a kill) and the loop checks for it.
//
// Signal handlers, clone and wait come in later changes; the structures
// (a Task with its own platform.Context and register state, a ThreadGroup
// with a task list and one exit status) are shaped for them.
package kernel

import (
	"fmt"
	"github.com/palisade-sandbox/palisade/fsimpl/tmpfs"
	"github.com/palisade-sandbox/palisade/sentry/kernel/futex"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"sync"
	"time"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/pgalloc"
)

// Default UTS values.
const (
	DefaultSysname  = "Linux"
	DefaultNodename = "palisade"
	DefaultRelease  = "6.12.0"
	DefaultVersion  = "#1 SMP Palisade"
	DefaultMachine  = "x86_64"
	DefaultDomain   = "(none)"
)

// Config configures a Kernel.
type Config struct {
	// Platform runs guest code.
	Platform platform.Platform
	// MemoryFile holds guest memory.
	MemoryFile *pgalloc.MemoryFile
	// SyscallTable serves system calls.
	SyscallTable *SyscallTable
	// Hostname, Release and Version override the UTS defaults.
	Hostname string
	Release  string
	Version  string
	// Stdio are the host descriptors behind guest fds 0, 1 and 2.
	Stdio [3]int
	// Tracer, if set, sees every system call after it returns (--strace).
	Tracer SyscallTracer
	// Randomize enables address-space layout randomization.
	Randomize bool
	// VFS holds the sandbox's filesystems. If nil, the kernel makes one
	// whose root is an empty tmpfs.
	VFS *vfs.VirtualFilesystem
	// MaxTasks bounds the tasks of the sandbox (DefaultMaxTasks if 0).
	MaxTasks int
	// Root is the root directory of the first process; it must belong
	// to VFS. If VFS is nil it is ignored.
	Root vfs.VirtualDentry
}

// SyscallTracer observes system calls.
type SyscallTracer interface {
	// SyscallExit is called after the handler of syscall nr returns
	// (rval on success, errno otherwise). If the call ended the task
	// (exit, exit_group), t.Exiting() reports true.
	SyscallExit(t *Task, nr uintptr, args *arch.SyscallArguments, rval uintptr, errno linux.Errno)
}

// Kernel is one sandbox's kernel.
type Kernel struct {
	platform     platform.Platform
	mf           *pgalloc.MemoryFile
	syscallTable *SyscallTable
	tracer       SyscallTracer
	stdio        [3]int
	randomize    bool

	// vfs and root are fixed after New; the kernel holds a reference on
	// root.
	vfs  *vfs.VirtualFilesystem
	root vfs.VirtualDentry

	// futexes serves futex(2) for every address space.
	futexes *futex.Manager

	// uts is fixed after New.
	uts linux.Utsname

	// bootTime anchors CLOCK_MONOTONIC and CLOCK_BOOTTIME.
	bootTime time.Time

	// maxTasks bounds the number of tasks (threads-max).
	maxTasks int

	// mu guards nextTID, tasks, threadGroups and initReaped, and every
	// field of tasks and thread groups documented as guarded by the
	// kernel: the process tree, sessions and process groups, and all
	// signal state.
	mu           sync.Mutex
	nextTID      int32
	tasks        map[int32]*Task
	threadGroups map[int32]*ThreadGroup
	// forks counts tasks created; lastPID is the last ID allocated.
	forks   uint64
	lastPID int32
	// initReaped is init's group after it exited, until the rest of the
	// sandbox is gone.
	initReaped *ThreadGroup
}

// New returns a kernel.
func New(cfg Config) (*Kernel, error) {
	if cfg.Platform == nil || cfg.MemoryFile == nil || cfg.SyscallTable == nil {
		return nil, fmt.Errorf("kernel: platform, memory file and syscall table are required")
	}
	k := &Kernel{
		platform:     cfg.Platform,
		mf:           cfg.MemoryFile,
		syscallTable: cfg.SyscallTable,
		tracer:       cfg.Tracer,
		stdio:        cfg.Stdio,
		randomize:    cfg.Randomize,
		uts: linux.Utsname{
			Sysname:    DefaultSysname,
			Nodename:   DefaultNodename,
			Release:    DefaultRelease,
			Version:    DefaultVersion,
			Machine:    DefaultMachine,
			Domainname: DefaultDomain,
		},
		bootTime:     time.Now(),
		futexes:      futex.NewManager(),
		nextTID:      1,
		maxTasks:     DefaultMaxTasks,
		tasks:        make(map[int32]*Task),
		threadGroups: make(map[int32]*ThreadGroup),
	}
	if cfg.MaxTasks > 0 {
		k.maxTasks = cfg.MaxTasks
	}
	if cfg.Hostname != "" {
		k.uts.Nodename = cfg.Hostname
	}
	if cfg.Release != "" {
		k.uts.Release = cfg.Release
	}
	if cfg.Version != "" {
		k.uts.Version = cfg.Version
	}
	if cfg.VFS != nil {
		if !cfg.Root.Ok() {
			return nil, fmt.Errorf("kernel: a VFS needs a root directory")
		}
		k.vfs, k.root = cfg.VFS, cfg.Root
		k.root.IncRef()
	} else {
		k.vfs = vfs.New()
		ns := k.vfs.NewMountNamespace(k.vfs.NewFilesystem(tmpfs.New(tmpfs.Options{})), vfs.MountFlags{})
		k.root = ns.Root()
	}
	for _, s := range []string{k.uts.Nodename, k.uts.Release, k.uts.Version} {
		if len(s) >= linux.UTSLen {
			return nil, fmt.Errorf("kernel: UTS name %q longer than %d bytes", s, linux.UTSLen-1)
		}
	}
	return k, nil
}

// VFS returns the sandbox's virtual filesystem.
func (k *Kernel) VFS() *vfs.VirtualFilesystem { return k.vfs }

// Platform returns the platform.
func (k *Kernel) Platform() platform.Platform { return k.platform }

// MemoryFile returns the memory file.
func (k *Kernel) MemoryFile() *pgalloc.MemoryFile { return k.mf }

// SyscallTable returns the syscall table.
func (k *Kernel) SyscallTable() *SyscallTable { return k.syscallTable }

// Utsname returns the UTS names uname(2) reports.
func (k *Kernel) Utsname() linux.Utsname { return k.uts }

// HostStdio returns the host descriptor behind guest fd 0, 1 or 2.
func (k *Kernel) HostStdio(fd int) int { return k.stdio[fd] }

// MonotonicNanos returns CLOCK_MONOTONIC: time since the kernel booted.
func (k *Kernel) MonotonicNanos() int64 { return int64(time.Since(k.bootTime)) }

// RealtimeNanos returns CLOCK_REALTIME.
func (k *Kernel) RealtimeNanos() int64 { return time.Now().UnixNano() }

// Tracer returns the syscall tracer, or nil.
func (k *Kernel) Tracer() SyscallTracer { return k.tracer }

// pidMax bounds PIDs (Linux's default pid_max on 64-bit).
const pidMax = 1 << 22

// TaskByTID returns the live task with thread ID tid, or nil.
func (k *Kernel) TaskByTID(tid int32) *Task {
	k.mu.Lock()
	defer k.mu.Unlock()
	t := k.tasks[tid]
	if t == nil || t.tg.zombie {
		return nil
	}
	return t
}

// ThreadGroupByPID returns the process with ID pid (a zombie included),
// or nil.
func (k *Kernel) ThreadGroupByPID(pid int32) *ThreadGroup {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.threadGroups[pid]
}

// ThreadGroups returns every process, zombies included, in no order.
func (k *Kernel) ThreadGroups() []*ThreadGroup {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]*ThreadGroup, 0, len(k.threadGroups))
	for _, tg := range k.threadGroups {
		out = append(out, tg)
	}
	return out
}

// NumTasks returns the number of tasks, zombie leaders included.
func (k *Kernel) NumTasks() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.tasks)
}
