package linux

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/eventfd"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

func init() { registrars = append(registrars, registerEventfd) }

func registerEventfd(b *tableBuilder) {
	b.full(linux.SYS_EVENTFD, Eventfd)
	b.full(linux.SYS_EVENTFD2, Eventfd2)
}

// eventfd2 makes an eventfd and gives it an fd.
func eventfd2(t *kernel.Task, initval uint32, flags uint32) (uintptr, linux.Errno) {
	f, err := eventfd.New(t.Kernel().VFS(), t.Credentials(), uint64(initval), flags)
	if err != nil {
		return 0, errnoOf(err)
	}
	defer f.DecRef(t.Ctx())
	fd, err := t.FDTable().NewFD(0, f, vfs.FDFlags{CloseOnExec: flags&eventfd.EFD_CLOEXEC != 0})
	if err != nil {
		return 0, errnoOf(err)
	}
	return uintptr(fd), 0
}

// Eventfd implements eventfd(2).
func Eventfd(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return eventfd2(t, args[0].Uint(), 0)
}

// Eventfd2 implements eventfd2(2).
func Eventfd2(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return eventfd2(t, args[0].Uint(), args[1].Uint())
}
