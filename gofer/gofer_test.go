package gofer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/palisade-sandbox/palisade/p9"
	"golang.org/x/sys/unix"
)

// goferMainEnv makes the test binary run Main instead of the tests: the
// same entry point `runsc gofer` uses.
const goferMainEnv = "PALISADE_GOFER_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(goferMainEnv) == "1" {
		os.Exit(Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// goferProc is a running, fully confined Gofer process and a client per
// tree.
type goferProc struct {
	cmd     *exec.Cmd
	stderr  *bytes.Buffer
	clients []*p9.Client
	roots   []*p9.ClientFile
	waited  bool
}

// startGofer starts a real Gofer (Start, re-executing this test binary
// into Main) serving root and mounts, and connects a client to each tree.
func startGofer(tb testing.TB, root string, rootRO bool, mounts ...Mount) *goferProc {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("starting a gofer needs root (namespaces, pivot_root)")
	}
	n := 1 + len(mounts)
	var socks []*os.File
	var clientFDs []int
	for range n {
		s, c, err := NewSocketPair()
		if err != nil {
			tb.Fatal(err)
		}
		socks = append(socks, s)
		clientFDs = append(clientFDs, c)
	}
	g := &goferProc{stderr: &bytes.Buffer{}}
	cmd, err := Start(StartOptions{
		Path:    os.Args[0],
		Args:    []string{os.Args[0]},
		Env:     append(os.Environ(), goferMainEnv+"=1"),
		Options: Options{Root: root, RootReadOnly: rootRO, Mounts: mounts},
		Sockets: socks,
		Stderr:  g.stderr,
	})
	for _, s := range socks {
		s.Close()
	}
	if err != nil {
		for _, fd := range clientFDs {
			unix.Close(fd)
		}
		tb.Fatal(err)
	}
	g.cmd = cmd
	tb.Cleanup(func() { g.stop(tb) })
	for _, fd := range clientFDs {
		c, err := p9.NewClient(fd, p9.MaxMsize, p9.VersionPalisade)
		if err != nil {
			tb.Fatalf("client: %v (gofer stderr: %s)", err, g.stderr)
		}
		g.clients = append(g.clients, c)
		r, _, err := c.Attach("/", 0)
		if err != nil {
			tb.Fatalf("attach: %v (gofer stderr: %s)", err, g.stderr)
		}
		g.roots = append(g.roots, r)
	}
	return g
}

// stop closes every connection and checks that the Gofer then exited
// cleanly (it exits when all its connections are closed).
func (g *goferProc) stop(tb testing.TB) {
	if g.waited {
		return
	}
	g.waited = true
	for _, r := range g.roots {
		r.Close()
	}
	for _, c := range g.clients {
		c.Close()
	}
	err := g.cmd.Wait()
	if err != nil {
		tb.Errorf("gofer exited: %v; stderr: %s", err, g.stderr)
	}
}

func walk(tb testing.TB, f *p9.ClientFile, path string) *p9.ClientFile {
	tb.Helper()
	_, nf, err := f.Walk(strings.Split(path, "/"))
	if err != nil {
		tb.Fatalf("walk %s: %v", path, err)
	}
	return nf
}

