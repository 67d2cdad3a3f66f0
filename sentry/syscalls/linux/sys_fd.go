package linux

import (
	"encoding/binary"
	"math"
	"runtime"
	"sync"
	"weak"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/host"
	"github.com/palisade-sandbox/palisade/fsimpl/pipe"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"golang.org/x/sys/unix"
)

// Generic file ioctls (include/uapi/asm-generic/ioctls.h).
const (
	ioctlFIONREAD = 0x541b
	ioctlFIONBIO  = 0x5421
	ioctlFIONCLEX = 0x5450
	ioctlFIOCLEX  = 0x5451
)

// Dup implements dup(2).
func Dup(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, err := t.FDTable().Dup(args[0].Int(), 0, false)
	if err != nil {
		return 0, errnoOf(err)
	}
	return uintptr(fd), 0
}

// Dup2 implements dup2(2).
func Dup2(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, err := t.FDTable().Dup2(t.Ctx(), args[0].Int(), args[1].Int())
	if err != nil {
		return 0, errnoOf(err)
	}
	return uintptr(fd), 0
}

// Dup3 implements dup3(2).
func Dup3(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, err := t.FDTable().Dup3(t.Ctx(), args[0].Int(), args[1].Int(), args[2].Uint())
	if err != nil {
		return 0, errnoOf(err)
	}
	return uintptr(fd), 0
}

func init() { registrars = append(registrars, registerFD) }

// registerFD registers the fd-table and descriptor calls whose table
// entries live with their handlers.
func registerFD(b *tableBuilder) {
	b.partial(linux.SYS_FCNTL, Fcntl, "F_DUPFD(_CLOEXEC), F_GETFD/SETFD, F_GETFL/SETFL, record locks (F_GETLK/SETLK/SETLKW and the OFD variants), F_GETPIPE_SZ/SETPIPE_SZ, F_ADD_SEALS/GET_SEALS on memfds, F_GETLEASE (never a lease), F_SETOWN/F_GETOWN(_EX) (recorded, but no SIGIO or SIGURG is sent); F_SETSIG, leases and F_NOTIFY are EINVAL")
	b.partial(linux.SYS_FALLOCATE, Fallocate, "mode 0 and FALLOC_FL_KEEP_SIZE everywhere, FALLOC_FL_PUNCH_HOLE on tmpfs and where the host allows; ZERO_RANGE, COLLAPSE_RANGE and INSERT_RANGE as the file system answers (EOPNOTSUPP on tmpfs)")
	b.full(linux.SYS_CLOSE_RANGE, CloseRange)
}

// Fcntl implements fcntl(2).
func Fcntl(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, cmd, arg := args[0].Int(), args[1].Int(), args[2]
	table := t.FDTable()
	switch cmd {
	case unix.F_DUPFD, unix.F_DUPFD_CLOEXEC:
		if arg.Int() < 0 {
			return 0, unix.EINVAL
		}
		nfd, err := table.Dup(fd, arg.Int(), cmd == unix.F_DUPFD_CLOEXEC)
		if err != nil {
			return 0, errnoOf(err)
		}
		return uintptr(nfd), 0
	}
	f, flags := table.Get(fd)
	if f == nil {
		return 0, unix.EBADF
	}
	defer f.DecRef(t.Ctx())
	switch cmd {
	case unix.F_GETFD:
		if flags.CloseOnExec {
			return unix.FD_CLOEXEC, 0
		}
		return 0, 0
	case unix.F_SETFD:
		return 0, errnoOrZero(table.SetFlags(fd, vfs.FDFlags{CloseOnExec: arg.Int()&unix.FD_CLOEXEC != 0}))
	case unix.F_GETFL:
		return uintptr(f.StatusFlags()), 0
	}
	// The commands above work on O_PATH descriptors; the rest do not.
	if f.IsPath() {
		return 0, unix.EBADF
	}
	switch cmd {
	case unix.F_SETFL:
		f.SetStatusFlags(arg.Uint())
		return 0, 0
	case linux.F_GETLK, linux.F_SETLK, linux.F_SETLKW, linux.F_OFD_GETLK, linux.F_OFD_SETLK, linux.F_OFD_SETLKW:
		return fcntlLock(t, f, cmd, arg.Pointer())
	case unix.F_GETPIPE_SZ, unix.F_SETPIPE_SZ:
		p, ok := f.Impl().(*pipe.FD)
		if !ok {
			return 0, unix.EBADF
		}
		if cmd == unix.F_GETPIPE_SZ {
			return uintptr(p.PipeSize()), 0
		}
		n, err := p.SetPipeSize(int64(arg.Uint()), t.Credentials().HasCapability(unix.CAP_SYS_RESOURCE))
		if err != nil {
			return 0, errnoOf(err)
		}
		return uintptr(n), 0
	case unix.F_ADD_SEALS, unix.F_GET_SEALS:
		return memfdSeals(f, cmd, arg.Uint())
	case unix.F_GETLEASE:
		// No leases are ever granted.
		return unix.F_UNLCK, 0
	case unix.F_SETOWN, unix.F_GETOWN, unix.F_SETOWN_EX, unix.F_GETOWN_EX:
		return fcntlOwner(t, f, cmd, arg)
	}
	return 0, unix.EINVAL
}

