package linux

import (
	"encoding/binary"
	"math"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/pipe"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/waiter"
	"golang.org/x/sys/unix"
)

// This file holds the in-kernel copy calls: sendfile(2), splice(2) and
// copy_file_range(2). Linux moves page references between files and
// pipes; here the data goes through a bounded Sentry buffer (64 KiB at a
// time), which gives the same results with one exception: when the
// source is a pipe or another stream and the destination fails part way
// (a full non-blocking pipe, a reader that went away), the bytes read but
// not written are lost, where Linux would leave them in the source pipe.
// File sources are read by offset and advanced only by what was written,
// so nothing is lost from them.

func init() { registrars = append(registrars, registerSplice) }

// registerSplice registers the copy calls.
func registerSplice(b *tableBuilder) {
	b.partial(linux.SYS_SENDFILE, Sendfile, "copies through a Sentry buffer: from a stream source (a socket) into a pipe, bytes read but not written when a signal interrupts are lost")
	b.partial(linux.SYS_VMSPLICE, Vmsplice, "copies the user pages (as SPLICE_F_GIFT-less Linux may); SPLICE_F_NONBLOCK is judged from the pipe's state before the copy")
	b.partial(linux.SYS_SPLICE, Splice, "copies through a Sentry buffer: data read from a stream source is lost if the destination then fails; SPLICE_F_NONBLOCK is judged from the pipes' state before the copy")
	b.full(linux.SYS_COPY_FILE_RANGE, CopyFileRange)
}

const (
	// maxRWCount is MAX_RW_COUNT: the most one read or write moves.
	maxRWCount = 0x7ffff000
	// spliceChunk is the size of the copy buffer.
	spliceChunk = 64 << 10
)

// splice(2) flags (include/linux/splice.h).
const (
	spliceFMove     = 0x1
	spliceFNonblock = 0x2
	spliceFMore     = 0x4
	spliceFGift     = 0x8
	spliceFAll      = spliceFMove | spliceFNonblock | spliceFMore | spliceFGift
)

// isPipe reports whether f is a pipe or FIFO (Linux's get_pipe_info).
func isPipe(f *vfs.FileDescription) bool {
	return f.Inode().Attr().Mode&linux.S_IFMT == linux.S_IFIFO
}

// readinessOf is implemented by pollable files.
type readinessOf interface {
	Readiness(mask waiter.EventMask) waiter.EventMask
}

// spliceEnd is one side of a copy. A positional end reads or writes at
// off, which the copy advances by the bytes that reached the
// destination; otherwise the description's own offset (or none, for a
// stream) is used.
type spliceEnd struct {
	f          *vfs.FileDescription
	positional bool
	off        int64
	// fileOffset is set when off was taken from the description's file
	// offset, which must be updated at the end.
	fileOffset bool
}

// useFileOffset makes a seekable end positional at the description's
// offset, so that a failed write does not lose source data; streams stay
// as they are.
func (e *spliceEnd) useFileOffset(t *kernel.Task) {
	if isPipe(e.f) {
		return
	}
	if _, err := e.f.Seek(t.Ctx(), 0, linux.SEEK_CUR); err != nil {
		return
	}
	e.positional, e.fileOffset, e.off = true, true, e.f.Offset()
}

// spliceOffset makes the end positional at the loff_t splice(2) names at
// addr: EINVAL for a file without positions, EFAULT for a bad pointer.
func (e *spliceEnd) spliceOffset(t *kernel.Task, addr uintptr) linux.Errno {
	if !seekable(t, e.f) {
		return unix.EINVAL
	}
	off, errno := copyInOffset(t, addr)
	if errno != 0 {
		return errno
	}
	e.positional, e.off = true, off
	return 0
}

// finish stores a file-offset end's new position back in its description.
func (e *spliceEnd) finish(t *kernel.Task) {
	if e.fileOffset {
		_, _ = e.f.Seek(t.Ctx(), e.off, linux.SEEK_SET)
	}
}

