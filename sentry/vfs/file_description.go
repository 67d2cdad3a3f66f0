package vfs

import (
	"context"
	"math"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs/lock"
)

// IOSequence is the memory a read fills or a write drains: the kernel
// implements it over guest memory (an iovec array in a task's address
// space), tests over a byte slice. Offsets are relative to the start of
// the sequence; implementations return a short count with an error (e.g.
// EFAULT) when part of it is inaccessible.
type IOSequence interface {
	// NumBytes returns the sequence's length.
	NumBytes() int64
	// CopyOutAt copies src into the sequence at off (a read's data).
	CopyOutAt(ctx context.Context, off int64, src []byte) (int, error)
	// CopyInAt copies from the sequence at off into dst (a write's data).
	CopyInAt(ctx context.Context, off int64, dst []byte) (int, error)
}

// BytesIOSequence is an IOSequence over a byte slice.
type BytesIOSequence []byte

// NumBytes implements IOSequence.NumBytes.
func (b BytesIOSequence) NumBytes() int64 { return int64(len(b)) }

// CopyOutAt implements IOSequence.CopyOutAt.
func (b BytesIOSequence) CopyOutAt(_ context.Context, off int64, src []byte) (int, error) {
	if off < 0 || off > int64(len(b)) {
		return 0, unix.EFAULT
	}
	return copy(b[off:], src), nil
}

// CopyInAt implements IOSequence.CopyInAt.
func (b BytesIOSequence) CopyInAt(_ context.Context, off int64, dst []byte) (int, error) {
	if off < 0 || off > int64(len(b)) {
		return 0, unix.EFAULT
	}
	return copy(dst, b[off:]), nil
}

// Dirent is one directory entry reported by IterDirents.
type Dirent struct {
	Name string
	// Type is a linux.DT_* value.
	Type uint8
	Ino  uint64
	// NextOff is the directory offset just after this entry (d_off).
	NextOff int64
}

// IterDirentsCallback receives directory entries; returning an error
// stops iteration without consuming the entry (e.g. the caller's buffer
// is full).
type IterDirentsCallback func(Dirent) error

// FileDescriptionImpl is the file-type specific part of an open file
// description. Offsets are managed by FileDescription: seekable files
// implement PRead/PWrite, streams (pipes, sockets) implement Read/Write and
// return ESPIPE from the positional forms. Embed FileDescriptionDefaultImpl
// to inherit the usual errors for unsupported operations.
type FileDescriptionImpl interface {
	// Release is called when the last reference is dropped.
	Release(ctx context.Context)
	// PRead reads at offset into dst.
	PRead(ctx context.Context, dst IOSequence, offset int64) (int64, error)
	// Read reads from a stream.
	Read(ctx context.Context, dst IOSequence) (int64, error)
	// PWrite writes src at offset, or at the end of file when appendMode
	// is set (O_APPEND, atomically with respect to other writers). It
	// returns the bytes written and the offset just past them.
	PWrite(ctx context.Context, src IOSequence, offset int64, appendMode bool) (n, end int64, err error)
	// Write writes to a stream.
	Write(ctx context.Context, src IOSequence) (int64, error)
	// Seek computes the new offset for lseek(2) given the current one
	// (SEEK_SET/CUR/END/DATA/HOLE).
	Seek(ctx context.Context, cur, offset int64, whence int32) (int64, error)
	// IterDirents reports directory entries starting at directory offset
	// off and returns the offset after the last entry accepted.
	IterDirents(ctx context.Context, off int64, cb IterDirentsCallback) (int64, error)
	// Ioctl implements ioctl(2); arg is passed through uninterpreted
	// (the kernel resolves guest pointers).
	Ioctl(ctx context.Context, cmd uint32, arg uintptr) (uintptr, error)
	// Allocate implements fallocate(2).
	Allocate(ctx context.Context, mode uint32, offset, length uint64) error
	// Sync implements fsync(2).
	Sync(ctx context.Context) error
	// ConfigureMMap prepares an mmap(2) of the file. It is the hook the
	// memory manager will call once mm/pgalloc exist; until then every
	// implementation returns ENODEV (the file cannot be mapped).
	ConfigureMMap(ctx context.Context) error
}

// FileDescriptionDefaultImpl gives the errors Linux returns for
// operations a file type does not support. Embed it in implementations.
type FileDescriptionDefaultImpl struct{}

// Release implements FileDescriptionImpl.Release.
func (FileDescriptionDefaultImpl) Release(context.Context) {}

// PRead implements FileDescriptionImpl.PRead.
func (FileDescriptionDefaultImpl) PRead(context.Context, IOSequence, int64) (int64, error) {
	return 0, unix.ESPIPE
}

