package proc

import (
	"context"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/vfs/lock"
)

// owner says who owns a node and whether what it stands for still
// exists. A nil owner means root and the boot time, always valid.
type owner interface {
	// ids returns the owner's user and group IDs, or ENOENT once the
	// process or thread is gone. It is called on every walk step.
	ids() (uid, gid uint32, err error)
	// stamp returns the node's timestamp.
	stamp() time.Time
}

// base holds what every /proc inode has: its number, type and mode, and
// its owner. It implements the vfs.Inode methods other than Open.
type base struct {
	fs    *Filesystem
	ino   uint64
	mode  uint32
	owner owner
	// exists, if set, is a further validity check that Stat, Open,
	// Readlink and MagicLink make but Attr and Lookup (called with the
	// VFS's tree lock held) do not: whether an fd is still open.
	exists func() error
}

func (b *base) ids() (uint32, uint32, error) {
	if b.owner == nil {
		return 0, 0, nil
	}
	return b.owner.ids()
}

func (b *base) stamp() time.Time {
	if b.owner == nil {
		return b.fs.bootTime()
	}
	return b.owner.stamp()
}

// valid returns ENOENT once the node's process or thread is gone.
func (b *base) valid() error {
	_, _, err := b.ids()
	return err
}

// Attr implements vfs.Inode.Attr.
func (b *base) Attr() vfs.InodeAttr {
	uid, gid, _ := b.ids()
	return vfs.InodeAttr{Mode: b.mode, UID: uid, GID: gid}
}

// Stat implements vfs.Inode.Stat: sizes are 0, as Linux reports for
// generated files, and every time is the node's timestamp (the boot
// time, or the process's start time).
func (b *base) Stat(context.Context, uint32) (linux.Statx, error) {
	uid, gid, err := b.ids()
	if err != nil {
		return linux.Statx{}, err
	}
	t := b.stamp()
	if b.exists != nil {
		if err := b.exists(); err != nil {
			return linux.Statx{}, err
		}
	}
	nlink := uint32(1)
	if b.mode&linux.S_IFMT == linux.S_IFDIR {
		nlink = 2
	}
	ts := linux.NsecToStatxTimestamp(t.UnixNano())
	return linux.Statx{
		Mask:    linux.STATX_BASIC_STATS,
		Blksize: pageSize,
		Nlink:   nlink,
		UID:     uid,
		GID:     gid,
		Mode:    uint16(b.mode),
		Ino:     b.ino,
		Atime:   ts,
		Mtime:   ts,
		Ctime:   ts,
	}, nil
}

// SetStat implements vfs.Inode.SetStat: /proc's attributes are fixed.
func (b *base) SetStat(context.Context, *vfs.SetStatOptions) error { return unix.EPERM }

// Locks implements vfs.Inode.Locks: /proc files take no locks.
func (b *base) Locks() *lock.Locks { return nil }

// GetXattr implements vfs.Inode.GetXattr.
func (b *base) GetXattr(context.Context, string) (string, error) { return "", unix.EOPNOTSUPP }

// SetXattr implements vfs.Inode.SetXattr.
func (b *base) SetXattr(context.Context, string, string, uint32) error { return unix.EOPNOTSUPP }

// ListXattr implements vfs.Inode.ListXattr.
func (b *base) ListXattr(context.Context) ([]string, error) { return nil, nil }

// RemoveXattr implements vfs.Inode.RemoveXattr.
func (b *base) RemoveXattr(context.Context, string) error { return unix.EOPNOTSUPP }

// fileNode is a generated read-only file.
type fileNode struct {
	base
	// gen produces the file's text.
	gen func(ctx context.Context) ([]byte, error)
	// check, if set, runs at open (a MayInspect check).
	check func(ctx context.Context) error
}