// interrupted reports whether a signal wants the task.
func interrupted(t *kernel.Task) bool {
	select {
	case <-t.Interrupted():
		return true
	default:
		return false
	}
}

// copyData moves up to count bytes from src to dst and returns how many
// arrived. With nonblock, an empty source pipe or a full destination pipe
// ends the copy (EAGAIN if nothing moved). A stream source is read once,
// so the copy never waits for more data after some has moved; a file
// source is read until count or end of file. A signal ends a long copy
// early with the count so far.
func copyData(t *kernel.Task, src, dst *spliceEnd, count int64, nonblock bool) (int64, error) {
	ctx := t.Ctx()
	buf := make([]byte, min(count, spliceChunk))
	var done int64
	for done < count {
		if done > 0 && (!src.positional || interrupted(t)) {
			break
		}
		want := min(count-done, int64(len(buf)))
		if nonblock {
			if p, ok := dst.f.Impl().(*pipe.FD); ok {
				free := int64(p.Pipe().Size() - p.Pipe().Buffered())
				if free <= 0 {
					if done == 0 {
						return 0, unix.EAGAIN
					}
					break
				}
				want = min(want, free)
			}
			if r, ok := src.f.Impl().(readinessOf); ok && isPipe(src.f) &&
				r.Readiness(waiter.ReadableEvents|waiter.EventHUp) == 0 {
				if done == 0 {
					return 0, unix.EAGAIN
				}
				break
			}
		}
		var n int64
		var rerr error
		if src.positional {
			n, rerr = src.f.PRead(ctx, vfs.BytesIOSequence(buf[:want]), src.off)
		} else {
			n, rerr = src.f.Read(ctx, vfs.BytesIOSequence(buf[:want]))
		}
		if n <= 0 {
			if done == 0 && rerr != nil {
				return 0, rerr
			}
			break
		}
		var w int64
		var werr error
		if dst.positional {
			w, werr = dst.f.PWrite(ctx, vfs.BytesIOSequence(buf[:n]), dst.off)
			dst.off += max(w, 0)
		} else {
			w, werr = dst.f.Write(ctx, vfs.BytesIOSequence(buf[:n]))
		}
		w = max(w, 0)
		if src.positional {
			src.off += w
		}
		done += w
		if werr == unix.EPIPE {
			_ = t.SendSignal(&linux.SignalInfo{Signo: int32(linux.SIGPIPE), Code: linux.SI_USER})
		}
		if werr != nil || w < n {
			if done == 0 {
				return 0, werr
			}
			break
		}
		if rerr != nil {
			break
		}
	}
	return done, nil
}

// Vmsplice implements vmsplice(2): a descriptor open for writing gets
// the user memory appended (like writev), one open only for reading
// gives its data to user memory (like readv); either must be a pipe
// (EBADF).
func Vmsplice(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fd, iovAddr, nr, flags := args[0].Int(), args[1].Pointer(), args[2].Uint64(), args[3].Uint()
	if flags&^uint32(spliceFAll) != 0 {
		return 0, unix.EINVAL
	}
	f, errno := getFile(t, fd)
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	write := f.IsWritable()
	if !write && !f.IsReadable() {
		return 0, unix.EBADF
	}
	if nr > linux.UIO_MAXIOV {
		return 0, unix.EINVAL
	}
	seq, errno := iovecsArg(t, iovAddr, int32(nr))
	if errno != 0 {
		return 0, errno
	}
	if seq.NumBytes() == 0 {
		return 0, 0
	}
	if !isPipe(f) {
		return 0, unix.EBADF
	}
	if flags&spliceFNonblock != 0 {
		if p, ok := f.Impl().(*pipe.FD); ok {
			if write && p.Pipe().Size()-p.Pipe().Buffered() <= 0 {
				return 0, unix.EAGAIN
			}
			if !write && p.Readiness(waiter.ReadableEvents|waiter.EventHUp) == 0 {
				return 0, unix.EAGAIN
			}
		}
	}
	if write {
		n, err := f.Write(t.Ctx(), seq)
		if err == unix.EPIPE {
			_ = t.SendSignal(&linux.SignalInfo{Signo: int32(linux.SIGPIPE), Code: linux.SI_USER})
		}
		return ioResult(n, err)
	}
	// Take only what fits before the first unwritable byte.
	n := seq.WritablePrefix()
	if n == 0 {
		return 0, unix.EFAULT
	}
	return ioResult(f.Read(t.Ctx(), seq.Prefix(n)))
}

