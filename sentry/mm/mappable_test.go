package mm

import (
	"bytes"
	"errors"
	"testing"

	"github.com/palisade-sandbox/palisade/platform"
	"golang.org/x/sys/unix"
)

// fakeFile is an in-memory Mappable that records its reads and references.
type fakeFile struct {
	data  []byte
	refs  int
	reads [][2]int64 // offset, length asked
	err   error
}

func (f *fakeFile) ReadAt(off int64, dst []byte) (int, error) {
	f.reads = append(f.reads, [2]int64{off, int64(len(dst))})
	if f.err != nil {
		return 0, f.err
	}
	if off >= int64(len(f.data)) {
		return 0, nil
	}
	return copy(dst, f.data[off:]), nil
}

func (f *fakeFile) IncRef() { f.refs++ }
func (f *fakeFile) DecRef() { f.refs-- }

// pattern returns n bytes that differ from page to page and from zero.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i%251) + 1
	}
	return b
}

func fileOpts(f *fakeFile, addr, length uintptr, off uint64, perms platform.AccessType) MMapOpts {
	return MMapOpts{Length: length, Addr: addr, Fixed: true, Perms: perms, Private: true,
		Mappable: f, Offset: off, MaxPerms: platform.AnyAccess}
}

func TestFileMappingReadsFile(t *testing.T) {
	m, _ := newTestMM(t)
	f := &fakeFile{data: pattern(10 * pg)}
	const A = 0x700000000
	mustMap(t, m, fileOpts(f, A, 4*pg, 2*pg, platform.Read))
	got := make([]byte, 4*pg)
	if _, err := m.CopyIn(A, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, f.data[2*pg:6*pg]) {
		t.Error("mapping content differs from the file at offset 2 pages")
	}
	// The whole small VMA was read in one call.
	if len(f.reads) != 1 || f.reads[0] != [2]int64{2 * pg, 4 * pg} {
		t.Errorf("reads = %v, want one read of 4 pages at 2 pages", f.reads)
	}
}

func TestFileMappingFaultAroundReadsChunk(t *testing.T) {
	m, as := newTestMM(t)
	f := &fakeFile{data: pattern(1 << 20)}
	const A = 0x700000000
	mustMap(t, m, fileOpts(f, A, 1<<20, 0, platform.ReadExec))
	if errno := m.HandleFault(A+0x12345, platform.Read); errno != 0 {
		t.Fatalf("HandleFault: %v", errno)
	}
	if len(f.reads) != 1 || f.reads[0] != [2]int64{0x10000, faultAroundSize} {
		t.Errorf("reads = %v, want one read of %#x at 0x10000", f.reads, faultAroundSize)
	}
	if len(as.maps) != 1 {
		t.Errorf("maps = %v, want one", as.maps)
	}
	got := make([]byte, 16)
	if _, err := m.CopyIn(A+0x12345, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, f.data[0x12345:0x12345+16]) {
		t.Errorf("faulted page content %x, want %x", got, f.data[0x12345:0x12345+16])
	}
	if len(f.reads) != 1 {
		t.Errorf("a second read for an already filled page: %v", f.reads)
	}
}

func TestFileMappingPrivateWrite(t *testing.T) {
	m, _ := newTestMM(t)
	f := &fakeFile{data: pattern(2 * pg)}
	orig := append([]byte(nil), f.data...)
	const A = 0x700000000
	mustMap(t, m, fileOpts(f, A, 2*pg, 0, platform.ReadWrite))
	if _, err := m.CopyOut(A+10, []byte("private")); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.data, orig) {
		t.Error("a private write changed the file")
	}
	got := make([]byte, 20)
	if _, err := m.CopyIn(A, got); err != nil {
		t.Fatal(err)
	}
	want := append(append(append([]byte(nil), orig[:10]...), "private"...), orig[17:20]...)
	if !bytes.Equal(got, want) {
		t.Errorf("mapping = %q, want %q", got, want)
	}
}

func TestFileMappingPastEOF(t *testing.T) {
	m, _ := newTestMM(t)
	f := &fakeFile{data: pattern(pg + 100)}
	const A = 0x700000000
	mustMap(t, m, fileOpts(f, A, 3*pg, 0, platform.Read))
	// The page holding EOF reads the file, then zeroes.
	got := make([]byte, 2*pg)
	n, err := m.CopyIn(A, got)
	if n != 2*pg || err != nil {
		t.Fatalf("CopyIn of the pages up to EOF = %d, %v", n, err)
	}
	if !bytes.Equal(got[:pg+100], f.data) {
		t.Error("content before EOF differs from the file")
	}
	if !bytes.Equal(got[pg+100:], make([]byte, pg-100)) {
		t.Error("bytes past EOF in the last page are not zero")
	}
	// A page wholly past EOF is SIGBUS for the guest, EFAULT for the
	// Sentry, and holds no memory.
	if errno := m.HandleFault(A+2*pg, platform.Read); errno != unix.ENOMEM {
		t.Errorf("fault past EOF = %v, want ENOMEM (SIGBUS)", errno)
	}
	if errno := m.HandleFault(A+pg+200, platform.Read); errno != 0 {
		t.Errorf("fault in the EOF page = %v", errno)
	}
	if n, err := m.CopyIn(A+2*pg-10, make([]byte, 20)); n != 10 || err != unix.EFAULT {
		t.Errorf("CopyIn across EOF = %d, %v; want 10, EFAULT", n, err)
	}
	if r := m.ResidentSize(); r != 2*pg {
		t.Errorf("resident %d, want %d", r, 2*pg)
	}
	// When the file grows, the page becomes valid.
	f.data = append(f.data, pattern(2*pg)...)
	if errno := m.HandleFault(A+2*pg, platform.Read); errno != 0 {
		t.Errorf("fault after the file grew = %v", errno)
	}
}

