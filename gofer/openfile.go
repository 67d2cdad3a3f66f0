package gofer

import (
	"encoding/binary"
	"sync"

	"golang.org/x/sys/unix"
)

// OpenFile is a Node opened for I/O: a regular file, or a directory opened
// for reading entries.
type OpenFile struct {
	node  *Node // holds a reference
	fd    int
	flags int

	// mu serialises Readdir's seek+getdents pairs on fd.
	mu sync.Mutex
}

// newOpenFile takes ownership of fd and a new reference to n.
func newOpenFile(n *Node, fd int, flags int) *OpenFile {
	n.incRef()
	return &OpenFile{node: n, fd: fd, flags: flags}
}

// FD returns the host descriptor; valid until Close.
func (f *OpenFile) FD() int { return f.fd }

// Node returns the opened Node (no new reference).
func (f *OpenFile) Node() *Node { return f.node }

// Close closes the descriptor and drops the Node reference.
func (f *OpenFile) Close() error {
	err := unix.Close(f.fd)
	f.node.decRef()
	return err
}

// ReadAt implements pread(2).
func (f *OpenFile) ReadAt(p []byte, off uint64) (int, error) {
	if off > 1<<63-1 {
		return 0, unix.EINVAL
	}
	for {
		k, err := unix.Pread(f.fd, p, int64(off))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		return k, nil
	}
}

// WriteAt implements pwrite(2). (For a file opened O_APPEND, Linux's
// pwrite appends regardless of off.)
func (f *OpenFile) WriteAt(p []byte, off uint64) (int, error) {
	if off > 1<<63-1 {
		return 0, unix.EINVAL
	}
	if f.flags&unix.O_ACCMODE == unix.O_RDONLY {
		return 0, unix.EBADF
	}
	for {
		k, err := unix.Pwrite(f.fd, p, int64(off))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		return k, nil
	}
}

// FSync implements fsync(2) / fdatasync(2).
func (f *OpenFile) FSync(datasync bool) error {
	if datasync {
		return unix.Fdatasync(f.fd)
	}
	return unix.Fsync(f.fd)
}

// Dirent is one directory entry. Off is the cookie that continues after
// it.
type Dirent struct {
	Ino  uint64
	Off  uint64
	Type uint8
	Name string
}

// maxDirBuf bounds the getdents buffer whatever the client asks for.
const maxDirBuf = 1 << 20

// Readdir returns entries of directory f starting at cookie off (0 = the
// start), reading at most about bufSize bytes of host dirents. An empty
// result means end of directory.
func (f *OpenFile) Readdir(off uint64, bufSize int) ([]Dirent, error) {
	if !f.node.IsDir() {
		return nil, unix.ENOTDIR
	}
	if off > 1<<63-1 {
		return nil, unix.EINVAL
	}
	bufSize = min(max(bufSize, 512), maxDirBuf)
	buf := make([]byte, bufSize)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := unix.Seek(f.fd, int64(off), 0); err != nil {
		return nil, err
	}
	k, err := unix.Getdents(f.fd, buf)
	if err != nil {
		return nil, err
	}
	return parseDirents(buf[:k]), nil
}

// parseDirents decodes struct linux_dirent64 records: d_ino u64, d_off
// s64, d_reclen u16, d_type u8, d_name (NUL-terminated).
func parseDirents(buf []byte) []Dirent {
	var out []Dirent
	for len(buf) >= 19 {
		reclen := int(binary.LittleEndian.Uint16(buf[16:18]))
		if reclen < 19 || reclen > len(buf) {
			break
		}
		name := buf[19:reclen]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		out = append(out, Dirent{
			Ino:  binary.LittleEndian.Uint64(buf[0:8]),
			Off:  binary.LittleEndian.Uint64(buf[8:16]),
			Type: buf[18],
			Name: string(name),
		})
		buf = buf[reclen:]
	}
	return out
}

// DirentStat is a Dirent with the entry's status; OK is false if it could
// not be statted (e.g. removed meanwhile).
type DirentStat struct {
	Dirent
	Stat unix.Stat_t
	OK   bool
}

// ReaddirStat is Readdir that also stats each entry (without following
// symlinks) relative to the open directory.
func (f *OpenFile) ReaddirStat(off uint64, bufSize int) ([]DirentStat, error) {
	ents, err := f.Readdir(off, bufSize)
	if err != nil {
		return nil, err
	}
	out := make([]DirentStat, len(ents))
	for i, e := range ents {
		out[i].Dirent = e
		if e.Name == "." || e.Name == ".." {
			continue
		}
		if unix.Fstatat(f.fd, e.Name, &out[i].Stat, unix.AT_SYMLINK_NOFOLLOW) == nil {
			out[i].OK = true
		}
	}
	return out, nil
}

// Lock types for OpenFile.Lock (fcntl l_type values).
const (
	LockRead   = unix.F_RDLCK
	LockWrite  = unix.F_WRLCK
	LockUnlock = unix.F_UNLCK
)

// Lock sets or clears a POSIX byte-range lock owned by this open file
// (an open-file-description lock). It never blocks: a conflicting lock
// gives unix.EAGAIN, and the client retries.
func (f *OpenFile) Lock(typ int16, start, length uint64) error {
	fl, err := flock(typ, start, length)
	if err != nil {
		return err
	}
	return unix.FcntlFlock(uintptr(f.fd), unix.F_OFD_SETLK, &fl)
}

// GetLock returns the first lock that conflicts with the given one, or
// one of type LockUnlock if none does.
func (f *OpenFile) GetLock(typ int16, start, length uint64) (int16, uint64, uint64, int32, error) {
	fl, err := flock(typ, start, length)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	if err := unix.FcntlFlock(uintptr(f.fd), unix.F_OFD_GETLK, &fl); err != nil {
		return 0, 0, 0, 0, err
	}
	return fl.Type, uint64(fl.Start), uint64(fl.Len), fl.Pid, nil
}

func flock(typ int16, start, length uint64) (unix.Flock_t, error) {
	switch typ {
	case LockRead, LockWrite, LockUnlock:
	default:
		return unix.Flock_t{}, unix.EINVAL
	}
	if start > 1<<63-1 || length > 1<<63-1 {
		return unix.Flock_t{}, unix.EINVAL
	}
	return unix.Flock_t{Type: typ, Whence: 0, Start: int64(start), Len: int64(length)}, nil
}
