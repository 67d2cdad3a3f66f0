package pipe

import (
	"bytes"
	"context"
	"errors"
	"math/rand"
	"runtime"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/waiter"
)

var ctx = context.Background()

func newPair(t *testing.T, flags uint32) (*vfs.FileDescription, *vfs.FileDescription) {
	t.Helper()
	r, w, err := NewPair(ctx, vfs.New(), vfs.UserCredentials(1000, 100), flags)
	if err != nil {
		t.Fatalf("NewPair: %v", err)
	}
	t.Cleanup(func() {
		for _, fd := range []*vfs.FileDescription{r, w} {
			if fd.TryIncRef() {
				fd.DecRef(ctx)
				fd.DecRef(ctx)
			}
		}
	})
	return r, w
}

// closeFD drops the test's reference (the cleanup then skips it).
func closeFD(fd *vfs.FileDescription) { fd.DecRef(ctx) }

func impl(fd *vfs.FileDescription) *FD { return fd.Impl().(*FD) }

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got %v, want %v", what, err, want)
	}
}

// waiters returns the number of entries registered on p's queue.
func waiters(p *Pipe) int {
	return p.queue.Len()
}

// waitForWaiters yields until p has n registered waiters.
func waitForWaiters(p *Pipe, n int) {
	for waiters(p) < n {
		runtime.Gosched()
	}
}

func TestPairBasics(t *testing.T) {
	r, w := newPair(t, 0)
	if n, err := w.Write(ctx, vfs.BytesIOSequence("hello")); n != 5 || err != nil {
		t.Fatalf("write: %d %v", n, err)
	}
	if n, _ := impl(r).Ioctl(ctx, FIONREAD, 0); n != 5 {
		t.Errorf("FIONREAD %d", n)
	}
	buf := make([]byte, 3)
	if n, err := r.Read(ctx, vfs.BytesIOSequence(buf)); n != 3 || err != nil || string(buf) != "hel" {
		t.Errorf("read: %d %v %q", n, err, buf)
	}
	buf = make([]byte, 100)
	if n, err := r.Read(ctx, vfs.BytesIOSequence(buf)); n != 2 || err != nil || string(buf[:2]) != "lo" {
		t.Errorf("read rest: %d %v %q", n, err, buf[:n])
	}
	_, err := r.PRead(ctx, vfs.BytesIOSequence(buf), 0)
	wantErr(t, "pread", err, unix.ESPIPE)
	_, err = r.Seek(ctx, 0, linux.SEEK_SET)
	wantErr(t, "lseek", err, unix.ESPIPE)
	_, err = w.Read(ctx, vfs.BytesIOSequence(buf))
	wantErr(t, "read write end", err, unix.EBADF)
	st, err := r.Stat(ctx, linux.STATX_BASIC_STATS)
	if err != nil || st.Mode&linux.S_IFMT != linux.S_IFIFO || st.Size != 0 || st.Ino == 0 || st.UID != 1000 || st.GID != 100 || st.Nlink != 1 {
		t.Errorf("stat: %+v %v", st, err)
	}
	st2, _ := w.Stat(ctx, linux.STATX_BASIC_STATS)
	if st2.Ino != st.Ino {
		t.Errorf("ends have different inodes")
	}
	r2, _ := newPair(t, 0)
	if st3, _ := r2.Stat(ctx, linux.STATX_BASIC_STATS); st3.Ino == st.Ino {
		t.Errorf("two pipes share an inode number")
	}
	if sf, err := r.StatFS(ctx); err != nil || sf.Type != unix.PIPEFS_MAGIC {
		t.Errorf("statfs: %+v %v", sf, err)
	}
	if _, _, err := NewPair(ctx, vfs.New(), vfs.RootCredentials(), linux.O_DIRECT); err != unix.EINVAL {
		t.Errorf("O_DIRECT: %v", err)
	}
	if n, err := r.Read(ctx, vfs.BytesIOSequence(nil)); n != 0 || err != nil {
		t.Errorf("zero-length read: %d %v", n, err)
	}
}

