package vfs_test

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/tmpfs"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

func TestResolveBasics(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/a", 0o755)
	e.mkdir("/a/b", 0o755)
	e.create("/a/b/f", 0o644, "hello")
	e.mkdir("/c", 0o755)

	for _, p := range []string{"/a/b/f", "a/b/f", "//a//b///f", "/a/./b/./f", "/a/b/../b/f", "/../../a/b/f", "/c/../a/b/f", "a/b/./../b/f"} {
		if got := e.read(p); got != "hello" {
			t.Errorf("read %q = %q", p, got)
		}
	}
	if e.ino("/..") != e.ino("/") {
		t.Errorf("/.. is not /")
	}
	_, err := e.stat("/a/nope")
	wantErr(t, "missing", err, unix.ENOENT)
	_, err = e.stat("/a/b/f/x")
	wantErr(t, "file as dir", err, unix.ENOTDIR)
	_, err = e.stat("/a/b/f/")
	wantErr(t, "file with trailing slash", err, unix.ENOTDIR)
	_, err = e.stat("/a/b/f/.")
	wantErr(t, "file/.", err, unix.ENOTDIR)
	_, err = e.stat("/a/b/")
	wantErr(t, "dir with trailing slash", err, nil)
	_, err = e.stat("")
	wantErr(t, "empty path", err, unix.ENOENT)
	p := e.pop("")
	p.EmptyPath = true
	_, err = e.vfs.StatAt(e.ctx, e.creds, p, 0)
	wantErr(t, "AT_EMPTY_PATH", err, nil)

	// dirfd-relative: Start is a directory other than the cwd.
	dir, err := e.vfs.GetDentryAt(e.ctx, e.creds, e.pop("/a"))
	if err != nil {
		t.Fatal(err)
	}
	defer dir.DecRef()
	rel := &vfs.PathOperation{Root: e.root, Start: dir, Path: "b/f", FollowFinalSymlink: true}
	if _, err := e.vfs.StatAt(e.ctx, e.creds, rel, 0); err != nil {
		t.Errorf("dirfd-relative: %v", err)
	}
	// A file as dirfd: ENOTDIR.
	f, err := e.vfs.GetFileAt(e.ctx, e.creds, e.pop("/a/b/f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.DecRef()
	rel = &vfs.PathOperation{Root: e.root, Start: f, Path: "x"}
	_, err = e.vfs.StatAt(e.ctx, e.creds, rel, 0)
	wantErr(t, "file dirfd", err, unix.ENOTDIR)
}

func TestNameTooLong(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("x", 256)
	_, err := e.stat("/" + long)
	wantErr(t, "256-byte component", err, unix.ENAMETOOLONG)
	wantErr(t, "mkdir 256", e.vfs.MkdirAt(e.ctx, e.creds, e.pop("/"+long), 0o755), unix.ENAMETOOLONG)
	e.mkdir("/"+strings.Repeat("y", 255), 0o755)
	_, err = e.stat("/" + strings.Repeat("a/", 2048))
	wantErr(t, "4096-byte path", err, unix.ENAMETOOLONG)
	_, err = e.stat("/" + strings.Repeat("/", 4093))
	wantErr(t, "4094-byte path", err, nil)
}

func TestSymlinks(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/d", 0o755)
	e.create("/d/f", 0o644, "data")
	e.symlink("f", "/d/rel")
	e.symlink("/d/f", "/abs")
	e.symlink("d", "/dl")
	e.symlink("../d/rel", "/d/up")
	e.symlink("loop2", "/loop1")
	e.symlink("loop1", "/loop2")
	e.symlink("nothing", "/dangling")
	for _, p := range []string{"/d/rel", "/abs", "/dl/f", "/dl/rel", "/d/up", "/dl/up", "dl/../d/f"} {
		if got := e.read(p); got != "data" {
			t.Errorf("read %q = %q", p, got)
		}
	}
	_, err := e.stat("/loop1")
	wantErr(t, "loop", err, unix.ELOOP)
	_, err = e.stat("/loop1/x")
	wantErr(t, "loop as dir", err, unix.ELOOP)
	_, err = e.stat("/dangling")
	wantErr(t, "dangling", err, unix.ENOENT)
	st, err := e.vfs.StatAt(e.ctx, e.creds, e.popNoFollow("/dangling"), 0)
	if err != nil || st.Mode&linux.S_IFMT != linux.S_IFLNK {
		t.Errorf("lstat dangling: %v %o", err, st.Mode)
	}
	// The final symlink is followed when the path ends in '/', even with
	// nofollow.
	st, err = e.vfs.StatAt(e.ctx, e.creds, e.popNoFollow("/dl/"), 0)
	if err != nil || st.Mode&linux.S_IFMT != linux.S_IFDIR {
		t.Errorf("lstat dl/: %v %o", err, st.Mode)
	}
	_, err = e.vfs.StatAt(e.ctx, e.creds, e.popNoFollow("/d/rel/"), 0)
	wantErr(t, "symlink to file with slash", err, unix.ENOTDIR)
	target, err := e.vfs.ReadlinkAt(e.ctx, e.creds, e.pop("/d/up"))
	if err != nil || target != "../d/rel" {
		t.Errorf("readlink = %q, %v", target, err)
	}
	_, err = e.vfs.ReadlinkAt(e.ctx, e.creds, e.pop("/d/f"))
	wantErr(t, "readlink file", err, unix.EINVAL)

	// Chain of exactly 40 symlinks resolves; 41 is ELOOP.
	e.create("/end", 0o644, "end")
	prev := "end"
	for i := 1; i <= 41; i++ {
		name := fmt.Sprintf("s%d", i)
		e.symlink(prev, "/"+name)
		prev = name
	}
	if got := e.read("/s40"); got != "end" {
		t.Errorf("40 links: %q", got)
	}
	_, err = e.stat("/s41")
	wantErr(t, "41 links", err, unix.ELOOP)

	// O_NOFOLLOW.
	_, err = e.open("/d/rel", linux.O_RDONLY|linux.O_NOFOLLOW, 0)
	wantErr(t, "O_NOFOLLOW", err, unix.ELOOP)
	fd, err := e.open("/d/rel", linux.O_PATH|linux.O_NOFOLLOW, 0)
	if err != nil {
		t.Fatalf("O_PATH|O_NOFOLLOW: %v", err)
	}
	if _, err := fd.Read(e.ctx, vfs.BytesIOSequence(make([]byte, 1))); err != unix.EBADF {
		t.Errorf("read O_PATH = %v", err)
	}
	fd.DecRef(e.ctx)
	// O_NOFOLLOW only concerns the final component.
	if _, err := e.open("/dl/f", linux.O_RDONLY|linux.O_NOFOLLOW, 0); err != nil {
		t.Errorf("O_NOFOLLOW through dir link: %v", err)
	}
	// O_CREAT through a dangling symlink creates its target.
	fd, err = e.open("/dangling", linux.O_CREAT|linux.O_WRONLY, 0o644)
	if err != nil {
		t.Fatalf("creat via dangling: %v", err)
	}
	fd.DecRef(e.ctx)
	if _, err := e.stat("/nothing"); err != nil {
		t.Errorf("target not created: %v", err)
	}
	_, err = e.open("/abs", linux.O_CREAT|linux.O_EXCL|linux.O_WRONLY, 0o644)
	wantErr(t, "O_EXCL on symlink", err, unix.EEXIST)
}

func TestMountCrossing(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/mnt", 0o755)
	e.create("/mnt/under", 0o644, "hidden")
	e.create("/top", 0o644, "top")
	fs2 := e.vfs.NewFilesystem(tmpfs.New(tmpfs.Options{MaxSize: 1 << 20}))
	target, err := e.vfs.GetDentryAt(e.ctx, e.creds, e.pop("/mnt"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.vfs.MountAt(e.ctx, e.creds, fs2, target, vfs.MountFlags{})
	target.DecRef()
	if err != nil {
		t.Fatal(err)
	}
	e.create("/mnt/inside", 0o644, "inside")
	_, err = e.stat("/mnt/under")
	wantErr(t, "covered file", err, unix.ENOENT)
	if got := e.read("/mnt/../top"); got != "top" {
		t.Errorf("/mnt/../top = %q", got)
	}
	e.chdir("/mnt")
	if got := e.read("../top"); got != "top" {
		t.Errorf("../top from mount root = %q", got)
	}
	if got := e.read("inside"); got != "inside" {
		t.Errorf("relative in mount = %q", got)
	}
	e.cwd = e.root
	a, _ := e.stat("/mnt/inside")
	b, _ := e.stat("/top")
	if a.DevMinor == b.DevMinor || a.MntID == b.MntID {
		t.Errorf("same dev/mnt across mounts: %+v %+v", a, b)
	}
	// Cross-mount rename and link: EXDEV.
	wantErr(t, "rename across mounts", e.vfs.RenameAt(e.ctx, e.creds, e.pop("/top"), e.pop("/mnt/top"), 0), unix.EXDEV)
	wantErr(t, "link across mounts", e.vfs.LinkAt(e.ctx, e.creds, e.pop("/top"), e.pop("/mnt/top")), unix.EXDEV)
	// Mount points cannot be removed.
	wantErr(t, "rmdir mountpoint", e.vfs.RmdirAt(e.ctx, e.creds, e.pop("/mnt")), unix.EBUSY)
	// RESOLVE_NO_XDEV both ways.
	p := e.pop("/mnt/inside")
	p.Resolve = linux.RESOLVE_NO_XDEV
	_, err = e.vfs.StatAt(e.ctx, e.creds, p, 0)
	wantErr(t, "NO_XDEV down", err, unix.EXDEV)
	in, err := e.vfs.GetDentryAt(e.ctx, e.creds, e.pop("/mnt"))
	if err != nil {
		t.Fatal(err)
	}
	p = &vfs.PathOperation{Root: e.root, Start: in, Path: "../top", Resolve: linux.RESOLVE_NO_XDEV}
	_, err = e.vfs.StatAt(e.ctx, e.creds, p, 0)
	wantErr(t, "NO_XDEV up", err, unix.EXDEV)
	p.Path = "inside"
	_, err = e.vfs.StatAt(e.ctx, e.creds, p, 0)
	wantErr(t, "NO_XDEV within", err, nil)
	in.DecRef()

	// Unmount uncovers the original directory.
	mvd := vfs.VirtualDentry{Mount: m, Dentry: m.Root()}
	wantErr(t, "umount as user", e.vfs.UmountAt(e.ctx, vfs.UserCredentials(1000, 1000), mvd, 0), unix.EPERM)
	wantErr(t, "umount", e.vfs.UmountAt(e.ctx, e.creds, mvd, 0), nil)
	if got := e.read("/mnt/under"); got != "hidden" {
		t.Errorf("after umount: %q", got)
	}
}

func TestChroot(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/jail", 0o755)
	e.mkdir("/jail/etc", 0o755)
	e.create("/secret", 0o644, "outside")
	e.create("/jail/secret", 0o644, "inside")
	e.create("/jail/etc/passwd", 0o644, "jailpw")
	e.symlink("/secret", "/jail/abs")
	e.symlink("../../../../secret", "/jail/etc/rel")
	jail, err := e.vfs.GetDentryAt(e.ctx, e.creds, e.pop("/jail"))
	if err != nil {
		t.Fatal(err)
	}
	j := *e
	j.root, j.cwd = jail, jail
	for _, p := range []string{"/secret", "../secret", "../../../secret", "/../secret", "etc/../../secret", "abs", "etc/rel", "/etc/../../../../secret"} {
		if got := j.read(p); got != "inside" {
			t.Errorf("chroot read %q = %q", p, got)
		}
	}
	if got := j.read("/../etc/passwd"); got != "jailpw" {
		t.Errorf("passwd = %q", got)
	}
}

func TestResolveFlags(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/base", 0o755)
	e.mkdir("/base/sub", 0o755)
	e.create("/base/f", 0o644, "basef")
	e.create("/f", 0o644, "rootf")
	e.symlink("/f", "/base/absl")
	e.symlink("../f", "/base/upl")
	e.symlink("f", "/base/rell")
	base, err := e.vfs.GetDentryAt(e.ctx, e.creds, e.pop("/base"))
	if err != nil {
		t.Fatal(err)
	}
	defer base.DecRef()
	try := func(path string, resolve uint64) (linux.Statx, error) {
		p := &vfs.PathOperation{Root: e.root, Start: base, Path: path, FollowFinalSymlink: true, Resolve: resolve}
		return e.vfs.StatAt(e.ctx, e.creds, p, 0)
	}
	fIno, baseFIno := e.ino("/f"), e.ino("/base/f")
	cases := []struct {
		path    string
		resolve uint64
		err     error
		ino     uint64
	}{
		{"f", linux.RESOLVE_BENEATH, nil, baseFIno},
		{"sub/../f", linux.RESOLVE_BENEATH, nil, baseFIno},
		{"../f", linux.RESOLVE_BENEATH, unix.EXDEV, 0},
		{"sub/../../f", linux.RESOLVE_BENEATH, unix.EXDEV, 0},
		{"/f", linux.RESOLVE_BENEATH, unix.EXDEV, 0},
		{"absl", linux.RESOLVE_BENEATH, unix.EXDEV, 0},
		{"upl", linux.RESOLVE_BENEATH, unix.EXDEV, 0},
		{"rell", linux.RESOLVE_BENEATH, nil, baseFIno},
		{"../f", linux.RESOLVE_IN_ROOT, nil, baseFIno},
		{"/f", linux.RESOLVE_IN_ROOT, nil, baseFIno},
		{"absl", linux.RESOLVE_IN_ROOT, nil, baseFIno},
		{"upl", linux.RESOLVE_IN_ROOT, nil, baseFIno},
		{"../f", 0, nil, fIno},
		{"absl", 0, nil, fIno},
		{"rell", linux.RESOLVE_NO_SYMLINKS, unix.ELOOP, 0},
		{"f", linux.RESOLVE_NO_SYMLINKS, nil, baseFIno},
		{"f", linux.RESOLVE_BENEATH | linux.RESOLVE_IN_ROOT, unix.EINVAL, 0},
		{"f", 1 << 40, unix.EINVAL, 0},
	}
	for _, c := range cases {
		st, err := try(c.path, c.resolve)
		wantErr(t, fmt.Sprintf("%q resolve=%#x", c.path, c.resolve), err, c.err)
		if c.err == nil && err == nil && st.Ino != c.ino {
			t.Errorf("%q resolve=%#x: ino %d, want %d", c.path, c.resolve, st.Ino, c.ino)
		}
	}
	// RESOLVE_NO_SYMLINKS with a final symlink not followed (O_PATH|O_NOFOLLOW) succeeds.
	p := &vfs.PathOperation{Root: e.root, Start: base, Path: "rell", Resolve: linux.RESOLVE_NO_SYMLINKS}
	fd, err := e.vfs.OpenAt(e.ctx, e.creds, p, linux.O_PATH|linux.O_NOFOLLOW, 0)
	if err != nil {
		t.Errorf("O_PATH|O_NOFOLLOW with NO_SYMLINKS: %v", err)
	} else {
		fd.DecRef(e.ctx)
	}
}

func TestTrailingSlashAndCreate(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/d", 0o755)
	e.create("/f", 0o644, "x")
	e.mkdir("/newdir/", 0o755)
	_, err := e.open("/newfile/", linux.O_CREAT|linux.O_WRONLY, 0o644)
	wantErr(t, "creat with slash", err, unix.EISDIR)
	_, err = e.open("/f/", linux.O_RDONLY, 0)
	wantErr(t, "open file/", err, unix.ENOTDIR)
	_, err = e.open("/d", linux.O_WRONLY, 0)
	wantErr(t, "open dir for write", err, unix.EISDIR)
	_, err = e.open("/d", linux.O_CREAT|linux.O_RDONLY, 0o644)
	wantErr(t, "O_CREAT on dir", err, unix.EISDIR)
	_, err = e.open("/f", linux.O_RDONLY|linux.O_DIRECTORY, 0)
	wantErr(t, "O_DIRECTORY on file", err, unix.ENOTDIR)
	_, err = e.open("/f", linux.O_CREAT|linux.O_EXCL|linux.O_WRONLY, 0o644)
	wantErr(t, "O_EXCL", err, unix.EEXIST)
	wantErr(t, "mkdir existing", e.vfs.MkdirAt(e.ctx, e.creds, e.pop("/d"), 0o755), unix.EEXIST)
	wantErr(t, "mkdir /", e.vfs.MkdirAt(e.ctx, e.creds, e.pop("/"), 0o755), unix.EEXIST)
	wantErr(t, "mkdir .", e.vfs.MkdirAt(e.ctx, e.creds, e.pop("/d/."), 0o755), unix.EEXIST)
	wantErr(t, "mknod with slash", e.vfs.MknodAt(e.ctx, e.creds, e.pop("/n/"), linux.S_IFIFO|0o644, 0), unix.ENOENT)
	wantErr(t, "mkdir in missing", e.vfs.MkdirAt(e.ctx, e.creds, e.pop("/missing/x"), 0o755), unix.ENOENT)
	wantErr(t, "unlink dir", e.vfs.UnlinkAt(e.ctx, e.creds, e.pop("/d")), unix.EISDIR)
	wantErr(t, "unlink file/", e.vfs.UnlinkAt(e.ctx, e.creds, e.pop("/f/")), unix.ENOTDIR)
	wantErr(t, "unlink /", e.vfs.UnlinkAt(e.ctx, e.creds, e.pop("/")), unix.EISDIR)
	wantErr(t, "rmdir file", e.vfs.RmdirAt(e.ctx, e.creds, e.pop("/f")), unix.ENOTDIR)
	wantErr(t, "rmdir .", e.vfs.RmdirAt(e.ctx, e.creds, e.pop("/d/.")), unix.EINVAL)
	wantErr(t, "rmdir ..", e.vfs.RmdirAt(e.ctx, e.creds, e.pop("/d/..")), unix.ENOTEMPTY)
	wantErr(t, "rmdir /", e.vfs.RmdirAt(e.ctx, e.creds, e.pop("/")), unix.EBUSY)
	e.create("/d/x", 0o644, "")
	wantErr(t, "rmdir nonempty", e.vfs.RmdirAt(e.ctx, e.creds, e.pop("/d")), unix.ENOTEMPTY)
	wantErr(t, "unlink", e.vfs.UnlinkAt(e.ctx, e.creds, e.pop("/d/x")), nil)
	wantErr(t, "rmdir with slash", e.vfs.RmdirAt(e.ctx, e.creds, e.pop("/d/")), nil)
	_, err = e.stat("/d")
	wantErr(t, "after rmdir", err, unix.ENOENT)
	// A FIFO can be created, stat'ed and opened (non-blocking for read,
	// which needs no writer).
	wantErr(t, "mkfifo", e.vfs.MknodAt(e.ctx, e.creds, e.pop("/fifo"), linux.S_IFIFO|0o644, 0), nil)
	st, err := e.stat("/fifo")
	if err != nil || st.Mode&linux.S_IFMT != linux.S_IFIFO {
		t.Errorf("stat fifo: %v %o", err, st.Mode)
	}
	ff, err := e.open("/fifo", linux.O_RDONLY|linux.O_NONBLOCK, 0)
	wantErr(t, "open fifo", err, nil)
	if ff != nil {
		ff.DecRef(e.ctx)
	}
	_, err = e.open("/fifo", linux.O_WRONLY|linux.O_NONBLOCK, 0)
	wantErr(t, "open fifo for writing without a reader", err, unix.ENXIO)
	wantErr(t, "mknod chr as user", e.as(vfs.UserCredentials(5, 5)).vfs.MknodAt(e.ctx, vfs.UserCredentials(5, 5), e.pop("/chr"), linux.S_IFCHR|0o644, linux.MakeDev(1, 3)), unix.EPERM)
	wantErr(t, "mknod chr", e.vfs.MknodAt(e.ctx, e.creds, e.pop("/chr"), linux.S_IFCHR|0o644, linux.MakeDev(1, 3)), nil)
	st, _ = e.stat("/chr")
	if st.RdevMajor != 1 || st.RdevMinor != 3 {
		t.Errorf("rdev %d:%d", st.RdevMajor, st.RdevMinor)
	}
}
