package gofer

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/p9"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/vfs/lock"
)

// inode is one file of the Gofer's tree. It implements vfs.Inode,
// vfs.DirectoryInode (directory.go) and vfs.SymlinkInode; the methods of
// the other kinds fail with ENOTDIR or EINVAL.
type inode struct {
	fs *Filesystem
	// fid holds the inode's unopened fid (see getFile); qid is the
	// file's identity. Both pointers are immutable.
	fid *fidBox
	qid p9.QID
	// ftype is the S_IFMT bits, immutable.
	ftype uint32

	// mode, uid and gid are read without mu on every path walk step
	// (Attr) and written with mu held.
	mode atomic.Uint32
	uid  atomic.Uint32
	gid  atomic.Uint32

	// mu guards the fields below.
	mu sync.Mutex
	// attr and valid are the attributes last reported by the Gofer, with
	// local changes applied; stale says they must be re-read before
	// they are reported.
	attr  p9.Attr
	valid p9.AttrMask
	stale bool
	// target is a symlink's target once read (haveTarget).
	target     string
	haveTarget bool
	// neg holds names known not to exist in a directory.
	neg map[string]struct{}
	// parent and name say where to walk from to get a fid, for an inode
	// made without one by a multi-name walk (nil parent otherwise);
	// renames keep them current. gone is set once the file was removed
	// by the Sentry, so the name must not be walked again.
	parent *inode
	name   string
	gone   bool

	// pending is a regular file's opened fid from Tlcreate, kept for the
	// open that follows the create. Immutable pointer.
	pending *openBox
	// appendMu serializes O_APPEND writes (size lookup, then write).
	appendMu sync.Mutex

	locks lock.Locks
}

var (
	_ vfs.Inode          = (*inode)(nil)
	_ vfs.DirectoryInode = (*inode)(nil)
	_ vfs.SymlinkInode   = (*inode)(nil)
)

// fileType returns the S_IFMT bits of a walk result: the mode's if the
// Gofer sent one, else what the QID type says.
func fileType(qa p9.QIDAttr) uint32 {
	if qa.Valid&p9.AttrMode != 0 {
		return uint32(qa.Attr.Mode.FileType())
	}
	switch {
	case qa.QID.Type&p9.QIDTypeDir != 0:
		return linux.S_IFDIR
	case qa.QID.Type&p9.QIDTypeSymlink != 0:
		return linux.S_IFLNK
	}
	return linux.S_IFREG
}

func newInode(fs *Filesystem, f *p9.ClientFile, qa p9.QIDAttr) *inode {
	i := &inode{fs: fs, fid: &fidBox{}, qid: qa.QID, ftype: fileType(qa)}
	if f != nil {
		i.fid.p.Store(f)
	}
	if i.ftype == linux.S_IFREG {
		i.pending = &openBox{}
	}
	i.mu.Lock()
	i.setAttrLocked(qa)
	i.mu.Unlock()
	return i
}

// sameType reports whether a walk result describes a file of this
// inode's type (a host inode number reused for another kind of file is a
// new inode).
func (i *inode) sameType(qa p9.QIDAttr) bool { return fileType(qa) == i.ftype }

// setAttrLocked replaces the cached attributes with qa's. i.mu is held.
func (i *inode) setAttrLocked(qa p9.QIDAttr) {
	i.attr, i.valid = qa.Attr, qa.Valid
	i.stale = false
	mode := i.ftype
	if qa.Valid&p9.AttrMode != 0 {
		mode |= uint32(qa.Attr.Mode & p9.ModePermMask)
	}
	i.mode.Store(mode)
	if qa.Valid&p9.AttrUID != 0 {
		i.uid.Store(uint32(qa.Attr.UID))
	}
	if qa.Valid&p9.AttrGID != 0 {
		i.gid.Store(uint32(qa.Attr.GID))
	}
}

// maxLazyDepth bounds the chain of fid-less ancestors getFile walks.
const maxLazyDepth = linux.PATH_MAX / 2

