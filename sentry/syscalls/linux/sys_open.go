package linux

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"golang.org/x/sys/unix"
)

// openFlagsMask is every flag open(2) accepts; unknown bits are ignored
// by open and openat as Linux does (openat2 rejects them).
const openFlagsMask = linux.O_ACCMODE | linux.O_CREAT | linux.O_EXCL | linux.O_NOCTTY |
	linux.O_TRUNC | linux.O_APPEND | linux.O_NONBLOCK | linux.O_DSYNC | unix.O_ASYNC |
	linux.O_DIRECT | linux.O_LARGEFILE | linux.O_DIRECTORY | linux.O_NOFOLLOW |
	linux.O_NOATIME | linux.O_CLOEXEC | linux.O_SYNC | linux.O_PATH | linux.O_TMPFILE

// openAt is the common body of open, openat, creat and openat2.
func openAt(t *kernel.Task, dirfd int32, pathAddr uintptr, flags uint32, mode uint32, resolve uint64) (uintptr, linux.Errno) {
	flags &= openFlagsMask
	pop, errno := pathArg(t, dirfd, pathAddr, flags&linux.O_NOFOLLOW == 0, false)
	if errno != 0 {
		return 0, errno
	}
	defer pop.release()
	pop.Resolve = resolve
	mode = (mode & 0o7777) &^ t.FSContext().Umask()
	f, err := t.Kernel().VFS().OpenAt(t.Ctx(), t.Credentials(), &pop.PathOperation, flags, mode)
	if err != nil {
		return 0, errnoOf(err)
	}
	defer f.DecRef(t.Ctx())
	fd, err := t.FDTable().NewFD(0, f, vfs.FDFlags{CloseOnExec: flags&linux.O_CLOEXEC != 0})
	if err != nil {
		return 0, errnoOf(err)
	}
	return uintptr(fd), 0
}

// Open implements open(2).
func Open(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return openAt(t, linux.AT_FDCWD, args[0].Pointer(), args[1].Uint(), args[2].Uint(), 0)
}

// Openat implements openat(2).
func Openat(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return openAt(t, args[0].Int(), args[1].Pointer(), args[2].Uint(), args[3].Uint(), 0)
}

// Creat implements creat(2).
func Creat(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return openAt(t, linux.AT_FDCWD, args[0].Pointer(), linux.O_WRONLY|linux.O_CREAT|linux.O_TRUNC, args[1].Uint(), 0)
}

// resolveCached is RESOLVE_CACHED (include/uapi/linux/openat2.h).
const resolveCached = 0x20

// Openat2 implements openat2(2).
func Openat2(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	dirfd, pathAddr, howAddr, size := args[0].Int(), args[1].Pointer(), args[2].Pointer(), args[3].SizeT()
	const howSize = 24 // struct open_how: flags, mode, resolve
	if size < howSize || size > linux.PageSize {
		return 0, unix.EINVAL
	}
	buf := make([]byte, size)
	if _, err := t.MemoryManager().CopyIn(howAddr, buf); err != nil {
		return 0, unix.EFAULT
	}
	for _, b := range buf[howSize:] {
		if b != 0 {
			return 0, unix.E2BIG
		}
	}
	var how linux.OpenHow
	how.Decode(buf)
	if how.Flags&^uint64(openFlagsMask) != 0 || how.Mode&^0o7777 != 0 ||
		(how.Mode != 0 && how.Flags&(linux.O_CREAT|linux.O_TMPFILE) == 0) {
		return 0, unix.EINVAL
	}
	const resolveAll = linux.RESOLVE_NO_XDEV | linux.RESOLVE_NO_MAGICLINKS | linux.RESOLVE_NO_SYMLINKS |
		linux.RESOLVE_BENEATH | linux.RESOLVE_IN_ROOT | resolveCached
	if how.Resolve&^uint64(resolveAll) != 0 {
		return 0, unix.EINVAL
	}
	return openAt(t, dirfd, pathAddr, uint32(how.Flags), uint32(how.Mode), how.Resolve)
}

// Close implements close(2).
func Close(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd := args[0].Int()
	if err := t.FDTable().Close(t.Ctx(), fd); err != nil {
		return 0, errnoOf(err)
	}
	return 0, 0
}