func TestFileMappingReadErrorIsSIGBUS(t *testing.T) {
	m, _ := newTestMM(t)
	f := &fakeFile{data: pattern(pg), err: errors.New("I/O error")}
	const A = 0x700000000
	mustMap(t, m, fileOpts(f, A, pg, 0, platform.Read))
	if errno := m.HandleFault(A, platform.Read); errno != unix.ENOMEM {
		t.Errorf("fault with a failing read = %v, want ENOMEM (SIGBUS)", errno)
	}
}

func TestFileMappingReferences(t *testing.T) {
	m, _ := newTestMM(t)
	f := &fakeFile{data: pattern(8 * pg)}
	const A = 0x700000000
	mustMap(t, m, fileOpts(f, A, 8*pg, 0, platform.Read))
	if f.refs != 1 {
		t.Fatalf("refs after mmap = %d, want 1", f.refs)
	}
	// Splitting by mprotect and merging back keep one reference per VMA.
	if errno := m.MProtect(A+2*pg, 2*pg, 3); errno != 0 {
		t.Fatal(errno)
	}
	if f.refs != 3 || len(m.VMAs()) != 3 {
		t.Fatalf("after mprotect: refs %d, VMAs %s; want 3 of each", f.refs, vmaString(m))
	}
	// The middle piece still maps the right file offset.
	got := make([]byte, 8)
	if _, err := m.CopyIn(A+3*pg, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, f.data[3*pg:3*pg+8]) {
		t.Error("split VMA maps the wrong file offset")
	}
	if errno := m.MProtect(A+2*pg, 2*pg, 1); errno != 0 {
		t.Fatal(errno)
	}
	if f.refs != 1 || len(m.VMAs()) != 1 {
		t.Fatalf("after merging back: refs %d, VMAs %s; want 1 of each", f.refs, vmaString(m))
	}
	// A hole punched by munmap leaves two VMAs; unmapping all drops all.
	if errno := m.MUnmap(A+pg, pg); errno != 0 {
		t.Fatal(errno)
	}
	if f.refs != 2 {
		t.Fatalf("refs after punching a hole = %d, want 2", f.refs)
	}
	if errno := m.MUnmap(A, 8*pg); errno != 0 {
		t.Fatal(errno)
	}
	if f.refs != 0 {
		t.Fatalf("refs after munmap = %d, want 0", f.refs)
	}
	// Mappings at adjacent addresses but not adjacent file offsets do
	// not merge; the address space's release drops their references.
	mustMap(t, m, fileOpts(f, A, pg, 0, platform.Read))
	mustMap(t, m, fileOpts(f, A+pg, pg, 4*pg, platform.Read))
	if len(m.VMAs()) != 2 || f.refs != 2 {
		t.Fatalf("VMAs %s refs %d; want 2 unmerged", vmaString(m), f.refs)
	}
	m.DecUsers()
	m.IncUsers() // newTestMM's cleanup drops the last user again.
	if f.refs != 0 {
		t.Errorf("refs after release = %d, want 0", f.refs)
	}
}

func TestFileMappingErrors(t *testing.T) {
	m, _ := newTestMM(t)
	f := &fakeFile{data: pattern(pg)}
	const A = 0x700000000
	opts := fileOpts(f, A, pg, 100, platform.Read)
	if _, errno := m.MMap(opts); errno != unix.EINVAL {
		t.Errorf("unaligned offset = %v, want EINVAL", errno)
	}
	opts = fileOpts(f, A, 2*pg, 1<<63-pg, platform.Read)
	if _, errno := m.MMap(opts); errno != unix.EOVERFLOW {
		t.Errorf("offset overflow = %v, want EOVERFLOW", errno)
	}
	opts = fileOpts(f, A, pg, 0, platform.ReadWrite)
	opts.MaxPerms = platform.ReadExec
	if _, errno := m.MMap(opts); errno != unix.EACCES {
		t.Errorf("perms beyond MaxPerms = %v, want EACCES", errno)
	}
	opts.Perms = platform.Read
	mustMap(t, m, opts)
	if errno := m.MProtect(A, pg, 3); errno != unix.EACCES {
		t.Errorf("mprotect to write beyond MaxPerms = %v, want EACCES", errno)
	}
	if f.refs != 1 {
		t.Errorf("refs = %d, want 1 (failed mmaps take none)", f.refs)
	}
}
