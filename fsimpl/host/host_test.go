package host_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/host"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/waiter"
)

func newFD(t *testing.T, v *vfs.VirtualFilesystem, hostFD int) *vfs.FileDescription {
	t.Helper()
	fd, err := host.NewFD(v, hostFD, host.Options{ForegroundProcessGroup: 1})
	if err != nil {
		unix.Close(hostFD)
		t.Fatalf("NewFD(%d): %v", hostFD, err)
	}
	return fd
}

func pipe(t *testing.T) (r, w int) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	return p[0], p[1]
}

func isOpen(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}

func read(ctx context.Context, fd *vfs.FileDescription, n int) (string, error) {
	b := make([]byte, n)
	c, err := fd.Read(ctx, vfs.BytesIOSequence(b))
	return string(b[:c]), err
}

func write(ctx context.Context, fd *vfs.FileDescription, s string) (int64, error) {
	return fd.Write(ctx, vfs.BytesIOSequence(s))
}

func TestPipe(t *testing.T) {
	ctx := context.Background()
	v := vfs.New()
	hr, hw := pipe(t)
	// The write end is wrapped through a dup, so the test can watch the
	// shared host description's flags.
	hw2, err := unix.Dup(hw)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(hw)
	r, w := newFD(t, v, hr), newFD(t, v, hw2)
	if fl, _ := unix.FcntlInt(uintptr(hw), unix.F_GETFL, 0); fl&unix.O_NONBLOCK == 0 {
		t.Errorf("host pipe not switched to O_NONBLOCK while wrapped")
	}
	if r.IsWritable() || !r.IsReadable() || w.IsReadable() || !w.IsWritable() {
		t.Errorf("access modes: r %v/%v w %v/%v", r.IsReadable(), r.IsWritable(), w.IsReadable(), w.IsWritable())
	}
	if r.StatusFlags()&linux.O_NONBLOCK != 0 {
		t.Errorf("description is O_NONBLOCK although the host fd was blocking")
	}

	if n, err := write(ctx, w, "hello"); n != 5 || err != nil {
		t.Fatalf("write: %d %v", n, err)
	}
	if n, err := r.Ioctl(ctx, linux.FIONREAD, 0); n != 5 || err != nil {
		t.Errorf("FIONREAD: %d %v", n, err)
	}
	if s, err := read(ctx, r, 100); s != "hello" || err != nil {
		t.Errorf("read: %q %v", s, err)
	}
	st, err := r.Stat(ctx, linux.STATX_BASIC_STATS)
	if err != nil || st.Mode&linux.S_IFMT != linux.S_IFIFO {
		t.Errorf("stat: mode %#o %v", st.Mode, err)
	}
	var hst unix.Stat_t
	unix.Fstat(hw, &hst)
	if st.Ino != hst.Ino || st.UID != hst.Uid {
		t.Errorf("stat ino/uid %d/%d, host %d/%d", st.Ino, st.UID, hst.Ino, hst.Uid)
	}
	if _, err := r.Seek(ctx, 0, linux.SEEK_SET); err != unix.ESPIPE {
		t.Errorf("lseek on a pipe: %v", err)
	}
	if _, err := r.PRead(ctx, vfs.BytesIOSequence(make([]byte, 1)), 0); err != unix.ESPIPE {
		t.Errorf("pread on a pipe: %v", err)
	}
	if _, err := r.Ioctl(ctx, linux.TCGETS, 0); err != unix.ENOTTY {
		t.Errorf("TCGETS on a pipe: %v", err)
	}
	// A non-blocking description gets EAGAIN.
	r.SetStatusFlags(linux.O_NONBLOCK)
	if _, err := read(ctx, r, 1); err != unix.EAGAIN {
		t.Errorf("non-blocking read of an empty pipe: %v", err)
	}
	r.SetStatusFlags(0)

	// A blocked read is woken by data.
	got := make(chan string)
	go func() {
		s, err := read(ctx, r, 100)
		got <- fmt.Sprint(s, err)
	}()
	time.Sleep(20 * time.Millisecond)
	if _, err := unix.Write(hw, []byte("late")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "late<nil>" {
		t.Errorf("blocked read got %q", s)
	}

	// A large write (16 pipe buffers) blocks until a host reader drains it.
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10)
	drained := make(chan []byte)
	hr2, err := unix.Dup(hr)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer unix.Close(hr2)
		var out []byte
		b := make([]byte, 1<<16)
		for len(out) < len(big) {
			if _, err := unix.Poll([]unix.PollFd{{Fd: int32(hr2), Events: unix.POLLIN}}, -1); err != nil && err != unix.EINTR {
				break
			}
			n, err := unix.Read(hr2, b)
			if n > 0 {
				out = append(out, b[:n]...)
			} else if err != unix.EAGAIN && err != unix.EINTR {
				break
			}
		}
		drained <- out
	}()
	if n, err := w.Write(ctx, vfs.BytesIOSequence(big)); n != int64(len(big)) || err != nil {
		t.Errorf("1 MiB write: %d %v", n, err)
	}
	if out := <-drained; !bytes.Equal(out, big) {
		t.Errorf("reader got %d bytes, want %d identical", len(out), len(big))
	}

	// Closing every write end is end of file.
	w.DecRef(ctx)
	unix.Close(hw)
	if s, err := read(ctx, r, 10); s != "" || err != nil {
		t.Errorf("read at EOF: %q %v", s, err)
	}
	r.DecRef(ctx)
	if isOpen(hr) || isOpen(hw2) {
		t.Errorf("host fds still open after the last DecRef")
	}
}

