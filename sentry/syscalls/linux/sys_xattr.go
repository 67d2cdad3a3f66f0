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

// xattrTarget says how an xattr call names its file: by path, following
// a final symlink (getxattr) or not (lgetxattr), or by fd (fgetxattr).
type xattrTarget int

const (
	xattrFollow xattrTarget = iota
	xattrNoFollow
	xattrByFD
)

// xattrFile resolves the first argument of an xattr call named by how.
func xattrFile(t *kernel.Task, how xattrTarget, arg arch.SyscallArgument) (vfs.VirtualDentry, linux.Errno) {
	if how == xattrByFD {
		return xattrFD(t, arg.Int())
	}
	return xattrPath(t, arg.Pointer(), how == xattrFollow)
}

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
	name, errno := copyInXattrName(t, nameAddr)
	if errno != 0 {
		return 0, errno
	}
	value, err := vfs.GetXattr(t.Ctx(), t.Credentials(), vd, name)
	if err != nil {
		return 0, errnoOf(err)
	}
	return copyOutSized(t, valueAddr, min(size, xattrSizeMax), []byte(value), xattrSizeMax)
}

// Getxattr implements getxattr(2).
func Getxattr(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return getXattrCall(t, xattrFollow, args)
}

// Lgetxattr implements lgetxattr(2).
func Lgetxattr(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return getXattrCall(t, xattrNoFollow, args)
}

// Fgetxattr implements fgetxattr(2).
func Fgetxattr(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return getXattrCall(t, xattrByFD, args)
}

// getXattrCall is the body of the getxattr family.
func getXattrCall(t *kernel.Task, how xattrTarget, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	vd, errno := xattrFile(t, how, args[0])
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
	return listXattrCall(t, xattrFollow, args)
}

// Llistxattr implements llistxattr(2).
func Llistxattr(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return listXattrCall(t, xattrNoFollow, args)
}

// Flistxattr implements flistxattr(2).
func Flistxattr(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return listXattrCall(t, xattrByFD, args)
}

// listXattrCall is the body of the listxattr family.
func listXattrCall(t *kernel.Task, how xattrTarget, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	vd, errno := xattrFile(t, how, args[0])
	if errno != 0 {
		return 0, errno
	}
	return listXattr(t, vd, args[1].Pointer(), args[2].SizeT())
}

// setxattr's flags.
const (
	xattrCreate  = 1
	xattrReplace = 2
)

// copyInXattrName reads an xattr name: empty or longer than XATTR_NAME_MAX
// is ERANGE.
func copyInXattrName(t *kernel.Task, addr uintptr) (string, linux.Errno) {
	name, err := t.MemoryManager().CopyInString(addr, xattrNameMax)
	if err != nil {
		if err == unix.ENAMETOOLONG {
			return "", unix.ERANGE
		}
		return "", errnoOf(err)
	}
	if name == "" {
		return "", unix.ERANGE
	}
	return name, 0
}

// setXattrArgs copies in setxattr's name and value, checking them as
// Linux does before it looks at the file.
func setXattrArgs(t *kernel.Task, nameAddr, valueAddr uintptr, size uint64, flags int32) (string, string, linux.Errno) {
	if flags&^(xattrCreate|xattrReplace) != 0 {
		return "", "", unix.EINVAL
	}
	name, errno := copyInXattrName(t, nameAddr)
	if errno != 0 {
		return "", "", errno
	}
	if size > xattrSizeMax {
		return "", "", unix.E2BIG
	}
	value := make([]byte, size)
	if size > 0 {
		if _, err := t.MemoryManager().CopyIn(valueAddr, value); err != nil {
			return "", "", unix.EFAULT
		}
	}
	return name, string(value), 0
}

// setXattr is the body of setxattr, lsetxattr and fsetxattr.
func setXattr(t *kernel.Task, vd vfs.VirtualDentry, name, value string, flags int32) (uintptr, linux.Errno) {
	defer vd.DecRef()
	if err := vfs.SetXattr(t.Ctx(), t.Credentials(), vd, name, value, uint32(flags)); err != nil {
		return 0, errnoOf(err)
	}
	return 0, 0
}

// Setxattr implements setxattr(2).
func Setxattr(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return setXattrCall(t, xattrFollow, args)
}

// Lsetxattr implements lsetxattr(2).
func Lsetxattr(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return setXattrCall(t, xattrNoFollow, args)
}

// Fsetxattr implements fsetxattr(2).
func Fsetxattr(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return setXattrCall(t, xattrByFD, args)
}

// setXattrCall is the body of the setxattr family: name and value are
// checked before the file is looked up, as Linux does.
func setXattrCall(t *kernel.Task, how xattrTarget, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	name, value, errno := setXattrArgs(t, args[1].Pointer(), args[2].Pointer(), args[3].SizeT(), args[4].Int())
	if errno != 0 {
		return 0, errno
	}
	vd, errno := xattrFile(t, how, args[0])
	if errno != 0 {
		return 0, errno
	}
	return setXattr(t, vd, name, value, args[4].Int())
}

// removeXattr is the body of removexattr, lremovexattr and fremovexattr.
func removeXattr(t *kernel.Task, vd vfs.VirtualDentry, name string) (uintptr, linux.Errno) {
	defer vd.DecRef()
	if err := vfs.RemoveXattr(t.Ctx(), t.Credentials(), vd, name); err != nil {
		return 0, errnoOf(err)
	}
	return 0, 0
}

// Removexattr implements removexattr(2).
func Removexattr(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return removeXattrCall(t, xattrFollow, args)
}

// Lremovexattr implements lremovexattr(2).
func Lremovexattr(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return removeXattrCall(t, xattrNoFollow, args)
}

// Fremovexattr implements fremovexattr(2).
func Fremovexattr(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return removeXattrCall(t, xattrByFD, args)
}

// removeXattrCall is the body of the removexattr family.
func removeXattrCall(t *kernel.Task, how xattrTarget, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	name, errno := copyInXattrName(t, args[1].Pointer())
	if errno != 0 {
		return 0, errno
	}
	vd, errno := xattrFile(t, how, args[0])
	if errno != 0 {
		return 0, errno
	}
	return removeXattr(t, vd, name)
}

func init() { registrars = append(registrars, registerXattrWrite) }

func registerXattrWrite(b *tableBuilder) {
	b.full(linux.SYS_SETXATTR, Setxattr)
	b.full(linux.SYS_LSETXATTR, Lsetxattr)
	b.full(linux.SYS_FSETXATTR, Fsetxattr)
	b.full(linux.SYS_REMOVEXATTR, Removexattr)
	b.full(linux.SYS_LREMOVEXATTR, Lremovexattr)
	b.full(linux.SYS_FREMOVEXATTR, Fremovexattr)
}
