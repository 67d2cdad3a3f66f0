package gofer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	goferserver "github.com/palisade-sandbox/palisade/gofer"
	"github.com/palisade-sandbox/palisade/p9"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// fixture is a real Gofer server (the gofer package's p9 adapter over a
// Tree, served in this process) on a temporary directory, its client over
// a socketpair, and the filesystem mounted as the root of a mount
// namespace.
type fixture struct {
	tb     testing.TB
	ctx    context.Context
	dir    string
	vfs    *vfs.VirtualFilesystem
	fs     *Filesystem
	client *p9.Client
	root   vfs.VirtualDentry
	creds  *vfs.Credentials
}

func newFixture(tb testing.TB, opts Options, readOnly bool, populate func(dir string)) *fixture {
	tb.Helper()
	dir := tb.TempDir()
	if populate != nil {
		populate(dir)
	}
	tree, err := goferserver.OpenTree(dir, readOnly)
	if err != nil {
		tb.Fatalf("OpenTree: %v", err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		tb.Fatalf("socketpair: %v", err)
	}
	srv := p9.NewServer(goferserver.NewAttacher(tree))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(fds[1]) }()
	client, err := p9.NewClient(fds[0], 1<<20, p9.VersionPalisade)
	if err != nil {
		tb.Fatalf("NewClient: %v", err)
	}
	fs, err := New(client, opts)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	v := vfs.New()
	ns := v.NewMountNamespace(v.NewFilesystem(fs), vfs.MountFlags{})
	f := &fixture{tb: tb, ctx: context.Background(), dir: dir, vfs: v, fs: fs, client: client, root: ns.Root(), creds: vfs.RootCredentials()}
	tb.Cleanup(func() {
		f.root.DecRef()
		fs.FlushClunks()
		client.Close()
		if err := <-served; err != nil {
			tb.Errorf("Serve: %v", err)
		}
		tree.Close()
	})
	return f
}

// noGC turns the garbage collector off for the rest of a test that counts
// round trips: a collection could run the cleanup of an unreachable inode
// and clunk its fid in the middle of a count.
func noGC(t *testing.T) {
	old := debug.SetGCPercent(-1)
	t.Cleanup(func() { debug.SetGCPercent(old) })
}

func (f *fixture) pop(p string) *vfs.PathOperation {
	return &vfs.PathOperation{Root: f.root, Start: f.root, Path: p, FollowFinalSymlink: true}
}

func (f *fixture) lpop(p string) *vfs.PathOperation {
	return &vfs.PathOperation{Root: f.root, Start: f.root, Path: p}
}

func (f *fixture) host(p string) string { return filepath.Join(f.dir, p) }

func (f *fixture) open(p string, flags uint32) *vfs.FileDescription {
	f.tb.Helper()
	fd, err := f.vfs.OpenAt(f.ctx, f.creds, f.pop(p), flags, 0o644)
	if err != nil {
		f.tb.Fatalf("open %s: %v", p, err)
	}
	return fd
}

func (f *fixture) stat(p string) linux.Statx {
	f.tb.Helper()
	st, err := f.vfs.StatAt(f.ctx, f.creds, f.lpop(p), linux.STATX_BASIC_STATS)
	if err != nil {
		f.tb.Fatalf("stat %s: %v", p, err)
	}
	return st
}

func (f *fixture) readAll(p string) string {
	f.tb.Helper()
	fd := f.open(p, linux.O_RDONLY)
	defer fd.DecRef(f.ctx)
	buf := make([]byte, 1<<16)
	n, err := fd.Read(f.ctx, vfs.BytesIOSequence(buf))
	if err != nil {
		f.tb.Fatalf("read %s: %v", p, err)
	}
	return string(buf[:n])
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func wantErr(tb testing.TB, what string, got, want error) {
	tb.Helper()
	if !errors.Is(got, want) {
		tb.Errorf("%s: got %v, want %v", what, got, want)
	}
}

func TestPathResolutionAndSymlinks(t *testing.T) {
	f := newFixture(t, Options{}, false, func(dir string) {
		must(t, os.MkdirAll(filepath.Join(dir, "a/b/c"), 0o755))
		must(t, os.MkdirAll(filepath.Join(dir, "etc"), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, "a/b/c/file"), []byte("hello"), 0o644))
		must(t, os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte("sandbox-passwd"), 0o644))
		must(t, os.Symlink("a/b/c/file", filepath.Join(dir, "rel")))
		must(t, os.Symlink("/a/b/c/file", filepath.Join(dir, "abs")))
		must(t, os.Symlink("/etc/passwd", filepath.Join(dir, "a/b/passwd")))
		must(t, os.Symlink("../../../../../../etc/passwd", filepath.Join(dir, "a/b/up")))
		must(t, os.Symlink("/nonexistent/x", filepath.Join(dir, "dangling")))
		must(t, os.Symlink("loop2", filepath.Join(dir, "loop1")))
		must(t, os.Symlink("loop1", filepath.Join(dir, "loop2")))
	})
	for _, c := range []struct{ path, want string }{
		{"/a/b/c/file", "hello"},
		{"a/./b/../b/c/file", "hello"},
		{"/rel", "hello"},
		{"/abs", "hello"},
		// Absolute symlinks and ".." resolve inside the sandbox's root,
		// never the host's /etc/passwd.
		{"/a/b/passwd", "sandbox-passwd"},
		{"/a/b/up", "sandbox-passwd"},
		{"/../../etc/passwd", "sandbox-passwd"},
	} {
		if got := f.readAll(c.path); got != c.want {
			t.Errorf("read %s = %q, want %q", c.path, got, c.want)
		}
	}
	_, err := f.vfs.OpenAt(f.ctx, f.creds, f.pop("/dangling"), linux.O_RDONLY, 0)
	wantErr(t, "open dangling", err, unix.ENOENT)
	_, err = f.vfs.OpenAt(f.ctx, f.creds, f.pop("/loop1"), linux.O_RDONLY, 0)
	wantErr(t, "open loop", err, unix.ELOOP)
	_, err = f.vfs.OpenAt(f.ctx, f.creds, f.pop("/rel"), linux.O_RDONLY|linux.O_NOFOLLOW, 0)
	wantErr(t, "open O_NOFOLLOW", err, unix.ELOOP)
	_, err = f.vfs.StatAt(f.ctx, f.creds, f.pop("/a/b/c/file/x"), 0)
	wantErr(t, "stat through file", err, unix.ENOTDIR)
	target, err := f.vfs.ReadlinkAt(f.ctx, f.creds, f.pop("/a/b/passwd"))
	if err != nil || target != "/etc/passwd" {
		t.Errorf("readlink = %q, %v", target, err)
	}
	if st := f.stat("/rel"); st.Mode&linux.S_IFMT != linux.S_IFLNK || st.Size != uint64(len("a/b/c/file")) {
		t.Errorf("lstat symlink: mode %o size %d", st.Mode, st.Size)
	}
}

