package mm

import (
	"bytes"
	"testing"

	"github.com/palisade-sandbox/palisade/platform"
	"golang.org/x/sys/unix"
)

// sharedFile is a fakeFile that may be mapped shared: descriptions of the
// same file share a key and record their writes.
type sharedFile struct {
	*fakeFile
	key      *int
	writable bool
	writes   [][2]int64 // offset, length
}

func (f *sharedFile) Key() any       { return f.key }
func (f *sharedFile) Writable() bool { return f.writable }

func (f *sharedFile) WriteAt(off int64, src []byte) (int, error) {
	f.writes = append(f.writes, [2]int64{off, int64(len(src))})
	if end := int(off) + len(src); end > len(f.data) {
		f.data = append(f.data, make([]byte, end-len(f.data))...)
	}
	return copy(f.data[off:], src), nil
}

func sharedOpts(f *sharedFile, length uintptr, perms platform.AccessType) MMapOpts {
	maxPerms := platform.AnyAccess
	maxPerms.Write = f.writable
	return MMapOpts{Length: length, Perms: perms, Mappable: f, MaxPerms: maxPerms}
}

// secondMM returns another address space on m's memory file, released at
// the end of the test before m's cleanup checks usage.
func secondMM(t *testing.T, m *MemoryManager) (*MemoryManager, *fakeAS) {
	as := &fakeAS{}
	m2 := New(m.mf, as, testMin, testMax)
	m2.SetLayout(testMax, DefaultStackSize, 0)
	t.Cleanup(m2.DecUsers)
	return m2, as
}

func TestSharedFileMappingSharesAndWritesBack(t *testing.T) {
	m, _ := newTestMM(t)
	m2, _ := secondMM(t, m)
	data := pattern(3 * pg)
	ff := &fakeFile{data: append([]byte(nil), data...)}
	key := new(int)
	w := &sharedFile{fakeFile: ff, key: key, writable: true}
	r := &sharedFile{fakeFile: ff, key: key} // another, read-only description
	a := mustMap(t, m, sharedOpts(w, 3*pg, platform.ReadWrite))
	b := mustMap(t, m2, sharedOpts(r, 3*pg, platform.Read))
	if got := read(t, m2, b+pg, 4); got != string(data[pg:pg+4]) {
		t.Fatalf("read-only mapping reads %q, want the file", got)
	}
	write(t, m, a+pg, "SHRD")
	if got := read(t, m2, b+pg, 4); got != "SHRD" {
		t.Errorf("other address space reads %q, want the shared write", got)
	}
	if !bytes.Equal(ff.data, data) {
		t.Errorf("file changed before msync")
	}
	if errno := m.Msync(a, 3*pg, unix.MS_SYNC); errno != 0 {
		t.Fatal(errno)
	}
	if string(ff.data[pg:pg+4]) != "SHRD" {
		t.Errorf("file after msync holds %q", ff.data[pg:pg+4])
	}
	// Only the dirty page was written, through the writable description.
	if len(w.writes) != 1 || w.writes[0] != [2]int64{pg, pg} || len(r.writes) != 0 {
		t.Errorf("writes %v / %v, want one page at %#x", w.writes, r.writes, pg)
	}
	// munmap writes back too.
	write(t, m, a+2*pg, "UNMP")
	if errno := m.MUnmap(a, 3*pg); errno != 0 {
		t.Fatal(errno)
	}
	if string(ff.data[2*pg:2*pg+4]) != "UNMP" {
		t.Errorf("file after munmap holds %q", ff.data[2*pg:2*pg+4])
	}
	// The other mapping still sees everything.
	if got := read(t, m2, b+2*pg, 4); got != "UNMP" {
		t.Errorf("remaining mapping reads %q", got)
	}
}

func TestSharedFileMappingDirtyTracking(t *testing.T) {
	m, as := newTestMM(t)
	ff := &fakeFile{data: pattern(2*pg + 100)}
	f := &sharedFile{fakeFile: ff, key: new(int), writable: true}
	a := mustMap(t, m, sharedOpts(f, 4*pg, platform.ReadWrite))
	// A read fault maps read-only; a write fault maps the page writable.
	if errno := m.HandleFault(a, platform.Read); errno != 0 {
		t.Fatal(errno)
	}
	if errno := m.HandleFault(a+pg, platform.AccessType{Write: true}); errno != 0 {
		t.Fatal(errno)
	}
	want := []string{hex(a) + "+0x3000 1", hex(a) + "+0x1000 1", hex(a+pg) + "+0x1000 3", hex(a+2*pg) + "+0x1000 1"}
	if got := as.maps; len(got) != 4 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Errorf("platform maps %v, want %v", got, want)
	}
	// Pages wholly past EOF are SIGBUS.
	if errno := m.HandleFault(a+3*pg, platform.Read); errno != unix.ENOMEM {
		t.Errorf("fault past EOF = %v, want ENOMEM (SIGBUS)", errno)
	}
	// Write-back of the EOF page stops at EOF: the file never grows.
	write(t, m, a+2*pg+10, "tail")
	if errno := m.Msync(a, 4*pg, unix.MS_ASYNC); errno != 0 {
		t.Fatal(errno)
	}
	if len(ff.data) != 2*pg+100 || string(ff.data[2*pg+10:2*pg+14]) != "tail" {
		t.Errorf("file is %d bytes, tail %q", len(ff.data), ff.data[2*pg+10:2*pg+14])
	}
	// The page that was only read is not written back.
	for _, w := range f.writes {
		if w[0] == 0 {
			t.Errorf("clean page 0 written back: %v", f.writes)
		}
	}
}

func TestSharedFileMappingForkAndRelease(t *testing.T) {
	m, _ := newTestMM(t)
	ff := &fakeFile{data: pattern(pg)}
	f := &sharedFile{fakeFile: ff, key: new(int), writable: true}
	a := mustMap(t, m, sharedOpts(f, pg, platform.ReadWrite))
	c, err := m.Fork(&fakeAS{})
	if err != nil {
		t.Fatal(err)
	}
	write(t, c, a, "kid")
	if got := read(t, m, a, 3); got != "kid" {
		t.Errorf("parent reads %q after the child's write", got)
	}
	// The child's exit writes back.
	c.DecUsers()
	if string(ff.data[:3]) != "kid" {
		t.Errorf("file after the child's exit holds %q", ff.data[:3])
	}
	sharedFiles.mu.Lock()
	_, ok := sharedFiles.m[sharedFileKey{m.mf, f.key}]
	sharedFiles.mu.Unlock()
	if !ok {
		t.Errorf("the parent's mapping lost its shared object")
	}
}

func TestSharedFileObjectFreedWithLastMapping(t *testing.T) {
	m, _ := newTestMM(t)
	ff := &fakeFile{data: pattern(pg)}
	f := &sharedFile{fakeFile: ff, key: new(int), writable: true}
	a := mustMap(t, m, sharedOpts(f, pg, platform.ReadWrite))
	write(t, m, a, "x")
	if errno := m.MUnmap(a, pg); errno != 0 {
		t.Fatal(errno)
	}
	sharedFiles.mu.Lock()
	_, ok := sharedFiles.m[sharedFileKey{m.mf, f.key}]
	sharedFiles.mu.Unlock()
	if ok || ff.refs != 0 || m.mf.Usage() != 0 {
		t.Errorf("after the last munmap: registered %v, file refs %d, usage %d", ok, ff.refs, m.mf.Usage())
	}
}
