// Package tmpfs is an in-memory filesystem for the Sentry's VFS: the
// upper layer of the container root's overlay, /tmp, /dev/shm and
// anywhere else a spec asks for tmpfs.
//
// Every file is an inode held in Go memory. Directories keep their
// entries in a map plus a list ordered by a per-directory cookie that
// only grows, and a directory offset is a cookie, so getdents offsets stay
// valid when entries are added or removed concurrently (0 and 1 are "."
// and ".."). Regular file data lives behind the Storage interface, a
// sparse map of 4 KiB pages, so holes (SEEK_DATA/SEEK_HOLE,
// FALLOC_FL_PUNCH_HOLE) cost nothing and the filesystem's size limit is
// counted in pages. The namespace (directory entries and link counts) is
// guarded by one filesystem-wide lock; each inode's metadata and data by
// its own. FIFOs open as pipes (fsimpl/pipe, one per inode); sockets and device
// nodes can be created and stat'ed, but opening them fails with ENXIO.
package tmpfs

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// Options configure a tmpfs instance.
type Options struct {
	// MaxSize is the size limit in bytes (mount -o size=); 0 means half
	// of the host's RAM, as Linux's default.
	MaxSize int64
	// MaxInodes limits the number of inodes (nr_inodes=); 0 means no
	// limit beyond MaxSize.
	MaxInodes int64
	// RootMode, RootUID and RootGID describe the root directory (mode=,
	// uid=, gid=); RootMode 0 means 01777.
	RootMode uint32
	RootUID  uint32
	RootGID  uint32
	// Clock returns the time in nanoseconds since the epoch for
	// timestamps; nil means the host's real time.
	Clock func() int64
}

// Filesystem is one tmpfs instance. It implements vfs.FilesystemImpl.
type Filesystem struct {
	// mu guards the namespace: every directory's entries and every
	// inode's link count and parent pointer.
	mu sync.RWMutex

	root     *inode
	maxPages int64
	pages    atomic.Int64
	maxInode int64
	inodes   atomic.Int64
	nextIno  atomic.Uint64
	clock    func() int64
}

// New returns a new tmpfs instance.
func New(opts Options) *Filesystem {
	fs := &Filesystem{clock: opts.Clock, maxInode: opts.MaxInodes}
	if fs.clock == nil {
		fs.clock = func() int64 { return time.Now().UnixNano() }
	}
	size := opts.MaxSize
	if size <= 0 {
		var si unix.Sysinfo_t
		if err := unix.Sysinfo(&si); err == nil {
			size = int64(si.Totalram) * int64(si.Unit) / 2
		}
		if size <= 0 {
			size = 1 << 30
		}
	}
	fs.maxPages = (size + pageSize - 1) / pageSize
	mode := opts.RootMode & 0o7777
	if mode == 0 {
		mode = 0o1777
	}
	fs.root = fs.newInode(vfs.CreateAttr{Mode: linux.S_IFDIR | mode, UID: opts.RootUID, GID: opts.RootGID})
	fs.inodes.Store(0) // the root does not count against MaxInodes.
	fs.root.nlink = 2
	fs.root.dir.parent = fs.root
	return fs
}

// Root implements vfs.FilesystemImpl.Root.
func (fs *Filesystem) Root() vfs.Inode { return fs.root }

// Release implements vfs.FilesystemImpl.Release. Memory is reclaimed by
// the garbage collector once the inodes are unreachable.
func (fs *Filesystem) Release(context.Context) {}

// StatFS implements vfs.FilesystemImpl.StatFS.
func (fs *Filesystem) StatFS(context.Context) (linux.Statfs, error) {
	used := fs.pages.Load()
	st := linux.Statfs{
		Type:            linux.TMPFS_MAGIC,
		BlockSize:       pageSize,
		FragmentSize:    pageSize,
		Blocks:          uint64(fs.maxPages),
		BlocksFree:      uint64(max(fs.maxPages-used, 0)),
		BlocksAvailable: uint64(max(fs.maxPages-used, 0)),
		NameLength:      linux.NAME_MAX,
	}
	if fs.maxInode > 0 {
		st.Files = uint64(fs.maxInode)
		st.FilesFree = uint64(max(fs.maxInode-fs.inodes.Load(), 0))
	}
	return st, nil
}

// reserve implements pageAccounter.reserve.
func (fs *Filesystem) reserve(n int64) bool {
	for {
		cur := fs.pages.Load()
		if cur+n > fs.maxPages {
			return false
		}
		if fs.pages.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

// unreserve implements pageAccounter.unreserve.
func (fs *Filesystem) unreserve(n int64) { fs.pages.Add(-n) }

// UsedPages returns the pages held by file data.
func (fs *Filesystem) UsedPages() int64 { return fs.pages.Load() }

// reserveInode counts a new inode against MaxInodes.
func (fs *Filesystem) reserveInode() bool {
	n := fs.inodes.Add(1)
	if fs.maxInode > 0 && n > fs.maxInode {
		fs.inodes.Add(-1)
		return false
	}
	return true
}

// FSType implements vfs.FilesystemTyper.
func (fs *Filesystem) FSType() string { return "tmpfs" }
