package linux

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"golang.org/x/sys/unix"
)

func init() { registrars = append(registrars, registerStatfs) }

// registerStatfs registers statfs and fstatfs.
func registerStatfs(b *tableBuilder) {
	b.full(linux.SYS_STATFS, Statfs)
	b.full(linux.SYS_FSTATFS, Fstatfs)
}

// statfs f_flags bits (include/linux/statfs.h).
const (
	stRdonly = 0x1
	stNosuid = 0x2
	stNodev  = 0x4
	stNoexec = 0x8
	stValid  = 0x20
)

// statfsVD returns statfs for the file at vd: the filesystem's numbers,
// with f_flags from the mount (ST_VALID and the mount's ST_* flags) and
// f_frsize and f_namelen defaulted as Linux's filesystems report them.
func statfsVD(t *kernel.Task, vd vfs.VirtualDentry) (linux.Statfs, linux.Errno) {
	st, err := vd.Dentry.Filesystem().Impl().StatFS(t.Ctx())
	if err != nil {
		return st, errnoOf(err)
	}
	mf := vd.Mount.Flags()
	st.Flags = stValid
	if mf.ReadOnly {
		st.Flags |= stRdonly
	}
	if mf.NoSuid {
		st.Flags |= stNosuid
	}
	if mf.NoDev {
		st.Flags |= stNodev
	}
	if mf.NoExec {
		st.Flags |= stNoexec
	}
	if st.FragmentSize == 0 {
		st.FragmentSize = st.BlockSize
	}
	if st.NameLength == 0 {
		st.NameLength = linux.NAME_MAX
	}
	return st, 0
}

// copyOutStatfs writes st as struct statfs at addr.
func copyOutStatfs(t *kernel.Task, addr uintptr, st linux.Statfs) linux.Errno {
	var b [linux.StatfsSize]byte
	st.Encode(b[:])
	if _, err := t.MemoryManager().CopyOut(addr, b[:]); err != nil {
		return unix.EFAULT
	}
	return 0
}

// Statfs implements statfs(2) (following symlinks).
func Statfs(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	pop, errno := pathArg(t, linux.AT_FDCWD, args[0].Pointer(), true, false)
	if errno != 0 {
		return 0, errno
	}
	defer pop.release()
	vd, err := t.Kernel().VFS().GetFileAt(t.Ctx(), t.Credentials(), &pop.PathOperation)
	if err != nil {
		return 0, errnoOf(err)
	}
	defer vd.DecRef()
	st, errno := statfsVD(t, vd)
	if errno != 0 {
		return 0, errno
	}
	return 0, copyOutStatfs(t, args[1].Pointer(), st)
}

// Fstatfs implements fstatfs(2); O_PATH descriptors work, as in Linux.
func Fstatfs(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	f, errno := getFile(t, args[0].Int())
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	st, errno := statfsVD(t, f.VirtualDentry())
	if errno != 0 {
		return 0, errno
	}
	return 0, copyOutStatfs(t, args[1].Pointer(), st)
}
