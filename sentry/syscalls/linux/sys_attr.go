package linux

import (
	"encoding/binary"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"golang.org/x/sys/unix"
)

// This file holds the calls that change a file's attributes: mode
// (chmod family), owner (chown family), times (utime family) and size by
// path (truncate). Each builds a vfs.SetStatOptions; the VFS applies
// Linux's permission rules (vfs.CheckSetStat).

func init() { registrars = append(registrars, registerAttr) }

// registerAttr registers the attribute-changing calls.
func registerAttr(b *tableBuilder) {
	b.full(linux.SYS_CHMOD, Chmod)
	b.full(linux.SYS_FCHMOD, Fchmod)
	b.full(linux.SYS_FCHMODAT, Fchmodat)
	b.full(linux.SYS_FCHMODAT2, Fchmodat2)
	b.full(linux.SYS_CHOWN, Chown)
	b.full(linux.SYS_FCHOWN, Fchown)
	b.full(linux.SYS_LCHOWN, Lchown)
	b.full(linux.SYS_FCHOWNAT, Fchownat)
	b.full(linux.SYS_UTIME, Utime)
	b.full(linux.SYS_UTIMES, Utimes)
	b.full(linux.SYS_FUTIMESAT, Futimesat)
	b.full(linux.SYS_UTIMENSAT, Utimensat)
	b.full(linux.SYS_TRUNCATE, Truncate)
}

// setStatPath applies opts to the file (dirfd, pathAddr) names.
func setStatPath(t *kernel.Task, dirfd int32, pathAddr uintptr, follow, emptyPath bool, opts vfs.SetStatOptions) (uintptr, linux.Errno) {
	pop, errno := pathArg(t, dirfd, pathAddr, follow, emptyPath)
	if errno != 0 {
		return 0, errno
	}
	defer pop.release()
	return 0, errnoOrZero(t.Kernel().VFS().SetStatAt(t.Ctx(), t.Credentials(), &pop.PathOperation, opts))
}

// setStatFD applies opts to the open file fd (EBADF for O_PATH).
func setStatFD(t *kernel.Task, fd int32, opts vfs.SetStatOptions) (uintptr, linux.Errno) {
	f, errno := getFile(t, fd)
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	return 0, errnoOrZero(f.SetStat(t.Ctx(), t.Credentials(), opts))
}

// modeOpts is a chmod request: only the permission, set-ID and sticky
// bits are taken (S_IALLUGO).
func modeOpts(mode uint32) vfs.SetStatOptions {
	return vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_MODE, Mode: uint16(mode & 0o7777)}}
}

// Chmod implements chmod(2).
func Chmod(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return setStatPath(t, linux.AT_FDCWD, args[0].Pointer(), true, false, modeOpts(args[1].Uint()))
}

// Fchmod implements fchmod(2).
func Fchmod(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return setStatFD(t, args[0].Int(), modeOpts(args[1].Uint()))
}

// Fchmodat implements fchmodat(2) (the system call has no flags).
func Fchmodat(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return setStatPath(t, args[0].Int(), args[1].Pointer(), true, false, modeOpts(args[2].Uint()))
}

