package linux

import (
	"encoding/binary"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

// Getuid implements getuid(2).
func Getuid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return uintptr(t.Credentials().RealUID), 0
}

// Geteuid implements geteuid(2).
func Geteuid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return uintptr(t.Credentials().EffectiveUID), 0
}

// Getgid implements getgid(2).
func Getgid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return uintptr(t.Credentials().RealGID), 0
}

// Getegid implements getegid(2).
func Getegid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return uintptr(t.Credentials().EffectiveGID), 0
}

// Getgroups implements getgroups(2): with size 0 it returns the count;
// a smaller non-zero size is EINVAL.
func Getgroups(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	size, addr := args[0].Int(), args[1].Pointer()
	groups := t.Credentials().Groups
	if size < 0 {
		return 0, unix.EINVAL
	}
	if size == 0 {
		return uintptr(len(groups)), 0
	}
	if int(size) < len(groups) {
		return 0, unix.EINVAL
	}
	b := make([]byte, 4*len(groups))
	for i, g := range groups {
		binary.LittleEndian.PutUint32(b[4*i:], g)
	}
	if _, err := t.MemoryManager().CopyOut(addr, b); err != nil {
		return 0, unix.EFAULT
	}
	return uintptr(len(groups)), 0
}
