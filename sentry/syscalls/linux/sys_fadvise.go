package linux

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

// This file holds the page-cache hints fadvise64(2) and readahead(2). The
// Sentry has no page cache for them to steer (tmpfs data is memory, gofer
// and host files are read through the host), so after Linux's argument
// checks there is nothing to do, as for Linux's own filesystems without
// a backing device.

func init() { registrars = append(registrars, registerFadvise) }

// registerFadvise registers fadvise64 and readahead.
func registerFadvise(b *tableBuilder) {
	b.full(linux.SYS_FADVISE64, Fadvise64)
	b.full(linux.SYS_READAHEAD, Readahead)
}

// The posix_fadvise advice values run from POSIX_FADV_NORMAL to
// POSIX_FADV_NOREUSE (include/uapi/linux/fadvise.h, amd64).
const (
	fadvNormal  = 0
	fadvNoreuse = 5
)

// Fadvise64 implements fadvise64(2): ESPIPE for a pipe, EINVAL for a
// negative length or unknown advice.
func Fadvise64(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, length, advice := args[0].Int(), args[2].Int64(), args[3].Int()
	f, errno := getFile(t, fd)
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	if f.IsPath() {
		return 0, unix.EBADF
	}
	if isPipe(f) {
		return 0, unix.ESPIPE
	}
	if length < 0 || advice < fadvNormal || advice > fadvNoreuse {
		return 0, unix.EINVAL
	}
	return 0, 0
}

// Readahead implements readahead(2): the file must be open for reading
// (EBADF) and regular (EINVAL).
func Readahead(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	f, errno := getFile(t, args[0].Int())
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	if !f.IsReadable() {
		return 0, unix.EBADF
	}
	if !f.Inode().Attr().IsRegular() {
		return 0, unix.EINVAL
	}
	// Linux goes on to fadvise(POSIX_FADV_WILLNEED), a hint.
	if int64(args[2].SizeT()) < 0 {
		return 0, unix.EINVAL
	}
	return 0, 0
}
