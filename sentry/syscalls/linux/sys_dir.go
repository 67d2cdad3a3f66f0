package linux

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"golang.org/x/sys/unix"
)

// Getdents64 implements getdents64(2).
func Getdents64(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, addr, size := args[0].Int(), args[1].Pointer(), args[2].Uint()
	f, errno := getFile(t, fd)
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	if errno := checkBuffer(t, addr, uint64(size)); errno != 0 {
		return 0, errno
	}
	// Entries are produced only for the writable part of the buffer,
	// so an entry that would fault stays unread for the next call, as
	// Linux's filldir stops at a failed copy.
	want := int64(min(size, 1<<20))
	avail := want
	if want > 0 {
		avail = t.MemoryManager().SingleIOSequence(addr, uint64(want)).WritablePrefix()
		if avail == 0 {
			return 0, unix.EFAULT
		}
	}
	buf, err := f.Getdents64(t.Ctx(), int(avail))
	if err == unix.EINVAL && avail < want {
		return 0, unix.EFAULT
	}
	if err != nil {
		return 0, errnoOf(err)
	}
	if _, err := t.MemoryManager().CopyOut(addr, buf); err != nil {
		return 0, unix.EFAULT
	}
	return uintptr(len(buf)), 0
}

// Getcwd implements getcwd(2).
func Getcwd(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	addr, size := args[0].Pointer(), args[1].SizeT()
	root, cwd := t.FSContext().Root(), t.FSContext().WorkingDirectory()
	defer root.DecRef()
	defer cwd.DecRef()
	path, err := t.Kernel().VFS().GetcwdPath(root, cwd)
	if err != nil {
		return 0, errnoOf(err)
	}
	b := append([]byte(path), 0)
	if uint64(len(b)) > size {
		return 0, unix.ERANGE
	}
	if _, err := t.MemoryManager().CopyOut(addr, b); err != nil {
		return 0, unix.EFAULT
	}
	return uintptr(len(b)), 0
}

// Chdir implements chdir(2).
func Chdir(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	pop, errno := pathArg(t, linux.AT_FDCWD, args[0].Pointer(), true, false)
	if errno != 0 {
		return 0, errno
	}
	return chdirTo(t, pop)
}

// Fchdir implements fchdir(2).
func Fchdir(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	pop, errno := newPathOperation(t, args[0].Int(), "", true, true)
	if errno != 0 {
		return 0, errno
	}
	return chdirTo(t, pop)
}

// chdirTo makes the directory pop names the cwd, and releases pop.
func chdirTo(t *kernel.Task, pop *pathOperation) (uintptr, linux.Errno) {
	defer pop.release()
	vd, err := t.Kernel().VFS().GetDentryAt(t.Ctx(), t.Credentials(), &pop.PathOperation)
	if err != nil {
		return 0, errnoOf(err)
	}
	defer vd.DecRef()
	t.FSContext().SetWorkingDirectory(vd)
	return 0, 0
}

// mkdirAt is the body of mkdir and mkdirat.
func mkdirAt(t *kernel.Task, dirfd int32, addr uintptr, mode uint32) (uintptr, linux.Errno) {
	pop, errno := pathArg(t, dirfd, addr, false, false)
	if errno != 0 {
		return 0, errno
	}
	defer pop.release()
	mode = (mode & 0o7777) &^ t.FSContext().Umask()
	return 0, errnoOrZero(t.Kernel().VFS().MkdirAt(t.Ctx(), t.Credentials(), &pop.PathOperation, mode))
}

// Mkdir implements mkdir(2).
func Mkdir(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return mkdirAt(t, linux.AT_FDCWD, args[0].Pointer(), args[1].Uint())
}

// Mkdirat implements mkdirat(2).
func Mkdirat(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return mkdirAt(t, args[0].Int(), args[1].Pointer(), args[2].Uint())
}