// getFile returns the inode's fid. An inode made by a multi-name walk has
// none until first needed: it is then walked from the nearest ancestor
// that has one, by the current names of the inodes in between (one Twalk
// of up to p9.MaxWalkNames names), and every step's QID is checked, so a
// name that now leads to another file fails with ESTALE instead of
// reaching it.
func (i *inode) getFile() (*p9.ClientFile, error) {
	if f := i.fid.p.Load(); f != nil {
		return f, nil
	}
	var names []string
	var chain []*inode
	var base *p9.ClientFile
	for cur := i; base == nil; {
		if f := cur.fid.p.Load(); f != nil {
			base = f
			break
		}
		cur.mu.Lock()
		parent, name, gone := cur.parent, cur.name, cur.gone
		cur.mu.Unlock()
		if gone || parent == nil || len(names) >= maxLazyDepth {
			return nil, unix.ESTALE
		}
		names = append(names, name)
		chain = append(chain, cur)
		cur = parent
	}
	slices.Reverse(names)
	slices.Reverse(chain)
	qids, f, err := base.Walk(names)
	if err != nil {
		return nil, errno(err)
	}
	for k, q := range qids {
		if k >= len(chain) || q.Path != chain[k].qid.Path {
			i.fs.queueClunk(f)
			return nil, unix.ESTALE
		}
	}
	if len(qids) != len(chain) {
		i.fs.queueClunk(f)
		return nil, unix.ESTALE
	}
	if !i.fid.p.CompareAndSwap(nil, f) {
		i.fs.queueClunk(f) // a concurrent getFile won.
	}
	return i.fid.p.Load(), nil
}

// updateFromWalk takes fresh attributes from a walk that reached this
// inode again.
func (i *inode) updateFromWalk(qa p9.QIDAttr) {
	if qa.Valid == 0 {
		return
	}
	i.mu.Lock()
	i.setAttrLocked(qa)
	i.mu.Unlock()
}

// invalidate marks the cached attributes stale.
func (i *inode) invalidate() {
	i.mu.Lock()
	i.stale = true
	i.mu.Unlock()
}

// refresh re-reads the attributes with one Tgetattr.
func (i *inode) refresh() error {
	f, err := i.getFile()
	if err != nil {
		return err
	}
	qa, err := f.GetAttr(attrMask)
	if err != nil {
		return errno(err)
	}
	if !i.sameType(qa) {
		return unix.ESTALE // the Gofer's file changed kind under the fid.
	}
	i.mu.Lock()
	i.setAttrLocked(qa)
	i.mu.Unlock()
	return nil
}

func (i *inode) isDir() bool { return i.ftype == linux.S_IFDIR }

// Attr implements vfs.Inode.Attr.
func (i *inode) Attr() vfs.InodeAttr {
	return vfs.InodeAttr{Mode: i.mode.Load(), UID: i.uid.Load(), GID: i.gid.Load()}
}

// Stat implements vfs.Inode.Stat: the cached attributes, re-read first if
// a local change made them stale or Options.Revalidate is set. If the
// re-read fails because the file is gone from the Gofer's tree (an
// unlinked file still open), the cached attributes are reported.
func (i *inode) Stat(context.Context, uint32) (linux.Statx, error) {
	i.mu.Lock()
	need := i.stale || i.fs.opts.Revalidate
	i.mu.Unlock()
	if need {
		if err := i.refresh(); err != nil && err != unix.ENOENT && err != unix.ESTALE {
			return linux.Statx{}, err
		}
	}
	i.mu.Lock()
	a, valid := i.attr, i.valid
	i.mu.Unlock()
	st := linux.Statx{
		Mask: linux.STATX_TYPE | linux.STATX_INO,
		Mode: uint16(i.mode.Load()),
		Ino:  i.qid.Path,
		UID:  i.uid.Load(),
		GID:  i.gid.Load(),
	}
	if valid&p9.AttrMode != 0 {
		st.Mask |= linux.STATX_MODE
	}
	if valid&p9.AttrUID != 0 {
		st.Mask |= linux.STATX_UID
	}
	if valid&p9.AttrGID != 0 {
		st.Mask |= linux.STATX_GID
	}
	if valid&p9.AttrNLink != 0 {
		st.Mask |= linux.STATX_NLINK
		st.Nlink = uint32(min(a.NLink, uint64(^uint32(0))))
	}
	if valid&p9.AttrSize != 0 {
		st.Mask |= linux.STATX_SIZE
		st.Size = a.Size
	}
	if valid&p9.AttrBlocks != 0 {
		st.Mask |= linux.STATX_BLOCKS
		st.Blocks = a.Blocks
	}
	st.Blksize = uint32(min(a.BlockSize, 1<<30))
	if st.Blksize == 0 {
		st.Blksize = 4096
	}
	if valid&p9.AttrATime != 0 {
		st.Mask |= linux.STATX_ATIME
		st.Atime = timestamp(a.ATimeSeconds, a.ATimeNanoSeconds)
	}
	if valid&p9.AttrMTime != 0 {
		st.Mask |= linux.STATX_MTIME
		st.Mtime = timestamp(a.MTimeSeconds, a.MTimeNanoSeconds)
	}
	if valid&p9.AttrCTime != 0 {
		st.Mask |= linux.STATX_CTIME
		st.Ctime = timestamp(a.CTimeSeconds, a.CTimeNanoSeconds)
	}
	if valid&p9.AttrBTime != 0 {
		st.Mask |= linux.STATX_BTIME
		st.Btime = timestamp(a.BTimeSeconds, a.BTimeNanoSeconds)
	}
	if valid&p9.AttrRDev != 0 && (i.ftype == linux.S_IFCHR || i.ftype == linux.S_IFBLK) {
		st.RdevMajor, st.RdevMinor = unix.Major(a.RDev), unix.Minor(a.RDev)
	}
	return st, nil
}

