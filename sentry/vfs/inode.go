package vfs

import (
	"context"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs/lock"
)

// FilesystemImpl is implemented by one instance of a filesystem (one
// tmpfs, one gofer connection).
type FilesystemImpl interface {
	// Root returns the root directory inode. It is called once, when the
	// Filesystem is created.
	Root() Inode
	// StatFS implements statfs(2) for any file of the filesystem.
	StatFS(ctx context.Context) (linux.Statfs, error)
	// Release is called when the last mount of the filesystem goes away.
	Release(ctx context.Context)
}

// InodeAttr is the part of an inode's metadata that the VFS consults on
// every walk step; it must be cheap to obtain.
type InodeAttr struct {
	// Mode holds the file type (S_IFMT bits) and permission bits.
	Mode uint32
	UID  uint32
	GID  uint32
}

// IsDir reports whether the attributes describe a directory.
func (a InodeAttr) IsDir() bool { return a.Mode&linux.S_IFMT == linux.S_IFDIR }

// IsSymlink reports whether the attributes describe a symbolic link.
func (a InodeAttr) IsSymlink() bool { return a.Mode&linux.S_IFMT == linux.S_IFLNK }

// IsRegular reports whether the attributes describe a regular file.
func (a InodeAttr) IsRegular() bool { return a.Mode&linux.S_IFMT == linux.S_IFREG }

// Inode is one file of a filesystem. The VFS has checked permissions
// before calling any method, so implementations only apply the change.
// Methods may be called concurrently.
type Inode interface {
	// Attr returns the inode's type, permission bits and owner.
	Attr() InodeAttr
	// Stat returns the inode's metadata; mask is the caller's statx
	// request mask (a hint). The VFS fills in the device and mount ID.
	Stat(ctx context.Context, mask uint32) (linux.Statx, error)
	// SetStat applies a change already vetted by CheckSetStat.
	SetStat(ctx context.Context, opts *SetStatOptions) error
	// Open returns the implementation of a new open file description
	// for this inode. The VFS has checked access permissions and flags;
	// opts.Flags are the open(2) flags.
	Open(ctx context.Context, vd VirtualDentry, opts OpenOptions) (FileDescriptionImpl, error)
	// Locks returns the inode's advisory lock state, or nil if the file
	// does not support locking.
	Locks() *lock.Locks

	// GetXattr, SetXattr, ListXattr and RemoveXattr store extended
	// attributes; the VFS has applied the namespace rules (user.*,
	// trusted.*, security.*). Filesystems without xattrs return
	// EOPNOTSUPP.
	GetXattr(ctx context.Context, name string) (string, error)
	SetXattr(ctx context.Context, name, value string, flags uint32) error
	ListXattr(ctx context.Context) ([]string, error)
	RemoveXattr(ctx context.Context, name string) error
}

// SymlinkInode is implemented by symbolic links.
type SymlinkInode interface {
	Inode
	// Readlink returns the link's target.
	Readlink(ctx context.Context) (string, error)
}

// MagicLinkInode is implemented by links that resolve to a file rather
// than to a path (procfs's /proc/[pid]/fd/N, /proc/[pid]/exe). They are
// also symlinks for readlink; resolution jumps to the VirtualDentry.
type MagicLinkInode interface {
	SymlinkInode
	// MagicLink returns the link's destination with a reference held.
	MagicLink(ctx context.Context) (VirtualDentry, error)
}

// CreateAttr is the identity of a new inode, computed by the VFS from the
// creating credentials and the parent directory (set-group-ID
// inheritance).
type CreateAttr struct {
	// Mode is the file type and permission bits (umask already applied
	// by the caller).
	Mode uint32
	UID  uint32
	GID  uint32
	// Dev is the device number for character and block devices
	// (linux.MakeDev encoding).
	Dev uint64
}

// DirectoryInode is implemented by directories. name is always a single
// component other than "." and "..", at most NAME_MAX bytes; permissions,
// read-only mounts and existence have been checked by the VFS under
// VirtualFilesystem.treeMu, but implementations must still be correct
// under races with their own other operations (EEXIST/ENOENT).
type DirectoryInode interface {
	Inode
	// Lookup returns the child called name, or ENOENT.
	Lookup(ctx context.Context, name string) (Inode, error)
	// Create makes a new regular file (O_CREAT).
	Create(ctx context.Context, name string, attr CreateAttr) (Inode, error)
	// Mkdir makes a new directory.
	Mkdir(ctx context.Context, name string, attr CreateAttr) (Inode, error)
	// Mknod makes a regular file, FIFO, socket or device node; attr.Mode
	// says which.
	Mknod(ctx context.Context, name string, attr CreateAttr) (Inode, error)
	// Symlink makes a symbolic link to target.
	Symlink(ctx context.Context, name, target string, attr CreateAttr) (Inode, error)
	// Link makes name a new hard link to target, which belongs to the
	// same filesystem and is not a directory.
	Link(ctx context.Context, name string, target Inode) error
	// Unlink removes the non-directory child name, which is child.
	Unlink(ctx context.Context, name string, child Inode) error
	// Rmdir removes the directory child name, which is child, or fails
	// with ENOTEMPTY.
	Rmdir(ctx context.Context, name string, child Inode) error
	// Rename moves child from this directory's oldName to newDir's
	// newName, replacing replaced (nil if newName does not exist).
	// flags are renameat2 flags: with RENAME_EXCHANGE the two entries
	// are swapped. The VFS has checked types, emptiness is checked here
	// (ENOTEMPTY for a non-empty replaced directory).
	Rename(ctx context.Context, oldName string, child Inode, newDir DirectoryInode, newName string, replaced Inode, flags uint32) error
}

// OpenOptions are passed to Inode.Open.
type OpenOptions struct {
	// Flags are the open(2) flags.
	Flags uint32
}
