package linux

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/signalfd"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"golang.org/x/sys/unix"
)

func init() { registrars = append(registrars, registerSignalfd) }

func registerSignalfd(b *tableBuilder) {
	b.full(linux.SYS_SIGNALFD, Signalfd)
	b.full(linux.SYS_SIGNALFD4, Signalfd4)
}

// signalfd4 is the body of signalfd and signalfd4: fd -1 makes a new file,
// another fd must be a signalfd whose mask is replaced.
func signalfd4(t *kernel.Task, fd int32, maskAddr uintptr, size uint64, flags uint32) (uintptr, linux.Errno) {
	if flags&^uint32(signalfd.SFD_CLOEXEC|signalfd.SFD_NONBLOCK) != 0 {
		return 0, unix.EINVAL
	}
	mask, errno := copyInSigset(t, maskAddr, size)
	if errno != 0 {
		return 0, errno
	}
	if fd != -1 {
		f, errno := getFile(t, fd)
		if errno != 0 {
			return 0, errno
		}
		defer f.DecRef(t.Ctx())
		s, ok := f.Impl().(*signalfd.SignalFD)
		if !ok {
			return 0, unix.EINVAL
		}
		s.SetMask(mask)
		return uintptr(fd), 0
	}
	f, err := signalfd.New(t, mask, flags)
	if err != nil {
		return 0, errnoOf(err)
	}
	defer f.DecRef(t.Ctx())
	nfd, err := t.FDTable().NewFD(0, f, vfs.FDFlags{CloseOnExec: flags&signalfd.SFD_CLOEXEC != 0})
	if err != nil {
		return 0, errnoOf(err)
	}
	return uintptr(nfd), 0
}

// Signalfd implements signalfd(2).
func Signalfd(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return signalfd4(t, args[0].Int(), args[1].Pointer(), args[2].SizeT(), 0)
}

// Signalfd4 implements signalfd4(2).
func Signalfd4(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return signalfd4(t, args[0].Int(), args[1].Pointer(), args[2].SizeT(), args[3].Uint())
}
