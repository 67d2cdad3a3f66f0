package mm

import (
	"errors"
	"io"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/pgalloc"
)

// sharedMemory backs MAP_SHARED memory: it owns one memory-file page per
// object page, allocated on first touch, so that every VMA mapping the
// object (in this address space, in forked children, or after mremap)
// finds the same pages.
//
// For anonymous memory the object is private to the mappings made from
// one mmap call and its pages start zeroed. For a file (file != nil) there
// is one object per file and memory file, found through sharedFiles, whose
// offsets are file offsets: pages are filled from the file on first touch
// (pages wholly past the end of the file are not created: SIGBUS), pages
// the guest writes are recorded as dirty, and dirty pages are written back
// to the file on msync, on munmap and when the address space goes away.
//
// Pages stay until the last VMA referencing the object goes away, like the
// pages of Linux's shmem file or page cache behind such mappings.
type sharedMemory struct {
	mf   *pgalloc.MemoryFile
	refs atomic.Int64

	// file, if not nil, is the file behind the object (a reference is
	// held); writer is a description of it open for writing, used for
	// write-back (a reference is held), or nil if no writable shared
	// mapping was made yet. key is the object's entry in sharedFiles.
	file   SharedMappable
	writer SharedMappable
	key    sharedFileKey

	// mu guards segs, dirty and writer.
	mu sync.Mutex
	// segs are the object's pages, sorted by offset, non-overlapping;
	// each holds one memory-file reference owned by the object.
	segs []shmSeg
	// dirty holds the offsets of pages written since they were filled
	// (file objects only). Pages stay dirty after a write-back, because
	// other address spaces may still write them without faulting.
	dirty map[uint64]struct{}
}

// shmSeg says that object offsets [start, end) live in memory-file range
// fr. For a file object, validEnd is the file offset where the file ended
// when the pages were filled, if inside the segment (write-back stops
// there, so that it never extends the file), else end.
type shmSeg struct {
	start, end uint64
	fr         pgalloc.FileRange
	validEnd   uint64
}

// sharedFileKey names a file's object: the memory file and the file's
// identity (SharedMappable.Key).
type sharedFileKey struct {
	mf  *pgalloc.MemoryFile
	key any
}

// sharedFiles maps files to their objects, so that every MAP_SHARED
// mapping of a file (made by any address space, through any description)
// shares its pages.
var sharedFiles struct {
	// mu guards m and the 1 -> 0 transitions of the refs of the objects
	// in m, so that a lookup never revives an object being freed.
	mu sync.Mutex
	m  map[sharedFileKey]*sharedMemory
}

// newSharedMemory returns an empty anonymous object with one reference.
func newSharedMemory(mf *pgalloc.MemoryFile) *sharedMemory {
	s := &sharedMemory{mf: mf}
	s.refs.Store(1)
	return s
}

// sharedFileObject returns, with a new reference, the object of the file
// behind f, creating it on first use. If f is writable and the object has
// no writer yet, f becomes its writer. A file whose key cannot be compared
// gets an object of its own.
func sharedFileObject(mf *pgalloc.MemoryFile, f SharedMappable) *sharedMemory {
	k := f.Key()
	if k == nil || !reflect.TypeOf(k).Comparable() {
		s := newSharedMemory(mf)
		s.file = f
		f.IncRef()
		s.setWriter(f)
		return s
	}
	key := sharedFileKey{mf, k}
	sharedFiles.mu.Lock()
	defer sharedFiles.mu.Unlock()
	s := sharedFiles.m[key]
	if s != nil {
		s.refs.Add(1)
	} else {
		s = newSharedMemory(mf)
		s.file = f
		s.key = key
		f.IncRef()
		if sharedFiles.m == nil {
			sharedFiles.m = make(map[sharedFileKey]*sharedMemory)
		}
		sharedFiles.m[key] = s
	}
	s.setWriter(f)
	return s
}

// setWriter makes f the object's writer if it is writable and there is
// none yet.
func (s *sharedMemory) setWriter(f SharedMappable) {
	if !f.Writable() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.writer == nil {
		f.IncRef()
		s.writer = f
	}
}

func (s *sharedMemory) incRef() { s.refs.Add(1) }

// decRef drops a reference; the last one writes dirty pages back and
// frees the object's pages.
func (s *sharedMemory) decRef() {
	if s.key.mf != nil {
		sharedFiles.mu.Lock()
		last := s.refs.Add(-1) == 0
		if last {
			delete(sharedFiles.m, s.key)
		}
		sharedFiles.mu.Unlock()
		if !last {
			return
		}
	} else if s.refs.Add(-1) != 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writebackLocked(0, ^uint64(0))
	for _, g := range s.segs {
		s.mf.DecRef(g.fr)
	}
	s.segs = nil
	if s.writer != nil {
		s.writer.DecRef()
		s.writer = nil
	}
	if s.file != nil {
		s.file.DecRef()
	}
}

