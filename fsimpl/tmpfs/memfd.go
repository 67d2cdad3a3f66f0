package tmpfs

import (
	"context"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// This file implements the files memfd_create(2) makes: a tmpfs regular
// file that no directory names. Each is the root of a small filesystem of
// its own (the VFS has no anonymous dentries), so /proc/[pid]/fd shows it
// through ProcName as Linux does ("/memfd:NAME (deleted)"). Its pages are
// counted against one tmpfs instance shared by every memfd of the
// process, which frees them with the last description, and it carries the
// file seals of fcntl(2)'s F_ADD_SEALS.

// memfdData is the tmpfs instance whose pages back every memfd. It is
// made when the program starts, because New asks the host for its memory
// size (sysinfo), which the Sentry's seccomp filter does not allow later.
var memfdData = New(Options{})

// AllSeals are the seals F_ADD_SEALS knows.
const AllSeals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE |
	unix.F_SEAL_FUTURE_WRITE | unix.F_SEAL_EXEC

// NewMemfd implements memfd_create(2): a new empty read-write file owned
// by creds' fsuid/fsgid, named "memfd:"+name, with mode 0777. flags are
// memfd_create's, already checked by the caller: without
// MFD_ALLOW_SEALING the file is sealed with F_SEAL_SEAL, so no seal can
// be added; MFD_NOEXEC_SEAL clears the execute bits and seals them with
// F_SEAL_EXEC (sealing stays allowed). The description's flags are
// O_RDWR|O_LARGEFILE, as Linux's.
func NewMemfd(v *vfs.VirtualFilesystem, creds *vfs.Credentials, name string, flags uint32) (*vfs.FileDescription, error) {
	mode := uint32(0o777)
	if flags&unix.MFD_NOEXEC_SEAL != 0 {
		mode = 0o666
	}
	in := memfdData.newInode(vfs.CreateAttr{Mode: linux.S_IFREG | mode, UID: creds.FSUID, GID: creds.FSGID})
	in.nlink = 0
	mi := &memfdInode{inode: in, name: "memfd:" + name}
	switch {
	case flags&unix.MFD_NOEXEC_SEAL != 0:
		mi.seals.Store(unix.F_SEAL_EXEC)
	case flags&unix.MFD_ALLOW_SEALING == 0:
		mi.seals.Store(unix.F_SEAL_SEAL)
	}
	ns := v.NewMountNamespace(v.NewFilesystem(&memfdFS{root: mi}), vfs.MountFlags{})
	vd := ns.Root()
	defer vd.DecRef()
	oflags := uint32(linux.O_RDWR | linux.O_LARGEFILE)
	impl, err := mi.Open(context.Background(), vd, vfs.OpenOptions{Flags: oflags})
	if err != nil {
		return nil, err
	}
	return vfs.NewFileDescription(impl, oflags, vd, vfs.FileDescriptionOptions{}), nil
}

// memfdFS is the filesystem holding one memfd.
type memfdFS struct {
	root *memfdInode
}

// Root implements vfs.FilesystemImpl.Root.
func (fs *memfdFS) Root() vfs.Inode { return fs.root }

// StatFS implements vfs.FilesystemImpl.StatFS: the shared tmpfs's.
func (fs *memfdFS) StatFS(ctx context.Context) (linux.Statfs, error) {
	return fs.root.fs.StatFS(ctx)
}

// Release implements vfs.FilesystemImpl.Release.
func (fs *memfdFS) Release(context.Context) {}

// FSType implements vfs.FilesystemTyper.
func (fs *memfdFS) FSType() string { return "tmpfs" }

// memfdInode is a memfd's inode: a tmpfs regular file with seals.
type memfdInode struct {
	*inode
	name  string
	seals atomic.Uint32
}

// ProcName is what /proc/[pid]/fd/N shows for the file.
func (mi *memfdInode) ProcName() string { return "/" + mi.name + " (deleted)" }

// SetStat implements vfs.Inode.SetStat, refusing size changes the seals
// forbid, and under F_SEAL_EXEC changes of the execute bits (EPERM).
func (mi *memfdInode) SetStat(ctx context.Context, opts *vfs.SetStatOptions) error {
	if opts.Stat.Mask&linux.STATX_MODE != 0 && mi.seals.Load()&unix.F_SEAL_EXEC != 0 &&
		(mi.mode.Load()^uint32(opts.Stat.Mode))&0o111 != 0 {
		return unix.EPERM
	}
	if opts.Stat.Mask&linux.STATX_SIZE != 0 {
		seals := mi.seals.Load()
		mi.mu.RLock()
		size := mi.size
		mi.mu.RUnlock()
		n := int64(opts.Stat.Size)
		if (n < size && seals&unix.F_SEAL_SHRINK != 0) || (n > size && seals&unix.F_SEAL_GROW != 0) {
			return unix.EPERM
		}
	}
	return mi.inode.SetStat(ctx, opts)
}

// Open implements vfs.Inode.Open (also for reopening through
// /proc/[pid]/fd/N).
func (mi *memfdInode) Open(ctx context.Context, vd vfs.VirtualDentry, opts vfs.OpenOptions) (vfs.FileDescriptionImpl, error) {
	impl, err := mi.inode.Open(ctx, vd, opts)
	if err != nil {
		return nil, err
	}
	return &memfdFD{regularFD: impl.(*regularFD), mi: mi}, nil
}

// memfdFD is an open memfd: a tmpfs regular file whose writes and
// allocations respect the seals.
type memfdFD struct {
	*regularFD
	mi *memfdInode
}

// PWrite implements vfs.FileDescriptionImpl.PWrite: EPERM under
// F_SEAL_WRITE or F_SEAL_FUTURE_WRITE, and past the end under
// F_SEAL_GROW.
func (fd *memfdFD) PWrite(ctx context.Context, src vfs.IOSequence, offset int64, appendMode bool) (int64, int64, error) {
	seals := fd.mi.seals.Load()
	if seals&(unix.F_SEAL_WRITE|unix.F_SEAL_FUTURE_WRITE) != 0 {
		return 0, offset, unix.EPERM
	}
	if seals&unix.F_SEAL_GROW != 0 {
		fd.mi.mu.RLock()
		size := fd.mi.size
		fd.mi.mu.RUnlock()
		if appendMode {
			offset = size
		}
		if n := src.NumBytes(); n > 0 && offset+n > size {
			return 0, offset, unix.EPERM
		}
	}
	return fd.regularFD.PWrite(ctx, src, offset, appendMode)
}

// Allocate implements vfs.FileDescriptionImpl.Allocate under the seals.
func (fd *memfdFD) Allocate(ctx context.Context, mode uint32, offset, length uint64) error {
	seals := fd.mi.seals.Load()
	if mode&linux.FALLOC_FL_PUNCH_HOLE != 0 && seals&(unix.F_SEAL_WRITE|unix.F_SEAL_FUTURE_WRITE) != 0 {
		return unix.EPERM
	}
	// F_SEAL_GROW forbids allocating past the end even with
	// FALLOC_FL_KEEP_SIZE, as Linux's shmem does.
	if mode&linux.FALLOC_FL_PUNCH_HOLE == 0 && seals&unix.F_SEAL_GROW != 0 {
		fd.mi.mu.RLock()
		size := fd.mi.size
		fd.mi.mu.RUnlock()
		if int64(offset+length) > size {
			return unix.EPERM
		}
	}
	return fd.regularFD.Allocate(ctx, mode, offset, length)
}

// Seals implements F_GET_SEALS.
func (fd *memfdFD) Seals() uint32 { return fd.mi.seals.Load() }

// AddSeals implements F_ADD_SEALS: writable is whether the description
// was opened for writing (EPERM otherwise, as Linux); EINVAL for unknown
// seals; EPERM once F_SEAL_SEAL is set. F_SEAL_WRITE is granted even
// while writable shared mappings exist (Linux says EBUSY): the file
// cannot see the mappings.
func (fd *memfdFD) AddSeals(seals uint32, writable bool) error {
	if !writable {
		return unix.EPERM
	}
	if seals&^uint32(AllSeals) != 0 {
		return unix.EINVAL
	}
	if seals&unix.F_SEAL_EXEC != 0 && fd.mi.mode.Load()&0o111 != 0 {
		// F_SEAL_EXEC on an executable file also forbids writes.
		seals |= unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE | unix.F_SEAL_FUTURE_WRITE
	}
	for {
		cur := fd.mi.seals.Load()
		if cur&unix.F_SEAL_SEAL != 0 {
			return unix.EPERM
		}
		if fd.mi.seals.CompareAndSwap(cur, cur|seals) {
			return nil
		}
	}
}

// Sealable is implemented by descriptions of files that take seals
// (memfds): F_GET_SEALS and F_ADD_SEALS.
type Sealable interface {
	Seals() uint32
	AddSeals(seals uint32, writable bool) error
}

var _ Sealable = (*memfdFD)(nil)
