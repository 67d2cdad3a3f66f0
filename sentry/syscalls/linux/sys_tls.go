package linux

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

// ArchPrctl implements arch_prctl(2) for the FS and GS bases.
func ArchPrctl(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	code, addr := args[0].Int(), args[1].Pointer()
	ac := t.Arch()
	switch code {
	case linux.ARCH_SET_FS:
		if !ac.SetTLS(addr) {
			return 0, unix.EPERM
		}
	case linux.ARCH_SET_GS:
		if !ac.SetGSBase(addr) {
			return 0, unix.EPERM
		}
	case linux.ARCH_GET_FS:
		if err := t.MemoryManager().CopyOutUint64(addr, uint64(ac.TLS())); err != nil {
			return 0, unix.EFAULT
		}
	case linux.ARCH_GET_GS:
		if err := t.MemoryManager().CopyOutUint64(addr, uint64(ac.GSBase())); err != nil {
			return 0, unix.EFAULT
		}
	default:
		return 0, unix.EINVAL
	}
	return 0, 0
}
