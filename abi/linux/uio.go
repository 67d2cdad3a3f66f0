package linux

import "encoding/binary"

// UIO_MAXIOV is the most iovecs readv/writev and friends accept.
const UIO_MAXIOV = 1024

// MAX_RW_COUNT is the most bytes one read/write-family call transfers:
// INT_MAX rounded down to a page (include/linux/fs.h).
const MAX_RW_COUNT = 0x7fffffff &^ (PageSize - 1)

// IovecSize is sizeof(struct iovec) on amd64.
const IovecSize = 16

// Iovec is struct iovec.
type Iovec struct {
	Base uint64
	Len  uint64
}

// Decode reads iov from the kernel's layout in b.
func (iov *Iovec) Decode(b []byte) {
	_ = b[IovecSize-1]
	iov.Base = binary.LittleEndian.Uint64(b[0:])
	iov.Len = binary.LittleEndian.Uint64(b[8:])
}

// Encode writes iov in the kernel's layout into b.
func (iov *Iovec) Encode(b []byte) {
	_ = b[IovecSize-1]
	binary.LittleEndian.PutUint64(b[0:], iov.Base)
	binary.LittleEndian.PutUint64(b[8:], iov.Len)
}
