package pgalloc

import (
	"testing"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

func newTestFile(t *testing.T) *MemoryFile {
	t.Helper()
	f, err := New("pgalloc-test", 1<<30)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestAllocateZeroedAndWritable(t *testing.T) {
	f := newTestFile(t)
	fr, err := f.Allocate(4 * linux.PageSize)
	if err != nil {
		t.Fatalf("Allocate: %v", err)
	}
	b := f.Slice(fr)
	for i, c := range b {
		if c != 0 {
			t.Fatalf("byte %d = %#x, want 0", i, c)
		}
	}
	b[0], b[len(b)-1] = 1, 2
	if got := f.Usage(); got != 4*linux.PageSize {
		t.Errorf("Usage = %d, want %d", got, 4*linux.PageSize)
	}
	if rc := f.RefCount(fr.Start); rc != 1 {
		t.Errorf("RefCount = %d, want 1", rc)
	}
}

func TestAllocateBadLength(t *testing.T) {
	f := newTestFile(t)
	for _, n := range []uint64{0, 1, linux.PageSize + 1} {
		if _, err := f.Allocate(n); err == nil {
			t.Errorf("Allocate(%d) succeeded", n)
		}
	}
	if _, err := f.Allocate(2 << 30); err != ErrNoMemory {
		t.Errorf("Allocate(2 GiB) of a 1 GiB file: err = %v, want ErrNoMemory", err)
	}
}

func TestPartialRefsAndReuse(t *testing.T) {
	f := newTestFile(t)
	fr, err := f.Allocate(8 * linux.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	mid := FileRange{fr.Start + 2*linux.PageSize, fr.Start + 4*linux.PageSize}
	f.IncRef(mid)
	if rc := f.RefCount(mid.Start); rc != 2 {
		t.Fatalf("RefCount(mid) = %d, want 2", rc)
	}
	if rc := f.RefCount(fr.Start); rc != 1 {
		t.Fatalf("RefCount(start) = %d, want 1", rc)
	}
	// Write through the shared middle, then drop the original.
	f.Slice(mid)[0] = 0xaa
	f.DecRef(fr)
	if rc := f.RefCount(mid.Start); rc != 1 {
		t.Fatalf("after DecRef(all): RefCount(mid) = %d, want 1", rc)
	}
	if rc := f.RefCount(fr.Start); rc != 0 {
		t.Fatalf("after DecRef(all): RefCount(start) = %d, want 0", rc)
	}
	if got := f.Usage(); got != 2*linux.PageSize {
		t.Errorf("Usage = %d, want %d", got, 2*linux.PageSize)
	}
	if f.Slice(mid)[0] != 0xaa {
		t.Errorf("shared page lost its contents")
	}
	// Freed pages are reused and read as zero again.
	again, err := f.Allocate(2 * linux.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	if again.Start != fr.Start {
		t.Errorf("reallocation at %#x, want reuse of %#x", again.Start, fr.Start)
	}
	for i, c := range f.Slice(again) {
		if c != 0 {
			t.Fatalf("reused byte %d = %#x, want 0", i, c)
		}
	}
	f.DecRef(mid)
	f.DecRef(again)
	if got := f.Usage(); got != 0 {
		t.Errorf("Usage = %d after freeing everything", got)
	}
}

func TestPunchedPagesReadZero(t *testing.T) {
	f := newTestFile(t)
	fr, err := f.Allocate(linux.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	b := f.Slice(fr)
	b[100] = 7
	f.DecRef(fr)
	if b[100] != 0 {
		t.Errorf("freed page still holds data: %d", b[100])
	}
}

func TestRefMerging(t *testing.T) {
	f := newTestFile(t)
	a, _ := f.Allocate(linux.PageSize)
	b, _ := f.Allocate(linux.PageSize)
	if a.End != b.Start {
		t.Skip("allocations not adjacent")
	}
	f.mu.Lock()
	n := len(f.refs)
	f.mu.Unlock()
	if n != 1 {
		t.Errorf("adjacent equal-count ranges not merged: %d segments", n)
	}
	f.IncRef(b)
	f.DecRef(b)
	f.mu.Lock()
	n = len(f.refs)
	f.mu.Unlock()
	if n != 1 {
		t.Errorf("segments not re-merged after IncRef/DecRef: %d", n)
	}
}
