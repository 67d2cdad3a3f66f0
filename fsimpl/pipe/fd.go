package pipe

import (
	"context"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/waiter"
)

// FD is an open end of a pipe or FIFO (the implementation of its
// vfs.FileDescription, which must be created with Stream set). An
// O_RDWR FIFO description is both ends at once.
type FD struct {
	vfs.FileDescriptionDefaultImpl
	pipe           *Pipe
	reader, writer bool
	// wSeen is the pipe's writer-open count when this end opened.
	wSeen uint64
	// openNonblock is O_NONBLOCK at open; vfsfd, once known, supplies
	// the current flags (F_SETFL).
	openNonblock bool
	vfsfd        atomic.Pointer[vfs.FileDescription]
}

// SetFileDescription tells the FD which description it implements, so
// that it follows F_SETFL changes of O_NONBLOCK. NewPair does this; a
// filesystem opening a FIFO should call it on the description the VFS
// makes (see the package report: the VFS could do it for every impl).
func (fd *FD) SetFileDescription(vfsfd *vfs.FileDescription) { fd.vfsfd.Store(vfsfd) }

func (fd *FD) nonblocking() bool {
	if f := fd.vfsfd.Load(); f != nil {
		return f.StatusFlags()&linux.O_NONBLOCK != 0
	}
	return fd.openNonblock
}

// Pipe returns the pipe the FD is an end of.
func (fd *FD) Pipe() *Pipe { return fd.pipe }

// Release implements vfs.FileDescriptionImpl.Release.
func (fd *FD) Release(context.Context) {
	fd.pipe.closeEnds(fd.reader, fd.writer)
}

// Read implements vfs.FileDescriptionImpl.Read.
func (fd *FD) Read(ctx context.Context, dst vfs.IOSequence) (int64, error) {
	if !fd.reader {
		return 0, unix.EBADF
	}
	return fd.pipe.read(ctx, dst, fd.nonblocking())
}

// Write implements vfs.FileDescriptionImpl.Write. EPIPE means the kernel
// must raise SIGPIPE (RaisesSIGPIPE); the count may be non-zero then.
func (fd *FD) Write(ctx context.Context, src vfs.IOSequence) (int64, error) {
	if !fd.writer {
		return 0, unix.EBADF
	}
	return fd.pipe.write(ctx, src, fd.nonblocking())
}

// FIONREAD is the ioctl that reports the bytes available to read (on
// amd64; the same number as TIOCINQ).
const FIONREAD = 0x541B

// Ioctl implements vfs.FileDescriptionImpl.Ioctl: FIONREAD returns the
// number of buffered bytes as the result; the kernel's ioctl handler
// stores it at the guest's int pointer and returns 0 (the FD has no
// access to guest memory).
func (fd *FD) Ioctl(_ context.Context, cmd uint32, _ uintptr) (uintptr, error) {
	if cmd == FIONREAD {
		return uintptr(fd.pipe.Buffered()), nil
	}
	return 0, unix.ENOTTY
}

// Readiness returns the events in mask that are ready now: waiter.ReadableEvents when
// data is buffered; waiter.EventHUp on a read end once every writer has gone
// (after at least one came, for a FIFO); waiter.WritableEvents on a write end when a
// PipeBuf write would not block; waiter.EventErr when no reader is left.
func (fd *FD) Readiness(mask waiter.EventMask) waiter.EventMask {
	return fd.pipe.readiness(fd.reader, fd.writer, fd.wSeen) & (mask | waiter.EventErr | waiter.EventHUp)
}

// EventRegister registers e for the pipe's events (poll, epoll).
func (fd *FD) EventRegister(e *waiter.Entry) { fd.pipe.queue.EventRegister(e) }

// EventUnregister undoes EventRegister.
func (fd *FD) EventUnregister(e *waiter.Entry) { fd.pipe.queue.EventUnregister(e) }

// PipeSize implements F_GETPIPE_SZ.
func (fd *FD) PipeSize() int64 { return int64(fd.pipe.Size()) }