// Read implements FileDescriptionImpl.Read.
func (FileDescriptionDefaultImpl) Read(context.Context, IOSequence) (int64, error) {
	return 0, unix.EINVAL
}

// PWrite implements FileDescriptionImpl.PWrite.
func (FileDescriptionDefaultImpl) PWrite(context.Context, IOSequence, int64, bool) (int64, int64, error) {
	return 0, 0, unix.ESPIPE
}

// Write implements FileDescriptionImpl.Write.
func (FileDescriptionDefaultImpl) Write(context.Context, IOSequence) (int64, error) {
	return 0, unix.EINVAL
}

// Seek implements FileDescriptionImpl.Seek.
func (FileDescriptionDefaultImpl) Seek(context.Context, int64, int64, int32) (int64, error) {
	return 0, unix.ESPIPE
}

// IterDirents implements FileDescriptionImpl.IterDirents.
func (FileDescriptionDefaultImpl) IterDirents(context.Context, int64, IterDirentsCallback) (int64, error) {
	return 0, unix.ENOTDIR
}

// Ioctl implements FileDescriptionImpl.Ioctl.
func (FileDescriptionDefaultImpl) Ioctl(context.Context, uint32, uintptr) (uintptr, error) {
	return 0, unix.ENOTTY
}

// Allocate implements FileDescriptionImpl.Allocate.
func (FileDescriptionDefaultImpl) Allocate(context.Context, uint32, uint64, uint64) error {
	return unix.ENODEV
}

// Sync implements FileDescriptionImpl.Sync.
func (FileDescriptionDefaultImpl) Sync(context.Context) error { return nil }

// ConfigureMMap implements FileDescriptionImpl.ConfigureMMap.
func (FileDescriptionDefaultImpl) ConfigureMMap(context.Context) error { return unix.ENODEV }

// GenericSeek computes an lseek result for a file of the given size with
// no holes: SEEK_DATA finds data at offset if offset < size, SEEK_HOLE the
// implicit hole at size.
func GenericSeek(cur, offset int64, whence int32, size int64) (int64, error) {
	var n int64
	switch whence {
	case linux.SEEK_SET:
		n = offset
	case linux.SEEK_CUR:
		if (offset > 0 && cur > math.MaxInt64-offset) || (offset < 0 && cur < math.MinInt64-offset) {
			return 0, unix.EOVERFLOW
		}
		n = cur + offset
	case linux.SEEK_END:
		if offset > 0 && size > math.MaxInt64-offset {
			return 0, unix.EOVERFLOW
		}
		n = size + offset
	case linux.SEEK_DATA:
		if offset < 0 || offset >= size {
			return 0, unix.ENXIO
		}
		n = offset
	case linux.SEEK_HOLE:
		if offset < 0 || offset >= size {
			return 0, unix.ENXIO
		}
		n = size
	default:
		return 0, unix.EINVAL
	}
	if n < 0 {
		return 0, unix.EINVAL
	}
	return n, nil
}

// settableStatusFlags are the status flags F_SETFL may change.
const settableStatusFlags = linux.O_APPEND | linux.O_NONBLOCK | linux.O_ASYNC | linux.O_DIRECT | linux.O_NOATIME

// FileDescription is an open file description (struct file): what an fd
// refers to, shared by dup'd fds and across fork.
type FileDescription struct {
	refs atomic.Int64
	vd   VirtualDentry
	impl FileDescriptionImpl
	// statusFlags holds the open flags other than O_CREAT/O_EXCL/
	// O_NOCTTY/O_TRUNC/O_CLOEXEC, including the access mode.
	statusFlags atomic.Uint32
	readable    bool
	writable    bool
	opath       bool
	stream      bool
	implOffset  bool

	// offMu guards off and serializes offset-using I/O, as f_pos_lock
	// does in Linux.
	offMu sync.Mutex
	off   int64
}

// FileDescriptionOptions configure a new FileDescription.
type FileDescriptionOptions struct {
	// Stream marks a non-seekable file: Read/Write go to the impl's
	// stream methods and pread/pwrite/lseek fail with ESPIPE.
	Stream bool
	// ImplOffset marks a seekable file whose offset the implementation
	// keeps (a host file whose open file description host processes
	// share): Read and Write go to the impl's stream methods and Seek is
	// called with cur = -1; pread and pwrite work as usual.
	ImplOffset bool
}