func TestReadWriteDonatedFD(t *testing.T) {
	noGC(t)
	f := newFixture(t, Options{}, false, func(dir string) {
		must(t, os.WriteFile(filepath.Join(dir, "f"), []byte("0123456789"), 0o644))
	})
	fd := f.open("/f", linux.O_RDWR)
	defer fd.DecRef(f.ctx)
	rf := fd.Impl().(*regularFD)
	if rf.hostFD < 0 {
		t.Fatal("the Gofer donated no host fd for a regular file")
	}
	rts := f.client.RoundTrips()
	buf := make([]byte, 4)
	if n, err := fd.PRead(f.ctx, vfs.BytesIOSequence(buf), 3); err != nil || string(buf[:n]) != "3456" {
		t.Fatalf("pread = %q, %v", buf[:n], err)
	}
	if n, err := fd.PWrite(f.ctx, vfs.BytesIOSequence([]byte("ABC")), 8); err != nil || n != 3 {
		t.Fatalf("pwrite = %d, %v", n, err)
	}
	if got := f.client.RoundTrips() - rts; got != 0 {
		t.Errorf("I/O on a donated fd took %d round trips, want 0", got)
	}
	if b, _ := os.ReadFile(f.host("f")); string(b) != "01234567ABC" {
		t.Errorf("host file = %q", b)
	}
	// The write made the cached size stale: stat sees the new one.
	if st := f.stat("/f"); st.Size != 11 {
		t.Errorf("size after write %d, want 11", st.Size)
	}
	// O_APPEND writes go to the end whatever the offset.
	afd := f.open("/f", linux.O_WRONLY|linux.O_APPEND)
	defer afd.DecRef(f.ctx)
	if _, err := afd.PWrite(f.ctx, vfs.BytesIOSequence([]byte("Z")), 0); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(f.host("f")); string(b) != "01234567ABCZ" {
		t.Errorf("host file after append = %q", b)
	}
	// lseek SEEK_END and reading to EOF.
	if off, err := fd.Seek(f.ctx, -2, linux.SEEK_END); err != nil || off != 10 {
		t.Errorf("seek end = %d, %v", off, err)
	}
	big := make([]byte, 100)
	if n, err := fd.Read(f.ctx, vfs.BytesIOSequence(big)); err != nil || string(big[:n]) != "CZ" {
		t.Errorf("read at end = %q, %v", big[:n], err)
	}
	must(t, fd.Sync(f.ctx))

	// Without a donated fd, the same operations go through Tread/Twrite.
	rf.host.Close()
	rf.host, rf.hostFD = nil, -1
	rts = f.client.RoundTrips()
	if n, err := fd.PRead(f.ctx, vfs.BytesIOSequence(buf), 0); err != nil || string(buf[:n]) != "0123" {
		t.Fatalf("Tread pread = %q, %v", buf[:n], err)
	}
	if n, err := fd.PWrite(f.ctx, vfs.BytesIOSequence([]byte("xy")), 0); err != nil || n != 2 {
		t.Fatalf("Twrite pwrite = %d, %v", n, err)
	}
	if n, err := fd.PRead(f.ctx, vfs.BytesIOSequence(big), 8); err != nil || string(big[:n]) != "ABCZ" {
		t.Fatalf("Tread to EOF = %q, %v", big[:n], err)
	}
	if f.client.RoundTrips() == rts {
		t.Error("fallback I/O made no round trips")
	}
	if b, _ := os.ReadFile(f.host("f")); string(b) != "xy234567ABCZ" {
		t.Errorf("host file after Twrite = %q", b)
	}
	must(t, fd.Sync(f.ctx))
	if off, err := fd.Seek(f.ctx, 0, linux.SEEK_END); err != nil || off != 12 {
		t.Errorf("seek end via getattr = %d, %v", off, err)
	}
}