// Rmdir implements rmdir(2).
func Rmdir(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return unlinkAt(t, linux.AT_FDCWD, args[0].Pointer(), linux.AT_REMOVEDIR)
}

// Unlink implements unlink(2).
func Unlink(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return unlinkAt(t, linux.AT_FDCWD, args[0].Pointer(), 0)
}

// Unlinkat implements unlinkat(2).
func Unlinkat(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return unlinkAt(t, args[0].Int(), args[1].Pointer(), args[2].Uint())
}

func unlinkAt(t *kernel.Task, dirfd int32, addr uintptr, flags uint32) (uintptr, linux.Errno) {
	if flags&^linux.AT_REMOVEDIR != 0 {
		return 0, unix.EINVAL
	}
	pop, errno := pathArg(t, dirfd, addr, false, false)
	if errno != 0 {
		return 0, errno
	}
	defer pop.release()
	v := t.Kernel().VFS()
	if flags&linux.AT_REMOVEDIR != 0 {
		return 0, errnoOrZero(v.RmdirAt(t.Ctx(), t.Credentials(), &pop.PathOperation))
	}
	return 0, errnoOrZero(v.UnlinkAt(t.Ctx(), t.Credentials(), &pop.PathOperation))
}

// renameAt is the body of the rename family.
func renameAt(t *kernel.Task, olddirfd int32, oldAddr uintptr, newdirfd int32, newAddr uintptr, flags uint32) (uintptr, linux.Errno) {
	oldpop, errno := pathArg(t, olddirfd, oldAddr, false, false)
	if errno != 0 {
		return 0, errno
	}
	defer oldpop.release()
	newpop, errno := pathArg(t, newdirfd, newAddr, false, false)
	if errno != 0 {
		return 0, errno
	}
	defer newpop.release()
	return 0, errnoOrZero(t.Kernel().VFS().RenameAt(t.Ctx(), t.Credentials(), &oldpop.PathOperation, &newpop.PathOperation, flags))
}

// Rename implements rename(2).
func Rename(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return renameAt(t, linux.AT_FDCWD, args[0].Pointer(), linux.AT_FDCWD, args[1].Pointer(), 0)
}

// Renameat implements renameat(2).
func Renameat(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return renameAt(t, args[0].Int(), args[1].Pointer(), args[2].Int(), args[3].Pointer(), 0)
}

// Renameat2 implements renameat2(2).
func Renameat2(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return renameAt(t, args[0].Int(), args[1].Pointer(), args[2].Int(), args[3].Pointer(), args[4].Uint())
}

// symlinkAt is the body of symlink and symlinkat.
func symlinkAt(t *kernel.Task, targetAddr uintptr, dirfd int32, linkAddr uintptr) (uintptr, linux.Errno) {
	target, errno := copyInPath(t, targetAddr)
	if errno != 0 {
		return 0, errno
	}
	if target == "" {
		return 0, unix.ENOENT
	}
	pop, errno := pathArg(t, dirfd, linkAddr, false, false)
	if errno != 0 {
		return 0, errno
	}
	defer pop.release()
	return 0, errnoOrZero(t.Kernel().VFS().SymlinkAt(t.Ctx(), t.Credentials(), &pop.PathOperation, target))
}

// Symlink implements symlink(2).
func Symlink(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return symlinkAt(t, args[0].Pointer(), linux.AT_FDCWD, args[1].Pointer())
}

// Symlinkat implements symlinkat(2).
func Symlinkat(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return symlinkAt(t, args[0].Pointer(), args[1].Int(), args[2].Pointer())
}