// timestamp converts a 9P time, clamping a hostile nanosecond field.
func timestamp(sec, nsec uint64) linux.StatxTimestamp {
	return linux.StatxTimestamp{Sec: int64(sec), Nsec: uint32(min(nsec, 999_999_999))}
}

// SetStat implements vfs.Inode.SetStat with one Tsetattr for every field
// asked for. mode, uid and gid are updated in the cache at once; the rest
// (size, times, ctime) is re-read by the next stat.
func (i *inode) SetStat(_ context.Context, opts *vfs.SetStatOptions) error {
	m := opts.Stat.Mask
	var valid p9.SetAttrMask
	var sa p9.SetAttr
	if m&linux.STATX_MODE != 0 {
		valid |= p9.SetAttrMode
		sa.Mode = p9.FileMode(opts.Stat.Mode) & p9.ModePermMask
	}
	if m&linux.STATX_UID != 0 {
		valid |= p9.SetAttrUID
		sa.UID = p9.UID(opts.Stat.UID)
	}
	if m&linux.STATX_GID != 0 {
		valid |= p9.SetAttrGID
		sa.GID = p9.GID(opts.Stat.GID)
	}
	if m&linux.STATX_SIZE != 0 {
		if i.ftype != linux.S_IFREG {
			return unix.EINVAL
		}
		valid |= p9.SetAttrSize
		sa.Size = opts.Stat.Size
	}
	if m&linux.STATX_ATIME != 0 {
		valid |= p9.SetAttrATime
		if ts := opts.Stat.Atime; !opts.TimesNow && ts.Nsec != unix.UTIME_NOW {
			valid |= p9.SetAttrATimeSet
			sa.ATimeSeconds, sa.ATimeNanoSeconds = uint64(ts.Sec), uint64(ts.Nsec)
		}
	}
	if m&linux.STATX_MTIME != 0 {
		valid |= p9.SetAttrMTime
		if ts := opts.Stat.Mtime; !opts.TimesNow && ts.Nsec != unix.UTIME_NOW {
			valid |= p9.SetAttrMTimeSet
			sa.MTimeSeconds, sa.MTimeNanoSeconds = uint64(ts.Sec), uint64(ts.Nsec)
		}
	}
	if valid == 0 {
		return nil
	}
	f, err := i.getFile()
	if err != nil {
		return err
	}
	err = f.SetAttr(valid, sa)
	i.mu.Lock()
	defer i.mu.Unlock()
	i.stale = true
	if err != nil {
		return errno(err)
	}
	if valid&p9.SetAttrMode != 0 {
		i.mode.Store(i.ftype | uint32(sa.Mode))
	}
	if valid&p9.SetAttrUID != 0 {
		i.uid.Store(uint32(sa.UID))
	}
	if valid&p9.SetAttrGID != 0 {
		i.gid.Store(uint32(sa.GID))
	}
	return nil
}

// Open implements vfs.Inode.Open.
func (i *inode) Open(_ context.Context, _ vfs.VirtualDentry, opts vfs.OpenOptions) (vfs.FileDescriptionImpl, error) {
	switch i.ftype {
	case linux.S_IFREG:
		return i.openRegular(opts.Flags)
	case linux.S_IFDIR:
		of, err := i.openFid(p9.ReadOnly)
		if err != nil {
			return nil, err
		}
		if of.host != nil {
			of.host.Close()
			of.host = nil
		}
		return &dirFD{inode: i, file: of.file}, nil
	case linux.S_IFLNK:
		return nil, unix.ELOOP
	default:
		// FIFOs need the pipe implementation and device nodes a device
		// registry; the Gofer never opens them for the Sentry.
		return nil, unix.ENXIO
	}
}