func TestFlagsRestoredAndEPIPE(t *testing.T) {
	ctx := context.Background()
	v := vfs.New()
	hr, hw := pipe(t)
	hw2, _ := unix.Dup(hw)
	defer unix.Close(hw)
	w := newFD(t, v, hw2)
	unix.Close(hr)
	if _, err := write(ctx, w, "x"); err != unix.EPIPE {
		t.Errorf("write with no reader: %v, want EPIPE", err)
	}
	w.DecRef(ctx)
	if fl, _ := unix.FcntlInt(uintptr(hw), unix.F_GETFL, 0); fl&unix.O_NONBLOCK != 0 {
		t.Errorf("host description left O_NONBLOCK")
	}

	// A host fd that was already non-blocking stays so, and its
	// description is O_NONBLOCK.
	hr, hw = pipe(t)
	defer unix.Close(hw)
	unix.SetNonblock(hr, true)
	hr2, _ := unix.Dup(hr)
	r := newFD(t, v, hr2)
	if r.StatusFlags()&linux.O_NONBLOCK == 0 {
		t.Errorf("description of a non-blocking host fd lacks O_NONBLOCK")
	}
	if _, err := read(ctx, r, 1); err != unix.EAGAIN {
		t.Errorf("read: %v, want EAGAIN", err)
	}
	r.DecRef(ctx)
	if fl, _ := unix.FcntlInt(uintptr(hr), unix.F_GETFL, 0); fl&unix.O_NONBLOCK == 0 {
		t.Errorf("O_NONBLOCK the host set was removed")
	}
	unix.Close(hr)
}

