package kernel

import (
	"encoding/binary"
	"fmt"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/mm"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"golang.org/x/sys/unix"
)

// Clone flags (include/uapi/linux/sched.h).
const (
	CLONE_VM             = 0x00000100
	CLONE_FS             = 0x00000200
	CLONE_FILES          = 0x00000400
	CLONE_SIGHAND        = 0x00000800
	CLONE_PIDFD          = 0x00001000
	CLONE_PTRACE         = 0x00002000
	CLONE_VFORK          = 0x00004000
	CLONE_PARENT         = 0x00008000
	CLONE_THREAD         = 0x00010000
	CLONE_NEWNS          = 0x00020000
	CLONE_SYSVSEM        = 0x00040000
	CLONE_SETTLS         = 0x00080000
	CLONE_PARENT_SETTID  = 0x00100000
	CLONE_CHILD_CLEARTID = 0x00200000
	CLONE_DETACHED       = 0x00400000
	CLONE_UNTRACED       = 0x00800000
	CLONE_CHILD_SETTID   = 0x01000000
	CLONE_NEWCGROUP      = 0x02000000
	CLONE_NEWUTS         = 0x04000000
	CLONE_NEWIPC         = 0x08000000
	CLONE_NEWUSER        = 0x10000000
	CLONE_NEWPID         = 0x20000000
	CLONE_NEWNET         = 0x40000000
	CLONE_IO             = 0x80000000
	// CLONE_CLEAR_SIGHAND and CLONE_INTO_CGROUP exist only for clone3.
	CLONE_CLEAR_SIGHAND = 0x100000000
	CLONE_INTO_CGROUP   = 0x200000000

	cloneNamespaces = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
		CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
)

// DefaultMaxTasks bounds the tasks of one sandbox (Linux's threads-max):
// every task costs a host thread, so a guest fork bomb must stop here even
// when RLIMIT_NPROC does not apply (root).
const DefaultMaxTasks = 4096

// CloneOptions are clone(2)'s arguments.
type CloneOptions struct {
	// Flags are the CLONE_* flags; for clone(2) the low byte is the exit
	// signal, which ExitSignal carries instead.
	Flags      uint64
	ExitSignal linux.Signal
	// Stack, if not 0, is the child's stack pointer.
	Stack uintptr
	// TLS is the child's FS base (CLONE_SETTLS).
	TLS uintptr
	// ParentTID and ChildTID are the CLONE_PARENT_SETTID and
	// CLONE_CHILD_SETTID / CLONE_CHILD_CLEARTID addresses.
	ParentTID uintptr
	ChildTID  uintptr
}

