package linux

import (
	"encoding/binary"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"golang.org/x/sys/unix"
)

func init() { registrars = append(registrars, registerProcess) }

func registerProcess(b *tableBuilder) {
	b.full(linux.SYS_GETPGID, Getpgid)
	b.full(linux.SYS_SETPGID, Setpgid)
	b.full(linux.SYS_GETPGRP, Getpgrp)
	b.full(linux.SYS_GETSID, Getsid)
	b.full(linux.SYS_SETSID, Setsid)
	b.full(linux.SYS_SET_TID_ADDRESS, SetTidAddress)
	b.full(linux.SYS_SET_ROBUST_LIST, SetRobustList)
	b.full(linux.SYS_GET_ROBUST_LIST, GetRobustList)
	b.partial(linux.SYS_PRCTL, Prctl, "PR_SET/GET_NAME, PDEATHSIG, DUMPABLE, NO_NEW_PRIVS, CHILD_SUBREAPER, KEEPCAPS, CAPBSET_READ/DROP, SET_VMA (accepted, advisory); others EINVAL")
	b.partial(linux.SYS_PERSONALITY, Personality, "the value is recorded and inherited; only ADDR_NO_RANDOMIZE changes behaviour (exec without layout randomization)")
	b.partial(linux.SYS_UNSHARE, Unshare, "CLONE_FILES, CLONE_FS and CLONE_SYSVSEM; new namespaces are EINVAL")
}

// Getpgid implements getpgid(2).
func Getpgid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	id, errno := t.GetProcessGroupID(args[0].Int())
	return uintptr(id), errno
}

// Getpgrp implements getpgrp(2).
func Getpgrp(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	id, errno := t.GetProcessGroupID(0)
	return uintptr(id), errno
}

// Setpgid implements setpgid(2).
func Setpgid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return 0, t.SetProcessGroupID(args[0].Int(), args[1].Int())
}

// Getsid implements getsid(2).
func Getsid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	id, errno := t.GetSessionID(args[0].Int())
	return uintptr(id), errno
}

// Setsid implements setsid(2).
func Setsid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	id, errno := t.SetSessionID()
	return uintptr(id), errno
}

// robustListHeadSize is sizeof(struct robust_list_head).
const robustListHeadSize = 24

// SetRobustList implements set_robust_list(2).
func SetRobustList(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	if args[1].Uint64() != robustListHeadSize {
		return 0, unix.EINVAL
	}
	t.SetRobustList(args[0].Pointer())
	return 0, 0
}

