package kernel

import (
	"errors"
	"fmt"
	"io"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/loader"
	"github.com/palisade-sandbox/palisade/sentry/mm"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"golang.org/x/sys/unix"
)

// Exec
//
// execve loads the new image into a fresh address space first, while the
// old one still runs, so that any failure (no such file, bad ELF, no
// memory) returns an error to an intact caller. Past that point it cannot
// fail: the group's other tasks are killed and waited for, a non-leader
// caller takes over the leader's TID, the new address space replaces the
// old one, close-on-exec files are closed (after unsharing a table shared
// with another process), caught signals return to their default action,
// and the registers are set to the new program's entry.

// image is a program loaded into a new address space.
type image struct {
	mm  *mm.MemoryManager
	res *loader.Result
}

// imageArgs say what loadImage loads.
type imageArgs struct {
	// File and Size give the executable directly (the first process),
	// else Filename is opened by opener.
	File     io.ReaderAt
	Size     int64
	Filename string
	Argv     []string
	Envv     []string
	opener   loader.FileOpener
	creds    *vfs.Credentials
	limits   *LimitSet
	// noRandomize turns address-space randomization off for this image
	// (personality ADDR_NO_RANDOMIZE).
	noRandomize bool
}

// loadImage loads a program into a new address space.
func (k *Kernel) loadImage(a imageArgs) (*image, error) {
	p := k.platform
	as, err := p.NewAddressSpace()
	if err != nil {
		return nil, fmt.Errorf("creating address space: %w", err)
	}
	m := mm.New(k.mf, as, p.MinUserAddress(), p.MaxUserAddress())
	stack := uintptr(0)
	if s := a.limits.Cur(linux.RLIMIT_STACK); s != linux.RLimInfinity && s < 1<<40 {
		stack = uintptr(s)
	}
	res, err := loader.Load(loader.LoadArgs{
		File:        a.File,
		Size:        a.Size,
		Filename:    a.Filename,
		Opener:      a.opener,
		Argv:        a.Argv,
		Envv:        a.Envv,
		MM:          m,
		FPStateSize: p.FPStateSize(),
		HWCap:       arch.HWCap(),
		HWCap2:      arch.HWCap2(),
		Creds: loader.Credentials{
			UID: a.creds.RealUID, EUID: a.creds.EffectiveUID,
			GID: a.creds.RealGID, EGID: a.creds.EffectiveGID,
		},
		StackSize: stack,
		Randomize: k.randomize && !a.noRandomize,
	})
	if err != nil {
		m.DecUsers()
		return nil, err
	}
	return &image{mm: m, res: res}, nil
}

// ExecArgs are execve(2)'s arguments, already copied in.
type ExecArgs struct {
	// Filename is resolved from Dir (the cwd if Dir is not Ok); with
	// File set (execveat with AT_EMPTY_PATH) the file is used instead.
	Filename string
	Dir      vfs.VirtualDentry
	File     *vfs.FileDescription
	// NoFollow refuses a final symlink (AT_SYMLINK_NOFOLLOW).
	NoFollow bool
	Argv     []string
	Envv     []string
}

