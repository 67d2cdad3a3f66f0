package overlay_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/overlay"
	"github.com/palisade-sandbox/palisade/fsimpl/tmpfs"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// view is one VFS mount namespace seen by root.
type view struct {
	t     *testing.T
	ctx   context.Context
	vfs   *vfs.VirtualFilesystem
	root  vfs.VirtualDentry
	creds *vfs.Credentials
}

func newView(t *testing.T, impl vfs.FilesystemImpl) *view {
	return newViewIn(t, vfs.New(), impl)
}

func newViewIn(t *testing.T, v *vfs.VirtualFilesystem, impl vfs.FilesystemImpl) *view {
	ns := v.NewMountNamespace(v.NewFilesystem(impl), vfs.MountFlags{})
	return &view{t: t, ctx: context.Background(), vfs: v, root: ns.Root(), creds: vfs.RootCredentials()}
}

func (w *view) pop(p string) *vfs.PathOperation {
	return &vfs.PathOperation{Root: w.root, Start: w.root, Path: p, FollowFinalSymlink: true}
}

func (w *view) mkdir(p string) {
	w.t.Helper()
	if err := w.vfs.MkdirAt(w.ctx, w.creds, w.pop(p), 0o755); err != nil {
		w.t.Fatalf("mkdir %s: %v", p, err)
	}
}

func (w *view) write(p, data string) {
	w.t.Helper()
	fd, err := w.vfs.OpenAt(w.ctx, w.creds, w.pop(p), linux.O_CREAT|linux.O_WRONLY|linux.O_TRUNC, 0o644)
	if err != nil {
		w.t.Fatalf("create %s: %v", p, err)
	}
	defer fd.DecRef(w.ctx)
	if _, err := fd.Write(w.ctx, vfs.BytesIOSequence(data)); err != nil {
		w.t.Fatalf("write %s: %v", p, err)
	}
}

func (w *view) read(p string) string {
	w.t.Helper()
	fd, err := w.vfs.OpenAt(w.ctx, w.creds, w.pop(p), linux.O_RDONLY, 0)
	if err != nil {
		w.t.Fatalf("open %s: %v", p, err)
	}
	defer fd.DecRef(w.ctx)
	return readAll(w.t, fd)
}

func readAll(t *testing.T, fd *vfs.FileDescription) string {
	t.Helper()
	var out []byte
	buf := make([]byte, 1000)
	for {
		n, err := fd.Read(context.Background(), vfs.BytesIOSequence(buf))
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if n == 0 {
			return string(out)
		}
		out = append(out, buf[:n]...)
	}
}

func (w *view) stat(p string) linux.Statx {
	w.t.Helper()
	st, err := w.vfs.StatAt(w.ctx, w.creds, &vfs.PathOperation{Root: w.root, Start: w.root, Path: p}, linux.STATX_BASIC_STATS)
	if err != nil {
		w.t.Fatalf("stat %s: %v", p, err)
	}
	return st
}

func (w *view) statErr(p string) error {
	_, err := w.vfs.StatAt(w.ctx, w.creds, w.pop(p), linux.STATX_BASIC_STATS)
	return err
}

// list returns the names in directory p (without . and ..), checking
// that each entry's d_ino matches stat's st_ino.
func (w *view) list(p string) []string {
	w.t.Helper()
	fd, err := w.vfs.OpenAt(w.ctx, w.creds, w.pop(p), linux.O_RDONLY|linux.O_DIRECTORY, 0)
	if err != nil {
		w.t.Fatalf("opendir %s: %v", p, err)
	}
	defer fd.DecRef(w.ctx)
	var names []string
	var inos []uint64
	if err := fd.IterDirents(w.ctx, func(d vfs.Dirent) error {
		if d.Name != "." && d.Name != ".." {
			names = append(names, d.Name)
			inos = append(inos, d.Ino)
		}
		return nil
	}); err != nil {
		w.t.Fatalf("readdir %s: %v", p, err)
	}
	for k, n := range names {
		if st := w.stat(p + "/" + n); st.Ino != inos[k] {
			w.t.Errorf("%s/%s: d_ino %#x, st_ino %#x", p, n, inos[k], st.Ino)
		}
	}
	sort.Strings(names)
	return names
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got %v, want %v", what, err, want)
	}
}

