package linux

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"golang.org/x/sys/unix"
)

// Limits of the xattr calls (include/uapi/linux/limits.h).
const (
	xattrNameMax = 255
	xattrSizeMax = 65536
	xattrListMax = 65536
)

// xattrPath resolves the path argument of getxattr/lgetxattr and friends.
func xattrPath(t *kernel.Task, addr uintptr, follow bool) (vfs.VirtualDentry, linux.Errno) {
	pop, errno := pathArg(t, linux.AT_FDCWD, addr, follow, false)
	if errno != 0 {
		return vfs.VirtualDentry{}, errno
	}
	defer pop.release()
	vd, err := t.Kernel().VFS().GetFileAt(t.Ctx(), t.Credentials(), &pop.PathOperation)
	if err != nil {
		return vfs.VirtualDentry{}, errnoOf(err)
	}
	return vd, 0
}

// xattrFD returns the position of the file open at fd.
func xattrFD(t *kernel.Task, fd int32) (vfs.VirtualDentry, linux.Errno) {
	f, errno := getFile(t, fd)
	if errno != 0 {
		return vfs.VirtualDentry{}, errno
	}
	defer f.DecRef(t.Ctx())
	if f.IsPath() {
		return vfs.VirtualDentry{}, unix.EBADF
	}
	vd := f.VirtualDentry()
	vd.IncRef()
	return vd, 0
}

// copyOutSized writes value to (addr, size) with the xattr calls' size
// rules: size 0 asks for the length, a smaller buffer is ERANGE.
func copyOutSized(t *kernel.Task, addr uintptr, size uint64, value []byte, max int) (uintptr, linux.Errno) {
	if size == 0 {
		return uintptr(len(value)), 0
	}
	if uint64(len(value)) > size {
		if len(value) > max {
			return 0, unix.E2BIG
		}
		return 0, unix.ERANGE
	}
	if _, err := t.MemoryManager().CopyOut(addr, value); err != nil {
		return 0, unix.EFAULT
	}
	return uintptr(len(value)), 0
}

// getXattr is the body of getxattr, lgetxattr and fgetxattr.
func getXattr(t *kernel.Task, vd vfs.VirtualDentry, nameAddr, valueAddr uintptr, size uint64) (uintptr, linux.Errno) {
	defer vd.DecRef()
	name, err := t.MemoryManager().CopyInString(nameAddr, xattrNameMax)
	if err != nil {
		if err == unix.ENAMETOOLONG {
			return 0, unix.ERANGE
		}
		return 0, errnoOf(err)
	}
	if name == "" {
		return 0, unix.ERANGE
	}
	value, err := vfs.GetXattr(t.Ctx(), t.Credentials(), vd, name)
	if err != nil {
		return 0, errnoOf(err)
	}
	return copyOutSized(t, valueAddr, min(size, xattrSizeMax), []byte(value), xattrSizeMax)
}

// Getxattr implements getxattr(2).
func Getxattr(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	vd, errno := xattrPath(t, args[0].Pointer(), true)
	if errno != 0 {
		return 0, errno
	}
	return getXattr(t, vd, args[1].Pointer(), args[2].Pointer(), args[3].SizeT())
}

// Lgetxattr implements lgetxattr(2).
func Lgetxattr(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	vd, errno := xattrPath(t, args[0].Pointer(), false)
	if errno != 0 {
		return 0, errno
	}
	return getXattr(t, vd, args[1].Pointer(), args[2].Pointer(), args[3].SizeT())
}

// Fgetxattr implements fgetxattr(2).
func Fgetxattr(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	vd, errno := xattrFD(t, args[0].Int())
	if errno != 0 {
		return 0, errno
	}
	return getXattr(t, vd, args[1].Pointer(), args[2].Pointer(), args[3].SizeT())
}

// listXattr is the body of listxattr, llistxattr and flistxattr: the
// names, each NUL-terminated.
func listXattr(t *kernel.Task, vd vfs.VirtualDentry, addr uintptr, size uint64) (uintptr, linux.Errno) {
	defer vd.DecRef()
	names, err := vfs.ListXattr(t.Ctx(), t.Credentials(), vd)
	if err != nil {
		return 0, errnoOf(err)
	}
	var b []byte
	for _, n := range names {
		b = append(append(b, n...), 0)
	}
	return copyOutSized(t, addr, min(size, xattrListMax), b, xattrListMax)
}

// Listxattr implements listxattr(2).
func Listxattr(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	vd, errno := xattrPath(t, args[0].Pointer(), true)
	if errno != 0 {
		return 0, errno
	}
	return listXattr(t, vd, args[1].Pointer(), args[2].SizeT())
}

// Llistxattr implements llistxattr(2).
func Llistxattr(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	vd, errno := xattrPath(t, args[0].Pointer(), false)
	if errno != 0 {
		return 0, errno
	}
	return listXattr(t, vd, args[1].Pointer(), args[2].SizeT())
}

// Flistxattr implements flistxattr(2).
func Flistxattr(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	vd, errno := xattrFD(t, args[0].Int())
	if errno != 0 {
		return 0, errno
	}
	return listXattr(t, vd, args[1].Pointer(), args[2].SizeT())
}
