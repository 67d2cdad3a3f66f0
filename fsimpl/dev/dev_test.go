package dev_test

import (
	"bytes"
	"context"
	"sort"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/dev"
	"github.com/palisade-sandbox/palisade/fsimpl/tmpfs"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

type fixture struct {
	t     *testing.T
	ctx   context.Context
	v     *vfs.VirtualFilesystem
	root  vfs.VirtualDentry
	creds *vfs.Credentials
}

// newFixture mounts a /dev on a tmpfs root, as the kernel will.
func newFixture(t *testing.T, opts dev.Options) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), v: vfs.New(), creds: vfs.RootCredentials()}
	ns := f.v.NewMountNamespace(f.v.NewFilesystem(tmpfs.New(tmpfs.Options{MaxSize: 1 << 20})), vfs.MountFlags{})
	f.root = ns.Root()
	t.Cleanup(f.root.DecRef)
	if err := f.v.MkdirAt(f.ctx, f.creds, f.pop("/dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	fs, err := dev.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	target, err := f.v.GetDentryAt(f.ctx, f.creds, f.pop("/dev"))
	if err != nil {
		t.Fatal(err)
	}
	defer target.DecRef()
	if _, err := f.v.MountAt(f.ctx, f.creds, f.v.NewFilesystem(fs), target, vfs.MountFlags{NoSuid: true, NoExec: true}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) pop(p string) *vfs.PathOperation {
	return &vfs.PathOperation{Root: f.root, Start: f.root, Path: p, FollowFinalSymlink: true}
}

func (f *fixture) open(p string, flags uint32) *vfs.FileDescription {
	f.t.Helper()
	fd, err := f.v.OpenAt(f.ctx, f.creds, f.pop(p), flags, 0o644)
	if err != nil {
		f.t.Fatalf("open %s: %v", p, err)
	}
	f.t.Cleanup(func() { fd.DecRef(f.ctx) })
	return fd
}

func (f *fixture) lstat(p string) linux.Statx {
	f.t.Helper()
	pop := f.pop(p)
	pop.FollowFinalSymlink = false
	st, err := f.v.StatAt(f.ctx, f.creds, pop, linux.STATX_BASIC_STATS)
	if err != nil {
		f.t.Fatalf("stat %s: %v", p, err)
	}
	return st
}

func TestDeviceNodes(t *testing.T) {
	f := newFixture(t, dev.Options{})
	for _, c := range []struct {
		name         string
		major, minor uint32
	}{
		{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
	} {
		st := f.lstat("/dev/" + c.name)
		if st.Mode != linux.S_IFCHR|0o666 || st.RdevMajor != c.major || st.RdevMinor != c.minor || st.UID != 0 || st.GID != 0 {
			t.Errorf("/dev/%s: mode %#o rdev %d:%d owner %d:%d", c.name, st.Mode, st.RdevMajor, st.RdevMinor, st.UID, st.GID)
		}
		if st.ToStat().Rdev != unix.Mkdev(c.major, c.minor) {
			t.Errorf("/dev/%s: st_rdev %#x, want %#x", c.name, st.ToStat().Rdev, unix.Mkdev(c.major, c.minor))
		}
	}
	if st := f.lstat("/dev"); st.Mode != linux.S_IFDIR|0o755 || st.UID != 0 {
		t.Errorf("/dev: mode %#o uid %d", st.Mode, st.UID)
	}
	if st := f.lstat("/dev/shm"); st.Mode != linux.S_IFDIR|0o1777 {
		t.Errorf("/dev/shm: mode %#o", st.Mode)
	}
	if st := f.lstat("/dev/pts"); st.Mode != linux.S_IFDIR|0o755 {
		t.Errorf("/dev/pts: mode %#o", st.Mode)
	}
	if _, err := f.v.StatAt(f.ctx, f.creds, f.pop("/dev/ptmx"), 0); err != unix.ENOENT {
		t.Errorf("/dev/ptmx: %v, want ENOENT", err)
	}
	sfs, err := f.v.StatFSAt(f.ctx, f.creds, f.pop("/dev"))
	if err != nil || sfs.Type != linux.TMPFS_MAGIC {
		t.Errorf("statfs /dev: %+v %v", sfs, err)
	}
}

func TestSymlinks(t *testing.T) {
	f := newFixture(t, dev.Options{})
	for name, want := range map[string]string{
		"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2",
	} {
		got, err := f.v.ReadlinkAt(f.ctx, f.creds, f.pop("/dev/"+name))
		if err != nil || got != want {
			t.Errorf("readlink /dev/%s = %q, %v; want %q", name, got, err, want)
		}
		if st := f.lstat("/dev/" + name); st.Mode != linux.S_IFLNK|0o777 {
			t.Errorf("/dev/%s: mode %#o", name, st.Mode)
		}
	}
	// Without a /proc the links dangle.
	if _, err := f.v.OpenAt(f.ctx, f.creds, f.pop("/dev/stdout"), linux.O_WRONLY, 0); err != unix.ENOENT {
		t.Errorf("open /dev/stdout without /proc: %v, want ENOENT", err)
	}
}

func read(t *testing.T, fd *vfs.FileDescription, n int) ([]byte, error) {
	t.Helper()
	buf := make([]byte, n)
	c, err := fd.Read(context.Background(), vfs.BytesIOSequence(buf))
	return buf[:c], err
}

func write(fd *vfs.FileDescription, b []byte) (int64, error) {
	return fd.Write(context.Background(), vfs.BytesIOSequence(b))
}

func TestNullZeroFull(t *testing.T) {
	f := newFixture(t, dev.Options{})
	null := f.open("/dev/null", linux.O_RDWR)
	if b, err := read(t, null, 100); len(b) != 0 || err != nil {
		t.Errorf("read /dev/null: %d bytes, %v", len(b), err)
	}
	if n, err := write(null, make([]byte, 12345)); n != 12345 || err != nil {
		t.Errorf("write /dev/null: %d, %v", n, err)
	}
	// Writes to /dev/null do not read the caller's memory: a bad buffer
	// still succeeds.
	if n, err := null.Write(f.ctx, faultingIO{n: 1 << 30}); n != 1<<30 || err != nil {
		t.Errorf("write /dev/null from a bad buffer: %d, %v", n, err)
	}

	for _, p := range []string{"/dev/zero", "/dev/full"} {
		fd := f.open(p, linux.O_RDWR)
		// A read larger than the bounce buffer is filled completely.
		big := bytes.Repeat([]byte{0xff}, 200<<10)
		n, err := fd.Read(f.ctx, vfs.BytesIOSequence(big))
		if n != int64(len(big)) || err != nil || !bytes.Equal(big, make([]byte, len(big))) {
			t.Errorf("read %s: %d, %v, zeros=%v", p, n, err, bytes.Equal(big, make([]byte, len(big))))
		}
		if _, err := fd.Read(f.ctx, faultingIO{n: 10}); err != unix.EFAULT {
			t.Errorf("read %s into a bad buffer: %v, want EFAULT", p, err)
		}
	}
	zero := f.open("/dev/zero", linux.O_WRONLY)
	if n, err := write(zero, []byte("abc")); n != 3 || err != nil {
		t.Errorf("write /dev/zero: %d, %v", n, err)
	}
	full := f.open("/dev/full", linux.O_WRONLY)
	if n, err := write(full, []byte("abc")); n != 0 || err != unix.ENOSPC {
		t.Errorf("write /dev/full: %d, %v; want ENOSPC", n, err)
	}
	if n, err := write(full, nil); n != 0 || err != nil {
		t.Errorf("empty write /dev/full: %d, %v", n, err)
	}
	// Devices are streams to the VFS.
	if _, err := zero.Seek(f.ctx, 0, linux.SEEK_SET); err != unix.ESPIPE {
		t.Errorf("lseek /dev/zero: %v", err)
	}
	// Access mode is enforced by the description.
	if _, err := read(t, zero, 1); err != unix.EBADF {
		t.Errorf("read of a write-only /dev/zero: %v", err)
	}
	if got := zero.Inode().Attr().Mode; got != linux.S_IFCHR|0o666 {
		t.Errorf("fd inode mode %#o", got)
	}
}

func TestRandom(t *testing.T) {
	f := newFixture(t, dev.Options{})
	for _, p := range []string{"/dev/random", "/dev/urandom"} {
		fd := f.open(p, linux.O_RDWR)
		a, err := read(t, fd, 4096)
		if err != nil || len(a) != 4096 {
			t.Fatalf("read %s: %d, %v", p, len(a), err)
		}
		b, _ := read(t, fd, 4096)
		if bytes.Equal(a, b) || bytes.Equal(a, make([]byte, 4096)) {
			t.Errorf("%s returned repeated or zero data", p)
		}
		// A crude sanity check that the bytes are not constant-ish:
		// 4096 random bytes cover far more than 64 distinct values.
		seen := map[byte]bool{}
		for _, c := range a {
			seen[c] = true
		}
		if len(seen) < 64 {
			t.Errorf("%s: only %d distinct byte values in 4096", p, len(seen))
		}
		if n, err := write(fd, []byte("entropy")); n != 7 || err != nil {
			t.Errorf("write %s: %d, %v", p, n, err)
		}
		if _, err := fd.Write(f.ctx, faultingIO{n: 8}); err != unix.EFAULT {
			t.Errorf("write %s from a bad buffer: %v, want EFAULT", p, err)
		}
	}
}

// faultingIO is an IOSequence whose memory is all inaccessible.
type faultingIO struct{ n int64 }

func (f faultingIO) NumBytes() int64 { return f.n }
func (faultingIO) CopyOutAt(context.Context, int64, []byte) (int, error) {
	return 0, unix.EFAULT
}
func (faultingIO) CopyInAt(context.Context, int64, []byte) (int, error) {
	return 0, unix.EFAULT
}

// ttyHook stands for the kernel's session lookup: it returns impl or
// err and records the flags it was asked to open with.
type ttyHook struct {
	impl  vfs.FileDescriptionImpl
	err   error
	flags uint32
}

func (h *ttyHook) OpenControllingTTY(_ context.Context, flags uint32) (vfs.FileDescriptionImpl, error) {
	h.flags = flags
	return h.impl, h.err
}

type echoFD struct {
	vfs.FileDescriptionDefaultImpl
	buf *bytes.Buffer
}

func (e echoFD) Write(ctx context.Context, src vfs.IOSequence) (int64, error) {
	b := make([]byte, src.NumBytes())
	n, err := src.CopyInAt(ctx, 0, b)
	e.buf.Write(b[:n])
	return int64(n), err
}

func TestTTY(t *testing.T) {
	f := newFixture(t, dev.Options{})
	if _, err := f.v.OpenAt(f.ctx, f.creds, f.pop("/dev/tty"), linux.O_RDWR, 0); err != unix.ENXIO {
		t.Errorf("open /dev/tty without a hook: %v, want ENXIO", err)
	}

	hook := &ttyHook{err: unix.ENXIO}
	f = newFixture(t, dev.Options{ControllingTTY: hook})
	if _, err := f.v.OpenAt(f.ctx, f.creds, f.pop("/dev/tty"), linux.O_RDWR, 0); err != unix.ENXIO {
		t.Errorf("open /dev/tty with no controlling terminal: %v, want ENXIO", err)
	}
	var out bytes.Buffer
	hook.impl, hook.err = echoFD{buf: &out}, nil
	fd := f.open("/dev/tty", linux.O_WRONLY|linux.O_NOCTTY)
	if hook.flags&linux.O_ACCMODE != linux.O_WRONLY || hook.flags&linux.O_NOCTTY == 0 {
		t.Errorf("hook got flags %#x", hook.flags)
	}
	if n, err := write(fd, []byte("hello")); n != 5 || err != nil || out.String() != "hello" {
		t.Errorf("write /dev/tty: %d, %v, terminal got %q", n, err, out.String())
	}
	if st, err := fd.Stat(f.ctx, linux.STATX_BASIC_STATS); err != nil || st.RdevMajor != 5 || st.RdevMinor != 0 {
		t.Errorf("fstat /dev/tty: %+v %v", st, err)
	}
}

func names(t *testing.T, fd *vfs.FileDescription) []string {
	t.Helper()
	var out []string
	err := fd.IterDirents(context.Background(), func(d vfs.Dirent) error {
		out = append(out, d.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestGetdentsAndCreate(t *testing.T) {
	f := newFixture(t, dev.Options{})
	dir := f.open("/dev", linux.O_RDONLY|linux.O_DIRECTORY)
	want := []string{".", "..", "fd", "full", "null", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero"}
	if got := names(t, dir); !equal(got, want) {
		t.Errorf("/dev lists %v, want %v", got, want)
	}
	buf, err := f.open("/dev", linux.O_RDONLY|linux.O_DIRECTORY).Getdents64(f.ctx, 4096)
	if err != nil || len(buf) == 0 {
		t.Errorf("getdents64: %d bytes, %v", len(buf), err)
	}
	if got := names(t, f.open("/dev/pts", linux.O_RDONLY)); !equal(got, []string{".", ".."}) {
		t.Errorf("/dev/pts lists %v", got)
	}

	// Root may create regular files, as in a container's tmpfs /dev.
	fd := f.open("/dev/lockfile", linux.O_RDWR|linux.O_CREAT|linux.O_EXCL)
	if n, err := write(fd, []byte("pid 1\n")); n != 6 || err != nil {
		t.Fatalf("write /dev/lockfile: %d %v", n, err)
	}
	b := make([]byte, 16)
	if n, err := fd.PRead(f.ctx, vfs.BytesIOSequence(b), 0); n != 6 || err != nil || string(b[:6]) != "pid 1\n" {
		t.Errorf("pread /dev/lockfile: %d %v %q", n, err, b[:n])
	}
	want = append(want, "lockfile")
	sort.Strings(want)
	if got := names(t, f.open("/dev", linux.O_RDONLY)); !equal(got, want) {
		t.Errorf("/dev lists %v after create", got)
	}
	// Files in /dev are limited (64 KiB by default).
	if n, err := fd.PWrite(f.ctx, vfs.BytesIOSequence(make([]byte, 1<<20)), 0); n != 64<<10 || err != nil {
		t.Errorf("1 MiB write into /dev: %d, %v; want a short write of 64 KiB", n, err)
	}
	if _, err := fd.PWrite(f.ctx, vfs.BytesIOSequence(make([]byte, 1)), 64<<10); err != unix.ENOSPC {
		t.Errorf("write past the /dev size limit: %v, want ENOSPC", err)
	}
	// Unprivileged users may not create files in /dev (0755 root).
	user := vfs.UserCredentials(1000, 1000)
	if _, err := f.v.OpenAt(f.ctx, user, f.pop("/dev/x"), linux.O_RDWR|linux.O_CREAT, 0o644); err != unix.EACCES {
		t.Errorf("user O_CREAT in /dev: %v, want EACCES", err)
	}
	// ... but may use the devices (0666).
	ufd, err := f.v.OpenAt(f.ctx, user, f.pop("/dev/null"), linux.O_RDWR, 0)
	if err != nil {
		t.Fatalf("user open /dev/null: %v", err)
	}
	ufd.DecRef(f.ctx)
	// ... and /dev/shm is world-writable.
	if err := f.v.MkdirAt(f.ctx, user, f.pop("/dev/shm/mine"), 0o700); err != nil {
		t.Errorf("user mkdir in /dev/shm: %v", err)
	}
	if err := f.v.UnlinkAt(f.ctx, f.creds, f.pop("/dev/lockfile")); err != nil {
		t.Errorf("unlink /dev/lockfile: %v", err)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// mknod of a known device number anywhere in /dev gives that device;
// an unknown number opens with ENXIO. Renames and links keep working
// through the wrapper.
func TestMknodRenameLink(t *testing.T) {
	f := newFixture(t, dev.Options{})
	if err := f.v.MknodAt(f.ctx, f.creds, f.pop("/dev/mynull"), linux.S_IFCHR|0o600, linux.MakeDev(1, 3)); err != nil {
		t.Fatal(err)
	}
	fd := f.open("/dev/mynull", linux.O_RDWR)
	if n, err := write(fd, []byte("x")); n != 1 || err != nil {
		t.Errorf("write /dev/mynull: %d %v", n, err)
	}
	if err := f.v.MknodAt(f.ctx, f.creds, f.pop("/dev/sda"), linux.S_IFCHR|0o600, linux.MakeDev(8, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.OpenAt(f.ctx, f.creds, f.pop("/dev/sda"), linux.O_RDONLY, 0); err != unix.ENXIO {
		t.Errorf("open of a node without a driver: %v, want ENXIO", err)
	}
	if err := f.v.RenameAt(f.ctx, f.creds, f.pop("/dev/mynull"), f.pop("/dev/shm/null2"), 0); err != nil {
		t.Fatalf("rename: %v", err)
	}
	if st := f.lstat("/dev/shm/null2"); st.RdevMajor != 1 || st.RdevMinor != 3 {
		t.Errorf("renamed node rdev %d:%d", st.RdevMajor, st.RdevMinor)
	}
	if err := f.v.LinkAt(f.ctx, f.creds, f.pop("/dev/shm/null2"), f.pop("/dev/null3")); err != nil {
		t.Fatalf("link: %v", err)
	}
	if st := f.lstat("/dev/null3"); st.Nlink != 2 {
		t.Errorf("nlink after link: %d", st.Nlink)
	}
	// Renaming a file onto another name of itself does nothing.
	if err := f.v.RenameAt(f.ctx, f.creds, f.pop("/dev/null3"), f.pop("/dev/shm/null2"), 0); err != nil {
		t.Errorf("rename onto a hard link of itself: %v", err)
	}
	if st := f.lstat("/dev/null3"); st.Nlink != 2 {
		t.Errorf("nlink after self-rename: %d", st.Nlink)
	}
	if err := f.v.RmdirAt(f.ctx, f.creds, f.pop("/dev/pts")); err != nil {
		t.Errorf("rmdir /dev/pts: %v", err)
	}
}

// The kernel mounts a tmpfs on /dev/shm: files made there then live in
// that tmpfs, not in /dev's.
func TestShmMount(t *testing.T) {
	f := newFixture(t, dev.Options{})
	shm := tmpfs.New(tmpfs.Options{MaxSize: 1 << 20, RootMode: 0o1777})
	target, err := f.v.GetDentryAt(f.ctx, f.creds, f.pop("/dev/shm"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.v.MountAt(f.ctx, f.creds, f.v.NewFilesystem(shm), target, vfs.MountFlags{NoSuid: true, NoDev: true})
	target.DecRef()
	if err != nil {
		t.Fatal(err)
	}
	fd := f.open("/dev/shm/seg", linux.O_RDWR|linux.O_CREAT)
	if _, err := write(fd, make([]byte, 200<<10)); err != nil {
		t.Fatalf("200 KiB into /dev/shm: %v", err)
	}
	if shm.UsedPages() != 50 {
		t.Errorf("shm tmpfs holds %d pages, want 50", shm.UsedPages())
	}
	st := f.lstat("/dev/shm")
	if st.Mode != linux.S_IFDIR|0o1777 || st.MntID != m.ID() {
		t.Errorf("/dev/shm after mount: mode %#o mnt %d (want %d)", st.Mode, st.MntID, m.ID())
	}
}