// Open implements vfs.Inode.Open.
func (f *fileNode) Open(ctx context.Context, vd vfs.VirtualDentry, opts vfs.OpenOptions) (vfs.FileDescriptionImpl, error) {
	if opts.Flags&linux.O_ACCMODE != linux.O_RDONLY || opts.Flags&linux.O_TRUNC != 0 {
		return nil, unix.EACCES
	}
	if err := f.valid(); err != nil {
		return nil, err
	}
	if f.exists != nil {
		if err := f.exists(); err != nil {
			return nil, err
		}
	}
	if f.check != nil {
		if err := f.check(ctx); err != nil {
			return nil, err
		}
	}
	return &seqFD{gen: f.gen}, nil
}

// dirent is one entry of a generated directory.
type dirent struct {
	name string
	typ  uint8
	ino  uint64
}

// dirNode is a read-only directory whose entries are computed.
type dirNode struct {
	base
	// parentIno is reported for "..".
	parentIno uint64
	// list returns the entries other than "." and "..".
	list func(ctx context.Context) ([]dirent, error)
	// lookup returns the child called name, or ENOENT.
	lookup func(ctx context.Context, name string) (vfs.Inode, error)
}

// Open implements vfs.Inode.Open.
func (d *dirNode) Open(context.Context, vfs.VirtualDentry, vfs.OpenOptions) (vfs.FileDescriptionImpl, error) {
	if err := d.valid(); err != nil {
		return nil, err
	}
	return &dirFD{dir: d}, nil
}

// Lookup implements vfs.DirectoryInode.Lookup.
func (d *dirNode) Lookup(ctx context.Context, name string) (vfs.Inode, error) {
	if err := d.valid(); err != nil {
		return nil, err
	}
	return d.lookup(ctx, name)
}

// Create implements vfs.DirectoryInode.Create: procfs has no create
// operation, for which Linux's open(O_CREAT) fails with EACCES.
func (d *dirNode) Create(context.Context, string, vfs.CreateAttr) (vfs.Inode, error) {
	return nil, unix.EACCES
}

// Mkdir implements vfs.DirectoryInode.Mkdir.
func (d *dirNode) Mkdir(context.Context, string, vfs.CreateAttr) (vfs.Inode, error) {
	return nil, unix.EPERM
}

// Mknod implements vfs.DirectoryInode.Mknod.
func (d *dirNode) Mknod(context.Context, string, vfs.CreateAttr) (vfs.Inode, error) {
	return nil, unix.EPERM
}

// Symlink implements vfs.DirectoryInode.Symlink.
func (d *dirNode) Symlink(context.Context, string, string, vfs.CreateAttr) (vfs.Inode, error) {
	return nil, unix.EPERM
}

// Link implements vfs.DirectoryInode.Link.
func (d *dirNode) Link(context.Context, string, vfs.Inode) error { return unix.EPERM }

// Unlink implements vfs.DirectoryInode.Unlink.
func (d *dirNode) Unlink(context.Context, string, vfs.Inode) error { return unix.EPERM }

// Rmdir implements vfs.DirectoryInode.Rmdir.
func (d *dirNode) Rmdir(context.Context, string, vfs.Inode) error { return unix.EPERM }

// Rename implements vfs.DirectoryInode.Rename.
func (d *dirNode) Rename(context.Context, string, vfs.Inode, vfs.DirectoryInode, string, vfs.Inode, uint32) error {
	return unix.EPERM
}

// symlinkNode is a symlink whose target is computed.
type symlinkNode struct {
	base
	target func(ctx context.Context) (string, error)
}

// Open implements vfs.Inode.Open; the VFS never opens a symlink itself.
func (s *symlinkNode) Open(context.Context, vfs.VirtualDentry, vfs.OpenOptions) (vfs.FileDescriptionImpl, error) {
	return nil, unix.ELOOP
}

// Readlink implements vfs.SymlinkInode.Readlink.
func (s *symlinkNode) Readlink(ctx context.Context) (string, error) {
	if err := s.valid(); err != nil {
		return "", err
	}
	return s.target(ctx)
}

