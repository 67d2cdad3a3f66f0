package epoll

import (
	"context"
	"github.com/palisade-sandbox/palisade/fsimpl/anon"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/fsimpl/eventfd"
	"github.com/palisade-sandbox/palisade/fsimpl/pipe"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/waiter"
)

var (
	ctx   = context.Background()
	creds = &vfs.Credentials{}
)

func newEP(t *testing.T, v *vfs.VirtualFilesystem) (*vfs.FileDescription, *EventPoll) {
	t.Helper()
	f, err := New(v, creds, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.DecRef(ctx) })
	return f, FromFile(f)
}

func newPipe(t *testing.T, v *vfs.VirtualFilesystem) (r, w *vfs.FileDescription) {
	t.Helper()
	r, w, err := pipe.NewPair(ctx, v, creds, 0)
	if err != nil {
		t.Fatal(err)
	}
	return r, w
}

func put(t *testing.T, w *vfs.FileDescription, s string) {
	t.Helper()
	if _, err := w.Write(ctx, vfs.BytesIOSequence(s)); err != nil {
		t.Fatal(err)
	}
}

func take(t *testing.T, r *vfs.FileDescription) {
	t.Helper()
	b := make([]byte, 100)
	if _, err := r.Read(ctx, vfs.BytesIOSequence(b)); err != nil {
		t.Fatal(err)
	}
}

func TestLevelTriggered(t *testing.T) {
	v := vfs.New()
	_, ep := newEP(t, v)
	r, w := newPipe(t, v)
	defer r.DecRef(ctx)
	defer w.DecRef(ctx)
	if err := ep.Add(r, 3, waiter.EventIn, 42); err != nil {
		t.Fatal(err)
	}
	if evs := ep.ReadEvents(8); len(evs) != 0 {
		t.Fatalf("empty pipe reported %v", evs)
	}
	put(t, w, "x")
	for i := 0; i < 3; i++ {
		evs := ep.ReadEvents(8)
		if len(evs) != 1 || evs[0].Events != waiter.EventIn || evs[0].Data != 42 {
			t.Fatalf("round %d: %v, want one EventIn with data 42", i, evs)
		}
	}
	take(t, r)
	if evs := ep.ReadEvents(8); len(evs) != 0 {
		t.Fatalf("drained pipe reported %v", evs)
	}
	if err := ep.Add(r, 3, waiter.EventIn, 0); err != unix.EEXIST {
		t.Errorf("second add: %v", err)
	}
	// The same description under another fd number is another item.
	if err := ep.Add(r, 4, waiter.EventIn, 0); err != nil {
		t.Errorf("add under another fd: %v", err)
	}
}

func TestEdgeTriggeredAndOneshot(t *testing.T) {
	v := vfs.New()
	_, ep := newEP(t, v)
	r, w := newPipe(t, v)
	defer r.DecRef(ctx)
	defer w.DecRef(ctx)
	if err := ep.Add(r, 3, waiter.EventIn|EPOLLET, 1); err != nil {
		t.Fatal(err)
	}
	put(t, w, "x")
	if evs := ep.ReadEvents(8); len(evs) != 1 {
		t.Fatalf("ET first: %v", evs)
	}
	if evs := ep.ReadEvents(8); len(evs) != 0 {
		t.Fatalf("ET reported twice without a new event: %v", evs)
	}
	put(t, w, "y")
	if evs := ep.ReadEvents(8); len(evs) != 1 {
		t.Fatalf("ET after a new write: %v", evs)
	}

	if err := ep.Modify(r, 3, waiter.EventIn|EPOLLONESHOT, 2); err != nil {
		t.Fatal(err)
	}
	if evs := ep.ReadEvents(8); len(evs) != 1 || evs[0].Data != 2 {
		t.Fatalf("oneshot first: %v", evs)
	}
	put(t, w, "z")
	if evs := ep.ReadEvents(8); len(evs) != 0 {
		t.Fatalf("disabled oneshot reported %v", evs)
	}
	if err := ep.Modify(r, 3, waiter.EventIn, 3); err != nil {
		t.Fatal(err)
	}
	if evs := ep.ReadEvents(8); len(evs) != 1 || evs[0].Data != 3 {
		t.Fatalf("re-armed: %v", evs)
	}
}