// env is a populated lower tmpfs (also kept mounted on its own, to check
// that it never changes) under a fresh upper tmpfs.
type env struct {
	lower, ovl *view
	fs         *overlay.Filesystem
	upper      *tmpfs.Filesystem
}

func newEnv(t *testing.T, populate func(l *view)) *env {
	lfs := tmpfs.New(tmpfs.Options{MaxSize: 64 << 20, RootMode: 0o755})
	v := vfs.New()
	lower := newViewIn(t, v, lfs)
	if populate != nil {
		populate(lower)
	}
	upper := tmpfs.New(tmpfs.Options{MaxSize: 64 << 20})
	ofs, err := overlay.New(context.Background(), lfs, upper, overlay.Options{})
	if err != nil {
		t.Fatalf("overlay.New: %v", err)
	}
	return &env{lower: lower, ovl: newViewIn(t, v, ofs), fs: ofs, upper: upper}
}

func basicLower(l *view) {
	l.mkdir("etc")
	l.write("etc/passwd", "root:x:0:0\n")
	l.write("etc/hosts", "127.0.0.1 localhost\n")
	l.mkdir("d")
	l.write("d/a", "A")
	l.write("d/b", "B")
	l.mkdir("d/sub")
	l.write("d/sub/x", "X")
	if err := l.vfs.SymlinkAt(l.ctx, l.creds, l.pop("link"), "etc/passwd"); err != nil {
		l.t.Fatal(err)
	}
}

func TestReadThrough(t *testing.T) {
	e := newEnv(t, basicLower)
	if got := e.ovl.read("etc/passwd"); got != "root:x:0:0\n" {
		t.Errorf("read: %q", got)
	}
	if got := e.ovl.read("link"); got != "root:x:0:0\n" {
		t.Errorf("read via symlink: %q", got)
	}
	ls, os := e.lower.stat("etc/passwd"), e.ovl.stat("etc/passwd")
	if ls.Ino != os.Ino || ls.Size != os.Size || ls.Mode != os.Mode {
		t.Errorf("stat differs: lower %+v overlay %+v", ls, os)
	}
	maj, mnr := e.ovl.root.Mount.Filesystem().Dev()
	if os.DevMajor != maj || os.DevMinor != mnr || (os.DevMinor == ls.DevMinor && os.DevMajor == ls.DevMajor) {
		t.Errorf("st_dev %d:%d, want the overlay's %d:%d (lower's is %d:%d)", os.DevMajor, os.DevMinor, maj, mnr, ls.DevMajor, ls.DevMinor)
	}
	if d := e.ovl.stat("d"); d.DevMinor != mnr {
		t.Errorf("directory st_dev %d", d.DevMinor)
	}
	if got := e.ovl.list("/"); !slices.Equal(got, []string{"d", "etc", "link"}) {
		t.Errorf("root listing %v", got)
	}
	wantErr(t, "stat missing", e.ovl.statErr("nope"), unix.ENOENT)
	sf, err := e.ovl.vfs.StatFSAt(e.ovl.ctx, e.ovl.creds, e.ovl.pop("/"))
	if err != nil || sf.Type != unix.OVERLAYFS_SUPER_MAGIC {
		t.Errorf("statfs: %+v %v", sf, err)
	}
	// Nothing was copied up by reading.
	if n := len(listUpper(t, e, "")); n != 0 {
		t.Errorf("upper has %d entries after reads", n)
	}
}

// listUpper lists the overlay's upperdir directly (whiteouts included).
func listUpper(t *testing.T, e *env, p string) []string {
	t.Helper()
	w := newView(t, e.upper)
	return w.list("upper/" + p)
}

