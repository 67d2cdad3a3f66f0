package linux

import (
	"math"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

// This file holds the calls that flush data to storage. The Sentry keeps
// no dirty file data of its own outside shared mappings (writes go to
// tmpfs memory, or through the Gofer's or a host's file descriptors at
// once), so flushing a file is the file's Sync, which for gofer and host
// files asks the host to fsync.

func init() { registrars = append(registrars, registerSync) }

// registerSync registers the flushing calls.
func registerSync(b *tableBuilder) {
	b.full(linux.SYS_FDATASYNC, Fdatasync)
	b.partial(linux.SYS_SYNC, Sync, "flushes nothing: the Sentry holds no dirty file data outside shared mappings, and host data is the host's to write back")
	b.partial(linux.SYS_SYNCFS, Syncfs, "checks the fd and flushes nothing, as sync(2)")
	b.partial(linux.SYS_SYNC_FILE_RANGE, SyncFileRange, "any write or wait flag syncs the whole file (fsync)")
}

// Fdatasync implements fdatasync(2) as fsync(2).
func Fdatasync(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return Fsync(t, args)
}

// Sync implements sync(2).
func Sync(*kernel.Task, *arch.SyscallArguments) (uintptr, linux.Errno) {
	return 0, 0
}

// Syncfs implements syncfs(2): EBADF for a bad fd (O_PATH included, as
// Linux's fdget).
func Syncfs(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	f, errno := getFile(t, args[0].Int())
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	if f.IsPath() {
		return 0, unix.EBADF
	}
	return 0, 0
}

// syncFileRangeFlags are the flags sync_file_range(2) knows.
const syncFileRangeFlags = unix.SYNC_FILE_RANGE_WAIT_BEFORE | unix.SYNC_FILE_RANGE_WRITE | unix.SYNC_FILE_RANGE_WAIT_AFTER

// SyncFileRange implements sync_file_range(2) with Linux's argument
// checks; the flush itself covers the whole file.
func SyncFileRange(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, off, n, flags := args[0].Int(), args[1].Int64(), args[2].Int64(), args[3].Uint()
	f, errno := getFile(t, fd)
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	if f.IsPath() {
		return 0, unix.EBADF
	}
	if flags&^uint32(syncFileRangeFlags) != 0 || off < 0 || n < 0 || off > math.MaxInt64-n {
		return 0, unix.EINVAL
	}
	switch f.Inode().Attr().Mode & linux.S_IFMT {
	case linux.S_IFREG, linux.S_IFDIR, linux.S_IFBLK, linux.S_IFLNK:
	default:
		return 0, unix.ESPIPE
	}
	if flags == 0 {
		return 0, 0
	}
	return 0, errnoOrZero(f.Sync(t.Ctx()))
}
