package linux

import (
	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
)

// copyInRLimit reads a struct rlimit64 (on amd64 also struct rlimit).
func copyInRLimit(t *kernel.Task, addr uintptr) (linux.RLimit64, linux.Errno) {
	var b [linux.RLimit64Size]byte
	if _, err := t.MemoryManager().CopyIn(addr, b[:]); err != nil {
		return linux.RLimit64{}, unix.EFAULT
	}
	return linux.DecodeRLimit64(b[:]), 0
}

// copyOutRLimit writes a struct rlimit64 (on amd64 also struct rlimit).
func copyOutRLimit(t *kernel.Task, addr uintptr, r linux.RLimit64) linux.Errno {
	var b [linux.RLimit64Size]byte
	r.Encode(b[:])
	if _, err := t.MemoryManager().CopyOut(addr, b[:]); err != nil {
		return unix.EFAULT
	}
	return 0
}

// mayRaiseHardLimit reports whether t holds CAP_SYS_RESOURCE.
func mayRaiseHardLimit(t *kernel.Task) bool {
	return t.Credentials().HasCapability(unix.CAP_SYS_RESOURCE)
}

// Getrlimit implements getrlimit(2).
func Getrlimit(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	resource, addr := int(args[0].Uint()), args[1].Pointer()
	lim, err := t.ThreadGroup().Limits().Get(resource)
	if err != nil {
		return 0, errnoOf(err)
	}
	return 0, copyOutRLimit(t, addr, lim)
}

// Setrlimit implements setrlimit(2).
func Setrlimit(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	resource, addr := int(args[0].Uint()), args[1].Pointer()
	lim, errno := copyInRLimit(t, addr)
	if errno != 0 {
		return 0, errno
	}
	if _, err := t.ThreadGroup().Limits().Set(resource, lim, mayRaiseHardLimit(t)); err != nil {
		return 0, errnoOf(err)
	}
	return 0, 0
}

// Prlimit64 implements prlimit64(2): new limits (if newAddr is not NULL)
// are read before the target is found, and the old ones written (if
// oldAddr is not NULL) after the change, as Linux does.
func Prlimit64(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	pid, resource := args[0].Int(), int(args[1].Uint())
	newAddr, oldAddr := args[2].Pointer(), args[3].Pointer()
	var lim linux.RLimit64
	if newAddr != 0 {
		var errno linux.Errno
		if lim, errno = copyInRLimit(t, newAddr); errno != 0 {
			return 0, errno
		}
	}
	limits, err := t.PrlimitTarget(pid)
	if err != nil {
		return 0, errnoOf(err)
	}
	var old linux.RLimit64
	if newAddr != 0 {
		old, err = limits.Set(resource, lim, mayRaiseHardLimit(t))
	} else {
		old, err = limits.Get(resource)
	}
	if err != nil {
		return 0, errnoOf(err)
	}
	if oldAddr != 0 {
		return 0, copyOutRLimit(t, oldAddr, old)
	}
	return 0, 0
}
