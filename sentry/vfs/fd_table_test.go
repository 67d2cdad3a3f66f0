package vfs_test

import (
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/vfs/lock"
)

func TestFDTable(t *testing.T) {
	e := newEnv(t)
	e.create("/f", 0o644, "x")
	file, err := e.open("/f", linux.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	limit := uint64(8)
	tab := vfs.NewFDTable(func() uint64 { return limit })
	for want := int32(0); want < 3; want++ {
		fd, err := tab.NewFD(0, file, vfs.FDFlags{})
		if err != nil || fd != want {
			t.Fatalf("NewFD = %d, %v; want %d", fd, err, want)
		}
	}
	wantErr(t, "close 1", tab.Close(e.ctx, 1), nil)
	wantErr(t, "close 1 again", tab.Close(e.ctx, 1), unix.EBADF)
	if fd, _ := tab.NewFD(0, file, vfs.FDFlags{}); fd != 1 {
		t.Errorf("lowest free = %d, want 1", fd)
	}
	if fd, _ := tab.Dup(0, 5, true); fd != 5 {
		t.Errorf("F_DUPFD 5 = %d", fd)
	}
	if _, fl := tab.Get(5); !fl.CloseOnExec {
		t.Errorf("F_DUPFD_CLOEXEC flag lost")
	} else {
		f, _ := tab.Get(5)
		f.DecRef(e.ctx)
		f.DecRef(e.ctx)
	}
	// dup2 onto itself is a no-op; dup3 onto itself is EINVAL.
	if fd, err := tab.Dup2(e.ctx, 2, 2); fd != 2 || err != nil {
		t.Errorf("dup2 same = %d %v", fd, err)
	}
	_, err = tab.Dup3(e.ctx, 2, 2, 0)
	wantErr(t, "dup3 same", err, unix.EINVAL)
	_, err = tab.Dup3(e.ctx, 2, 3, linux.O_NONBLOCK)
	wantErr(t, "dup3 flags", err, unix.EINVAL)
	_, err = tab.Dup2(e.ctx, 9, 3)
	wantErr(t, "dup2 bad old", err, unix.EBADF)
	_, err = tab.Dup2(e.ctx, 0, 8)
	wantErr(t, "dup2 beyond limit", err, unix.EBADF)
	if fd, err := tab.Dup3(e.ctx, 0, 7, linux.O_CLOEXEC); fd != 7 || err != nil {
		t.Errorf("dup3 = %d %v", fd, err)
	}
	// 0,1,2,5,7 used; 3,4,6 free; limit 8.
	for _, want := range []int32{3, 4, 6} {
		if fd, err := tab.NewFD(0, file, vfs.FDFlags{}); fd != want || err != nil {
			t.Errorf("fill = %d %v, want %d", fd, err, want)
		}
	}
	_, err = tab.NewFD(0, file, vfs.FDFlags{})
	wantErr(t, "full table", err, unix.EMFILE)
	_, err = tab.NewFD(8, file, vfs.FDFlags{})
	wantErr(t, "min beyond limit", err, unix.EINVAL)
	// With RLIMIT_NOFILE 0, open and dup have no fd to give: EMFILE.
	zero := vfs.NewFDTable(func() uint64 { return 0 })
	_, err = zero.NewFD(0, file, vfs.FDFlags{})
	wantErr(t, "limit 0", err, unix.EMFILE)
	if tab.Len() != 8 {
		t.Errorf("Len = %d", tab.Len())
	}

	// Fork copies; close_range on the child leaves the parent alone.
	child := tab.Fork(nil)
	if _, err := child.CloseRange(e.ctx, 3, ^uint32(0), 0); err != nil {
		t.Fatal(err)
	}
	if child.Len() != 3 || tab.Len() != 8 {
		t.Errorf("after close_range: child %d parent %d", child.Len(), tab.Len())
	}
	_, err = child.CloseRange(e.ctx, 5, 3, 0)
	wantErr(t, "close_range first>last", err, unix.EINVAL)
	// CLOSE_RANGE_CLOEXEC marks, then exec removes.
	if _, err := child.CloseRange(e.ctx, 1, 1, linux.CLOSE_RANGE_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	child.RemoveOnExec(e.ctx)
	if f, _ := child.Get(1); f != nil {
		t.Errorf("cloexec fd survived exec")
	}
	if child.Len() != 2 {
		t.Errorf("child Len %d", child.Len())
	}
	// CLOSE_RANGE_UNSHARE returns a private copy.
	priv, err := tab.CloseRange(e.ctx, 0, 100, linux.CLOSE_RANGE_UNSHARE)
	if err != nil || priv == tab || priv.Len() != 0 || tab.Len() != 8 {
		t.Errorf("unshare: %v %d %d", err, priv.Len(), tab.Len())
	}
	tab.RemoveAll(e.ctx)
	child.RemoveAll(e.ctx)
	file.DecRef(e.ctx)
}

func TestFDTableClosesPOSIXLocks(t *testing.T) {
	e := newEnv(t)
	e.create("/f", 0o644, "")
	file, err := e.open("/f", linux.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	tab := vfs.NewFDTable(nil)
	fd1, _ := tab.NewFD(0, file, vfs.FDFlags{})
	fd2, _ := tab.NewFD(0, file, vfs.FDFlags{})
	r, _ := lock.ComputeRange(0, 0)
	if err := file.LockPOSIX(tab, 100, lock.WriteLock, r, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := file.LockPOSIX(file, 0, lock.WriteLock, r, true, false, nil); err != unix.EAGAIN {
		t.Errorf("OFD lock vs POSIX lock: %v", err)
	}
	rec, ok, _ := file.TestPOSIX("other", lock.ReadLock, r, false)
	if !ok || rec.PID != 100 {
		t.Errorf("F_GETLK: %v %v", rec, ok)
	}
	// Closing either fd drops the process's locks on the file.
	tab.Close(e.ctx, fd1)
	if _, ok, _ := file.TestPOSIX("other", lock.WriteLock, r, false); ok {
		t.Errorf("lock survived close of another fd")
	}
	// OFD locks belong to the description and go with its last reference.
	if err := file.LockPOSIX(nil, 0, lock.WriteLock, r, true, false, nil); err != nil {
		t.Fatal(err)
	}
	rec, ok, _ = file.TestPOSIX("other", lock.ReadLock, r, false)
	if !ok || rec.PID != -1 {
		t.Errorf("OFD F_GETLK: %v %v", rec, ok)
	}
	ro, _ := e.open("/f", linux.O_RDONLY, 0)
	if err := ro.LockPOSIX(tab, 1, lock.WriteLock, r, false, false, nil); err != unix.EBADF {
		t.Errorf("write lock on O_RDONLY: %v", err)
	}
	if err := ro.Flock(linux.LOCK_SH|linux.LOCK_NB, nil); err != nil {
		t.Errorf("flock sh: %v", err)
	}
	if err := file.Flock(linux.LOCK_EX|linux.LOCK_NB, nil); err != unix.EWOULDBLOCK {
		t.Errorf("flock ex vs sh: %v", err)
	}
	ro.DecRef(e.ctx) // releases its flock
	if err := file.Flock(linux.LOCK_EX|linux.LOCK_NB, nil); err != nil {
		t.Errorf("flock after release: %v", err)
	}
	tab.Close(e.ctx, fd2)
	file.DecRef(e.ctx)
	l := file.Locks()
	if recs := l.Records(); len(recs) != 0 {
		t.Errorf("locks left after last close: %v", recs)
	}
}

func TestFDTableConcurrent(t *testing.T) {
	e := newEnv(t)
	e.create("/f", 0o644, "")
	file, _ := e.open("/f", linux.O_RDONLY, 0)
	tab := vfs.NewFDTable(nil)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				fd, err := tab.NewFD(0, file, vfs.FDFlags{})
				if err != nil {
					t.Error(err)
					return
				}
				if f, _ := tab.Get(fd); f != file {
					t.Errorf("fd %d holds another file", fd)
				} else {
					f.DecRef(e.ctx)
				}
				if err := tab.Close(e.ctx, fd); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if tab.Len() != 0 {
		t.Errorf("Len = %d", tab.Len())
	}
	file.DecRef(e.ctx)
}

func TestFileDescriptionFlagsAndOffsets(t *testing.T) {
	e := newEnv(t)
	e.create("/f", 0o644, "hello")
	fd, err := e.open("/f", linux.O_RDWR|linux.O_CLOEXEC|linux.O_CREAT, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.DecRef(e.ctx)
	if fl := fd.StatusFlags(); fl != linux.O_RDWR {
		t.Errorf("F_GETFL = %#x", fl)
	}
	fd.SetStatusFlags(linux.O_APPEND | linux.O_NONBLOCK | linux.O_WRONLY)
	if fl := fd.StatusFlags(); fl != linux.O_RDWR|linux.O_APPEND|linux.O_NONBLOCK {
		t.Errorf("F_SETFL changed access mode: %#x", fl)
	}
	if _, err := fd.Write(e.ctx, vfs.BytesIOSequence(" world")); err != nil {
		t.Fatal(err)
	}
	if fd.Offset() != 11 {
		t.Errorf("offset after append = %d", fd.Offset())
	}
	// pwrite on O_APPEND appends, like Linux.
	fd.PWrite(e.ctx, vfs.BytesIOSequence("!"), 0)
	if got := e.read("/f"); got != "hello world!" {
		t.Errorf("content %q", got)
	}
	if off, err := fd.Seek(e.ctx, -1, linux.SEEK_END); off != 11 || err != nil {
		t.Errorf("SEEK_END = %d %v", off, err)
	}
	if _, err := fd.Seek(e.ctx, -100, linux.SEEK_CUR); err != unix.EINVAL {
		t.Errorf("negative seek: %v", err)
	}
	if _, err := fd.Seek(e.ctx, 0, 7); err != unix.EINVAL {
		t.Errorf("bad whence: %v", err)
	}
	ro, _ := e.open("/f", linux.O_RDONLY, 0)
	if _, err := ro.Write(e.ctx, vfs.BytesIOSequence("x")); err != unix.EBADF {
		t.Errorf("write on O_RDONLY: %v", err)
	}
	if err := ro.Allocate(e.ctx, 0, 0, 10); err != unix.EBADF {
		t.Errorf("fallocate on O_RDONLY: %v", err)
	}
	if err := ro.ConfigureMMap(e.ctx); err != unix.ENODEV {
		t.Errorf("mmap hook: %v", err)
	}
	ro.DecRef(e.ctx)
}

func TestGetdents64(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/d", 0o755)
	e.create("/d/hello", 0o644, "")
	e.mkdir("/d/sub", 0o755)
	dir, err := e.open("/d", linux.O_RDONLY|linux.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.DecRef(e.ctx)
	if _, err := dir.Getdents64(e.ctx, 10); err != unix.EINVAL {
		t.Errorf("tiny buffer: %v", err)
	}
	// "." and ".." are 24 bytes each; room for exactly those two.
	b, err := dir.Getdents64(e.ctx, 50)
	if err != nil || len(b) != 48 {
		t.Fatalf("first call: %d bytes, %v", len(b), err)
	}
	b, err = dir.Getdents64(e.ctx, 4096)
	if err != nil || len(b) != 32+24 {
		t.Fatalf("second call: %d bytes, %v", len(b), err)
	}
	if name := string(b[19:24]); name != "hello" || b[18] != linux.DT_REG || b[32+18] != linux.DT_DIR {
		t.Errorf("records %x", b)
	}
	if b, err := dir.Getdents64(e.ctx, 4096); len(b) != 0 || err != nil {
		t.Errorf("at end: %d %v", len(b), err)
	}
}
