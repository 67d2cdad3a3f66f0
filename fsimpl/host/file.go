package host

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/waiter"
)

// ioChunk bounds the bounce buffer between an IOSequence and the host
// fd, so memory does not grow with a guest's count.
const ioChunk = 64 << 10

// FD is an open host file: the implementation of a description made by
// NewFD or by reopening a host file. It implements
// vfs.FileDescriptionImpl; the kernel reaches the rest (terminal state,
// readiness) with fd.Impl().(*host.FD); it implements waiter.Waitable.
type FD struct {
	vfs.FileDescriptionDefaultImpl
	inode *inode
	// openNonblock is O_NONBLOCK at open; vfsfd, once known, supplies
	// the current flags (F_SETFL).
	openNonblock bool
	vfsfd        atomic.Pointer[vfs.FileDescription]
	released     atomic.Bool

	// watchMu guards watches, the readiness registrations (see
	// EventRegister), which Release ends.
	watchMu sync.Mutex
	watches map[*waiter.Entry]*hostWatch
}

// SetFileDescription tells the implementation which description it
// implements, so that it follows F_SETFL changes of O_NONBLOCK. NewFD
// does this; the kernel should do it for a description made by
// reopening a host file (Inode.Open), as for a FIFO.
func (fd *FD) SetFileDescription(vfsfd *vfs.FileDescription) { fd.vfsfd.Store(vfsfd) }

func (fd *FD) nonblocking() bool {
	if f := fd.vfsfd.Load(); f != nil {
		return f.StatusFlags()&linux.O_NONBLOCK != 0
	}
	return fd.openNonblock
}

// Release implements vfs.FileDescriptionImpl.Release.
func (fd *FD) Release(context.Context) {
	if !fd.released.Swap(true) {
		fd.stopWatches()
		fd.inode.put()
	}
}

// Read implements vfs.FileDescriptionImpl.Read for streams: one host
// read of up to ioChunk bytes, waiting (interruptibly) while there is
// nothing to read. If the copy to dst faults, the bytes read are lost
// and EFAULT is returned.
func (fd *FD) Read(ctx context.Context, dst vfs.IOSequence) (int64, error) {
	want := dst.NumBytes()
	if want == 0 {
		return 0, nil
	}
	// What the host fd gives cannot be given back: take no more than
	// the destination can hold, and nothing (EFAULT) if it holds
	// nothing.
	if w, ok := dst.(writablePrefixer); ok {
		if want = min(want, w.WritablePrefix()); want == 0 {
			return 0, unix.EFAULT
		}
	}
	h := fd.inode.hostFD
	buf := make([]byte, min(want, ioChunk))
	for {
		n, err := unix.Read(h, buf)
		switch err {
		case nil:
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			if fd.nonblocking() {
				return 0, unix.EAGAIN
			}
			if err := waitFD(ctx, h, unix.POLLIN); err != nil {
				return 0, err
			}
			continue
		default:
			return 0, err
		}
		if n == 0 {
			return 0, nil
		}
		c, err := dst.CopyOutAt(ctx, 0, buf[:n])
		if c == 0 && err != nil {
			return 0, err
		}
		return int64(c), nil
	}
}

// Write implements vfs.FileDescriptionImpl.Write for streams: it writes
// everything, waiting (interruptibly) while the host file is full,
// unless the description is non-blocking; an interrupted or failed write
// that moved data returns the count. EPIPE means the kernel must raise
// SIGPIPE. Writes of at most PIPE_BUF bytes to a host pipe stay atomic.
func (fd *FD) Write(ctx context.Context, src vfs.IOSequence) (int64, error) {
	want := src.NumBytes()
	if want == 0 {
		return 0, nil
	}
	h := fd.inode.hostFD
	buf := make([]byte, min(want, ioChunk))
	var done int64
	partial := func(err error) (int64, error) {
		if done > 0 {
			return done, nil
		}
		return 0, err
	}
	for done < want {
		c, cerr := src.CopyInAt(ctx, done, buf[:min(int64(len(buf)), want-done)])
		if c == 0 {
			return partial(cerr)
		}
		p := buf[:c]
		for len(p) > 0 {
			n, err := unix.Write(h, p)
			if n > 0 {
				done += int64(n)
				p = p[n:]
			}
			switch err {
			case nil:
				if n <= 0 {
					return partial(unix.EIO)
				}
			case unix.EINTR:
			case unix.EAGAIN:
				if fd.nonblocking() {
					return partial(unix.EAGAIN)
				}
				if err := waitFD(ctx, h, unix.POLLOUT); err != nil {
					return partial(err)
				}
			default:
				return partial(err)
			}
		}
		if cerr != nil {
			break
		}
	}
	return done, nil
}