func TestWriteCopiesUp(t *testing.T) {
	e := newEnv(t, basicLower)
	before := e.ovl.stat("etc/passwd")
	fd, err := e.ovl.vfs.OpenAt(e.ovl.ctx, e.ovl.creds, e.ovl.pop("etc/passwd"), linux.O_WRONLY|linux.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fd.Write(e.ovl.ctx, vfs.BytesIOSequence("bob:x:1000:1000\n")); err != nil {
		t.Fatal(err)
	}
	fd.DecRef(e.ovl.ctx)
	if got := e.ovl.read("etc/passwd"); got != "root:x:0:0\nbob:x:1000:1000\n" {
		t.Errorf("overlay: %q", got)
	}
	if got := e.lower.read("etc/passwd"); got != "root:x:0:0\n" {
		t.Errorf("lower changed: %q", got)
	}
	after := e.ovl.stat("etc/passwd")
	if after.Ino != before.Ino {
		t.Errorf("ino changed on copy-up: %#x -> %#x", before.Ino, after.Ino)
	}
	if after.Mode != before.Mode || after.UID != before.UID {
		t.Errorf("attrs changed: %+v", after)
	}
	// Sibling untouched, parent copied up with its times.
	if got := e.ovl.read("etc/hosts"); got != "127.0.0.1 localhost\n" {
		t.Errorf("sibling: %q", got)
	}
	if got := listUpper(t, e, "etc"); !slices.Equal(got, []string{"passwd"}) {
		t.Errorf("upper etc: %v", got)
	}
	if l, o := e.lower.stat("etc"), e.ovl.stat("etc"); l.Mtime != o.Mtime || l.Ino != o.Ino {
		t.Errorf("parent dir: lower mtime %v ino %#x, overlay %v %#x", l.Mtime, l.Ino, o.Mtime, o.Ino)
	}
}

func TestTruncateAndReadFDFollowsCopyUp(t *testing.T) {
	e := newEnv(t, basicLower)
	rfd, err := e.ovl.vfs.OpenAt(e.ovl.ctx, e.ovl.creds, e.ovl.pop("etc/hosts"), linux.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rfd.DecRef(e.ovl.ctx)
	e.ovl.write("etc/hosts", "new")
	buf := make([]byte, 100)
	n, err := rfd.PRead(e.ovl.ctx, vfs.BytesIOSequence(buf), 0)
	if err != nil || string(buf[:n]) != "new" {
		t.Errorf("read-only fd after copy-up: %q %v", buf[:n], err)
	}
	if got := e.lower.read("etc/hosts"); got != "127.0.0.1 localhost\n" {
		t.Errorf("lower changed: %q", got)
	}
	// truncate(2) by path copies up only what survives.
	if err := e.ovl.vfs.SetStatAt(e.ovl.ctx, e.ovl.creds, e.ovl.pop("d/a"), vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_SIZE, Size: 3}}); err != nil {
		t.Fatal(err)
	}
	if got := e.ovl.read("d/a"); got != "A\x00\x00" {
		t.Errorf("truncated up: %q", got)
	}
}

func TestUnlinkWhiteout(t *testing.T) {
	e := newEnv(t, basicLower)
	o := e.ovl
	if err := o.vfs.UnlinkAt(o.ctx, o.creds, o.pop("d/a")); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "stat unlinked", o.statErr("d/a"), unix.ENOENT)
	wantErr(t, "unlink again", o.vfs.UnlinkAt(o.ctx, o.creds, o.pop("d/a")), unix.ENOENT)
	if got := o.list("d"); !slices.Equal(got, []string{"b", "sub"}) {
		t.Errorf("listing after unlink: %v", got)
	}
	if got := e.lower.read("d/a"); got != "A" {
		t.Errorf("lower: %q", got)
	}
	// The whiteout is internal.
	wantErr(t, "mknod 0/0", o.vfs.MknodAt(o.ctx, o.creds, o.pop("d/w"), linux.S_IFCHR|0o600, 0), unix.EPERM)
	// Recreate: a new file, not lower's.
	o.write("d/a", "new")
	if got := o.read("d/a"); got != "new" {
		t.Errorf("recreated: %q", got)
	}
	if st := o.stat("d/a"); st.Ino == e.lower.stat("d/a").Ino {
		t.Errorf("recreated file kept lower's inode number")
	}
	if got := o.list("d"); !slices.Equal(got, []string{"a", "b", "sub"}) {
		t.Errorf("listing after recreate: %v", got)
	}
	// Unlink a copied-up file: the whiteout replaces it.
	o.write("d/b", "bb")
	if err := o.vfs.UnlinkAt(o.ctx, o.creds, o.pop("d/b")); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "stat copied-up unlinked", o.statErr("d/b"), unix.ENOENT)
	if got := e.lower.read("d/b"); got != "B" {
		t.Errorf("lower b: %q", got)
	}
	// Upper-only file: no whiteout needed.
	o.write("d/c", "c")
	if err := o.vfs.UnlinkAt(o.ctx, o.creds, o.pop("d/c")); err != nil {
		t.Fatal(err)
	}
	if got := listUpper(t, e, "d"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("upper d (a new, b whiteout): %v", got)
	}
}

