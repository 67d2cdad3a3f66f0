package linux

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/mm"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"golang.org/x/sys/unix"
)

// ioResult turns a transfer into a syscall result: a partial transfer
// succeeds, otherwise the error is returned.
func ioResult(n int64, err error) (uintptr, linux.Errno) {
	if n > 0 || err == nil {
		return uintptr(n), 0
	}
	return 0, errnoOf(err)
}

// iovecsArg reads readv-style arguments into an IOSequence.
func iovecsArg(t *kernel.Task, addr uintptr, cnt int32) (mm.IOSequence, linux.Errno) {
	if cnt < 0 || cnt > linux.UIO_MAXIOV {
		return mm.IOSequence{}, unix.EINVAL
	}
	m := t.MemoryManager()
	iovs, err := m.CopyInIovecs(addr, int(cnt))
	if err != nil {
		return mm.IOSequence{}, errnoOf(err)
	}
	// import_iovec: every range must lie in the user half of the address
	// space before any data moves (mapping is checked by the copy).
	for _, iov := range iovs {
		if end := iov.Base + iov.Len; end < iov.Base || end > uint64(m.MaxAddress()) {
			return mm.IOSequence{}, unix.EFAULT
		}
	}
	seq, err := m.IOVecsIOSequence(iovs)
	if err != nil {
		return mm.IOSequence{}, errnoOf(err)
	}
	return seq, 0
}

// readFile reads into seq at offset (-1: the file offset). The
// destination is cut at its first unwritable byte first: a stream's data
// cannot be put back once read, so the read must only take what fits
// (and fail with EFAULT, consuming nothing, if nothing does).
func readFile(t *kernel.Task, fd int32, seq mm.IOSequence, offset int64) (uintptr, linux.Errno) {
	f, errno := getFile(t, fd)
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	if seq.NumBytes() > 0 {
		// With nothing writable the file finds out itself: /dev/null
		// reads nothing and succeeds, as on Linux, a host stream
		// refuses (it could not give its data back).
		if part, n := seq.WritablePart(); n > 0 {
			seq = part
		}
	}
	if offset < 0 {
		return ioResult(f.Read(t.Ctx(), seq))
	}
	return ioResult(f.PRead(t.Ctx(), seq, offset))
}

// writeFile writes seq at offset (-1: the file offset).
func writeFile(t *kernel.Task, fd int32, seq mm.IOSequence, offset int64) (uintptr, linux.Errno) {
	f, errno := getFile(t, fd)
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	if seq, errno = limitFileSize(t, f, seq, offset); errno != 0 {
		return 0, errno
	}
	var rval uintptr
	if offset < 0 {
		rval, errno = ioResult(f.Write(t.Ctx(), seq))
	} else {
		rval, errno = ioResult(f.PWrite(t.Ctx(), seq, offset))
	}
	if errno == unix.EPIPE {
		// A write to a pipe or socket with no reader also raises
		// SIGPIPE at the writing thread.
		_ = t.SendSignal(&linux.SignalInfo{Signo: int32(linux.SIGPIPE), Code: linux.SI_USER})
	}
	return rval, errno
}

// limitFileSize applies RLIMIT_FSIZE to a write of seq at offset (-1:
// the file offset) on a regular file: a write starting at or past the
// limit fails with EFBIG and raises SIGXFSZ; one crossing it is cut at
// the limit, as Linux's generic_write_check_limits does. (The offset is
// read before the write, so a concurrent writer may move it; the check is
// as good as Linux's for a file one task writes.)
func limitFileSize(t *kernel.Task, f *vfs.FileDescription, seq mm.IOSequence, offset int64) (mm.IOSequence, linux.Errno) {
	limit := t.ThreadGroup().Limits().Cur(linux.RLIMIT_FSIZE)
	if limit == linux.RLimInfinity || seq.NumBytes() == 0 {
		return seq, 0
	}
	st, err := f.Stat(t.Ctx(), linux.STATX_TYPE|linux.STATX_SIZE)
	if err != nil || uint32(st.Mode)&linux.S_IFMT != linux.S_IFREG {
		return seq, 0
	}
	pos := offset
	if f.StatusFlags()&linux.O_APPEND != 0 {
		pos = int64(st.Size)
	} else if pos < 0 {
		pos = f.Offset()
	}
	if uint64(pos) >= limit {
		_ = t.SendSignal(&linux.SignalInfo{Signo: int32(linux.SIGXFSZ), Code: linux.SI_USER})
		return seq, unix.EFBIG
	}
	if room := limit - uint64(pos); uint64(seq.NumBytes()) > room {
		seq = seq.Prefix(int64(room))
	}
	return seq, 0
}

// Read implements read(2).
func Read(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, addr, size := args[0].Int(), args[1].Pointer(), args[2].SizeT()
	if errno := checkBuffer(t, addr, size); errno != 0 {
		return 0, errno
	}
	return readFile(t, fd, t.MemoryManager().SingleIOSequence(addr, size), -1)
}

