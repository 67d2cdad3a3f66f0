package linux

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

// checkBuffer applies Linux's access_ok to [addr, addr+n).
func checkBuffer(t *kernel.Task, addr uintptr, n uint64) linux.Errno {
	limit := uint64(t.MemoryManager().MaxAddress())
	if n > limit || uint64(addr) > limit-n {
		return unix.EFAULT
	}
	return 0
}

// result turns a transfer's count and error into a syscall result: a
// partial transfer succeeds, otherwise the error is returned.
func result(n int, err error) (uintptr, linux.Errno) {
	if n > 0 || err == nil {
		return uintptr(n), 0
	}
	if e, ok := err.(unix.Errno); ok {
		return 0, e
	}
	return 0, unix.EIO
}
