// Package anon provides anonymous files: descriptions with no name in any
// filesystem (eventfd, epoll, signalfd, timerfd), which /proc/[pid]/fd shows
// as "anon_inode:NAME". The VFS has no anonymous dentries, so each such
// file is the root of a one-file filesystem.
package anon

import (
	"context"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/vfs/lock"
)

// anonInodeMagic is ANON_INODE_FS_MAGIC, the st_f_type of anonymous files.
const anonInodeMagic = 0x09041934

// nextIno numbers anonymous inodes.
var nextIno atomic.Uint64

// NewVD returns a dentry for an anonymous file called name (what
// /proc/[pid]/fd shows as "anon_inode:name"). The VFS has no anonymous
// dentries, so each file is the root of a one-file filesystem. The
// caller drops the returned reference.
func NewVD(v *vfs.VirtualFilesystem, creds *vfs.Credentials, name string) vfs.VirtualDentry {
	in := &anonInode{ino: nextIno.Add(1), name: name, uid: creds.FSUID, gid: creds.FSGID}
	ns := v.NewMountNamespace(v.NewFilesystem(&anonFS{root: in}), vfs.MountFlags{NoExec: true, NoSuid: true, NoDev: true})
	return ns.Root()
}

// anonFS holds one anonymous inode.
type anonFS struct{ root *anonInode }

// Root implements vfs.FilesystemImpl.Root.
func (fs *anonFS) Root() vfs.Inode { return fs.root }

// StatFS implements vfs.FilesystemImpl.StatFS.
func (fs *anonFS) StatFS(context.Context) (linux.Statfs, error) {
	return linux.Statfs{Type: anonInodeMagic, BlockSize: 4096, FragmentSize: 4096, NameLength: linux.NAME_MAX}, nil
}

// Release implements vfs.FilesystemImpl.Release.
func (fs *anonFS) Release(context.Context) {}

// anonInode is the inode of an anonymous file: mode 0600 without a file
// type, as Linux's anon_inode.
type anonInode struct {
	ino      uint64
	name     string
	uid, gid uint32
	locks    lock.Locks
}

// ProcName is what /proc/[pid]/fd/N shows.
func (i *anonInode) ProcName() string { return "anon_inode:" + i.name }

// Attr implements vfs.Inode.Attr.
func (i *anonInode) Attr() vfs.InodeAttr {
	return vfs.InodeAttr{Mode: 0o600, UID: i.uid, GID: i.gid}
}

// Stat implements vfs.Inode.Stat.
func (i *anonInode) Stat(context.Context, uint32) (linux.Statx, error) {
	return linux.Statx{
		Mask:    linux.STATX_BASIC_STATS &^ linux.STATX_BLOCKS,
		Blksize: 4096,
		Nlink:   1,
		UID:     i.uid,
		GID:     i.gid,
		Mode:    0o600,
		Ino:     i.ino,
	}, nil
}

// SetStat implements vfs.Inode.SetStat: anonymous inodes do not change.
func (i *anonInode) SetStat(context.Context, *vfs.SetStatOptions) error { return unix.EPERM }

// Open implements vfs.Inode.Open: an anonymous file cannot be reopened
// through /proc/[pid]/fd.
func (i *anonInode) Open(context.Context, vfs.VirtualDentry, vfs.OpenOptions) (vfs.FileDescriptionImpl, error) {
	return nil, unix.ENXIO
}

// Locks implements vfs.Inode.Locks.
func (i *anonInode) Locks() *lock.Locks { return &i.locks }

// GetXattr implements vfs.Inode.GetXattr.
func (i *anonInode) GetXattr(context.Context, string) (string, error) { return "", unix.EOPNOTSUPP }

// SetXattr implements vfs.Inode.SetXattr.
func (i *anonInode) SetXattr(context.Context, string, string, uint32) error { return unix.EOPNOTSUPP }

// ListXattr implements vfs.Inode.ListXattr.
func (i *anonInode) ListXattr(context.Context) ([]string, error) { return nil, nil }

// RemoveXattr implements vfs.Inode.RemoveXattr.
func (i *anonInode) RemoveXattr(context.Context, string) error { return unix.EOPNOTSUPP }