// Write implements write(2).
func Write(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, addr, size := args[0].Int(), args[1].Pointer(), args[2].SizeT()
	if errno := checkBuffer(t, addr, size); errno != 0 {
		return 0, errno
	}
	return writeFile(t, fd, t.MemoryManager().SingleIOSequence(addr, size), -1)
}

// Pread64 implements pread64(2).
func Pread64(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return positional(t, args, false, readFile)
}

// Pwrite64 implements pwrite64(2).
func Pwrite64(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return positional(t, args, false, writeFile)
}

// positional is the body of pread64, pwrite64, preadv and pwritev: (fd,
// buffer or iovecs, length or count, offset), the offset non-negative.
func positional(t *kernel.Task, args *arch.SyscallArguments, vectored bool, io func(*kernel.Task, int32, mm.IOSequence, int64) (uintptr, linux.Errno)) (uintptr, linux.Errno) {
	fd, addr, off := args[0].Int(), args[1].Pointer(), args[3].Int64()
	if off < 0 {
		return 0, unix.EINVAL
	}
	if vectored {
		seq, errno := iovecsArg(t, addr, args[2].Int())
		if errno != 0 {
			return 0, errno
		}
		return io(t, fd, seq, off)
	}
	size := args[2].SizeT()
	if errno := checkBuffer(t, addr, size); errno != 0 {
		return 0, errno
	}
	return io(t, fd, t.MemoryManager().SingleIOSequence(addr, size), off)
}

// Readv implements readv(2).
func Readv(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, addr, cnt := args[0].Int(), args[1].Pointer(), args[2].Int()
	seq, errno := iovecsArg(t, addr, cnt)
	if errno != 0 {
		return 0, errno
	}
	return readFile(t, fd, seq, -1)
}

// Writev implements writev(2).
func Writev(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, addr, cnt := args[0].Int(), args[1].Pointer(), args[2].Int()
	seq, errno := iovecsArg(t, addr, cnt)
	if errno != 0 {
		return 0, errno
	}
	return writeFile(t, fd, seq, -1)
}

// Preadv implements preadv(2).
func Preadv(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return positional(t, args, true, readFile)
}

// Pwritev implements pwritev(2).
func Pwritev(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return positional(t, args, true, writeFile)
}

// Lseek implements lseek(2).
func Lseek(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, off, whence := args[0].Int(), args[1].Int64(), args[2].Int()
	f, errno := getFile(t, fd)
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	n, err := f.Seek(t.Ctx(), off, whence)
	if err != nil {
		return 0, errnoOf(err)
	}
	return uintptr(n), 0
}

// preadv2/pwritev2 flags (include/uapi/linux/fs.h).
const (
	rwfHipri    = 0x1
	rwfDsync    = 0x2
	rwfSync     = 0x4
	rwfNowait   = 0x8
	rwfAppend   = 0x10
	rwfNoappend = 0x20
)

// rwv2 is the body of preadv2 and pwritev2: an offset of -1 means the
// file offset, as readv/writev. RWF_HIPRI, DSYNC, SYNC and NOWAIT are
// accepted (the Sentry has no page cache to bypass or flush, and a
// transfer it can do at once does not block); RWF_APPEND and
// RWF_NOAPPEND override O_APPEND for the call.
func rwv2(t *kernel.Task, args *arch.SyscallArguments, isRead bool, io func(*kernel.Task, int32, mm.IOSequence, int64) (uintptr, linux.Errno)) (uintptr, linux.Errno) {
	fd, addr, cnt, off, flags := args[0].Int(), args[1].Pointer(), args[2].Int(), args[3].Int64(), args[5].Int()
	if flags&^(rwfHipri|rwfDsync|rwfSync|rwfNowait|rwfAppend|rwfNoappend) != 0 {
		return 0, unix.EOPNOTSUPP
	}
	if off < -1 {
		return 0, unix.EINVAL
	}
	seq, errno := iovecsArg(t, addr, cnt)
	if errno != 0 {
		return 0, errno
	}
	if flags&(rwfAppend|rwfNoappend) != 0 && !isRead {
		f, errno := getFile(t, fd)
		if errno != 0 {
			return 0, errno
		}
		defer f.DecRef(t.Ctx())
		return ioResult(f.WriteAppendMode(t.Ctx(), seq, off, flags&rwfAppend != 0))
	}
	return io(t, fd, seq, off)
}

// Preadv2 implements preadv2(2).
func Preadv2(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return rwv2(t, args, true, readFile)
}

// Pwritev2 implements pwritev2(2).
func Pwritev2(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return rwv2(t, args, false, writeFile)
}

func init() { registrars = append(registrars, registerRWV2) }

func registerRWV2(b *tableBuilder) {
	const note = "RWF_HIPRI, RWF_DSYNC, RWF_SYNC and RWF_NOWAIT are accepted as hints (no page cache, no blocking I/O to avoid)"
	b.partial(linux.SYS_PREADV2, Preadv2, note)
	b.partial(linux.SYS_PWRITEV2, Pwritev2, note)
}
