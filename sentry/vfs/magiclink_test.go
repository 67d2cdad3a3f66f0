package vfs_test

import (
	"context"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/vfs/lock"
)

// fakeInode is a minimal read-only inode for a procfs-like test
// filesystem: a root directory holding one magic link "fd".
type fakeInode struct {
	mode   uint32
	target vfs.VirtualDentry // for the magic link
	child  *fakeInode        // for the directory
}

func (i *fakeInode) Attr() vfs.InodeAttr { return vfs.InodeAttr{Mode: i.mode} }
func (i *fakeInode) Stat(context.Context, uint32) (linux.Statx, error) {
	return linux.Statx{Mask: linux.STATX_TYPE | linux.STATX_MODE, Mode: uint16(i.mode)}, nil
}
func (i *fakeInode) SetStat(context.Context, *vfs.SetStatOptions) error { return unix.EPERM }
func (i *fakeInode) Open(context.Context, vfs.VirtualDentry, vfs.OpenOptions) (vfs.FileDescriptionImpl, error) {
	return nil, unix.EACCES
}
func (i *fakeInode) Locks() *lock.Locks                                     { return nil }
func (i *fakeInode) GetXattr(context.Context, string) (string, error)       { return "", unix.EOPNOTSUPP }
func (i *fakeInode) SetXattr(context.Context, string, string, uint32) error { return unix.EOPNOTSUPP }
func (i *fakeInode) ListXattr(context.Context) ([]string, error)            { return nil, nil }
func (i *fakeInode) RemoveXattr(context.Context, string) error              { return unix.EOPNOTSUPP }
func (i *fakeInode) Readlink(context.Context) (string, error)               { return "/proc-says-so", nil }
func (i *fakeInode) MagicLink(context.Context) (vfs.VirtualDentry, error) {
	i.target.IncRef()
	return i.target, nil
}
func (i *fakeInode) Lookup(_ context.Context, name string) (vfs.Inode, error) {
	if name == "fd" && i.child != nil {
		return i.child, nil
	}
	return nil, unix.ENOENT
}
func (i *fakeInode) Create(context.Context, string, vfs.CreateAttr) (vfs.Inode, error) {
	return nil, unix.EPERM
}
func (i *fakeInode) Mkdir(context.Context, string, vfs.CreateAttr) (vfs.Inode, error) {
	return nil, unix.EPERM
}
func (i *fakeInode) Mknod(context.Context, string, vfs.CreateAttr) (vfs.Inode, error) {
	return nil, unix.EPERM
}
func (i *fakeInode) Symlink(context.Context, string, string, vfs.CreateAttr) (vfs.Inode, error) {
	return nil, unix.EPERM
}
func (i *fakeInode) Link(context.Context, string, vfs.Inode) error   { return unix.EPERM }
func (i *fakeInode) Unlink(context.Context, string, vfs.Inode) error { return unix.EPERM }
func (i *fakeInode) Rmdir(context.Context, string, vfs.Inode) error  { return unix.EPERM }
func (i *fakeInode) Rename(context.Context, string, vfs.Inode, vfs.DirectoryInode, string, vfs.Inode, uint32) error {
	return unix.EPERM
}

type fakeFS struct{ root *fakeInode }

func (f *fakeFS) Root() vfs.Inode { return f.root }
func (f *fakeFS) StatFS(context.Context) (linux.Statfs, error) {
	return linux.Statfs{Type: 0x9fa0}, nil
}
func (f *fakeFS) Release(context.Context) {}

