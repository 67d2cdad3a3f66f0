package timerfd

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/waiter"
)

const ms = int64(time.Millisecond)

// fakeClock is a kernel.Clock that moves only when Advance is called.
// Waits that come due run on Advance's goroutine; a wait asked for a
// time already reached runs at once on its own goroutine, as a real
// clock's would.
type fakeClock struct {
	// mu guards now and waits.
	mu    sync.Mutex
	now   int64
	waits []*fakeWait
}

type fakeWait struct {
	at   int64
	f    func()
	over bool // fired or stopped; guarded by fakeClock.mu
}

func (c *fakeClock) Now() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(at int64, f func()) func() bool {
	w := &fakeWait{at: at, f: f}
	c.mu.Lock()
	if at <= c.now {
		w.over = true
		go f()
	} else {
		c.waits = append(c.waits, w)
	}
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if w.over {
			return false
		}
		w.over = true
		return true
	}
}

// Advance moves the clock forward by d and runs the waits that came due.
func (c *fakeClock) Advance(d int64) {
	c.mu.Lock()
	c.now += d
	var due, rest []*fakeWait
	for _, w := range c.waits {
		switch {
		case w.over:
		case w.at <= c.now:
			w.over = true
			due = append(due, w)
		default:
			rest = append(rest, w)
		}
	}
	c.waits = rest
	c.mu.Unlock()
	for _, w := range due {
		w.f()
	}
}

// pending counts the waits that are neither fired nor stopped: the Go
// timers a real clock would have running.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, w := range c.waits {
		if !w.over {
			n++
		}
	}
	return n
}

var creds = &vfs.Credentials{}

func newTFD(t *testing.T, c kernel.Clock, flags uint32) (*vfs.FileDescription, *TimerFD) {
	t.Helper()
	fd, err := New(vfs.New(), creds, c, flags)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fd.DecRef(context.Background()) })
	return fd, fd.Impl().(*TimerFD)
}

func rd(ctx context.Context, fd *vfs.FileDescription) (uint64, error) {
	var b [8]byte
	_, err := fd.Read(ctx, vfs.BytesIOSequence(b[:]))
	return binary.LittleEndian.Uint64(b[:]), err
}

func wantRead(t *testing.T, fd *vfs.FileDescription, want uint64) {
	t.Helper()
	if n, err := rd(context.Background(), fd); n != want || err != nil {
		t.Fatalf("read %d, %v; want %d", n, err, want)
	}
}

func wantEAGAIN(t *testing.T, fd *vfs.FileDescription) {
	t.Helper()
	if n, err := rd(context.Background(), fd); err != unix.EAGAIN {
		t.Fatalf("read %d, %v; want EAGAIN", n, err)
	}
}

func wantTime(t *testing.T, tfd *TimerFD, value, interval int64) {
	t.Helper()
	if v, i := tfd.GetTime(); v != value || i != interval {
		t.Fatalf("GetTime = %d, %d; want %d, %d", v, i, value, interval)
	}
}

// waitRegistered waits until a reader has registered on tfd's queue.
func waitRegistered(tfd *TimerFD, done <-chan struct{}) bool {
	for tfd.queue.Len() == 0 {
		select {
		case <-done:
			return false
		default:
			time.Sleep(time.Millisecond)
		}
	}
	return true
}

func TestCreateFlags(t *testing.T) {
	c := &fakeClock{}
	for _, bad := range []uint32{1, TFD_TIMER_CANCEL_ON_SET, linux.O_RDWR, ^uint32(0)} {
		if _, err := New(vfs.New(), creds, c, bad); err != unix.EINVAL {
			t.Errorf("flags %#x: %v, want EINVAL", bad, err)
		}
	}
	fd, _ := newTFD(t, c, TFD_CLOEXEC)
	if fl := fd.StatusFlags(); fl != linux.O_RDWR {
		t.Errorf("status flags %#o, want O_RDWR", fl)
	}
	nb, _ := newTFD(t, c, TFD_NONBLOCK|TFD_CLOEXEC)
	if fl := nb.StatusFlags(); fl != linux.O_RDWR|linux.O_NONBLOCK {
		t.Errorf("status flags %#o, want O_RDWR|O_NONBLOCK", fl)
	}
}

