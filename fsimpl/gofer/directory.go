package gofer

import (
	"context"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/p9"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// isNegative reports whether name is cached as missing from directory i.
func (i *inode) isNegative(name string) bool {
	if i.fs.negMax == 0 {
		return false
	}
	i.mu.Lock()
	_, ok := i.neg[name]
	i.mu.Unlock()
	return ok
}

// addNegative caches name as missing from directory i. A full cache is
// emptied (cheap, and bounded).
func (i *inode) addNegative(name string) {
	if i.fs.negMax == 0 {
		return
	}
	i.mu.Lock()
	if i.neg == nil || len(i.neg) >= i.fs.negMax {
		i.neg = make(map[string]struct{})
	}
	i.neg[name] = struct{}{}
	i.mu.Unlock()
}

// dirChanged records a change of directory i's entries: name now exists
// (exists) or not, and the directory's own attributes (times, link count)
// must be re-read.
func (i *inode) dirChanged(name string, exists bool) {
	if exists {
		i.mu.Lock()
		delete(i.neg, name)
		i.stale = true
		i.mu.Unlock()
		return
	}
	i.addNegative(name)
	i.invalidate()
}

// Lookup implements vfs.DirectoryInode.Lookup: one Twalkgetattr, or none
// for a name cached as missing.
func (i *inode) Lookup(_ context.Context, name string) (vfs.Inode, error) {
	if !i.isDir() {
		return nil, unix.ENOTDIR
	}
	if i.isNegative(name) {
		return nil, unix.ENOENT
	}
	return i.walkChild(name, true)
}

// LookupPath walks names, each a single component other than "." and
// "..", from directory i with one Twalkgetattr per p9.MaxWalkNames names,
// and returns the inodes of the longest prefix of names that exists, in
// order; the walk stops after a symlink or a non-directory (the Gofer
// never walks through them). An empty result comes with the error for the
// first name. This is the filesystem side of the batched lookup proposed
// for the VFS (see the package doc): the inodes of the intermediate steps
// get their fids only when first used (getFile); the last keeps the walk's
// fid.
func (i *inode) LookupPath(_ context.Context, names []string) ([]vfs.Inode, error) {
	if !i.isDir() {
		return nil, unix.ENOTDIR
	}
	for _, n := range names {
		if n == "" || n == "." || n == ".." || len(n) > linux.NAME_MAX || strings.ContainsAny(n, "/\x00") {
			return nil, unix.EINVAL
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	if i.isNegative(names[0]) {
		return nil, unix.ENOENT
	}
	var out []vfs.Inode
	parent := i
	for len(names) > 0 {
		pf, err := parent.getFile()
		if err != nil {
			if len(out) == 0 {
				return nil, err
			}
			return out, nil
		}
		chunk := names[:min(len(names), p9.MaxWalkNames)]
		names = names[len(chunk):]
		steps, f, err := pf.WalkGetAttr(chunk, attrMask)
		if len(steps) > len(chunk) {
			if f != nil {
				i.fs.queueClunk(f)
			}
			return out, unix.EIO
		}
		for k, st := range steps {
			var sf *p9.ClientFile
			if k == len(chunk)-1 && err == nil {
				sf = f
			}
			c := i.fs.inodeFor(st, sf, parent, chunk[k])
			out = append(out, c)
			parent = c
		}
		if err != nil || len(steps) < len(chunk) {
			if len(out) == 0 {
				err = errno(err)
				if err == unix.ENOENT {
					i.addNegative(chunk[0])
				}
				return nil, err
			}
			return out, nil
		}
	}
	return out, nil
}

// walkChild walks to name with Twalkgetattr and returns its inode.
// cacheMiss makes ENOENT a negative cache entry.
func (i *inode) walkChild(name string, cacheMiss bool) (*inode, error) {
	df, err := i.getFile()
	if err != nil {
		return nil, err
	}
	steps, f, err := df.WalkGetAttr([]string{name}, attrMask)
	if err != nil {
		err = errno(err)
		if err == unix.ENOENT && cacheMiss {
			i.addNegative(name)
		}
		return nil, err
	}
	if len(steps) != 1 {
		i.fs.queueClunk(f)
		return nil, unix.EIO
	}
	return i.fs.inodeFor(steps[0], f, nil, ""), nil
}

// childCreated finishes any create: the new file's inode (from one
// Twalkgetattr), its owner if the Gofer could not set it, and the
// directory's caches.
func (i *inode) childCreated(name string, attr vfs.CreateAttr) (*inode, error) {
	i.dirChanged(name, true)
	c, err := i.walkChild(name, false)
	if err != nil {
		return nil, err
	}
	if uid := p9.UID(attr.UID); uid != i.fs.opts.AttachUID && c.uid.Load() != attr.UID {
		cf, err := c.getFile()
		if err != nil {
			return nil, err
		}
		if err := cf.SetAttr(p9.SetAttrUID, p9.SetAttr{UID: uid}); err != nil {
			return nil, errno(err)
		}
		c.mu.Lock()
		c.uid.Store(attr.UID)
		c.stale = true // ctime changed.
		c.mu.Unlock()
	}
	return c, nil
}

// Create implements vfs.DirectoryInode.Create with Tlcreate on a clone of
// the directory's fid. The opened fid (and the host file the Gofer
// donated) is kept for the open that follows.
func (i *inode) Create(_ context.Context, name string, attr vfs.CreateAttr) (vfs.Inode, error) {
	if !i.isDir() {
		return nil, unix.ENOTDIR
	}
	df, err := i.getFile()
	if err != nil {
		return nil, err
	}
	f, err := df.Clone()
	if err != nil {
		return nil, errno(err)
	}
	_, _, host, err := f.Create(name, p9.ReadWrite, p9.FileMode(attr.Mode)&p9.ModePermMask, p9.GID(attr.GID))
	if err != nil {
		i.fs.queueClunk(f)
		return nil, errno(err)
	}
	of := &openedFile{file: f, host: host}
	c, err := i.childCreated(name, attr)
	if err != nil {
		of.close(i.fs)
		return nil, err
	}
	if c.pending == nil {
		of.close(i.fs)
		return nil, unix.EIO // not a regular file: the tree changed under us.
	}
	c.pending.put(i.fs, of)
	return c, nil
}

// Mkdir implements vfs.DirectoryInode.Mkdir with Tmkdir.
func (i *inode) Mkdir(_ context.Context, name string, attr vfs.CreateAttr) (vfs.Inode, error) {
	if !i.isDir() {
		return nil, unix.ENOTDIR
	}
	df, err := i.getFile()
	if err != nil {
		return nil, err
	}
	if _, err := df.Mkdir(name, p9.FileMode(attr.Mode)&p9.ModePermMask, p9.GID(attr.GID)); err != nil {
		return nil, errno(err)
	}
	return i.childCreated(name, attr)
}

// Mknod implements vfs.DirectoryInode.Mknod with Tmknod. The Gofer makes
// only regular files and FIFOs (EPERM for devices and sockets).
func (i *inode) Mknod(_ context.Context, name string, attr vfs.CreateAttr) (vfs.Inode, error) {
	if !i.isDir() {
		return nil, unix.ENOTDIR
	}
	switch attr.Mode & linux.S_IFMT {
	case linux.S_IFREG, linux.S_IFIFO, linux.S_IFSOCK, linux.S_IFCHR, linux.S_IFBLK:
	default:
		return nil, unix.EINVAL
	}
	major, minor := linux.DecodeDev(attr.Dev)
	mode := p9.FileMode(attr.Mode) & (p9.ModeTypeMask | p9.ModePermMask)
	df, err := i.getFile()
	if err != nil {
		return nil, err
	}
	if _, err := df.Mknod(name, mode, major, minor, p9.GID(attr.GID)); err != nil {
		return nil, errno(err)
	}
	return i.childCreated(name, attr)
}

// Symlink implements vfs.DirectoryInode.Symlink with Tsymlink.
func (i *inode) Symlink(_ context.Context, name, target string, attr vfs.CreateAttr) (vfs.Inode, error) {
	if !i.isDir() {
		return nil, unix.ENOTDIR
	}
	df, err := i.getFile()
	if err != nil {
		return nil, err
	}
	if _, err := df.Symlink(target, name, p9.GID(attr.GID)); err != nil {
		return nil, errno(err)
	}
	c, err := i.childCreated(name, attr)
	if err != nil {
		return nil, err
	}
	if c.ftype == linux.S_IFLNK {
		c.mu.Lock()
		c.target, c.haveTarget = target, true
		c.mu.Unlock()
	}
	return c, nil
}

// other returns target as an inode of this filesystem, or EXDEV.
func (i *inode) other(target vfs.Inode) (*inode, error) {
	t, ok := target.(*inode)
	if !ok || t.fs != i.fs {
		return nil, unix.EXDEV
	}
	return t, nil
}

// Link implements vfs.DirectoryInode.Link with Tlink.
func (i *inode) Link(_ context.Context, name string, target vfs.Inode) error {
	if !i.isDir() {
		return unix.ENOTDIR
	}
	t, err := i.other(target)
	if err != nil {
		return err
	}
	if t.isDir() {
		return unix.EPERM
	}
	df, err := i.getFile()
	if err != nil {
		return err
	}
	tf, err := t.getFile()
	if err != nil {
		return err
	}
	if err := df.Link(tf, name); err != nil {
		return errno(err)
	}
	i.dirChanged(name, true)
	t.mu.Lock()
	t.attr.NLink++
	t.stale = true
	t.mu.Unlock()
	return nil
}

// removed records that child lost its link name in dir. A file with no
// links left is dropped from the QID table, so that a new file that gets
// its host inode number gets a new inode (and fid).
func removed(child vfs.Inode, dir *inode, name string) {
	c, ok := child.(*inode)
	if !ok {
		return
	}
	c.mu.Lock()
	if c.attr.NLink > 0 {
		c.attr.NLink--
	}
	if c.isDir() {
		c.attr.NLink = 0
	}
	c.stale = true
	gone := c.attr.NLink == 0
	if c.parent == dir && c.name == name {
		// The name getFile would walk is gone; a new file may take it.
		c.gone = true
	}
	c.mu.Unlock()
	if gone {
		c.fs.untrack(c)
	}
}

// Unlink implements vfs.DirectoryInode.Unlink with Tunlinkat.
func (i *inode) Unlink(_ context.Context, name string, child vfs.Inode) error {
	if !i.isDir() {
		return unix.ENOTDIR
	}
	df, err := i.getFile()
	if err != nil {
		return err
	}
	if err := df.UnlinkAt(name, 0); err != nil {
		i.invalidate()
		return errno(err)
	}
	i.dirChanged(name, false)
	removed(child, i, name)
	return nil
}

// Rmdir implements vfs.DirectoryInode.Rmdir with Tunlinkat(AT_REMOVEDIR).
func (i *inode) Rmdir(_ context.Context, name string, child vfs.Inode) error {
	if !i.isDir() {
		return unix.ENOTDIR
	}
	df, err := i.getFile()
	if err != nil {
		return err
	}
	if err := df.UnlinkAt(name, p9.UnlinkRemoveDir); err != nil {
		i.invalidate()
		return errno(err)
	}
	i.dirChanged(name, false)
	removed(child, i, name)
	return nil
}

// Rename implements vfs.DirectoryInode.Rename with Trenameat. 9P has no
// renameat2 flags: RENAME_NOREPLACE relies on the VFS's check (the Sentry
// is the only writer) and RENAME_EXCHANGE is not supported (EINVAL, as
// Linux answers for a filesystem without it).
func (i *inode) Rename(_ context.Context, oldName string, child vfs.Inode, newDir vfs.DirectoryInode, newName string, replaced vfs.Inode, flags uint32) error {
	if !i.isDir() {
		return unix.ENOTDIR
	}
	if flags&linux.RENAME_EXCHANGE != 0 {
		return unix.EINVAL
	}
	nd, err := i.other(newDir)
	if err != nil {
		return err
	}
	df, err := i.getFile()
	if err != nil {
		return err
	}
	ndf, err := nd.getFile()
	if err != nil {
		return err
	}
	if err := df.RenameAt(oldName, ndf, newName); err != nil {
		i.invalidate()
		nd.invalidate()
		return errno(err)
	}
	i.dirChanged(oldName, false)
	nd.dirChanged(newName, true)
	if c, ok := child.(*inode); ok {
		c.mu.Lock()
		c.stale = true // ctime; ".." of a moved directory.
		if c.parent != nil {
			c.parent, c.name = nd, newName
		}
		c.mu.Unlock()
	}
	if replaced != nil {
		removed(replaced, nd, newName)
	}
	return nil
}

// dirFD is an open directory: an opened fid read with Treaddir. The last
// batch of entries is kept, so getdents calls with small buffers do not
// ask the Gofer for the same entries again.
type dirFD struct {
	vfs.FileDescriptionDefaultImpl
	inode *inode
	file  *p9.ClientFile

	// mu guards batch and batchOff: the entries the Gofer returned for
	// the cookie batchOff.
	mu       sync.Mutex
	batch    []p9.Dirent
	batchOff int64
}

// Release implements vfs.FileDescriptionImpl.Release.
func (fd *dirFD) Release(context.Context) { fd.inode.fs.queueClunk(fd.file) }

// PRead implements vfs.FileDescriptionImpl.PRead.
func (fd *dirFD) PRead(context.Context, vfs.IOSequence, int64) (int64, error) {
	return 0, unix.EISDIR
}

// PWrite implements vfs.FileDescriptionImpl.PWrite.
func (fd *dirFD) PWrite(context.Context, vfs.IOSequence, int64, bool) (int64, int64, error) {
	return 0, 0, unix.EISDIR
}

// Allocate implements vfs.FileDescriptionImpl.Allocate.
func (fd *dirFD) Allocate(context.Context, uint32, uint64, uint64) error { return unix.EISDIR }

// Sync implements vfs.FileDescriptionImpl.Sync.
func (fd *dirFD) Sync(context.Context) error { return errno(fd.file.FSync(false)) }

// Seek implements vfs.FileDescriptionImpl.Seek: directory offsets are the
// Gofer's cookies, so only SEEK_SET and SEEK_CUR make sense.
func (fd *dirFD) Seek(_ context.Context, cur, offset int64, whence int32) (int64, error) {
	switch whence {
	case linux.SEEK_SET:
	case linux.SEEK_CUR:
		offset += cur
	default:
		return 0, unix.EINVAL
	}
	if offset < 0 {
		return 0, unix.EINVAL
	}
	return offset, nil
}

// entriesAt returns the directory's entries from cookie off: from the kept
// batch if off is one of its positions, else from one Treaddir.
func (fd *dirFD) entriesAt(off int64) ([]p9.Dirent, error) {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	if fd.batch != nil {
		if off == fd.batchOff {
			return fd.batch, nil
		}
		for k, e := range fd.batch {
			if int64(e.Offset) == off {
				return fd.batch[k+1:], nil
			}
		}
	}
	ents, err := fd.file.Readdir(uint64(off), fd.inode.fs.client.Msize())
	if err != nil {
		return nil, errno(err)
	}
	fd.batch, fd.batchOff = ents, off
	return ents, nil
}

// IterDirents implements vfs.FileDescriptionImpl.IterDirents. Inode
// numbers are QID paths, as stat reports them. Entries with names a Linux
// directory cannot hold, and cookies that do not move forward, are a
// broken Gofer's: EIO.
func (fd *dirFD) IterDirents(_ context.Context, off int64, cb vfs.IterDirentsCallback) (int64, error) {
	for {
		ents, err := fd.entriesAt(off)
		if err != nil {
			return off, err
		}
		if len(ents) == 0 {
			return off, nil
		}
		for _, e := range ents {
			next := int64(e.Offset)
			if next <= 0 || next == off || e.Name == "" || len(e.Name) > linux.NAME_MAX || strings.ContainsAny(e.Name, "/\x00") {
				return off, unix.EIO
			}
			if err := cb(vfs.Dirent{Name: e.Name, Type: e.Type, Ino: e.QID.Path, NextOff: next}); err != nil {
				return off, err
			}
			off = next
		}
	}
}