// SetPipeSize implements F_SETPIPE_SZ; capSysResource says whether the
// caller holds CAP_SYS_RESOURCE.
func (fd *FD) SetPipeSize(size int64, capSysResource bool) (int64, error) {
	return fd.pipe.SetSize(size, capSysResource)
}

// Open opens an end of p with open(2) flags, applying the FIFO rules:
// O_RDONLY waits for a writer unless O_NONBLOCK; O_WRONLY waits for a
// reader, or fails with ENXIO under O_NONBLOCK if there is none; O_RDWR
// never waits. A wait ends with ERESTARTSYS when ctx's interrupt closes
// (Interrupt). Filesystems call this from Inode.Open of a FIFO inode,
// with a Pipe they keep per inode (see FIFO).
func (p *Pipe) Open(ctx context.Context, flags uint32) (*FD, error) {
	return p.open(ctx, flags, true)
}

// OpenAnonymous opens another end of an anonymous pipe (through
// /proc/[pid]/fd/N): unlike a FIFO's, such an open never waits for the
// other side and never fails with ENXIO, as Linux's fifo_open skips both
// for pipefs inodes.
func (p *Pipe) OpenAnonymous(ctx context.Context, flags uint32) (*FD, error) {
	return p.open(ctx, flags, false)
}

func (p *Pipe) open(ctx context.Context, flags uint32, fifo bool) (*FD, error) {
	nonblock := flags&linux.O_NONBLOCK != 0
	fd := &FD{pipe: p, openNonblock: nonblock}
	switch flags & linux.O_ACCMODE {
	case linux.O_RDONLY:
		fd.reader = true
	case linux.O_WRONLY:
		fd.writer = true
	case linux.O_RDWR:
		fd.reader, fd.writer = true, true
	default:
		return nil, unix.EINVAL
	}
	p.mu.Lock()
	if fifo && fd.writer && !fd.reader && nonblock && p.readers == 0 {
		p.mu.Unlock()
		return nil, unix.ENXIO
	}
	if fd.reader {
		p.readers++
		p.rCounter++
	}
	if fd.writer {
		p.writers++
		p.wCounter++
	}
	fd.wSeen = p.wCounter
	var waitFor func() bool
	switch {
	case !fifo, fd.reader && fd.writer, nonblock:
	case fd.reader && p.writers == 0:
		seen := p.wCounter
		waitFor = func() bool { return p.wCounter != seen }
	case fd.writer && p.readers == 0:
		seen := p.rCounter
		waitFor = func() bool { return p.rCounter != seen }
	}
	p.mu.Unlock()
	p.queue.Notify(waiter.ReadableEvents | waiter.WritableEvents)
	if waitFor == nil {
		return fd, nil
	}
	e, ch := waiter.NewEntry(waiter.ReadableEvents | waiter.WritableEvents)
	p.queue.EventRegister(e)
	defer p.queue.EventUnregister(e)
	for {
		p.mu.Lock()
		ok := waitFor()
		p.mu.Unlock()
		if ok {
			return fd, nil
		}
		if err := wait(ctx, ch); err != nil {
			fd.Release(ctx)
			return nil, err
		}
	}
}

// FIFO is the pipe of a named pipe inode: a filesystem keeps one per FIFO
// inode and calls Open from the inode's Open. The zero value is ready.
type FIFO struct {
	// mu guards p.
	mu sync.Mutex
	p  *Pipe
}

// Open implements Inode.Open for a FIFO inode.
func (f *FIFO) Open(ctx context.Context, flags uint32) (vfs.FileDescriptionImpl, error) {
	f.mu.Lock()
	if f.p == nil {
		f.p = NewPipe()
	}
	p := f.p
	f.mu.Unlock()
	fd, err := p.Open(ctx, flags)
	if err != nil {
		return nil, err
	}
	return fd, nil
}

// FD is pollable.
var _ waiter.Waitable = (*FD)(nil)
