// Package pgalloc is the Sentry's memory file: the one host memfd that holds
// all guest memory. The file is sized large and sparse (host pages exist only
// once written) and mapped once, shared, into the Sentry, so the Sentry reads
// and writes guest memory as plain Go byte slices; stub processes map ranges
// of the same file (platform.AddressSpace.MapFile with FD) at guest
// addresses, so both see the same pages.
//
// Allocate hands out page-aligned, zero-filled file ranges with a reference
// count of one. Counts are kept per byte range, not per allocation, so a
// caller can take or drop references on any sub-range (a partial munmap, or
// fork sharing pages copy-on-write). When a range's count reaches zero its
// pages go back to the host (fallocate PUNCH_HOLE|KEEP_SIZE, which also makes
// them read as zero again) and the range is reused by later allocations.
package pgalloc

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"golang.org/x/sys/unix"
)

// DefaultSize is the default (sparse) size of the memory file.
const DefaultSize = 64 << 30

// ErrNoMemory is returned when the memory file has no room left.
var ErrNoMemory = errors.New("pgalloc: memory file exhausted")

// FileRange is a range [Start, End) of offsets in the memory file.
type FileRange struct {
	Start uint64
	End   uint64
}

// Length returns the range's length in bytes.
func (fr FileRange) Length() uint64 { return fr.End - fr.Start }

// refSeg is a range of the file with one reference count.
type refSeg struct {
	FileRange
	refs int64
}

// MemoryFile is the memory file.
type MemoryFile struct {
	fd      int
	size    uint64
	mapping []byte

	// mu guards next, free, refs and usage.
	mu sync.Mutex
	// next is the lowest offset never yet allocated.
	next uint64
	// free holds released ranges below next, sorted and coalesced.
	free []FileRange
	// refs holds every allocated range with its count, sorted and
	// non-overlapping; adjacent segments with equal counts are merged.
	refs []refSeg
	// usage is the number of allocated bytes.
	usage uint64
}

// New creates a memory file of size bytes (rounded up to a page) named name
// (visible in /proc/PID/fd and maps of the host).
func New(name string, size uint64) (*MemoryFile, error) {
	if size == 0 || size > 1<<46 {
		return nil, fmt.Errorf("pgalloc: invalid memory file size %d", size)
	}
	size = (size + linux.PageSize - 1) &^ (linux.PageSize - 1)
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("pgalloc: memfd_create: %w", err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("pgalloc: sizing memory file to %d bytes: %w", size, err)
	}
	m, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_NORESERVE)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("pgalloc: mapping memory file: %w", err)
	}
	return &MemoryFile{fd: fd, size: size, mapping: m}, nil
}

// FD returns the memory file's host descriptor, for MapFile.
func (f *MemoryFile) FD() int { return f.fd }

// Size returns the memory file's size.
func (f *MemoryFile) Size() uint64 { return f.size }

// Close unmaps and closes the memory file. No range may be in use.
func (f *MemoryFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd < 0 {
		return nil
	}
	err := unix.Munmap(f.mapping)
	if cerr := unix.Close(f.fd); err == nil {
		err = cerr
	}
	f.mapping = nil
	f.fd = -1
	return err
}

// Usage returns the number of bytes currently allocated.
func (f *MemoryFile) Usage() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.usage
}

// Slice returns the Sentry's view of fr: writes to it are writes to guest
// memory. fr must be allocated and inside the file.
func (f *MemoryFile) Slice(fr FileRange) []byte {
	return f.mapping[fr.Start:fr.End:fr.End]
}

// Allocate returns a zero-filled range of length bytes (a positive multiple
// of the page size) with a reference count of one.
func (f *MemoryFile) Allocate(length uint64) (FileRange, error) {
	if length == 0 || length%linux.PageSize != 0 {
		return FileRange{}, fmt.Errorf("pgalloc: invalid allocation length %#x", length)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd < 0 {
		return FileRange{}, errors.New("pgalloc: memory file closed")
	}
	var fr FileRange
	found := false
	for i, r := range f.free {
		if r.Length() >= length {
			fr = FileRange{r.Start, r.Start + length}
			if r.Length() == length {
				f.free = append(f.free[:i], f.free[i+1:]...)
			} else {
				f.free[i].Start += length
			}
			found = true
			break
		}
	}
	if !found {
		if length > f.size-f.next {
			return FileRange{}, ErrNoMemory
		}
		fr = FileRange{f.next, f.next + length}
		f.next += length
	}
	f.insertRef(refSeg{fr, 1})
	f.usage += length
	return fr, nil
}

// IncRef takes a reference on every page of fr, which must be allocated.
func (f *MemoryFile) IncRef(fr FileRange) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.adjust(fr, +1)
}

// DecRef drops a reference on every page of fr; pages whose count reaches
// zero are returned to the host.
func (f *MemoryFile) DecRef(fr FileRange) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.adjust(fr, -1)
}

// RefCount returns the reference count at offset off (0 if unallocated).
func (f *MemoryFile) RefCount(off uint64) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.findRef(off)
	if i < len(f.refs) && f.refs[i].Start <= off {
		return f.refs[i].refs
	}
	return 0
}

// findRef returns the index of the first segment whose End is above off.
func (f *MemoryFile) findRef(off uint64) int {
	return sort.Search(len(f.refs), func(i int) bool { return f.refs[i].End > off })
}

