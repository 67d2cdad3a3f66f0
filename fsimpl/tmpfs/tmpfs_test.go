package tmpfs_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/tmpfs"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

type fixture struct {
	t     *testing.T
	ctx   context.Context
	vfs   *vfs.VirtualFilesystem
	fs    *tmpfs.Filesystem
	root  vfs.VirtualDentry
	creds *vfs.Credentials
	now   int64
	mu    sync.Mutex
}

func newFixture(t *testing.T, size int64) *fixture {
	f := &fixture{t: t, ctx: context.Background(), vfs: vfs.New(), creds: vfs.RootCredentials(), now: 1_000_000_000}
	f.fs = tmpfs.New(tmpfs.Options{MaxSize: size, Clock: f.clock})
	ns := f.vfs.NewMountNamespace(f.vfs.NewFilesystem(f.fs), vfs.MountFlags{})
	f.root = ns.Root()
	return f
}

func (f *fixture) clock() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) tick() {
	f.mu.Lock()
	f.now += 1_000_000_000
	f.mu.Unlock()
}

func (f *fixture) pop(p string) *vfs.PathOperation {
	return &vfs.PathOperation{Root: f.root, Start: f.root, Path: p, FollowFinalSymlink: true}
}

func (f *fixture) open(p string, flags uint32) *vfs.FileDescription {
	f.t.Helper()
	fd, err := f.vfs.OpenAt(f.ctx, f.creds, f.pop(p), flags, 0o644)
	if err != nil {
		f.t.Fatalf("open %s: %v", p, err)
	}
	return fd
}

func (f *fixture) stat(p string) linux.Statx {
	f.t.Helper()
	st, err := f.vfs.StatAt(f.ctx, f.creds, f.pop(p), linux.STATX_BASIC_STATS)
	if err != nil {
		f.t.Fatalf("stat %s: %v", p, err)
	}
	return st
}

func pwrite(t *testing.T, fd *vfs.FileDescription, data []byte, off int64) {
	t.Helper()
	n, err := fd.PWrite(context.Background(), vfs.BytesIOSequence(data), off)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("pwrite %d@%d: %d %v", len(data), off, n, err)
	}
}

func pread(t *testing.T, fd *vfs.FileDescription, n int, off int64) []byte {
	t.Helper()
	buf := make([]byte, n)
	got, err := fd.PRead(context.Background(), vfs.BytesIOSequence(buf), off)
	if err != nil {
		t.Fatalf("pread: %v", err)
	}
	return buf[:got]
}

func TestSparseDataAndSeek(t *testing.T) {
	f := newFixture(t, 64<<20)
	fd := f.open("/f", linux.O_CREAT|linux.O_RDWR)
	defer fd.DecRef(f.ctx)
	const mb = 1 << 20
	pwrite(t, fd, []byte("head"), 0)
	pwrite(t, fd, []byte("tail"), 3*mb)
	st, _ := fd.Stat(f.ctx, 0)
	if st.Size != 3*mb+4 {
		t.Errorf("size %d", st.Size)
	}
	if st.Blocks != 2*8 {
		t.Errorf("blocks %d, want 16 (two pages)", st.Blocks)
	}
	got := pread(t, fd, 8, 3*mb-4)
	if !bytes.Equal(got, []byte("\x00\x00\x00\x00tail")) {
		t.Errorf("hole+data = %q", got)
	}
	if got := pread(t, fd, 10, 3*mb+2); string(got) != "il" {
		t.Errorf("read at EOF = %q", got)
	}
	if got := pread(t, fd, 10, 5*mb); len(got) != 0 {
		t.Errorf("read past EOF = %q", got)
	}
	seek := func(off int64, whence int32) (int64, error) { return fd.Seek(f.ctx, off, whence) }
	cases := []struct {
		off    int64
		whence int32
		want   int64
		err    error
	}{
		{0, linux.SEEK_DATA, 0, nil},
		{10, linux.SEEK_DATA, 10, nil},
		{4096, linux.SEEK_DATA, 3 * mb, nil},
		{0, linux.SEEK_HOLE, 4096, nil},
		{3 * mb, linux.SEEK_HOLE, 3*mb + 4, nil},
		{3*mb + 4, linux.SEEK_HOLE, 0, unix.ENXIO},
		{3*mb + 4, linux.SEEK_DATA, 0, unix.ENXIO},
		{-1, linux.SEEK_DATA, 0, unix.ENXIO},
	}
	for _, c := range cases {
		got, err := seek(c.off, c.whence)
		if err != c.err || (err == nil && got != c.want) {
			t.Errorf("lseek(%d, %d) = %d %v, want %d %v", c.off, c.whence, got, err, c.want, c.err)
		}
	}
	// Truncate down inside a page zeroes the tail; growing back shows zeros.
	if err := fd.SetStat(f.ctx, f.creds, vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_SIZE, Size: 2}}); err != nil {
		t.Fatal(err)
	}
	st, _ = fd.Stat(f.ctx, 0)
	if st.Size != 2 || st.Blocks != 8 {
		t.Errorf("after truncate: size %d blocks %d", st.Size, st.Blocks)
	}
	if err := fd.SetStat(f.ctx, f.creds, vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_SIZE, Size: 8}}); err != nil {
		t.Fatal(err)
	}
	if got := pread(t, fd, 8, 0); !bytes.Equal(got, []byte("he\x00\x00\x00\x00\x00\x00")) {
		t.Errorf("after truncate and grow: %q", got)
	}
}

