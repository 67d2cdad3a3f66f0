package vfs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/tmpfs"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// fuzzTree builds:
//
//	/secret                      outside the jail
//	/jail/{a/b/c, f, mnt (a mount with g), links...}
//
// and returns the env with root and cwd at /jail plus the inode numbers
// (with device) of every file inside the jail.
func fuzzTree(t testing.TB) (*env, map[[2]uint64]bool) {
	e := newEnv(t)
	e.create("/secret", 0o644, "s")
	e.mkdir("/outdir", 0o755)
	e.mkdir("/jail", 0o755)
	e.mkdir("/jail/a", 0o755)
	e.mkdir("/jail/a/b", 0o755)
	e.mkdir("/jail/a/b/c", 0o755)
	e.create("/jail/f", 0o644, "f")
	e.mkdir("/jail/mnt", 0o755)
	fs2 := e.vfs.NewFilesystem(tmpfs.New(tmpfs.Options{MaxSize: 1 << 20}))
	mp, err := e.vfs.GetDentryAt(e.ctx, e.creds, e.pop("/jail/mnt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.vfs.MountAt(e.ctx, e.creds, fs2, mp, vfs.MountFlags{}); err != nil {
		t.Fatal(err)
	}
	mp.DecRef()
	e.create("/jail/mnt/g", 0o644, "g")
	e.mkdir("/jail/mnt/h", 0o755)
	e.symlink("/secret", "/jail/abs")
	e.symlink("../../../../../secret", "/jail/a/up")
	e.symlink("..", "/jail/a/b/dotdot")
	e.symlink("../../..", "/jail/mnt/h/upup")
	e.symlink("loop", "/jail/a/loop")
	e.symlink("/a/b/c/../../up", "/jail/a/b/c/back")
	e.symlink("/", "/jail/rootlink")
	e.symlink("../outdir", "/jail/sib")

	inside := map[[2]uint64]bool{}
	var walk func(p string)
	walk = func(p string) {
		st, err := e.vfs.StatAt(e.ctx, e.creds, e.popNoFollow(p), 0)
		if err != nil {
			t.Fatalf("stat %s: %v", p, err)
		}
		inside[[2]uint64{uint64(st.DevMinor), st.Ino}] = true
		if st.Mode&linux.S_IFMT != linux.S_IFDIR {
			return
		}
		fd, err := e.open(p, linux.O_RDONLY|linux.O_DIRECTORY, 0)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		fd.IterDirents(e.ctx, func(d vfs.Dirent) error {
			if d.Name != "." && d.Name != ".." {
				names = append(names, d.Name)
			}
			return nil
		})
		fd.DecRef(e.ctx)
		for _, n := range names {
			walk(strings.TrimSuffix(p, "/") + "/" + n)
		}
	}
	walk("/jail")
	jail, err := e.vfs.GetDentryAt(e.ctx, e.creds, e.pop("/jail"))
	if err != nil {
		t.Fatal(err)
	}
	e.root, e.cwd = jail, jail
	return e, inside
}

func FuzzResolve(f *testing.F) {
	for _, s := range []string{"/", "..", "../../secret", "a/up", "abs", "a/b/dotdot/dotdot/..", "mnt/h/upup/..", "a/loop", "a/b/c/back", "rootlink/../..", "//a//./b/../../f", "sib/..", "mnt/../mnt/g/", ""} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(3))
	}
	e, inside := fuzzTree(f)
	f.Fuzz(func(t *testing.T, path string, mode uint8) {
		if len(path) > 8192 {
			return
		}
		p := e.pop(path)
		p.FollowFinalSymlink = mode&1 == 0
		p.EmptyPath = mode&2 != 0
		switch (mode >> 2) & 7 {
		case 1:
			p.Resolve = linux.RESOLVE_BENEATH
		case 2:
			p.Resolve = linux.RESOLVE_IN_ROOT
		case 3:
			p.Resolve = linux.RESOLVE_NO_SYMLINKS
		case 4:
			p.Resolve = linux.RESOLVE_NO_XDEV
		}
		st, err := e.vfs.StatAt(e.ctx, e.creds, p, 0)
		if err != nil {
			switch err {
			case unix.ENOENT, unix.ENOTDIR, unix.ELOOP, unix.ENAMETOOLONG, unix.EXDEV, unix.EACCES:
				return
			}
			t.Fatalf("%q: unexpected error %v", path, err)
		}
		if !inside[[2]uint64{uint64(st.DevMinor), st.Ino}] {
			t.Fatalf("%q (mode %d) escaped the chroot: dev %d ino %d", path, mode, st.DevMinor, st.Ino)
		}
	})
}

// BenchmarkResolve10 stats a file at the end of a 10-component path and
// reports the same operation on the host (a real stat(2) of an identical
// path under a temporary directory) as native-ns/op and the ratio.
func BenchmarkResolve10(b *testing.B) {
	e := newEnv(b)
	comps := []string{"usr", "lib", "python3", "dist-packages", "pkg", "sub", "deeper", "more", "leaf"}
	p := ""
	for _, c := range comps {
		p += "/" + c
		e.mkdir(p, 0o755)
	}
	p += "/file.py"
	e.create(p, 0o644, "x")

	host := b.TempDir()
	hp := filepath.Join(append([]string{host}, comps...)...)
	if err := os.MkdirAll(hp, 0o755); err != nil {
		b.Fatal(err)
	}
	hp = filepath.Join(hp, "file.py")
	if err := os.WriteFile(hp, []byte("x"), 0o644); err != nil {
		b.Fatal(err)
	}

	pop := e.pop(p)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if _, err := e.vfs.StatAt(e.ctx, e.creds, pop, linux.STATX_BASIC_STATS); err != nil {
			b.Fatal(err)
		}
	}
	ours := time.Since(start)
	b.StopTimer()
	var st unix.Stat_t
	nstart := time.Now()
	for range b.N {
		if err := unix.Stat(hp, &st); err != nil {
			b.Fatal(err)
		}
	}
	native := time.Since(nstart)
	b.ReportMetric(float64(native.Nanoseconds())/float64(b.N), "native-ns/op")
	if native > 0 {
		b.ReportMetric(float64(ours)/float64(native), "ratio")
	}
}
