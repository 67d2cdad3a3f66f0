package eventfd

import (
	"context"
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/waiter"
)

var creds = &vfs.Credentials{}

func newEFD(t *testing.T, init uint64, flags uint32) *vfs.FileDescription {
	t.Helper()
	fd, err := New(vfs.New(), creds, init, flags)
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

func rd(ctx context.Context, fd *vfs.FileDescription) (uint64, error) {
	var b [8]byte
	_, err := fd.Read(ctx, vfs.BytesIOSequence(b[:]))
	return binary.LittleEndian.Uint64(b[:]), err
}

func wr(ctx context.Context, fd *vfs.FileDescription, v uint64) error {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	_, err := fd.Write(ctx, vfs.BytesIOSequence(b[:]))
	return err
}

func TestCounterAndSemaphore(t *testing.T) {
	ctx := context.Background()
	fd := newEFD(t, 3, EFD_NONBLOCK)
	defer fd.DecRef(ctx)
	if err := wr(ctx, fd, 4); err != nil {
		t.Fatal(err)
	}
	if v, err := rd(ctx, fd); v != 7 || err != nil {
		t.Fatalf("read %d %v, want 7", v, err)
	}
	if _, err := rd(ctx, fd); err != unix.EAGAIN {
		t.Fatalf("empty read %v, want EAGAIN", err)
	}

	s := newEFD(t, 2, EFD_SEMAPHORE|EFD_NONBLOCK)
	defer s.DecRef(ctx)
	for i := 0; i < 2; i++ {
		if v, err := rd(ctx, s); v != 1 || err != nil {
			t.Fatalf("semaphore read %d %v", v, err)
		}
	}
	if _, err := rd(ctx, s); err != unix.EAGAIN {
		t.Fatalf("semaphore empty read %v", err)
	}
}

func TestLimitsAndErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := New(vfs.New(), creds, 0, 0x4); err != unix.EINVAL {
		t.Errorf("bad flags: %v", err)
	}
	fd := newEFD(t, 0, EFD_NONBLOCK)
	defer fd.DecRef(ctx)
	if err := wr(ctx, fd, ^uint64(0)); err != unix.EINVAL {
		t.Errorf("writing 2^64-1: %v", err)
	}
	if _, err := fd.Write(ctx, vfs.BytesIOSequence(make([]byte, 4))); err != unix.EINVAL {
		t.Errorf("short write: %v", err)
	}
	if _, err := fd.Read(ctx, vfs.BytesIOSequence(make([]byte, 7))); err != unix.EINVAL {
		t.Errorf("short read: %v", err)
	}
	if err := wr(ctx, fd, maxCount); err != nil {
		t.Fatal(err)
	}
	impl := fd.Impl().(*EventFD)
	if m := impl.Readiness(waiter.ReadableEvents | waiter.WritableEvents); m != waiter.ReadableEvents {
		t.Errorf("full counter readiness %#x", m)
	}
	if err := wr(ctx, fd, 1); err != unix.EAGAIN {
		t.Errorf("overflowing write: %v", err)
	}
	if err := wr(ctx, fd, 0); err != nil {
		t.Errorf("writing 0 to a full counter: %v", err)
	}
	if fd.StatusFlags()&linux.O_ACCMODE != linux.O_RDWR {
		t.Error("not O_RDWR")
	}
}

func TestBlockingReadWokenByWrite(t *testing.T) {
	ctx := context.Background()
	fd := newEFD(t, 0, 0)
	defer fd.DecRef(ctx)
	impl := fd.Impl().(*EventFD)
	got := make(chan uint64)
	go func() {
		v, _ := rd(ctx, fd)
		got <- v
	}()
	for impl.queue.Len() == 0 {
		// The reader registers before sleeping.
		select {
		case v := <-got:
			t.Fatalf("read returned %d before any write", v)
		default:
		}
	}
	if err := wr(ctx, fd, 5); err != nil {
		t.Fatal(err)
	}
	if v := <-got; v != 5 {
		t.Fatalf("blocked read got %d", v)
	}
}

func TestBlockingReadInterrupted(t *testing.T) {
	fd := newEFD(t, 0, 0)
	defer fd.DecRef(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := rd(ctx, fd); err != linux.ERESTARTSYS {
		t.Fatalf("interrupted read: %v", err)
	}
}

func TestReadinessNotifies(t *testing.T) {
	ctx := context.Background()
	fd := newEFD(t, 0, EFD_NONBLOCK)
	defer fd.DecRef(ctx)
	impl := fd.Impl().(*EventFD)
	if m := impl.Readiness(waiter.EventIn | waiter.EventOut); m != waiter.EventOut {
		t.Fatalf("empty readiness %#x", m)
	}
	e, ch := waiter.NewEntry(waiter.EventIn)
	impl.EventRegister(e)
	defer impl.EventUnregister(e)
	if err := wr(ctx, fd, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	default:
		t.Fatal("write did not notify EventIn")
	}
	if m := impl.Readiness(waiter.EventIn); m != waiter.EventIn {
		t.Fatalf("readiness %#x", m)
	}
}