func TestFallocate(t *testing.T) {
	f := newFixture(t, 64<<20)
	fd := f.open("/f", linux.O_CREAT|linux.O_RDWR)
	defer fd.DecRef(f.ctx)
	if err := fd.Allocate(f.ctx, 0, 0, 5*4096); err != nil {
		t.Fatal(err)
	}
	st, _ := fd.Stat(f.ctx, 0)
	if st.Size != 5*4096 || st.Blocks != 40 {
		t.Errorf("after fallocate: size %d blocks %d", st.Size, st.Blocks)
	}
	if err := fd.Allocate(f.ctx, linux.FALLOC_FL_KEEP_SIZE, 0, 10*4096); err != nil {
		t.Fatal(err)
	}
	st, _ = fd.Stat(f.ctx, 0)
	if st.Size != 5*4096 || st.Blocks != 80 {
		t.Errorf("after KEEP_SIZE: size %d blocks %d", st.Size, st.Blocks)
	}
	data := bytes.Repeat([]byte{0xaa}, 5*4096)
	pwrite(t, fd, data, 0)
	// Punch [100, 3*4096+100): pages 1 and 2 freed, partial pages zeroed.
	if err := fd.Allocate(f.ctx, linux.FALLOC_FL_PUNCH_HOLE|linux.FALLOC_FL_KEEP_SIZE, 100, 3*4096); err != nil {
		t.Fatal(err)
	}
	got := pread(t, fd, 5*4096, 0)
	for i, b := range got {
		want := byte(0xaa)
		if i >= 100 && i < 3*4096+100 {
			want = 0
		}
		if b != want {
			t.Fatalf("byte %d = %#x, want %#x", i, b, want)
		}
	}
	if off, _ := fd.Seek(f.ctx, 0, linux.SEEK_HOLE); off != 4096 {
		t.Errorf("hole at %d", off)
	}
	if off, _ := fd.Seek(f.ctx, 4096, linux.SEEK_DATA); off != 3*4096 {
		t.Errorf("data at %d", off)
	}
	if err := fd.Allocate(f.ctx, linux.FALLOC_FL_PUNCH_HOLE, 0, 1); err != unix.EOPNOTSUPP {
		t.Errorf("punch without keep size: %v", err)
	}
	if err := fd.Allocate(f.ctx, linux.FALLOC_FL_COLLAPSE_RANGE, 0, 4096); err != unix.EOPNOTSUPP {
		t.Errorf("collapse: %v", err)
	}
	if err := fd.Allocate(f.ctx, 0, -1, 1); err != unix.EINVAL {
		t.Errorf("negative offset: %v", err)
	}
}

