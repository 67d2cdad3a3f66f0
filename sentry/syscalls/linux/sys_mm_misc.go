package linux

import (
	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/mm"
)

func init() {
	registrars = append(registrars, registerMM)
	// AMD64 is a package variable, built before any init function runs
	// and so before registrars is filled; register directly as well.
	// Registering twice is harmless.
	if AMD64 != nil {
		registerMM(&tableBuilder{st: AMD64})
	}
}

// registerMM registers the memory-management calls beyond mmap, munmap,
// mprotect and brk, and mmap itself with its current note.
func registerMM(b *tableBuilder) {
	b.partial(linux.SYS_MMAP, Mmap, mmapNote)
	b.full(linux.SYS_MREMAP, Mremap)
	b.partial(linux.SYS_MADVISE, Madvise, "MADV_DONTNEED/FREE drop pages, DONTFORK/DOFORK/WIPEONFORK/KEEPONFORK and POPULATE_READ/WRITE work, other advice is accepted as a hint; MADV_REMOVE is EOPNOTSUPP")
	b.partial(linux.SYS_MINCORE, Mincore, "reports pages the address space has touched; file pages cached elsewhere count as not resident")
	b.partial(linux.SYS_MSYNC, Msync, "validates flags and range; nothing to write back because file pages are private copies")
	b.partial(linux.SYS_MLOCK, Mlock, "bookkeeping (VM_LOCKED, VmLck) and prefaulting; guest memory is never swapped by the Sentry")
	b.partial(linux.SYS_MLOCK2, Mlock2, "as mlock; MLOCK_ONFAULT skips prefaulting")
	b.full(linux.SYS_MUNLOCK, Munlock)
	b.partial(linux.SYS_MLOCKALL, Mlockall, "bookkeeping only: MCL_CURRENT marks areas locked without prefaulting them")
	b.full(linux.SYS_MUNLOCKALL, Munlockall)
}

// Mremap implements mremap(2).
func Mremap(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	oldAddr, oldLen, newLen := args[0].Pointer(), uintptr(args[1].Uint64()), uintptr(args[2].Uint64())
	flags, newAddr := args[3].Uint64(), args[4].Pointer()
	if flags&^uint64(unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED|unix.MREMAP_DONTUNMAP) != 0 {
		return 0, unix.EINVAL
	}
	if newLen > oldLen {
		if errno := checkAddressSpaceLimit(t, newLen-oldLen); errno != 0 {
			return 0, errno
		}
	}
	return t.MemoryManager().MRemap(oldAddr, oldLen, newLen, mm.MRemapOpts{
		MayMove:   flags&unix.MREMAP_MAYMOVE != 0,
		Fixed:     flags&unix.MREMAP_FIXED != 0,
		NewAddr:   newAddr,
		DontUnmap: flags&unix.MREMAP_DONTUNMAP != 0,
	})
}

// Madvise implements madvise(2).
func Madvise(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return 0, t.MemoryManager().Madvise(args[0].Pointer(), uintptr(args[1].Uint64()), int(args[2].Int()))
}

// mincoreChunk is how many pages mincore looks up and copies out at once,
// so that a huge length never sizes a Sentry allocation.
const mincoreChunk = 4096

// Mincore implements mincore(2): one byte per page of [addr, addr+length),
// bit 0 set for a page with backing memory.
func Mincore(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	addr, length, vecAddr := args[0].Pointer(), uintptr(args[1].Uint64()), args[2].Pointer()
	if addr&(linux.PageSize-1) != 0 {
		return 0, unix.EINVAL
	}
	m := t.MemoryManager()
	// Like Linux's access_ok check: a range past the user address space
	// is ENOMEM.
	if length > m.MaxAddress() || addr > m.MaxAddress()-length {
		return 0, unix.ENOMEM
	}
	pages := (length + linux.PageSize - 1) / linux.PageSize
	buf := make([]byte, min(pages, mincoreChunk))
	for done := uintptr(0); done < pages; {
		n := min(pages-done, mincoreChunk)
		vec := buf[:n]
		if errno := m.Mincore(addr+done*linux.PageSize, vec); errno != 0 {
			return 0, errno
		}
		if c, err := m.CopyOut(vecAddr+done, vec); err != nil || c != len(vec) {
			return 0, unix.EFAULT
		}
		done += n
	}
	return 0, 0
}

// Msync implements msync(2).
func Msync(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return 0, t.MemoryManager().Msync(args[0].Pointer(), uintptr(args[1].Uint64()), int(args[2].Int()))
}

// checkMemlock applies mlock's RLIMIT_MEMLOCK rules for locking length
// more bytes: EPERM when the limit is zero, ENOMEM when it would be
// exceeded, unless t holds CAP_IPC_LOCK.
func checkMemlock(t *kernel.Task, length uint64) linux.Errno {
	if t.Credentials().HasCapability(unix.CAP_IPC_LOCK) {
		return 0
	}
	lim, err := t.ThreadGroup().Limits().Get(linux.RLIMIT_MEMLOCK)
	if err != nil {
		return errnoOf(err)
	}
	if lim.Cur == 0 {
		return unix.EPERM
	}
	if lim.Cur == linux.RLimInfinity {
		return 0
	}
	locked := t.MemoryManager().LockedSize()
	if length > lim.Cur || locked > lim.Cur-length {
		return unix.ENOMEM
	}
	return 0
}

// mlock locks [addr, addr+length) after the RLIMIT_MEMLOCK check.
func mlock(t *kernel.Task, addr, length uintptr, onFault bool) linux.Errno {
	if errno := checkMemlock(t, uint64(length)); errno != 0 {
		return errno
	}
	return t.MemoryManager().Mlock(addr, length, onFault)
}

// Mlock implements mlock(2).
func Mlock(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return 0, mlock(t, args[0].Pointer(), uintptr(args[1].Uint64()), false)
}

// Mlock2 implements mlock2(2).
func Mlock2(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	flags := args[2].Uint()
	if flags&^uint32(unix.MLOCK_ONFAULT) != 0 {
		return 0, unix.EINVAL
	}
	return 0, mlock(t, args[0].Pointer(), uintptr(args[1].Uint64()), flags&unix.MLOCK_ONFAULT != 0)
}

// Munlock implements munlock(2).
func Munlock(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return 0, t.MemoryManager().Munlock(args[0].Pointer(), uintptr(args[1].Uint64()))
}

// Mlockall implements mlockall(2). The flags must include MCL_CURRENT or
// MCL_FUTURE (MCL_ONFAULT only modifies them).
func Mlockall(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	flags := args[0].Int()
	if flags == 0 || flags&^(unix.MCL_CURRENT|unix.MCL_FUTURE|unix.MCL_ONFAULT) != 0 ||
		flags == unix.MCL_ONFAULT {
		return 0, unix.EINVAL
	}
	m := t.MemoryManager()
	if flags&unix.MCL_CURRENT != 0 {
		if errno := checkMemlock(t, m.VirtualSize()-m.LockedSize()); errno != 0 {
			return 0, errno
		}
	} else if errno := checkMemlock(t, 0); errno == unix.EPERM {
		return 0, errno
	}
	m.MlockAll(flags&unix.MCL_CURRENT != 0, flags&unix.MCL_FUTURE != 0)
	return 0, 0
}

// Munlockall implements munlockall(2).
func Munlockall(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	t.MemoryManager().MunlockAll()
	return 0, 0
}