// Fchmodat2 implements fchmodat2(2): AT_SYMLINK_NOFOLLOW works on
// anything but a symlink, whose mode cannot change (EOPNOTSUPP), and
// AT_EMPTY_PATH changes dirfd itself.
func Fchmodat2(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	dirfd, addr, mode, flags := args[0].Int(), args[1].Pointer(), args[2].Uint(), args[3].Uint()
	if flags&^uint32(linux.AT_SYMLINK_NOFOLLOW|linux.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	follow := flags&linux.AT_SYMLINK_NOFOLLOW == 0
	pop, errno := pathArg(t, dirfd, addr, follow, flags&linux.AT_EMPTY_PATH != 0)
	if errno != 0 {
		return 0, errno
	}
	defer pop.release()
	// A symlink is reached with AT_SYMLINK_NOFOLLOW, or with
	// AT_EMPTY_PATH on an O_PATH descriptor of one.
	v := t.Kernel().VFS()
	st, err := v.StatAt(t.Ctx(), t.Credentials(), &pop.PathOperation, linux.STATX_TYPE)
	if err != nil {
		return 0, errnoOf(err)
	}
	if uint32(st.Mode)&linux.S_IFMT == linux.S_IFLNK {
		return 0, unix.EOPNOTSUPP
	}
	return 0, errnoOrZero(v.SetStatAt(t.Ctx(), t.Credentials(), &pop.PathOperation, modeOpts(mode)))
}

// ownerOpts is a chown request: an ID of -1 is left unchanged.
func ownerOpts(uid, gid uint32) vfs.SetStatOptions {
	var opts vfs.SetStatOptions
	if uid != ^uint32(0) {
		opts.Stat.Mask |= linux.STATX_UID
		opts.Stat.UID = uid
	}
	if gid != ^uint32(0) {
		opts.Stat.Mask |= linux.STATX_GID
		opts.Stat.GID = gid
	}
	return opts
}

// Chown implements chown(2).
func Chown(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return setStatPath(t, linux.AT_FDCWD, args[0].Pointer(), true, false, ownerOpts(args[1].Uint(), args[2].Uint()))
}

// Lchown implements lchown(2).
func Lchown(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return setStatPath(t, linux.AT_FDCWD, args[0].Pointer(), false, false, ownerOpts(args[1].Uint(), args[2].Uint()))
}

// Fchown implements fchown(2).
func Fchown(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return setStatFD(t, args[0].Int(), ownerOpts(args[1].Uint(), args[2].Uint()))
}

// Fchownat implements fchownat(2).
func Fchownat(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	dirfd, addr, uid, gid, flags := args[0].Int(), args[1].Pointer(), args[2].Uint(), args[3].Uint(), args[4].Uint()
	if flags&^uint32(linux.AT_SYMLINK_NOFOLLOW|linux.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	return setStatPath(t, dirfd, addr, flags&linux.AT_SYMLINK_NOFOLLOW == 0, flags&linux.AT_EMPTY_PATH != 0, ownerOpts(uid, gid))
}

// Truncate implements truncate(2): the caller needs write permission on
// the file, which must be regular (EISDIR for a directory, EINVAL for
// other types).
func Truncate(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	length := args[1].Int64()
	if length < 0 {
		return 0, unix.EINVAL
	}
	opts := vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_SIZE, Size: uint64(length)}}
	return setStatPath(t, linux.AT_FDCWD, args[0].Pointer(), true, false, opts)
}

// utimeTimes is a utimes request in utimensat's terms: two timespecs
// whose tv_nsec may be UTIME_NOW or UTIME_OMIT, or nil for "both now".
type utimeTimes *[2]linux.Timespec

// timesOpts turns times into SetStatOptions, resolving UTIME_NOW to the
// current time: EINVAL for a tv_nsec out of range (and not one of the
// special values). Setting both times to now (times nil, or UTIME_NOW
// twice) is a "touch", which write permission allows (TimesNow).
func timesOpts(t *kernel.Task, times utimeTimes) (vfs.SetStatOptions, linux.Errno) {
	now := linux.NsecToStatxTimestamp(t.Kernel().RealtimeNanos())
	opts := vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_ATIME | linux.STATX_MTIME, Atime: now, Mtime: now}}
	if times == nil {
		opts.TimesNow = true
		return opts, 0
	}
	for _, ts := range times {
		if ts.Nsec != unix.UTIME_NOW && ts.Nsec != unix.UTIME_OMIT && (ts.Nsec < 0 || ts.Nsec >= 1e9) {
			return opts, unix.EINVAL
		}
	}
	if times[0].Nsec == unix.UTIME_NOW && times[1].Nsec == unix.UTIME_NOW {
		opts.TimesNow = true
		return opts, 0
	}
	set := func(ts linux.Timespec, bit uint32, dst *linux.StatxTimestamp) {
		switch ts.Nsec {
		case unix.UTIME_OMIT:
			opts.Stat.Mask &^= bit
		case unix.UTIME_NOW:
		default:
			*dst = linux.StatxTimestamp{Sec: ts.Sec, Nsec: uint32(ts.Nsec)}
		}
	}
	set(times[0], linux.STATX_ATIME, &opts.Stat.Atime)
	set(times[1], linux.STATX_MTIME, &opts.Stat.Mtime)
	return opts, 0
}