func TestIntegrityAcrossGoroutines(t *testing.T) {
	r, w := newPair(t, 0)
	data := make([]byte, 3<<20)
	rand.New(rand.NewSource(1)).Read(data)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewSource(2))
		for off := 0; off < len(data); {
			n := min(1+rng.Intn(100000), len(data)-off)
			c, err := w.Write(ctx, vfs.BytesIOSequence(data[off:off+n]))
			if err != nil || c != int64(n) {
				t.Errorf("write: %d %v", c, err)
				return
			}
			off += n
		}
		closeFD(w)
	}()
	var got []byte
	rng := rand.New(rand.NewSource(3))
	for {
		buf := make([]byte, 1+rng.Intn(70000))
		n, err := r.Read(ctx, vfs.BytesIOSequence(buf))
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		got = append(got, buf[:n]...)
	}
	wg.Wait()
	if !bytes.Equal(got, data) {
		t.Fatalf("data differs (got %d bytes, want %d)", len(got), len(data))
	}
}

func TestCapacityAndSetSize(t *testing.T) {
	r, w := newPair(t, linux.O_NONBLOCK)
	if s := impl(w).PipeSize(); s != DefaultSize {
		t.Errorf("default size %d", s)
	}
	big := make([]byte, 100000)
	n, err := w.Write(ctx, vfs.BytesIOSequence(big))
	if err != nil || n != DefaultSize {
		t.Fatalf("filling write: %d %v", n, err)
	}
	_, err = w.Write(ctx, vfs.BytesIOSequence("x"))
	wantErr(t, "write to full pipe", err, unix.EAGAIN)
	if m := impl(w).Readiness(waiter.WritableEvents); m&waiter.WritableEvents != 0 {
		t.Errorf("full pipe reports writable")
	}
	_, err = impl(w).SetPipeSize(4096, false)
	wantErr(t, "shrink below content", err, unix.EBUSY)
	// Growing keeps the data and makes room.
	if s, err := impl(w).SetPipeSize(100000, false); err != nil || s != 131072 {
		t.Errorf("grow: %d %v", s, err)
	}
	if n, err := w.Write(ctx, vfs.BytesIOSequence(big)); err != nil || n != 131072-DefaultSize {
		t.Errorf("write after grow: %d %v", n, err)
	}
	buf := make([]byte, 200000)
	if n, err := r.Read(ctx, vfs.BytesIOSequence(buf)); err != nil || n != 131072 {
		t.Errorf("drain: %d %v", n, err)
	}
	if s, err := impl(r).SetPipeSize(0, false); err != nil || s != 4096 {
		t.Errorf("shrink to a page: %d %v", s, err)
	}
	_, err = impl(r).SetPipeSize(MaxSize+1, false)
	wantErr(t, "above max unprivileged", err, unix.EPERM)
	if s, err := impl(r).SetPipeSize(2*MaxSize, true); err != nil || s != 2*MaxSize {
		t.Errorf("above max with CAP_SYS_RESOURCE: %d %v", s, err)
	}
	_, err = impl(r).SetPipeSize(1<<40, true)
	wantErr(t, "huge", err, unix.EINVAL)
	if s, err := impl(r).SetPipeSize(4096, false); err != nil || s != 4096 {
		t.Fatalf("set 4096: %d %v", s, err)
	}
	// An atomic write that does not fit fails whole; a bigger one is
	// partial.
	if n, err := w.Write(ctx, vfs.BytesIOSequence(make([]byte, 4000))); n != 4000 || err != nil {
		t.Fatalf("write: %d %v", n, err)
	}
	_, err = w.Write(ctx, vfs.BytesIOSequence(make([]byte, 200)))
	wantErr(t, "atomic write that does not fit", err, unix.EAGAIN)
	if n, err := w.Write(ctx, vfs.BytesIOSequence(make([]byte, 5000))); n != 96 || err != nil {
		t.Errorf("large nonblocking write: %d %v", n, err)
	}
}

func TestEOFAndEPIPE(t *testing.T) {
	r, w := newPair(t, 0)
	if _, err := w.Write(ctx, vfs.BytesIOSequence("tail")); err != nil {
		t.Fatal(err)
	}
	closeFD(w)
	buf := make([]byte, 10)
	if n, err := r.Read(ctx, vfs.BytesIOSequence(buf)); n != 4 || err != nil {
		t.Errorf("buffered data after writer closed: %d %v", n, err)
	}
	if n, err := r.Read(ctx, vfs.BytesIOSequence(buf)); n != 0 || err != nil {
		t.Errorf("EOF: %d %v", n, err)
	}
	if m := impl(r).Readiness(waiter.ReadableEvents); m&waiter.EventHUp == 0 {
		t.Errorf("no HUP after writer closed: %#x", m)
	}

	r, w = newPair(t, 0)
	closeFD(r)
	n, err := w.Write(ctx, vfs.BytesIOSequence("x"))
	if n != 0 || err != unix.EPIPE || !RaisesSIGPIPE(err) {
		t.Errorf("write without reader: %d %v", n, err)
	}
	if m := impl(w).Readiness(waiter.WritableEvents); m&waiter.EventErr == 0 {
		t.Errorf("no ERR without reader: %#x", m)
	}

	// A blocked large write gets EPIPE with its partial count when the
	// reader goes.
	r, w = newPair(t, 0)
	done := make(chan struct{})
	var wn int64
	var werr error
	go func() {
		wn, werr = w.Write(ctx, vfs.BytesIOSequence(make([]byte, DefaultSize+100)))
		close(done)
	}()
	waitForWaiters(impl(w).Pipe(), 1)
	closeFD(r)
	<-done
	if wn != DefaultSize || werr != unix.EPIPE {
		t.Errorf("blocked write after reader closed: %d %v", wn, werr)
	}
}