// copyInOffset reads a loff_t argument.
func copyInOffset(t *kernel.Task, addr uintptr) (int64, linux.Errno) {
	var b [8]byte
	if _, err := t.MemoryManager().CopyIn(addr, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	return int64(binary.LittleEndian.Uint64(b[:])), 0
}

// copyOutOffset writes a loff_t argument back.
func copyOutOffset(t *kernel.Task, addr uintptr, off int64) linux.Errno {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(off))
	if _, err := t.MemoryManager().CopyOut(addr, b[:]); err != nil {
		return unix.EFAULT
	}
	return 0
}

// seekable reports whether f supports positional I/O (FMODE_PREAD).
func seekable(t *kernel.Task, f *vfs.FileDescription) bool {
	if isPipe(f) {
		return false
	}
	_, err := f.Seek(t.Ctx(), 0, linux.SEEK_CUR)
	return err == nil
}

// copyResult turns a copy's outcome into the syscall result, storing the
// new offset at offAddr (if any) first.
func copyResult(t *kernel.Task, n int64, err error, offAddr uintptr, off int64) (uintptr, linux.Errno) {
	if offAddr != 0 {
		if errno := copyOutOffset(t, offAddr, off); errno != 0 {
			return 0, errno
		}
	}
	if n == 0 && err != nil {
		return 0, errnoOf(err)
	}
	return uintptr(n), 0
}

// Sendfile implements sendfile(2). The source must be a regular file
// unless the destination is a pipe; with an offset pointer the source's
// file offset is left alone.
func Sendfile(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	outFD, inFD, offAddr, count := args[0].Int(), args[1].Int(), args[2].Pointer(), args[3].SizeT()
	in, errno := getFile(t, inFD)
	if errno != 0 {
		return 0, errno
	}
	defer in.DecRef(t.Ctx())
	if !in.IsReadable() {
		return 0, unix.EBADF
	}
	src := &spliceEnd{f: in}
	if offAddr != 0 {
		off, errno := copyInOffset(t, offAddr)
		if errno != 0 {
			return 0, errno
		}
		if !seekable(t, in) {
			return 0, unix.ESPIPE
		}
		src.positional, src.off = true, off
	} else {
		src.useFileOffset(t)
	}
	if src.positional && src.off < 0 {
		return 0, unix.EINVAL
	}
	count = min(count, maxRWCount)
	out, errno := getFile(t, outFD)
	if errno != 0 {
		return 0, errno
	}
	defer out.DecRef(t.Ctx())
	if !out.IsWritable() {
		return 0, unix.EBADF
	}
	dst := &spliceEnd{f: out}
	nonblock := false
	if isPipe(out) {
		nonblock = out.StatusFlags()&linux.O_NONBLOCK != 0
	} else {
		if out.StatusFlags()&linux.O_APPEND != 0 {
			return 0, unix.EINVAL
		}
		if in.Inode().Attr().Mode&linux.S_IFMT != linux.S_IFREG {
			return 0, unix.EINVAL
		}
	}
	if in.Inode().Attr().IsDir() {
		return 0, unix.EINVAL // a directory has no splice_read.
	}
	if count == 0 {
		return 0, 0
	}
	n, err := copyData(t, src, dst, int64(count), nonblock)
	if offAddr != 0 {
		return copyResult(t, n, err, offAddr, src.off)
	}
	src.finish(t)
	return copyResult(t, n, err, 0, 0)
}