// linkAt is the body of link and linkat.
func linkAt(t *kernel.Task, olddirfd int32, oldAddr uintptr, newdirfd int32, newAddr uintptr, flags uint32) (uintptr, linux.Errno) {
	if flags&^(linux.AT_SYMLINK_FOLLOW|linux.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	oldpop, errno := pathArg(t, olddirfd, oldAddr, flags&linux.AT_SYMLINK_FOLLOW != 0, flags&linux.AT_EMPTY_PATH != 0)
	if errno != 0 {
		return 0, errno
	}
	defer oldpop.release()
	newpop, errno := pathArg(t, newdirfd, newAddr, false, false)
	if errno != 0 {
		return 0, errno
	}
	defer newpop.release()
	return 0, errnoOrZero(t.Kernel().VFS().LinkAt(t.Ctx(), t.Credentials(), &oldpop.PathOperation, &newpop.PathOperation))
}

// Link implements link(2).
func Link(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return linkAt(t, linux.AT_FDCWD, args[0].Pointer(), linux.AT_FDCWD, args[1].Pointer(), 0)
}

// Linkat implements linkat(2).
func Linkat(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return linkAt(t, args[0].Int(), args[1].Pointer(), args[2].Int(), args[3].Pointer(), args[4].Uint())
}

// readlinkAt is the body of readlink and readlinkat.
func readlinkAt(t *kernel.Task, dirfd int32, pathAddr, bufAddr uintptr, size int32) (uintptr, linux.Errno) {
	if size <= 0 {
		return 0, unix.EINVAL
	}
	pop, errno := pathArg(t, dirfd, pathAddr, false, true)
	if errno != 0 {
		return 0, errno
	}
	defer pop.release()
	target, err := t.Kernel().VFS().ReadlinkAt(t.Ctx(), t.Credentials(), &pop.PathOperation)
	if err != nil {
		return 0, errnoOf(err)
	}
	b := []byte(target)
	if len(b) > int(size) {
		b = b[:size]
	}
	if _, err := t.MemoryManager().CopyOut(bufAddr, b); err != nil {
		return 0, unix.EFAULT
	}
	return uintptr(len(b)), 0
}

// Readlink implements readlink(2).
func Readlink(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return readlinkAt(t, linux.AT_FDCWD, args[0].Pointer(), args[1].Pointer(), args[2].Int())
}

// Readlinkat implements readlinkat(2).
func Readlinkat(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return readlinkAt(t, args[0].Int(), args[1].Pointer(), args[2].Pointer(), args[3].Int())
}

// accessAt is the body of access, faccessat and faccessat2. Without
// AT_EACCESS the check uses the real ids, as Linux does.
func accessAt(t *kernel.Task, dirfd int32, addr uintptr, mode, flags uint32) (uintptr, linux.Errno) {
	if mode&^0o7 != 0 || flags&^(linux.AT_EACCESS|linux.AT_SYMLINK_NOFOLLOW|linux.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	pop, errno := pathArg(t, dirfd, addr, flags&linux.AT_SYMLINK_NOFOLLOW == 0, flags&linux.AT_EMPTY_PATH != 0)
	if errno != 0 {
		return 0, errno
	}
	defer pop.release()
	creds := *t.Credentials()
	if flags&linux.AT_EACCESS == 0 {
		creds.FSUID, creds.FSGID = creds.RealUID, creds.RealGID
	}
	return 0, errnoOrZero(t.Kernel().VFS().AccessAt(t.Ctx(), &creds, &pop.PathOperation, vfs.AccessTypes(mode)))
}

// Access implements access(2).
func Access(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return accessAt(t, linux.AT_FDCWD, args[0].Pointer(), args[1].Uint(), 0)
}

// Faccessat implements faccessat(2) (which has no flags argument).
func Faccessat(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return accessAt(t, args[0].Int(), args[1].Pointer(), args[2].Uint(), 0)
}

// Faccessat2 implements faccessat2(2).
func Faccessat2(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return accessAt(t, args[0].Int(), args[1].Pointer(), args[2].Uint(), args[3].Uint())
}

// Umask implements umask(2).
func Umask(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return uintptr(t.FSContext().SwapUmask(args[0].Uint())), 0
}

// errnoOrZero returns err's errno, or 0 for nil.
func errnoOrZero(err error) linux.Errno {
	if err == nil {
		return 0
	}
	return errnoOf(err)
}
