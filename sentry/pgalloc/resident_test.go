package pgalloc

import (
	"bytes"
	"testing"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

func TestResidentAndCommit(t *testing.T) {
	f := newTestFile(t)
	fr, err := f.Allocate(4 * linux.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	vec := make([]byte, 4)
	if err := f.Resident(fr, vec); err != nil || !bytes.Equal(vec, []byte{0, 0, 0, 0}) {
		t.Fatalf("fresh range: %v %v, want no resident pages", vec, err)
	}
	f.Slice(fr)[linux.PageSize+7] = 1
	if err := f.Resident(fr, vec); err != nil || !bytes.Equal(vec, []byte{0, 1, 0, 0}) {
		t.Errorf("after one write: %v %v", vec, err)
	}
	if err := f.Commit(fr); err != nil {
		t.Fatal(err)
	}
	if err := f.Resident(fr, vec); err != nil || !bytes.Equal(vec, []byte{1, 1, 1, 1}) {
		t.Errorf("after Commit: %v %v", vec, err)
	}
	if f.Slice(fr)[linux.PageSize+7] != 1 {
		t.Errorf("Commit changed contents")
	}
	if err := f.Resident(fr, vec[:2]); err == nil {
		t.Errorf("Resident with a short vector succeeded")
	}
	// Released pages go back to the host.
	f.DecRef(fr)
	fr2, err := f.Allocate(4 * linux.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	defer f.DecRef(fr2)
	if err := f.Resident(fr2, vec); err != nil || !bytes.Equal(vec, []byte{0, 0, 0, 0}) {
		t.Errorf("reallocated range: %v %v, want no resident pages", vec, err)
	}
}