// Splice implements splice(2): one end must be a pipe (EINVAL otherwise);
// an offset pointer is ESPIPE for a pipe end and EINVAL for a
// non-seekable other end.
func Splice(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	inFD, inOffAddr, outFD, outOffAddr := args[0].Int(), args[1].Pointer(), args[2].Int(), args[3].Pointer()
	count, flags := args[4].SizeT(), args[5].Uint()
	if count == 0 {
		return 0, 0
	}
	if flags&^uint32(spliceFAll) != 0 {
		return 0, unix.EINVAL
	}
	in, errno := getFile(t, inFD)
	if errno != 0 {
		return 0, errno
	}
	defer in.DecRef(t.Ctx())
	out, errno := getFile(t, outFD)
	if errno != 0 {
		return 0, errno
	}
	defer out.DecRef(t.Ctx())
	if !in.IsReadable() || !out.IsWritable() {
		return 0, unix.EBADF
	}
	inPipe, outPipe := isPipe(in), isPipe(out)
	nonblock := flags&spliceFNonblock != 0
	src, dst := &spliceEnd{f: in}, &spliceEnd{f: out}
	switch {
	case inPipe && outPipe:
		if inOffAddr != 0 || outOffAddr != 0 {
			return 0, unix.ESPIPE
		}
		if sameFile(in, out) {
			return 0, unix.EINVAL
		}
		nonblock = nonblock || (in.StatusFlags()|out.StatusFlags())&linux.O_NONBLOCK != 0
	case inPipe:
		if inOffAddr != 0 {
			return 0, unix.ESPIPE
		}
		if outOffAddr != 0 {
			if errno := dst.spliceOffset(t, outOffAddr); errno != 0 {
				return 0, errno
			}
		}
		if out.StatusFlags()&linux.O_APPEND != 0 {
			return 0, unix.EINVAL
		}
		if dst.positional && dst.off < 0 {
			return 0, unix.EINVAL
		}
		nonblock = nonblock || in.StatusFlags()&linux.O_NONBLOCK != 0
	case outPipe:
		if outOffAddr != 0 {
			return 0, unix.ESPIPE
		}
		if inOffAddr != 0 {
			if errno := src.spliceOffset(t, inOffAddr); errno != 0 {
				return 0, errno
			}
		} else {
			src.useFileOffset(t)
		}
		if src.positional && src.off < 0 {
			return 0, unix.EINVAL
		}
		if in.Inode().Attr().IsDir() {
			return 0, unix.EINVAL
		}
		nonblock = nonblock || out.StatusFlags()&linux.O_NONBLOCK != 0
	default:
		return 0, unix.EINVAL
	}
	n, err := copyData(t, src, dst, int64(min(count, maxRWCount)), nonblock)
	switch {
	case inOffAddr != 0:
		return copyResult(t, n, err, inOffAddr, src.off)
	case outOffAddr != 0:
		return copyResult(t, n, err, outOffAddr, dst.off)
	}
	src.finish(t)
	return copyResult(t, n, err, 0, 0)
}

// sameFile reports whether two descriptions are of one inode.
func sameFile(a, b *vfs.FileDescription) bool {
	return a.Inode() == b.Inode()
}