// GetRobustList implements get_robust_list(2) for the caller or another
// thread of the sandbox.
func GetRobustList(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	tid, headAddr, lenAddr := args[0].Int(), args[1].Pointer(), args[2].Pointer()
	target := t
	if tid != 0 {
		if target = t.Kernel().TaskByTID(tid); target == nil {
			return 0, unix.ESRCH
		}
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(target.RobustList()))
	if _, err := t.MemoryManager().CopyOut(headAddr, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	binary.LittleEndian.PutUint64(b[:], robustListHeadSize)
	if _, err := t.MemoryManager().CopyOut(lenAddr, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	return 0, 0
}

// prctl options (include/uapi/linux/prctl.h).
const (
	prSetPdeathsig       = 1
	prGetPdeathsig       = 2
	prGetDumpable        = 3
	prSetDumpable        = 4
	prGetKeepcaps        = 7
	prSetKeepcaps        = 8
	prSetName            = 15
	prGetName            = 16
	prCapbsetRead        = 23
	prCapbsetDrop        = 24
	prSetChildSubreaper  = 36
	prGetChildSubreaper  = 37
	prSetNoNewPrivs      = 38
	prGetNoNewPrivs      = 39
	prSetVMA             = 0x53564d41
	prCapAmbient         = 47
	prGetSpeculationCtrl = 52
)

// Prctl implements prctl(2) for the options in the table note.
func Prctl(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	option := args[0].Int()
	arg2 := args[1].Uint64()
	switch option {
	case prSetPdeathsig:
		sig := linux.Signal(arg2)
		if arg2 != 0 && !sig.Valid() {
			return 0, unix.EINVAL
		}
		t.SetParentDeathSignal(sig)
		return 0, 0
	case prGetPdeathsig:
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(t.ParentDeathSignal()))
		if _, err := t.MemoryManager().CopyOut(args[1].Pointer(), b[:]); err != nil {
			return 0, unix.EFAULT
		}
		return 0, 0
	case prGetDumpable:
		return uintptr(t.Dumpable()), 0
	case prSetDumpable:
		if arg2 > 1 {
			return 0, unix.EINVAL
		}
		t.SetDumpable(int32(arg2))
		return 0, 0
	case prSetName:
		name, err := t.MemoryManager().CopyInString(args[1].Pointer(), 15)
		if err != nil && err != unix.ENAMETOOLONG {
			return 0, unix.EFAULT
		}
		if err == unix.ENAMETOOLONG {
			b := make([]byte, 15)
			if _, err := t.MemoryManager().CopyIn(args[1].Pointer(), b); err != nil {
				return 0, unix.EFAULT
			}
			name = string(b)
		}
		t.SetName(name)
		return 0, 0
	case prGetName:
		b := make([]byte, 16)
		copy(b, t.Name())
		if _, err := t.MemoryManager().CopyOut(args[1].Pointer(), b); err != nil {
			return 0, unix.EFAULT
		}
		return 0, 0
	case prSetChildSubreaper:
		t.SetChildSubreaper(arg2 != 0)
		return 0, 0
	case prGetChildSubreaper:
		var b [4]byte
		if t.ChildSubreaper() {
			b[0] = 1
		}
		if _, err := t.MemoryManager().CopyOut(args[1].Pointer(), b[:]); err != nil {
			return 0, unix.EFAULT
		}
		return 0, 0
	case prSetNoNewPrivs:
		if arg2 != 1 || args[2].Uint64() != 0 || args[3].Uint64() != 0 || args[4].Uint64() != 0 {
			return 0, unix.EINVAL
		}
		t.SetNoNewPrivs()
		return 0, 0
	case prGetNoNewPrivs:
		if arg2 != 0 || args[2].Uint64() != 0 || args[3].Uint64() != 0 || args[4].Uint64() != 0 {
			return 0, unix.EINVAL
		}
		if t.NoNewPrivs() {
			return 1, 0
		}
		return 0, 0
	case prCapbsetRead:
		if arg2 > 63 {
			return 0, unix.EINVAL
		}
		if t.Credentials().BoundingCaps.Has(int(arg2)) {
			return 1, 0
		}
		return 0, 0
	case prGetKeepcaps:
		if t.Credentials().SecureBits&vfs.SecureKeepCaps != 0 {
			return 1, 0
		}
		return 0, 0
	case prSetKeepcaps:
		if arg2 > 1 {
			return 0, unix.EINVAL
		}
		return 0, setCreds(t, func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetKeepCaps(arg2 == 1) })
	case prCapbsetDrop:
		return 0, setCreds(t, func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.DropBoundingCapability(int(arg2)) })
	case prSetVMA:
		// Naming anonymous memory is advisory.
		return 0, 0
	}
	return 0, unix.EINVAL
}

// setCreds applies a credentials transition to the task.
func setCreds(t *kernel.Task, change func(*vfs.Credentials) (*vfs.Credentials, error)) linux.Errno {
	n, err := change(t.Credentials())
	if err != nil {
		return errnoOf(err)
	}
	t.SetCredentials(n)
	return 0
}

// Unshare implements unshare(2) for what is not a namespace.
func Unshare(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	flags := args[0].Uint64()
	const known = kernel.CLONE_FILES | kernel.CLONE_FS | kernel.CLONE_SYSVSEM | kernel.CLONE_NEWNS |
		kernel.CLONE_NEWCGROUP | kernel.CLONE_NEWUTS | kernel.CLONE_NEWIPC | kernel.CLONE_NEWUSER |
		kernel.CLONE_NEWPID | kernel.CLONE_NEWNET | kernel.CLONE_THREAD | kernel.CLONE_SIGHAND | kernel.CLONE_VM
	if flags&^known != 0 {
		return 0, unix.EINVAL
	}
	if flags&(kernel.CLONE_NEWNS|kernel.CLONE_NEWCGROUP|kernel.CLONE_NEWUTS|kernel.CLONE_NEWIPC|
		kernel.CLONE_NEWUSER|kernel.CLONE_NEWPID|kernel.CLONE_NEWNET) != 0 {
		return 0, unix.EINVAL
	}
	if flags&(kernel.CLONE_THREAD|kernel.CLONE_SIGHAND|kernel.CLONE_VM) != 0 && len(t.ThreadGroup().Tasks()) > 1 {
		return 0, unix.EINVAL
	}
	if flags&kernel.CLONE_FILES != 0 {
		t.UnshareFiles()
	}
	if flags&kernel.CLONE_FS != 0 {
		t.UnshareFS()
	}
	return 0, 0
}

// Personality implements personality(2): 0xffffffff queries.
func Personality(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	p := args[0].Uint()
	if p == 0xffffffff {
		return uintptr(t.Personality()), 0
	}
	return uintptr(t.SetPersonality(p)), 0
}
