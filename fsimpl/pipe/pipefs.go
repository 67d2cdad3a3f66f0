package pipe

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/vfs/lock"
)

// nextIno numbers anonymous pipes, as Linux's pipefs does with
// get_next_ino.
var nextIno atomic.Uint64

// NewPair implements pipe2(2): it returns the read and write ends of a
// new anonymous pipe owned by creds' fsuid/fsgid. flags may hold
// O_NONBLOCK (set on both ends) and O_CLOEXEC (which belongs to the
// caller's fd table and is ignored here); O_DIRECT (packet mode) is not
// supported (EINVAL), nor is any other flag.
//
// The VFS has no anonymous dentries, so each pipe is the root of a tiny
// filesystem of its own registered with v: the pipe's st_dev is therefore
// an anonymous device of its own rather than one shared pipefs device.
func NewPair(ctx context.Context, v *vfs.VirtualFilesystem, creds *vfs.Credentials, flags uint32) (r, w *vfs.FileDescription, err error) {
	if flags&^uint32(linux.O_NONBLOCK|linux.O_CLOEXEC) != 0 {
		return nil, nil, unix.EINVAL
	}
	p := NewPipe()
	now := time.Now().UnixNano()
	in := &inode{ino: nextIno.Add(1), pipe: p, atime: now, mtime: now, ctime: now}
	in.mode.Store(linux.S_IFIFO | 0o600)
	in.uid.Store(creds.FSUID)
	in.gid.Store(creds.FSGID)
	ns := v.NewMountNamespace(v.NewFilesystem(&pipeFS{root: in}), vfs.MountFlags{NoExec: true, NoSuid: true, NoDev: true})
	vd := ns.Root()
	defer vd.DecRef()

	p.mu.Lock()
	p.readers, p.writers = 1, 1
	p.rCounter, p.wCounter = 1, 1
	p.mu.Unlock()
	nb := flags & linux.O_NONBLOCK
	rimpl := &FD{pipe: p, reader: true, openNonblock: nb != 0}
	wimpl := &FD{pipe: p, writer: true, wSeen: 1, openNonblock: nb != 0}
	r = vfs.NewFileDescription(rimpl, linux.O_RDONLY|nb, vd, vfs.FileDescriptionOptions{Stream: true})
	w = vfs.NewFileDescription(wimpl, linux.O_WRONLY|nb, vd, vfs.FileDescriptionOptions{Stream: true})
	rimpl.SetFileDescription(r)
	wimpl.SetFileDescription(w)
	return r, w, nil
}

// pipeFS is the filesystem holding one anonymous pipe.
type pipeFS struct {
	root *inode
}

// Root implements vfs.FilesystemImpl.Root.
func (fs *pipeFS) Root() vfs.Inode { return fs.root }

// StatFS implements vfs.FilesystemImpl.StatFS.
func (fs *pipeFS) StatFS(context.Context) (linux.Statfs, error) {
	return linux.Statfs{Type: unix.PIPEFS_MAGIC, BlockSize: pageSize, FragmentSize: pageSize, NameLength: linux.NAME_MAX}, nil
}

// Release implements vfs.FilesystemImpl.Release.
func (fs *pipeFS) Release(context.Context) {}

// inode is an anonymous pipe's inode.
type inode struct {
	ino  uint64
	pipe *Pipe

	mode atomic.Uint32
	uid  atomic.Uint32
	gid  atomic.Uint32
	// mu guards the times.
	mu                  sync.Mutex
	atime, mtime, ctime int64

	locks lock.Locks
}

// Attr implements vfs.Inode.Attr.
func (i *inode) Attr() vfs.InodeAttr {
	return vfs.InodeAttr{Mode: i.mode.Load(), UID: i.uid.Load(), GID: i.gid.Load()}
}

// Stat implements vfs.Inode.Stat: a FIFO of size 0 with one link.
func (i *inode) Stat(context.Context, uint32) (linux.Statx, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return linux.Statx{
		Mask:    linux.STATX_BASIC_STATS &^ linux.STATX_BLOCKS,
		Blksize: pageSize,
		Nlink:   1,
		UID:     i.uid.Load(),
		GID:     i.gid.Load(),
		Mode:    uint16(i.mode.Load()),
		Ino:     i.ino,
		Atime:   linux.NsecToStatxTimestamp(i.atime),
		Mtime:   linux.NsecToStatxTimestamp(i.mtime),
		Ctime:   linux.NsecToStatxTimestamp(i.ctime),
	}, nil
}

// SetStat implements vfs.Inode.SetStat (fchmod, fchown, futimens; a pipe
// has no size to change).
func (i *inode) SetStat(_ context.Context, opts *vfs.SetStatOptions) error {
	m := opts.Stat.Mask
	if m&linux.STATX_SIZE != 0 {
		return unix.EINVAL
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if m&linux.STATX_MODE != 0 {
		i.mode.Store(linux.S_IFIFO | uint32(opts.Stat.Mode)&0o7777)
	}
	if m&linux.STATX_UID != 0 {
		i.uid.Store(opts.Stat.UID)
	}
	if m&linux.STATX_GID != 0 {
		i.gid.Store(opts.Stat.GID)
	}
	if m&linux.STATX_ATIME != 0 {
		i.atime = opts.Stat.Atime.ToNsec()
	}
	if m&linux.STATX_MTIME != 0 {
		i.mtime = opts.Stat.Mtime.ToNsec()
	}
	i.ctime = time.Now().UnixNano()
	return nil
}

// Open implements vfs.Inode.Open: reopening an anonymous pipe (through
// /proc/[pid]/fd/N) gives a new end without the FIFO waits, as in Linux.
func (i *inode) Open(ctx context.Context, _ vfs.VirtualDentry, opts vfs.OpenOptions) (vfs.FileDescriptionImpl, error) {
	return i.pipe.OpenAnonymous(ctx, opts.Flags)
}

// Locks implements vfs.Inode.Locks.
func (i *inode) Locks() *lock.Locks { return &i.locks }

// GetXattr implements vfs.Inode.GetXattr.
func (i *inode) GetXattr(context.Context, string) (string, error) { return "", unix.EOPNOTSUPP }

// SetXattr implements vfs.Inode.SetXattr.
func (i *inode) SetXattr(context.Context, string, string, uint32) error { return unix.EOPNOTSUPP }

// ListXattr implements vfs.Inode.ListXattr.
func (i *inode) ListXattr(context.Context) ([]string, error) { return nil, nil }

// RemoveXattr implements vfs.Inode.RemoveXattr.
func (i *inode) RemoveXattr(context.Context, string) error { return unix.EOPNOTSUPP }
