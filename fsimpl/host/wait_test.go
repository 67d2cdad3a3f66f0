package host_test

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/fsimpl/host"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/waiter"
)

// goroutinesBack waits (yielding) until the goroutine count is back to n.
func goroutinesBack(t *testing.T, n int) {
	t.Helper()
	for i := 0; runtime.NumGoroutine() > n; i++ {
		if i > 1_000_000 {
			t.Fatalf("%d goroutines, want %d", runtime.NumGoroutine(), n)
		}
		runtime.Gosched()
	}
}

func TestHostWatchFiresAndEnds(t *testing.T) {
	ctx := context.Background()
	v := vfs.New()
	hr, hw := pipe(t)
	defer unix.Close(hw)
	r := newFD(t, v, hr)
	defer r.DecRef(ctx)
	h := r.Impl().(*host.FD)
	var _ waiter.Waitable = h

	base := runtime.NumGoroutine()
	e, ch := waiter.NewEntry(waiter.EventIn)
	h.EventRegister(e)
	if h.Readiness(waiter.EventIn) != 0 {
		t.Fatal("empty pipe readable")
	}
	// Drain a possible notification from registration time.
	select {
	case <-ch:
	default:
	}
	if _, err := unix.Write(hw, []byte("a")); err != nil {
		t.Fatal(err)
	}
	<-ch // must fire: blocks (and the test times out) otherwise
	if h.Readiness(waiter.EventIn) != waiter.EventIn {
		t.Fatal("not readable after write")
	}
	// Edge-triggered: each new write fires again although the pipe
	// stayed readable.
	if _, err := unix.Write(hw, []byte("b")); err != nil {
		t.Fatal(err)
	}
	<-ch
	h.EventUnregister(e)
	goroutinesBack(t, base)
	if _, err := unix.Write(hw, []byte("c")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
		t.Fatal("fired after EventUnregister")
	default:
	}
}

func TestHostWatchHangUp(t *testing.T) {
	ctx := context.Background()
	v := vfs.New()
	hr, hw := pipe(t)
	r := newFD(t, v, hr)
	defer r.DecRef(ctx)
	h := r.Impl().(*host.FD)
	e, ch := waiter.NewEntry(waiter.EventIn)
	h.EventRegister(e)
	defer h.EventUnregister(e)
	unix.Close(hw)
	<-ch
	if got := h.Readiness(waiter.EventIn); got&waiter.EventHUp == 0 {
		t.Fatalf("readiness after writer closed %#x, want EventHUp", got)
	}
}

func TestHostWatchEndsOnRelease(t *testing.T) {
	ctx := context.Background()
	v := vfs.New()
	hr, hw := pipe(t)
	defer unix.Close(hw)
	base := runtime.NumGoroutine()
	r := newFD(t, v, hr)
	h := r.Impl().(*host.FD)
	e, _ := waiter.NewEntry(waiter.EventIn)
	h.EventRegister(e)
	r.DecRef(ctx)
	goroutinesBack(t, base)
	if isOpen(hr) {
		t.Error("host fd still open after release")
	}
	h.EventUnregister(e) // harmless after release
}

func TestHostRegularFileAlwaysReady(t *testing.T) {
	ctx := context.Background()
	v := vfs.New()
	hfd, err := unix.Open(filepath.Join(t.TempDir(), "f"), unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f := newFD(t, v, hfd)
	defer f.DecRef(ctx)
	h := f.Impl().(*host.FD)
	want := waiter.EventIn | waiter.EventOut
	if got := h.Readiness(want); got != want {
		t.Errorf("regular file readiness %#x, want %#x", got, want)
	}
	base := runtime.NumGoroutine()
	e, _ := waiter.NewEntry(waiter.EventIn)
	h.EventRegister(e)
	if n := runtime.NumGoroutine(); n > base {
		t.Errorf("a regular file registration started %d goroutines", n-base)
	}
	h.EventUnregister(e)
}