// find returns the index of the first segment whose end is above off.
func (s *sharedMemory) find(off uint64) int {
	return sort.Search(len(s.segs), func(i int) bool { return s.segs[i].end > off })
}

// pages returns the memory-file ranges backing object offsets [off, end)
// (page aligned), allocating pages for any not yet touched: zeroed, or
// filled from the file. Each returned range carries a new reference owned
// by the caller. For a file the result stops at the first page wholly past
// the end of the file, so it may cover less than asked, or nothing. On
// error nothing is returned and no caller reference is taken; pages
// already allocated stay with the object.
func (s *sharedMemory) pages(off, end uint64) ([]shmSeg, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Fill the holes first.
	cur := off
	i := s.find(cur)
	for cur < end {
		if i < len(s.segs) && s.segs[i].start <= cur {
			cur = s.segs[i].end
			i++
			continue
		}
		holeEnd := end
		if i < len(s.segs) && s.segs[i].start < holeEnd {
			holeEnd = s.segs[i].start
		}
		fr, err := s.mf.Allocate(holeEnd - cur)
		if err != nil {
			return nil, err
		}
		validEnd := holeEnd
		if s.file != nil {
			n, err := s.fill(cur, fr)
			if err != nil {
				s.mf.DecRef(fr)
				return nil, err
			}
			if n < holeEnd-cur {
				validEnd = cur + n
				keep := (n + linux.PageSize - 1) &^ (linux.PageSize - 1)
				s.mf.DecRef(pgalloc.FileRange{Start: fr.Start + keep, End: fr.End})
				fr.End = fr.Start + keep
				holeEnd = cur + keep
				end = holeEnd // nothing past the end of the file
			}
		}
		if fr.Start < fr.End {
			s.segs = append(s.segs, shmSeg{})
			copy(s.segs[i+1:], s.segs[i:])
			s.segs[i] = shmSeg{cur, holeEnd, fr, validEnd}
			i++
		}
		cur = holeEnd
	}
	// Then hand out references on the pieces, as far as they are
	// contiguous.
	var out []shmSeg
	cur = off
	for i := s.find(off); i < len(s.segs) && s.segs[i].start <= cur && cur < end; i++ {
		g := s.segs[i]
		st, e := cur, min(g.end, end)
		fr := pgalloc.FileRange{Start: g.fr.Start + (st - g.start), End: g.fr.Start + (e - g.start)}
		s.mf.IncRef(fr)
		out = append(out, shmSeg{st, e, fr, min(g.validEnd, e)})
		cur = e
	}
	return out, nil
}

// errShortRead is a fill that could not make progress.
var errShortRead = errors.New("mm: file read made no progress")

// fill reads the file at offset off into the fresh range fr and returns
// how many bytes it read (fewer than fr's length at the end of the file).
// s.mu must be held.
func (s *sharedMemory) fill(off uint64, fr pgalloc.FileRange) (uint64, error) {
	dst := s.mf.Slice(fr)
	var done uint64
	for len(dst) > 0 {
		n, err := s.file.ReadAt(int64(off+done), dst)
		if n < 0 || n > len(dst) {
			return 0, errShortRead
		}
		dst = dst[n:]
		done += uint64(n)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return 0, err
		}
		if n == 0 {
			break
		}
	}
	return done, nil
}

// markDirty records that the pages of [off, end) (page aligned) have been
// written.
func (s *sharedMemory) markDirty(off, end uint64) {
	if s.file == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dirty == nil {
		s.dirty = make(map[uint64]struct{})
	}
	for p := off; p < end; p += linux.PageSize {
		s.dirty[p] = struct{}{}
	}
}

// writeback writes the dirty pages of [off, end) to the file. It returns
// the first write error.
func (s *sharedMemory) writeback(off, end uint64) error {
	if s.file == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writebackLocked(off, end)
}

// writebackLocked is writeback with s.mu held.
func (s *sharedMemory) writebackLocked(off, end uint64) error {
	if len(s.dirty) == 0 || s.writer == nil {
		return nil
	}
	var firstErr error
	for i := s.find(off); i < len(s.segs) && s.segs[i].start < end; i++ {
		g := s.segs[i]
		for p := max(g.start, off); p < min(g.end, end); p += linux.PageSize {
			if _, ok := s.dirty[p]; !ok {
				continue
			}
			n := min(p+linux.PageSize, g.validEnd)
			if n <= p {
				continue
			}
			b := s.mf.Slice(pgalloc.FileRange{Start: g.fr.Start + (p - g.start), End: g.fr.Start + (n - g.start)})
			if _, err := s.writer.WriteAt(int64(p), b); err != nil && firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}