func TestSizeLimit(t *testing.T) {
	f := newFixture(t, 16*4096)
	fd := f.open("/f", linux.O_CREAT|linux.O_RDWR)
	n, err := fd.Write(f.ctx, vfs.BytesIOSequence(make([]byte, 20*4096)))
	if n != 16*4096 || err != nil {
		t.Errorf("short write: %d %v", n, err)
	}
	if _, err := fd.Write(f.ctx, vfs.BytesIOSequence([]byte("x"))); err != unix.ENOSPC {
		t.Errorf("full fs write: %v", err)
	}
	if err := fd.Allocate(f.ctx, 0, 0, 1<<40); err != unix.ENOSPC {
		t.Errorf("huge fallocate: %v", err)
	}
	// A huge sparse truncate costs nothing.
	if err := fd.SetStat(f.ctx, f.creds, vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_SIZE, Size: 1 << 40}}); err != nil {
		t.Errorf("sparse truncate: %v", err)
	}
	st, _ := f.vfs.StatFSAt(f.ctx, f.creds, f.pop("/"))
	if st.BlocksFree != 0 {
		t.Errorf("free blocks %d", st.BlocksFree)
	}
	fd.DecRef(f.ctx)
	// Unlinking the closed file gives the space back.
	if err := f.vfs.UnlinkAt(f.ctx, f.creds, f.pop("/f")); err != nil {
		t.Fatal(err)
	}
	if f.fs.UsedPages() != 0 {
		t.Errorf("pages after unlink: %d", f.fs.UsedPages())
	}
	// Open-but-unlinked files keep their pages until closed.
	fd = f.open("/g", linux.O_CREAT|linux.O_RDWR)
	pwrite(t, fd, []byte("x"), 0)
	f.vfs.UnlinkAt(f.ctx, f.creds, f.pop("/g"))
	if got := pread(t, fd, 1, 0); string(got) != "x" {
		t.Errorf("read unlinked = %q", got)
	}
	if f.fs.UsedPages() != 1 {
		t.Errorf("pages while open: %d", f.fs.UsedPages())
	}
	fd.DecRef(f.ctx)
	if f.fs.UsedPages() != 0 {
		t.Errorf("pages after close: %d", f.fs.UsedPages())
	}
}

func dirents(t *testing.T, fd *vfs.FileDescription, max int) []vfs.Dirent {
	var out []vfs.Dirent
	err := fd.IterDirents(context.Background(), func(d vfs.Dirent) error {
		if len(out) == max {
			return unix.EINVAL // "buffer full"
		}
		out = append(out, d)
		return nil
	})
	if err != nil && err != unix.EINVAL {
		t.Fatal(err)
	}
	return out
}

func TestGetdentsStableOffsets(t *testing.T) {
	f := newFixture(t, 1<<20)
	if err := f.vfs.MkdirAt(f.ctx, f.creds, f.pop("/d"), 0o755); err != nil {
		t.Fatal(err)
	}
	const n = 100
	for i := range n {
		f.open(fmt.Sprintf("/d/%03d", i), linux.O_CREAT|linux.O_RDONLY).DecRef(f.ctx)
	}
	dir := f.open("/d", linux.O_RDONLY|linux.O_DIRECTORY)
	defer dir.DecRef(f.ctx)
	first := dirents(t, dir, 12) // ".", "..", 000..009
	if first[0].Name != "." || first[1].Name != ".." || first[2].Name != "000" || first[11].Name != "009" {
		t.Fatalf("first batch %v", first)
	}
	if first[1].Ino != f.stat("/").Ino || first[0].Ino != f.stat("/d").Ino {
		t.Errorf(". and .. inodes wrong")
	}
	if first[2].Type != linux.DT_REG {
		t.Errorf("type %d", first[2].Type)
	}
	// Concurrently unlink every even entry and add new ones; entries not
	// yet read that survive must each be returned exactly once.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < n; i += 2 {
			f.vfs.UnlinkAt(f.ctx, f.creds, f.pop(fmt.Sprintf("/d/%03d", i)))
		}
	}()
	seen := map[string]int{}
	for {
		batch := dirents(t, dir, 7)
		if len(batch) == 0 {
			break
		}
		for _, d := range batch {
			seen[d.Name]++
		}
	}
	wg.Wait()
	for i := 10; i < n; i++ {
		name := fmt.Sprintf("%03d", i)
		if seen[name] > 1 {
			t.Errorf("%s reported %d times", name, seen[name])
		}
		if i%2 == 1 && seen[name] != 1 {
			t.Errorf("surviving %s reported %d times", name, seen[name])
		}
	}
	for i := range 10 {
		if seen[fmt.Sprintf("%03d", i)] != 0 {
			t.Errorf("already-read entry %d reported again", i)
		}
	}
	// Rewind (lseek 0) and re-read: exactly the survivors.
	if _, err := dir.Seek(f.ctx, 0, linux.SEEK_SET); err != nil {
		t.Fatal(err)
	}
	all := dirents(t, dir, 1000)
	if len(all) != 2+n/2 {
		t.Errorf("after rewind: %d entries", len(all))
	}
	// Seeking to a saved d_off resumes after that entry.
	if _, err := dir.Seek(f.ctx, all[5].NextOff, linux.SEEK_SET); err != nil {
		t.Fatal(err)
	}
	if next := dirents(t, dir, 1); next[0].Name != all[6].Name {
		t.Errorf("resume at d_off: %q want %q", next[0].Name, all[6].Name)
	}
	if _, err := dir.Seek(f.ctx, 0, linux.SEEK_END); err != unix.EINVAL {
		t.Errorf("SEEK_END on dir: %v", err)
	}
	if _, err := dir.Read(f.ctx, vfs.BytesIOSequence(make([]byte, 1))); err != unix.EISDIR {
		t.Errorf("read dir: %v", err)
	}
}

