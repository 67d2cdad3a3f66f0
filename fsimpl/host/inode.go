package host

import (
	"context"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/vfs/lock"
)

// inode is a host file. It implements vfs.Inode.
type inode struct {
	hostFD int
	typ    uint32
	ino    uint64
	// stream is set for files without an offset (everything but regular
	// files and block devices).
	stream bool
	// tty is non-nil for a terminal.
	tty *terminal
	// hostFlags are the host fd's file status flags when NewFD got it;
	// restoreFlags says NewFD added O_NONBLOCK, to be undone on close.
	hostFlags    int
	restoreFlags bool

	// refs counts the descriptions using hostFD plus in-flight inode
	// operations; the fd is closed when it drops to zero.
	refs atomic.Int64

	// mode, uid and gid cache the host's values for Attr (path walks and
	// permission checks); Stat and SetStat refresh them.
	mode atomic.Uint32
	uid  atomic.Uint32
	gid  atomic.Uint32

	// appendMu serializes O_APPEND writes, so that the size they read
	// and the write are atomic against each other within the Sentry.
	appendMu sync.Mutex

	locks lock.Locks
}

// get takes a reference for using hostFD, unless it is already closed.
func (i *inode) get() (int, bool) {
	for {
		r := i.refs.Load()
		if r <= 0 {
			return -1, false
		}
		if i.refs.CompareAndSwap(r, r+1) {
			return i.hostFD, true
		}
	}
}

// put drops a reference; the last one restores the host's status flags
// and closes the host fd.
func (i *inode) put() {
	if i.refs.Add(-1) != 0 {
		return
	}
	if i.restoreFlags {
		_, _ = unix.FcntlInt(uintptr(i.hostFD), unix.F_SETFL, i.hostFlags)
	}
	_ = unix.Close(i.hostFD)
}

func (i *inode) setAttr(st *unix.Stat_t) {
	i.mode.Store(st.Mode)
	i.uid.Store(st.Uid)
	i.gid.Store(st.Gid)
}

// fstat returns the host's metadata.
func (i *inode) fstat() (unix.Stat_t, error) {
	var st unix.Stat_t
	fd, ok := i.get()
	if !ok {
		return st, unix.EBADF
	}
	defer i.put()
	for {
		err := unix.Fstat(fd, &st)
		if err != unix.EINTR {
			return st, err
		}
	}
}

// Attr implements vfs.Inode.Attr.
func (i *inode) Attr() vfs.InodeAttr {
	return vfs.InodeAttr{Mode: i.mode.Load(), UID: i.uid.Load(), GID: i.gid.Load()}
}

func timestamp(ts unix.Timespec) linux.StatxTimestamp {
	return linux.StatxTimestamp{Sec: ts.Sec, Nsec: uint32(ts.Nsec)}
}

// Stat implements vfs.Inode.Stat with the host's values (the VFS
// replaces the device with the Sentry's own).
func (i *inode) Stat(context.Context, uint32) (linux.Statx, error) {
	st, err := i.fstat()
	if err != nil {
		return linux.Statx{}, err
	}
	i.setAttr(&st)
	sx := linux.Statx{
		Mask:    linux.STATX_BASIC_STATS,
		Blksize: uint32(st.Blksize),
		Nlink:   uint32(st.Nlink),
		UID:     st.Uid,
		GID:     st.Gid,
		Mode:    uint16(st.Mode),
		Ino:     st.Ino,
		Size:    uint64(st.Size),
		Blocks:  uint64(st.Blocks),
		Atime:   timestamp(st.Atim),
		Mtime:   timestamp(st.Mtim),
		Ctime:   timestamp(st.Ctim),
	}
	if i.typ == unix.S_IFCHR || i.typ == unix.S_IFBLK {
		sx.RdevMajor, sx.RdevMinor = unix.Major(st.Rdev), unix.Minor(st.Rdev)
	}
	return sx, nil
}

// SetStat implements vfs.Inode.SetStat on the host file: ftruncate,
// fchmod, fchown and futimens, each as the host allows.
func (i *inode) SetStat(_ context.Context, opts *vfs.SetStatOptions) error {
	fd, ok := i.get()
	if !ok {
		return unix.EBADF
	}
	defer i.put()
	s := &opts.Stat
	m := s.Mask
	if m&linux.STATX_SIZE != 0 {
		if i.typ != unix.S_IFREG {
			return unix.EINVAL
		}
		if err := unix.Ftruncate(fd, int64(s.Size)); err != nil {
			return err
		}
	}
	if m&linux.STATX_MODE != 0 {
		if err := unix.Fchmod(fd, uint32(s.Mode)&0o7777); err != nil {
			return err
		}
	}
	if m&(linux.STATX_UID|linux.STATX_GID) != 0 {
		uid, gid := -1, -1
		if m&linux.STATX_UID != 0 {
			uid = int(s.UID)
		}
		if m&linux.STATX_GID != 0 {
			gid = int(s.GID)
		}
		if err := unix.Fchown(fd, uid, gid); err != nil {
			return err
		}
	}
	if m&(linux.STATX_ATIME|linux.STATX_MTIME) != 0 {
		ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
		if m&linux.STATX_ATIME != 0 {
			ts[0] = unix.NsecToTimespec(s.Atime.ToNsec())
		}
		if m&linux.STATX_MTIME != 0 {
			ts[1] = unix.NsecToTimespec(s.Mtime.ToNsec())
		}
		if err := futimens(fd, ts); err != nil {
			return err
		}
	}
	st, err := i.fstat()
	if err == nil {
		i.setAttr(&st)
	}
	return nil
}

// Open implements vfs.Inode.Open: reopening the file through
// /proc/[pid]/fd/N gives a new description sharing the host fd (and so
// its host file status flags); the new description's access mode is
// enforced by the VFS, and an access the host fd lacks fails with the
// host's EBADF. Once every description is closed the host fd is gone:
// ENXIO.
func (i *inode) Open(_ context.Context, _ vfs.VirtualDentry, opts vfs.OpenOptions) (vfs.FileDescriptionImpl, error) {
	if _, ok := i.get(); !ok {
		return nil, unix.ENXIO
	}
	return &FD{inode: i, openNonblock: opts.Flags&linux.O_NONBLOCK != 0}, nil
}

// Locks implements vfs.Inode.Locks: advisory locks are the Sentry's own,
// invisible to host processes.
func (i *inode) Locks() *lock.Locks { return &i.locks }

// GetXattr implements vfs.Inode.GetXattr: host attributes are not
// exposed.
func (i *inode) GetXattr(context.Context, string) (string, error) { return "", unix.EOPNOTSUPP }

// SetXattr implements vfs.Inode.SetXattr.
func (i *inode) SetXattr(context.Context, string, string, uint32) error { return unix.EOPNOTSUPP }

// ListXattr implements vfs.Inode.ListXattr.
func (i *inode) ListXattr(context.Context) ([]string, error) { return nil, nil }

// RemoveXattr implements vfs.Inode.RemoveXattr.
func (i *inode) RemoveXattr(context.Context, string) error { return unix.EOPNOTSUPP }

// futimens sets a file's times through its fd (utimensat with an empty
// path, Linux 5.8 and later).
func futimens(fd int, ts []unix.Timespec) error {
	return unix.UtimesNanoAt(fd, "", ts, unix.AT_EMPTY_PATH)
}