func TestFileOperations(t *testing.T) {
	ctx := context.Background()
	fd, tfd := newTFD(t, &fakeClock{}, TFD_NONBLOCK)
	if n, ok := fd.Inode().(interface{ ProcName() string }); !ok || n.ProcName() != "anon_inode:[timerfd]" {
		t.Errorf("no anon_inode:[timerfd] name")
	}
	if st, err := fd.Stat(ctx, linux.STATX_BASIC_STATS); err != nil || st.Mode != 0o600 {
		t.Errorf("stat mode %#o, %v; want 0600", st.Mode, err)
	}
	if _, err := fd.Read(ctx, vfs.BytesIOSequence(make([]byte, 7))); err != unix.EINVAL {
		t.Errorf("7-byte read: %v, want EINVAL", err)
	}
	if _, err := fd.Write(ctx, vfs.BytesIOSequence(make([]byte, 8))); err != unix.EINVAL {
		t.Errorf("write: %v, want EINVAL", err)
	}
	if _, err := fd.PRead(ctx, vfs.BytesIOSequence(make([]byte, 8)), 0); err != unix.ESPIPE {
		t.Errorf("pread: %v, want ESPIPE", err)
	}
	if off, err := fd.Seek(ctx, 5, linux.SEEK_SET); off != 0 || err != nil {
		t.Errorf("lseek: %d, %v; want 0 (noop_llseek)", off, err)
	}
	if err := fd.Sync(ctx); err != unix.EINVAL {
		t.Errorf("fsync: %v, want EINVAL", err)
	}
	wantEAGAIN(t, fd)
	wantTime(t, tfd, 0, 0)
}

func TestOneShot(t *testing.T) {
	c := &fakeClock{now: 1000 * ms}
	fd, tfd := newTFD(t, c, TFD_NONBLOCK)
	if v, i := tfd.SetTime(10*ms, 0, false); v != 0 || i != 0 {
		t.Fatalf("old setting %d, %d; want 0, 0", v, i)
	}
	wantTime(t, tfd, 10*ms, 0)
	c.Advance(10*ms - 1)
	wantTime(t, tfd, 1, 0)
	wantEAGAIN(t, fd)
	const all = waiter.ReadableEvents | waiter.WritableEvents | waiter.EventPri
	if m := tfd.Readiness(all); m != 0 {
		t.Fatalf("readiness before expiry %#x", m)
	}
	c.Advance(1)
	if m := tfd.Readiness(all); m != waiter.EventIn {
		t.Fatalf("readiness after expiry %#x, want EPOLLIN only", m)
	}
	wantRead(t, fd, 1)
	wantEAGAIN(t, fd)
	wantTime(t, tfd, 0, 0)
	if n := c.pending(); n != 0 {
		t.Errorf("%d clock waits left by an expired one-shot timer", n)
	}
}

func TestPeriodicHeldUntilRead(t *testing.T) {
	c := &fakeClock{}
	fd, tfd := newTFD(t, c, TFD_NONBLOCK)
	tfd.SetTime(10*ms, 5*ms, false)
	c.Advance(10 * ms)
	if n := c.pending(); n != 0 {
		t.Fatalf("expired periodic timer still scheduled (%d waits): it should wait to be read", n)
	}
	c.Advance(17 * ms) // at 27 ms: expirations due at 10, 15, 20 and 25
	if m := tfd.Readiness(waiter.EventIn); m != waiter.EventIn {
		t.Fatalf("readiness %#x", m)
	}
	// gettime restarts the timer: the next expiration is at 30 ms.
	wantTime(t, tfd, 3*ms, 5*ms)
	if n := c.pending(); n != 1 {
		t.Fatalf("%d clock waits after gettime, want 1", n)
	}
	wantRead(t, fd, 4)
	wantEAGAIN(t, fd)
	c.Advance(3 * ms)
	wantRead(t, fd, 1) // at 30 ms
	c.Advance(12 * ms) // at 42 ms: 35 and 40
	wantRead(t, fd, 2)
	wantTime(t, tfd, 3*ms, 5*ms)
}

