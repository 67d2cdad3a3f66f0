package tmpfs

import (
	"context"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// dirent is one directory entry. cookie orders entries and is the
// directory offset at which the entry is reported.
type dirent struct {
	name   string
	inode  *inode
	cookie int64
}

// dirData is a directory's namespace, guarded by Filesystem.mu.
type dirData struct {
	entries map[string]*dirent
	// order holds entries sorted by cookie.
	order      []*dirent
	nextCookie int64
	// parent is the directory's parent (itself for the root).
	parent *inode
}

func (d *dirData) add(name string, i *inode) {
	e := &dirent{name: name, inode: i, cookie: d.nextCookie}
	d.nextCookie++
	d.entries[name] = e
	d.order = append(d.order, e)
}

func (d *dirData) remove(name string) *dirent {
	e := d.entries[name]
	if e == nil {
		return nil
	}
	delete(d.entries, name)
	k := sort.Search(len(d.order), func(j int) bool { return d.order[j].cookie >= e.cookie })
	d.order = append(d.order[:k], d.order[k+1:]...)
	return e
}

// asDir returns i's directory data or ENOTDIR.
func (i *inode) asDir() (*dirData, error) {
	if i.dir == nil {
		return nil, unix.ENOTDIR
	}
	return i.dir, nil
}

// Lookup implements vfs.DirectoryInode.Lookup.
func (i *inode) Lookup(_ context.Context, name string) (vfs.Inode, error) {
	d, err := i.asDir()
	if err != nil {
		return nil, err
	}
	i.fs.mu.RLock()
	defer i.fs.mu.RUnlock()
	e := d.entries[name]
	if e == nil {
		return nil, unix.ENOENT
	}
	return e.inode, nil
}

// create links a new inode into i. fs.mu is taken here.
func (i *inode) create(name string, attr vfs.CreateAttr, target string) (*inode, error) {
	d, err := i.asDir()
	if err != nil {
		return nil, err
	}
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	if i.nlink == 0 {
		return nil, unix.ENOENT // the directory was removed.
	}
	if _, ok := d.entries[name]; ok {
		return nil, unix.EEXIST
	}
	if !i.fs.reserveInode() {
		return nil, unix.ENOSPC
	}
	c := i.fs.newInode(attr)
	c.target = target
	if c.dir != nil {
		c.dir.parent = i
		i.nlink++
	}
	d.add(name, c)
	i.touchCMTime()
	return c, nil
}

// Create implements vfs.DirectoryInode.Create.
func (i *inode) Create(_ context.Context, name string, attr vfs.CreateAttr) (vfs.Inode, error) {
	attr.Mode = linux.S_IFREG | attr.Mode&0o7777
	return i.create(name, attr, "")
}

// Mkdir implements vfs.DirectoryInode.Mkdir.
func (i *inode) Mkdir(_ context.Context, name string, attr vfs.CreateAttr) (vfs.Inode, error) {
	attr.Mode = linux.S_IFDIR | attr.Mode&0o7777
	return i.create(name, attr, "")
}

// Mknod implements vfs.DirectoryInode.Mknod.
func (i *inode) Mknod(_ context.Context, name string, attr vfs.CreateAttr) (vfs.Inode, error) {
	switch attr.Mode & linux.S_IFMT {
	case linux.S_IFREG, linux.S_IFIFO, linux.S_IFSOCK, linux.S_IFCHR, linux.S_IFBLK:
	default:
		return nil, unix.EINVAL
	}
	return i.create(name, attr, "")
}

// Symlink implements vfs.DirectoryInode.Symlink.
func (i *inode) Symlink(_ context.Context, name, target string, attr vfs.CreateAttr) (vfs.Inode, error) {
	attr.Mode = linux.S_IFLNK | 0o777
	return i.create(name, attr, target)
}

// Link implements vfs.DirectoryInode.Link.
func (i *inode) Link(_ context.Context, name string, target vfs.Inode) error {
	d, err := i.asDir()
	if err != nil {
		return err
	}
	t, ok := target.(*inode)
	if !ok || t.fs != i.fs {
		return unix.EXDEV
	}
	if t.dir != nil {
		return unix.EPERM
	}
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	if i.nlink == 0 {
		return unix.ENOENT
	}
	if _, ok := d.entries[name]; ok {
		return unix.EEXIST
	}
	if t.nlink == 0 {
		return unix.ENOENT
	}
	if t.nlink == ^uint32(0) {
		return unix.EMLINK
	}
	t.mu.Lock()
	t.nlink++
	t.mu.Unlock()
	d.add(name, t)
	i.touchCMTime()
	t.touchCTime()
	return nil
}

// dropLinkLocked decrements c's link count after its entry was removed
// (fs.mu held); a regular file's pages are freed once it is neither
// named nor open.
func (c *inode) dropLinkLocked() {
	c.mu.Lock()
	if c.dir != nil {
		c.nlink = 0
	} else if c.nlink > 0 {
		c.nlink--
	}
	c.ctime = c.fs.clock()
	c.maybeFreeLocked()
	c.mu.Unlock()
}

// Unlink implements vfs.DirectoryInode.Unlink.
func (i *inode) Unlink(_ context.Context, name string, child vfs.Inode) error {
	d, err := i.asDir()
	if err != nil {
		return err
	}
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	e := d.entries[name]
	if e == nil {
		return unix.ENOENT
	}
	if e.inode.dir != nil {
		return unix.EISDIR
	}
	d.remove(name)
	e.inode.dropLinkLocked()
	i.touchCMTime()
	return nil
}

// Rmdir implements vfs.DirectoryInode.Rmdir.
func (i *inode) Rmdir(_ context.Context, name string, child vfs.Inode) error {
	d, err := i.asDir()
	if err != nil {
		return err
	}
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	e := d.entries[name]
	if e == nil {
		return unix.ENOENT
	}
	if e.inode.dir == nil {
		return unix.ENOTDIR
	}
	if len(e.inode.dir.entries) != 0 {
		return unix.ENOTEMPTY
	}
	d.remove(name)
	e.inode.dropLinkLocked()
	i.nlink--
	i.touchCMTime()
	return nil
}

// Rename implements vfs.DirectoryInode.Rename.
func (i *inode) Rename(_ context.Context, oldName string, child vfs.Inode, newDir vfs.DirectoryInode, newName string, replaced vfs.Inode, flags uint32) error {
	od, err := i.asDir()
	if err != nil {
		return err
	}
	np, ok := newDir.(*inode)
	if !ok || np.fs != i.fs {
		return unix.EXDEV
	}
	nd, err := np.asDir()
	if err != nil {
		return err
	}
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	oe := od.entries[oldName]
	if oe == nil {
		return unix.ENOENT
	}
	ne := nd.entries[newName]
	c := oe.inode
	if flags&linux.RENAME_EXCHANGE != 0 {
		if ne == nil {
			return unix.ENOENT
		}
		r := ne.inode
		od.remove(oldName)
		nd.remove(newName)
		od.add(oldName, r)
		nd.add(newName, c)
		if i != np {
			if c.dir != nil {
				c.dir.parent = np
				i.nlink--
				np.nlink++
			}
			if r.dir != nil {
				r.dir.parent = i
				np.nlink--
				i.nlink++
			}
		}
		c.touchCTime()
		r.touchCTime()
		i.touchCMTime()
		np.touchCMTime()
		return nil
	}
	if ne != nil {
		if flags&linux.RENAME_NOREPLACE != 0 {
			return unix.EEXIST
		}
		r := ne.inode
		if r.dir != nil {
			if c.dir == nil {
				return unix.EISDIR
			}
			if len(r.dir.entries) != 0 {
				return unix.ENOTEMPTY
			}
			np.nlink--
		} else if c.dir != nil {
			return unix.ENOTDIR
		}
		nd.remove(newName)
		r.dropLinkLocked()
	}
	od.remove(oldName)
	nd.add(newName, c)
	if c.dir != nil && i != np {
		c.dir.parent = np
		i.nlink--
		np.nlink++
	}
	c.touchCTime()
	i.touchCMTime()
	if np != i {
		np.touchCMTime()
	}
	return nil
}

// dirFD is an open directory.
type dirFD struct {
	vfs.FileDescriptionDefaultImpl
	inode *inode
}

// Read implements vfs.FileDescriptionImpl.Read.
func (fd *dirFD) PRead(context.Context, vfs.IOSequence, int64) (int64, error) {
	return 0, unix.EISDIR
}

// PWrite implements vfs.FileDescriptionImpl.PWrite.
func (fd *dirFD) PWrite(context.Context, vfs.IOSequence, int64, bool) (int64, int64, error) {
	return 0, 0, unix.EISDIR
}

// Seek implements vfs.FileDescriptionImpl.Seek: directory offsets are
// cookies, only SEEK_SET and SEEK_CUR make sense.
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

// Allocate implements vfs.FileDescriptionImpl.Allocate.
func (fd *dirFD) Allocate(context.Context, uint32, uint64, uint64) error { return unix.EISDIR }

// direntBatch is how many entries IterDirents copies under fs.mu at a
// time, so a large directory read in small getdents calls costs O(batch)
// per call, not O(directory).
const direntBatch = 128

// IterDirents implements vfs.FileDescriptionImpl.IterDirents.
func (fd *dirFD) IterDirents(_ context.Context, off int64, cb vfs.IterDirentsCallback) (int64, error) {
	i := fd.inode
	fs := i.fs
	defer i.touchATime()
	if off == 0 {
		if err := cb(vfs.Dirent{Name: ".", Type: linux.DT_DIR, Ino: i.ino, NextOff: 1}); err != nil {
			return off, err
		}
		off = 1
	}
	if off == 1 {
		fs.mu.RLock()
		parent := i.dir.parent
		fs.mu.RUnlock()
		if err := cb(vfs.Dirent{Name: "..", Type: linux.DT_DIR, Ino: parent.ino, NextOff: 2}); err != nil {
			return off, err
		}
		off = 2
	}
	batch := make([]dirent, 0, direntBatch)
	for {
		// Copy the next entries at or after off so that cb runs without
		// fs.mu (it may copy to guest memory).
		batch = batch[:0]
		fs.mu.RLock()
		order := i.dir.order
		k := sort.Search(len(order), func(j int) bool { return order[j].cookie >= off })
		for _, e := range order[k:min(k+direntBatch, len(order))] {
			batch = append(batch, *e)
		}
		fs.mu.RUnlock()
		if len(batch) == 0 {
			return off, nil
		}
		for _, e := range batch {
			c := e.inode
			if err := cb(vfs.Dirent{Name: e.name, Type: linux.FileTypeToDirentType(c.Attr().Mode), Ino: c.ino, NextOff: e.cookie + 1}); err != nil {
				return off, err
			}
			off = e.cookie + 1
		}
	}
}
