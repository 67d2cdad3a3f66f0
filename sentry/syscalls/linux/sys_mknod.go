package linux

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

func init() { registrars = append(registrars, registerMknod) }

// registerMknod registers mknod and mknodat.
func registerMknod(b *tableBuilder) {
	const note = "regular files, FIFOs and sockets; device nodes are refused with EPERM even with CAP_MKNOD (the sandbox serves no devices but its own /dev)"
	b.partial(linux.SYS_MKNOD, Mknod, note)
	b.partial(linux.SYS_MKNODAT, Mknodat, note)
}

// mknodAt is the body of mknod and mknodat, in Linux's order: the file
// type first (EPERM for a directory, EINVAL for an unknown type), then
// the path (EEXIST), then the device check.
func mknodAt(t *kernel.Task, dirfd int32, addr uintptr, mode, dev uint32) (uintptr, linux.Errno) {
	typ := mode & linux.S_IFMT
	switch typ {
	case 0, linux.S_IFREG, linux.S_IFIFO, linux.S_IFSOCK, linux.S_IFCHR, linux.S_IFBLK:
	case linux.S_IFDIR:
		return 0, unix.EPERM
	default:
		return 0, unix.EINVAL
	}
	pop, errno := pathArg(t, dirfd, addr, false, false)
	if errno != 0 {
		return 0, errno
	}
	defer pop.release()
	v := t.Kernel().VFS()
	if typ == linux.S_IFCHR || typ == linux.S_IFBLK {
		// Device nodes are never made: the guest cannot reach host
		// devices, and the Sentry's own are in its /dev.
		if _, err := v.StatAt(t.Ctx(), t.Credentials(), &pop.PathOperation, linux.STATX_TYPE); err == nil {
			return 0, unix.EEXIST
		} else if err != unix.ENOENT {
			return 0, errnoOf(err)
		}
		return 0, unix.EPERM
	}
	mode = typ | (mode&0o7777)&^t.FSContext().Umask()
	return 0, errnoOrZero(v.MknodAt(t.Ctx(), t.Credentials(), &pop.PathOperation, mode, linux.MakeDev(unix.Major(uint64(dev)), unix.Minor(uint64(dev)))))
}

// Mknod implements mknod(2).
func Mknod(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return mknodAt(t, linux.AT_FDCWD, args[0].Pointer(), args[1].Uint(), args[2].Uint())
}

// Mknodat implements mknodat(2).
func Mknodat(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return mknodAt(t, args[0].Int(), args[1].Pointer(), args[2].Uint(), args[3].Uint())
}