func TestSetTimeReplacesAndClears(t *testing.T) {
	c := &fakeClock{}
	fd, tfd := newTFD(t, c, TFD_NONBLOCK)
	tfd.SetTime(ms, 0, false)
	c.Advance(ms)
	if v, i := tfd.SetTime(5*ms, 2*ms, false); v != 0 || i != 0 {
		t.Fatalf("old setting of an expired one-shot: %d, %d", v, i)
	}
	wantEAGAIN(t, fd) // the unread expiration went with the old setting
	c.Advance(ms)
	if v, i := tfd.SetTime(0, 7*ms, false); v != 4*ms || i != 2*ms {
		t.Fatalf("old setting %d, %d; want 4ms, 2ms", v, i)
	}
	// Disarmed, the interval is still reported, as on Linux.
	wantTime(t, tfd, 0, 7*ms)
	if n := c.pending(); n != 0 {
		t.Errorf("%d clock waits left by a disarmed timer", n)
	}
}

func TestStaleExpirationIgnored(t *testing.T) {
	c := &fakeClock{}
	fd, tfd := newTFD(t, c, TFD_NONBLOCK)
	tfd.SetTime(ms, ms, false)
	old := tfd.timer
	tfd.SetTime(100*ms, 0, false)
	// An expiration of the old setting that was already on its way.
	if tfd.expire(old, 3) {
		t.Error("stale expiration kept its timer running")
	}
	wantEAGAIN(t, fd)
}

func TestAbsolute(t *testing.T) {
	c := &fakeClock{now: 1000 * ms}
	fd, tfd := newTFD(t, c, 0)
	tfd.SetTime(1005*ms, 0, true)
	wantTime(t, tfd, 5*ms, 0)
	// In the past: expirations at 990, 991, ..., 1000 ms are all due.
	tfd.SetTime(990*ms, ms, true)
	wantRead(t, fd, 11) // blocks until the expiration goroutine ran
	wantTime(t, tfd, ms, ms)
}

func TestBlockingReadWokenByExpiry(t *testing.T) {
	c := &fakeClock{}
	fd, tfd := newTFD(t, c, 0)
	tfd.SetTime(ms, 0, false)
	type result struct {
		n   uint64
		err error
	}
	got := make(chan result, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n, err := rd(context.Background(), fd)
		got <- result{n, err}
	}()
	if !waitRegistered(tfd, done) {
		t.Fatalf("read returned before the timer expired: %+v", <-got)
	}
	c.Advance(ms)
	if r := <-got; r.n != 1 || r.err != nil {
		t.Fatalf("read %d, %v; want 1", r.n, r.err)
	}
	if n := tfd.queue.Len(); n != 0 {
		t.Errorf("%d entries left on the queue", n)
	}
}

func TestBlockingReadInterrupted(t *testing.T) {
	fd, tfd := newTFD(t, &fakeClock{}, 0)
	tfd.SetTime(ms, 0, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := rd(ctx, fd)
		errc <- err
	}()
	if !waitRegistered(tfd, done) {
		t.Fatalf("read returned early: %v", <-errc)
	}
	cancel()
	if err := <-errc; err != linux.ERESTARTSYS {
		t.Fatalf("interrupted read: %v, want ERESTARTSYS", err)
	}
	if n := tfd.queue.Len(); n != 0 {
		t.Errorf("%d entries left on the queue", n)
	}
}