// NewFileDescription makes a description with one reference for impl,
// opened with open(2) flags at vd (on which it takes a reference).
func NewFileDescription(impl FileDescriptionImpl, flags uint32, vd VirtualDentry, opts FileDescriptionOptions) *FileDescription {
	fd := &FileDescription{vd: vd, impl: impl, stream: opts.Stream, implOffset: opts.ImplOffset}
	fd.refs.Store(1)
	fd.statusFlags.Store(flags &^ (linux.O_CREAT | linux.O_EXCL | linux.O_NOCTTY | linux.O_TRUNC | linux.O_CLOEXEC))
	fd.opath = flags&linux.O_PATH != 0
	if !fd.opath {
		switch flags & linux.O_ACCMODE {
		case linux.O_RDONLY:
			fd.readable = true
		case linux.O_WRONLY:
			fd.writable = true
		case linux.O_RDWR:
			fd.readable, fd.writable = true, true
		}
	}
	vd.IncRef()
	if b, ok := impl.(DescriptionBinder); ok {
		b.SetFileDescription(fd)
	}
	return fd
}

// DescriptionBinder is implemented by impls that need to know their
// description (to follow its status flags, F_SETFL): NewFileDescription
// tells them.
type DescriptionBinder interface {
	SetFileDescription(fd *FileDescription)
}

// IncRef takes a reference.
func (fd *FileDescription) IncRef() { fd.refs.Add(1) }

// TryIncRef takes a reference unless the description is already released.
func (fd *FileDescription) TryIncRef() bool {
	for {
		r := fd.refs.Load()
		if r <= 0 {
			return false
		}
		if fd.refs.CompareAndSwap(r, r+1) {
			return true
		}
	}
}

// DecRef drops a reference; the last one releases OFD and flock locks,
// the implementation and the dentry.
func (fd *FileDescription) DecRef(ctx context.Context) {
	r := fd.refs.Add(-1)
	if r > 0 {
		return
	}
	if r < 0 {
		panic("vfs: FileDescription.DecRef of released description")
	}
	if l := fd.Locks(); l != nil {
		l.UnlockAll(fd)
		l.Funlock(fd)
	}
	if fd.impl != nil {
		fd.impl.Release(ctx)
	}
	fd.vd.DecRef()
}

// VirtualDentry returns the file's location (no reference is taken).
func (fd *FileDescription) VirtualDentry() VirtualDentry { return fd.vd }

// Inode returns the file's inode.
func (fd *FileDescription) Inode() Inode { return fd.vd.Dentry.inode }

// Impl returns the implementation.
func (fd *FileDescription) Impl() FileDescriptionImpl { return fd.impl }

// IsReadable reports whether the description was opened for reading.
func (fd *FileDescription) IsReadable() bool { return fd.readable }

// IsWritable reports whether the description was opened for writing.
func (fd *FileDescription) IsWritable() bool { return fd.writable }

// IsPath reports whether the description was opened with O_PATH.
func (fd *FileDescription) IsPath() bool { return fd.opath }

// StatusFlags implements F_GETFL.
func (fd *FileDescription) StatusFlags() uint32 { return fd.statusFlags.Load() }

// SetStatusFlags implements F_SETFL: only O_APPEND, O_NONBLOCK, O_ASYNC,
// O_DIRECT and O_NOATIME change, other bits are ignored.
func (fd *FileDescription) SetStatusFlags(flags uint32) {
	for {
		old := fd.statusFlags.Load()
		n := old&^settableStatusFlags | flags&settableStatusFlags
		if fd.statusFlags.CompareAndSwap(old, n) {
			return
		}
	}
}

// Locks returns the inode's lock state, or nil.
func (fd *FileDescription) Locks() *lock.Locks { return fd.vd.Dentry.inode.Locks() }

// Read implements read(2) at the file offset.
func (fd *FileDescription) Read(ctx context.Context, dst IOSequence) (int64, error) {
	if !fd.readable {
		return 0, unix.EBADF
	}
	if fd.stream || fd.implOffset {
		return fd.impl.Read(ctx, dst)
	}
	fd.offMu.Lock()
	defer fd.offMu.Unlock()
	n, err := fd.impl.PRead(ctx, dst, fd.off)
	fd.off += n
	return n, err
}

// PRead implements pread64(2).
func (fd *FileDescription) PRead(ctx context.Context, dst IOSequence, offset int64) (int64, error) {
	if !fd.readable {
		return 0, unix.EBADF
	}
	if fd.stream {
		return 0, unix.ESPIPE
	}
	if offset < 0 {
		return 0, unix.EINVAL
	}
	return fd.impl.PRead(ctx, dst, offset)
}