func TestNonblockAndSetFL(t *testing.T) {
	r, w := newPair(t, linux.O_NONBLOCK)
	buf := make([]byte, 10)
	_, err := r.Read(ctx, vfs.BytesIOSequence(buf))
	wantErr(t, "empty nonblocking read", err, unix.EAGAIN)
	r.SetStatusFlags(0)
	done := make(chan int64)
	go func() {
		n, _ := r.Read(ctx, vfs.BytesIOSequence(buf))
		done <- n
	}()
	waitForWaiters(impl(r).Pipe(), 1)
	if _, err := w.Write(ctx, vfs.BytesIOSequence("abc")); err != nil {
		t.Fatal(err)
	}
	if n := <-done; n != 3 {
		t.Errorf("blocking read after F_SETFL: %d", n)
	}
}

func TestAtomicWrites(t *testing.T) {
	r, w := newPair(t, 0)
	const writers, per = 8, 64
	var wg sync.WaitGroup
	for k := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := bytes.Repeat([]byte{byte('a' + k)}, PipeBuf)
			for range per {
				if n, err := w.Write(ctx, vfs.BytesIOSequence(rec)); n != PipeBuf || err != nil {
					t.Errorf("write: %d %v", n, err)
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); closeFD(w) }()
	var got []byte
	buf := make([]byte, 3000) // reads do not line up with records.
	for {
		n, err := r.Read(ctx, vfs.BytesIOSequence(buf))
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		got = append(got, buf[:n]...)
	}
	if len(got) != writers*per*PipeBuf {
		t.Fatalf("got %d bytes", len(got))
	}
	for off := 0; off < len(got); off += PipeBuf {
		rec := got[off : off+PipeBuf]
		if bytes.Count(rec, rec[:1]) != PipeBuf {
			t.Fatalf("record at %d is interleaved", off)
		}
	}
}

func TestInterruption(t *testing.T) {
	r, w := newPair(t, 0)
	intr := make(chan struct{})
	ictx := WithInterrupt(ctx, intr)
	done := make(chan error)
	go func() {
		_, err := r.Read(ictx, vfs.BytesIOSequence(make([]byte, 10)))
		done <- err
	}()
	waitForWaiters(impl(r).Pipe(), 1)
	close(intr)
	wantErr(t, "interrupted read", <-done, linux.ERESTARTSYS)
	if waiters(impl(r).Pipe()) != 0 {
		t.Errorf("interrupted read left a waiter")
	}

	// A write interrupted after moving data returns the count.
	intr = make(chan struct{})
	ictx = WithInterrupt(ctx, intr)
	var n int64
	go func() {
		var err error
		n, err = w.Write(ictx, vfs.BytesIOSequence(make([]byte, DefaultSize+10)))
		done <- err
	}()
	waitForWaiters(impl(w).Pipe(), 1)
	close(intr)
	if err := <-done; err != nil || n != DefaultSize {
		t.Errorf("interrupted partial write: %d %v", n, err)
	}
	// A write with nothing moved fails with ERESTARTSYS.
	intr = make(chan struct{})
	ictx = WithInterrupt(ctx, intr)
	go func() {
		_, err := w.Write(ictx, vfs.BytesIOSequence("x"))
		done <- err
	}()
	waitForWaiters(impl(w).Pipe(), 1)
	close(intr)
	wantErr(t, "interrupted write", <-done, linux.ERESTARTSYS)
	// Cancelling a context without WithInterrupt also interrupts.
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		_, err := w.Write(cctx, vfs.BytesIOSequence("x"))
		done <- err
	}()
	waitForWaiters(impl(w).Pipe(), 1)
	cancel()
	wantErr(t, "cancelled write", <-done, linux.ERESTARTSYS)
}

