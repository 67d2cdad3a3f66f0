package p9

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

func socketpair(t testing.TB) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	return fds[0], fds[1]
}

// startServer serves fs on one end of a socketpair and returns the other
// end and a function that waits for Serve to return.
func startServer(t testing.TB, fs *memFS, opts ...ServerOption) (int, func() error) {
	t.Helper()
	sfd, cfd := socketpair(t)
	srv := NewServer(fs, opts...)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sfd) }()
	return cfd, func() error { return <-done }
}

type testEnv struct {
	fs   *memFS
	c    *Client
	root *ClientFile
	wait func() error
}

func newEnv(t testing.TB, version string, fs *memFS, opts ...ServerOption) *testEnv {
	t.Helper()
	if fs == nil {
		fs = newMemFS()
	}
	cfd, wait := startServer(t, fs, opts...)
	c, err := NewClient(cfd, DefaultMsize, version)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	root, _, err := c.Attach("", 0)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	e := &testEnv{fs: fs, c: c, root: root, wait: wait}
	t.Cleanup(func() {
		c.Close()
		if err := wait(); err != nil {
			t.Errorf("Serve: %v", err)
		}
		fs.mu.Lock()
		files, closes := fs.files, fs.closes
		fs.mu.Unlock()
		if files != closes {
			t.Errorf("server made %d Files but closed %d", files, closes)
		}
		fs.closeAll()
	})
	return e
}

func wantErrno(t *testing.T, what string, err error, want unix.Errno) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func TestAllOperations(t *testing.T) {
	for _, ver := range []string{VersionPalisade, Version9P2000L} {
		t.Run(ver, func(t *testing.T) { testAllOperations(t, ver) })
	}
}

