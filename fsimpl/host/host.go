// Package host wraps host file descriptors, such as the container's
// stdio (pipes, files, /dev/null or a pseudoterminal from the console
// socket), as Sentry file descriptions.
//
// NewFD takes ownership of a host fd, finds its type with fstat and makes
// it the root inode of a one-file filesystem (the VFS has no anonymous
// dentries, as for pipes), so that fstat, /proc/self/fd and reopening
// through it work as for any file. Reads and writes go to the host fd.
// Regular files and block devices are seekable: the Sentry keeps the
// offset and uses pread/pwrite, so the host fd's own offset is only read
// once, to start the description where the host left it. Everything else
// (FIFOs, sockets, character devices including terminals) is a stream.
//
// Blocking. A stream's host fd is switched to O_NONBLOCK (its original
// flags are restored when the last description is released, so a user's
// terminal is not left non-blocking by `runsc do`). A read or write that
// would block waits in poll(2) on the host fd and a per-wait eventfd
// that a helper goroutine signals when the caller's interrupt channel
// closes; the wait then ends with ERESTARTSYS, as vfs/lock's blocking
// calls do, or with the count already moved for a partial write. The
// interrupt channel is ctx.Done(): the kernel passes a context cancelled
// when a signal must interrupt the task (fsimpl/pipe's Interrupt falls
// back to the same channel). A description that is itself O_NONBLOCK
// (F_SETFL) gets EAGAIN instead of waiting. Only the waiting thread
// blocks; the task goroutines are locked to their threads anyway.
//
// Readiness. FD implements waiter.Waitable for poll, select and epoll:
// Readiness is a zero-timeout poll(2) of the host fd, and each
// registration runs a goroutine waiting in epoll_wait(2) on a private,
// edge-triggered host epoll set (the host fd plus a cancellation
// eventfd), ended by EventUnregister or by the description's release.
//
// Terminals. A character device answering TCGETS is a terminal. TCGETS,
// TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, TIOCSWINSZ and TIOCOUTQ are
// forwarded to the host terminal, so the host's line discipline does the
// echoing, line editing and translation. The foreground process group
// (TIOCGPGRP, TIOCSPGRP) is emulated: host process groups mean nothing
// in the sandbox, so the terminal stores the sandbox's value
// (Options.ForegroundProcessGroup initially) without checking it against
// sessions; job control proper (TIOCSCTTY, TIOCNOTTY, TIOCGSID, SIGTTOU
// and SIGTTIN for background groups, SIGWINCH on resize, ^C to SIGINT of
// the foreground group) needs the kernel's sessions and is not done here:
// those ioctls fail with ENOTTY until the kernel serves them. FIONREAD is
// forwarded for every stream and, like fsimpl/pipe, returns the count as
// the ioctl's result for the kernel to store at the guest's pointer; it
// is ENOTTY on seekable files, where the syscall layer computes it from
// the size and offset as Linux's generic code does. Ioctls that move a
// structure reach guest memory through the GuestMemory carried by ctx
// (see WithGuestMemory).
package host

import (
	"context"
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// Options configure NewFD.
type Options struct {
	// ForegroundProcessGroup is a terminal's initial foreground process
	// group (TIOCGPGRP) in the sandbox's PID namespace; runsc sets it to
	// the container's init process.
	ForegroundProcessGroup int32
}

// NewFD returns a description of host fd hostFD, whose access mode,
// O_APPEND and O_NONBLOCK it takes from the host's file status flags. On
// success the description owns hostFD and closes it when the last
// description of it is released; on error the caller keeps it.
// Directories and O_PATH fds are refused.
func NewFD(v *vfs.VirtualFilesystem, hostFD int, opts Options) (*vfs.FileDescription, error) {
	var st unix.Stat_t
	if err := unix.Fstat(hostFD, &st); err != nil {
		return nil, fmt.Errorf("fstat of host fd %d: %w", hostFD, err)
	}
	flags, err := unix.FcntlInt(uintptr(hostFD), unix.F_GETFL, 0)
	if err != nil {
		return nil, fmt.Errorf("F_GETFL of host fd %d: %w", hostFD, err)
	}
	typ := st.Mode & unix.S_IFMT
	if typ == unix.S_IFDIR || flags&unix.O_PATH != 0 {
		return nil, fmt.Errorf("host fd %d: directories and O_PATH fds are not supported: %w", hostFD, unix.EINVAL)
	}
	in := &inode{hostFD: hostFD, typ: typ, hostFlags: flags, ino: st.Ino}
	in.refs.Store(1)
	in.setAttr(&st)
	if typ == unix.S_IFCHR {
		if _, err := unix.IoctlGetTermios(hostFD, unix.TCGETS); err == nil {
			in.tty = &terminal{}
			in.tty.fgPGID.Store(opts.ForegroundProcessGroup)
		}
	}
	in.stream = typ != unix.S_IFREG && typ != unix.S_IFBLK
	if in.stream && flags&unix.O_NONBLOCK == 0 {
		if _, err := unix.FcntlInt(uintptr(hostFD), unix.F_SETFL, flags|unix.O_NONBLOCK); err != nil {
			return nil, fmt.Errorf("setting O_NONBLOCK on host fd %d: %w", hostFD, err)
		}
		in.restoreFlags = true
	}
	var off int64
	if !in.stream {
		// A seekable fd starts where the host left it; ESPIPE and the
		// like leave 0.
		if o, err := unix.Seek(hostFD, 0, unix.SEEK_CUR); err == nil {
			off = o
		}
	}

	ns := v.NewMountNamespace(v.NewFilesystem(&filesystem{root: in}), vfs.MountFlags{})
	vd := ns.Root()
	defer vd.DecRef()
	gflags := uint32(flags) & (linux.O_ACCMODE | linux.O_APPEND | linux.O_NONBLOCK)
	impl := &FD{inode: in, openNonblock: flags&unix.O_NONBLOCK != 0}
	fd := vfs.NewFileDescription(impl, gflags, vd, vfs.FileDescriptionOptions{Stream: in.stream, ImplOffset: !in.stream})
	impl.vfsfd.Store(fd)
	if off > 0 {
		// Cannot fail for a positive offset on a seekable file.
		_, _ = fd.Seek(context.Background(), off, linux.SEEK_SET)
	}
	return fd, nil
}

// filesystem holds one host file as its root.
type filesystem struct {
	root *inode
}

// Root implements vfs.FilesystemImpl.Root.
func (fs *filesystem) Root() vfs.Inode { return fs.root }

// StatFS implements vfs.FilesystemImpl.StatFS with the host's answer.
func (fs *filesystem) StatFS(context.Context) (linux.Statfs, error) {
	fd, ok := fs.root.get()
	if !ok {
		return linux.Statfs{}, unix.EBADF
	}
	defer fs.root.put()
	var s unix.Statfs_t
	if err := unix.Fstatfs(fd, &s); err != nil {
		return linux.Statfs{}, err
	}
	return linux.Statfs{
		Type:            s.Type,
		BlockSize:       s.Bsize,
		FragmentSize:    s.Frsize,
		Blocks:          s.Blocks,
		BlocksFree:      s.Bfree,
		BlocksAvailable: s.Bavail,
		Files:           s.Files,
		FilesFree:       s.Ffree,
		NameLength:      s.Namelen,
		Flags:           s.Flags,
	}, nil
}

// Release implements vfs.FilesystemImpl.Release.
func (fs *filesystem) Release(context.Context) {}

// terminal is the Sentry's state of a host terminal.
type terminal struct {
	// fgPGID is the emulated foreground process group.
	fgPGID atomic.Int32
}
