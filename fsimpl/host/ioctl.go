package host

import (
	"context"
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

// GuestMemory is the calling task's memory, which ioctls that move a
// structure read and write; *mm.MemoryManager implements it. Short
// copies are EFAULT.
type GuestMemory interface {
	CopyIn(addr uintptr, dst []byte) (int, error)
	CopyOut(addr uintptr, src []byte) (int, error)
}

type guestMemoryKey struct{}

// WithGuestMemory returns a context carrying m for Ioctl. A context that
// itself implements GuestMemory (a task) needs no wrapping.
func WithGuestMemory(ctx context.Context, m GuestMemory) context.Context {
	return context.WithValue(ctx, guestMemoryKey{}, m)
}

func guestMemory(ctx context.Context) GuestMemory {
	if m, ok := ctx.(GuestMemory); ok {
		return m
	}
	m, _ := ctx.Value(guestMemoryKey{}).(GuestMemory)
	return m
}

func copyOut(ctx context.Context, addr uintptr, b []byte) error {
	m := guestMemory(ctx)
	if m == nil {
		return unix.EFAULT
	}
	if n, err := m.CopyOut(addr, b); n != len(b) || err != nil {
		return unix.EFAULT
	}
	return nil
}

func copyIn(ctx context.Context, addr uintptr, b []byte) error {
	m := guestMemory(ctx)
	if m == nil {
		return unix.EFAULT
	}
	if n, err := m.CopyIn(addr, b); n != len(b) || err != nil {
		return unix.EFAULT
	}
	return nil
}

// Ioctl implements vfs.FileDescriptionImpl.Ioctl; see the package
// comment for which requests are forwarded and which emulated.
func (fd *FD) Ioctl(ctx context.Context, cmd uint32, arg uintptr) (uintptr, error) {
	i := fd.inode
	h := i.hostFD
	if cmd == linux.FIONREAD {
		if !i.stream {
			return 0, unix.ENOTTY
		}
		n, err := unix.IoctlGetInt(h, unix.TIOCINQ)
		if err != nil {
			return 0, err
		}
		return uintptr(n), nil
	}
	if i.tty == nil {
		return 0, unix.ENOTTY
	}
	switch cmd {
	case linux.TCGETS:
		t, err := unix.IoctlGetTermios(h, unix.TCGETS)
		if err != nil {
			return 0, err
		}
		kt := linux.Termios{
			InputFlags: t.Iflag, OutputFlags: t.Oflag, ControlFlags: t.Cflag, LocalFlags: t.Lflag,
			LineDiscipline: t.Line, ControlCharacters: t.Cc,
		}
		var b [linux.SizeofTermios]byte
		kt.Encode(b[:])
		return 0, copyOut(ctx, arg, b[:])
	case linux.TCSETS, linux.TCSETSW, linux.TCSETSF:
		var b [linux.SizeofTermios]byte
		if err := copyIn(ctx, arg, b[:]); err != nil {
			return 0, err
		}
		var kt linux.Termios
		kt.Decode(b[:])
		// Keep the host's speed fields: the kernel's struct termios has
		// none (the baud rate lives in c_cflag).
		t, err := unix.IoctlGetTermios(h, unix.TCGETS)
		if err != nil {
			return 0, err
		}
		t.Iflag, t.Oflag, t.Cflag, t.Lflag = kt.InputFlags, kt.OutputFlags, kt.ControlFlags, kt.LocalFlags
		t.Line, t.Cc = kt.LineDiscipline, kt.ControlCharacters
		return 0, unix.IoctlSetTermios(h, uint(cmd), t)
	case linux.TIOCGWINSZ:
		w, err := unix.IoctlGetWinsize(h, unix.TIOCGWINSZ)
		if err != nil {
			return 0, err
		}
		ws := linux.Winsize{Row: w.Row, Col: w.Col, XPixel: w.Xpixel, YPixel: w.Ypixel}
		var b [linux.SizeofWinsize]byte
		ws.Encode(b[:])
		return 0, copyOut(ctx, arg, b[:])
	case linux.TIOCSWINSZ:
		var b [linux.SizeofWinsize]byte
		if err := copyIn(ctx, arg, b[:]); err != nil {
			return 0, err
		}
		var ws linux.Winsize
		ws.Decode(b[:])
		return 0, unix.IoctlSetWinsize(h, unix.TIOCSWINSZ, &unix.Winsize{Row: ws.Row, Col: ws.Col, Xpixel: ws.XPixel, Ypixel: ws.YPixel})
	case linux.TIOCOUTQ:
		n, err := unix.IoctlGetInt(h, unix.TIOCOUTQ)
		if err != nil {
			return 0, err
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(n))
		return 0, copyOut(ctx, arg, b[:])
	case linux.TIOCGPGRP:
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(i.tty.fgPGID.Load()))
		return 0, copyOut(ctx, arg, b[:])
	case linux.TIOCSPGRP:
		var b [4]byte
		if err := copyIn(ctx, arg, b[:]); err != nil {
			return 0, err
		}
		pgid := int32(binary.LittleEndian.Uint32(b[:]))
		if pgid < 0 {
			return 0, unix.EINVAL
		}
		if pgid == 0 {
			return 0, unix.ESRCH // no process group 0, as Linux finds.
		}
		i.tty.fgPGID.Store(pgid)
		return 0, nil
	}
	return 0, unix.ENOTTY
}

// IsTerminal reports whether the description is a host terminal.
func (fd *FD) IsTerminal() bool { return fd.inode.tty != nil }

// ForegroundProcessGroup returns a terminal's emulated foreground process
// group (TIOCGPGRP), or 0 and false for other files.
func (fd *FD) ForegroundProcessGroup() (int32, bool) {
	if fd.inode.tty == nil {
		return 0, false
	}
	return fd.inode.tty.fgPGID.Load(), true
}

// SetForegroundProcessGroup sets a terminal's foreground process group,
// for the kernel's job control (after it has checked the group against
// the terminal's session); it reports false for other files.
func (fd *FD) SetForegroundProcessGroup(pgid int32) bool {
	if fd.inode.tty == nil {
		return false
	}
	fd.inode.tty.fgPGID.Store(pgid)
	return true
}