// openFid clones the inode's fid and opens the clone.
func (i *inode) openFid(flags p9.OpenFlags) (*openedFile, error) {
	base, err := i.getFile()
	if err != nil {
		return nil, err
	}
	f, err := base.Clone()
	if err != nil {
		return nil, errno(err)
	}
	_, _, host, err := f.Open(flags)
	if err != nil {
		i.fs.queueClunk(f)
		return nil, errno(err)
	}
	return &openedFile{file: f, host: host}, nil
}

// p9OpenFlags converts open(2) flags for Tlopen: the access mode and the
// synchronous-I/O flags. O_TRUNC was applied by the VFS (a setattr) and
// O_APPEND is the description's business (PWrite's appendMode): a donated
// descriptor must write where pwrite(2) says.
func p9OpenFlags(flags uint32) p9.OpenFlags {
	f := p9.OpenFlags(flags & linux.O_ACCMODE)
	if flags&linux.O_SYNC == linux.O_SYNC {
		f |= p9.OpenSync
	} else if flags&linux.O_DSYNC != 0 {
		f |= p9.OpenDSync
	}
	if flags&linux.O_DIRECT != 0 {
		f |= p9.OpenDirect
	}
	if flags&linux.O_NOATIME != 0 {
		f |= p9.OpenNoATime
	}
	return f
}

// openRegular opens a regular file: the fid left by Tlcreate if the file
// was just created, else a new Tlopen.
func (i *inode) openRegular(flags uint32) (vfs.FileDescriptionImpl, error) {
	of := i.pending.take()
	if of == nil {
		var err error
		if of, err = i.openFid(p9OpenFlags(flags)); err != nil {
			return nil, err
		}
	}
	fd := &regularFD{inode: i, file: of.file, host: of.host, hostFD: -1}
	if of.host != nil {
		fd.hostFD = int(of.host.Fd())
	}
	return fd, nil
}

// Locks implements vfs.Inode.Locks. Locks are the Sentry's own: only it
// uses the Gofer's files.
func (i *inode) Locks() *lock.Locks { return &i.locks }

// Readlink implements vfs.SymlinkInode.Readlink with one Treadlink; the
// target is cached (a symlink's target never changes).
func (i *inode) Readlink(context.Context) (string, error) {
	if i.ftype != linux.S_IFLNK {
		return "", unix.EINVAL
	}
	i.mu.Lock()
	if i.haveTarget {
		t := i.target
		i.mu.Unlock()
		return t, nil
	}
	i.mu.Unlock()
	f, err := i.getFile()
	if err != nil {
		return "", err
	}
	t, err := f.Readlink()
	if err != nil {
		return "", errno(err)
	}
	if t == "" || len(t) >= linux.PATH_MAX {
		return "", unix.EIO // a hostile or broken Gofer.
	}
	i.mu.Lock()
	i.target, i.haveTarget = t, true
	i.mu.Unlock()
	return t, nil
}

// GetXattr implements vfs.Inode.GetXattr.
func (i *inode) GetXattr(_ context.Context, name string) (string, error) {
	f, err := i.getFile()
	if err != nil {
		return "", err
	}
	v, err := f.GetXattr(name, linux.XATTR_SIZE_MAX)
	if err != nil {
		return "", errno(err)
	}
	return string(v), nil
}

// SetXattr implements vfs.Inode.SetXattr. setxattr(2)'s XATTR_CREATE and
// XATTR_REPLACE have 9P's values.
func (i *inode) SetXattr(_ context.Context, name, value string, flags uint32) error {
	f, err := i.getFile()
	if err != nil {
		return err
	}
	err = f.SetXattr(name, []byte(value), flags&(p9.XattrCreate|p9.XattrReplace))
	i.invalidate()
	return errno(err)
}

// ListXattr implements vfs.Inode.ListXattr.
func (i *inode) ListXattr(context.Context) ([]string, error) {
	f, err := i.getFile()
	if err != nil {
		return nil, err
	}
	names, err := f.ListXattr(linux.XATTR_LIST_MAX)
	return names, errno(err)
}

// RemoveXattr implements vfs.Inode.RemoveXattr.
func (i *inode) RemoveXattr(_ context.Context, name string) error {
	f, err := i.getFile()
	if err != nil {
		return err
	}
	err = f.RemoveXattr(name)
	i.invalidate()
	return errno(err)
}