func TestMagicLinks(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/proc", 0o555)
	e.mkdir("/hidden", 0o700)
	e.create("/hidden/file", 0o644, "through the magic link")
	target, err := e.vfs.GetFileAt(e.ctx, e.creds, e.pop("/hidden/file"))
	if err != nil {
		t.Fatal(err)
	}
	defer target.DecRef()
	fs := e.vfs.NewFilesystem(&fakeFS{root: &fakeInode{mode: linux.S_IFDIR | 0o555, child: &fakeInode{mode: linux.S_IFLNK | 0o777, target: target}}})
	mp, err := e.vfs.GetDentryAt(e.ctx, e.creds, e.pop("/proc"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.vfs.MountAt(e.ctx, e.creds, fs, mp, vfs.MountFlags{}); err != nil {
		t.Fatal(err)
	}
	mp.DecRef()
	// Magic links jump to the file itself, bypassing path permissions
	// (like /proc/self/fd/N) and ignoring the text readlink shows.
	alice := e.as(vfs.UserCredentials(1000, 1000))
	if got := alice.read("/proc/fd"); got != "through the magic link" {
		t.Errorf("read via magic link = %q", got)
	}
	if l, err := e.vfs.ReadlinkAt(e.ctx, e.creds, e.pop("/proc/fd")); l != "/proc-says-so" || err != nil {
		t.Errorf("readlink = %q %v", l, err)
	}
	for _, flag := range []uint64{linux.RESOLVE_NO_MAGICLINKS, linux.RESOLVE_NO_SYMLINKS} {
		p := e.pop("/proc/fd")
		p.Resolve = flag
		_, err := e.vfs.StatAt(e.ctx, e.creds, p, 0)
		wantErr(t, "magic link with restriction", err, unix.ELOOP)
	}
	wantErr(t, "root mkdir reaches the fs", e.vfs.MkdirAt(e.ctx, e.creds, e.pop("/proc/x"), 0o755), unix.EPERM)
	wantErr(t, "user mkdir in 0555", alice.vfs.MkdirAt(e.ctx, alice.creds, alice.pop("/proc/x"), 0o755), unix.EACCES)
}

// TestMagicLinkJumpRules checks the openat2 rules for jumps (Linux's
// nd_jump_link): RESOLVE_NO_XDEV refuses a jump to another mount only,
// and the scoped resolutions refuse every jump with EXDEV.
func TestMagicLinkJumpRules(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/proc", 0o555)
	e.create("/file", 0o644, "elsewhere")
	target, err := e.vfs.GetFileAt(e.ctx, e.creds, e.pop("/file"))
	if err != nil {
		t.Fatal(err)
	}
	defer target.DecRef()
	// /proc/fd leads to /file on the root mount; /proc/self leads to
	// /proc itself, on the same mount as the link.
	self := &fakeInode{mode: linux.S_IFLNK | 0o777}
	root := &fakeInode{mode: linux.S_IFDIR | 0o555, child: &fakeInode{mode: linux.S_IFLNK | 0o777, target: target}}
	fs := e.vfs.NewFilesystem(&fakeSelfFS{fakeFS: fakeFS{root: root}, self: self})
	mp, err := e.vfs.GetDentryAt(e.ctx, e.creds, e.pop("/proc"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.vfs.MountAt(e.ctx, e.creds, fs, mp, vfs.MountFlags{}); err != nil {
		t.Fatal(err)
	}
	mp.DecRef()
	procRoot, err := e.vfs.GetDentryAt(e.ctx, e.creds, e.pop("/proc"))
	if err != nil {
		t.Fatal(err)
	}
	defer procRoot.DecRef()
	self.target = procRoot
	e.chdir("/proc")
	for _, c := range []struct {
		path    string
		resolve uint64
		want    error
	}{
		{"fd", linux.RESOLVE_NO_XDEV, unix.EXDEV},
		{"self", linux.RESOLVE_NO_XDEV, nil},
		{"self/self/fd", 0, nil},
		{"fd", linux.RESOLVE_BENEATH, unix.EXDEV},
		{"self", linux.RESOLVE_BENEATH, unix.EXDEV},
		{"fd", linux.RESOLVE_IN_ROOT, unix.EXDEV},
		{"self", linux.RESOLVE_NO_MAGICLINKS | linux.RESOLVE_BENEATH, unix.ELOOP},
	} {
		p := e.pop(c.path)
		p.Resolve = c.resolve
		_, err := e.vfs.StatAt(e.ctx, e.creds, p, 0)
		wantErr(t, fmt.Sprintf("stat %s with resolve %#x", c.path, c.resolve), err, c.want)
	}
}

// fakeSelfFS is fakeFS whose root also holds the magic link "self".
type fakeSelfFS struct {
	fakeFS
	self *fakeInode
}

func (f *fakeSelfFS) Root() vfs.Inode { return &selfDir{fakeInode: f.root, self: f.self} }

type selfDir struct {
	*fakeInode
	self *fakeInode
}

func (d *selfDir) Lookup(ctx context.Context, name string) (vfs.Inode, error) {
	if name == "self" {
		return d.self, nil
	}
	return d.fakeInode.Lookup(ctx, name)
}
