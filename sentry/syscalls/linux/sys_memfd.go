package linux

import (
	"errors"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/tmpfs"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"golang.org/x/sys/unix"
)

func init() { registrars = append(registrars, registerMemfd) }

// registerMemfd registers memfd_create.
func registerMemfd(b *tableBuilder) {
	b.partial(linux.SYS_MEMFD_CREATE, MemfdCreate, "tmpfs-backed; MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_NOEXEC_SEAL, MFD_EXEC; MFD_HUGETLB is EINVAL; F_SEAL_WRITE does not check for writable shared mappings")
}

// memfdNameMax is the longest name memfd_create accepts: NAME_MAX less
// the "memfd:" prefix.
const memfdNameMax = linux.NAME_MAX - len("memfd:")

// memfdFlags are the flags memfd_create accepts here.
const memfdFlags = unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING | unix.MFD_NOEXEC_SEAL | unix.MFD_EXEC

// MemfdCreate implements memfd_create(2).
func MemfdCreate(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	addr, flags := args[0].Pointer(), args[1].Uint()
	if flags&^uint32(memfdFlags) != 0 {
		return 0, unix.EINVAL
	}
	if flags&unix.MFD_EXEC != 0 && flags&unix.MFD_NOEXEC_SEAL != 0 {
		return 0, unix.EINVAL
	}
	name, err := t.MemoryManager().CopyInString(addr, memfdNameMax)
	if err != nil {
		if errors.Is(err, unix.ENAMETOOLONG) {
			return 0, unix.EINVAL
		}
		return 0, unix.EFAULT
	}
	f, err := tmpfs.NewMemfd(t.Kernel().VFS(), t.Credentials(), name, flags)
	if err != nil {
		return 0, errnoOf(err)
	}
	defer f.DecRef(t.Ctx())
	fd, err := t.FDTable().NewFD(0, f, vfs.FDFlags{CloseOnExec: flags&unix.MFD_CLOEXEC != 0})
	if err != nil {
		return 0, errnoOf(err)
	}
	return uintptr(fd), 0
}

// memfdSeals implements fcntl's F_ADD_SEALS and F_GET_SEALS: EINVAL for
// a file that takes no seals.
func memfdSeals(f *vfs.FileDescription, cmd int32, seals uint32) (uintptr, linux.Errno) {
	s, ok := f.Impl().(tmpfs.Sealable)
	if !ok {
		return 0, unix.EINVAL
	}
	if cmd == unix.F_GET_SEALS {
		return uintptr(s.Seals()), 0
	}
	return 0, errnoOrZero(s.AddSeals(seals, f.IsWritable()))
}