// splitAt makes off a segment boundary if it falls inside a segment.
func (f *MemoryFile) splitAt(off uint64) {
	i := f.findRef(off)
	if i == len(f.refs) || f.refs[i].Start >= off {
		return
	}
	s := f.refs[i]
	f.refs = append(f.refs, refSeg{})
	copy(f.refs[i+2:], f.refs[i+1:])
	f.refs[i] = refSeg{FileRange{s.Start, off}, s.refs}
	f.refs[i+1] = refSeg{FileRange{off, s.End}, s.refs}
}

// insertRef inserts a segment over a range that has none.
func (f *MemoryFile) insertRef(s refSeg) {
	i := f.findRef(s.Start)
	f.refs = append(f.refs, refSeg{})
	copy(f.refs[i+1:], f.refs[i:])
	f.refs[i] = s
	f.mergeAround(i)
}

// mergeAround merges segment i with equal-count neighbours that touch it.
func (f *MemoryFile) mergeAround(i int) {
	if i+1 < len(f.refs) && f.refs[i+1].Start == f.refs[i].End && f.refs[i+1].refs == f.refs[i].refs {
		f.refs[i].End = f.refs[i+1].End
		f.refs = append(f.refs[:i+1], f.refs[i+2:]...)
	}
	if i > 0 && f.refs[i-1].End == f.refs[i].Start && f.refs[i-1].refs == f.refs[i].refs {
		f.refs[i-1].End = f.refs[i].End
		f.refs = append(f.refs[:i], f.refs[i+1:]...)
	}
}

// adjust adds delta to the count of every segment in fr.
func (f *MemoryFile) adjust(fr FileRange, delta int64) {
	if fr.Start >= fr.End {
		return
	}
	f.splitAt(fr.Start)
	f.splitAt(fr.End)
	covered := fr.Start
	i := f.findRef(fr.Start)
	for i < len(f.refs) && f.refs[i].Start < fr.End {
		s := &f.refs[i]
		if s.Start != covered {
			panic(fmt.Sprintf("pgalloc: reference change on unallocated range [%#x, %#x)", covered, s.Start))
		}
		covered = s.End
		s.refs += delta
		if s.refs == 0 {
			f.release(s.FileRange)
			f.refs = append(f.refs[:i], f.refs[i+1:]...)
			continue
		}
		i++
	}
	if covered != fr.End {
		panic(fmt.Sprintf("pgalloc: reference change on unallocated range [%#x, %#x)", covered, fr.End))
	}
	// Re-merge at the edges and across the adjusted run.
	lo := f.findRef(fr.Start)
	if lo > 0 {
		lo--
	}
	for j := lo; j < len(f.refs) && j <= i+1; {
		before := len(f.refs)
		f.mergeAround(j)
		if len(f.refs) == before {
			j++
		}
	}
}

// release returns fr's pages to the host and fr to the free list.
func (f *MemoryFile) release(fr FileRange) {
	// Failure leaves the old contents in place; the range is then not
	// reused, so no stale data can reach another allocation.
	if err := unix.Fallocate(f.fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, int64(fr.Start), int64(fr.Length())); err != nil {
		f.usage -= fr.Length()
		return
	}
	f.usage -= fr.Length()
	i := sort.Search(len(f.free), func(i int) bool { return f.free[i].Start >= fr.End })
	f.free = append(f.free, FileRange{})
	copy(f.free[i+1:], f.free[i:])
	f.free[i] = fr
	if i+1 < len(f.free) && f.free[i+1].Start == f.free[i].End {
		f.free[i].End = f.free[i+1].End
		f.free = append(f.free[:i+1], f.free[i+2:]...)
	}
	if i > 0 && f.free[i-1].End == f.free[i].Start {
		f.free[i-1].End = f.free[i].End
		f.free = append(f.free[:i], f.free[i+1:]...)
	}
	// Give the tail back to the bump region.
	if n := len(f.free); n > 0 && f.free[n-1].End == f.next {
		f.next = f.free[n-1].Start
		f.free = f.free[:n-1]
	}
}

// Commit makes the host back every page of fr with memory now, as
// MAP_POPULATE and mlock expect; contents are unchanged. fr must be
// allocated.
func (f *MemoryFile) Commit(fr FileRange) error {
	if fr.Start >= fr.End {
		return nil
	}
	b := f.Slice(fr)
	if unix.Madvise(b, unix.MADV_POPULATE_WRITE) == nil {
		return nil
	}
	// Without MADV_POPULATE_WRITE (before Linux 5.14, or refused): a
	// read of each page makes the host allocate it.
	var sum byte
	for i := 0; i < len(b); i += linux.PageSize {
		sum += b[i]
	}
	runtime.KeepAlive(sum)
	return nil
}

// Resident sets vec[i] to 1 if page i of fr has host memory behind it
// (has been written, read or committed since it was allocated) and to 0
// otherwise. vec must hold one byte per page of fr.
func (f *MemoryFile) Resident(fr FileRange, vec []byte) error {
	if fr.Start >= fr.End {
		return nil
	}
	if uint64(len(vec)) < fr.Length()/linux.PageSize {
		return fmt.Errorf("pgalloc: residency vector of %d bytes for %d pages", len(vec), fr.Length()/linux.PageSize)
	}
	if err := mincore(f.Slice(fr), vec); err != nil {
		return fmt.Errorf("pgalloc: mincore of [%#x, %#x): %w", fr.Start, fr.End, err)
	}
	for i := range vec[:fr.Length()/linux.PageSize] {
		vec[i] &= 1
	}
	return nil
}