// Clone implements clone(2), fork(2), vfork(2) and clone3(2): it creates
// a task and returns its TID in the caller's PID namespace.
func (t *Task) Clone(opts CloneOptions) (int32, linux.Errno) {
	f := opts.Flags
	switch {
	case f&CLONE_THREAD != 0 && f&CLONE_SIGHAND == 0,
		f&CLONE_SIGHAND != 0 && f&CLONE_VM == 0,
		f&CLONE_FS != 0 && f&CLONE_NEWNS != 0,
		f&CLONE_CLEAR_SIGHAND != 0 && f&CLONE_SIGHAND != 0:
		return 0, unix.EINVAL
	}
	if f&cloneNamespaces != 0 || f&(CLONE_PIDFD|CLONE_INTO_CGROUP) != 0 {
		// New namespaces, pidfds and cgroups are not implemented.
		return 0, unix.EINVAL
	}
	if f&CLONE_THREAD != 0 {
		opts.ExitSignal = 0
	}
	if opts.ExitSignal != 0 && !opts.ExitSignal.Valid() {
		return 0, unix.EINVAL
	}
	k := t.k
	creds := t.Credentials()

	// Check limits before allocating anything.
	k.mu.Lock()
	if t.tg.exiting || t.killed.Load() {
		k.mu.Unlock()
		return 0, linux.ERESTARTNOINTR
	}
	if len(k.tasks) >= k.maxTasks {
		k.mu.Unlock()
		return 0, unix.EAGAIN
	}
	if creds.RealUID != 0 && !creds.HasCapability(unix.CAP_SYS_RESOURCE) && !creds.HasCapability(unix.CAP_SYS_ADMIN) {
		n := uint64(0)
		for _, x := range k.tasks {
			if x.Credentials().RealUID == creds.RealUID {
				n++
			}
		}
		if n >= t.tg.limits.Cur(linux.RLIMIT_NPROC) {
			k.mu.Unlock()
			return 0, unix.EAGAIN
		}
	}
	k.mu.Unlock()

	// The child's register state: the parent's, returning 0.
	if err := t.ctx.PullFPState(t.mm.AddressSpace(), &t.arch.State); err != nil {
		return 0, unix.ENOMEM
	}
	ac := arch.NewContext(append([]byte(nil), t.arch.FP...))
	ac.Regs = t.arch.Regs
	ac.SetReturn(0)
	if opts.Stack != 0 {
		ac.Regs.Rsp = uint64(opts.Stack)
	}
	if f&CLONE_SETTLS != 0 && !ac.SetTLS(opts.TLS) {
		return 0, unix.EPERM
	}

	// Address space.
	var m *mm.MemoryManager
	if f&CLONE_VM != 0 {
		m = t.mm
		m.IncUsers()
	} else {
		as, err := k.platform.NewAddressSpace()
		if err != nil {
			return 0, unix.ENOMEM
		}
		if m, err = t.mm.Fork(as); err != nil {
			as.Release()
			return 0, unix.ENOMEM
		}
	}
	ctx, err := k.platform.NewContext()
	if err != nil {
		m.DecUsers()
		return 0, unix.EAGAIN
	}

	// Files and fs context.
	var fdTable *vfs.FDTable
	var fsc *FSContext
	var limits *LimitSet
	if f&CLONE_THREAD != 0 {
		limits = t.tg.limits
	} else {
		limits = t.tg.limits.Copy()
	}
	if f&CLONE_FILES != 0 {
		fdTable = t.fdTable
		fdTable.IncUsers()
	} else {
		fdTable = t.fdTable.Fork(func() uint64 { return limits.Cur(linux.RLIMIT_NOFILE) })
	}
	if f&CLONE_FS != 0 {
		fsc = t.fsc
		fsc.incUsers()
	} else {
		fsc = t.fsc.Fork()
	}
	release := func() {
		ctx.Release()
		m.DecUsers()
		fdTable.DecUsers(t.Ctx())
		fsc.decUsers()
	}

	k.mu.Lock()
	if t.tg.exiting || t.killed.Load() {
		k.mu.Unlock()
		release()
		return 0, linux.ERESTARTNOINTR
	}
	tg := t.tg
	if f&CLONE_THREAD == 0 {
		handlers := t.tg.handlers
		if f&CLONE_SIGHAND == 0 {
			handlers = handlers.copy()
		}
		if f&CLONE_CLEAR_SIGHAND != 0 {
			handlers = handlers.resetForExec()
		}
		tg = newThreadGroup(k, limits, handlers)
		tg.exitSignal = opts.ExitSignal
		tg.parent = t.tg
		if f&CLONE_PARENT != 0 {
			tg.parent = t.tg.parent
		}
		tg.pgid, tg.sid = t.tg.pgid, t.tg.sid
		tg.noNewPrivs = t.tg.noNewPrivs
		tg.dumpable = t.tg.dumpable
	}
	child := newTask(k, tg, m, ctx, ac, fdTable, fsc, creds)
	child.name = t.name
	child.personality = t.personality
	child.sched = t.SchedAttr().forChild()
	child.sigMask = t.sigMask
	if f&CLONE_VM == 0 || f&CLONE_VFORK != 0 {
		child.altStack = t.altStack
	}
	tid, err := k.allocTIDLocked(child)
	if err != nil {
		k.mu.Unlock()
		release()
		return 0, unix.EAGAIN
	}
	child.tid = tid
	if f&CLONE_THREAD == 0 {
		tg.pid = tid
		tg.leader = child
		if tg.exe = t.tg.exe; tg.exe.Ok() {
			tg.exe.IncRef()
		}
		k.threadGroups[tid] = tg
		if tg.parent != nil {
			tg.parent.children[tg] = struct{}{}
		}
	}
	tg.tasks = append(tg.tasks, child)
	k.mu.Unlock()

	var tidBytes [4]byte
	binary.LittleEndian.PutUint32(tidBytes[:], uint32(tid))
	if f&CLONE_PARENT_SETTID != 0 {
		// Linux ignores a fault here (the child exists by now).
		_, _ = t.mm.CopyOut(opts.ParentTID, tidBytes[:])
	}
	if f&CLONE_CHILD_SETTID != 0 {
		_, _ = m.CopyOut(opts.ChildTID, tidBytes[:])
	}
	if f&CLONE_CHILD_CLEARTID != 0 {
		child.clearTID = opts.ChildTID
	}
	var vforkDone chan struct{}
	if f&CLONE_VFORK != 0 {
		vforkDone = make(chan struct{})
		child.vforkDone = vforkDone
	}
	child.Start()
	if vforkDone != nil {
		// The parent sleeps until the child execs or exits; only a
		// kill ends the wait early.
		select {
		case <-vforkDone:
		case <-t.killedCh:
		}
	}
	return tid, 0
}

// allocTIDLocked returns a new thread ID and registers t under it. k.mu
// must be held.
func (k *Kernel) allocTIDLocked(t *Task) (int32, error) {
	for range pidMax {
		tid := k.nextTID
		k.nextTID++
		if k.nextTID >= pidMax {
			k.nextTID = 2
		}
		if _, used := k.tasks[tid]; used {
			continue
		}
		if _, used := k.threadGroups[tid]; used {
			continue
		}
		if k.pgidInUseLocked(tid) {
			continue
		}
		k.tasks[tid] = t
		k.forks++
		k.lastPID = tid
		return tid, nil
	}
	return 0, fmt.Errorf("kernel: out of thread IDs")
}

// pgidInUseLocked reports whether id names a live process group or
// session, which a new PID must not reuse.
func (k *Kernel) pgidInUseLocked(id int32) bool {
	for _, tg := range k.threadGroups {
		if tg.pgid == id || tg.sid == id {
			return true
		}
	}
	return false
}