// Write implements write(2) at the file offset (or the end, O_APPEND).
func (fd *FileDescription) Write(ctx context.Context, src IOSequence) (int64, error) {
	if !fd.writable {
		return 0, unix.EBADF
	}
	if fd.stream || fd.implOffset {
		return fd.impl.Write(ctx, src)
	}
	fd.offMu.Lock()
	defer fd.offMu.Unlock()
	n, end, err := fd.impl.PWrite(ctx, src, fd.off, fd.StatusFlags()&linux.O_APPEND != 0)
	if n > 0 || err == nil {
		fd.off = end
	}
	return n, err
}

// PWrite implements pwrite64(2). As in Linux, on an O_APPEND description
// the data goes to the end of the file regardless of offset.
func (fd *FileDescription) PWrite(ctx context.Context, src IOSequence, offset int64) (int64, error) {
	if !fd.writable {
		return 0, unix.EBADF
	}
	if fd.stream {
		return 0, unix.ESPIPE
	}
	if offset < 0 {
		return 0, unix.EINVAL
	}
	n, _, err := fd.impl.PWrite(ctx, src, offset, fd.StatusFlags()&linux.O_APPEND != 0)
	return n, err
}

// WriteAppendMode is pwritev2(2) with RWF_APPEND (appendMode) or
// RWF_NOAPPEND (!appendMode), which override O_APPEND for one call: it
// writes at offset, or at the file offset (advancing it) if offset is -1.
func (fd *FileDescription) WriteAppendMode(ctx context.Context, src IOSequence, offset int64, appendMode bool) (int64, error) {
	if !fd.writable {
		return 0, unix.EBADF
	}
	if fd.stream || fd.implOffset {
		if offset != -1 {
			return 0, unix.ESPIPE
		}
		return fd.impl.Write(ctx, src)
	}
	if offset != -1 {
		n, _, err := fd.impl.PWrite(ctx, src, offset, appendMode)
		return n, err
	}
	fd.offMu.Lock()
	defer fd.offMu.Unlock()
	n, end, err := fd.impl.PWrite(ctx, src, fd.off, appendMode)
	if n > 0 || err == nil {
		fd.off = end
	}
	return n, err
}

// Seek implements lseek(2).
func (fd *FileDescription) Seek(ctx context.Context, offset int64, whence int32) (int64, error) {
	if fd.opath {
		return 0, unix.EBADF
	}
	if fd.stream {
		return 0, unix.ESPIPE
	}
	if fd.implOffset {
		return fd.impl.Seek(ctx, -1, offset, whence)
	}
	fd.offMu.Lock()
	defer fd.offMu.Unlock()
	n, err := fd.impl.Seek(ctx, fd.off, offset, whence)
	if err != nil {
		return 0, err
	}
	fd.off = n
	return n, nil
}

// Offset returns the current file offset.
func (fd *FileDescription) Offset() int64 {
	if fd.implOffset {
		n, _ := fd.impl.Seek(context.Background(), -1, 0, linux.SEEK_CUR)
		return n
	}
	fd.offMu.Lock()
	defer fd.offMu.Unlock()
	return fd.off
}

// IterDirents implements getdents64(2)'s iteration from the file offset,
// which it advances past the entries cb accepts.
func (fd *FileDescription) IterDirents(ctx context.Context, cb IterDirentsCallback) error {
	if fd.opath {
		return unix.EBADF
	}
	fd.offMu.Lock()
	defer fd.offMu.Unlock()
	n, err := fd.impl.IterDirents(ctx, fd.off, cb)
	fd.off = n
	return err
}

// Stat implements fstat(2)/statx(2) on the description.
func (fd *FileDescription) Stat(ctx context.Context, mask uint32) (linux.Statx, error) {
	return statVD(ctx, fd.vd, mask)
}

// SetStat implements fchmod, fchown, ftruncate and futimens: a size
// change needs a writable description (EINVAL otherwise, as ftruncate).
func (fd *FileDescription) SetStat(ctx context.Context, creds *Credentials, opts SetStatOptions) error {
	if fd.opath {
		return unix.EBADF
	}
	if opts.Stat.Mask&linux.STATX_SIZE != 0 {
		if !fd.writable {
			return unix.EINVAL
		}
	}
	return setStatVD(ctx, creds, fd.vd, &opts, false)
}

// StatFS implements fstatfs(2).
func (fd *FileDescription) StatFS(ctx context.Context) (linux.Statfs, error) {
	return fd.vd.Mount.fs.impl.StatFS(ctx)
}

// Ioctl implements ioctl(2).
func (fd *FileDescription) Ioctl(ctx context.Context, cmd uint32, arg uintptr) (uintptr, error) {
	if fd.opath {
		return 0, unix.EBADF
	}
	return fd.impl.Ioctl(ctx, cmd, arg)
}

