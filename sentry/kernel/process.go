package kernel

import (
	"context"
	"fmt"
	"github.com/palisade-sandbox/palisade/fsimpl/host"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"golang.org/x/sys/unix"
	"io"
	"path/filepath"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
)

// CreateProcessArgs describes the first process of a sandbox.
type CreateProcessArgs struct {
	// File is the executable, Size its length. If File is nil, Filename
	// is opened in the kernel's VFS (from WorkingDirectory if relative).
	File io.ReaderAt
	Size int64
	// Filename is the path it was found at (AT_EXECFN, argv[0] default).
	Filename string
	Argv     []string
	Envv     []string
	// WorkingDirectory is the initial cwd, resolved from the kernel's
	// root ("/" if empty).
	WorkingDirectory string
	// Umask is the initial file mode creation mask.
	Umask uint32
	// Files are installed as fds 0, 1, 2, ... (nil entries are skipped);
	// the fd table takes its own reference on each. If Files is nil, the
	// kernel's host stdio (Config.Stdio) become fds 0-2.
	Files []*vfs.FileDescription
	// Credentials are the process's user and groups (root with every
	// capability if nil). The process gets its own copy.
	Credentials *vfs.Credentials
	// Limits are its resource limits (DefaultLimits if nil); the
	// process gets its own copy.
	Limits *LimitSet
}

// CreateProcess loads a program into a new address space and returns its
// thread group with one task, not yet started (see Task.Start). Its parent
// is outside the sandbox.
func (k *Kernel) CreateProcess(args CreateProcessArgs) (*ThreadGroup, error) {
	limits := DefaultLimits()
	if args.Limits != nil {
		limits = args.Limits.Copy()
	}
	fsc, fdTable, err := k.initialFiles(&args, limits)
	if err != nil {
		return nil, err
	}
	creds := vfs.RootCredentials()
	if args.Credentials != nil {
		c := *args.Credentials
		c.Groups = append([]uint32(nil), c.Groups...)
		creds = &c
	}
	release := func() {
		fdTable.RemoveAll(context.Background())
		fsc.Release()
	}
	p := k.platform
	root, cwd := fsc.Root(), fsc.WorkingDirectory()
	opener := &vfsOpener{v: k.vfs, root: root, cwd: cwd, creds: creds}
	defer opener.release()
	img, err := k.loadImage(imageArgs{
		File:     args.File,
		Size:     args.Size,
		Filename: args.Filename,
		Argv:     args.Argv,
		Envv:     args.Envv,
		opener:   opener,
		creds:    creds,
		limits:   limits,
	})
	root.DecRef()
	cwd.DecRef()
	if err != nil {
		release()
		return nil, err
	}
	m, res := img.mm, img.res
	m.SetArgvEnv(res.ArgvStart, res.ArgvEnd, res.EnvvStart, res.EnvvEnd)
	ctx, err := p.NewContext()
	if err != nil {
		m.DecUsers()
		release()
		return nil, fmt.Errorf("creating platform context: %w", err)
	}
	ac := arch.NewContext(p.InitialFPState())
	ac.SetInitialRegs(res.Entry, res.StackPointer)

	tg := newThreadGroup(k, limits, &SignalHandlers{})
	tg.exitSignal = 0
	tg.exe = opener.takeExe(res.Executable)
	t := newTask(k, tg, m, ctx, ac, fdTable, fsc, creds)
	t.name = commName(res.Executable)
	t.exe = res.Executable
	k.mu.Lock()
	tid, err := k.allocTIDLocked(t)
	if err != nil {
		k.mu.Unlock()
		ctx.Release()
		m.DecUsers()
		release()
		return nil, err
	}
	t.tid = tid
	tg.pid = tid
	tg.pgid, tg.sid = tid, tid
	tg.leader = t
	tg.tasks = []*Task{t}
	k.threadGroups[tg.pid] = tg
	k.mu.Unlock()
	return tg, nil
}

// initialFiles builds the first process's fs context (root and cwd) and
// fd table, whose size RLIMIT_NOFILE of limits bounds.
func (k *Kernel) initialFiles(args *CreateProcessArgs, limits *LimitSet) (*FSContext, *vfs.FDTable, error) {
	ctx := context.Background()
	cwd := k.root
	if args.WorkingDirectory != "" && args.WorkingDirectory != "/" {
		vd, err := k.vfs.GetDentryAt(ctx, vfs.RootCredentials(), &vfs.PathOperation{
			Root: k.root, Start: k.root, Path: args.WorkingDirectory, FollowFinalSymlink: true,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("working directory %s: %w", args.WorkingDirectory, err)
		}
		defer vd.DecRef()
		cwd = vd
	}
	files := args.Files
	if files == nil {
		stdio, err := k.hostStdioFiles()
		if err != nil {
			return nil, nil, err
		}
		defer func() {
			for _, f := range stdio {
				f.DecRef(ctx)
			}
		}()
		files = stdio
	}
	fsc := NewFSContext(k.root, cwd, args.Umask)
	fdTable := vfs.NewFDTable(func() uint64 { return limits.Cur(linux.RLIMIT_NOFILE) })
	for i, f := range files {
		if f == nil {
			continue
		}
		if err := fdTable.NewFDAt(ctx, int32(i), f, vfs.FDFlags{}); err != nil {
			fdTable.RemoveAll(ctx)
			fsc.Release()
			return nil, nil, fmt.Errorf("installing fd %d: %w", i, err)
		}
	}
	return fsc, fdTable, nil
}

// hostStdioFiles wraps duplicates of the kernel's host stdio as files.
func (k *Kernel) hostStdioFiles() ([]*vfs.FileDescription, error) {
	var files []*vfs.FileDescription
	fail := func(err error) ([]*vfs.FileDescription, error) {
		for _, f := range files {
			f.DecRef(context.Background())
		}
		return nil, err
	}
	for i, hfd := range k.stdio {
		dup, err := unix.FcntlInt(uintptr(hfd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return fail(fmt.Errorf("duplicating host stdio fd %d: %w", hfd, err))
		}
		f, err := host.NewFD(k.vfs, dup, host.Options{})
		if err != nil {
			unix.Close(dup)
			return fail(fmt.Errorf("wrapping host stdio fd %d as guest fd %d: %w", hfd, i, err))
		}
		files = append(files, f)
	}
	return files, nil
}

// commName returns the command name of an executable path: its base
// name, truncated as Linux truncates comm.
func commName(path string) string {
	name := filepath.Base(path)
	if len(name) > taskCommLen-1 {
		name = name[:taskCommLen-1]
	}
	return name
}