// struct f_owner_ex types (include/uapi/asm-generic/fcntl.h).
const (
	fOwnerTID  = 0
	fOwnerPID  = 1
	fOwnerPGRP = 2
)

// fileOwner is the owner F_SETOWN or F_SETOWN_EX recorded for an open
// file description: an F_OWNER_* type and an ID.
type fileOwner struct {
	typ int32
	id  int32
}

// fileOwners records file owners. The owner belongs to the open file
// description, which has no field for it, so it is kept here, keyed
// weakly: an entry goes when its description is garbage.
var fileOwners struct {
	// mu guards m.
	mu sync.Mutex
	m  map[weak.Pointer[vfs.FileDescription]]fileOwner
}

// setFileOwner records f's owner.
func setFileOwner(f *vfs.FileDescription, o fileOwner) {
	key := weak.Make(f)
	fileOwners.mu.Lock()
	defer fileOwners.mu.Unlock()
	if fileOwners.m == nil {
		fileOwners.m = make(map[weak.Pointer[vfs.FileDescription]]fileOwner)
	}
	if _, ok := fileOwners.m[key]; !ok {
		runtime.AddCleanup(f, func(k weak.Pointer[vfs.FileDescription]) {
			fileOwners.mu.Lock()
			delete(fileOwners.m, k)
			fileOwners.mu.Unlock()
		}, key)
	}
	fileOwners.m[key] = o
}

// getFileOwner returns f's owner (type F_OWNER_PID, ID 0 if none).
func getFileOwner(f *vfs.FileDescription) fileOwner {
	fileOwners.mu.Lock()
	defer fileOwners.mu.Unlock()
	o, ok := fileOwners.m[weak.Make(f)]
	if !ok {
		return fileOwner{typ: fOwnerPID}
	}
	return o
}

// idInUse reports whether id names a thread, process, process group or
// session (Linux's find_vpid).
func idInUse(t *kernel.Task, id int32) bool {
	k := t.Kernel()
	if k.TaskByTID(id) != nil || k.ThreadGroupByPID(id) != nil {
		return true
	}
	for _, tg := range k.ThreadGroups() {
		if tg.ProcessGroupID() == id || tg.SessionID() == id {
			return true
		}
	}
	return false
}

// fOwnerExSize is sizeof(struct f_owner_ex): int type; pid_t pid.
const fOwnerExSize = 8