func TestNamespaceOperations(t *testing.T) {
	f := newFixture(t, Options{}, false, nil)
	fd := f.open("/new", linux.O_CREAT|linux.O_EXCL|linux.O_RDWR)
	if fd.Impl().(*regularFD).hostFD < 0 {
		t.Error("created file has no donated fd")
	}
	if _, err := fd.Write(f.ctx, vfs.BytesIOSequence([]byte("data"))); err != nil {
		t.Fatal(err)
	}
	fd.DecRef(f.ctx)
	if b, err := os.ReadFile(f.host("new")); err != nil || string(b) != "data" {
		t.Fatalf("host new = %q, %v", b, err)
	}
	if st, _ := os.Lstat(f.host("new")); st.Mode().Perm() != 0o644 {
		t.Errorf("created mode %v", st.Mode())
	}
	_, err := f.vfs.OpenAt(f.ctx, f.creds, f.pop("/new"), linux.O_CREAT|linux.O_EXCL|linux.O_RDWR, 0o644)
	wantErr(t, "O_EXCL on existing", err, unix.EEXIST)

	must(t, f.vfs.MkdirAt(f.ctx, f.creds, f.pop("/d"), 0o750))
	if st, err := os.Lstat(f.host("d")); err != nil || !st.IsDir() || st.Mode().Perm() != 0o750 {
		t.Fatalf("host d: %v %v", st, err)
	}
	wantErr(t, "mkdir existing", f.vfs.MkdirAt(f.ctx, f.creds, f.pop("/d"), 0o755), unix.EEXIST)
	must(t, f.vfs.RenameAt(f.ctx, f.creds, f.pop("/new"), f.pop("/d/moved"), 0))
	if _, err := os.Lstat(f.host("new")); !os.IsNotExist(err) {
		t.Errorf("old name still on host: %v", err)
	}
	if got := f.readAll("/d/moved"); got != "data" {
		t.Errorf("moved content %q", got)
	}
	_, err = f.vfs.StatAt(f.ctx, f.creds, f.pop("/new"), 0)
	wantErr(t, "stat old name", err, unix.ENOENT)

	must(t, f.vfs.LinkAt(f.ctx, f.creds, f.lpop("/d/moved"), f.pop("/hard")))
	a, b := f.stat("/d/moved"), f.stat("/hard")
	if a.Ino != b.Ino || a.Nlink != 2 || b.Nlink != 2 {
		t.Errorf("hard link: ino %d/%d nlink %d/%d", a.Ino, b.Ino, a.Nlink, b.Nlink)
	}
	must(t, f.vfs.UnlinkAt(f.ctx, f.creds, f.pop("/hard")))
	if st := f.stat("/d/moved"); st.Nlink != 1 {
		t.Errorf("nlink after unlink %d", st.Nlink)
	}
	if _, err := os.Lstat(f.host("hard")); !os.IsNotExist(err) {
		t.Errorf("unlinked name still on host: %v", err)
	}

	must(t, f.vfs.SymlinkAt(f.ctx, f.creds, f.pop("/sl"), "d/moved"))
	if tgt, err := os.Readlink(f.host("sl")); err != nil || tgt != "d/moved" {
		t.Errorf("host symlink %q %v", tgt, err)
	}
	if got := f.readAll("/sl"); got != "data" {
		t.Errorf("through new symlink %q", got)
	}
	must(t, f.vfs.MknodAt(f.ctx, f.creds, f.pop("/fifo"), linux.S_IFIFO|0o600, 0))
	if st, err := os.Lstat(f.host("fifo")); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("host fifo %v %v", st, err)
	}
	if st := f.stat("/fifo"); st.Mode&linux.S_IFMT != linux.S_IFIFO {
		t.Errorf("fifo mode %o", st.Mode)
	}
	wantErr(t, "mknod chr", f.vfs.MknodAt(f.ctx, f.creds, f.pop("/chr"), linux.S_IFCHR|0o600, linux.MakeDev(1, 3)), unix.EPERM)

	wantErr(t, "rmdir non-empty", f.vfs.RmdirAt(f.ctx, f.creds, f.pop("/d")), unix.ENOTEMPTY)
	must(t, f.vfs.UnlinkAt(f.ctx, f.creds, f.pop("/d/moved")))
	must(t, f.vfs.RmdirAt(f.ctx, f.creds, f.pop("/d")))
	if _, err := os.Lstat(f.host("d")); !os.IsNotExist(err) {
		t.Errorf("rmdir'd dir still on host: %v", err)
	}
	// Recreate a removed name: the negative entry must go.
	must(t, f.vfs.MkdirAt(f.ctx, f.creds, f.pop("/d"), 0o755))
	f.stat("/d")

	// rename over an existing file replaces it.
	must(t, os.WriteFile(f.host("x"), []byte("x"), 0o644))
	must(t, os.WriteFile(f.host("y"), []byte("y"), 0o644))
	must(t, f.vfs.RenameAt(f.ctx, f.creds, f.pop("/x"), f.pop("/y"), 0))
	if got := f.readAll("/y"); got != "x" {
		t.Errorf("after rename over: %q", got)
	}
	wantErr(t, "RENAME_EXCHANGE", f.vfs.RenameAt(f.ctx, f.creds, f.pop("/y"), f.pop("/sl"), linux.RENAME_EXCHANGE), unix.EINVAL)

	// Files created for another user get that owner.
	user := vfs.UserCredentials(1234, 5678)
	// (Through the VFS: a chmod behind the Sentry's back is not seen
	// without Options.Revalidate.)
	must(t, f.vfs.SetStatAt(f.ctx, f.creds, f.pop("/"), vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_MODE, Mode: 0o777}}))
	ufd, err := f.vfs.OpenAt(f.ctx, user, f.pop("/userfile"), linux.O_CREAT|linux.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ufd.DecRef(f.ctx)
	var hst unix.Stat_t
	must(t, unix.Lstat(f.host("userfile"), &hst))
	if hst.Uid != 1234 || hst.Gid != 5678 {
		t.Errorf("host owner %d:%d, want 1234:5678", hst.Uid, hst.Gid)
	}
	if st := f.stat("/userfile"); st.UID != 1234 || st.GID != 5678 {
		t.Errorf("stat owner %d:%d", st.UID, st.GID)
	}
}

// parseDirents decodes linux_dirent64 records.
func parseDirents(t *testing.T, b []byte) (names []string, inos []uint64, offs []int64) {
	for len(b) > 0 {
		if len(b) < 19 {
			t.Fatalf("short dirent %d", len(b))
		}
		ino := binary.LittleEndian.Uint64(b)
		off := int64(binary.LittleEndian.Uint64(b[8:]))
		reclen := int(binary.LittleEndian.Uint16(b[16:]))
		name := b[19:reclen]
		name = name[:bytes.IndexByte(name, 0)]
		names = append(names, string(name))
		inos = append(inos, ino)
		offs = append(offs, off)
		b = b[reclen:]
	}
	return
}

func TestGetdents1000(t *testing.T) {
	const n = 1000
	want := []string{".", ".."}
	f := newFixture(t, Options{}, false, func(dir string) {
		must(t, os.Mkdir(filepath.Join(dir, "big"), 0o755))
		for k := range n {
			name := fmt.Sprintf("entry-%04d-%s", k, strings.Repeat("x", k%40))
			want = append(want, name)
			must(t, os.WriteFile(filepath.Join(dir, "big", name), nil, 0o644))
		}
	})
	sort.Strings(want)
	fd := f.open("/big", linux.O_RDONLY|linux.O_DIRECTORY)
	defer fd.DecRef(f.ctx)
	var got []string
	var inos []uint64
	var offs []int64
	calls := 0
	for {
		b, err := fd.Getdents64(f.ctx, 1024)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			break
		}
		calls++
		nm, in, of := parseDirents(t, b)
		got, inos, offs = append(got, nm...), append(inos, in...), append(offs, of...)
	}
	gs := slices.Clone(got)
	sort.Strings(gs)
	if !slices.Equal(gs, want) {
		t.Fatalf("getdents: %d names, want %d (first %v)", len(gs), len(want), gs[:min(5, len(gs))])
	}
	if calls < 20 {
		t.Errorf("only %d getdents calls with a 1 KiB buffer", calls)
	}
	// d_ino is the inode number stat reports.
	for k := 0; k < len(got); k += 97 {
		if got[k] == "." || got[k] == ".." {
			continue
		}
		if st := f.stat("/big/" + got[k]); st.Ino != inos[k] {
			t.Errorf("%s: d_ino %d, stat ino %d", got[k], inos[k], st.Ino)
		}
	}
	// Offsets are stable: seeking to an entry's d_off continues after it.
	mid := len(got) / 2
	if _, err := fd.Seek(f.ctx, offs[mid], linux.SEEK_SET); err != nil {
		t.Fatal(err)
	}
	b, err := fd.Getdents64(f.ctx, 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	rest, _, _ := parseDirents(t, b)
	if len(rest) == 0 || rest[0] != got[mid+1] {
		t.Errorf("after seek to d_off of %s: got %v, want %s first", got[mid], rest[:min(1, len(rest))], got[mid+1])
	}
	if _, err := fd.Seek(f.ctx, 0, linux.SEEK_END); err == nil {
		t.Error("SEEK_END on a directory succeeded")
	}
}