// PRead implements vfs.FileDescriptionImpl.PRead for seekable files.
func (fd *FD) PRead(ctx context.Context, dst vfs.IOSequence, offset int64) (int64, error) {
	if fd.inode.stream {
		return 0, unix.ESPIPE
	}
	want := dst.NumBytes()
	if want == 0 {
		return 0, nil
	}
	h := fd.inode.hostFD
	buf := make([]byte, min(want, ioChunk))
	var done int64
	for done < want {
		n, err := unix.Pread(h, buf[:min(int64(len(buf)), want-done)], offset+done)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if n == 0 {
			break
		}
		c, err := dst.CopyOutAt(ctx, done, buf[:n])
		done += int64(c)
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if n < len(buf) && done < want {
			break // short read: end of file for now.
		}
	}
	return done, nil
}

// PWrite implements vfs.FileDescriptionImpl.PWrite for seekable files.
// An O_APPEND write goes to the host file's current size; it is atomic
// against the Sentry's other appends, not against host processes'.
func (fd *FD) PWrite(ctx context.Context, src vfs.IOSequence, offset int64, appendMode bool) (int64, int64, error) {
	i := fd.inode
	if i.stream {
		return 0, 0, unix.ESPIPE
	}
	if appendMode {
		i.appendMu.Lock()
		defer i.appendMu.Unlock()
		st, err := i.fstat()
		if err != nil {
			return 0, offset, err
		}
		offset = st.Size
	}
	want := src.NumBytes()
	if want == 0 {
		return 0, offset, nil
	}
	buf := make([]byte, min(want, ioChunk))
	var done int64
	for done < want {
		c, cerr := src.CopyInAt(ctx, done, buf[:min(int64(len(buf)), want-done)])
		p := buf[:c]
		for len(p) > 0 {
			n, err := unix.Pwrite(i.hostFD, p, offset+done)
			if n > 0 {
				done += int64(n)
				p = p[n:]
			}
			if err == unix.EINTR {
				continue
			}
			if err != nil || n <= 0 {
				if done > 0 {
					return done, offset + done, nil
				}
				if err == nil {
					err = unix.EIO
				}
				return 0, offset, err
			}
		}
		if cerr != nil || c == 0 {
			if done == 0 {
				return 0, offset, cerr
			}
			break
		}
	}
	return done, offset + done, nil
}

// Seek implements vfs.FileDescriptionImpl.Seek. The offset is the host
// file description's (cur < 0: the VFS leaves it to us), shared with host
// processes as a file inherited across fork is.
func (fd *FD) Seek(_ context.Context, cur, offset int64, whence int32) (int64, error) {
	if fd.inode.stream {
		return 0, unix.ESPIPE
	}
	if cur < 0 {
		return unix.Seek(fd.inode.hostFD, offset, int(whence))
	}
	var size int64
	if whence != linux.SEEK_SET && whence != linux.SEEK_CUR {
		st, err := fd.inode.fstat()
		if err != nil {
			return 0, err
		}
		size = st.Size
	}
	return vfs.GenericSeek(cur, offset, whence, size)
}

// Allocate implements vfs.FileDescriptionImpl.Allocate with the host's
// fallocate.
func (fd *FD) Allocate(_ context.Context, mode uint32, offset, length uint64) error {
	if fd.inode.typ != unix.S_IFREG {
		return unix.ENODEV
	}
	return unix.Fallocate(fd.inode.hostFD, mode, int64(offset), int64(length))
}

// Sync implements vfs.FileDescriptionImpl.Sync: fsync of a host regular
// file; other files have nothing to flush.
func (fd *FD) Sync(context.Context) error {
	if fd.inode.typ != unix.S_IFREG {
		return nil
	}
	return unix.Fsync(fd.inode.hostFD)
}

// writablePrefixer is implemented by destinations that know how much of
// them can be written (guest memory: mm.IOSequence).
type writablePrefixer interface {
	WritablePrefix() int64
}

// ProcName is what /proc/[pid]/fd/N shows for a host fd: "pipe:[ino]" or
// "socket:[ino]" with the host's inode number, the device path of a
// terminal or another character device, else the path the host would
// name has no meaning in the sandbox and "host:[ino]" is shown.
func (fd *FD) ProcName() string {
	var st unix.Stat_t
	if err := unix.Fstat(fd.inode.hostFD, &st); err != nil {
		return "host:[" + strconv.FormatUint(fd.inode.ino, 10) + "]"
	}
	ino := strconv.FormatUint(st.Ino, 10)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return "pipe:[" + ino + "]"
	case unix.S_IFSOCK:
		return "socket:[" + ino + "]"
	case unix.S_IFCHR:
		major, minor := unix.Major(st.Rdev), unix.Minor(st.Rdev)
		switch {
		case major >= 136 && major <= 143:
			return "/dev/pts/" + strconv.FormatUint(uint64((major-136)<<20|minor), 10)
		case major == 5 && minor == 0:
			return "/dev/tty"
		case major == 4:
			return "/dev/tty" + strconv.FormatUint(uint64(minor), 10)
		case major == 1 && minor == 3:
			return "/dev/null"
		}
	}
	return "host:[" + ino + "]"
}
