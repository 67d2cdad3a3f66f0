package gofer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// newTestTree makes a Tree over a fresh temporary directory.
func newTestTree(t *testing.T, readOnly bool) (*Tree, string) {
	t.Helper()
	dir := t.TempDir()
	tr, err := OpenTree(dir, readOnly)
	if err != nil {
		t.Fatalf("OpenTree: %v", err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr, dir
}

func mustWalk(t *testing.T, n *Node, names ...string) *Node {
	t.Helper()
	nodes, err := n.WalkPath(names)
	if err != nil {
		t.Fatalf("walk %v: %v", names, err)
	}
	for _, c := range nodes[:len(nodes)-1] {
		c.Close()
	}
	return nodes[len(nodes)-1]
}

func TestWalkRejectsBadNames(t *testing.T) {
	tr, _ := newTestTree(t, false)
	root := tr.Root()
	defer root.Close()
	for _, name := range []string{"", ".", "..", "a/b", "/etc", "x\x00y", string(make([]byte, 256))} {
		if _, err := root.Walk(name); !errors.Is(err, unix.EINVAL) {
			t.Errorf("Walk(%q) = %v, want EINVAL", name, err)
		}
	}
	// "../../.." as components is refused at the first one.
	nodes, err := root.WalkPath([]string{"..", "..", ".."})
	if len(nodes) != 0 || !errors.Is(err, unix.EINVAL) {
		t.Errorf("WalkPath(../../..) = %d nodes, %v", len(nodes), err)
	}
}

func TestSymlinkNeverFollowed(t *testing.T) {
	tr, dir := newTestTree(t, false)
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "pw")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(dir, "etc")); err != nil {
		t.Fatal(err)
	}
	root := tr.Root()
	defer root.Close()
	pw := mustWalk(t, root, "pw")
	defer pw.Close()
	if pw.FileType() != unix.S_IFLNK {
		t.Fatalf("pw type %o, want symlink", pw.FileType())
	}
	st, err := pw.Stat()
	if err != nil || st.Mode&unix.S_IFMT != unix.S_IFLNK || st.Size != int64(len("/etc/passwd")) {
		t.Fatalf("Stat(pw) = %+v, %v; want the link itself", st, err)
	}
	if target, err := pw.Readlink(); err != nil || target != "/etc/passwd" {
		t.Fatalf("Readlink = %q, %v", target, err)
	}
	for _, flags := range []int{unix.O_RDONLY, unix.O_RDWR} {
		if f, err := pw.Open(flags); !errors.Is(err, unix.ELOOP) {
			if f != nil {
				f.Close()
			}
			t.Errorf("Open(symlink, %d) = %v, want ELOOP", flags, err)
		}
	}
	// Walking through a symlinked directory is refused: it is not a
	// directory node.
	etc := mustWalk(t, root, "etc")
	defer etc.Close()
	if _, err := etc.Walk("passwd"); !errors.Is(err, unix.ENOTDIR) {
		t.Errorf("walk through symlink = %v, want ENOTDIR", err)
	}
	if err := pw.SetAttr(AttrChange{SetSize: true}); err == nil {
		t.Errorf("truncate via symlink node succeeded")
	}
}

