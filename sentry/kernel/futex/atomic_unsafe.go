package futex

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// word returns the 32-bit word at the start of b, which must be at least 4
// bytes long and 4-byte aligned in host memory.
func word(b []byte) (*uint32, error) {
	if len(b) < 4 {
		return nil, unix.EFAULT
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	if uintptr(p)%4 != 0 {
		return nil, unix.EINVAL
	}
	return (*uint32)(p), nil
}

// LoadUint32Bytes atomically loads the native-endian 32-bit word at the
// start of b. It is meant for Target implementations over the Sentry's
// mapping of the memory file (pgalloc.MemoryFile.Slice): b must stay
// mapped for the call, e.g. by holding a reference on its pages. It
// fails with EFAULT if b is shorter than 4 bytes and EINVAL if it is not
// 4-byte aligned.
func LoadUint32Bytes(b []byte) (uint32, error) {
	p, err := word(b)
	if err != nil {
		return 0, err
	}
	return atomic.LoadUint32(p), nil
}

// CompareAndSwapUint32Bytes atomically replaces the word at the start of
// b with new if it holds old, and returns the value it found. On amd64
// this is a LOCK CMPXCHG on the shared mapping, atomic with respect to
// guest threads operating on the same physical page through their own
// mapping. Errors as for LoadUint32Bytes.
func CompareAndSwapUint32Bytes(b []byte, old, new uint32) (uint32, error) {
	p, err := word(b)
	if err != nil {
		return 0, err
	}
	for {
		if atomic.CompareAndSwapUint32(p, old, new) {
			return old, nil
		}
		// Report the value that made the swap fail. If it changed back
		// to old in between, try the swap again.
		if cur := atomic.LoadUint32(p); cur != old {
			return cur, nil
		}
	}
}