func TestRmdirMkdirOpaque(t *testing.T) {
	e := newEnv(t, basicLower)
	o := e.ovl
	wantErr(t, "rmdir non-empty", o.vfs.RmdirAt(o.ctx, o.creds, o.pop("d")), unix.ENOTEMPTY)
	for _, p := range []string{"d/a", "d/b", "d/sub/x"} {
		if err := o.vfs.UnlinkAt(o.ctx, o.creds, o.pop(p)); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, "rmdir still has sub", o.vfs.RmdirAt(o.ctx, o.creds, o.pop("d")), unix.ENOTEMPTY)
	if err := o.vfs.RmdirAt(o.ctx, o.creds, o.pop("d/sub")); err != nil {
		t.Fatal(err)
	}
	if err := o.vfs.RmdirAt(o.ctx, o.creds, o.pop("d")); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "stat removed dir", o.statErr("d"), unix.ENOENT)
	wantErr(t, "stat inside removed dir", o.statErr("d/a"), unix.ENOENT)
	o.mkdir("d")
	if got := o.list("d"); len(got) != 0 {
		t.Errorf("recreated dir shows %v", got)
	}
	wantErr(t, "lower child hidden", o.statErr("d/sub/x"), unix.ENOENT)
	o.write("d/a", "fresh")
	if got := o.list("d"); !slices.Equal(got, []string{"a"}) {
		t.Errorf("opaque dir listing %v", got)
	}
	if got := e.lower.read("d/sub/x"); got != "X" {
		t.Errorf("lower: %q", got)
	}
	// The opaque xattr is not visible.
	names, err := o.vfs.ListXattrAt(o.ctx, o.creds, o.pop("d"))
	if err != nil || len(names) != 0 {
		t.Errorf("listxattr: %v %v", names, err)
	}
	_, err = o.vfs.GetXattrAt(o.ctx, o.creds, o.pop("d"), "trusted.overlay.opaque")
	wantErr(t, "getxattr own", err, unix.EOPNOTSUPP)
}