// magicLinkNode is a magic link: readlink shows text, resolution jumps
// to a file. Both need MayInspect on the process pid.
type magicLinkNode struct {
	base
	pid  int32
	text func(ctx context.Context) (string, error)
	jump func(ctx context.Context) (vfs.VirtualDentry, error)
}

func (m *magicLinkNode) check(ctx context.Context) error {
	if err := m.valid(); err != nil {
		return err
	}
	if !m.fs.k.MayInspect(ctx, m.pid) {
		return unix.EACCES
	}
	return nil
}

// Open implements vfs.Inode.Open; the VFS never opens a symlink itself.
func (m *magicLinkNode) Open(context.Context, vfs.VirtualDentry, vfs.OpenOptions) (vfs.FileDescriptionImpl, error) {
	return nil, unix.ELOOP
}

// Readlink implements vfs.SymlinkInode.Readlink.
func (m *magicLinkNode) Readlink(ctx context.Context) (string, error) {
	if err := m.check(ctx); err != nil {
		return "", err
	}
	return m.text(ctx)
}

// MagicLink implements vfs.MagicLinkInode.MagicLink.
func (m *magicLinkNode) MagicLink(ctx context.Context) (vfs.VirtualDentry, error) {
	if err := m.check(ctx); err != nil {
		return vfs.VirtualDentry{}, err
	}
	return m.jump(ctx)
}

// newFile, newDir, newSymlink and newMagicLink build nodes of fs.

func (fs *Filesystem) newFile(ino uint64, perm uint32, o owner, gen func(context.Context) ([]byte, error)) *fileNode {
	return &fileNode{base: base{fs: fs, ino: ino, mode: linux.S_IFREG | perm, owner: o}, gen: gen}
}

func (fs *Filesystem) newDir(ino, parentIno uint64, perm uint32, o owner, list func(context.Context) ([]dirent, error), lookup func(context.Context, string) (vfs.Inode, error)) *dirNode {
	return &dirNode{base: base{fs: fs, ino: ino, mode: linux.S_IFDIR | perm, owner: o}, parentIno: parentIno, list: list, lookup: lookup}
}

func (fs *Filesystem) newSymlink(ino uint64, o owner, target func(context.Context) (string, error)) *symlinkNode {
	return &symlinkNode{base: base{fs: fs, ino: ino, mode: linux.S_IFLNK | 0o777, owner: o}, target: target}
}

func (fs *Filesystem) newMagicLink(ino uint64, perm uint32, o owner, pid int32, text func(context.Context) (string, error), jump func(context.Context) (vfs.VirtualDentry, error)) *magicLinkNode {
	return &magicLinkNode{base: base{fs: fs, ino: ino, mode: linux.S_IFLNK | perm, owner: o}, pid: pid, text: text, jump: jump}
}

// static is a fixed set of named children of a directory, in listing
// order.
type static []staticEntry

// staticEntry is one child of a static directory: make builds its inode.
type staticEntry struct {
	name string
	make func() vfs.Inode
}

// entries lists s's children.
func (s static) entries() []dirent {
	out := make([]dirent, 0, len(s))
	for _, c := range s {
		in := c.make()
		out = append(out, dirent{name: c.name, typ: linux.FileTypeToDirentType(in.Attr().Mode), ino: inodeNumber(in)})
	}
	return out
}

// find returns s's child name, or nil.
func (s static) find(name string) vfs.Inode {
	for _, c := range s {
		if c.name == name {
			return c.make()
		}
	}
	return nil
}

// inodeNumber returns the inode number of one of this package's inodes.
func inodeNumber(in vfs.Inode) uint64 {
	if n, ok := in.(interface{ inoNum() uint64 }); ok {
		return n.inoNum()
	}
	return 0
}

func (b *base) inoNum() uint64 { return b.ino }