func TestNonblockFollowsSetfl(t *testing.T) {
	fd, _ := newTFD(t, &fakeClock{}, 0)
	fd.SetStatusFlags(fd.StatusFlags() | linux.O_NONBLOCK)
	wantEAGAIN(t, fd)
}

// faultSeq is a destination whose copies fault.
type faultSeq struct{}

func (faultSeq) NumBytes() int64 { return 8 }
func (faultSeq) CopyOutAt(context.Context, int64, []byte) (int, error) {
	return 0, unix.EFAULT
}
func (faultSeq) CopyInAt(context.Context, int64, []byte) (int, error) {
	return 0, unix.EFAULT
}

func TestFaultingReadLosesExpirations(t *testing.T) {
	c := &fakeClock{}
	fd, tfd := newTFD(t, c, TFD_NONBLOCK)
	tfd.SetTime(ms, 0, false)
	c.Advance(ms)
	if _, err := fd.Read(context.Background(), faultSeq{}); err != unix.EFAULT {
		t.Fatalf("read to a bad buffer: %v, want EFAULT", err)
	}
	wantEAGAIN(t, fd) // as on Linux, the count was taken before the copy
}

func TestReleaseStopsTimer(t *testing.T) {
	c := &fakeClock{}
	fd, err := New(vfs.New(), creds, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	tfd := fd.Impl().(*TimerFD)
	tfd.SetTime(ms, ms, false)
	if n := c.pending(); n != 1 {
		t.Fatalf("%d clock waits for an armed timer, want 1", n)
	}
	tm := tfd.timer
	fd.DecRef(context.Background())
	if n := c.pending(); n != 0 {
		t.Fatalf("%d clock waits after the file was released", n)
	}
	if tfd.expire(tm, 1) || tfd.Readiness(waiter.EventIn) != 0 {
		t.Error("released timerfd counted an expiration")
	}
	if v, i := tfd.SetTime(ms, 0, false); v != 0 || i != 0 || c.pending() != 0 {
		t.Error("released timerfd was armed again")
	}
}

// TestRealClock runs a timerfd on the kernel's CLOCK_REALTIME, which
// reads the host's clock and waits with Go timers. (A zero Kernel is
// enough: that clock reads no kernel state.)
func TestRealClock(t *testing.T) {
	c := (&kernel.Kernel{}).RealtimeClock()
	fd, tfd := newTFD(t, c, 0)
	tfd.SetTime(ms, 0, false)
	wantRead(t, fd, 1)
	// Absolute, periodic, started 10 intervals ago: at least 11
	// expirations are due at once.
	tfd.SetTime(c.Now()-10*ms, ms, true)
	if n, err := rd(context.Background(), fd); n < 11 || err != nil {
		t.Fatalf("read %d, %v; want at least 11", n, err)
	}
	if v, i := tfd.GetTime(); v <= 0 || v > ms || i != ms {
		t.Fatalf("GetTime %d, %d: want a value in (0, 1ms] and a 1ms interval", v, i)
	}
}

func TestSetTicks(t *testing.T) {
	ctx := context.Background()
	fd, tfd := newTFD(t, &fakeClock{}, TFD_NONBLOCK)
	if err := tfd.SetTicks(0); err != unix.EINVAL {
		t.Errorf("SetTicks(0): %v, want EINVAL", err)
	}
	if err := tfd.SetTicks(5); err != nil {
		t.Fatal(err)
	}
	if m := tfd.Readiness(waiter.EventIn); m != waiter.EventIn {
		t.Errorf("readiness after SetTicks %#x", m)
	}
	wantRead(t, fd, 5)
	if _, err := fd.Ioctl(ctx, linux.FIONREAD, 0); err != unix.ENOTTY {
		t.Errorf("FIONREAD: %v, want ENOTTY", err)
	}
	// Without a task there is no memory to read the count from.
	if _, err := fd.Ioctl(ctx, TFD_IOC_SET_TICKS, 0x1000); err != unix.EFAULT {
		t.Errorf("SET_TICKS without a task: %v, want EFAULT", err)
	}
}