func testAllOperations(t *testing.T, ver string) {
	e := newEnv(t, ver, nil)
	if got := e.c.Extended(); got != (ver == VersionPalisade) {
		t.Fatalf("Extended() = %v for %s", got, ver)
	}
	root := e.root
	dq, err := root.Mkdir("d", 0o750, 5)
	if err != nil || dq.Type != QIDTypeDir {
		t.Fatalf("Mkdir: %v %v", dq, err)
	}
	_, d, err := root.Walk([]string{"d"})
	if err != nil {
		t.Fatalf("Walk d: %v", err)
	}
	defer d.Close()

	// Create a file (on a clone: Tlcreate turns the fid into the file).
	f := must[*ClientFile](t, "Clone")(d.Clone())
	if _, _, fd, err := f.Create("f", ReadWrite, 0o640, 5); err != nil || fd != nil {
		t.Fatalf("Create: fd=%v err=%v", fd, err)
	}
	if n, err := f.WriteAt([]byte("hello world"), 0); err != nil || n != 11 {
		t.Fatalf("WriteAt: %d %v", n, err)
	}
	buf := make([]byte, 5)
	if n, err := f.ReadAt(buf, 6); err != nil || string(buf[:n]) != "world" {
		t.Fatalf("ReadAt: %q %v", buf[:n], err)
	}
	if n, err := f.ReadAt(make([]byte, 10), 6); err != io.EOF || n != 5 {
		t.Fatalf("ReadAt past end: %d %v", n, err)
	}
	if err := f.FSync(true); err != nil {
		t.Fatalf("FSync: %v", err)
	}
	st, err := f.Lock(Lock{Type: LockTypeWrite, ProcID: 1, ClientID: "c"}, 0)
	if err != nil || st != LockStatusSuccess {
		t.Fatalf("Lock: %v %v", st, err)
	}
	if st, _ := f.Lock(Lock{Type: LockTypeRead, ProcID: 2}, 0); st != LockStatusBlocked {
		t.Errorf("conflicting Lock status = %v", st)
	}
	gl, err := f.GetLock(Lock{Type: LockTypeRead, ProcID: 2})
	if err != nil || gl.Type != LockTypeWrite || gl.ProcID != 1 {
		t.Errorf("GetLock = %+v %v", gl, err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := f.Close(); !errors.Is(err, errFileClosed) {
		t.Errorf("Close twice: %v", err)
	}

	// Attributes.
	_, ff, err := d.Walk([]string{"f"})
	if err != nil {
		t.Fatalf("Walk f: %v", err)
	}
	defer ff.Close()
	a, err := ff.GetAttr(AttrAll)
	if err != nil || a.Attr.Size != 11 || a.Attr.Mode != ModeRegular|0o640 || a.Attr.GID != 5 {
		t.Fatalf("GetAttr: %+v %v", a, err)
	}
	if err := ff.SetAttr(SetAttrSize|SetAttrMode, SetAttr{Size: 2, Mode: 0o600}); err != nil {
		t.Fatalf("SetAttr: %v", err)
	}
	a, _ = ff.GetAttr(AttrAll)
	if a.Attr.Size != 2 || a.Attr.Mode != ModeRegular|0o600 {
		t.Errorf("after SetAttr: %+v", a.Attr)
	}

	// Symlink, readlink, mknod, link.
	if _, err := d.Symlink("../target", "ln", 0); err != nil {
		t.Fatalf("Symlink: %v", err)
	}
	_, lf, err := d.Walk([]string{"ln"})
	if err != nil {
		t.Fatalf("Walk ln: %v", err)
	}
	if tgt, err := lf.Readlink(); err != nil || tgt != "../target" {
		t.Errorf("Readlink = %q %v", tgt, err)
	}
	lf.Close()
	if q, err := d.Mknod("fifo", ModeNamedPipe|0o600, 0, 0, 0); err != nil || q.Type != QIDTypeRegular {
		t.Errorf("Mknod: %v %v", q, err)
	}
	if err := d.Link(ff, "hard"); err != nil {
		t.Errorf("Link: %v", err)
	}
	if a, _ := ff.GetAttr(AttrNLink); a.Attr.NLink != 2 {
		t.Errorf("nlink after Link = %d", a.Attr.NLink)
	}

	// Renames.
	if err := ff.Rename(root, "f2"); err != nil {
		t.Errorf("Rename: %v", err)
	}
	if err := d.RenameAt("hard", root, "hard2"); err != nil {
		t.Errorf("RenameAt: %v", err)
	}
	if _, _, err := d.Walk([]string{"f"}); !errors.Is(err, unix.ENOENT) {
		t.Errorf("Walk renamed-away f: %v", err)
	}

	// Statfs.
	if s, err := root.StatFS(); err != nil || s.BlockSize != 4096 || s.NameLength != MaxNameLen {
		t.Errorf("StatFS = %+v %v", s, err)
	}

	// Xattrs.
	if err := ff.SetXattr("user.a", []byte("va"), XattrCreate); err != nil {
		t.Fatalf("SetXattr: %v", err)
	}
	wantErrno(t, "SetXattr create again", ff.SetXattr("user.a", []byte("x"), XattrCreate), unix.EEXIST)
	if err := ff.SetXattr("user.b", nil, 0); err != nil {
		t.Fatalf("SetXattr empty: %v", err)
	}
	if v, err := ff.GetXattr("user.a", 100); err != nil || string(v) != "va" {
		t.Errorf("GetXattr = %q %v", v, err)
	}
	if n, err := ff.XattrSize("user.a"); err != nil || n != 2 {
		t.Errorf("XattrSize = %d %v", n, err)
	}
	_, err = ff.GetXattr("user.a", 1)
	wantErrno(t, "GetXattr small", err, unix.ERANGE)
	_, err = ff.GetXattr("user.none", 10)
	wantErrno(t, "GetXattr missing", err, unix.ENODATA)
	if names, err := ff.ListXattr(100); err != nil || strings.Join(names, ",") != "user.a,user.b" {
		t.Errorf("ListXattr = %v %v", names, err)
	}
	if err := ff.RemoveXattr("user.a"); err != nil {
		t.Errorf("RemoveXattr: %v", err)
	}
	wantErrno(t, "RemoveXattr again", ff.RemoveXattr("user.a"), unix.ENODATA)

	// Readdir and ReaddirAttr on an opened directory.
	od := must[*ClientFile](t, "Clone")(d.Clone())
	if _, _, fd, err := od.Open(ReadOnly); err != nil || fd != nil {
		t.Fatalf("Open dir: %v %v", fd, err)
	}
	ents, err := od.Readdir(0, 4096)
	if err != nil {
		t.Fatalf("Readdir: %v", err)
	}
	var names []string
	for _, de := range ents {
		names = append(names, de.Name)
	}
	if got := strings.Join(names, ","); got != ".,..,fifo,ln" {
		t.Errorf("Readdir names = %s", got)
	}
	if more, err := od.Readdir(ents[len(ents)-1].Offset, 4096); err != nil || len(more) != 0 {
		t.Errorf("Readdir at end = %v %v", more, err)
	}
	das, err := od.ReaddirAttr(0, 1<<16, AttrAll)
	if err != nil || len(das) != 4 {
		t.Fatalf("ReaddirAttr: %v %v", das, err)
	}
	if das[0].Valid != 0 || das[2].Valid&AttrMode == 0 || das[2].Attr.Mode != ModeNamedPipe|0o600 {
		t.Errorf("ReaddirAttr attrs: %+v", das)
	}
	od.Close()

	// WalkGetAttr.
	steps, wf, err := root.WalkGetAttr([]string{"d", "ln"}, AttrAll)
	if err != nil || len(steps) != 2 || steps[0].QID.Type != QIDTypeDir || steps[1].Attr.Mode.FileType() != ModeSymlink {
		t.Fatalf("WalkGetAttr: %+v %v", steps, err)
	}
	wf.Close()
	steps, wf, err = root.WalkGetAttr(nil, AttrAll)
	if err != nil || len(steps) != 1 || steps[0].Attr.Mode.FileType() != ModeDirectory {
		t.Fatalf("WalkGetAttr(nil): %+v %v", steps, err)
	}
	wf.Close()
	steps, _, err = root.WalkGetAttr([]string{"d", "nope"}, AttrAll)
	wantErrno(t, "WalkGetAttr missing", err, unix.ENOENT)
	if len(steps) != 1 {
		t.Errorf("partial WalkGetAttr steps = %d", len(steps))
	}
	qids, _, err := root.Walk([]string{"d", "nope"})
	wantErrno(t, "partial Walk", err, unix.ENOENT)
	if len(qids) != 1 {
		t.Errorf("partial Walk qids = %d", len(qids))
	}

	// Unlink and remove.
	wantErrno(t, "UnlinkAt dir without flag", root.UnlinkAt("d", 0), unix.EISDIR)
	for _, n := range []string{"ln", "fifo"} {
		if err := d.UnlinkAt(n, 0); err != nil {
			t.Errorf("UnlinkAt %s: %v", n, err)
		}
	}
	wantErrno(t, "UnlinkAt missing", d.UnlinkAt("ln", 0), unix.ENOENT)
	_, rf, _ := root.Walk([]string{"f2"})
	if err := rf.Remove(); err != nil {
		t.Errorf("Remove: %v", err)
	}
	if err := root.UnlinkAt("d", UnlinkRemoveDir); err != nil {
		t.Errorf("rmdir: %v", err)
	}
}

func TestDonation(t *testing.T) {
	fs := newMemFS()
	fs.donate = true
	e := newEnv(t, VersionPalisade, fs)
	f := must[*ClientFile](t, "Clone")(e.root.Clone())
	_, _, fd, err := f.Create("data", ReadWrite, 0o644, 0)
	if err != nil || fd == nil {
		t.Fatalf("Create: fd=%v err=%v", fd, err)
	}
	// Write through the donated fd, read through the protocol.
	if _, err := fd.WriteAt([]byte("via fd"), 0); err != nil {
		t.Fatalf("write donated fd: %v", err)
	}
	fd.Close()
	buf := make([]byte, 6)
	if _, err := f.ReadAt(buf, 0); err != nil || string(buf) != "via fd" {
		t.Fatalf("ReadAt = %q %v", buf, err)
	}
	// Write through the protocol, read through a donated fd.
	if _, err := f.WriteAt([]byte("VIA"), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, g, err := e.root.Walk([]string{"data"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	_, _, fd, err = g.Open(ReadOnly)
	if err != nil || fd == nil {
		t.Fatalf("Open: fd=%v err=%v", fd, err)
	}
	defer fd.Close()
	if _, err := fd.ReadAt(buf, 0); err != nil || string(buf) != "VIA fd" {
		t.Fatalf("read donated fd = %q %v", buf, err)
	}
	// Directories are not donated.
	dd := must[*ClientFile](t, "Clone")(e.root.Clone())
	defer dd.Close()
	if _, _, fd, err := dd.Open(ReadOnly); err != nil || fd != nil {
		t.Errorf("dir Open: fd=%v err=%v", fd, err)
	}
}

func countFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// rawConn is a test peer speaking raw packets.
type rawConn struct {
	t  *testing.T
	fd int
}

func (r *rawConn) sendPkt(pkt []byte, fd int) {
	r.t.Helper()
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	if err := unix.Sendmsg(r.fd, pkt, oob, nil, 0); err != nil {
		r.t.Fatalf("sendmsg: %v", err)
	}
}

func (r *rawConn) send(tag Tag, m message) { r.sendPkt(packet(tag, m), -1) }

// recv returns the next packet's type, tag and packet bytes (nil at EOF).
func (r *rawConn) recv() (MsgType, Tag, []byte) {
	r.t.Helper()
	buf := make([]byte, MaxMsize+100)
	oob := make([]byte, oobSize)
	n, oobn, _, _, err := unix.Recvmsg(r.fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		r.t.Fatalf("recvmsg: %v", err)
	}
	closeFDs(parseFDs(oob[:oobn]))
	if n == 0 {
		return 0, 0, nil
	}
	typ, tag, err := header(buf[:n])
	if err != nil {
		r.t.Fatalf("bad reply header: %v", err)
	}
	return typ, tag, buf[:n]
}

// expectErr reads a reply and checks that it is Rlerror(errno) for tag.
func (r *rawConn) expectErr(tag Tag, errno unix.Errno) {
	r.t.Helper()
	typ, gotTag, pkt := r.recv()
	var e rlerror
	if typ != MsgRlerror || gotTag != tag || unmarshalBody(pkt, &e) != nil || unix.Errno(e.errno) != errno {
		r.t.Fatalf("want Rlerror(%v) tag %d, got %v tag %d errno %d", errno, tag, typ, gotTag, e.errno)
	}
}

func (r *rawConn) expect(tag Tag, want MsgType) []byte {
	r.t.Helper()
	typ, gotTag, pkt := r.recv()
	if typ != want || gotTag != tag {
		var e rlerror
		unmarshalBody(pkt, &e)
		r.t.Fatalf("want %v tag %d, got %v tag %d (errno %d)", want, tag, typ, gotTag, e.errno)
	}
	return pkt
}

// newRaw starts a server on fs and returns a raw peer that has done
// Tversion (with msize) and attached fid 0 to the root.
func newRaw(t *testing.T, fs *memFS, msize uint32, version string, opts ...ServerOption) *rawConn {
	cfd, wait := startServer(t, fs, opts...)
	r := &rawConn{t: t, fd: cfd}
	t.Cleanup(func() {
		unix.Close(cfd)
		wait()
		fs.closeAll()
	})
	r.send(NoTag, &tversion{msize: msize, version: version})
	var rv rversion
	if err := unmarshalBody(r.expect(NoTag, MsgRversion), &rv); err != nil {
		t.Fatal(err)
	}
	r.send(1, &tattach{fid: 0, afid: NoFID, nuname: 0})
	r.expect(1, MsgRattach)
	return r
}

func TestStrayFDClosed(t *testing.T) {
	sfd, cfd := socketpair(t)
	defer unix.Close(sfd)
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	before := countFDs(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := &rawConn{t: t, fd: sfd}
		r.recv() // Tversion
		r.sendPkt(packet(NoTag, &rversion{msize: MinMsize, version: Version9P2000L}), p[0])
		_, tag, _ := r.recv() // Tgetattr: answer with a stray fd
		r.sendPkt(packet(tag, &rgetattr{a: QIDAttr{QID: sampleQID}}), p[0])
		_, tag, _ = r.recv() // Tlopen: Rlopen without an fd
		r.sendPkt(packet(tag, &ropen{t: MsgRlopen}), -1)
		_, tag, _ = r.recv() // Tlopen: Rlerror with an fd
		r.sendPkt(packet(tag, &rlerror{errno: uint32(unix.EACCES)}), p[0])
	}()
	c, err := NewClient(cfd, MinMsize, Version9P2000L)
	if err != nil {
		t.Fatal(err)
	}
	f := &ClientFile{c: c, fid: 1}
	if _, err := f.GetAttr(AttrAll); err != nil {
		t.Fatalf("GetAttr: %v", err)
	}
	if _, _, fd, err := f.Open(WriteOnly); err != nil || fd != nil {
		t.Fatalf("Open without fd: %v %v", fd, err)
	}
	_, _, fd, err := f.Open(WriteOnly)
	if !errors.Is(err, unix.EACCES) || fd != nil {
		t.Fatalf("Open error with fd: %v %v", fd, err)
	}
	<-done
	c.Close()
	if after := countFDs(t); after != before-1 {
		// before counted cfd, which Close closed.
		t.Errorf("fds before %d after %d: stray fds leaked", before, after)
	}
}

func TestConcurrentCallers(t *testing.T) {
	e := newEnv(t, VersionPalisade, nil)
	const workers, iters = 32, 100
	for i := range workers {
		f := must[*ClientFile](t, "Clone")(e.root.Clone())
		if _, _, _, err := f.Create(fmt.Sprintf("f%d", i), ReadWrite, 0o644, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte(fmt.Sprintf("content-%d", i)), 0); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := fmt.Sprintf("content-%d", i)
			for range iters {
				steps, f, err := e.root.WalkGetAttr([]string{fmt.Sprintf("f%d", i)}, AttrAll)
				if err != nil {
					errs <- err
					return
				}
				if steps[0].Attr.Size != uint64(len(want)) {
					errs <- fmt.Errorf("size %d", steps[0].Attr.Size)
				}
				if _, _, _, err := f.Open(ReadOnly); err != nil {
					errs <- err
					return
				}
				buf := make([]byte, len(want))
				if _, err := f.ReadAt(buf, 0); err != nil || string(buf) != want {
					errs <- fmt.Errorf("read %q %v", buf, err)
				}
				f.Close()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestFlush(t *testing.T) {
	fs := newMemFS()
	r := newRaw(t, fs, MinMsize, VersionPalisade)
	// A file to read.
	r.send(2, &twalk{fid: 0, newfid: 1})
	r.expect(2, MsgRwalk)
	r.send(3, &tlcreate{fid: 1, name: "f", flags: ReadWrite, mode: 0o644})
	r.expect(3, MsgRlcreate)

	entered := make(chan struct{})
	release := make(chan struct{})
	gate := func() {
		entered <- struct{}{}
		<-release
	}
	fs.readGate.Store(&gate)
	r.send(5, &tread{fid: 1, count: 10})
	<-entered
	r.send(6, &tflush{oldtag: 5})
	close(release)
	// The flushed request's reply comes first, then Rflush.
	r.expect(5, MsgRread)
	r.expect(6, MsgRflush)
	fs.readGate.Store(nil)
	// Flushing a tag not in flight is answered at once.
	r.send(7, &tflush{oldtag: 99})
	r.expect(7, MsgRflush)
}

func TestMsize(t *testing.T) {
	// The server clamps to its maximum.
	fs := newMemFS()
	cfd, wait := startServer(t, fs, WithMaxMsize(16384))
	c, err := NewClient(cfd, 1<<20, VersionPalisade)
	if err != nil {
		t.Fatal(err)
	}
	if c.Msize() != 16384 {
		t.Errorf("msize = %d, want 16384", c.Msize())
	}
	root, _, err := c.Attach("", 0)
	if err != nil {
		t.Fatal(err)
	}
	f := must[*ClientFile](t, "Clone")(root.Clone())
	if _, _, _, err := f.Create("big", ReadWrite, 0o644, 0); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 5000) // 80000 bytes
	rt := c.RoundTrips()
	if n, err := f.WriteAt(big, 0); err != nil || n != len(big) {
		t.Fatalf("WriteAt: %d %v", n, err)
	}
	got := make([]byte, len(big))
	if n, err := f.ReadAt(got, 0); err != nil || n != len(big) || !bytes.Equal(got, big) {
		t.Fatalf("ReadAt: %d %v", n, err)
	}
	per := 16384 - twriteHeaderLen
	minTrips := 2 * ((len(big) + per - 1) / per)
	if trips := int(c.RoundTrips() - rt); trips < minTrips {
		t.Errorf("%d round trips for %d bytes at msize 16384, want >= %d", trips, 2*len(big), minTrips)
	}
	f.Close()
	c.Close()
	wait()
	fs.closeAll()

	// Too small an msize is refused; a packet over msize gets EMSGSIZE.
	r := newRaw(t, newMemFS(), MinMsize, Version9P2000L)
	r.send(2, &tversion{msize: 100, version: Version9P2000L})
	r.expectErr(2, unix.EINVAL)
	r.send(NoTag, &tversion{msize: MinMsize, version: Version9P2000L})
	r.expect(NoTag, MsgRversion)
	r.send(1, &tattach{fid: 0, afid: NoFID})
	r.expect(1, MsgRattach)
	r.sendPkt(packet(3, &twrite{fid: 0, data: make([]byte, MinMsize)}), -1)
	r.expectErr(3, unix.EMSGSIZE)
	// A read asking for more than msize allows is clamped.
	r.send(4, &twalk{fid: 0, newfid: 1})
	r.expect(4, MsgRwalk)
	r.send(5, &tlcreate{fid: 1, name: "x", flags: ReadWrite})
	r.expect(5, MsgRlcreate)
	r.send(6, &twrite{fid: 1, data: make([]byte, MinMsize-twriteHeaderLen)})
	r.expect(6, MsgRwrite)
	r.send(7, &tread{fid: 1, count: 1 << 30})
	if pkt := r.expect(7, MsgRread); len(pkt) > MinMsize {
		t.Errorf("Rread of %d bytes exceeds msize", len(pkt))
	}
}

func TestBadFids(t *testing.T) {
	r := newRaw(t, newMemFS(), MinMsize, VersionPalisade, WithMaxFids(3))
	r.send(2, &tgetattr{fid: 77, mask: AttrAll})
	r.expectErr(2, unix.EBADF)
	r.send(3, &tattach{fid: 0, afid: NoFID})
	r.expectErr(3, unix.EBADF) // fid in use
	r.send(4, &twalk{fid: 0, newfid: 0})
	r.expect(4, MsgRwalk) // newfid == fid is allowed
	r.send(5, &twalk{fid: 0, newfid: 1})
	r.expect(5, MsgRwalk)
	r.send(6, &twalk{fid: 0, newfid: 1})
	r.expectErr(6, unix.EBADF) // newfid in use
	r.send(7, &twalk{fid: 0, newfid: 2})
	r.expect(7, MsgRwalk)
	r.send(8, &twalk{fid: 0, newfid: 3})
	r.expectErr(8, unix.EMFILE) // over WithMaxFids(3)
	r.send(9, &fidMsg{t: MsgTclunk, fid: 2})
	r.expect(9, MsgRclunk)
	r.send(10, &fidMsg{t: MsgTclunk, fid: 2})
	r.expectErr(10, unix.EBADF)
	r.send(11, &tread{fid: 1, count: 10})
	r.expectErr(11, unix.EBADF) // not opened
	r.send(12, &tlopen{fid: 1, flags: ReadOnly})
	r.expect(12, MsgRlopen)
	r.send(13, &twalk{fid: 1, newfid: 2})
	r.expectErr(13, unix.EBUSY) // opened fids don't walk
	r.send(14, &twrite{fid: 1, data: []byte("x")})
	r.expectErr(14, unix.EBADF) // read-only
	r.send(15, &tlopen{fid: 0, flags: WriteOnly})
	r.expectErr(15, unix.EISDIR)
	r.send(16, &tattach{fid: 9, afid: 4})
	r.expectErr(16, unix.EBADF)
}

func TestBadNames(t *testing.T) {
	e := newEnv(t, VersionPalisade, nil)
	if _, err := e.root.Mkdir("ok", 0o755, 0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want unix.Errno
	}{
		{"a/b", unix.EINVAL}, {"..", unix.EINVAL}, {".", unix.EINVAL}, {"", unix.EINVAL},
		{"a\x00b", unix.EINVAL}, {strings.Repeat("x", 256), unix.ENAMETOOLONG},
	} {
		_, _, err := e.root.Walk([]string{"ok", tc.name})
		wantErrno(t, fmt.Sprintf("Walk %q", tc.name), err, tc.want)
		_, err = e.root.Mkdir(tc.name, 0o755, 0)
		wantErrno(t, fmt.Sprintf("Mkdir %q", tc.name), err, tc.want)
		_, _, err = e.root.WalkGetAttr([]string{tc.name}, AttrAll)
		wantErrno(t, fmt.Sprintf("WalkGetAttr %q", tc.name), err, tc.want)
		wantErrno(t, fmt.Sprintf("UnlinkAt %q", tc.name), e.root.UnlinkAt(tc.name, 0), tc.want)
	}
	if _, err := e.root.Mkdir(strings.Repeat("x", 255), 0o755, 0); err != nil {
		t.Errorf("255-byte name: %v", err)
	}
	_, err := e.root.Symlink("a\x00", "s", 0)
	wantErrno(t, "Symlink NUL target", err, unix.EINVAL)
	_, err = e.root.Symlink(strings.Repeat("t", MaxPathLen+1), "s", 0)
	wantErrno(t, "Symlink long target", err, unix.ENAMETOOLONG)
}

func TestMalformedMessages(t *testing.T) {
	// Before Tversion, requests get EPROTO.
	cfd, wait := startServer(t, newMemFS())
	r := &rawConn{t: t, fd: cfd}
	r.send(1, &tattach{fid: 0, afid: NoFID})
	r.expectErr(1, unix.EPROTO)
	r.send(NoTag, &tversion{msize: MinMsize, version: "9P2000"})
	var rv rversion
	unmarshalBody(r.expect(NoTag, MsgRversion), &rv)
	if rv.version != "unknown" {
		t.Errorf("version for 9P2000 = %q", rv.version)
	}
	unix.Close(cfd)
	wait()

	r = newRaw(t, newMemFS(), MinMsize, Version9P2000L)
	// Extensions are unknown when not negotiated.
	r.send(2, &twalkgetattr{fid: 0, newfid: 1})
	r.expectErr(2, unix.ENOSYS)
	// Unknown type.
	pkt := []byte{0, 0, 0, 0, 200, 3, 0}
	putCount(pkt, len(pkt))
	r.sendPkt(pkt, -1)
	r.expectErr(3, unix.ENOSYS)
	// An R-message sent as a request.
	r.send(4, &rgetattr{})
	r.expectErr(4, unix.ENOSYS)
	// Truncated body.
	pkt = packet(5, &tgetattr{fid: 0, mask: AttrAll})
	pkt = pkt[:len(pkt)-3]
	putCount(pkt, len(pkt))
	r.sendPkt(pkt, -1)
	r.expectErr(5, unix.EINVAL)
	// Size field not matching the packet.
	pkt = packet(6, &tgetattr{fid: 0, mask: AttrAll})
	putCount(pkt, len(pkt)+5)
	r.sendPkt(pkt, -1)
	r.expectErr(6, unix.EINVAL)
	// Too many walk names.
	names := make([]string, MaxWalkNames+1)
	for i := range names {
		names[i] = "a"
	}
	r.send(7, &twalk{fid: 0, newfid: 1, names: names})
	r.expectErr(7, unix.EINVAL)
	// A request carrying an fd: the fd is dropped, the request served.
	r.sendPkt(packet(8, &tgetattr{fid: 0, mask: AttrAll}), 0)
	r.expect(8, MsgRgetattr)
	// Still alive.
	r.send(9, &tgetattr{fid: 0, mask: AttrAll})
	r.expect(9, MsgRgetattr)
	// A packet shorter than a header drops the connection.
	r.sendPkt([]byte{1, 2, 3}, -1)
	if typ, _, pkt := r.recv(); pkt != nil {
		t.Errorf("after runt packet got %v, want EOF", typ)
	}
}

func TestConnectionCloseReleasesFids(t *testing.T) {
	fs := newMemFS()
	cfd, wait := startServer(t, fs)
	c, err := NewClient(cfd, DefaultMsize, VersionPalisade)
	if err != nil {
		t.Fatal(err)
	}
	root, _, err := c.Attach("", 0)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := root.Clone(); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if fs.files != 11 || fs.closes != 11 {
		t.Errorf("files %d closes %d, want 11 and 11", fs.files, fs.closes)
	}
	// Calls after Close fail cleanly.
	if _, err := root.GetAttr(AttrAll); err == nil {
		t.Error("GetAttr after Close succeeded")
	}
}

// TestRoundTripBudget checks the extension's purpose: stat of a 10-deep
// path in at most 2 round trips, and ls -l of 10,000 entries in at most 20
// at msize 1 MiB.
func TestRoundTripBudget(t *testing.T) {
	e := newEnv(t, VersionPalisade, nil)
	var path []string
	cur := e.root
	for i := range 10 {
		name := fmt.Sprintf("level%d", i)
		if _, err := cur.Mkdir(name, 0o755, 0); err != nil {
			t.Fatal(err)
		}
		_, next, err := cur.Walk([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		if cur != e.root {
			cur.Close()
		}
		cur = next
		path = append(path, name)
	}
	cur.Close()
	rt := e.c.RoundTrips()
	steps, f, err := e.root.WalkGetAttr(path, AttrBasic)
	if err != nil || len(steps) != 10 {
		t.Fatalf("WalkGetAttr: %d steps, %v", len(steps), err)
	}
	f.Close()
	if n := e.c.RoundTrips() - rt; n > 2 {
		t.Errorf("stat of 10-deep path took %d round trips, want <= 2", n)
	}

	_, dir, _ := e.root.Walk([]string{"level0"})
	e.fs.mu.Lock()
	for i := range 10000 {
		name := fmt.Sprintf("entry-%05d", i)
		n := e.fs.newNode(ModeRegular|0o644, 0, 0)
		n.name = name
		e.fs.root.children["level0"].children[name] = n
	}
	e.fs.mu.Unlock()
	rt = e.c.RoundTrips()
	if _, _, _, err := dir.Open(ReadOnly); err != nil {
		t.Fatal(err)
	}
	var total int
	var off uint64
	for {
		ents, err := dir.ReaddirAttr(off, 1<<20, AttrBasic)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) == 0 {
			break
		}
		for _, de := range ents {
			if de.Dirent.Name != "." && de.Dirent.Name != ".." && de.Valid&AttrMode == 0 {
				t.Fatalf("entry %s without attributes", de.Dirent.Name)
			}
		}
		total += len(ents)
		off = ents[len(ents)-1].Dirent.Offset
	}
	dir.Close()
	if total != 10000+3 { // + ".", "..", level1
		t.Errorf("listed %d entries", total)
	}
	if n := e.c.RoundTrips() - rt; n > 20 {
		t.Errorf("ls -l of 10,000 entries took %d round trips, want <= 20", n)
	} else {
		t.Logf("ls -l of 10,000 entries: %d round trips", n)
	}
}

func TestLongWalk(t *testing.T) {
	for _, ver := range []string{VersionPalisade, Version9P2000L} {
		e := newEnv(t, ver, nil)
		var path []string
		cur := e.root
		for i := range 20 {
			name := fmt.Sprintf("l%d", i)
			if _, err := cur.Mkdir(name, 0o755, 0); err != nil {
				t.Fatal(err)
			}
			_, next, err := cur.Walk([]string{name})
			if err != nil {
				t.Fatal(err)
			}
			if cur != e.root {
				cur.Close()
			}
			cur, path = next, append(path, name)
		}
		cur.Close()
		qids, f, err := e.root.Walk(path)
		if err != nil || len(qids) != 20 {
			t.Fatalf("%s: Walk of 20 names: %d qids, %v", ver, len(qids), err)
		}
		f.Close()
		steps, f, err := e.root.WalkGetAttr(path, AttrBasic)
		if err != nil || len(steps) != 20 || steps[19].Attr.Mode.FileType() != ModeDirectory {
			t.Fatalf("%s: WalkGetAttr of 20 names: %d steps, %v", ver, len(steps), err)
		}
		f.Close()
		_, _, err = e.root.Walk(append(path[:18:18], "missing", "x"))
		wantErrno(t, ver+" Walk missing in second chunk", err, unix.ENOENT)
	}
}

// fastRoot is a root File implementing the optional one-step interfaces,
// to check that the server uses them.
type fastRoot struct {
	*memFile
	walkCalls, readdirCalls *atomic.Int32
}

func (f fastRoot) WalkGetAttr(names []string, mask AttrMask) ([]QIDAttr, File, error) {
	f.walkCalls.Add(1)
	return walkGetAttrSteps(f.memFile, names, mask)
}

func (f fastRoot) ReaddirAttr(offset uint64, count uint32, mask AttrMask) ([]DirentAttr, error) {
	f.readdirCalls.Add(1)
	des, err := f.Readdir(offset, count)
	out := make([]DirentAttr, len(des))
	for i := range des {
		out[i].Dirent = des[i]
		out[i].Valid = AttrMode
		out[i].Attr.Mode = 0o123
	}
	return out, err
}

type fastAttacher struct {
	fs                      *memFS
	walkCalls, readdirCalls atomic.Int32
}

func (a *fastAttacher) Attach(aname string, uid UID) (File, error) {
	f, err := a.fs.Attach(aname, uid)
	if err != nil {
		return nil, err
	}
	return fastRoot{memFile: f.(*memFile), walkCalls: &a.walkCalls, readdirCalls: &a.readdirCalls}, nil
}

func TestOptionalInterfaces(t *testing.T) {
	fs := newMemFS()
	a := &fastAttacher{fs: fs}
	sfd, cfd := socketpair(t)
	done := make(chan error, 1)
	go func() { done <- NewServer(a).Serve(sfd) }()
	defer func() { <-done; fs.closeAll() }()
	c, err := NewClient(cfd, DefaultMsize, VersionPalisade)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	root, _, err := c.Attach("", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Mkdir("x", 0o755, 0); err != nil {
		t.Fatal(err)
	}
	steps, f, err := root.WalkGetAttr([]string{"x"}, AttrBasic)
	if err != nil || len(steps) != 1 || a.walkCalls.Load() != 1 {
		t.Fatalf("WalkGetAttr: %v %v, %d calls", steps, err, a.walkCalls.Load())
	}
	f.Close()
	// Open the root fid itself: clones are plain memFiles.
	if _, _, _, err := root.Open(ReadOnly); err != nil {
		t.Fatal(err)
	}
	ents, err := root.ReaddirAttr(0, 4096, AttrBasic)
	if err != nil || len(ents) != 3 || ents[2].Attr.Mode != 0o123 || a.readdirCalls.Load() != 1 {
		t.Fatalf("ReaddirAttr: %+v %v, %d calls", ents, err, a.readdirCalls.Load())
	}
}

func TestXattrBudget(t *testing.T) {
	fs := newMemFS()
	fs.root.xattrs["user.big"] = make([]byte, 60000)
	r := newRaw(t, fs, MinMsize, VersionPalisade)
	limit := maxXattrBytesPerConn / 60000
	for i := range limit {
		r.send(2, &txattrwalk{fid: 0, newfid: FID(10 + i), name: "user.big"})
		r.expect(2, MsgRxattrwalk)
	}
	r.send(3, &txattrwalk{fid: 0, newfid: 9, name: "user.big"})
	r.expectErr(3, unix.ENOMEM)
	// Clunking one frees its share.
	r.send(4, &fidMsg{t: MsgTclunk, fid: 10})
	r.expect(4, MsgRclunk)
	r.send(5, &txattrwalk{fid: 0, newfid: 9, name: "user.big"})
	r.expect(5, MsgRxattrwalk)
	// Txattrcreate reserves its declared size up front.
	r.send(6, &twalk{fid: 0, newfid: 1})
	r.expect(6, MsgRwalk)
	r.send(7, &txattrcreate{fid: 1, name: "user.x", size: 60000})
	r.expectErr(7, unix.ENOMEM)
	r.send(8, &txattrcreate{fid: 1, name: "user.x", size: MaxXattrSize + 1})
	r.expectErr(8, unix.E2BIG)
}

func TestUnixConnWrappers(t *testing.T) {
	sfd, cfd := socketpair(t)
	toConn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "sp")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		return c.(*net.UnixConn)
	}
	sc, cc := toConn(sfd), toConn(cfd)
	fs := newMemFS()
	done := make(chan error, 1)
	go func() { done <- NewServer(fs).ServeConn(sc) }()
	c, err := NewClientConn(cc, DefaultMsize, VersionPalisade)
	if err != nil {
		t.Fatal(err)
	}
	root, _, err := c.Attach("", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.GetAttr(AttrAll); err != nil {
		t.Fatal(err)
	}
	c.Close()
	cc.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sc.Close()
}