func TestReaddirMergeAndStableOffsets(t *testing.T) {
	e := newEnv(t, func(l *view) {
		l.mkdir("m")
		for k := range 10 {
			l.write(fmt.Sprintf("m/l%d", k), "x")
		}
	})
	o := e.ovl
	for k := range 5 {
		o.write(fmt.Sprintf("m/u%d", k), "y")
	}
	o.write("m/l3", "copied") // exists in both: shown once.
	if err := o.vfs.UnlinkAt(o.ctx, o.creds, o.pop("m/l7")); err != nil {
		t.Fatal(err)
	}
	var want []string
	for k := range 10 {
		if k != 7 {
			want = append(want, fmt.Sprintf("l%d", k))
		}
	}
	for k := range 5 {
		want = append(want, fmt.Sprintf("u%d", k))
	}
	sort.Strings(want)
	if got := o.list("m"); !slices.Equal(got, want) {
		t.Errorf("merged listing\n got %v\nwant %v", got, want)
	}
	// Read in small pieces while the directory changes: every entry
	// present at the start is reported exactly once.
	fd, err := o.vfs.OpenAt(o.ctx, o.creds, o.pop("m"), linux.O_RDONLY|linux.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.DecRef(o.ctx)
	seen := map[string]int{}
	for round := 0; ; round++ {
		buf, err := fd.Getdents64(o.ctx, 64)
		if err != nil {
			t.Fatal(err)
		}
		if len(buf) == 0 {
			break
		}
		for len(buf) > 0 {
			reclen := int(buf[16]) | int(buf[17])<<8
			name := string(bytes.TrimRight(buf[19:reclen], "\x00"))
			seen[name]++
			buf = buf[reclen:]
		}
		o.write(fmt.Sprintf("m/new%d", round), "z")
		if round == 2 {
			_ = o.vfs.UnlinkAt(o.ctx, o.creds, o.pop("m/u4"))
		}
	}
	for _, n := range append(want, ".", "..") {
		if seen[n] != 1 {
			t.Errorf("%s reported %d times", n, seen[n])
		}
	}
	// rewinddir picks up the changes.
	if _, err := fd.Seek(o.ctx, 0, linux.SEEK_SET); err != nil {
		t.Fatal(err)
	}
	found := false
	if err := fd.IterDirents(o.ctx, func(d vfs.Dirent) error {
		found = found || d.Name == "new0"
		return nil
	}); err != nil || !found {
		t.Errorf("after rewind: new0 found=%v err=%v", found, err)
	}
}

func TestRename(t *testing.T) {
	e := newEnv(t, basicLower)
	o := e.ovl
	ren := func(a, b string, flags uint32) error {
		return o.vfs.RenameAt(o.ctx, o.creds, o.pop(a), o.pop(b), flags)
	}
	// Upper-only file.
	o.write("x", "xx")
	if err := ren("x", "y", 0); err != nil {
		t.Fatal(err)
	}
	if got := o.read("y"); got != "xx" {
		t.Errorf("y: %q", got)
	}
	wantErr(t, "x after rename", o.statErr("x"), unix.ENOENT)
	// Lower file: copied up, a whiteout stays behind, ino kept.
	ino := o.stat("etc/hosts").Ino
	if err := ren("etc/hosts", "d/hosts", 0); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "old name", o.statErr("etc/hosts"), unix.ENOENT)
	if got := o.read("d/hosts"); got != "127.0.0.1 localhost\n" {
		t.Errorf("moved: %q", got)
	}
	if st := o.stat("d/hosts"); st.Ino != ino {
		t.Errorf("ino after rename %#x, want %#x", st.Ino, ino)
	}
	if got := e.lower.read("etc/hosts"); got != "127.0.0.1 localhost\n" {
		t.Errorf("lower: %q", got)
	}
	// Over a lower file.
	if err := ren("y", "etc/passwd", 0); err != nil {
		t.Fatal(err)
	}
	if got := o.read("etc/passwd"); got != "xx" {
		t.Errorf("replaced: %q", got)
	}
	// Directories with a lower part: EXDEV.
	wantErr(t, "rename lower dir", ren("d/sub", "sub2", 0), unix.EXDEV)
	// Upper-only directory: fine, also onto a whited-out lower name,
	// where it becomes opaque.
	o.mkdir("nd")
	o.write("nd/f", "f")
	if err := ren("nd", "nd2", 0); err != nil {
		t.Fatal(err)
	}
	if err := o.vfs.UnlinkAt(o.ctx, o.creds, o.pop("d/sub/x")); err != nil {
		t.Fatal(err)
	}
	if err := o.vfs.RmdirAt(o.ctx, o.creds, o.pop("d/sub")); err != nil {
		t.Fatal(err)
	}
	if err := ren("nd2", "d/sub", 0); err != nil {
		t.Fatal(err)
	}
	if got := o.list("d/sub"); !slices.Equal(got, []string{"f"}) {
		t.Errorf("moved dir onto whiteout: %v", got)
	}
	// Onto an existing (empty in the overlay) merged directory.
	o.mkdir("e1")
	if err := o.vfs.UnlinkAt(o.ctx, o.creds, o.pop("d/a")); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "onto non-empty", ren("e1", "d", 0), unix.ENOTEMPTY)
	// RENAME_NOREPLACE onto a whiteout succeeds; RENAME_EXCHANGE of two
	// lower files copies both up.
	o.write("z", "z")
	if err := ren("z", "d/a", linux.RENAME_NOREPLACE); err != nil {
		t.Errorf("noreplace over whiteout: %v", err)
	}
	if err := ren("etc/passwd", "d/b", linux.RENAME_EXCHANGE); err != nil {
		t.Fatal(err)
	}
	if a, b := o.read("etc/passwd"), o.read("d/b"); a != "B" || b != "xx" {
		t.Errorf("exchange: %q %q", a, b)
	}
	if got := e.lower.read("d/b"); got != "B" {
		t.Errorf("lower: %q", got)
	}
}

