package proc

import (
	"context"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// task names what a /proc/[pid] or /proc/[pid]/task/[tid] directory
// shows: tid is 0 for the whole process.
type task struct {
	fs  *Filesystem
	pid int32
	tid int32
}

// process returns the process, or ENOENT once it (or, for a thread
// directory, the thread) is gone.
func (t task) process() (Process, error) {
	p := t.fs.k.Process(t.pid)
	if p == nil {
		return nil, unix.ENOENT
	}
	if t.tid != 0 {
		if _, ok := p.Task(t.tid); !ok {
			return nil, unix.ENOENT
		}
	}
	return p, nil
}

// ids implements owner.ids: the task's files belong to the process's
// effective user and group.
func (t task) ids() (uint32, uint32, error) {
	p, err := t.process()
	if err != nil {
		return 0, 0, err
	}
	uid, gid := p.Owner()
	return uid, gid, nil
}

// stamp implements owner.stamp: the thread's or process's start time.
func (t task) stamp() time.Time {
	p := t.fs.k.Process(t.pid)
	if p == nil {
		return time.Time{}
	}
	if t.tid != 0 {
		ti, _ := p.Task(t.tid)
		return ti.StartTime
	}
	return p.Info().StartTime
}

// path returns the inode-number path of the task's file name.
func (t task) path(name ...string) uint64 {
	parts := []string{strconv.Itoa(int(t.pid))}
	if t.tid != 0 {
		parts = append(parts, "task", strconv.Itoa(int(t.tid)))
	}
	return inoOf(append(parts, name...)...)
}

// inspect fails with EACCES unless the caller may inspect the process.
func (t task) inspect(ctx context.Context) error {
	if !t.fs.k.MayInspect(ctx, t.pid) {
		return unix.EACCES
	}
	return nil
}

// info returns the process snapshot and, for a thread directory, the
// thread's snapshot in the embedded TaskInfo (the view its stat, status
// and comm show).
func (t task) info() (ProcessInfo, error) {
	p, err := t.process()
	if err != nil {
		return ProcessInfo{}, err
	}
	info := p.Info()
	if t.tid != 0 {
		ti, ok := p.Task(t.tid)
		if !ok {
			return ProcessInfo{}, unix.ENOENT
		}
		info.TaskInfo = ti
	}
	return info, nil
}

// entries are the files of the task's directory in listing order.
func (t task) entries() static {
	fs := t.fs
	file := func(name string, perm uint32, gen func(context.Context) ([]byte, error), check func(context.Context) error) func() vfs.Inode {
		return func() vfs.Inode {
			f := fs.newFile(t.path(name), perm, t, gen)
			f.check = check
			return f
		}
	}
	link := func(name string, text func(context.Context) (string, error), jump func(context.Context) (vfs.VirtualDentry, error)) func() vfs.Inode {
		return func() vfs.Inode { return fs.newMagicLink(t.path(name), 0o777, t, t.pid, text, jump) }
	}
	s := static{
		{"cmdline", file("cmdline", 0o444, t.cmdline, nil)},
		{"comm", file("comm", 0o644, t.comm, nil)},
		{"cwd", link("cwd", t.dentryText(Process.Cwd), t.dentry(Process.Cwd))},
		{"environ", file("environ", 0o400, t.environ, t.inspect)},
		{"exe", link("exe", t.dentryText(Process.Exe), t.dentry(Process.Exe))},
		{"fd", func() vfs.Inode { return t.fdDir() }},
		{"fdinfo", func() vfs.Inode { return t.fdinfoDir() }},
		{"limits", file("limits", 0o444, t.limits, nil)},
		{"maps", file("maps", 0o444, t.maps, t.inspect)},
		{"mountinfo", file("mountinfo", 0o444, t.mountinfo, nil)},
		{"mounts", file("mounts", 0o444, t.mounts, nil)},
		{"root", link("root", t.dentryText(Process.Root), t.dentry(Process.Root))},
		{"stat", file("stat", 0o444, t.stat, nil)},
		{"statm", file("statm", 0o444, t.statm, nil)},
		{"status", file("status", 0o444, t.status, nil)},
	}
	if p, err := t.process(); err == nil {
		if _, ok := p.(AuxvProcess); ok {
			s = append(static{{"auxv", file("auxv", 0o400, t.auxv, t.inspect)}}, s...)
		}
	}
	if t.tid == 0 {
		s = append(s, staticEntry{"task", func() vfs.Inode { return t.taskDir() }})
	}
	return s
}

// dir returns the task's directory: dr-xr-xr-x, owned by the process.
func (t task) dir(parentIno uint64) *dirNode {
	entries := t.entries()
	return t.fs.newDir(t.path(), parentIno, 0o555, t,
		func(context.Context) ([]dirent, error) { return entries.entries(), nil },
		func(_ context.Context, name string) (vfs.Inode, error) {
			if in := entries.find(name); in != nil {
				return in, nil
			}
			return nil, unix.ENOENT
		})
}

// processDir returns /proc/[pid].
func (fs *Filesystem) processDir(pid int32) *dirNode {
	return task{fs: fs, pid: pid}.dir(rootIno)
}

// taskDir returns /proc/[pid]/task, listing the process's threads.
func (t task) taskDir() *dirNode {
	return t.fs.newDir(t.path("task"), t.path(), 0o555, t,
		func(context.Context) ([]dirent, error) {
			p, err := t.process()
			if err != nil {
				return nil, err
			}
			var out []dirent
			for _, tid := range p.TIDs() {
				th := task{fs: t.fs, pid: t.pid, tid: tid}
				out = append(out, dirent{name: strconv.Itoa(int(tid)), typ: linux.DT_DIR, ino: th.path()})
			}
			return out, nil
		},
		func(_ context.Context, name string) (vfs.Inode, error) {
			tid, ok := parseID(name)
			if !ok {
				return nil, unix.ENOENT
			}
			th := task{fs: t.fs, pid: t.pid, tid: tid}
			if _, err := th.process(); err != nil {
				return nil, err
			}
			return th.dir(t.path("task")), nil
		})
}

// dentry returns a magic link's jump for one of Process's Exe, Cwd and
// Root.
func (t task) dentry(get func(Process) (vfs.VirtualDentry, error)) func(context.Context) (vfs.VirtualDentry, error) {
	return func(context.Context) (vfs.VirtualDentry, error) {
		p, err := t.process()
		if err != nil {
			return vfs.VirtualDentry{}, err
		}
		return get(p)
	}
}

// dentryText returns a magic link's readlink text for one of Process's
// Exe, Cwd and Root.
func (t task) dentryText(get func(Process) (vfs.VirtualDentry, error)) func(context.Context) (string, error) {
	jump := t.dentry(get)
	return func(ctx context.Context) (string, error) {
		vd, err := jump(ctx)
		if err != nil {
			return "", err
		}
		defer vd.DecRef()
		return t.fs.linkText(ctx, vd), nil
	}
}

// callerRoot returns the calling task's root with a reference, or a
// zero VirtualDentry (paths are then absolute from the top of the mount
// tree).
func (fs *Filesystem) callerRoot(ctx context.Context) vfs.VirtualDentry {
	pid, _, ok := fs.k.Caller(ctx)
	if !ok {
		return vfs.VirtualDentry{}
	}
	p := fs.k.Process(pid)
	if p == nil {
		return vfs.VirtualDentry{}
	}
	root, err := p.Root()
	if err != nil {
		return vfs.VirtualDentry{}
	}
	return root
}

// Pseudo-filesystem magics for linkText.
const (
	pipefsMagic    = 0x50495045
	sockfsMagic    = 0x534f434b
	anonInodeMagic = 0x09041934
)

// AnonNamer may be implemented by the vfs.Inode, or the
// vfs.FileDescriptionImpl, of a file that has no path (an eventfd, an
// epoll instance): ProcName returns what readlink of /proc/[pid]/fd/N
// shows for it, e.g. "anon_inode:[eventfd]". Files of pipefs and sockfs
// (by statfs magic) without it show "pipe:[ino]" and "socket:[ino]".
type AnonNamer interface {
	ProcName() string
}

// linkText is what readlink of a magic link to vd shows: the path of vd
// from the caller's root, " (deleted)" appended if it was unlinked, or
// the pseudo name of a pipe, socket or anonymous file.
func (fs *Filesystem) linkText(ctx context.Context, vd vfs.VirtualDentry) string {
	if n, ok := vd.Dentry.Inode().(AnonNamer); ok {
		return n.ProcName()
	}
	if sf, err := vd.Dentry.Filesystem().Impl().StatFS(ctx); err == nil {
		prefix := ""
		switch sf.Type {
		case pipefsMagic:
			prefix = "pipe"
		case sockfsMagic:
			prefix = "socket"
		case anonInodeMagic:
			prefix = "anon_inode"
		}
		if prefix != "" {
			st, err := vd.Dentry.Inode().Stat(ctx, linux.STATX_INO)
			if err == nil {
				return prefix + ":[" + strconv.FormatUint(st.Ino, 10) + "]"
			}
		}
	}
	root := fs.callerRoot(ctx)
	if root.Ok() {
		defer root.DecRef()
	}
	return fs.vfs.PathnameWithDeleted(root, vd)
}