// checkStat compares a VFS stat with the host's fstatat for the same file.
func checkStat(t *testing.T, what string, st linux.Statx, h *unix.Stat_t, withATime bool) {
	t.Helper()
	ts := func(s linux.StatxTimestamp) unix.Timespec { return unix.Timespec{Sec: s.Sec, Nsec: int64(s.Nsec)} }
	type pair struct {
		name      string
		got, want any
	}
	ps := []pair{
		{"mode", uint32(st.Mode), h.Mode},
		{"nlink", uint64(st.Nlink), h.Nlink},
		{"uid", st.UID, h.Uid},
		{"gid", st.GID, h.Gid},
		{"size", st.Size, uint64(h.Size)},
		{"blocks", st.Blocks, uint64(h.Blocks)},
		{"blksize", int64(st.Blksize), int64(h.Blksize)},
		{"mtime", ts(st.Mtime), h.Mtim},
		{"ctime", ts(st.Ctime), h.Ctim},
		{"rdev", linux.MakeDev(st.RdevMajor, st.RdevMinor), h.Rdev},
	}
	if withATime {
		ps = append(ps, pair{"atime", ts(st.Atime), h.Atim})
	}
	for _, p := range ps {
		if p.got != p.want {
			t.Errorf("%s: %s = %v, host %v", what, p.name, p.got, p.want)
		}
	}
	if st.Mask&linux.STATX_BASIC_STATS != linux.STATX_BASIC_STATS {
		t.Errorf("%s: mask %#x lacks basic stats", what, st.Mask)
	}
}

func TestStatMatchesHost(t *testing.T) {
	f := newFixture(t, Options{}, false, func(dir string) {
		must(t, os.MkdirAll(filepath.Join(dir, "dir/sub"), 0o711))
		must(t, os.WriteFile(filepath.Join(dir, "dir/file"), bytes.Repeat([]byte("z"), 10000), 0o640))
		must(t, os.Link(filepath.Join(dir, "dir/file"), filepath.Join(dir, "hard")))
		must(t, os.Symlink("dir/file", filepath.Join(dir, "sym")))
		must(t, unix.Mkfifo(filepath.Join(dir, "fifo"), 0o620))
		must(t, os.Chown(filepath.Join(dir, "dir/file"), 321, 654))
	})
	paths := []string{"dir", "dir/sub", "dir/file", "hard", "sym", "fifo", ""}
	inos := map[uint64]string{}
	for _, p := range paths {
		var h unix.Stat_t
		must(t, unix.Fstatat(unix.AT_FDCWD, f.host(p), &h, unix.AT_SYMLINK_NOFOLLOW))
		st := f.stat("/" + p)
		checkStat(t, "/"+p, st, &h, true)
		if other, ok := inos[st.Ino]; ok && !(p == "hard" && other == "dir/file") {
			t.Errorf("%s and %s share ino %d", p, other, st.Ino)
		}
		inos[st.Ino] = p
	}
	if f.stat("/hard").Ino != f.stat("/dir/file").Ino {
		t.Error("hard links have different inode numbers")
	}
	// The inode number is stable: after the VFS drops its dentries, a new
	// lookup reports the same one.
	before := f.stat("/dir/file").Ino
	f.vfs.SetDentryCacheSize(1)
	f.vfs.SetDentryCacheSize(vfs.DefaultDentryCacheSize)
	if after := f.stat("/dir/file").Ino; after != before {
		t.Errorf("ino changed from %d to %d", before, after)
	}
	// Directory and file stats after local changes still match the host.
	fd := f.open("/dir/file", linux.O_WRONLY)
	if _, err := fd.PWrite(f.ctx, vfs.BytesIOSequence(make([]byte, 50000)), 20000); err != nil {
		t.Fatal(err)
	}
	fd.DecRef(f.ctx)
	must(t, f.vfs.MkdirAt(f.ctx, f.creds, f.pop("/dir/sub2"), 0o700))
	for _, p := range []string{"dir", "dir/file", "hard"} {
		var h unix.Stat_t
		must(t, unix.Fstatat(unix.AT_FDCWD, f.host(p), &h, unix.AT_SYMLINK_NOFOLLOW))
		checkStat(t, "after changes /"+p, f.stat("/"+p), &h, false)
	}

	sfs, err := f.vfs.StatFSAt(f.ctx, f.creds, f.pop("/dir"))
	if err != nil {
		t.Fatal(err)
	}
	var hs unix.Statfs_t
	must(t, unix.Statfs(f.dir, &hs))
	if sfs.Type != hs.Type || sfs.BlockSize != hs.Bsize || sfs.Blocks != hs.Blocks || sfs.NameLength != hs.Namelen {
		t.Errorf("statfs %+v, host %+v", sfs, hs)
	}
}

