package mm

import (
	"errors"
	"io"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/pgalloc"
	"golang.org/x/sys/unix"
)

// Mappable is a file that can back a mapping. The memory manager reads it
// to fill private copies of its pages; it never writes it. The syscall
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

// fillFromFile fills the freshly allocated (zeroed) memory-file range fr,
// which backs guest pages starting at addr in v, from v's file. Bytes past
// the end of the file stay zero. A read error is reported as ENOMEM, which
// a fault turns into SIGBUS as Linux does for an I/O error in a file
// fault. mm.mu must be held.
func (mm *MemoryManager) fillFromFile(v *vma, addr uintptr, fr pgalloc.FileRange) linux.Errno {
	dst := mm.mf.Slice(fr)
	off := int64(v.off + uint64(addr-v.start))
	for len(dst) > 0 {
		n, err := v.mappable.ReadAt(off, dst)
		if n < 0 || n > len(dst) {
			return unix.ENOMEM
		}
		dst = dst[n:]
		off += int64(n)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0
			}
			return unix.ENOMEM
		}
		if n == 0 {
			return 0
		}
	}
	return 0
}
