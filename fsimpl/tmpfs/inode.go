package tmpfs

import (
	"context"
	"github.com/palisade-sandbox/palisade/fsimpl/pipe"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/vfs/lock"
)

// inode is any tmpfs file. The kind-specific state is in dir (for
// directories), data (regular files), target (symlinks) and rdev
// (devices).
type inode struct {
	fs  *Filesystem
	ino uint64

	// mode, uid and gid are written with mu held and read without it
	// (path walks consult them for every component).
	mode atomic.Uint32
	uid  atomic.Uint32
	gid  atomic.Uint32

	// mu guards the fields below it and the file's data.
	mu    sync.RWMutex
	size  int64
	atime int64
	mtime int64
	ctime int64
	btime int64
	xattr map[string]string
	data  Storage
	// opens counts open descriptions of a regular file.
	opens int
	// fifo is the pipe of a FIFO inode, shared by all its opens.
	fifo pipe.FIFO

	// nlink is guarded by fs.mu (and read under mu too: written with
	// both held).
	nlink uint32

	target string // immutable
	rdev   uint64 // immutable
	dir    *dirData
	locks  lock.Locks
}

func (fs *Filesystem) newInode(attr vfs.CreateAttr) *inode {
	now := fs.clock()
	i := &inode{
		fs: fs, ino: fs.nextIno.Add(1),
		atime: now, mtime: now, ctime: now, btime: now,
		nlink: 1,
	}
	i.mode.Store(attr.Mode)
	i.uid.Store(attr.UID)
	i.gid.Store(attr.GID)
	switch attr.Mode & linux.S_IFMT {
	case linux.S_IFDIR:
		i.dir = &dirData{entries: make(map[string]*dirent), nextCookie: 2}
		i.nlink = 2
	case linux.S_IFREG:
		i.data = newPageMap(fs)
	case linux.S_IFCHR, linux.S_IFBLK:
		i.rdev = attr.Dev
	}
	return i
}

func (i *inode) typ() uint32 { return i.mode.Load() & linux.S_IFMT }

// Attr implements vfs.Inode.Attr.
func (i *inode) Attr() vfs.InodeAttr {
	return vfs.InodeAttr{Mode: i.mode.Load(), UID: i.uid.Load(), GID: i.gid.Load()}
}

// Stat implements vfs.Inode.Stat.
func (i *inode) Stat(context.Context, uint32) (linux.Statx, error) {
	i.fs.mu.RLock()
	nlink := i.nlink
	var size int64
	if i.dir != nil {
		size = int64(len(i.dir.entries)+2) * 20 // like Linux's BOGO_DIRENT_SIZE
	}
	i.fs.mu.RUnlock()
	i.mu.RLock()
	defer i.mu.RUnlock()
	st := linux.Statx{
		Mask:    linux.STATX_BASIC_STATS | linux.STATX_BTIME,
		Blksize: pageSize,
		Nlink:   nlink,
		UID:     i.uid.Load(),
		GID:     i.gid.Load(),
		Mode:    uint16(i.mode.Load()),
		Ino:     i.ino,
		Atime:   linux.NsecToStatxTimestamp(i.atime),
		Mtime:   linux.NsecToStatxTimestamp(i.mtime),
		Ctime:   linux.NsecToStatxTimestamp(i.ctime),
		Btime:   linux.NsecToStatxTimestamp(i.btime),
	}
	switch i.typ() {
	case linux.S_IFREG:
		st.Size = uint64(i.size)
		st.Blocks = uint64(i.data.Pages() * (pageSize / 512))
	case linux.S_IFDIR:
		st.Size = uint64(size)
	case linux.S_IFLNK:
		st.Size = uint64(len(i.target))
	case linux.S_IFCHR, linux.S_IFBLK:
		st.RdevMajor, st.RdevMinor = linux.DecodeDev(i.rdev)
	}
	return st, nil
}

// SetStat implements vfs.Inode.SetStat.
func (i *inode) SetStat(_ context.Context, opts *vfs.SetStatOptions) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	m := opts.Stat.Mask
	now := i.fs.clock()
	if m&linux.STATX_SIZE != 0 {
		if i.typ() != linux.S_IFREG {
			return unix.EINVAL
		}
		if err := i.truncateLocked(int64(opts.Stat.Size)); err != nil {
			return err
		}
	}
	if m&linux.STATX_MODE != 0 {
		i.mode.Store(i.mode.Load()&linux.S_IFMT | uint32(opts.Stat.Mode)&0o7777)
	}
	if m&linux.STATX_UID != 0 {
		i.uid.Store(opts.Stat.UID)
	}
	if m&linux.STATX_GID != 0 {
		i.gid.Store(opts.Stat.GID)
	}
	if m&linux.STATX_ATIME != 0 {
		i.atime = opts.Stat.Atime.ToNsec()
	}
	if m&linux.STATX_MTIME != 0 {
		i.mtime = opts.Stat.Mtime.ToNsec()
	}
	i.ctime = now
	return nil
}