func TestGoferProcessIsConfined(t *testing.T) {
	root := t.TempDir()
	mnt := t.TempDir()
	g := startGofer(t, root, false, Mount{Path: mnt, ReadOnly: true})
	pid := g.cmd.Process.Pid
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(status, []byte("Seccomp:\t2")) {
		t.Errorf("gofer not in seccomp filter mode:\n%s", status)
	}
	for _, ns := range []string{"mnt", "net", "ipc", "uts"} {
		mine, _ := os.Readlink("/proc/self/ns/" + ns)
		its, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
		if mine == its {
			t.Errorf("gofer shares the %s namespace", ns)
		}
	}
	// Its root holds only the trees.
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/root", pid))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "0,1" {
		t.Errorf("gofer root holds %v, want [0 1]", names)
	}
	mi, _ := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	found := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(mi)), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp, opts := f[4], ","+f[5]+","
		found[mp] = true
		if (mp == "/" || mp == "/1") && !strings.Contains(opts, ",ro,") {
			t.Errorf("mount %s is not read-only in the kernel: %s", mp, line)
		}
		if mp == "/0" && !strings.Contains(opts, ",rw,") {
			t.Errorf("mount /0 is not read-write: %s", line)
		}
		if !strings.Contains(opts, ",nosuid,") || !strings.Contains(opts, ",nodev,") {
			t.Errorf("mount %s lacks nosuid,nodev: %s", mp, line)
		}
		if mp != "/" && mp != "/0" && mp != "/1" && !strings.HasPrefix(mp, "/0/") && !strings.HasPrefix(mp, "/1/") {
			t.Errorf("unexpected mount in gofer: %s", line)
		}
	}
	if !found["/"] || !found["/0"] || !found["/1"] {
		t.Errorf("gofer mounts %v, want /, /0 and /1", found)
	}
}

