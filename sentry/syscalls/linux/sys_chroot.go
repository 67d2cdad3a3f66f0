package linux

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

func init() { registrars = append(registrars, registerChroot) }

// registerChroot registers chroot.
func registerChroot(b *tableBuilder) {
	b.full(linux.SYS_CHROOT, Chroot)
}

// Chroot implements chroot(2): the directory is looked up (ENOENT,
// ENOTDIR, EACCES without search permission) before CAP_SYS_CHROOT is
// checked (EPERM), as Linux does. The root changes for every task sharing
// the caller's fs context; the cwd stays where it is.
func Chroot(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	pop, errno := pathArg(t, linux.AT_FDCWD, args[0].Pointer(), true, false)
	if errno != 0 {
		return 0, errno
	}
	defer pop.release()
	vd, err := t.Kernel().VFS().GetDentryAt(t.Ctx(), t.Credentials(), &pop.PathOperation)
	if err != nil {
		return 0, errnoOf(err)
	}
	defer vd.DecRef()
	if !t.Credentials().HasCapability(unix.CAP_SYS_CHROOT) {
		return 0, unix.EPERM
	}
	t.FSContext().SetRoot(vd)
	return 0, 0
}
