package mm

import (
	"errors"
	"io"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/pgalloc"
	"golang.org/x/sys/unix"
)

// Mappable is a file that can back a mapping. The memory manager reads it
// to fill its pages; it writes only SharedMappables, and only for shared
// mappings (write-back). The syscall
// layer implements Mappable over an open file description, which keeps
// this package independent of the VFS.
//
// Each VMA (and each piece a VMA is split into) that maps the file holds
// one reference, taken with IncRef and dropped with DecRef when the range
// is unmapped or the address space is released.
type Mappable interface {
	// ReadAt reads up to len(dst) bytes at file offset off. A short read
	// with a nil error (or io.EOF) means end of file.
	ReadAt(off int64, dst []byte) (int, error)
	// IncRef takes a reference on the file.
	IncRef()
	// DecRef drops a reference taken by IncRef.
	DecRef()
}

// SharedMappable is a Mappable whose MAP_SHARED mappings share pages:
// every shared mapping of the same file (equal Key) in any address space
// of one memory file uses the same pages, and pages the guest writes are
// written back with WriteAt on msync, munmap and when the address space
// goes away. Reads and writes of the file through its descriptions do not
// see the shared pages in between.
type SharedMappable interface {
	Mappable
	// Key identifies the file (for example its inode); it must be
	// comparable, or nil for a file whose mappings should not share.
	Key() any
	// Writable reports whether WriteAt may be used.
	Writable() bool
	// WriteAt writes src at file offset off.
	WriteAt(off int64, src []byte) (int, error)
}

// fillFromFile fills the freshly allocated (zeroed) memory-file range fr,
// which backs guest pages starting at addr in v, from v's file, and returns
// how many bytes it read: fewer than fr's length means the file ends there,
// and bytes past the end stay zero. A read error is reported as ENOMEM,
// which a fault turns into SIGBUS as Linux does for an I/O error in a file
// fault. mm.mu must be held.
func (mm *MemoryManager) fillFromFile(v *vma, addr uintptr, fr pgalloc.FileRange) (uint64, linux.Errno) {
	dst := mm.mf.Slice(fr)
	off := int64(v.off + uint64(addr-v.start))
	var done uint64
	for len(dst) > 0 {
		n, err := v.mappable.ReadAt(off, dst)
		if n < 0 || n > len(dst) {
			return 0, unix.ENOMEM
		}
		dst = dst[n:]
		off += int64(n)
		done += uint64(n)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return done, 0
			}
			return 0, unix.ENOMEM
		}
		if n == 0 {
			return done, 0
		}
	}
	return done, 0
}