func TestGoferFileOperations(t *testing.T) {
	root := t.TempDir()
	g := startGofer(t, root, false)
	r := g.roots[0]

	// mkdir, create, write through the protocol and through the donated fd.
	if _, err := r.Mkdir("d", 0o755, p9.NoGID); err != nil {
		t.Fatal(err)
	}
	d := walk(t, r, "d")
	defer d.Close()
	f, err := d.Clone()
	if err != nil {
		t.Fatal(err)
	}
	_, _, donated, err := f.Create("f", p9.ReadWrite, 0o644, p9.NoGID)
	if err != nil {
		t.Fatal(err)
	}
	if donated == nil {
		t.Fatal("create donated no fd")
	}
	if _, err := f.WriteAt([]byte("via protocol "), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := donated.WriteAt([]byte("via fd"), 13); err != nil {
		t.Fatal(err)
	}
	donated.Close()
	f.Close()
	if got, _ := os.ReadFile(filepath.Join(root, "d/f")); string(got) != "via protocol via fd" {
		t.Fatalf("host content %q", got)
	}
	st, err := os.Stat(filepath.Join(root, "d/f"))
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v %v", st.Mode(), err)
	}

	// read back both ways.
	f = walk(t, r, "d/f")
	_, _, donated, err = f.Open(p9.ReadOnly)
	if err != nil || donated == nil {
		t.Fatalf("open: %v %v", donated, err)
	}
	buf := make([]byte, 19)
	if _, err := f.ReadAt(buf, 0); err != nil || string(buf) != "via protocol via fd" {
		t.Fatalf("protocol read %q %v", buf, err)
	}
	if k, _ := donated.ReadAt(buf, 0); string(buf[:k]) != "via protocol via fd" {
		t.Fatalf("donated read %q", buf[:k])
	}
	// The donated read-only fd cannot write.
	if _, err := donated.WriteAt([]byte("x"), 0); err == nil {
		t.Fatal("write through read-only donated fd succeeded")
	}
	donated.Close()
	f.Close()

	// getattr/setattr.
	f = walk(t, r, "d/f")
	if err := f.SetAttr(p9.SetAttrMode|p9.SetAttrSize|p9.SetAttrMTime|p9.SetAttrMTimeSet,
		p9.SetAttr{Mode: 0o600, Size: 3, MTimeSeconds: 12345}); err != nil {
		t.Fatal(err)
	}
	a, err := f.GetAttr(p9.AttrAll)
	if err != nil || a.Attr.Mode != p9.ModeRegular|0o600 || a.Attr.Size != 3 || a.Attr.MTimeSeconds != 12345 {
		t.Fatalf("getattr %+v %v", a, err)
	}
	if a.QID.Type != p9.QIDTypeRegular {
		t.Fatalf("qid type %v", a.QID.Type)
	}

	// hard link, symlink, rename, renameat, unlink.
	if err := d.Link(f, "hard"); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.GetAttr(p9.AttrNLink); a.Attr.NLink != 2 {
		t.Fatalf("nlink %d", a.Attr.NLink)
	}
	if _, err := d.Symlink("f", "soft", p9.NoGID); err != nil {
		t.Fatal(err)
	}
	sl := walk(t, d, "soft")
	if tgt, err := sl.Readlink(); err != nil || tgt != "f" {
		t.Fatalf("readlink %q %v", tgt, err)
	}
	sl.Close()
	if err := f.Rename(r, "renamed"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "renamed")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := d.RenameAt("hard", r, "hard2"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"hard2", "renamed"} {
		if err := r.UnlinkAt(name, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.UnlinkAt("d", p9.UnlinkRemoveDir); !errors.Is(err, unix.ENOTEMPTY) {
		t.Fatalf("rmdir non-empty: %v", err)
	}
	if err := d.UnlinkAt("soft", 0); err != nil {
		t.Fatal(err)
	}
	if err := r.UnlinkAt("d", p9.UnlinkRemoveDir); err != nil {
		t.Fatal(err)
	}
	if _, err := r.StatFS(); err != nil {
		t.Fatal(err)
	}
	// Tremove, and I/O on a fid that was never opened.
	os.WriteFile(filepath.Join(root, "gone"), []byte("x"), 0o644)
	gone := walk(t, r, "gone")
	if _, err := gone.ReadAt(make([]byte, 1), 0); err == nil {
		t.Error("read on an unopened fid succeeded")
	}
	if err := gone.Remove(); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(root, "gone")); !os.IsNotExist(err) {
		t.Fatalf("file still there after Tremove: %v", err)
	}
	// A walk that fails part-way returns the steps walked, no file.
	os.MkdirAll(filepath.Join(root, "p/q"), 0o755)
	qids, nf, err := r.Walk([]string{"p", "q", "missing", "x"})
	if nf != nil || len(qids) != 2 || err == nil {
		t.Fatalf("partial walk: %v %v %v", qids, nf, err)
	}
	if _, err := r.Mknod("dev", p9.ModeCharDevice|0o600, 1, 3, p9.NoGID); !errors.Is(err, unix.EPERM) {
		t.Fatalf("mknod char device: %v", err)
	}
}

func TestGoferXattrsAndLocks(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "f"), make([]byte, 100), 0o644)
	g := startGofer(t, root, false)
	f := walk(t, g.roots[0], "f")
	defer f.Close()
	if err := f.SetXattr("user.color", []byte("blue"), 0); err != nil {
		t.Fatalf("setxattr: %v", err)
	}
	if v, err := f.GetXattr("user.color", 100); err != nil || string(v) != "blue" {
		t.Fatalf("getxattr %q %v", v, err)
	}
	if names, err := f.ListXattr(1000); err != nil || len(names) != 1 || names[0] != "user.color" {
		t.Fatalf("listxattr %v %v", names, err)
	}
	if err := f.RemoveXattr("user.color"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.GetXattr("user.color", 100); !errors.Is(err, unix.ENODATA) {
		t.Fatalf("after remove: %v", err)
	}

	a, _ := f.Clone()
	b, _ := f.Clone()
	defer a.Close()
	defer b.Close()
	for _, x := range []*p9.ClientFile{a, b} {
		_, _, fd, err := x.Open(p9.ReadWrite)
		if err != nil {
			t.Fatal(err)
		}
		fd.Close()
	}
	if s, err := a.Lock(p9.Lock{Type: p9.LockTypeWrite, Start: 0, Length: 10}, 0); err != nil || s != p9.LockStatusSuccess {
		t.Fatalf("lock: %v %v", s, err)
	}
	if s, err := b.Lock(p9.Lock{Type: p9.LockTypeRead, Start: 5, Length: 1}, p9.LockFlagsBlock); err != nil || s != p9.LockStatusBlocked {
		t.Fatalf("conflicting lock: %v %v", s, err)
	}
	l, err := b.GetLock(p9.Lock{Type: p9.LockTypeWrite, Start: 0, Length: 0})
	if err != nil || l.Type != p9.LockTypeWrite || l.Length != 10 {
		t.Fatalf("getlock %+v %v", l, err)
	}
	a.Lock(p9.Lock{Type: p9.LockTypeUnlock}, 0)
	if s, err := b.Lock(p9.Lock{Type: p9.LockTypeWrite}, 0); err != nil || s != p9.LockStatusSuccess {
		t.Fatalf("lock after unlock: %v %v", s, err)
	}
}