// Allocate implements fallocate(2): the description must be writable.
func (fd *FileDescription) Allocate(ctx context.Context, mode uint32, offset, length int64) error {
	if !fd.writable {
		return unix.EBADF
	}
	if offset < 0 || length <= 0 {
		return unix.EINVAL
	}
	if offset > math.MaxInt64-length {
		return unix.EFBIG
	}
	if fd.vd.Mount.Flags().ReadOnly {
		return unix.EROFS
	}
	return fd.impl.Allocate(ctx, mode, uint64(offset), uint64(length))
}

// Sync implements fsync(2) and fdatasync(2).
func (fd *FileDescription) Sync(ctx context.Context) error {
	if fd.opath {
		return unix.EBADF
	}
	return fd.impl.Sync(ctx)
}

// ConfigureMMap is the mmap(2) hook; see FileDescriptionImpl.
func (fd *FileDescription) ConfigureMMap(ctx context.Context) error {
	if fd.opath {
		return unix.EBADF
	}
	if fd.vd.Mount.Flags().NoExec {
		return unix.EPERM
	}
	return fd.impl.ConfigureMMap(ctx)
}

// LockPOSIX implements F_SETLK/F_SETLKW (owner is the FDTable of the
// caller, pid its thread group ID) and, with ofd, F_OFD_SETLK(W) (owner is
// this description). The lock type must match the access mode (EBADF).
func (fd *FileDescription) LockPOSIX(owner any, pid int32, t lock.Type, r lock.Range, ofd, block bool, interrupt <-chan struct{}) error {
	l := fd.Locks()
	if l == nil || fd.opath {
		return unix.EBADF
	}
	if (t == lock.ReadLock && !fd.readable) || (t == lock.WriteLock && !fd.writable) {
		return unix.EBADF
	}
	if ofd {
		owner, pid = fd, -1
	}
	return l.LockRegion(owner, pid, t, r, ofd, block, interrupt)
}

// UnlockPOSIX implements F_UNLCK for owner (or this description, with
// ofd).
func (fd *FileDescription) UnlockPOSIX(owner any, r lock.Range, ofd bool) error {
	l := fd.Locks()
	if l == nil || fd.opath {
		return unix.EBADF
	}
	if ofd {
		owner = fd
	}
	l.UnlockRegion(owner, r)
	return nil
}

// TestPOSIX implements F_GETLK / F_OFD_GETLK.
func (fd *FileDescription) TestPOSIX(owner any, t lock.Type, r lock.Range, ofd bool) (lock.Record, bool, error) {
	l := fd.Locks()
	if l == nil || fd.opath {
		return lock.Record{}, false, unix.EBADF
	}
	if ofd {
		owner = fd
	}
	rec, ok := l.TestRegion(owner, t, r)
	return rec, ok, nil
}

// Flock implements flock(2) with LOCK_SH/LOCK_EX/LOCK_UN, optionally
// LOCK_NB.
func (fd *FileDescription) Flock(op uint32, interrupt <-chan struct{}) error {
	l := fd.Locks()
	if l == nil || fd.opath {
		return unix.EBADF
	}
	block := op&linux.LOCK_NB == 0
	switch op &^ linux.LOCK_NB {
	case linux.LOCK_SH:
		return l.Flock(fd, lock.ReadLock, block, interrupt)
	case linux.LOCK_EX:
		return l.Flock(fd, lock.WriteLock, block, interrupt)
	case linux.LOCK_UN:
		l.Funlock(fd)
		return nil
	}
	return unix.EINVAL
}

// errDirentBufferFull stops IterDirents when the getdents buffer is full.
var errDirentBufferFull = unix.ENOBUFS

// Getdents64 implements getdents64(2): it returns up to size bytes of
// struct linux_dirent64 records starting at the file offset and advances
// the offset past them. A buffer too small for the first entry is EINVAL;
// the end of the directory is an empty result. Memory grows with the
// entries returned, not with size.
func (fd *FileDescription) Getdents64(ctx context.Context, size int) ([]byte, error) {
	var buf []byte
	err := fd.IterDirents(ctx, func(d Dirent) error {
		if len(buf)+linux.Dirent64Size(len(d.Name)) > size {
			return errDirentBufferFull
		}
		buf = linux.EncodeDirent64(buf, d.Ino, d.NextOff, d.Type, d.Name)
		return nil
	})
	if err == errDirentBufferFull {
		if len(buf) == 0 {
			return nil, unix.EINVAL
		}
		err = nil
	}
	return buf, err
}
