package linux

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

// Uname implements uname(2).
func Uname(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	u := t.Kernel().Utsname()
	var b [linux.UtsnameSize]byte
	u.Encode(b[:])
	if _, err := t.MemoryManager().CopyOut(args[0].Pointer(), b[:]); err != nil {
		return 0, unix.EFAULT
	}
	return 0, 0
}