func TestDeleteAndErrors(t *testing.T) {
	v := vfs.New()
	epf, ep := newEP(t, v)
	r, w := newPipe(t, v)
	defer r.DecRef(ctx)
	defer w.DecRef(ctx)
	if err := ep.Delete(r, 3); err != unix.ENOENT {
		t.Errorf("delete of absent item: %v", err)
	}
	if err := ep.Modify(r, 3, waiter.EventIn, 0); err != unix.ENOENT {
		t.Errorf("modify of absent item: %v", err)
	}
	if err := ep.Add(epf, 5, waiter.EventIn, 0); err != unix.EINVAL {
		t.Errorf("adding itself: %v", err)
	}
	if err := ep.Add(r, 3, waiter.EventIn|EPOLLEXCLUSIVE|EPOLLONESHOT, 0); err != unix.EINVAL {
		t.Errorf("exclusive|oneshot: %v", err)
	}
	if err := ep.Add(r, 3, waiter.EventIn|EPOLLEXCLUSIVE, 0); err != nil {
		t.Fatal(err)
	}
	if err := ep.Modify(r, 3, waiter.EventIn, 0); err != unix.EINVAL {
		t.Errorf("modifying an exclusive item: %v", err)
	}
	if err := ep.Delete(r, 3); err != nil {
		t.Fatal(err)
	}
	put(t, w, "x")
	if evs := ep.ReadEvents(8); len(evs) != 0 {
		t.Fatalf("deleted item reported %v", evs)
	}
	// A file that cannot block is not Waitable: EPERM.
	vd := anon.NewVD(v, creds, "plain")
	plain := vfs.NewFileDescription(&vfs.FileDescriptionDefaultImpl{}, 0, vd, vfs.FileDescriptionOptions{})
	vd.DecRef()
	defer plain.DecRef(ctx)
	if err := ep.Add(plain, 7, waiter.EventIn, 0); err != unix.EPERM {
		t.Errorf("adding a non-pollable file: %v", err)
	}
}