func TestInterruptBlockedIO(t *testing.T) {
	v := vfs.New()
	hr, hw := pipe(t)
	defer unix.Close(hw)
	r := newFD(t, v, hr)
	defer r.DecRef(context.Background())

	for i := 0; i < 3; i++ { // the pooled eventfd must be reusable
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error)
		go func() {
			_, err := read(ctx, r, 10)
			errc <- err
		}()
		time.Sleep(20 * time.Millisecond) // let it block (not required for correctness)
		cancel()
		if err := <-errc; err != linux.ERESTARTSYS {
			t.Fatalf("interrupted read: %v, want ERESTARTSYS", err)
		}
	}
	// The pipe still works afterwards and no wake-up is left over.
	unix.Write(hw, []byte("ok"))
	if s, err := read(context.Background(), r, 10); s != "ok" || err != nil {
		t.Errorf("read after interruptions: %q %v", s, err)
	}

	// A write blocked on a full pipe returns what it wrote when
	// interrupted.
	hr2, hw2 := pipe(t)
	defer unix.Close(hr2)
	w := newFD(t, v, hw2)
	defer w.DecRef(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	type res struct {
		n   int64
		err error
	}
	resc := make(chan res)
	go func() {
		n, err := w.Write(ctx, vfs.BytesIOSequence(make([]byte, 1<<20)))
		resc <- res{n, err}
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	rs := <-resc
	psize, _ := unix.FcntlInt(uintptr(hr2), unix.F_GETPIPE_SZ, 0)
	if rs.err != nil || rs.n != int64(psize) {
		t.Errorf("interrupted write: %d %v, want %d (the pipe's size)", rs.n, rs.err, psize)
	}
	// Nothing written yet: ERESTARTSYS.
	if n, err := w.Write(ctx, vfs.BytesIOSequence("x")); n != 0 || err != linux.ERESTARTSYS {
		t.Errorf("write on a full pipe with a closed interrupt: %d %v", n, err)
	}
}

func TestRegularFile(t *testing.T) {
	ctx := context.Background()
	v := vfs.New()
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("0123456789"), 0o640); err != nil {
		t.Fatal(err)
	}
	hfd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.Seek(hfd, 4, unix.SEEK_SET)
	fd := newFD(t, v, hfd)
	defer fd.DecRef(ctx)
	if fd.Offset() != 4 {
		t.Errorf("initial offset %d, want the host's 4", fd.Offset())
	}
	if s, err := read(ctx, fd, 3); s != "456" || err != nil {
		t.Errorf("read: %q %v", s, err)
	}
	if n, err := write(ctx, fd, "ABC"); n != 3 || err != nil {
		t.Errorf("write: %d %v", n, err)
	}
	if n, err := fd.PWrite(ctx, vfs.BytesIOSequence("zz"), 12); n != 2 || err != nil {
		t.Errorf("pwrite past the end: %d %v", n, err)
	}
	b := make([]byte, 32)
	n, err := fd.PRead(ctx, vfs.BytesIOSequence(b), 0)
	if err != nil || string(b[:n]) != "0123456ABC\x00\x00zz" {
		t.Errorf("pread: %q %v", b[:n], err)
	}
	if data, _ := os.ReadFile(path); string(data) != "0123456ABC\x00\x00zz" {
		t.Errorf("host file holds %q", data)
	}
	if off, err := fd.Seek(ctx, -2, linux.SEEK_END); off != 12 || err != nil {
		t.Errorf("SEEK_END: %d %v", off, err)
	}
	st, err := fd.Stat(ctx, linux.STATX_BASIC_STATS)
	if err != nil || st.Mode != linux.S_IFREG|0o640 || st.Size != 14 || st.Nlink != 1 {
		t.Errorf("stat: mode %#o size %d nlink %d %v", st.Mode, st.Size, st.Nlink, err)
	}
	if _, err := fd.Ioctl(ctx, linux.TCGETS, 0); err != unix.ENOTTY {
		t.Errorf("TCGETS on a file: %v", err)
	}
	if _, err := fd.Ioctl(ctx, linux.FIONREAD, 0); err != unix.ENOTTY {
		t.Errorf("FIONREAD on a file reached the host fd: %v", err)
	}
	// chmod and truncate reach the host.
	creds := vfs.RootCredentials()
	if err := fd.SetStat(ctx, creds, vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_MODE | linux.STATX_SIZE, Mode: 0o600, Size: 5}}); err != nil {
		t.Fatalf("SetStat: %v", err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 || fi.Size() != 5 {
		t.Errorf("host file mode %v size %d", fi.Mode(), fi.Size())
	}
	if fd.Inode().Attr().Mode != linux.S_IFREG|0o600 {
		t.Errorf("cached mode %#o", fd.Inode().Attr().Mode)
	}
	if err := fd.Sync(ctx); err != nil {
		t.Errorf("fsync: %v", err)
	}

	// O_APPEND from the host flags: writes go to the end.
	afd, err := unix.Open(path, unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a := newFD(t, v, afd)
	defer a.DecRef(ctx)
	if a.StatusFlags()&linux.O_APPEND == 0 || a.IsReadable() {
		t.Errorf("append description flags %#x", a.StatusFlags())
	}
	if n, err := write(ctx, a, "+end"); n != 4 || err != nil {
		t.Errorf("append write: %d %v", n, err)
	}
	if a.Offset() != 9 {
		t.Errorf("offset after append %d, want 9", a.Offset())
	}
	if data, _ := os.ReadFile(path); string(data) != "01234+end" {
		t.Errorf("host file after append %q", data)
	}
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	v := vfs.New()
	hr, hw := pipe(t)
	defer unix.Close(hr)
	w := newFD(t, v, hw)
	// What open("/proc/self/fd/N") does: Inode.Open and a new description.
	impl, err := w.Inode().Open(ctx, w.VirtualDentry(), vfs.OpenOptions{Flags: linux.O_WRONLY})
	if err != nil {
		t.Fatal(err)
	}
	w2 := vfs.NewFileDescription(impl, linux.O_WRONLY, w.VirtualDentry(), vfs.FileDescriptionOptions{Stream: true})
	impl.(*host.FD).SetFileDescription(w2)
	w.DecRef(ctx)
	if !isOpen(hw) {
		t.Fatalf("host fd closed while a reopened description uses it")
	}
	if n, err := write(ctx, w2, "via reopen"); n != 10 || err != nil {
		t.Errorf("write through the reopened description: %d %v", n, err)
	}
	b := make([]byte, 32)
	n, _ := unix.Read(hr, b)
	if string(b[:n]) != "via reopen" {
		t.Errorf("host read %q", b[:n])
	}
	w2.DecRef(ctx)
	if isOpen(hw) {
		t.Errorf("host fd open after the last description went")
	}
	if _, err := w2.Inode().Open(ctx, w2.VirtualDentry(), vfs.OpenOptions{Flags: linux.O_WRONLY}); err != unix.ENXIO {
		t.Errorf("reopen after close: %v, want ENXIO", err)
	}
}

func TestNewFDErrors(t *testing.T) {
	v := vfs.New()
	dir, err := unix.Open(t.TempDir(), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dir)
	if _, err := host.NewFD(v, dir, host.Options{}); err == nil {
		t.Errorf("NewFD of a directory succeeded")
	}
	if !isOpen(dir) {
		t.Errorf("NewFD closed an fd it refused")
	}
	if _, err := host.NewFD(v, 1<<20, host.Options{}); err == nil {
		t.Errorf("NewFD of a bad fd succeeded")
	}
	null, err := unix.Open("/dev/null", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	fd := newFD(t, v, null)
	defer fd.DecRef(context.Background())
	if s, err := read(context.Background(), fd, 10); s != "" || err != nil {
		t.Errorf("read of host /dev/null: %q %v", s, err)
	}
	if _, err := fd.Ioctl(context.Background(), linux.TCGETS, 0); err != unix.ENOTTY {
		t.Errorf("TCGETS on /dev/null: %v", err)
	}
	if st, _ := fd.Stat(context.Background(), 0); st.Mode&linux.S_IFMT != linux.S_IFCHR || st.RdevMajor != 1 || st.RdevMinor != 3 {
		t.Errorf("stat of /dev/null: mode %#o rdev %d:%d", st.Mode, st.RdevMajor, st.RdevMinor)
	}
}

// mem is guest memory for ioctl tests: addresses index a byte slice.
type mem []byte

func (m mem) CopyIn(addr uintptr, dst []byte) (int, error) {
	if addr > uintptr(len(m)) {
		return 0, unix.EFAULT
	}
	n := copy(dst, m[addr:])
	if n < len(dst) {
		return n, unix.EFAULT
	}
	return n, nil
}

func (m mem) CopyOut(addr uintptr, src []byte) (int, error) {
	if addr > uintptr(len(m)) {
		return 0, unix.EFAULT
	}
	n := copy(m[addr:], src)
	if n < len(src) {
		return n, unix.EFAULT
	}
	return n, nil
}

// openPTY opens a host pseudoterminal pair as posix_openpt, unlockpt and
// ptsname do.
func openPTY(t *testing.T) (master, slave int) {
	t.Helper()
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no host pseudoterminals: %v", err)
	}
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(m)
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetUint32(m, unix.TIOCGPTN)
	if err != nil {
		unix.Close(m)
		t.Fatalf("TIOCGPTN: %v", err)
	}
	s, err := unix.Open(fmt.Sprintf("/dev/pts/%d", n), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(m)
		t.Fatalf("opening /dev/pts/%d: %v", n, err)
	}
	return m, s
}

func readHost(t *testing.T, fd int, want int) string {
	t.Helper()
	var out []byte
	b := make([]byte, 256)
	for len(out) < want {
		n, err := unix.Read(fd, b)
		if err != nil {
			t.Fatalf("host read: %v", err)
		}
		out = append(out, b[:n]...)
	}
	return string(out)
}

func TestPTY(t *testing.T) {
	m, s := openPTY(t)
	defer unix.Close(m)
	v := vfs.New()
	g := make(mem, 64)
	ctx := host.WithGuestMemory(context.Background(), g)
	tty := newFD(t, v, s)
	defer tty.DecRef(ctx)
	if !tty.Impl().(*host.FD).IsTerminal() {
		t.Fatal("a pty slave is not a terminal")
	}

	st, err := tty.Stat(ctx, linux.STATX_BASIC_STATS)
	if err != nil || st.Mode&linux.S_IFMT != linux.S_IFCHR || st.RdevMajor < 136 || st.RdevMajor > 143 {
		t.Errorf("stat: mode %#o rdev %d:%d %v", st.Mode, st.RdevMajor, st.RdevMinor, err)
	}

	// TCGETS matches the host's view.
	if _, err := tty.Ioctl(ctx, linux.TCGETS, 8); err != nil {
		t.Fatalf("TCGETS: %v", err)
	}
	var kt linux.Termios
	kt.Decode(g[8:])
	ht, _ := unix.IoctlGetTermios(m, unix.TCGETS)
	if kt.LocalFlags != ht.Lflag || kt.InputFlags != ht.Iflag || kt.ControlCharacters != ht.Cc {
		t.Errorf("TCGETS %+v, host %+v", kt, ht)
	}
	if kt.LocalFlags&linux.ICANON == 0 || kt.LocalFlags&linux.ECHO == 0 {
		t.Errorf("new pty not canonical with echo: lflag %#o", kt.LocalFlags)
	}
	// TCSETS turns echo off on the host terminal.
	kt.LocalFlags &^= linux.ECHO
	kt.Encode(g[8:])
	if _, err := tty.Ioctl(ctx, linux.TCSETSW, 8); err != nil {
		t.Fatalf("TCSETSW: %v", err)
	}
	if ht, _ := unix.IoctlGetTermios(s, unix.TCGETS); ht.Lflag&unix.ECHO != 0 {
		t.Errorf("ECHO still set on the host after TCSETSW")
	}
	// A bad pointer is EFAULT.
	if _, err := tty.Ioctl(ctx, linux.TCGETS, 60); err != unix.EFAULT {
		t.Errorf("TCGETS to a short buffer: %v", err)
	}
	if _, err := tty.Ioctl(context.Background(), linux.TCGETS, 0); err != unix.EFAULT {
		t.Errorf("TCGETS without guest memory: %v", err)
	}

	// Window size, both ways.
	(&linux.Winsize{Row: 40, Col: 132}).Encode(g[0:])
	if _, err := tty.Ioctl(ctx, linux.TIOCSWINSZ, 0); err != nil {
		t.Fatalf("TIOCSWINSZ: %v", err)
	}
	if w, _ := unix.IoctlGetWinsize(m, unix.TIOCGWINSZ); w.Row != 40 || w.Col != 132 {
		t.Errorf("host winsize %dx%d", w.Row, w.Col)
	}
	unix.IoctlSetWinsize(m, unix.TIOCSWINSZ, &unix.Winsize{Row: 25, Col: 81})
	if _, err := tty.Ioctl(ctx, linux.TIOCGWINSZ, 16); err != nil {
		t.Fatalf("TIOCGWINSZ: %v", err)
	}
	var ws linux.Winsize
	ws.Decode(g[16:])
	if ws.Row != 25 || ws.Col != 81 {
		t.Errorf("TIOCGWINSZ %+v", ws)
	}

	// The foreground process group is emulated.
	if _, err := tty.Ioctl(ctx, linux.TIOCGPGRP, 24); err != nil || binary.LittleEndian.Uint32(g[24:]) != 1 {
		t.Errorf("TIOCGPGRP: %d %v", binary.LittleEndian.Uint32(g[24:]), err)
	}
	binary.LittleEndian.PutUint32(g[24:], 77)
	if _, err := tty.Ioctl(ctx, linux.TIOCSPGRP, 24); err != nil {
		t.Errorf("TIOCSPGRP: %v", err)
	}
	if pg, ok := tty.Impl().(*host.FD).ForegroundProcessGroup(); pg != 77 || !ok {
		t.Errorf("foreground group %d %v", pg, ok)
	}
	binary.LittleEndian.PutUint32(g[24:], 0xffffffff)
	if _, err := tty.Ioctl(ctx, linux.TIOCSPGRP, 24); err != unix.EINVAL {
		t.Errorf("TIOCSPGRP -1: %v", err)
	}
	if _, err := tty.Ioctl(ctx, linux.TIOCSCTTY, 0); err != unix.ENOTTY {
		t.Errorf("TIOCSCTTY: %v (left to the kernel)", err)
	}

	// Input typed on the master is read, a line at a time.
	unix.Write(m, []byte("ls -l\n"))
	for {
		// FIONREAD reports the line once the line discipline has it.
		n, err := tty.Ioctl(ctx, linux.FIONREAD, 0)
		if err != nil {
			t.Fatalf("FIONREAD: %v", err)
		}
		if n == 6 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if s, err := read(ctx, tty, 100); s != "ls -l\n" || err != nil {
		t.Errorf("read: %q %v", s, err)
	}
	// Output goes through the host's ONLCR.
	if n, err := write(ctx, tty, "hi\n"); n != 3 || err != nil {
		t.Errorf("write: %d %v", n, err)
	}
	if got := readHost(t, m, 4); got != "hi\r\n" {
		t.Errorf("master read %q", got)
	}

	// A read blocked on the terminal is interrupted.
	ictx, cancel := context.WithCancel(ctx)
	errc := make(chan error)
	go func() {
		_, err := read(ictx, tty, 10)
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-errc; err != linux.ERESTARTSYS {
		t.Errorf("interrupted tty read: %v", err)
	}
}

func TestReadinessAndLargeFileIO(t *testing.T) {
	ctx := context.Background()
	v := vfs.New()
	hr, hw := pipe(t)
	defer unix.Close(hw)
	r := newFD(t, v, hr)
	defer r.DecRef(ctx)
	h := r.Impl().(*host.FD)
	if ev := h.Readiness(waiter.EventIn); ev != 0 {
		t.Errorf("empty pipe readiness %#x", ev)
	}
	unix.Write(hw, []byte("x"))
	if ev := h.Readiness(waiter.EventIn | waiter.EventOut); ev != waiter.EventIn {
		t.Errorf("readiness with data %#x, want POLLIN", ev)
	}

	// Reads and writes larger than the bounce buffer, at offsets that
	// straddle it.
	path := filepath.Join(t.TempDir(), "big")
	hfd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f := newFD(t, v, hfd)
	defer f.DecRef(ctx)
	data := make([]byte, 300<<10+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if n, err := f.PWrite(ctx, vfs.BytesIOSequence(data), 1000); n != int64(len(data)) || err != nil {
		t.Fatalf("large pwrite: %d %v", n, err)
	}
	got := make([]byte, len(data)+5000)
	n, err := f.PRead(ctx, vfs.BytesIOSequence(got), 1000)
	if n != int64(len(data)) || err != nil || !bytes.Equal(got[:n], data) {
		t.Errorf("large pread: %d %v equal=%v", n, err, bytes.Equal(got[:n], data))
	}
	if n, err := f.PRead(ctx, vfs.BytesIOSequence(got), 1<<30); n != 0 || err != nil {
		t.Errorf("pread past EOF: %d %v", n, err)
	}
}
