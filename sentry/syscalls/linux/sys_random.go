package linux

import (
	"crypto/rand"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

// Getrandom implements getrandom(2). The Sentry's source (the host's
// getrandom through crypto/rand) is always initialized, so no flag ever
// makes the call block or fail with EAGAIN.
func Getrandom(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	addr, length, flags := args[0].Pointer(), args[1].SizeT(), args[2].Uint()
	if flags&^(linux.GRND_NONBLOCK|linux.GRND_RANDOM|linux.GRND_INSECURE) != 0 {
		return 0, unix.EINVAL
	}
	if flags&(linux.GRND_RANDOM|linux.GRND_INSECURE) == linux.GRND_RANDOM|linux.GRND_INSECURE {
		return 0, unix.EINVAL
	}
	if errno := checkBuffer(t, addr, length); errno != 0 {
		return 0, errno
	}
	length = min(length, linux.MAX_RW_COUNT)
	if length == 0 {
		return 0, 0
	}
	return result(t.MemoryManager().CopyOutFrom(addr, int(length), func(b []byte) (int, error) {
		return rand.Read(b)
	}))
}