// Execve implements execve(2) and execveat(2). On success the task runs
// the new program when it next returns to the guest.
func (t *Task) Execve(a ExecArgs) linux.Errno {
	k := t.k
	root := t.fsc.Root()
	defer root.DecRef()
	start := a.Dir
	if !start.Ok() {
		start = t.fsc.WorkingDirectory()
		defer start.DecRef()
	}
	creds := t.Credentials()
	opener := &vfsOpener{ctx: t.Ctx(), v: k.vfs, root: root, cwd: start, creds: creds, noFollow: a.NoFollow}
	defer opener.release()
	ia := imageArgs{Filename: a.Filename, Argv: a.Argv, Envv: a.Envv, opener: opener, creds: creds, limits: t.tg.limits,
		noRandomize: t.personality&addrNoRandomize != 0}
	if a.File != nil {
		a.File.IncRef()
		ef, err := opener.checkExecutable(a.File)
		if err != nil {
			a.File.DecRef(t.Ctx())
			return execErrno(err)
		}
		defer ef.Close()
		ia.File, ia.Size = ef, ef.size
		opener.opened++
	}
	img, err := k.loadImage(ia)
	if err != nil {
		return execErrno(err)
	}
	exe := opener.takeExe(img.res.Executable)
	if !exe.Ok() && a.File != nil {
		exe = a.File.VirtualDentry()
		exe.IncRef()
	}

	// The point of no return: the other tasks of the group go.
	if !t.becomeSoleTask() {
		img.mm.DecUsers()
		if exe.Ok() {
			exe.DecRef()
		}
		return linux.ERESTARTNOINTR
	}
	t.releaseFutexes()

	k.mu.Lock()
	old := t.mm
	t.mm = img.mm
	t.name = commName(img.res.Executable)
	fdTable := t.fdTable
	if fdTable.Shared() {
		limits := t.tg.limits
		t.fdTable = fdTable.Fork(func() uint64 { return limits.Cur(linux.RLIMIT_NOFILE) })
	}
	t.tg.handlers = t.tg.handlers.resetForExec()
	t.tg.execing = nil
	t.tg.didExec = true
	oldExe := t.tg.exe
	t.tg.exe = exe
	k.mu.Unlock()
	if oldExe.Ok() {
		oldExe.DecRef()
	}
	if t.fdTable != fdTable {
		fdTable.DecUsers(t.Ctx())
	}
	old.DecUsers()
	t.tg.timers.ExecReset()
	t.fdTable.RemoveOnExec(t.Ctx())

	t.altStack = linux.SignalStack{Flags: linux.SS_DISABLE}
	t.restartBlock = nil
	t.lastFault = arch.SignalFault{}
	t.arch.Regs = linux.PtraceRegs{}
	copy(t.arch.FP, k.platform.InitialFPState())
	t.arch.SetInitialRegs(img.res.Entry, img.res.StackPointer)
	t.mm.SetArgvEnv(img.res.ArgvStart, img.res.ArgvEnd, img.res.EnvvStart, img.res.EnvvEnd)
	t.exe = img.res.Executable
	if t.vforkDone != nil {
		close(t.vforkDone)
		t.vforkDone = nil
	}
	return 0
}

// becomeSoleTask kills the group's other tasks and waits until they are
// gone; a non-leader caller then takes the leader's TID. It returns false
// if the caller itself is being killed (another exec or exit_group won).
func (t *Task) becomeSoleTask() bool {
	k := t.k
	k.mu.Lock()
	tg := t.tg
	if tg.exiting || t.killed.Load() || (tg.execing != nil && tg.execing != t) {
		k.mu.Unlock()
		return false
	}
	tg.execing = t
	for _, x := range tg.tasks {
		if x != t {
			x.kill()
		}
	}
	for len(tg.tasks) > 1 {
		ch := tg.childEvent
		k.mu.Unlock()
		select {
		case <-ch:
		case <-t.killedCh:
			k.mu.Lock()
			tg.execing = nil
			k.mu.Unlock()
			return false
		}
		k.mu.Lock()
	}
	if tg.leader != t {
		old := tg.leader
		delete(k.tasks, t.tid)
		if k.tasks[tg.pid] == old {
			delete(k.tasks, tg.pid)
		}
		t.tid = tg.pid
		k.tasks[t.tid] = t
		tg.leader = t
	}
	k.mu.Unlock()
	return true
}

// execErrno maps a loader or VFS error to execve's errno (the loader's
// errors match theirs with errors.Is).
func execErrno(err error) linux.Errno {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno
	}
	for _, e := range []unix.Errno{unix.ENOEXEC, unix.ELIBBAD, unix.E2BIG, unix.ENOENT, unix.EACCES, unix.ENOMEM, unix.EIO} {
		if errors.Is(err, e) {
			return e
		}
	}
	return unix.EIO
}
