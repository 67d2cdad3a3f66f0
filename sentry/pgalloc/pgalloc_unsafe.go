package pgalloc

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// mincore is mincore(2) on the Sentry's mapping b, one byte per page into
// vec (x/sys/unix has no wrapper). b must be page aligned and non-empty,
// and vec long enough.
func mincore(b []byte, vec []byte) error {
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		return errno
	}
	return nil
}
