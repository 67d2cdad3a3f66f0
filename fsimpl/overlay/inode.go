package overlay

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/vfs/lock"
)

// layerRef boxes an upper inode for atomic.Pointer.
type layerRef struct{ vfs.Inode }

// inode is an overlay file: the pair (upper, lower) of layer inodes that
// the overlay shows as one. It implements vfs.Inode, vfs.DirectoryInode and
// vfs.SymlinkInode (the type-specific methods fail with ENOTDIR/EINVAL on
// other types).
type inode struct {
	fs *Filesystem
	// typ is the S_IFMT bits; a file never changes type.
	typ uint32
	// lower is the lower-layer inode, nil if there is none (or, for a
	// directory, if its upper part hides lower: opaque). Immutable.
	lower vfs.Inode
	// upper is the upper-layer inode, set once by copy-up or creation.
	upper atomic.Pointer[layerRef]
	// ino is the overlay inode number; 0 until known for a lower-only
	// file (computed from lower's stat on first use).
	ino atomic.Uint64

	// copyMu serializes copy-up of this file.
	copyMu sync.Mutex

	// mu guards parent, name and removed. parent and name locate the
	// file for copy-up; they only change for upper-only directories
	// (rename), since lower-backed files are copied up before rename and
	// directories with a lower part cannot be renamed.
	mu      sync.Mutex
	parent  *inode
	name    string
	removed bool

	// dirMu orders a directory's namespace changes against lookups and
	// reads through the overlay.
	dirMu sync.RWMutex

	locks lock.Locks
}

// newLowerInode returns the overlay inode of lower-only file l, parent's
// child name.
func (fs *Filesystem) newLowerInode(parent *inode, name string, l vfs.Inode) *inode {
	return &inode{fs: fs, typ: l.Attr().Mode & linux.S_IFMT, lower: l, parent: parent, name: name}
}

// newUpperInode returns the overlay inode of a file whose upper part is u
// (lower is the lower directory merged under u, or nil), reusing the
// cached one for u if it is alive.
func (fs *Filesystem) newUpperInode(ctx context.Context, parent *inode, name string, u, lower vfs.Inode) *inode {
	if i := fs.cached(u); i != nil {
		if i.typ == linux.S_IFDIR {
			i.mu.Lock()
			i.parent, i.name = parent, name
			i.mu.Unlock()
		}
		return i
	}
	i := &inode{fs: fs, typ: u.Attr().Mode & linux.S_IFMT, lower: lower, parent: parent, name: name}
	if o, ok := originIno(ctx, u); ok {
		i.ino.Store(o)
	} else if st, err := u.Stat(ctx, linux.STATX_INO); err == nil {
		i.ino.Store(upperOnlyIno(st.Ino))
	}
	i.upper.Store(&layerRef{u})
	fs.register(i, u)
	return i
}

// upperInode returns the upper part or nil.
func (i *inode) upperInode() vfs.Inode {
	if r := i.upper.Load(); r != nil {
		return r.Inode
	}
	return nil
}

// real returns the layer inode that currently represents the file.
func (i *inode) real() vfs.Inode {
	if u := i.upperInode(); u != nil {
		return u
	}
	return i.lower
}

// isDir reports whether i is a directory.
func (i *inode) isDir() bool { return i.typ == linux.S_IFDIR }

// isRemoved reports whether i has been unlinked or removed.
func (i *inode) isRemoved() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.removed
}

func (i *inode) setRemoved() {
	i.mu.Lock()
	i.removed = true
	i.mu.Unlock()
}

// Attr implements vfs.Inode.Attr.
func (i *inode) Attr() vfs.InodeAttr { return i.real().Attr() }

// Stat implements vfs.Inode.Stat.
func (i *inode) Stat(ctx context.Context, mask uint32) (linux.Statx, error) {
	u := i.upperInode()
	if u == nil {
		st, err := i.lower.Stat(ctx, mask|linux.STATX_INO)
		if err != nil {
			return st, err
		}
		st.Ino = lowerIno(st.Ino)
		i.ino.CompareAndSwap(0, st.Ino)
		return st, nil
	}
	st, err := u.Stat(ctx, mask)
	if err != nil {
		return st, err
	}
	st.Ino = i.ino.Load()
	if i.isDir() && i.lower != nil {
		st.Nlink = 1 // merged: the true count needs a full merge.
	}
	return st, nil
}