func TestSetStat(t *testing.T) {
	noGC(t)
	f := newFixture(t, Options{}, false, func(dir string) {
		must(t, os.WriteFile(filepath.Join(dir, "f"), []byte("0123456789"), 0o644))
	})
	f.stat("/f") // cache the attributes first.
	rts := f.client.RoundTrips()
	opts := vfs.SetStatOptions{Stat: linux.Statx{
		Mask:  linux.STATX_MODE | linux.STATX_UID | linux.STATX_GID | linux.STATX_SIZE | linux.STATX_ATIME | linux.STATX_MTIME,
		Mode:  0o600,
		UID:   11,
		GID:   22,
		Size:  4,
		Atime: linux.StatxTimestamp{Sec: 1000, Nsec: 5},
		Mtime: linux.StatxTimestamp{Sec: 2000, Nsec: 7},
	}}
	must(t, f.vfs.SetStatAt(f.ctx, f.creds, f.pop("/f"), opts))
	if got := f.client.RoundTrips() - rts; got != 1 {
		t.Errorf("setstat took %d round trips, want 1 Tsetattr", got)
	}
	var h unix.Stat_t
	must(t, unix.Lstat(f.host("f"), &h))
	if h.Mode&0o7777 != 0o600 || h.Uid != 11 || h.Gid != 22 || h.Size != 4 || h.Atim.Sec != 1000 || h.Atim.Nsec != 5 || h.Mtim.Sec != 2000 || h.Mtim.Nsec != 7 {
		t.Errorf("host after setstat: mode %o uid %d gid %d size %d atime %v mtime %v", h.Mode, h.Uid, h.Gid, h.Size, h.Atim, h.Mtim)
	}
	checkStat(t, "after setstat", f.stat("/f"), &h, true)
	if a := f.root.Dentry.Inode(); a == nil {
		t.Fatal("no root inode")
	}
	// Times "now" (utimensat with NULL).
	now := vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_ATIME | linux.STATX_MTIME}, TimesNow: true}
	must(t, f.vfs.SetStatAt(f.ctx, f.creds, f.pop("/f"), now))
	must(t, unix.Lstat(f.host("f"), &h))
	if h.Mtim.Sec < 1_000_000_000 {
		t.Errorf("mtime not set to now: %v", h.Mtim)
	}
	checkStat(t, "after utimes now", f.stat("/f"), &h, true)
	// O_TRUNC goes through SetStat.
	fd := f.open("/f", linux.O_WRONLY|linux.O_TRUNC)
	fd.DecRef(f.ctx)
	if st := f.stat("/f"); st.Size != 0 {
		t.Errorf("size after O_TRUNC %d", st.Size)
	}
}

func TestReadOnlyTree(t *testing.T) {
	f := newFixture(t, Options{}, true, func(dir string) {
		must(t, os.Mkdir(filepath.Join(dir, "d"), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, "d/f"), []byte("ro"), 0o644))
	})
	if got := f.readAll("/d/f"); got != "ro" {
		t.Errorf("read %q", got)
	}
	wantErr(t, "mkdir", f.vfs.MkdirAt(f.ctx, f.creds, f.pop("/d/x"), 0o755), unix.EROFS)
	_, err := f.vfs.OpenAt(f.ctx, f.creds, f.pop("/d/new"), linux.O_CREAT|linux.O_WRONLY, 0o644)
	wantErr(t, "create", err, unix.EROFS)
	_, err = f.vfs.OpenAt(f.ctx, f.creds, f.pop("/d/f"), linux.O_WRONLY, 0)
	wantErr(t, "open for write", err, unix.EROFS)
	wantErr(t, "unlink", f.vfs.UnlinkAt(f.ctx, f.creds, f.pop("/d/f")), unix.EROFS)
	wantErr(t, "rename", f.vfs.RenameAt(f.ctx, f.creds, f.pop("/d/f"), f.pop("/d/g"), 0), unix.EROFS)
	wantErr(t, "symlink", f.vfs.SymlinkAt(f.ctx, f.creds, f.pop("/d/s"), "f"), unix.EROFS)
	opts := vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_MODE, Mode: 0o600}}
	wantErr(t, "chmod", f.vfs.SetStatAt(f.ctx, f.creds, f.pop("/d/f"), opts), unix.EROFS)
	if st := f.stat("/d/f"); st.Mode&0o777 != 0o644 {
		t.Errorf("mode changed to %o by a failed chmod", st.Mode)
	}
	if b, _ := os.ReadFile(filepath.Join(f.dir, "d/f")); string(b) != "ro" {
		t.Errorf("host file changed: %q", b)
	}
}

// TestStatCaching counts 9P round trips: a cold stat of a deep path walks
// each component once (one Twalkgetattr each); a second stat of the same
// path, and of a missing name, costs nothing.
func TestStatCaching(t *testing.T) {
	noGC(t)
	const depth = 10
	names := make([]string, depth)
	for k := range names {
		names[k] = fmt.Sprintf("d%d", k)
	}
	deep := "/" + strings.Join(names, "/") + "/file"
	populate := func(dir string) {
		must(t, os.MkdirAll(filepath.Join(dir, filepath.Join(names...)), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, deep), []byte("x"), 0o644))
	}
	f := newFixture(t, Options{}, false, populate)
	rts := f.client.RoundTrips()
	f.stat(deep)
	cold := f.client.RoundTrips() - rts
	if cold != depth+1 {
		t.Errorf("cold stat of %d components: %d round trips, want %d", depth+1, cold, depth+1)
	}
	rts = f.client.RoundTrips()
	f.stat(deep)
	if warm := f.client.RoundTrips() - rts; warm != 0 {
		t.Errorf("second stat: %d round trips, want 0", warm)
	}
	t.Logf("stat of a %d-component path: cold %d round trips, warm 0", depth+1, cold)

	// Negative entries.
	missing := "/" + strings.Join(names[:5], "/") + "/missing"
	_, err := f.vfs.StatAt(f.ctx, f.creds, f.pop(missing), 0)
	wantErr(t, "stat missing", err, unix.ENOENT)
	rts = f.client.RoundTrips()
	_, err = f.vfs.StatAt(f.ctx, f.creds, f.pop(missing), 0)
	wantErr(t, "stat missing again", err, unix.ENOENT)
	if got := f.client.RoundTrips() - rts; got != 0 {
		t.Errorf("second stat of a missing name: %d round trips", got)
	}
	// A local create replaces the negative entry.
	must(t, f.vfs.MkdirAt(f.ctx, f.creds, f.pop(missing), 0o755))
	f.stat(missing)

	// Evicted dentries are looked up again, and find the same inode.
	ino := f.stat(deep).Ino
	f.vfs.SetDentryCacheSize(1)
	f.vfs.SetDentryCacheSize(vfs.DefaultDentryCacheSize)
	if got := f.stat(deep).Ino; got != ino {
		t.Errorf("ino after eviction %d, want %d", got, ino)
	}

	// With Revalidate, a warm stat re-reads the file's attributes (one
	// Tgetattr) and sees changes made behind the Sentry's back.
	r := newFixture(t, Options{Revalidate: true}, false, populate)
	r.stat(deep)
	must(t, os.WriteFile(filepath.Join(r.dir, deep), []byte("longer"), 0o644))
	rts = r.client.RoundTrips()
	if st := r.stat(deep); st.Size != 6 {
		t.Errorf("revalidated size %d, want 6", st.Size)
	}
	if got := r.client.RoundTrips() - rts; got != 1 {
		t.Errorf("revalidating stat: %d round trips, want 1", got)
	}
	_, err = r.vfs.StatAt(r.ctx, r.creds, r.pop("/nothere"), 0)
	wantErr(t, "stat missing", err, unix.ENOENT)
	must(t, os.WriteFile(filepath.Join(r.dir, "nothere"), nil, 0o644))
	if _, err := r.vfs.StatAt(r.ctx, r.creds, r.pop("/nothere"), 0); err != nil {
		t.Errorf("revalidate: file created on the host not found: %v", err)
	}
}