func TestFileOps(t *testing.T) {
	tr, dir := newTestTree(t, false)
	root := tr.Root()
	defer root.Close()
	d, err := root.Mkdir("d", 0o750, -1, -1)
	if err != nil || d.Mode != unix.S_IFDIR|0o750 {
		t.Fatalf("Mkdir: %o %v", d.Mode, err)
	}
	dn := mustWalk(t, root, "d")
	defer dn.Close()
	fn, of, err := dn.Create("f", unix.O_RDWR, 0o640, -1, -1)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	defer fn.Close()
	if _, err := of.WriteAt([]byte("hello world"), 0); err != nil {
		t.Fatal(err)
	}
	of.Close()
	got, _ := os.ReadFile(filepath.Join(dir, "d/f"))
	if string(got) != "hello world" {
		t.Fatalf("host file = %q", got)
	}
	st, _ := fn.Stat()
	if st.Mode != unix.S_IFREG|0o640 || st.Size != 11 {
		t.Fatalf("stat %o size %d", st.Mode, st.Size)
	}
	// setattr: all in one request.
	err = fn.SetAttr(AttrChange{SetMode: true, Mode: 0o600, SetUID: true, UID: 1234, SetGID: true, GID: 5678,
		SetSize: true, Size: 5, SetATime: true, ATime: unix.Timespec{Sec: 1000}, SetMTime: true, MTime: unix.Timespec{Sec: 2000, Nsec: 7}})
	if err != nil {
		t.Fatalf("SetAttr: %v", err)
	}
	st, _ = fn.Stat()
	if st.Mode != unix.S_IFREG|0o600 || st.Uid != 1234 || st.Gid != 5678 || st.Size != 5 || st.Atim.Sec != 1000 || st.Mtim.Sec != 2000 || st.Mtim.Nsec != 7 {
		t.Fatalf("after SetAttr: %+v", st)
	}
	of, err = fn.Open(unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	k, err := of.ReadAt(buf, 0)
	if err != nil || string(buf[:k]) != "hello" {
		t.Fatalf("ReadAt = %q %v", buf[:k], err)
	}
	if _, err := of.WriteAt([]byte("x"), 0); err == nil {
		t.Errorf("write on O_RDONLY file succeeded")
	}
	of.Close()

	// Symlink, hard link, rename, readlink, unlink.
	if _, err := dn.Symlink("f", "sl", -1, -1); err != nil {
		t.Fatal(err)
	}
	if err := dn.Link(fn, "hl"); err != nil {
		t.Fatalf("Link: %v", err)
	}
	if st, _ := fn.Stat(); st.Nlink != 2 {
		t.Fatalf("nlink %d", st.Nlink)
	}
	if err := fn.Rename(root, "moved"); err != nil {
		t.Fatalf("Rename: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	// The node follows its rename: it can still be opened.
	if of, err := fn.Open(unix.O_RDONLY); err != nil {
		t.Fatalf("open after rename: %v", err)
	} else {
		of.Close()
	}
	if err := dn.RenameAt("hl", root, "hl2"); err != nil {
		t.Fatal(err)
	}
	if err := root.UnlinkAt("hl2", 0); err != nil {
		t.Fatal(err)
	}
	if err := root.UnlinkAt("d", unix.AT_REMOVEDIR); !errors.Is(err, unix.ENOTEMPTY) {
		t.Fatalf("rmdir non-empty = %v", err)
	}
	if _, err := dn.Mknod("fifo", unix.S_IFIFO|0o600); err != nil {
		t.Fatalf("mknod fifo: %v", err)
	}
	for _, m := range []uint32{unix.S_IFCHR | 0o600, unix.S_IFBLK | 0o600, unix.S_IFSOCK | 0o600} {
		if _, err := dn.Mknod("dev", m); !errors.Is(err, unix.EPERM) {
			t.Errorf("mknod %o = %v, want EPERM", m, err)
		}
	}
	fifo := mustWalk(t, dn, "fifo")
	defer fifo.Close()
	if f, err := fifo.Open(unix.O_RDONLY); !errors.Is(err, unix.EPERM) {
		if f != nil {
			f.Close()
		}
		t.Errorf("open fifo = %v, want EPERM", err)
	}
	if _, err := root.StatFS(); err != nil {
		t.Errorf("StatFS: %v", err)
	}
}

func TestReadOnlyTree(t *testing.T) {
	tr, dir := newTestTree(t, true)
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := tr.Root()
	defer root.Close()
	f := mustWalk(t, root, "f")
	defer f.Close()
	checks := map[string]error{}
	_, err := root.Mkdir("x", 0o755, -1, -1)
	checks["mkdir"] = err
	_, _, err = root.Create("x", unix.O_RDWR, 0o644, -1, -1)
	checks["create"] = err
	_, err = root.Symlink("t", "x", -1, -1)
	checks["symlink"] = err
	_, err = root.Mknod("x", 0o644)
	checks["mknod"] = err
	checks["link"] = root.Link(f, "x")
	checks["rename"] = f.Rename(root, "x")
	checks["renameat"] = root.RenameAt("f", root, "x")
	checks["unlink"] = root.UnlinkAt("f", 0)
	checks["setattr"] = f.SetAttr(AttrChange{SetMode: true, Mode: 0o777})
	checks["setxattr"] = f.SetXattr("user.x", []byte("1"), 0)
	checks["removexattr"] = f.RemoveXattr("user.x")
	_, err = f.Open(unix.O_WRONLY)
	checks["open-write"] = err
	_, err = f.Open(unix.O_RDONLY | unix.O_TRUNC)
	checks["open-trunc"] = err
	for op, err := range checks {
		if !errors.Is(err, unix.EROFS) {
			t.Errorf("%s on read-only tree = %v, want EROFS", op, err)
		}
	}
	of, err := f.Open(unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	of.Close()
	if got, _ := os.ReadFile(filepath.Join(dir, "f")); string(got) != "data" {
		t.Fatal("file changed")
	}
}

func TestXattrs(t *testing.T) {
	tr, dir := newTestTree(t, false)
	os.WriteFile(filepath.Join(dir, "f"), nil, 0o644)
	os.Symlink("/etc/passwd", filepath.Join(dir, "l"))
	root := tr.Root()
	defer root.Close()
	f := mustWalk(t, root, "f")
	defer f.Close()
	if err := f.SetXattr("user.k", []byte("value"), 0); err != nil {
		if errors.Is(err, unix.ENOTSUP) {
			t.Skipf("host filesystem or kernel lacks user xattrs / *xattrat: %v", err)
		}
		t.Fatalf("SetXattr: %v", err)
	}
	if err := f.SetXattr("user.k", []byte("v"), unix.XATTR_CREATE); !errors.Is(err, unix.EEXIST) {
		t.Errorf("XATTR_CREATE on existing = %v", err)
	}
	v, k, err := f.GetXattr("user.k", 100)
	if err != nil || string(v) != "value" || k != 5 {
		t.Fatalf("GetXattr = %q %d %v", v, k, err)
	}
	if _, k, err := f.GetXattr("user.k", 0); err != nil || k != 5 {
		t.Fatalf("GetXattr size probe = %d %v", k, err)
	}
	if _, _, err := f.GetXattr("user.k", 2); !errors.Is(err, unix.ERANGE) {
		t.Fatalf("GetXattr small = %v", err)
	}
	names, err := f.ListXattr(0)
	if err != nil || len(names) != 1 || names[0] != "user.k" {
		t.Fatalf("ListXattr = %v %v", names, err)
	}
	if err := f.RemoveXattr("user.k"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.GetXattr("user.k", 100); !errors.Is(err, unix.ENODATA) {
		t.Fatalf("after remove: %v", err)
	}
	// On a symlink node the xattr calls act on the link, never the target.
	l := mustWalk(t, root, "l")
	defer l.Close()
	if err := l.SetXattr("user.k", []byte("v"), 0); !errors.Is(err, unix.EPERM) {
		t.Errorf("user xattr on symlink = %v, want EPERM", err)
	}
}

func TestLocks(t *testing.T) {
	tr, dir := newTestTree(t, false)
	os.WriteFile(filepath.Join(dir, "f"), make([]byte, 100), 0o644)
	root := tr.Root()
	defer root.Close()
	f := mustWalk(t, root, "f")
	defer f.Close()
	a, err := f.Open(unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := f.Open(unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.Lock(LockWrite, 0, 10); err != nil {
		t.Fatal(err)
	}
	if err := b.Lock(LockRead, 5, 1); !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("conflicting lock = %v, want EAGAIN", err)
	}
	typ, start, length, _, err := b.GetLock(LockWrite, 0, 0)
	if err != nil || typ != LockWrite || start != 0 || length != 10 {
		t.Fatalf("GetLock = %d %d %d %v", typ, start, length, err)
	}
	if err := b.Lock(LockRead, 10, 5); err != nil {
		t.Fatalf("non-overlapping lock: %v", err)
	}
	a.Lock(LockUnlock, 0, 0)
	if err := b.Lock(LockWrite, 0, 0); err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	if err := a.Lock(7, 0, 0); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("bad lock type = %v", err)
	}
}

func TestReaddirLarge(t *testing.T) {
	tr, dir := newTestTree(t, false)
	const n = 10000
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file-%05d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root := tr.Root()
	defer root.Close()
	d, err := root.Open(unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var names []string
	off, calls := uint64(0), 0
	for {
		ents, err := d.ReaddirStat(off, 64<<10)
		if err != nil {
			t.Fatal(err)
		}
		calls++
		if len(ents) == 0 {
			break
		}
		for _, e := range ents {
			if e.Name == "." || e.Name == ".." {
				continue
			}
			if !e.OK || e.Stat.Mode&unix.S_IFMT != unix.S_IFREG || e.Stat.Ino != e.Ino {
				t.Fatalf("entry %q: ok=%v stat %+v", e.Name, e.OK, e.Stat)
			}
			names = append(names, e.Name)
		}
		off = ents[len(ents)-1].Off
	}
	sort.Strings(names)
	if len(names) != n || names[0] != "file-00000" || names[n-1] != "file-09999" {
		t.Fatalf("got %d names", len(names))
	}
	t.Logf("%d entries in %d calls", n, calls)
}

func TestSparseBigFile(t *testing.T) {
	tr, dir := newTestTree(t, false)
	root := tr.Root()
	defer root.Close()
	fn, of, err := root.Create("big", unix.O_RDWR, 0o644, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	of.Close()
	const size = 1 << 30
	if err := fn.SetAttr(AttrChange{SetSize: true, Size: size}); err != nil {
		t.Fatal(err)
	}
	of, err = fn.Open(unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	defer of.Close()
	tail := []byte("the end")
	if _, err := of.WriteAt(tail, size); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	k, err := of.ReadAt(buf, size-1)
	if err != nil || !bytes.Equal(buf[:k], append([]byte{0}, tail...)) {
		t.Fatalf("read back %q %v", buf[:k], err)
	}
	st, _ := os.Stat(filepath.Join(dir, "big"))
	if st.Size() != size+int64(len(tail)) {
		t.Fatalf("size %d", st.Size())
	}
}

// TestSwapRace flips a name between a real file/dir inside the tree and a
// symlink to a secret outside it while other goroutines walk and open it.
// Nothing read may ever come from outside.
func TestSwapRace(t *testing.T) {
	outside := t.TempDir()
	secret := []byte("SECRET-OUTSIDE")
	os.WriteFile(filepath.Join(outside, "f"), secret, 0o644)
	tr, dir := newTestTree(t, false)
	inside := []byte("inside")
	stop := atomic.Bool{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p := filepath.Join(dir, "x")
		for i := 0; !stop.Load(); i++ {
			tmp := filepath.Join(dir, "tmp")
			os.RemoveAll(tmp)
			switch i % 3 {
			case 0:
				os.WriteFile(tmp, inside, 0o644)
			case 1:
				os.Symlink(filepath.Join(outside, "f"), tmp)
			case 2:
				os.Mkdir(tmp, 0o755)
				os.Symlink(filepath.Join(outside, "f"), filepath.Join(tmp, "f"))
			}
			os.RemoveAll(p)
			os.Rename(tmp, p)
		}
	}()
	root := tr.Root()
	defer root.Close()
	var opened, refused atomic.Int64
	var readers sync.WaitGroup
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			buf := make([]byte, 64)
			for i := 0; i < 3000; i++ {
				n, err := root.Walk("x")
				if err != nil {
					continue
				}
				tryRead := func(n *Node) {
					of, err := n.Open(unix.O_RDONLY)
					if err != nil {
						refused.Add(1)
						return
					}
					defer of.Close()
					if n.IsDir() {
						return
					}
					opened.Add(1)
					k, _ := of.ReadAt(buf, 0)
					if bytes.Contains(buf[:k], secret) {
						t.Errorf("read outside file through the tree")
					}
				}
				tryRead(n)
				if n.IsDir() {
					if c, err := n.Walk("f"); err == nil {
						tryRead(c)
						c.Close()
					}
				}
				n.Close()
			}
		}()
	}
	readers.Wait()
	stop.Store(true)
	wg.Wait()
	t.Logf("opened %d regular files, refused %d opens", opened.Load(), refused.Load())
}

func TestOpenTreeRefusesSymlinkedSource(t *testing.T) {
	outside := t.TempDir()
	base := t.TempDir()
	link := filepath.Join(base, "mnt")
	os.Symlink(outside, link)
	if tr, err := OpenTree(link, false); err == nil {
		tr.Close()
		t.Fatal("OpenTree through a symlink succeeded")
	}
	if tr, err := OpenTree(filepath.Join(link, "."), false); err == nil {
		tr.Close()
		t.Fatal("OpenTree through a symlink component succeeded")
	}
}

func TestNodeRefcounts(t *testing.T) {
	tr, dir := newTestTree(t, false)
	os.MkdirAll(filepath.Join(dir, "a/b/c"), 0o755)
	root := tr.Root()
	nodes, err := root.WalkPath([]string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	// Closing parents before children must keep the children usable.
	root.Close()
	nodes[0].Close()
	nodes[1].Close()
	if _, err := nodes[2].Stat(); err != nil {
		t.Fatal(err)
	}
	d, err := nodes[2].Open(unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	nodes[2].Close()
	if got := tr.root.refs.Load(); got != 1 {
		t.Fatalf("root refs %d after closing everything, want 1", got)
	}
}

func TestRenameMovesNodes(t *testing.T) {
	tr, dir := newTestTree(t, false)
	os.Mkdir(filepath.Join(dir, "a"), 0o755)
	os.Mkdir(filepath.Join(dir, "b"), 0o755)
	os.WriteFile(filepath.Join(dir, "a/f"), []byte("f"), 0o644)
	os.WriteFile(filepath.Join(dir, "b/target"), []byte("old target"), 0o644)
	root := tr.Root()
	defer root.Close()
	a := mustWalk(t, root, "a")
	defer a.Close()
	b := mustWalk(t, root, "b")
	defer b.Close()
	f1 := mustWalk(t, a, "f")
	f2 := mustWalk(t, a, "f")
	target := mustWalk(t, b, "target")
	defer target.Close()
	if err := a.RenameAt("f", b, "target"); err != nil {
		t.Fatal(err)
	}
	// Both Nodes of the moved file still open it, and a's reference is
	// handed to b.
	for _, n := range []*Node{f1, f2} {
		of, err := n.Open(unix.O_RDONLY)
		if err != nil {
			t.Fatalf("open after renameat: %v", err)
		}
		buf := make([]byte, 10)
		k, _ := of.ReadAt(buf, 0)
		of.Close()
		if string(buf[:k]) != "f" {
			t.Fatalf("read %q", buf[:k])
		}
	}
	// The replaced target's Node must not reach the file now named so.
	if of, err := target.Open(unix.O_RDONLY); !errors.Is(err, unix.ESTALE) {
		if of != nil {
			of.Close()
		}
		t.Fatalf("open of replaced target = %v, want ESTALE", err)
	}
	// Move back with Rename on the Node itself.
	if err := f1.Rename(a, "g"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a/g")); err != nil {
		t.Fatal(err)
	}
	if of, err := f2.Open(unix.O_RDONLY); err != nil {
		t.Fatalf("second node after Rename: %v", err)
	} else {
		of.Close()
	}
	f1.Close()
	f2.Close()
	for _, d := range []*Node{a, b} {
		d.childMu.Lock()
		n := len(d.children)
		d.childMu.Unlock()
		if n != 0 {
			t.Errorf("%s has %d registered names", d.name, n)
		}
	}
	if a.refs.Load() != 1 {
		t.Errorf("a refs %d, want 1", a.refs.Load())
	}
}