// utimesAt is the body of the utime family, following do_utimes: a NULL
// path with a real dirfd changes the open file (flags must then be 0);
// otherwise the path is resolved (NULL is EFAULT), and only then are the
// times checked.
func utimesAt(t *kernel.Task, dirfd int32, pathAddr uintptr, times utimeTimes, flags uint32) (uintptr, linux.Errno) {
	if pathAddr == 0 && dirfd != linux.AT_FDCWD {
		if flags != 0 {
			return 0, unix.EINVAL
		}
		f, errno := getFile(t, dirfd)
		if errno != 0 {
			return 0, errno
		}
		defer f.DecRef(t.Ctx())
		opts, errno := timesOpts(t, times)
		if errno != 0 {
			return 0, errno
		}
		return 0, errnoOrZero(f.SetStat(t.Ctx(), t.Credentials(), opts))
	}
	if flags&^uint32(linux.AT_SYMLINK_NOFOLLOW|linux.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	pop, errno := pathArg(t, dirfd, pathAddr, flags&linux.AT_SYMLINK_NOFOLLOW == 0, flags&linux.AT_EMPTY_PATH != 0)
	if errno != 0 {
		return 0, errno
	}
	defer pop.release()
	v := t.Kernel().VFS()
	vd, err := v.GetFileAt(t.Ctx(), t.Credentials(), &pop.PathOperation)
	if err != nil {
		return 0, errnoOf(err)
	}
	vd.DecRef()
	opts, errno := timesOpts(t, times)
	if errno != 0 {
		return 0, errno
	}
	return 0, errnoOrZero(v.SetStatAt(t.Ctx(), t.Credentials(), &pop.PathOperation, opts))
}

// Utimensat implements utimensat(2) (and futimens(3), which passes a
// NULL path). UTIME_OMIT for both times succeeds without even looking
// at the path.
func Utimensat(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	dirfd, pathAddr, timesAddr, flags := args[0].Int(), args[1].Pointer(), args[2].Pointer(), args[3].Uint()
	var times utimeTimes
	if timesAddr != 0 {
		var b [2 * linux.TimespecSize]byte
		if _, err := t.MemoryManager().CopyIn(timesAddr, b[:]); err != nil {
			return 0, unix.EFAULT
		}
		times = new([2]linux.Timespec)
		times[0].Decode(b[:])
		times[1].Decode(b[linux.TimespecSize:])
		if times[0].Nsec == unix.UTIME_OMIT && times[1].Nsec == unix.UTIME_OMIT {
			return 0, 0
		}
	}
	return utimesAt(t, dirfd, pathAddr, times, flags)
}

// timevalSize is sizeof(struct timeval).
const timevalSize = 16

// copyInTimevals reads utimes' struct timeval[2] (nil for NULL),
// converted to timespecs: EINVAL for a tv_usec outside [0, 1000000).
func copyInTimevals(t *kernel.Task, addr uintptr) (utimeTimes, linux.Errno) {
	if addr == 0 {
		return nil, 0
	}
	var b [2 * timevalSize]byte
	if _, err := t.MemoryManager().CopyIn(addr, b[:]); err != nil {
		return nil, unix.EFAULT
	}
	times := new([2]linux.Timespec)
	for i := range times {
		sec := int64(binary.LittleEndian.Uint64(b[i*timevalSize:]))
		usec := int64(binary.LittleEndian.Uint64(b[i*timevalSize+8:]))
		if usec < 0 || usec >= 1e6 {
			return nil, unix.EINVAL
		}
		times[i] = linux.Timespec{Sec: sec, Nsec: usec * 1000}
	}
	return times, 0
}

// Utimes implements utimes(2).
func Utimes(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	times, errno := copyInTimevals(t, args[1].Pointer())
	if errno != 0 {
		return 0, errno
	}
	return utimesAt(t, linux.AT_FDCWD, args[0].Pointer(), times, 0)
}

// Futimesat implements futimesat(2).
func Futimesat(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	times, errno := copyInTimevals(t, args[2].Pointer())
	if errno != 0 {
		return 0, errno
	}
	return utimesAt(t, args[0].Int(), args[1].Pointer(), times, 0)
}

// Utime implements utime(2): struct utimbuf holds two whole-second times.
func Utime(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	var times utimeTimes
	if addr := args[1].Pointer(); addr != 0 {
		var b [16]byte
		if _, err := t.MemoryManager().CopyIn(addr, b[:]); err != nil {
			return 0, unix.EFAULT
		}
		times = &[2]linux.Timespec{
			{Sec: int64(binary.LittleEndian.Uint64(b[0:]))},
			{Sec: int64(binary.LittleEndian.Uint64(b[8:]))},
		}
	}
	return utimesAt(t, linux.AT_FDCWD, args[0].Pointer(), times, 0)
}
