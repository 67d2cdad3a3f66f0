package linux

import (
	"encoding/binary"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/host"
	"github.com/palisade-sandbox/palisade/fsimpl/pipe"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"golang.org/x/sys/unix"
)

// Generic file ioctls (include/uapi/asm-generic/ioctls.h).
const (
	ioctlFIONREAD = 0x541b
	ioctlFIONBIO  = 0x5421
	ioctlFIONCLEX = 0x5450
	ioctlFIOCLEX  = 0x5451
)

// Dup implements dup(2).
func Dup(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, err := t.FDTable().Dup(args[0].Int(), 0, false)
	if err != nil {
		return 0, errnoOf(err)
	}
	return uintptr(fd), 0
}

// Dup2 implements dup2(2).
func Dup2(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, err := t.FDTable().Dup2(t.Ctx(), args[0].Int(), args[1].Int())
	if err != nil {
		return 0, errnoOf(err)
	}
	return uintptr(fd), 0
}

// Dup3 implements dup3(2).
func Dup3(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, err := t.FDTable().Dup3(t.Ctx(), args[0].Int(), args[1].Int(), args[2].Uint())
	if err != nil {
		return 0, errnoOf(err)
	}
	return uintptr(fd), 0
}

// Fcntl implements fcntl(2): duplication, descriptor and status flags.
// Record locks and the other commands come later (EINVAL).
func Fcntl(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, cmd, arg := args[0].Int(), args[1].Int(), args[2]
	table := t.FDTable()
	switch cmd {
	case unix.F_DUPFD, unix.F_DUPFD_CLOEXEC:
		if arg.Int() < 0 {
			return 0, unix.EINVAL
		}
		nfd, err := table.Dup(fd, arg.Int(), cmd == unix.F_DUPFD_CLOEXEC)
		if err != nil {
			return 0, errnoOf(err)
		}
		return uintptr(nfd), 0
	}
	f, flags := table.Get(fd)
	if f == nil {
		return 0, unix.EBADF
	}
	defer f.DecRef(t.Ctx())
	switch cmd {
	case unix.F_GETFD:
		if flags.CloseOnExec {
			return unix.FD_CLOEXEC, 0
		}
		return 0, 0
	case unix.F_SETFD:
		return 0, errnoOrZero(table.SetFlags(fd, vfs.FDFlags{CloseOnExec: arg.Int()&unix.FD_CLOEXEC != 0}))
	case unix.F_GETFL:
		return uintptr(f.StatusFlags()), 0
	case unix.F_SETFL:
		f.SetStatusFlags(arg.Uint())
		return 0, 0
	}
	return 0, unix.EINVAL
}

// Ioctl implements ioctl(2): the generic file requests here, the rest as
// each file answers them (host terminals reach guest memory through the
// context).
func Ioctl(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, cmd, arg := args[0].Int(), args[1].Uint(), args[2].Pointer()
	f, errno := getFile(t, fd)
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	switch cmd {
	case ioctlFIOCLEX, ioctlFIONCLEX:
		return 0, errnoOrZero(t.FDTable().SetFlags(fd, vfs.FDFlags{CloseOnExec: cmd == ioctlFIOCLEX}))
	case ioctlFIONBIO:
		var b [4]byte
		if _, err := t.MemoryManager().CopyIn(arg, b[:]); err != nil {
			return 0, unix.EFAULT
		}
		fl := f.StatusFlags() &^ linux.O_NONBLOCK
		if binary.LittleEndian.Uint32(b[:]) != 0 {
			fl |= linux.O_NONBLOCK
		}
		f.SetStatusFlags(fl)
		return 0, 0
	case ioctlFIONREAD:
		// Implementations answer with the count as the result.
		n, err := f.Ioctl(t.Ctx(), cmd, arg)
		if err != nil {
			return 0, errnoOf(err)
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(n))
		if _, err := t.MemoryManager().CopyOut(arg, b[:]); err != nil {
			return 0, unix.EFAULT
		}
		return 0, 0
	}
	n, err := f.Ioctl(host.WithGuestMemory(t.Ctx(), t.MemoryManager()), cmd, arg)
	return n, errnoOrZero(err)
}

// Fsync implements fsync(2).
func Fsync(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	f, errno := getFile(t, args[0].Int())
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	return 0, errnoOrZero(f.Sync(t.Ctx()))
}

// Ftruncate implements ftruncate(2).
func Ftruncate(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, length := args[0].Int(), args[1].Int64()
	if length < 0 {
		return 0, unix.EINVAL
	}
	f, errno := getFile(t, fd)
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	if !f.IsWritable() {
		return 0, unix.EINVAL
	}
	opts := vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_SIZE, Size: uint64(length)}}
	return 0, errnoOrZero(f.SetStat(t.Ctx(), t.Credentials(), opts))
}

// Pipe implements pipe(2).
func Pipe(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return pipe2(t, args[0].Pointer(), 0)
}

// Pipe2 implements pipe2(2).
func Pipe2(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return pipe2(t, args[0].Pointer(), args[1].Uint())
}

func pipe2(t *kernel.Task, addr uintptr, flags uint32) (uintptr, linux.Errno) {
	if flags&^(linux.O_NONBLOCK|linux.O_CLOEXEC) != 0 {
		return 0, unix.EINVAL
	}
	r, w, err := pipe.NewPair(t.Ctx(), t.Kernel().VFS(), t.Credentials(), flags)
	if err != nil {
		return 0, errnoOf(err)
	}
	defer r.DecRef(t.Ctx())
	defer w.DecRef(t.Ctx())
	fdFlags := vfs.FDFlags{CloseOnExec: flags&linux.O_CLOEXEC != 0}
	table := t.FDTable()
	rfd, err := table.NewFD(0, r, fdFlags)
	if err != nil {
		return 0, errnoOf(err)
	}
	wfd, err := table.NewFD(0, w, fdFlags)
	if err != nil {
		table.Close(t.Ctx(), rfd)
		return 0, errnoOf(err)
	}
	var b [8]byte
	binary.LittleEndian.PutUint32(b[0:], uint32(rfd))
	binary.LittleEndian.PutUint32(b[4:], uint32(wfd))
	if _, err := t.MemoryManager().CopyOut(addr, b[:]); err != nil {
		table.Close(t.Ctx(), rfd)
		table.Close(t.Ctx(), wfd)
		return 0, unix.EFAULT
	}
	return 0, 0
}
