package linux

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

// copyOutStat writes st as struct stat at addr.
func copyOutStat(t *kernel.Task, addr uintptr, st linux.Stat) linux.Errno {
	var b [linux.StatSize]byte
	st.Encode(b[:])
	if _, err := t.MemoryManager().CopyOut(addr, b[:]); err != nil {
		return unix.EFAULT
	}
	return 0
}

// statAt is the body of stat, lstat and newfstatat.
func statAt(t *kernel.Task, dirfd int32, pathAddr, statAddr uintptr, flags uint32) (uintptr, linux.Errno) {
	if flags&^(linux.AT_SYMLINK_NOFOLLOW|linux.AT_EMPTY_PATH|linux.AT_NO_AUTOMOUNT) != 0 {
		return 0, unix.EINVAL
	}
	path, errno := copyInPath(t, pathAddr)
	if errno != 0 {
		return 0, errno
	}
	pop, errno := newPathOperation(t, dirfd, path, flags&linux.AT_SYMLINK_NOFOLLOW == 0, flags&linux.AT_EMPTY_PATH != 0)
	if errno != 0 {
		return 0, errno
	}
	defer pop.release()
	stx, err := t.Kernel().VFS().StatAt(t.Ctx(), t.Credentials(), &pop.PathOperation, linux.STATX_BASIC_STATS)
	if err != nil {
		return 0, errnoOf(err)
	}
	return 0, copyOutStat(t, statAddr, stx.ToStat())
}

// Stat implements stat(2).
func Stat(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return statAt(t, linux.AT_FDCWD, args[0].Pointer(), args[1].Pointer(), 0)
}

// Lstat implements lstat(2).
func Lstat(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return statAt(t, linux.AT_FDCWD, args[0].Pointer(), args[1].Pointer(), linux.AT_SYMLINK_NOFOLLOW)
}

// Newfstatat implements newfstatat(2) (fstatat).
func Newfstatat(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return statAt(t, args[0].Int(), args[1].Pointer(), args[2].Pointer(), args[3].Uint())
}

// Fstat implements fstat(2).
func Fstat(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, addr := args[0].Int(), args[1].Pointer()
	f, errno := getFile(t, fd)
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	stx, err := f.Stat(t.Ctx(), linux.STATX_BASIC_STATS)
	if err != nil {
		return 0, errnoOf(err)
	}
	return 0, copyOutStat(t, addr, stx.ToStat())
}

// Statx implements statx(2).
func Statx(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	dirfd, pathAddr, flags, mask, addr := args[0].Int(), args[1].Pointer(), args[2].Uint(), args[3].Uint(), args[4].Pointer()
	if flags&^(linux.AT_SYMLINK_NOFOLLOW|linux.AT_EMPTY_PATH|linux.AT_NO_AUTOMOUNT|linux.AT_STATX_SYNC_TYPE) != 0 ||
		flags&linux.AT_STATX_SYNC_TYPE == linux.AT_STATX_SYNC_TYPE || mask&unix.STATX__RESERVED != 0 {
		return 0, unix.EINVAL
	}
	pop, errno := pathArg(t, dirfd, pathAddr, flags&linux.AT_SYMLINK_NOFOLLOW == 0, flags&linux.AT_EMPTY_PATH != 0)
	if errno != 0 {
		return 0, errno
	}
	defer pop.release()
	stx, err := t.Kernel().VFS().StatAt(t.Ctx(), t.Credentials(), &pop.PathOperation, mask)
	if err != nil {
		return 0, errnoOf(err)
	}
	var b [linux.StatxSize]byte
	stx.Encode(b[:])
	if _, err := t.MemoryManager().CopyOut(addr, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	return 0, 0
}
