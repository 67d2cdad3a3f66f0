package linux

import (
	"encoding/binary"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"golang.org/x/sys/unix"
)

func init() { registrars = append(registrars, registerCapability) }

// registerCapability registers capget and capset.
func registerCapability(b *tableBuilder) {
	b.full(linux.SYS_CAPGET, Capget)
	b.full(linux.SYS_CAPSET, Capset)
}

// The capget/capset ABI (capget(2)): a header of struct
// __user_cap_header_struct { u32 version; int pid; } and, after it, one
// (version 1) or two (versions 2 and 3) struct __user_cap_data_struct
// { u32 effective, permitted, inheritable; }, the second holding
// capabilities 32 to 63.
const capDataSize = 12

// capDataCount returns how many data structs the header's version uses,
// EINVAL for an unknown version, which Linux answers by writing the
// version it prefers into the header (EFAULT if it cannot).
func capDataCount(t *kernel.Task, hdr uintptr) (int, linux.Errno) {
	var b [4]byte
	if _, err := t.MemoryManager().CopyIn(hdr, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	switch binary.LittleEndian.Uint32(b[:]) {
	case unix.LINUX_CAPABILITY_VERSION_1:
		return 1, 0
	case unix.LINUX_CAPABILITY_VERSION_2, unix.LINUX_CAPABILITY_VERSION_3:
		return 2, 0
	}
	binary.LittleEndian.PutUint32(b[:], unix.LINUX_CAPABILITY_VERSION_3)
	if _, err := t.MemoryManager().CopyOut(hdr, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	return 0, unix.EINVAL
}

// capPid reads the header's pid field.
func capPid(t *kernel.Task, hdr uintptr) (int32, linux.Errno) {
	var b [4]byte
	if _, err := t.MemoryManager().CopyIn(hdr+4, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	return int32(binary.LittleEndian.Uint32(b[:])), 0
}

// Capget implements capget(2) for the caller (pid 0) or any task (by
// thread ID). With a NULL data pointer and an unknown version it succeeds
// after writing the preferred version, which is how programs probe for
// it.
func Capget(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	hdr, data := args[0].Pointer(), args[1].Pointer()
	n, errno := capDataCount(t, hdr)
	if data == 0 && (errno == 0 || errno == unix.EINVAL) {
		return 0, 0
	}
	if errno != 0 {
		return 0, errno
	}
	pid, errno := capPid(t, hdr)
	if errno != 0 {
		return 0, errno
	}
	if pid < 0 {
		return 0, unix.EINVAL
	}
	target := t
	if pid != 0 {
		if target = t.Kernel().TaskByTID(pid); target == nil {
			return 0, unix.ESRCH
		}
	}
	c := target.Credentials()
	var b [2 * capDataSize]byte
	for i := range 2 {
		shift := 32 * i
		binary.LittleEndian.PutUint32(b[i*capDataSize:], uint32(c.EffectiveCaps>>shift))
		binary.LittleEndian.PutUint32(b[i*capDataSize+4:], uint32(c.PermittedCaps>>shift))
		binary.LittleEndian.PutUint32(b[i*capDataSize+8:], uint32(c.InheritableCaps>>shift))
	}
	if _, err := t.MemoryManager().CopyOut(data, b[:n*capDataSize]); err != nil {
		return 0, unix.EFAULT
	}
	return 0, 0
}

// Capset implements capset(2): only the caller's own sets may change
// (another pid is EPERM); with version 1 capabilities 32 and up are
// cleared.
func Capset(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	hdr, data := args[0].Pointer(), args[1].Pointer()
	n, errno := capDataCount(t, hdr)
	if errno != 0 {
		return 0, errno
	}
	pid, errno := capPid(t, hdr)
	if errno != 0 {
		return 0, errno
	}
	if pid != 0 && pid != t.ThreadID() {
		return 0, unix.EPERM
	}
	var b [2 * capDataSize]byte
	if _, err := t.MemoryManager().CopyIn(data, b[:n*capDataSize]); err != nil {
		return 0, unix.EFAULT
	}
	var sets [3]vfs.CapabilitySet
	for i := range 2 {
		for j := range sets {
			sets[j] |= vfs.CapabilitySet(binary.LittleEndian.Uint32(b[i*capDataSize+4*j:])) << (32 * i)
		}
	}
	c, err := t.Credentials().SetCapabilities(sets[0], sets[1], sets[2])
	return setCredentials(t, c, err)
}
