package dev

import (
	"context"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// inode wraps a tmpfs inode (every tmpfs inode implements
// vfs.DirectoryInode and vfs.SymlinkInode, failing with ENOTDIR or
// EINVAL where the type does not fit). It is used by value so that
// wrappers of one tmpfs inode compare equal.
type inode struct {
	fs *Filesystem
	vfs.Inode
}

func (fs *Filesystem) wrap(in vfs.Inode, err error) (vfs.Inode, error) {
	if err != nil {
		return nil, err
	}
	return inode{fs: fs, Inode: in}, nil
}

// unwrap returns the tmpfs inode behind one of ours.
func unwrap(in vfs.Inode) vfs.Inode {
	if w, ok := in.(inode); ok {
		return w.Inode
	}
	return in
}

func (i inode) dir() vfs.DirectoryInode { return i.Inode.(vfs.DirectoryInode) }

// Open implements vfs.Inode.Open: character devices are served by the
// device registered for their number (ENXIO if there is none, as Linux
// says for a node without a driver); everything else is tmpfs's.
func (i inode) Open(ctx context.Context, vd vfs.VirtualDentry, opts vfs.OpenOptions) (vfs.FileDescriptionImpl, error) {
	if i.Attr().Mode&linux.S_IFMT != linux.S_IFCHR {
		return i.Inode.Open(ctx, vd, opts)
	}
	st, err := i.Inode.Stat(ctx, linux.STATX_TYPE)
	if err != nil {
		return nil, err
	}
	d, ok := i.fs.devices[linux.MakeDev(st.RdevMajor, st.RdevMinor)]
	if !ok {
		return nil, unix.ENXIO
	}
	return d.open(ctx, opts.Flags)
}

// Readlink implements vfs.SymlinkInode.Readlink.
func (i inode) Readlink(ctx context.Context) (string, error) {
	return i.Inode.(vfs.SymlinkInode).Readlink(ctx)
}

// Lookup implements vfs.DirectoryInode.Lookup.
func (i inode) Lookup(ctx context.Context, name string) (vfs.Inode, error) {
	return i.fs.wrap(i.dir().Lookup(ctx, name))
}

// Create implements vfs.DirectoryInode.Create.
func (i inode) Create(ctx context.Context, name string, attr vfs.CreateAttr) (vfs.Inode, error) {
	return i.fs.wrap(i.dir().Create(ctx, name, attr))
}

// Mkdir implements vfs.DirectoryInode.Mkdir.
func (i inode) Mkdir(ctx context.Context, name string, attr vfs.CreateAttr) (vfs.Inode, error) {
	return i.fs.wrap(i.dir().Mkdir(ctx, name, attr))
}

// Mknod implements vfs.DirectoryInode.Mknod.
func (i inode) Mknod(ctx context.Context, name string, attr vfs.CreateAttr) (vfs.Inode, error) {
	return i.fs.wrap(i.dir().Mknod(ctx, name, attr))
}

// Symlink implements vfs.DirectoryInode.Symlink.
func (i inode) Symlink(ctx context.Context, name, target string, attr vfs.CreateAttr) (vfs.Inode, error) {
	return i.fs.wrap(i.dir().Symlink(ctx, name, target, attr))
}

// Link implements vfs.DirectoryInode.Link.
func (i inode) Link(ctx context.Context, name string, target vfs.Inode) error {
	return i.dir().Link(ctx, name, unwrap(target))
}

// Unlink implements vfs.DirectoryInode.Unlink.
func (i inode) Unlink(ctx context.Context, name string, child vfs.Inode) error {
	return i.dir().Unlink(ctx, name, unwrap(child))
}

// Rmdir implements vfs.DirectoryInode.Rmdir.
func (i inode) Rmdir(ctx context.Context, name string, child vfs.Inode) error {
	return i.dir().Rmdir(ctx, name, unwrap(child))
}

// Rename implements vfs.DirectoryInode.Rename.
func (i inode) Rename(ctx context.Context, oldName string, child vfs.Inode, newDir vfs.DirectoryInode, newName string, replaced vfs.Inode, flags uint32) error {
	nd, ok := newDir.(inode)
	if !ok || nd.fs != i.fs {
		return unix.EXDEV
	}
	var r vfs.Inode
	if replaced != nil {
		r = unwrap(replaced)
	}
	return i.dir().Rename(ctx, oldName, unwrap(child), nd.dir(), newName, r, flags)
}