// CopyFileRange implements copy_file_range(2) between regular files of
// one filesystem (EXDEV across filesystems, as Linux since 5.19 for
// filesystems without a copy method of their own).
func CopyFileRange(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	inFD, inOffAddr, outFD, outOffAddr := args[0].Int(), args[1].Pointer(), args[2].Int(), args[3].Pointer()
	count, flags := args[4].SizeT(), args[5].Uint()
	if flags != 0 {
		return 0, unix.EINVAL
	}
	in, errno := getFile(t, inFD)
	if errno != 0 {
		return 0, errno
	}
	defer in.DecRef(t.Ctx())
	out, errno := getFile(t, outFD)
	if errno != 0 {
		return 0, errno
	}
	defer out.DecRef(t.Ctx())
	src, dst := &spliceEnd{f: in, positional: true}, &spliceEnd{f: out, positional: true}
	for _, e := range []struct {
		end  *spliceEnd
		addr uintptr
	}{{src, inOffAddr}, {dst, outOffAddr}} {
		if e.addr != 0 {
			off, errno := copyInOffset(t, e.addr)
			if errno != 0 {
				return 0, errno
			}
			e.end.off = off
		} else {
			e.end.off, e.end.fileOffset = e.end.f.Offset(), true
		}
	}
	// generic_copy_file_checks, in order.
	for _, f := range []*vfs.FileDescription{in, out} {
		switch a := f.Inode().Attr(); {
		case a.IsDir():
			return 0, unix.EISDIR
		case !a.IsRegular():
			return 0, unix.EINVAL
		}
	}
	if !in.IsReadable() || !out.IsWritable() || out.StatusFlags()&linux.O_APPEND != 0 {
		return 0, unix.EBADF
	}
	if src.off < 0 || dst.off < 0 {
		return 0, unix.EOVERFLOW
	}
	count = min(count, maxRWCount, uint64(math.MaxInt64-src.off))
	if int64(count) > math.MaxInt64-dst.off {
		return 0, unix.EFBIG
	}
	if in.VirtualDentry().Dentry.Filesystem() != out.VirtualDentry().Dentry.Filesystem() {
		return 0, unix.EXDEV
	}
	if sameFile(in, out) && src.off < dst.off+int64(count) && dst.off < src.off+int64(count) {
		return 0, unix.EINVAL
	}
	if count == 0 {
		return 0, 0
	}
	n, err := copyData(t, src, dst, int64(count), false)
	if n == 0 && err != nil {
		return 0, errnoOf(err)
	}
	if inOffAddr != 0 {
		if errno := copyOutOffset(t, inOffAddr, src.off); errno != 0 {
			return 0, errno
		}
	} else {
		src.finish(t)
	}
	if outOffAddr != 0 {
		if errno := copyOutOffset(t, outOffAddr, dst.off); errno != 0 {
			return 0, errno
		}
	} else {
		dst.finish(t)
	}
	return uintptr(n), 0
}

// Tee implements tee(2): it copies up to len bytes buffered in the pipe
// at fdIn to the pipe at fdOut without consuming them.
func Tee(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	fdIn, fdOut, n, flags := args[0].Int(), args[1].Int(), int64(min(args[2].Uint64(), maxRWCount)), args[3].Uint()
	if flags&^spliceFAll != 0 {
		return 0, unix.EINVAL
	}
	in, errno := getFile(t, fdIn)
	if errno != 0 {
		return 0, errno
	}
	defer in.DecRef(t.Ctx())
	out, errno := getFile(t, fdOut)
	if errno != 0 {
		return 0, errno
	}
	defer out.DecRef(t.Ctx())
	pin, ok1 := in.Impl().(*pipe.FD)
	pout, ok2 := out.Impl().(*pipe.FD)
	if !ok1 || !ok2 {
		return 0, unix.EINVAL
	}
	if !in.IsReadable() || !out.IsWritable() {
		return 0, unix.EBADF
	}
	if pin.Pipe() == pout.Pipe() {
		return 0, unix.EINVAL
	}
	if n == 0 {
		return 0, 0
	}
	nonblock := flags&spliceFNonblock != 0
	data, err := pin.Pipe().Peek(t.Ctx(), n, nonblock || in.StatusFlags()&linux.O_NONBLOCK != 0)
	if err != nil {
		return 0, errnoOf(err)
	}
	if len(data) == 0 {
		return 0, 0
	}
	w, err := pout.Pipe().WriteBytes(t.Ctx(), data, nonblock || out.StatusFlags()&linux.O_NONBLOCK != 0)
	if w > 0 {
		return uintptr(w), 0
	}
	if err == unix.EPIPE {
		_ = t.SendSignal(&linux.SignalInfo{Signo: int32(linux.SIGPIPE), Code: linux.SI_USER})
	}
	return 0, errnoOf(err)
}

func init() { registrars = append(registrars, registerTee) }

func registerTee(b *tableBuilder) {
	b.partial(linux.SYS_TEE, Tee, "copies the buffered bytes (no page sharing); a destination that takes only part of them gets that part")
}