// inoNumber returns the overlay inode number.
func (i *inode) inoNumber(ctx context.Context) uint64 {
	if n := i.ino.Load(); n != 0 {
		return n
	}
	st, err := i.Stat(ctx, linux.STATX_INO)
	if err != nil {
		return 0
	}
	return st.Ino
}

// SetStat implements vfs.Inode.SetStat: the file is copied up first (only
// the part that survives, for a truncation).
func (i *inode) SetStat(ctx context.Context, opts *vfs.SetStatOptions) error {
	limit := int64(-1)
	if opts.Stat.Mask&linux.STATX_SIZE != 0 {
		limit = int64(opts.Stat.Size)
	}
	if err := i.copyUp(ctx, limit); err != nil {
		return err
	}
	return i.upperInode().SetStat(ctx, opts)
}

// Open implements vfs.Inode.Open. A regular file opened for writing is
// copied up first; one opened read-only reads whichever layer holds it and
// follows a later copy-up. Directories get a merged view. Other types
// (FIFOs, devices, sockets) are opened in the layer that holds them, as
// overlayfs does without copying them up.
func (i *inode) Open(ctx context.Context, vd vfs.VirtualDentry, opts vfs.OpenOptions) (vfs.FileDescriptionImpl, error) {
	switch i.typ {
	case linux.S_IFREG:
		if opts.Flags&linux.O_ACCMODE != linux.O_RDONLY || opts.Flags&linux.O_TRUNC != 0 {
			if err := i.copyUp(ctx, -1); err != nil {
				return nil, err
			}
		}
		fd := &regularFD{inode: i, vd: vd, flags: opts.Flags}
		u := i.upperInode()
		real := i.lower
		if u != nil {
			real = u
		}
		impl, err := real.Open(ctx, vd, opts)
		if err != nil {
			return nil, err
		}
		fd.real = impl
		fd.isUpper.Store(u != nil)
		return fd, nil
	case linux.S_IFDIR:
		return &dirFD{inode: i}, nil
	default:
		return i.real().Open(ctx, vd, opts)
	}
}

// Locks implements vfs.Inode.Locks: locks belong to the overlay inode, so
// they survive copy-up.
func (i *inode) Locks() *lock.Locks { return &i.locks }

// Readlink implements vfs.SymlinkInode.Readlink.
func (i *inode) Readlink(ctx context.Context) (string, error) {
	sl, ok := i.real().(vfs.SymlinkInode)
	if !ok || i.typ != linux.S_IFLNK {
		return "", unix.EINVAL
	}
	return sl.Readlink(ctx)
}

// ownXattr reports whether name is one of the overlay's own attributes.
func ownXattr(name string) bool { return strings.HasPrefix(name, xattrPrefix) }

// GetXattr implements vfs.Inode.GetXattr.
func (i *inode) GetXattr(ctx context.Context, name string) (string, error) {
	if ownXattr(name) {
		return "", unix.EOPNOTSUPP
	}
	return i.real().GetXattr(ctx, name)
}

// SetXattr implements vfs.Inode.SetXattr, after copy-up.
func (i *inode) SetXattr(ctx context.Context, name, value string, flags uint32) error {
	if ownXattr(name) {
		return unix.EOPNOTSUPP
	}
	if err := i.copyUp(ctx, -1); err != nil {
		return err
	}
	return i.upperInode().SetXattr(ctx, name, value, flags)
}

// ListXattr implements vfs.Inode.ListXattr.
func (i *inode) ListXattr(ctx context.Context) ([]string, error) {
	names, err := i.real().ListXattr(ctx)
	if err != nil {
		return nil, err
	}
	out := names[:0:0]
	for _, n := range names {
		if !ownXattr(n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// RemoveXattr implements vfs.Inode.RemoveXattr, after copy-up.
func (i *inode) RemoveXattr(ctx context.Context, name string) error {
	if ownXattr(name) {
		return unix.EOPNOTSUPP
	}
	if i.upperInode() == nil {
		// Nothing to remove is not worth a copy-up.
		if _, err := i.lower.GetXattr(ctx, name); err != nil {
			return err
		}
	}
	if err := i.copyUp(ctx, -1); err != nil {
		return err
	}
	return i.upperInode().RemoveXattr(ctx, name)
}