func TestXattrs(t *testing.T) {
	f := newFixture(t, Options{}, false, func(dir string) {
		must(t, os.WriteFile(filepath.Join(dir, "f"), nil, 0o644))
	})
	if err := unix.Setxattr(f.host("f"), "user.probe", []byte("1"), 0); err != nil {
		t.Skipf("host filesystem of %s has no user xattrs: %v", f.dir, err)
	}
	must(t, unix.Removexattr(f.host("f"), "user.probe"))
	pop := f.pop("/f")
	must(t, f.vfs.SetXattrAt(f.ctx, f.creds, pop, "user.k", "value", 0))
	wantErr(t, "XATTR_CREATE on existing", f.vfs.SetXattrAt(f.ctx, f.creds, pop, "user.k", "v2", linux.XATTR_CREATE), unix.EEXIST)
	if v, err := f.vfs.GetXattrAt(f.ctx, f.creds, pop, "user.k"); err != nil || v != "value" {
		t.Errorf("getxattr = %q, %v", v, err)
	}
	buf := make([]byte, 64)
	if n, err := unix.Getxattr(f.host("f"), "user.k", buf); err != nil || string(buf[:n]) != "value" {
		t.Errorf("host xattr = %q, %v", buf[:n], err)
	}
	if names, err := f.vfs.ListXattrAt(f.ctx, f.creds, pop); err != nil || !slices.Contains(names, "user.k") {
		t.Errorf("listxattr = %v, %v", names, err)
	}
	must(t, f.vfs.RemoveXattrAt(f.ctx, f.creds, pop, "user.k"))
	_, err := f.vfs.GetXattrAt(f.ctx, f.creds, pop, "user.k")
	wantErr(t, "getxattr removed", err, unix.ENODATA)
}

// TestFidsReleased checks that inodes the VFS no longer references give
// their fids back: the QID table shrinks after the dentries are evicted
// and the garbage collector ran.
func TestFidsReleased(t *testing.T) {
	const n = 200
	f := newFixture(t, Options{}, false, func(dir string) {
		for k := range n {
			must(t, os.WriteFile(filepath.Join(dir, fmt.Sprint(k)), nil, 0o644))
		}
	})
	for k := range n {
		f.stat(fmt.Sprintf("/%d", k))
	}
	size := func() int {
		f.fs.mu.Lock()
		defer f.fs.mu.Unlock()
		return len(f.fs.inodes)
	}
	if got := size(); got < n {
		t.Fatalf("%d inodes after %d lookups", got, n)
	}
	f.vfs.SetDentryCacheSize(1)
	for range 10 {
		runtime.GC()
		f.fs.FlushClunks()
		if size() < n/2 {
			break
		}
	}
	if got := size(); got >= n/2 {
		t.Errorf("%d inodes still tracked after eviction and GC", got)
	}
	// Everything still works after fids were clunked.
	if st := f.stat("/7"); st.Size != 0 {
		t.Errorf("stat after release: size %d", st.Size)
	}
}

// TestConcurrent runs creates, writes, renames, stats, getdents and
// unlinks from several goroutines on one filesystem (run it with -race).
func TestConcurrent(t *testing.T) {
	f := newFixture(t, Options{}, false, func(dir string) {
		must(t, os.MkdirAll(filepath.Join(dir, "shared/a/b"), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, "shared/a/b/f"), []byte("s"), 0o644))
	})
	const workers, rounds = 4, 30
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			errs <- func() error {
				for r := range rounds {
					p := fmt.Sprintf("/w%d-%d", w, r)
					fd, err := f.vfs.OpenAt(f.ctx, f.creds, f.pop(p), linux.O_CREAT|linux.O_RDWR, 0o644)
					if err != nil {
						return fmt.Errorf("create %s: %w", p, err)
					}
					_, err = fd.Write(f.ctx, vfs.BytesIOSequence([]byte(p)))
					fd.DecRef(f.ctx)
					if err != nil {
						return err
					}
					if _, err := f.vfs.StatAt(f.ctx, f.creds, f.pop("/shared/a/b/f"), 0); err != nil {
						return err
					}
					q := p + ".renamed"
					if err := f.vfs.RenameAt(f.ctx, f.creds, f.pop(p), f.pop(q), 0); err != nil {
						return fmt.Errorf("rename %s: %w", p, err)
					}
					st, err := f.vfs.StatAt(f.ctx, f.creds, f.pop(q), linux.STATX_SIZE)
					if err != nil || st.Size != uint64(len(p)) {
						return fmt.Errorf("stat %s: size %d, %v", q, st.Size, err)
					}
					dfd, err := f.vfs.OpenAt(f.ctx, f.creds, f.pop("/"), linux.O_RDONLY|linux.O_DIRECTORY, 0)
					if err != nil {
						return err
					}
					for {
						b, err := dfd.Getdents64(f.ctx, 512)
						if err != nil {
							dfd.DecRef(f.ctx)
							return fmt.Errorf("getdents: %w", err)
						}
						if len(b) == 0 {
							break
						}
					}
					dfd.DecRef(f.ctx)
					if err := f.vfs.UnlinkAt(f.ctx, f.creds, f.pop(q)); err != nil {
						return fmt.Errorf("unlink %s: %w", q, err)
					}
				}
				return nil
			}()
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	ents, err := os.ReadDir(f.dir)
	if err != nil || len(ents) != 1 {
		t.Errorf("host root after the workers: %v, %v", ents, err)
	}
}