// fcntlOwner implements F_SETOWN, F_GETOWN, F_SETOWN_EX and F_GETOWN_EX.
// The owner is recorded and reported; the signals it would receive for
// O_ASYNC (SIGIO) or urgent data (SIGURG) are not sent.
func fcntlOwner(t *kernel.Task, f *vfs.FileDescription, cmd int32, arg arch.SyscallArgument) (uintptr, linux.Errno) {
	switch cmd {
	case unix.F_GETOWN:
		o := getFileOwner(f)
		if o.typ == fOwnerPGRP {
			return uintptr(-int64(o.id)), 0
		}
		return uintptr(o.id), 0
	case unix.F_SETOWN:
		who := arg.Int()
		o := fileOwner{typ: fOwnerPID, id: who}
		if who < 0 {
			if who == math.MinInt32 {
				return 0, unix.EINVAL
			}
			o = fileOwner{typ: fOwnerPGRP, id: -who}
		}
		if o.id != 0 && !idInUse(t, o.id) {
			return 0, unix.ESRCH
		}
		setFileOwner(f, o)
		return 0, 0
	case unix.F_GETOWN_EX:
		o := getFileOwner(f)
		var b [fOwnerExSize]byte
		binary.LittleEndian.PutUint32(b[0:], uint32(o.typ))
		binary.LittleEndian.PutUint32(b[4:], uint32(o.id))
		if _, err := t.MemoryManager().CopyOut(arg.Pointer(), b[:]); err != nil {
			return 0, unix.EFAULT
		}
		return 0, 0
	}
	var b [fOwnerExSize]byte
	if _, err := t.MemoryManager().CopyIn(arg.Pointer(), b[:]); err != nil {
		return 0, unix.EFAULT
	}
	o := fileOwner{typ: int32(binary.LittleEndian.Uint32(b[0:])), id: int32(binary.LittleEndian.Uint32(b[4:]))}
	switch o.typ {
	case fOwnerTID, fOwnerPID, fOwnerPGRP:
	default:
		return 0, unix.EINVAL
	}
	if o.id != 0 && !idInUse(t, o.id) {
		return 0, unix.ESRCH
	}
	setFileOwner(f, o)
	return 0, 0
}

// CloseRange implements close_range(2). CLOSE_RANGE_UNSHARE gives the
// task a private table first (when the table is shared at all).
func CloseRange(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	first, last, flags := args[0].Uint(), args[1].Uint(), args[2].Uint()
	table := t.FDTable()
	if flags&linux.CLOSE_RANGE_UNSHARE != 0 && !table.Shared() {
		flags &^= linux.CLOSE_RANGE_UNSHARE
		if first > last {
			return 0, unix.EINVAL
		}
	}
	n, err := table.CloseRange(t.Ctx(), first, last, flags)
	if err != nil {
		return 0, errnoOf(err)
	}
	if n != table {
		t.SetFDTable(n)
	}
	return 0, 0
}

// fallocateModes are the mode bits Linux knows (FALLOC_FL_SUPPORTED_MASK).
const fallocateModes = linux.FALLOC_FL_KEEP_SIZE | linux.FALLOC_FL_PUNCH_HOLE | linux.FALLOC_FL_ZERO_RANGE |
	linux.FALLOC_FL_COLLAPSE_RANGE | linux.FALLOC_FL_INSERT_RANGE | unix.FALLOC_FL_NO_HIDE_STALE | unix.FALLOC_FL_UNSHARE_RANGE

// Fallocate implements fallocate(2), with vfs_fallocate's checks in its
// order: arguments, mode combinations, access, file type.
func Fallocate(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, mode, off, length := args[0].Int(), args[1].Uint(), args[2].Int64(), args[3].Int64()
	if off < 0 || length <= 0 {
		return 0, unix.EINVAL
	}
	if mode&^uint32(fallocateModes) != 0 ||
		mode&(linux.FALLOC_FL_PUNCH_HOLE|linux.FALLOC_FL_ZERO_RANGE) == linux.FALLOC_FL_PUNCH_HOLE|linux.FALLOC_FL_ZERO_RANGE ||
		(mode&linux.FALLOC_FL_PUNCH_HOLE != 0 && mode&linux.FALLOC_FL_KEEP_SIZE == 0) {
		return 0, unix.EOPNOTSUPP
	}
	for _, excl := range []uint32{linux.FALLOC_FL_COLLAPSE_RANGE, linux.FALLOC_FL_INSERT_RANGE} {
		if mode&excl != 0 && mode != excl {
			return 0, unix.EINVAL
		}
	}
	f, errno := getFile(t, fd)
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	if !f.IsWritable() {
		return 0, unix.EBADF
	}
	switch f.Inode().Attr().Mode & linux.S_IFMT {
	case linux.S_IFIFO:
		return 0, unix.ESPIPE
	case linux.S_IFDIR:
		return 0, unix.EISDIR
	case linux.S_IFREG:
	default:
		return 0, unix.ENODEV
	}
	if off > math.MaxInt64-length {
		return 0, unix.EFBIG
	}
	return 0, errnoOrZero(f.Allocate(t.Ctx(), mode, off, length))
}