func TestFIFOOpenRules(t *testing.T) {
	var f FIFO
	// Nonblocking read open succeeds alone; nonblocking write open needs
	// a reader.
	rd, err := f.Open(ctx, linux.O_RDONLY|linux.O_NONBLOCK)
	if err != nil {
		t.Fatalf("O_RDONLY|O_NONBLOCK: %v", err)
	}
	if m := rd.(*FD).Readiness(waiter.ReadableEvents); m&waiter.EventHUp != 0 {
		t.Errorf("HUP before any writer: %#x", m)
	}
	wr, err := f.Open(ctx, linux.O_WRONLY|linux.O_NONBLOCK)
	if err != nil {
		t.Fatalf("O_WRONLY|O_NONBLOCK with a reader: %v", err)
	}
	wr.Release(ctx)
	if m := rd.(*FD).Readiness(waiter.ReadableEvents); m&waiter.EventHUp == 0 {
		t.Errorf("no HUP after the writer left: %#x", m)
	}
	rd.Release(ctx)
	_, err = f.Open(ctx, linux.O_WRONLY|linux.O_NONBLOCK)
	wantErr(t, "O_WRONLY|O_NONBLOCK without reader", err, unix.ENXIO)

	// O_RDWR never blocks.
	rw, err := f.Open(ctx, linux.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	rw.Release(ctx)

	// A blocking read open waits for a writer; data then flows.
	type res struct {
		fd  vfs.FileDescriptionImpl
		err error
	}
	got := make(chan res)
	go func() {
		fd, err := f.Open(ctx, linux.O_RDONLY)
		got <- res{fd, err}
	}()
	waitForWaiters(f.p, 1)
	wr, err = f.Open(ctx, linux.O_WRONLY)
	if err != nil {
		t.Fatal(err)
	}
	rres := <-got
	if rres.err != nil {
		t.Fatal(rres.err)
	}
	if _, err := wr.Write(ctx, vfs.BytesIOSequence("fifo")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if n, err := rres.fd.Read(ctx, vfs.BytesIOSequence(buf)); n != 4 || err != nil {
		t.Errorf("fifo read: %d %v", n, err)
	}
	wr.Release(ctx)
	rres.fd.Release(ctx)

	// A blocking write open waits for a reader.
	go func() {
		fd, err := f.Open(ctx, linux.O_WRONLY)
		got <- res{fd, err}
	}()
	waitForWaiters(f.p, 1)
	rd, err = f.Open(ctx, linux.O_RDONLY|linux.O_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	if wres := <-got; wres.err != nil {
		t.Fatal(wres.err)
	} else {
		wres.fd.Release(ctx)
	}
	rd.Release(ctx)

	// An interrupted open undoes its count.
	intr := make(chan struct{})
	go func() {
		fd, err := f.Open(WithInterrupt(ctx, intr), linux.O_RDONLY)
		got <- res{fd, err}
	}()
	waitForWaiters(f.p, 1)
	close(intr)
	if r := <-got; r.err != linux.ERESTARTSYS {
		t.Errorf("interrupted open: %v", r.err)
	}
	_, err = f.Open(ctx, linux.O_WRONLY|linux.O_NONBLOCK)
	wantErr(t, "reader count after interrupted open", err, unix.ENXIO)
	// Data does not outlive the last end.
	rw, _ = f.Open(ctx, linux.O_RDWR)
	if _, err := rw.Write(ctx, vfs.BytesIOSequence("stale")); err != nil {
		t.Fatal(err)
	}
	rw.Release(ctx)
	if f.p.Buffered() != 0 {
		t.Errorf("data kept after the last close")
	}
}

func TestReadinessNotifications(t *testing.T) {
	r, w := newPair(t, 0)
	e, ch := waiter.NewEntry(waiter.ReadableEvents)
	impl(r).EventRegister(e)
	defer impl(r).EventUnregister(e)
	if m := impl(r).Readiness(waiter.ReadableEvents); m != 0 {
		t.Errorf("empty pipe ready: %#x", m)
	}
	if m := impl(w).Readiness(waiter.WritableEvents); m != waiter.WritableEvents {
		t.Errorf("empty pipe not writable: %#x", m)
	}
	if _, err := w.Write(ctx, vfs.BytesIOSequence("x")); err != nil {
		t.Fatal(err)
	}
	<-ch // notified
	if m := impl(r).Readiness(waiter.ReadableEvents); m != waiter.ReadableEvents {
		t.Errorf("readiness after write: %#x", m)
	}
}

// TestRingModel drives a nonblocking pipe with random writes, reads and
// resizes and compares it with a plain byte queue.
func TestRingModel(t *testing.T) {
	r, w := newPair(t, linux.O_NONBLOCK)
	rng := rand.New(rand.NewSource(4))
	var model []byte
	size := DefaultSize
	next := byte(0)
	for k := range 5000 {
		switch rng.Intn(3) {
		case 0:
			n := 1 + rng.Intn(9000)
			data := make([]byte, n)
			for j := range data {
				data[j] = next
				next++
			}
			free := size - len(model)
			want := min(n, free)
			if n <= PipeBuf && n > free {
				want = 0
			}
			got, err := w.Write(ctx, vfs.BytesIOSequence(data))
			if int(got) != want || (want == 0) != (err == unix.EAGAIN) {
				t.Fatalf("op %d: write %d (free %d): %d %v, want %d", k, n, free, got, err, want)
			}
			next -= byte(n - int(got))
			model = append(model, data[:got]...)
		case 1:
			buf := make([]byte, 1+rng.Intn(9000))
			got, err := r.Read(ctx, vfs.BytesIOSequence(buf))
			if len(model) == 0 {
				if err != unix.EAGAIN {
					t.Fatalf("op %d: empty read: %d %v", k, got, err)
				}
				continue
			}
			want := min(len(buf), len(model))
			if int(got) != want || err != nil || !bytes.Equal(buf[:got], model[:want]) {
				t.Fatalf("op %d: read %d: %d %v, want %d", k, len(buf), got, err, want)
			}
			model = model[want:]
		case 2:
			req := int64(rng.Intn(5)) * pageSize * int64(1+rng.Intn(4))
			got, err := impl(w).SetPipeSize(req, false)
			if int(roundSize(req)) < len(model) {
				if err != unix.EBUSY {
					t.Fatalf("op %d: shrink below content: %v", k, err)
				}
				continue
			}
			if err != nil || got != roundSize(req) {
				t.Fatalf("op %d: set size %d: %d %v", k, req, got, err)
			}
			size = int(got)
		}
	}
}

// faultySeq is an IOSequence of n bytes whose bytes from bad on fault.
type faultySeq struct {
	b   []byte
	bad int64
}

func (s faultySeq) NumBytes() int64 { return int64(len(s.b)) }

func (s faultySeq) CopyOutAt(_ context.Context, off int64, src []byte) (int, error) {
	if off >= s.bad {
		return 0, unix.EFAULT
	}
	n := copy(s.b[off:min(s.bad, int64(len(s.b)))], src)
	if n < len(src) {
		return n, unix.EFAULT
	}
	return n, nil
}

func (s faultySeq) CopyInAt(_ context.Context, off int64, dst []byte) (int, error) {
	if off >= s.bad {
		return 0, unix.EFAULT
	}
	n := copy(dst, s.b[off:min(s.bad, int64(len(s.b)))])
	if n < len(dst) {
		return n, unix.EFAULT
	}
	return n, nil
}

func TestFaults(t *testing.T) {
	r, w := newPair(t, linux.O_NONBLOCK)
	_, err := w.Write(ctx, faultySeq{b: make([]byte, 100), bad: 0})
	wantErr(t, "write from bad memory", err, unix.EFAULT)
	// A write whose chunk faults part way writes nothing of it (as
	// Linux's pipe_write drops a short page copy).
	_, err = w.Write(ctx, faultySeq{b: []byte("0123456789"), bad: 4})
	wantErr(t, "partly bad write", err, unix.EFAULT)
	if _, err := w.Write(ctx, vfs.BytesIOSequence("0123abc")); err != nil {
		t.Fatal(err)
	}
	_, err = r.Read(ctx, faultySeq{b: make([]byte, 10), bad: 0})
	wantErr(t, "read to bad memory", err, unix.EFAULT)
	dst := make([]byte, 10)
	if n, err := r.Read(ctx, faultySeq{b: dst, bad: 2}); n != 2 || err != nil || string(dst[:2]) != "01" {
		t.Errorf("partly bad read: %d %v %q", n, err, dst[:2])
	}
	buf := make([]byte, 10)
	if n, err := r.Read(ctx, vfs.BytesIOSequence(buf)); string(buf[:n]) != "23abc" || err != nil {
		t.Errorf("data after faults: %q %v", buf[:n], err)
	}
}