// hostileAttacher serves the gofer package's tree through files that lie:
// directory entries with impossible names, empty symlink targets and
// absurd attributes.
type hostileAttacher struct{ inner p9.Attacher }

func (a hostileAttacher) Attach(aname string, uid p9.UID) (p9.File, error) {
	f, err := a.inner.Attach(aname, uid)
	if err != nil {
		return nil, err
	}
	return hostileFile{f}, nil
}

type hostileFile struct{ p9.File }

func (h hostileFile) Walk(names []string) ([]p9.QID, p9.File, error) {
	q, f, err := h.File.Walk(names)
	if f != nil {
		f = hostileFile{f}
	}
	return q, f, err
}

func (h hostileFile) Clone() (p9.File, error) {
	f, err := h.File.Clone()
	if f != nil {
		f = hostileFile{f}
	}
	return f, err
}

func (h hostileFile) GetAttr(m p9.AttrMask) (p9.QID, p9.AttrMask, p9.Attr, error) {
	q, v, a, err := h.File.GetAttr(m)
	if a.Mode.FileType() == p9.ModeRegular {
		a.NLink = 1 << 40
		a.MTimeNanoSeconds = 1 << 62
		a.BlockSize = 1 << 50
	}
	return q, v, a, err
}

func (h hostileFile) Readdir(off uint64, count uint32) ([]p9.Dirent, error) {
	ents, err := h.File.Readdir(off, count)
	for k := range ents {
		if ents[k].Name == "victim" {
			ents[k].Name = "../../etc/passwd"
		}
	}
	return ents, err
}

func (h hostileFile) Readlink() (string, error) { return "", nil }

func TestHostileGofer(t *testing.T) {
	dir := t.TempDir()
	must(t, os.Mkdir(filepath.Join(dir, "d"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "d/victim"), nil, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644))
	must(t, os.Symlink("f", filepath.Join(dir, "sl")))
	tree, err := goferserver.OpenTree(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- p9.NewServer(hostileAttacher{goferserver.NewAttacher(tree)}).Serve(fds[1]) }()
	client, err := p9.NewClient(fds[0], 1<<20, p9.Version9P2000L)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { client.Close(); <-served }()
	fs, err := New(client, Options{})
	if err != nil {
		t.Fatal(err)
	}
	v := vfs.New()
	root := v.NewMountNamespace(v.NewFilesystem(fs), vfs.MountFlags{}).Root()
	defer root.DecRef()
	ctx, creds := context.Background(), vfs.RootCredentials()
	pop := func(p string) *vfs.PathOperation {
		return &vfs.PathOperation{Root: root, Start: root, Path: p}
	}
	fd, err := v.OpenAt(ctx, creds, pop("/d"), linux.O_RDONLY|linux.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var gerr error
	for range 10 {
		var b []byte
		if b, gerr = fd.Getdents64(ctx, 4096); gerr != nil || len(b) == 0 {
			break
		}
	}
	fd.DecRef(ctx)
	wantErr(t, "getdents with a bad name", gerr, unix.EIO)
	_, err = v.ReadlinkAt(ctx, creds, pop("/sl"))
	wantErr(t, "empty readlink", err, unix.EIO)
	st, err := v.StatAt(ctx, creds, pop("/f"), linux.STATX_BASIC_STATS)
	if err != nil {
		t.Fatal(err)
	}
	if st.Nlink != ^uint32(0) || st.Mtime.Nsec > 999_999_999 || st.Blksize > 1<<30 {
		t.Errorf("hostile attributes not clamped: nlink %d mtime nsec %d blksize %d", st.Nlink, st.Mtime.Nsec, st.Blksize)
	}
	fs.FlushClunks()
}

// TestRoundTripCounts pins down what the common operations cost in 9P
// requests once the path is cached.
func TestRoundTripCounts(t *testing.T) {
	noGC(t)
	f := newFixture(t, Options{}, false, func(dir string) {
		must(t, os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644))
	})
	f.stat("/f")
	count := func(what string, want uint64, op func()) {
		t.Helper()
		f.fs.FlushClunks()
		rts := f.client.RoundTrips()
		op()
		f.fs.FlushClunks()
		got := f.client.RoundTrips() - rts
		t.Logf("%s: %d round trips", what, got)
		if got != want {
			t.Errorf("%s: %d round trips, want %d", what, got, want)
		}
	}
	// Open: Twalk (clone) + Tlopen; close: Tclunk.
	count("open+close of a cached file", 3, func() { f.open("/f", linux.O_RDONLY).DecRef(f.ctx) })
	// O_CREAT: the VFS's lookup of the name first (a Twalkgetattr that
	// fails, cached as a negative entry), then Twalk (clone of the
	// directory) + Tlcreate + Twalkgetattr for the inode's own fid; the
	// open after it uses the created fid; close: Tclunk.
	count("O_CREAT open+close of a new file", 5, func() {
		f.open("/g", linux.O_CREAT|linux.O_WRONLY).DecRef(f.ctx)
	})
	// mkdir: the lookup (miss) + Tmkdir + Twalkgetattr.
	count("mkdir", 3, func() { must(t, f.vfs.MkdirAt(f.ctx, f.creds, f.pop("/d"), 0o755)) })
	count("stat of the new directory", 0, func() { f.stat("/d") })
	count("unlink", 1, func() { must(t, f.vfs.UnlinkAt(f.ctx, f.creds, f.pop("/g"))) })
	// The unlink changed the root's times: one Tgetattr.
	count("stat of the changed parent", 1, func() { f.stat("/") })
	count("stat of the unchanged parent", 0, func() { f.stat("/") })
	// A name created after being found missing skips the walk.
	count("mkdir of a name cached as missing", 2, func() { must(t, f.vfs.MkdirAt(f.ctx, f.creds, f.pop("/g"), 0o755)) })
}