func TestTimestamps(t *testing.T) {
	f := newFixture(t, 1<<20)
	fd := f.open("/f", linux.O_CREAT|linux.O_RDWR)
	defer fd.DecRef(f.ctx)
	st0 := f.stat("/f")
	root0 := f.stat("/")
	if st0.Mtime != root0.Mtime || st0.Btime.Sec != 1 {
		t.Errorf("create times: file %v dir %v", st0.Mtime, root0.Mtime)
	}
	f.tick()
	pwrite(t, fd, []byte("x"), 0)
	st1 := f.stat("/f")
	if st1.Mtime.Sec != 2 || st1.Ctime.Sec != 2 || st1.Atime.Sec != 1 {
		t.Errorf("after write: a %v m %v c %v", st1.Atime, st1.Mtime, st1.Ctime)
	}
	f.tick()
	pread(t, fd, 1, 0)
	if st := f.stat("/f"); st.Atime.Sec != 3 {
		t.Errorf("after read: atime %v", st.Atime)
	}
	f.tick()
	pread(t, fd, 1, 0) // relatime: atime is newer than mtime, not updated.
	if st := f.stat("/f"); st.Atime.Sec != 3 {
		t.Errorf("relatime: atime %v", st.Atime)
	}
	f.tick()
	if err := f.vfs.SetStatAt(f.ctx, f.creds, f.pop("/f"), vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_MODE, Mode: 0o600}}); err != nil {
		t.Fatal(err)
	}
	if st := f.stat("/f"); st.Ctime.Sec != 5 || st.Mtime.Sec != 2 {
		t.Errorf("chmod: c %v m %v", st.Ctime, st.Mtime)
	}
	f.tick()
	if err := f.vfs.LinkAt(f.ctx, f.creds, f.pop("/f"), f.pop("/g")); err != nil {
		t.Fatal(err)
	}
	if st, r := f.stat("/f"), f.stat("/"); st.Ctime.Sec != 6 || r.Mtime.Sec != 6 || st.Nlink != 2 {
		t.Errorf("link: file c %v dir m %v nlink %d", st.Ctime, r.Mtime, st.Nlink)
	}
}