func TestHardLinksAfterCopyUp(t *testing.T) {
	e := newEnv(t, basicLower)
	o := e.ovl
	ino := o.stat("d/a").Ino
	if err := o.vfs.LinkAt(o.ctx, o.creds, o.pop("d/a"), o.pop("etc/a2")); err != nil {
		t.Fatal(err)
	}
	s1, s2 := o.stat("d/a"), o.stat("etc/a2")
	if s1.Ino != ino || s2.Ino != ino || s1.Nlink != 2 {
		t.Errorf("links: %#x %#x (want %#x), nlink %d", s1.Ino, s2.Ino, ino, s1.Nlink)
	}
	fd, err := o.vfs.OpenAt(o.ctx, o.creds, o.pop("etc/a2"), linux.O_WRONLY|linux.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fd.Write(o.ctx, vfs.BytesIOSequence("++")); err != nil {
		t.Fatal(err)
	}
	fd.DecRef(o.ctx)
	if got := o.read("d/a"); got != "A++" {
		t.Errorf("via other link: %q", got)
	}
	if got := e.lower.read("d/a"); got != "A" {
		t.Errorf("lower: %q", got)
	}
	// Identity survives the dentry cache dropping everything.
	o.vfs.SetDentryCacheSize(1)
	if s := o.stat("etc/a2"); s.Ino != ino {
		t.Errorf("after eviction: %#x", s.Ino)
	}
	// Over a whiteout.
	if err := o.vfs.UnlinkAt(o.ctx, o.creds, o.pop("d/b")); err != nil {
		t.Fatal(err)
	}
	if err := o.vfs.LinkAt(o.ctx, o.creds, o.pop("d/a"), o.pop("d/b")); err != nil {
		t.Fatal(err)
	}
	if got := o.read("d/b"); got != "A++" {
		t.Errorf("link over whiteout: %q", got)
	}
}

func TestChmodXattrCopyUp(t *testing.T) {
	e := newEnv(t, func(l *view) {
		l.write("f", "data")
		if err := l.vfs.SetXattrAt(l.ctx, l.creds, l.pop("f"), "user.a", "1", 0); err != nil {
			l.t.Fatal(err)
		}
		if err := l.vfs.SetStatAt(l.ctx, l.creds, l.pop("f"), vfs.SetStatOptions{Stat: linux.Statx{
			Mask: linux.STATX_MTIME | linux.STATX_UID, Mtime: linux.StatxTimestamp{Sec: 12345}, UID: 42,
		}}); err != nil {
			l.t.Fatal(err)
		}
	})
	o := e.ovl
	lst := e.lower.stat("f")
	if err := o.vfs.SetStatAt(o.ctx, o.creds, o.pop("f"), vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_MODE, Mode: 0o600}}); err != nil {
		t.Fatal(err)
	}
	st := o.stat("f")
	if st.Mode&0o7777 != 0o600 || st.Mtime != lst.Mtime || st.UID != 42 || st.Ino != lst.Ino || st.Size != 4 {
		t.Errorf("after chmod: %+v (lower %+v)", st, lst)
	}
	if e.lower.stat("f").Mode&0o7777 != 0o644 {
		t.Errorf("lower mode changed")
	}
	if got := o.read("f"); got != "data" {
		t.Errorf("data: %q", got)
	}
	if err := o.vfs.SetXattrAt(o.ctx, o.creds, o.pop("f"), "user.b", "2", 0); err != nil {
		t.Fatal(err)
	}
	names, err := o.vfs.ListXattrAt(o.ctx, o.creds, o.pop("f"))
	if err != nil || !slices.Equal(names, []string{"user.a", "user.b"}) {
		t.Errorf("xattrs: %v %v", names, err)
	}
	wantErr(t, "set own xattr", o.vfs.SetXattrAt(o.ctx, o.creds, o.pop("f"), "trusted.overlay.origin", "1", 0), unix.EOPNOTSUPP)
	if names, _ := e.lower.vfs.ListXattrAt(o.ctx, o.creds, e.lower.pop("f")); !slices.Equal(names, []string{"user.a"}) {
		t.Errorf("lower xattrs: %v", names)
	}
}

