package linux

import (
	"encoding/binary"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"golang.org/x/sys/unix"
)

func init() { registrars = append(registrars, registerIdentity) }

// setuidNote is the caveat of the calls that may change the real user ID.
// (Like Linux's, these calls change the calling thread only; glibc makes
// them process-wide by signalling every thread to repeat the call.)
const setuidNote = "RLIMIT_NPROC of the new user is not checked (Linux makes the next execve fail with EAGAIN when over it)"

// registerIdentity registers the user, group and supplementary group
// calls.
func registerIdentity(b *tableBuilder) {
	b.full(linux.SYS_GETUID, Getuid)
	b.full(linux.SYS_GETEUID, Geteuid)
	b.full(linux.SYS_GETGID, Getgid)
	b.full(linux.SYS_GETEGID, Getegid)
	b.full(linux.SYS_GETRESUID, Getresuid)
	b.full(linux.SYS_GETRESGID, Getresgid)
	b.full(linux.SYS_GETGROUPS, Getgroups)
	b.partial(linux.SYS_SETUID, Setuid, setuidNote)
	b.partial(linux.SYS_SETREUID, Setreuid, setuidNote)
	b.partial(linux.SYS_SETRESUID, Setresuid, setuidNote)
	b.full(linux.SYS_SETGID, Setgid)
	b.full(linux.SYS_SETREGID, Setregid)
	b.full(linux.SYS_SETRESGID, Setresgid)
	b.full(linux.SYS_SETFSUID, Setfsuid)
	b.full(linux.SYS_SETFSGID, Setfsgid)
	b.full(linux.SYS_SETGROUPS, Setgroups)
}

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

// copyOutIDs writes ids as consecutive uid_t/gid_t values to the
// addresses, in order, stopping at the first that faults (EFAULT), as
// getresuid(2) does.
func copyOutIDs(t *kernel.Task, addrs [3]uintptr, ids [3]uint32) linux.Errno {
	for i, addr := range addrs {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], ids[i])
		if _, err := t.MemoryManager().CopyOut(addr, b[:]); err != nil {
			return unix.EFAULT
		}
	}
	return 0
}

// Getresuid implements getresuid(2).
func Getresuid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	c := t.Credentials()
	return 0, copyOutIDs(t, [3]uintptr{args[0].Pointer(), args[1].Pointer(), args[2].Pointer()},
		[3]uint32{c.RealUID, c.EffectiveUID, c.SavedUID})
}

// Getresgid implements getresgid(2).
func Getresgid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	c := t.Credentials()
	return 0, copyOutIDs(t, [3]uintptr{args[0].Pointer(), args[1].Pointer(), args[2].Pointer()},
		[3]uint32{c.RealGID, c.EffectiveGID, c.SavedGID})
}

// setCredentials installs the result of a credential transition.
func setCredentials(t *kernel.Task, c *vfs.Credentials, err error) (uintptr, linux.Errno) {
	if err != nil {
		return 0, errnoOf(err)
	}
	if c != t.Credentials() {
		t.SetCredentials(c)
	}
	return 0, 0
}

// Setuid implements setuid(2).
func Setuid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	c, err := t.Credentials().SetUID(args[0].Uint())
	return setCredentials(t, c, err)
}

// Setgid implements setgid(2).
func Setgid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	c, err := t.Credentials().SetGID(args[0].Uint())
	return setCredentials(t, c, err)
}

// Setreuid implements setreuid(2).
func Setreuid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	c, err := t.Credentials().SetREUID(args[0].Uint(), args[1].Uint())
	return setCredentials(t, c, err)
}

// Setregid implements setregid(2).
func Setregid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	c, err := t.Credentials().SetREGID(args[0].Uint(), args[1].Uint())
	return setCredentials(t, c, err)
}

// Setresuid implements setresuid(2).
func Setresuid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	c, err := t.Credentials().SetRESUID(args[0].Uint(), args[1].Uint(), args[2].Uint())
	return setCredentials(t, c, err)
}

// Setresgid implements setresgid(2).
func Setresgid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	c, err := t.Credentials().SetRESGID(args[0].Uint(), args[1].Uint(), args[2].Uint())
	return setCredentials(t, c, err)
}

// Setfsuid implements setfsuid(2): it returns the previous filesystem
// user ID whether or not the change was allowed.
func Setfsuid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	old := t.Credentials()
	if c := old.SetFSUID(args[0].Uint()); c != old {
		t.SetCredentials(c)
	}
	return uintptr(old.FSUID), 0
}

// Setfsgid implements setfsgid(2): it returns the previous filesystem
// group ID whether or not the change was allowed.
func Setfsgid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	old := t.Credentials()
	if c := old.SetFSGID(args[0].Uint()); c != old {
		t.SetCredentials(c)
	}
	return uintptr(old.FSGID), 0
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

// Setgroups implements setgroups(2): the permission check comes before
// the size check (an unprivileged caller gets EPERM for any size), and
// the size is bounded by NGROUPS_MAX before anything is allocated.
func Setgroups(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	size, addr := args[0].Int(), args[1].Pointer()
	old := t.Credentials()
	if !old.HasCapability(unix.CAP_SETGID) {
		return 0, unix.EPERM
	}
	if size < 0 || size > vfs.NGroupsMax {
		return 0, unix.EINVAL
	}
	b := make([]byte, 4*int(size))
	if _, err := t.MemoryManager().CopyIn(addr, b); err != nil {
		return 0, unix.EFAULT
	}
	groups := make([]uint32, size)
	for i := range groups {
		groups[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	c, err := old.SetGroups(groups)
	return setCredentials(t, c, err)
}
