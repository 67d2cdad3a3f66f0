package tmpfs

import (
	"sort"

	"golang.org/x/sys/unix"
)

// pageSize is the granularity of file storage, of holes and of the size
// limit.
const pageSize = 4096

// Storage holds the bytes of one regular file. Offsets beyond the pages it
// holds read as zeros (holes); the file size is kept by the inode, not
// here. The only implementation today keeps pages in Go memory; once the
// Sentry's memory file (sentry/pgalloc) exists, an implementation that
// allocates file ranges from it will let the memory manager map tmpfs
// pages into guests directly (ConfigureMMap). Callers serialize access.
type Storage interface {
	// ReadAt fills p from offset off; holes read as zeros.
	ReadAt(p []byte, off int64)
	// WriteAt stores p at off, allocating pages (ENOSPC past the
	// filesystem's size limit, in which case a prefix may be written).
	WriteAt(p []byte, off int64) (int, error)
	// Allocate backs [off, off+length) with pages (fallocate mode 0).
	Allocate(off, length int64) error
	// PunchHole frees the whole pages inside [off, off+length) and
	// zeroes the partial pages at its ends.
	PunchHole(off, length int64)
	// Truncate discards data at and after size.
	Truncate(size int64)
	// NextData returns the first offset >= off that lies in a page with
	// data, or false.
	NextData(off int64) (int64, bool)
	// NextHole returns the first offset >= off that lies in no page.
	NextHole(off int64) int64
	// Pages returns the number of pages held.
	Pages() int64
	// Release frees all pages.
	Release()
}

// pageAccounter limits the pages all files of a filesystem hold.
type pageAccounter interface {
	reserve(n int64) bool
	unreserve(n int64)
}

// pageMap is a Storage keeping a sparse map of 4 KiB pages in Go memory.
type pageMap struct {
	acct  pageAccounter
	pages map[int64]*[pageSize]byte
}

func newPageMap(acct pageAccounter) *pageMap {
	return &pageMap{acct: acct, pages: make(map[int64]*[pageSize]byte)}
}

func (m *pageMap) ReadAt(p []byte, off int64) {
	for len(p) > 0 {
		idx, po := off/pageSize, off%pageSize
		n := min(int64(len(p)), pageSize-po)
		if pg := m.pages[idx]; pg != nil {
			copy(p[:n], pg[po:])
		} else {
			clear(p[:n])
		}
		p, off = p[n:], off+n
	}
}

func (m *pageMap) page(idx int64) (*[pageSize]byte, error) {
	if pg := m.pages[idx]; pg != nil {
		return pg, nil
	}
	if !m.acct.reserve(1) {
		return nil, unix.ENOSPC
	}
	pg := new([pageSize]byte)
	m.pages[idx] = pg
	return pg, nil
}

func (m *pageMap) WriteAt(p []byte, off int64) (int, error) {
	done := 0
	for len(p) > 0 {
		idx, po := off/pageSize, off%pageSize
		pg, err := m.page(idx)
		if err != nil {
			return done, err
		}
		n := copy(pg[po:], p)
		p, off, done = p[n:], off+int64(n), done+n
	}
	return done, nil
}

func (m *pageMap) Allocate(off, length int64) error {
	for idx := off / pageSize; idx*pageSize < off+length; idx++ {
		if _, err := m.page(idx); err != nil {
			return err
		}
	}
	return nil
}

func (m *pageMap) zero(off, end int64) {
	for off < end {
		idx, po := off/pageSize, off%pageSize
		n := min(end-off, pageSize-po)
		if pg := m.pages[idx]; pg != nil {
			clear(pg[po : po+n])
		}
		off += n
	}
}

func (m *pageMap) drop(idx int64) {
	if _, ok := m.pages[idx]; ok {
		delete(m.pages, idx)
		m.acct.unreserve(1)
	}
}

func (m *pageMap) PunchHole(off, length int64) {
	end := off + length
	first := (off + pageSize - 1) / pageSize // first whole page
	last := end / pageSize                   // first page not wholly inside
	if first >= last {
		m.zero(off, end)
		return
	}
	m.zero(off, first*pageSize)
	m.zero(last*pageSize, end)
	if last-first > int64(len(m.pages)) {
		for idx := range m.pages {
			if idx >= first && idx < last {
				m.drop(idx)
			}
		}
		return
	}
	for idx := first; idx < last; idx++ {
		m.drop(idx)
	}
}

func (m *pageMap) Truncate(size int64) {
	keep := (size + pageSize - 1) / pageSize
	for idx := range m.pages {
		if idx >= keep {
			m.drop(idx)
		}
	}
	if size%pageSize != 0 {
		m.zero(size, keep*pageSize)
	}
}

func (m *pageMap) sortedFrom(idx int64) []int64 {
	var idxs []int64
	for i := range m.pages {
		if i >= idx {
			idxs = append(idxs, i)
		}
	}
	sort.Slice(idxs, func(a, b int) bool { return idxs[a] < idxs[b] })
	return idxs
}

func (m *pageMap) NextData(off int64) (int64, bool) {
	idx := off / pageSize
	if m.pages[idx] != nil {
		return off, true
	}
	best := int64(-1)
	for i := range m.pages {
		if i > idx && (best < 0 || i < best) {
			best = i
		}
	}
	if best < 0 {
		return 0, false
	}
	return best * pageSize, true
}

func (m *pageMap) NextHole(off int64) int64 {
	idx := off / pageSize
	if m.pages[idx] == nil {
		return off
	}
	for _, i := range m.sortedFrom(idx) {
		if i != idx {
			break
		}
		idx++
	}
	return idx * pageSize
}

func (m *pageMap) Pages() int64 { return int64(len(m.pages)) }

func (m *pageMap) Release() {
	m.acct.unreserve(int64(len(m.pages)))
	m.pages = make(map[int64]*[pageSize]byte)
}