func TestSparseCopyUp(t *testing.T) {
	e := newEnv(t, func(l *view) {
		fd, err := l.vfs.OpenAt(l.ctx, l.creds, l.pop("sparse"), linux.O_CREAT|linux.O_WRONLY, 0o644)
		if err != nil {
			l.t.Fatal(err)
		}
		defer fd.DecRef(l.ctx)
		if _, err := fd.PWrite(l.ctx, vfs.BytesIOSequence("head"), 0); err != nil {
			l.t.Fatal(err)
		}
		if _, err := fd.PWrite(l.ctx, vfs.BytesIOSequence("tail"), 10<<20); err != nil {
			l.t.Fatal(err)
		}
	})
	used := e.upper.UsedPages()
	if err := e.ovl.vfs.SetXattrAt(e.ovl.ctx, e.ovl.creds, e.ovl.pop("sparse"), "user.x", "1", 0); err != nil {
		t.Fatal(err)
	}
	if got := e.upper.UsedPages() - used; got != 2 {
		t.Errorf("sparse copy-up used %d pages, want 2", got)
	}
	fd, err := e.ovl.vfs.OpenAt(e.ovl.ctx, e.ovl.creds, e.ovl.pop("sparse"), linux.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.DecRef(e.ovl.ctx)
	buf := make([]byte, 4)
	if n, err := fd.PRead(e.ovl.ctx, vfs.BytesIOSequence(buf), 10<<20); err != nil || n != 4 || string(buf) != "tail" {
		t.Errorf("tail: %q %v", buf, err)
	}
	if st := e.ovl.stat("sparse"); st.Size != 10<<20+4 {
		t.Errorf("size %d", st.Size)
	}
}

func TestManyFiles(t *testing.T) {
	const n = 600
	e := newEnv(t, func(l *view) {
		l.mkdir("big")
		for k := range n {
			l.write(fmt.Sprintf("big/f%04d", k), fmt.Sprint(k))
		}
	})
	o := e.ovl
	o.vfs.SetDentryCacheSize(64)
	for k := 0; k < n; k += 2 {
		if err := o.vfs.UnlinkAt(o.ctx, o.creds, o.pop(fmt.Sprintf("big/f%04d", k))); err != nil {
			t.Fatal(err)
		}
	}
	for k := range n / 2 {
		o.write(fmt.Sprintf("big/g%04d", k), "g")
	}
	for k := 1; k < n; k += 4 {
		o.write(fmt.Sprintf("big/f%04d", k), "changed")
	}
	got := o.list("big")
	if len(got) != n {
		t.Fatalf("listing has %d entries, want %d", len(got), n)
	}
	for k := 1; k < n; k += 2 {
		want := fmt.Sprint(k)
		if k%4 == 1 {
			want = "changed"
		}
		if got := o.read(fmt.Sprintf("big/f%04d", k)); got != want {
			t.Fatalf("f%04d: %q want %q", k, got, want)
		}
	}
	if got := e.lower.list("big"); len(got) != n {
		t.Errorf("lower has %d entries", len(got))
	}
}

func TestPermissionsFollowLayer(t *testing.T) {
	e := newEnv(t, func(l *view) {
		l.write("secret", "s")
		if err := l.vfs.SetStatAt(l.ctx, l.creds, l.pop("secret"), vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_MODE, Mode: 0o600}}); err != nil {
			l.t.Fatal(err)
		}
	})
	o := e.ovl
	user := vfs.UserCredentials(1000, 1000)
	_, err := o.vfs.OpenAt(o.ctx, user, o.pop("secret"), linux.O_RDONLY, 0)
	wantErr(t, "user open 0600 root file", err, unix.EACCES)
	err = o.vfs.SetStatAt(o.ctx, user, o.pop("secret"), vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_MODE, Mode: 0o644}})
	wantErr(t, "user chmod", err, unix.EPERM)
	if n := len(listUpper(t, e, "")); n != 0 {
		t.Errorf("a refused change copied up (%d upper entries)", n)
	}
}

// TestRmdirOutOfInodes checks that a removal that cannot create its
// whiteout fails cleanly instead of uncovering lower entries.
func TestRmdirOutOfInodes(t *testing.T) {
	lfs := tmpfs.New(tmpfs.Options{MaxSize: 64 << 20, RootMode: 0o755})
	v := vfs.New()
	lower := newViewIn(t, v, lfs)
	lower.mkdir("d")
	lower.write("d/a", "A")
	// work + upper + the copy of d + a's whiteout.
	upper := tmpfs.New(tmpfs.Options{MaxSize: 64 << 20, MaxInodes: 4})
	ofs, err := overlay.New(context.Background(), lfs, upper, overlay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := newViewIn(t, v, ofs)
	if err := o.vfs.UnlinkAt(o.ctx, o.creds, o.pop("d/a")); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "rmdir without room for a whiteout", o.vfs.RmdirAt(o.ctx, o.creds, o.pop("d")), unix.ENOSPC)
	wantErr(t, "child after failed rmdir", o.statErr("d/a"), unix.ENOENT)
	if got := o.list("d"); len(got) != 0 {
		t.Errorf("d shows %v", got)
	}
	wantErr(t, "create without room", o.vfs.MkdirAt(o.ctx, o.creds, o.pop("x"), 0o755), unix.ENOSPC)
}
