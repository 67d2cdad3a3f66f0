package linux

import (
	"math"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/vfs/lock"
	"golang.org/x/sys/unix"
)

// This file holds advisory file locking: flock(2) and the record-lock
// commands of fcntl(2) (F_GETLK, F_SETLK, F_SETLKW and their OFD
// variants), over vfs/lock. A process's POSIX locks are owned by its fd
// table, so closing any fd of the file releases them and a child made by
// fork holds none; OFD and flock locks are owned by the open file
// description. Blocking waits end early with ERESTARTSYS when a signal
// interrupts the task.

func init() { registrars = append(registrars, registerLock) }

// registerLock registers flock.
func registerLock(b *tableBuilder) {
	b.full(linux.SYS_FLOCK, Flock)
}

// lockMand is LOCK_MAND, which Linux ignores since 5.15.
const lockMand = 32

// Flock implements flock(2): the operation is checked before the fd, and
// LOCK_MAND requests succeed doing nothing, as in Linux.
func Flock(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, op := args[0].Int(), args[1].Uint()
	if op&lockMand != 0 {
		return 0, 0
	}
	switch op &^ linux.LOCK_NB {
	case linux.LOCK_SH, linux.LOCK_EX, linux.LOCK_UN:
	default:
		return 0, unix.EINVAL
	}
	f, errno := getFile(t, fd)
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	if f.IsPath() {
		return 0, unix.EBADF
	}
	return 0, errnoOrZero(f.Flock(op, t.Interrupted()))
}

// copyInFlock reads a struct flock.
func copyInFlock(t *kernel.Task, addr uintptr) (linux.Flock, linux.Errno) {
	var b [linux.FlockSize]byte
	var fl linux.Flock
	if _, err := t.MemoryManager().CopyIn(addr, b[:]); err != nil {
		return fl, unix.EFAULT
	}
	fl.Decode(b[:])
	return fl, 0
}

// copyOutFlock writes a struct flock.
func copyOutFlock(t *kernel.Task, addr uintptr, fl linux.Flock) linux.Errno {
	var b [linux.FlockSize]byte
	fl.Encode(b[:])
	if _, err := t.MemoryManager().CopyOut(addr, b[:]); err != nil {
		return unix.EFAULT
	}
	return 0
}

// flockRange turns l_whence, l_start and l_len into a byte range of f:
// SEEK_CUR counts from the file offset, SEEK_END from the file's size.
func flockRange(t *kernel.Task, f *vfs.FileDescription, fl linux.Flock) (lock.Range, linux.Errno) {
	var base int64
	switch int(fl.Whence) {
	case linux.SEEK_SET:
	case linux.SEEK_CUR:
		base = f.Offset()
	case linux.SEEK_END:
		st, err := f.Stat(t.Ctx(), linux.STATX_SIZE)
		if err != nil {
			return lock.Range{}, errnoOf(err)
		}
		base = int64(st.Size)
	default:
		return lock.Range{}, unix.EINVAL
	}
	// Linux adds in loff_t, so a sum past the largest offset wraps
	// negative: EINVAL, as a negative start is.
	if (fl.Start > 0 && base > math.MaxInt64-fl.Start) || base+fl.Start < 0 {
		return lock.Range{}, unix.EINVAL
	}
	r, err := lock.ComputeRange(base+fl.Start, fl.Len)
	if err != nil {
		return lock.Range{}, errnoOf(err)
	}
	return r, 0
}

// lockType converts l_type for a set or test: ok is false for F_UNLCK.
func lockType(typ int16) (lock.Type, bool, linux.Errno) {
	switch typ {
	case linux.F_RDLCK:
		return lock.ReadLock, true, 0
	case linux.F_WRLCK:
		return lock.WriteLock, true, 0
	case linux.F_UNLCK:
		return 0, false, 0
	}
	return 0, false, unix.EINVAL
}

// fcntlLock implements F_GETLK, F_SETLK, F_SETLKW and the OFD commands
// on the open file f.
func fcntlLock(t *kernel.Task, f *vfs.FileDescription, cmd int32, addr uintptr) (uintptr, linux.Errno) {
	if f.IsPath() {
		return 0, unix.EBADF
	}
	fl, errno := copyInFlock(t, addr)
	if errno != 0 {
		return 0, errno
	}
	ofd := cmd == linux.F_OFD_GETLK || cmd == linux.F_OFD_SETLK || cmd == linux.F_OFD_SETLKW
	if ofd && fl.PID != 0 {
		return 0, unix.EINVAL
	}
	typ, locking, errno := lockType(fl.Type)
	if errno != 0 {
		return 0, errno
	}
	r, errno := flockRange(t, f, fl)
	if errno != 0 {
		return 0, errno
	}
	owner := any(t.FDTable())
	switch cmd {
	case linux.F_GETLK, linux.F_OFD_GETLK:
		if !locking {
			return 0, unix.EINVAL
		}
		rec, found, err := f.TestPOSIX(owner, typ, r, ofd)
		if err != nil {
			return 0, errnoOf(err)
		}
		if !found {
			fl.Type = linux.F_UNLCK
			return 0, copyOutFlock(t, addr, fl)
		}
		fl.Type = linux.F_RDLCK
		if rec.Type == lock.WriteLock {
			fl.Type = linux.F_WRLCK
		}
		fl.Whence = linux.SEEK_SET
		fl.Start = int64(rec.Range.Start)
		fl.Len = 0
		if rec.Range.End != lock.EOF {
			fl.Len = int64(rec.Range.End - rec.Range.Start)
		}
		fl.PID = rec.PID
		return 0, copyOutFlock(t, addr, fl)
	}
	if !locking {
		return 0, errnoOrZero(f.UnlockPOSIX(owner, r, ofd))
	}
	block := cmd == linux.F_SETLKW || cmd == linux.F_OFD_SETLKW
	err := f.LockPOSIX(owner, t.ThreadGroup().PID(), typ, r, ofd, block, t.Interrupted())
	return 0, errnoOrZero(err)
}