// Ioctl implements ioctl(2): the generic file requests here, the rest as
// each file answers them (host terminals reach guest memory through the
// context).
func Ioctl(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, cmd, arg := args[0].Int(), args[1].Uint(), args[2].Pointer()
	f, errno := getFile(t, fd)
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	switch cmd {
	case ioctlFIOCLEX, ioctlFIONCLEX:
		return 0, errnoOrZero(t.FDTable().SetFlags(fd, vfs.FDFlags{CloseOnExec: cmd == ioctlFIOCLEX}))
	case ioctlFIONBIO:
		var b [4]byte
		if _, err := t.MemoryManager().CopyIn(arg, b[:]); err != nil {
			return 0, unix.EFAULT
		}
		fl := f.StatusFlags() &^ linux.O_NONBLOCK
		if binary.LittleEndian.Uint32(b[:]) != 0 {
			fl |= linux.O_NONBLOCK
		}
		f.SetStatusFlags(fl)
		return 0, 0
	case ioctlFIONREAD:
		// Implementations answer with the count as the result.
		n, err := f.Ioctl(t.Ctx(), cmd, arg)
		if err != nil {
			return 0, errnoOf(err)
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(n))
		if _, err := t.MemoryManager().CopyOut(arg, b[:]); err != nil {
			return 0, unix.EFAULT
		}
		return 0, 0
	}
	n, err := f.Ioctl(host.WithGuestMemory(t.Ctx(), t.MemoryManager()), cmd, arg)
	return n, errnoOrZero(err)
}

// Fsync implements fsync(2) (and fdatasync(2)): pipes, sockets and
// character devices have nothing to flush and fail with EINVAL, as in
// Linux, whose drivers for them have no fsync method.
func Fsync(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	f, errno := getFile(t, args[0].Int())
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	if f.IsPath() {
		return 0, unix.EBADF
	}
	switch f.Inode().Attr().Mode & linux.S_IFMT {
	case linux.S_IFIFO, linux.S_IFSOCK, linux.S_IFCHR:
		return 0, unix.EINVAL
	}
	return 0, errnoOrZero(f.Sync(t.Ctx()))
}

// Ftruncate implements ftruncate(2).
func Ftruncate(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, length := args[0].Int(), args[1].Int64()
	if length < 0 {
		return 0, unix.EINVAL
	}
	f, errno := getFile(t, fd)
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	if !f.IsWritable() {
		return 0, unix.EINVAL
	}
	opts := vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_SIZE, Size: uint64(length)}}
	return 0, errnoOrZero(f.SetStat(t.Ctx(), t.Credentials(), opts))
}

// Pipe implements pipe(2).
func Pipe(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return pipe2(t, args[0].Pointer(), 0)
}

// Pipe2 implements pipe2(2).
func Pipe2(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return pipe2(t, args[0].Pointer(), args[1].Uint())
}

func pipe2(t *kernel.Task, addr uintptr, flags uint32) (uintptr, linux.Errno) {
	if flags&^(linux.O_NONBLOCK|linux.O_CLOEXEC) != 0 {
		return 0, unix.EINVAL
	}
	r, w, err := pipe.NewPair(t.Ctx(), t.Kernel().VFS(), t.Credentials(), flags)
	if err != nil {
		return 0, errnoOf(err)
	}
	defer r.DecRef(t.Ctx())
	defer w.DecRef(t.Ctx())
	fdFlags := vfs.FDFlags{CloseOnExec: flags&linux.O_CLOEXEC != 0}
	table := t.FDTable()
	rfd, err := table.NewFD(0, r, fdFlags)
	if err != nil {
		return 0, errnoOf(err)
	}
	wfd, err := table.NewFD(0, w, fdFlags)
	if err != nil {
		table.Close(t.Ctx(), rfd)
		return 0, errnoOf(err)
	}
	var b [8]byte
	binary.LittleEndian.PutUint32(b[0:], uint32(rfd))
	binary.LittleEndian.PutUint32(b[4:], uint32(wfd))
	if _, err := t.MemoryManager().CopyOut(addr, b[:]); err != nil {
		table.Close(t.Ctx(), rfd)
		table.Close(t.Ctx(), wfd)
		return 0, unix.EFAULT
	}
	return 0, 0
}