func TestDirectoryNlinkAndStat(t *testing.T) {
	f := newFixture(t, 1<<20)
	for _, d := range []string{"/a", "/a/b", "/a/c"} {
		if err := f.vfs.MkdirAt(f.ctx, f.creds, f.pop(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if st := f.stat("/a"); st.Nlink != 4 || st.Mode != linux.S_IFDIR|0o755 {
		t.Errorf("/a nlink %d mode %o", st.Nlink, st.Mode)
	}
	if st := f.stat("/"); st.Nlink != 3 || st.Mode&0o7777 != 0o1777 {
		t.Errorf("/ nlink %d mode %o", st.Nlink, st.Mode)
	}
	if err := f.vfs.SymlinkAt(f.ctx, f.creds, f.pop("/a/l"), "b"); err != nil {
		t.Fatal(err)
	}
	st, _ := f.vfs.StatAt(f.ctx, f.creds, &vfs.PathOperation{Root: f.root, Start: f.root, Path: "/a/l"}, 0)
	if st.Size != 1 || st.Mode != linux.S_IFLNK|0o777 {
		t.Errorf("symlink stat size %d mode %o", st.Size, st.Mode)
	}
	if err := f.vfs.RmdirAt(f.ctx, f.creds, f.pop("/a/b")); err != nil {
		t.Fatal(err)
	}
	if st := f.stat("/a"); st.Nlink != 3 {
		t.Errorf("/a nlink after rmdir %d", st.Nlink)
	}
}

func TestConcurrentFileOps(t *testing.T) {
	f := newFixture(t, 16<<20)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dir := fmt.Sprintf("/w%d", w)
			if err := f.vfs.MkdirAt(f.ctx, f.creds, f.pop(dir), 0o755); err != nil {
				t.Error(err)
				return
			}
			for i := range 100 {
				p := fmt.Sprintf("%s/%d", dir, i)
				fd, err := f.vfs.OpenAt(f.ctx, f.creds, f.pop(p), linux.O_CREAT|linux.O_RDWR, 0o644)
				if err != nil {
					t.Error(err)
					return
				}
				fd.Write(f.ctx, vfs.BytesIOSequence(p))
				fd.DecRef(f.ctx)
				if i%3 == 0 {
					f.vfs.RenameAt(f.ctx, f.creds, f.pop(p), f.pop(p+"r"), 0)
				}
				if i%5 == 0 {
					f.vfs.UnlinkAt(f.ctx, f.creds, f.pop(p))
				}
				f.vfs.StatAt(f.ctx, f.creds, f.pop(fmt.Sprintf("/w%d/%d", (w+1)%4, i)), 0)
			}
		}()
	}
	wg.Wait()
}

func TestInodeLimitAndConcurrentCreate(t *testing.T) {
	f := newFixture(t, 1<<20)
	f.fs = tmpfs.New(tmpfs.Options{MaxSize: 1 << 20, MaxInodes: 3})
	f.root = f.vfs.NewMountNamespace(f.vfs.NewFilesystem(f.fs), vfs.MountFlags{}).Root()
	for i := range 3 {
		f.open(fmt.Sprintf("/%d", i), linux.O_CREAT|linux.O_RDONLY).DecRef(f.ctx)
	}
	if _, err := f.vfs.OpenAt(f.ctx, f.creds, f.pop("/x"), linux.O_CREAT|linux.O_RDONLY, 0o644); err != unix.ENOSPC {
		t.Errorf("beyond nr_inodes: %v", err)
	}
	if err := f.vfs.MkdirAt(f.ctx, f.creds, f.pop("/d"), 0o755); err != unix.ENOSPC {
		t.Errorf("mkdir beyond nr_inodes: %v", err)
	}
	st, _ := f.vfs.StatFSAt(f.ctx, f.creds, f.pop("/"))
	if st.Files != 3 || st.FilesFree != 0 {
		t.Errorf("statfs files %d free %d", st.Files, st.FilesFree)
	}

	// Many openers racing on O_CREAT of one name all succeed and share
	// one inode.
	g := newFixture(t, 1<<20)
	var wg sync.WaitGroup
	inos := make([]uint64, 8)
	for w := range inos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fd, err := g.vfs.OpenAt(g.ctx, g.creds, g.pop("/same"), linux.O_CREAT|linux.O_RDWR, 0o644)
			if err != nil {
				t.Error(err)
				return
			}
			st, _ := fd.Stat(g.ctx, 0)
			inos[w] = st.Ino
			fd.DecRef(g.ctx)
		}()
	}
	wg.Wait()
	for _, ino := range inos {
		if ino != inos[0] {
			t.Errorf("racing creators got different inodes: %v", inos)
			break
		}
	}
}

func TestGetdentsLargeDirectory(t *testing.T) {
	f := newFixture(t, 1<<20)
	const n = 1000
	for i := range n {
		if err := f.vfs.MknodAt(f.ctx, f.creds, f.pop(fmt.Sprintf("/%04d", i)), linux.S_IFREG|0o644, 0); err != nil {
			t.Fatal(err)
		}
	}
	dir := f.open("/", linux.O_RDONLY|linux.O_DIRECTORY)
	defer dir.DecRef(f.ctx)
	all := dirents(t, dir, 10*n)
	if len(all) != n+2 {
		t.Fatalf("got %d entries", len(all))
	}
	for i, d := range all[2:] {
		if d.Name != fmt.Sprintf("%04d", i) {
			t.Fatalf("entry %d = %q", i, d.Name)
		}
	}
	if more := dirents(t, dir, 10); len(more) != 0 {
		t.Errorf("read past end: %v", more)
	}
}