func TestGoferReaddir10000(t *testing.T) {
	root := t.TempDir()
	const n = 10000
	for i := range n {
		if err := os.WriteFile(filepath.Join(root, fmt.Sprintf("entry-%05d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g := startGofer(t, root, false)
	c := g.clients[0]
	for _, withAttr := range []bool{false, true} {
		before := c.RoundTrips()
		d, err := g.roots[0].Clone()
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := d.Open(p9.ReadOnly); err != nil {
			t.Fatal(err)
		}
		var names []string
		off := uint64(0)
		for {
			var batch []string
			var last uint64
			if withAttr {
				ents, err := d.ReaddirAttr(off, p9.MaxMsize, p9.AttrBasic)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range ents {
					if e.Dirent.Name != "." && e.Dirent.Name != ".." {
						if e.Valid&p9.AttrMode == 0 || e.Attr.Mode != p9.ModeRegular|0o644 {
							t.Fatalf("%s: attrs %+v", e.Dirent.Name, e)
						}
					}
					batch = append(batch, e.Dirent.Name)
					last = e.Dirent.Offset
				}
			} else {
				ents, err := d.Readdir(off, p9.MaxMsize)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range ents {
					batch = append(batch, e.Name)
					last = e.Offset
				}
			}
			if len(batch) == 0 {
				break
			}
			names = append(names, batch...)
			off = last
		}
		d.Close()
		rts := c.RoundTrips() - before
		sort.Strings(names)
		if len(names) != n+2 || names[2] != "entry-00000" || names[n+1] != "entry-09999" {
			t.Fatalf("attr=%v: %d names", withAttr, len(names))
		}
		t.Logf("attr=%v: %d entries in %d round trips", withAttr, n, rts)
		if withAttr && rts > 20 {
			t.Errorf("ls -l of %d entries took %d round trips, want <= 20", n, rts)
		}
	}
}

func TestGoferSparseBigFile(t *testing.T) {
	root := t.TempDir()
	g := startGofer(t, root, false)
	f, _ := g.roots[0].Clone()
	defer f.Close()
	_, _, fd, err := f.Create("big", p9.ReadWrite, 0o644, p9.NoGID)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	const size = 1 << 30
	if err := f.SetAttr(p9.SetAttrSize, p9.SetAttr{Size: size}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("tail"), size); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := f.ReadAt(buf, size-1); err != nil || string(buf) != "\x00tail" {
		t.Fatalf("read %q %v", buf, err)
	}
	if k, _ := fd.ReadAt(buf, size-1); string(buf[:k]) != "\x00tail" {
		t.Fatalf("donated read %q", buf[:k])
	}
	if a, _ := f.GetAttr(p9.AttrSize | p9.AttrBlocks); a.Attr.Size != size+4 || a.Attr.Blocks > 64 {
		t.Fatalf("size %d blocks %d", a.Attr.Size, a.Attr.Blocks)
	}
}

func TestGoferReadOnlyMount(t *testing.T) {
	root := t.TempDir()
	ro := t.TempDir()
	os.WriteFile(filepath.Join(ro, "f"), []byte("keep"), 0o644)
	g := startGofer(t, root, false, Mount{Path: ro, ReadOnly: true})
	m := g.roots[1]
	if _, err := m.Mkdir("x", 0o755, p9.NoGID); !errors.Is(err, unix.EROFS) {
		t.Errorf("mkdir: %v", err)
	}
	c, _ := m.Clone()
	if _, _, _, err := c.Create("x", p9.ReadWrite, 0o644, p9.NoGID); !errors.Is(err, unix.EROFS) {
		t.Errorf("create: %v", err)
	}
	c.Close()
	f := walk(t, m, "f")
	defer f.Close()
	if err := f.SetAttr(p9.SetAttrSize, p9.SetAttr{}); !errors.Is(err, unix.EROFS) {
		t.Errorf("truncate: %v", err)
	}
	if err := m.UnlinkAt("f", 0); !errors.Is(err, unix.EROFS) {
		t.Errorf("unlink: %v", err)
	}
	if err := f.SetXattr("user.x", []byte("1"), 0); !errors.Is(err, unix.EROFS) {
		t.Errorf("setxattr: %v", err)
	}
	w, _ := f.Clone()
	if _, _, _, err := w.Open(p9.WriteOnly); !errors.Is(err, unix.EROFS) {
		t.Errorf("open for write: %v", err)
	}
	w.Close()
	// The root tree stays writable.
	if _, err := g.roots[0].Mkdir("x", 0o755, p9.NoGID); err != nil {
		t.Errorf("mkdir in rw root: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(ro, "f")); string(got) != "keep" {
		t.Errorf("read-only file changed: %q", got)
	}
}

func TestGoferEscapes(t *testing.T) {
	root := t.TempDir()
	os.Symlink("/etc/passwd", filepath.Join(root, "pw"))
	os.Symlink("/etc", filepath.Join(root, "etc"))
	os.Symlink("../../../../../../", filepath.Join(root, "up"))
	g := startGofer(t, root, false)
	r := g.roots[0]

	qids, pw, err := r.Walk([]string{"pw"})
	if err != nil || qids[0].Type != p9.QIDTypeSymlink {
		t.Fatalf("walk pw: %v %v", qids, err)
	}
	if _, _, _, err := pw.Open(p9.ReadOnly); !errors.Is(err, unix.ELOOP) {
		t.Errorf("open symlink node: %v, want ELOOP", err)
	}
	pw.Close()
	for _, path := range [][]string{{"etc", "passwd"}, {"up", "etc", "passwd"}} {
		if _, f, err := r.Walk(path); err == nil {
			f.Close()
			t.Errorf("walk %v through a symlink succeeded", path)
		}
	}
	for _, path := range [][]string{{".."}, {"..", "..", ".."}, {"."}, {"etc/passwd"}, {"/etc"}} {
		if _, f, err := r.Walk(path); err == nil {
			f.Close()
			t.Errorf("walk %q succeeded", path)
		}
	}
	// Creating names with '/' is refused too.
	if _, err := r.Mkdir("a/b", 0o755, p9.NoGID); err == nil {
		t.Error("mkdir a/b succeeded")
	}
}

func TestGoferRefusesSymlinkMountSource(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("x"), 0o644)
	base := t.TempDir()
	link := filepath.Join(base, "link")
	os.Symlink(outside, link)
	for _, o := range []Options{
		{Root: link},
		{Root: base, Mounts: []Mount{{Path: link}}},
		{Root: base, Mounts: []Mount{{Path: link + "/."}}},
	} {
		var socks []*os.File
		var cfds []int
		for range 1 + len(o.Mounts) {
			s, c, _ := NewSocketPair()
			socks, cfds = append(socks, s), append(cfds, c)
		}
		var stderr bytes.Buffer
		cmd, err := Start(StartOptions{Path: os.Args[0], Args: []string{os.Args[0]},
			Env: append(os.Environ(), goferMainEnv+"=1"), Options: o, Sockets: socks, Stderr: &stderr})
		for _, s := range socks {
			s.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		err = cmd.Wait()
		for _, fd := range cfds {
			unix.Close(fd)
		}
		if err == nil || !strings.Contains(stderr.String(), "symlink") {
			t.Errorf("%+v: gofer exit %v, stderr %q; want refusal naming the symlink", o, err, stderr.String())
		}
	}
}

func TestGoferBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--root=/tmp", "--io-fds=0"},
		{"--root=/tmp", "--io-fds=x"},
		{"--root=/tmp", "--mount=/tmp:xx", "--io-fds=3,4"},
		{"--root=/tmp", "--io-fds=3,4"},
		{"--root=/tmp", "--io-fds=99"},
		{"--root=/tmp", "--io-fds=3", "extra"},
	} {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), goferMainEnv+"=1")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 0 {
			t.Errorf("%v: %v", args, err)
			continue
		}
		if lines := strings.Count(strings.TrimSpace(string(out)), "\n"); lines != 0 || !strings.HasPrefix(string(out), "runsc gofer: ") {
			t.Errorf("%v: want one error line, got %q", args, out)
		}
	}
}

// TestGoferSwapRace flips a name between a real file, a directory and a
// symlink to a file outside the tree while a client walks, opens and reads
// it through the Gofer; nothing from outside may ever be read.
func TestGoferSwapRace(t *testing.T) {
	outside := t.TempDir()
	secret := "SECRET-OUTSIDE-THE-TREE"
	os.WriteFile(filepath.Join(outside, "f"), []byte(secret), 0o644)
	root := t.TempDir()
	g := startGofer(t, root, false)
	var stop atomic.Bool
	var attempts atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p := filepath.Join(root, "x")
		for i := 0; !stop.Load(); i++ {
			// Flip only after the clients made progress, so every
			// state is seen by some walk (no timing involved).
			for seen := attempts.Load(); attempts.Load() < seen+2 && !stop.Load(); {
				runtime.Gosched()
			}
			tmp := filepath.Join(root, "tmp")
			os.RemoveAll(tmp)
			switch i % 3 {
			case 0:
				os.WriteFile(tmp, []byte("inside"), 0o644)
			case 1:
				os.Symlink(filepath.Join(outside, "f"), tmp)
			case 2:
				os.Mkdir(tmp, 0o755)
				os.Symlink(filepath.Join(outside, "f"), filepath.Join(tmp, "f"))
			}
			os.Rename(tmp, p)
		}
	}()
	var reads, refused atomic.Int64
	var cl sync.WaitGroup
	for range 4 {
		cl.Add(1)
		go func() {
			defer cl.Done()
			buf := make([]byte, 64)
			for i := 0; i < 1500; i++ {
				for _, path := range [][]string{{"x"}, {"x", "f"}} {
					attempts.Add(1)
					_, f, err := g.roots[0].Walk(path)
					if err != nil {
						continue
					}
					_, _, fd, err := f.Open(p9.ReadOnly)
					if err != nil {
						if refused.Add(1) < 5 {
							t.Logf("open %v: %v", path, err)
						}
						f.Close()
						continue
					}
					reads.Add(1)
					k, _ := f.ReadAt(buf, 0)
					if strings.Contains(string(buf[:k]), secret) {
						t.Error("read a file outside the tree through the protocol")
					}
					if fd != nil {
						k, _ := fd.ReadAt(buf, 0)
						if strings.Contains(string(buf[:k]), secret) {
							t.Error("read a file outside the tree through a donated fd")
						}
						fd.Close()
					}
					f.Close()
				}
			}
		}()
	}
	cl.Wait()
	stop.Store(true)
	wg.Wait()
	t.Logf("%d opens read, %d refused", reads.Load(), refused.Load())
	if reads.Load() == 0 {
		t.Error("no open ever succeeded: the race was not exercised")
	}
}

// TestGoferExitsWhenConnectionsClose checks the process lifecycle: the
// Gofer exits 0 once every connection is closed.
func TestGoferExitsWhenConnectionsClose(t *testing.T) {
	g := startGofer(t, t.TempDir(), false, Mount{Path: t.TempDir()})
	g.stop(t)
	if ws, ok := g.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.ExitStatus() != 0 {
		t.Fatalf("exit status %v", g.cmd.ProcessState)
	}
}