func TestMaxEventsAndHangUp(t *testing.T) {
	v := vfs.New()
	_, ep := newEP(t, v)
	var ws []*vfs.FileDescription
	for i := 0; i < 3; i++ {
		r, w := newPipe(t, v)
		defer r.DecRef(ctx)
		ws = append(ws, w)
		if err := ep.Add(r, int32(10+i), waiter.EventIn, uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range ws {
		w.DecRef(ctx) // writer gone: EPOLLHUP, reported although not asked
	}
	evs := ep.ReadEvents(2)
	if len(evs) != 2 {
		t.Fatalf("max 2: got %v", evs)
	}
	seen := map[uint64]bool{}
	for _, e := range evs {
		if e.Events != waiter.EventHUp {
			t.Errorf("events %#x, want EventHUp", e.Events)
		}
		seen[e.Data] = true
	}
	evs = ep.ReadEvents(8)
	if len(evs) != 3 {
		t.Fatalf("level-triggered HUP: got %v", evs)
	}
	for _, e := range evs {
		seen[e.Data] = true
	}
	if len(seen) != 3 {
		t.Errorf("items reported: %v", seen)
	}
}

func TestReleasedFileDropped(t *testing.T) {
	v := vfs.New()
	_, ep := newEP(t, v)
	e, err := eventfd.New(v, creds, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := ep.Add(e, 3, waiter.EventIn, 0); err != nil {
		t.Fatal(err)
	}
	impl := e.Impl().(waiter.Waitable)
	e.DecRef(ctx)
	if evs := ep.ReadEvents(8); len(evs) != 0 {
		t.Fatalf("released file reported %v", evs)
	}
	ep.ctlMu.Lock()
	n := len(ep.items)
	ep.ctlMu.Unlock()
	if n != 0 {
		t.Errorf("%d items left after the file's release", n)
	}
	// Its entry is gone from the file's queue.
	if m := impl.Readiness(waiter.EventIn); m != waiter.EventIn {
		t.Fatalf("eventfd readiness %#x", m)
	}
}

func TestWaitBlocksUntilEvent(t *testing.T) {
	v := vfs.New()
	_, ep := newEP(t, v)
	r, w := newPipe(t, v)
	defer r.DecRef(ctx)
	defer w.DecRef(ctx)
	if err := ep.Add(r, 3, waiter.EventIn, 9); err != nil {
		t.Fatal(err)
	}
	got := make(chan []Event)
	go func() {
		evs, _ := ep.Wait(ctx, 4, -1)
		got <- evs
	}()
	for ep.queue.Len() == 0 {
		select {
		case evs := <-got:
			t.Fatalf("Wait returned %v before any event", evs)
		default:
		}
	}
	put(t, w, "x")
	if evs := <-got; len(evs) != 1 || evs[0].Data != 9 {
		t.Fatalf("woken with %v", evs)
	}
	if evs, err := ep.Wait(ctx, 4, time.Nanosecond); len(evs) != 1 || err != nil {
		t.Fatalf("level-triggered wait: %v %v", evs, err)
	}
	take(t, r)
	if evs, err := ep.Wait(ctx, 4, time.Millisecond); len(evs) != 0 || err != nil {
		t.Fatalf("timed out wait: %v %v", evs, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ep.Wait(cctx, 4, -1); err != unix.EINTR {
		t.Fatalf("interrupted wait: %v", err)
	}
}

func TestNesting(t *testing.T) {
	v := vfs.New()
	af, a := newEP(t, v)
	bf, b := newEP(t, v)
	r, w := newPipe(t, v)
	defer r.DecRef(ctx)
	defer w.DecRef(ctx)
	if err := b.Add(r, 3, waiter.EventIn, 0); err != nil {
		t.Fatal(err)
	}
	if err := a.Add(bf, 4, waiter.EventIn, 77); err != nil {
		t.Fatal(err)
	}
	if err := b.Add(af, 5, waiter.EventIn, 0); err != unix.ELOOP {
		t.Errorf("loop: %v", err)
	}
	if evs := a.ReadEvents(8); len(evs) != 0 {
		t.Fatalf("outer ready too early: %v", evs)
	}
	put(t, w, "x")
	evs := a.ReadEvents(8)
	if len(evs) != 1 || evs[0].Data != 77 || evs[0].Events != waiter.EventIn {
		t.Fatalf("outer: %v", evs)
	}
	if m := a.Readiness(waiter.EventIn); m != waiter.EventIn {
		t.Errorf("outer readiness %#x", m)
	}
	// A chain deeper than EP_MAX_NESTS is refused.
	prevf := af
	var err error
	for i := 0; i < 6 && err == nil; i++ {
		nf, n := newEP(t, v)
		err = n.Add(prevf, 9, waiter.EventIn, 0)
		prevf = nf
	}
	if err != unix.ELOOP {
		t.Errorf("deep chain: %v", err)
	}
}

func TestReleasedItemsSweptOnAdd(t *testing.T) {
	v := vfs.New()
	_, ep := newEP(t, v)
	for i := 0; i < 1000; i++ {
		e, err := eventfd.New(v, creds, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := ep.Add(e, 3, waiter.EventIn, 0); err != nil {
			t.Fatal(err)
		}
		e.DecRef(ctx) // closed without EPOLL_CTL_DEL
	}
	ep.ctlMu.Lock()
	n := len(ep.items)
	ep.ctlMu.Unlock()
	if n > 2*minSweep {
		t.Fatalf("%d items kept for 1000 released files", n)
	}
}

func TestWideNestingCheckIsLinear(t *testing.T) {
	// Three layers of 30 instances, each watching every instance of the
	// layer below: 27000 paths, 90 instances. Adding one more on top
	// must not walk every path.
	v := vfs.New()
	var below []*vfs.FileDescription
	for layer := 0; layer < 3; layer++ {
		var cur []*vfs.FileDescription
		for i := 0; i < 30; i++ {
			f, ep := newEP(t, v)
			for j, b := range below {
				if err := ep.Add(b, int32(j), waiter.EventIn, 0); err != nil {
					t.Fatalf("layer %d: %v", layer, err)
				}
			}
			cur = append(cur, f)
		}
		below = cur
	}
	topf, top := newEP(t, v)
	for j, b := range below {
		if err := top.Add(b, int32(j), waiter.EventIn, 0); err != nil {
			t.Fatal(err)
		}
	}
	// Depths through the diamonds: top is 3 deep, one more level is 4
	// (EP_MAX_NESTS), a fifth is ELOOP.
	f4, e4 := newEP(t, v)
	if err := e4.Add(topf, 1, waiter.EventIn, 0); err != nil {
		t.Fatalf("fourth level: %v", err)
	}
	_, e5 := newEP(t, v)
	if err := e5.Add(f4, 1, waiter.EventIn, 0); err != unix.ELOOP {
		t.Fatalf("fifth level: %v, want ELOOP", err)
	}
}