// truncateLocked changes a regular file's size; i.mu is held.
func (i *inode) truncateLocked(size int64) error {
	if size < 0 {
		return unix.EINVAL
	}
	if size == i.size {
		return nil
	}
	if size < i.size {
		i.data.Truncate(size)
	}
	i.size = size
	now := i.fs.clock()
	i.mtime, i.ctime = now, now
	return nil
}

// Open implements vfs.Inode.Open.
func (i *inode) Open(ctx context.Context, vd vfs.VirtualDentry, opts vfs.OpenOptions) (vfs.FileDescriptionImpl, error) {
	switch i.typ() {
	case linux.S_IFREG:
		i.mu.Lock()
		i.opens++
		i.mu.Unlock()
		return &regularFD{inode: i, noatime: opts.Flags&linux.O_NOATIME != 0}, nil
	case linux.S_IFDIR:
		return &dirFD{inode: i}, nil
	case linux.S_IFLNK:
		return nil, unix.ELOOP
	case linux.S_IFIFO:
		return i.fifo.Open(ctx, opts.Flags)
	default:
		// Device nodes need a device registry (mknod refuses them);
		// sockets are opened with connect(2), not open(2).
		return nil, unix.ENXIO
	}
}

// Locks implements vfs.Inode.Locks.
func (i *inode) Locks() *lock.Locks { return &i.locks }

// Readlink implements vfs.SymlinkInode.Readlink.
func (i *inode) Readlink(context.Context) (string, error) {
	if i.typ() != linux.S_IFLNK {
		return "", unix.EINVAL
	}
	return i.target, nil
}

// tmpfs keeps user.*, trusted.* and security.* attributes.
func xattrSupported(name string) bool {
	return strings.HasPrefix(name, "user.") || strings.HasPrefix(name, "trusted.") || strings.HasPrefix(name, "security.")
}

// maxXattrBytes bounds the total size of one inode's attributes.
const maxXattrBytes = 1 << 20

// GetXattr implements vfs.Inode.GetXattr.
func (i *inode) GetXattr(_ context.Context, name string) (string, error) {
	if !xattrSupported(name) {
		return "", unix.EOPNOTSUPP
	}
	i.mu.RLock()
	defer i.mu.RUnlock()
	v, ok := i.xattr[name]
	if !ok {
		return "", unix.ENODATA
	}
	return v, nil
}

// SetXattr implements vfs.Inode.SetXattr.
func (i *inode) SetXattr(_ context.Context, name, value string, flags uint32) error {
	if !xattrSupported(name) {
		return unix.EOPNOTSUPP
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	old, exists := i.xattr[name]
	if exists && flags&linux.XATTR_CREATE != 0 {
		return unix.EEXIST
	}
	if !exists && flags&linux.XATTR_REPLACE != 0 {
		return unix.ENODATA
	}
	total := 0
	for k, v := range i.xattr {
		total += len(k) + len(v)
	}
	if exists {
		total -= len(name) + len(old)
	}
	if total+len(name)+len(value) > maxXattrBytes {
		return unix.ENOSPC
	}
	if i.xattr == nil {
		i.xattr = make(map[string]string)
	}
	i.xattr[name] = value
	i.ctime = i.fs.clock()
	return nil
}

// ListXattr implements vfs.Inode.ListXattr.
func (i *inode) ListXattr(context.Context) ([]string, error) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	names := make([]string, 0, len(i.xattr))
	for k := range i.xattr {
		names = append(names, k)
	}
	sort.Strings(names)
	return names, nil
}

// RemoveXattr implements vfs.Inode.RemoveXattr.
func (i *inode) RemoveXattr(_ context.Context, name string) error {
	if !xattrSupported(name) {
		return unix.EOPNOTSUPP
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if _, ok := i.xattr[name]; !ok {
		return unix.ENODATA
	}
	delete(i.xattr, name)
	i.ctime = i.fs.clock()
	return nil
}

// touchCMTime sets mtime and ctime to now.
func (i *inode) touchCMTime() {
	now := i.fs.clock()
	i.mu.Lock()
	i.mtime, i.ctime = now, now
	i.mu.Unlock()
}

// touchCTime sets ctime to now.
func (i *inode) touchCTime() {
	now := i.fs.clock()
	i.mu.Lock()
	i.ctime = now
	i.mu.Unlock()
}

// touchATime updates atime with relatime semantics: only if it is not
// newer than mtime or ctime, or is more than a day old.
func (i *inode) touchATime() {
	now := i.fs.clock()
	i.mu.Lock()
	if i.atime <= i.mtime || i.atime <= i.ctime || now-i.atime > 24*3600*1e9 {
		i.atime = now
	}
	i.mu.Unlock()
}

// maybeFreeLocked frees a regular file's pages once no directory names it
// and no description has it open. fs.mu and i.mu are held.
func (i *inode) maybeFreeLocked() {
	if i.data != nil && i.nlink == 0 && i.opens == 0 {
		i.data.Release()
		i.size = 0
	}
}