// TestLookupPath exercises the batched lookup (the filesystem side of the
// proposed VFS extension): one round trip for a whole path, fids fetched
// on first use with one Twalk, QIDs checked.
func TestLookupPath(t *testing.T) {
	noGC(t)
	const depth = 10
	names := make([]string, depth)
	for k := range names {
		names[k] = fmt.Sprintf("d%d", k)
	}
	f := newFixture(t, Options{}, false, func(dir string) {
		must(t, os.MkdirAll(filepath.Join(dir, filepath.Join(names...)), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, filepath.Join(names...), "file"), []byte("deep"), 0o644))
		must(t, os.Symlink("d1", filepath.Join(dir, "d0/sl")))
		must(t, os.MkdirAll(filepath.Join(dir, "a/b/c"), 0o755))
	})
	root := f.fs.root
	rts := f.client.RoundTrips()
	path := append(slices.Clone(names), "file")
	got, err := root.LookupPath(f.ctx, path)
	if err != nil || len(got) != depth+1 {
		t.Fatalf("LookupPath: %d inodes, %v", len(got), err)
	}
	if n := f.client.RoundTrips() - rts; n != 1 {
		t.Errorf("LookupPath of %d names: %d round trips, want 1", len(path), n)
	}
	rts = f.client.RoundTrips()
	for k, in := range got {
		st, err := in.Stat(f.ctx, linux.STATX_BASIC_STATS)
		if err != nil {
			t.Fatal(err)
		}
		var h unix.Stat_t
		must(t, unix.Lstat(f.host(filepath.Join(path[:k+1]...)), &h))
		checkStat(t, filepath.Join(path[:k+1]...), st, &h, true)
	}
	if n := f.client.RoundTrips() - rts; n != 0 {
		t.Errorf("stats of the walked inodes: %d round trips, want 0", n)
	}
	// The intermediate inodes have no fid yet; the first use of d5 walks
	// to it from the root in one Twalk.
	mid := got[5].(*inode)
	if mid.fid.p.Load() != nil {
		t.Error("intermediate inode has a fid")
	}
	rts = f.client.RoundTrips()
	if _, err := mid.getFile(); err != nil {
		t.Fatal(err)
	}
	if n := f.client.RoundTrips() - rts; n != 1 {
		t.Errorf("getFile of a lazy inode 6 deep: %d round trips, want 1", n)
	}
	fd, err := got[depth].Open(f.ctx, vfs.VirtualDentry{}, vfs.OpenOptions{Flags: linux.O_RDONLY})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if n, err := fd.PRead(f.ctx, vfs.BytesIOSequence(buf), 0); err != nil || string(buf[:n]) != "deep" {
		t.Errorf("read through LookupPath's inode: %q %v", buf[:n], err)
	}
	fd.Release(f.ctx)
	// A VFS lookup of the same files finds the same inodes.
	if st := f.stat("/d0/d1/d2"); st.Ino != got[2].(*inode).qid.Path {
		t.Error("VFS lookup made a different inode")
	}

	// Partial walks return the prefix; a symlink ends the walk.
	part, err := root.LookupPath(f.ctx, []string{"d0", "d1", "missing", "x"})
	if err != nil || len(part) != 2 {
		t.Errorf("partial walk: %d inodes, %v", len(part), err)
	}
	sl, err := root.LookupPath(f.ctx, []string{"d0", "sl", "d2"})
	if err != nil || len(sl) != 2 || !sl[1].Attr().IsSymlink() {
		t.Errorf("walk through a symlink: %d inodes, %v", len(sl), err)
	}
	_, err = root.LookupPath(f.ctx, []string{"nothing", "x"})
	wantErr(t, "LookupPath of a missing first name", err, unix.ENOENT)
	_, err = root.LookupPath(f.ctx, []string{"d0", ".."})
	wantErr(t, "LookupPath with ..", err, unix.EINVAL)

	// Renames through the VFS keep lazy inodes reachable.
	abc, err := root.LookupPath(f.ctx, []string{"a", "b", "c"})
	if err != nil || len(abc) != 3 {
		t.Fatalf("a/b/c: %d %v", len(abc), err)
	}
	must(t, f.vfs.RenameAt(f.ctx, f.creds, f.pop("/a"), f.pop("/z"), 0))
	must(t, f.vfs.RenameAt(f.ctx, f.creds, f.pop("/z/b"), f.pop("/y"), 0))
	if _, err := abc[2].(*inode).getFile(); err != nil {
		t.Errorf("lazy inode after renames of its ancestors: %v", err)
	}
	// A name replaced behind the Sentry's back is not followed to the new
	// file: the QID check fails.
	must(t, os.MkdirAll(f.host("q/r/s"), 0o755))
	qrs, err := root.LookupPath(f.ctx, []string{"q", "r", "s"})
	if err != nil || len(qrs) != 3 {
		t.Fatal(err)
	}
	must(t, os.Rename(f.host("q/r"), f.host("q/old")))
	must(t, os.MkdirAll(f.host("q/r/s"), 0o755))
	// r has no fid yet (s, the last step, has one).
	if _, err := qrs[1].(*inode).getFile(); !errors.Is(err, unix.ESTALE) {
		t.Errorf("getFile through a replaced name: %v, want ESTALE", err)
	}
}

// TestOpenUnlinked: a file unlinked while open keeps working through its
// description, and fstat reports no links.
func TestOpenUnlinked(t *testing.T) {
	f := newFixture(t, Options{}, false, func(dir string) {
		must(t, os.WriteFile(filepath.Join(dir, "f"), []byte("abc"), 0o644))
	})
	fd := f.open("/f", linux.O_RDWR)
	defer fd.DecRef(f.ctx)
	must(t, f.vfs.UnlinkAt(f.ctx, f.creds, f.pop("/f")))
	if _, err := fd.PWrite(f.ctx, vfs.BytesIOSequence([]byte("defg")), 3); err != nil {
		t.Fatal(err)
	}
	st, err := fd.Stat(f.ctx, linux.STATX_BASIC_STATS)
	if err != nil {
		t.Fatal(err)
	}
	if st.Nlink != 0 || st.Size != 7 {
		t.Errorf("fstat of unlinked file: nlink %d size %d, want 0 and 7", st.Nlink, st.Size)
	}
	buf := make([]byte, 10)
	if n, err := fd.PRead(f.ctx, vfs.BytesIOSequence(buf), 0); err != nil || string(buf[:n]) != "abcdefg" {
		t.Errorf("read unlinked: %q %v", buf[:n], err)
	}
	// A new file with the same name is a different file.
	nfd := f.open("/f", linux.O_CREAT|linux.O_EXCL|linux.O_WRONLY)
	if _, err := nfd.Write(f.ctx, vfs.BytesIOSequence([]byte("new"))); err != nil {
		t.Fatal(err)
	}
	nfd.DecRef(f.ctx)
	if got := f.readAll("/f"); got != "new" {
		t.Errorf("new file reads %q", got)
	}
	if f.stat("/f").Ino == st.Ino {
		t.Error("the new file has the unlinked file's inode number")
	}
}
