package linux

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

// stdioFD returns the host descriptor for guest fd: only 0, 1 and 2 exist
// until the file table comes.
func stdioFD(t *kernel.Task, fd int32) (int, linux.Errno) {
	if fd < 0 || fd > 2 {
		return -1, unix.EBADF
	}
	return t.Kernel().HostStdio(int(fd)), 0
}

// checkBuffer applies Linux's access_ok to [addr, addr+n).
func checkBuffer(t *kernel.Task, addr uintptr, n uint64) linux.Errno {
	limit := uint64(t.MemoryManager().MaxAddress())
	if n > limit || uint64(addr) > limit-n {
		return unix.EFAULT
	}
	return 0
}

// hostWrite writes all of b to fd, retrying on EINTR; it returns what was
// written.
func hostWrite(fd int, b []byte) (int, error) {
	for {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
}

// hostRead reads once from fd into b, retrying on EINTR.
func hostRead(fd int, b []byte) (int, error) {
	for {
		n, err := unix.Read(fd, b)
		if err == unix.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
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

// Write implements write(2).
func Write(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, addr, size := args[0].Int(), args[1].Pointer(), args[2].SizeT()
	hfd, errno := stdioFD(t, fd)
	if errno != 0 {
		return 0, errno
	}
	if errno := checkBuffer(t, addr, size); errno != 0 {
		return 0, errno
	}
	size = min(size, linux.MAX_RW_COUNT)
	if size == 0 {
		return 0, 0
	}
	return result(t.MemoryManager().CopyInTo(addr, int(size), func(b []byte) (int, error) {
		return hostWrite(hfd, b)
	}))
}

// Read implements read(2). The destination is checked before the host
// read, so an unwritable buffer is EFAULT even where Linux would first find
// end-of-file and return 0; no input is consumed either way.
func Read(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, addr, size := args[0].Int(), args[1].Pointer(), args[2].SizeT()
	hfd, errno := stdioFD(t, fd)
	if errno != 0 {
		return 0, errno
	}
	if errno := checkBuffer(t, addr, size); errno != 0 {
		return 0, errno
	}
	size = min(size, linux.MAX_RW_COUNT)
	if size == 0 {
		return 0, 0
	}
	// One host read per call: after data arrives, a second read could
	// block although read(2) must return what it has.
	calls := 0
	return result(t.MemoryManager().CopyOutFrom(addr, int(size), func(b []byte) (int, error) {
		if calls++; calls > 1 {
			return 0, nil
		}
		return hostRead(hfd, b)
	}))
}

// Writev implements writev(2).
func Writev(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, addr, cnt := args[0].Int(), args[1].Pointer(), args[2].Int()
	hfd, errno := stdioFD(t, fd)
	if errno != 0 {
		return 0, errno
	}
	if cnt < 0 || cnt > linux.UIO_MAXIOV {
		return 0, unix.EINVAL
	}
	m := t.MemoryManager()
	iovs, err := m.CopyInIovecs(addr, int(cnt))
	if err != nil {
		return 0, errnoOf(err)
	}
	for _, iov := range iovs {
		if errno := checkBuffer(t, uintptr(iov.Base), iov.Len); errno != 0 {
			return 0, errno
		}
	}
	total := 0
	for _, iov := range iovs {
		if iov.Len == 0 {
			continue
		}
		n, err := m.CopyInTo(uintptr(iov.Base), int(iov.Len), func(b []byte) (int, error) {
			return hostWrite(hfd, b)
		})
		total += n
		if err != nil || uint64(n) < iov.Len {
			if total > 0 {
				return uintptr(total), 0
			}
			return result(0, err)
		}
	}
	return uintptr(total), 0
}
