package overlay

import (
	"context"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// upperDir returns the upper part of directory i, which must exist.
func (i *inode) upperDir() vfs.DirectoryInode {
	return i.upperInode().(vfs.DirectoryInode)
}

// lowerDir returns the lower part of directory i, or nil.
func (i *inode) lowerDir() vfs.DirectoryInode {
	if i.lower == nil {
		return nil
	}
	d, _ := i.lower.(vfs.DirectoryInode)
	return d
}

// lowerHas reports whether the lower part of directory i has name, i.e.
// whether removing or moving name in upper must leave a whiteout.
func (i *inode) lowerHas(ctx context.Context, name string) bool {
	ld := i.lowerDir()
	if ld == nil {
		return false
	}
	_, err := ld.Lookup(ctx, name)
	return err == nil
}

// Lookup implements vfs.DirectoryInode.Lookup.
func (i *inode) Lookup(ctx context.Context, name string) (vfs.Inode, error) {
	if !i.isDir() {
		return nil, unix.ENOTDIR
	}
	i.dirMu.RLock()
	defer i.dirMu.RUnlock()
	if i.isRemoved() {
		return nil, unix.ENOENT
	}
	if u := i.upperInode(); u != nil {
		c, err := u.(vfs.DirectoryInode).Lookup(ctx, name)
		if err == nil {
			if isWhiteout(ctx, c) {
				return nil, unix.ENOENT
			}
			var l vfs.Inode
			if ld := i.lowerDir(); ld != nil && c.Attr().IsDir() && !isOpaque(ctx, c) {
				if lc, err := ld.Lookup(ctx, name); err == nil && lc.Attr().IsDir() {
					l = lc
				}
			}
			return i.fs.newUpperInode(ctx, i, name, c, l), nil
		}
		if err != unix.ENOENT {
			return nil, err
		}
	}
	ld := i.lowerDir()
	if ld == nil {
		return nil, unix.ENOENT
	}
	lc, err := ld.Lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	return i.fs.newLowerInode(i, name, lc), nil
}

// create adds a new upper file called name, made by mk in the directory
// it is given. Over a whiteout the file is made in work and renamed into
// place (a new directory there is opaque).
func (i *inode) create(ctx context.Context, name string, mk func(dir vfs.DirectoryInode, name string) (vfs.Inode, error)) (vfs.Inode, error) {
	if !i.isDir() {
		return nil, unix.ENOTDIR
	}
	if err := i.copyUp(ctx, -1); err != nil {
		return nil, err
	}
	i.dirMu.Lock()
	defer i.dirMu.Unlock()
	if i.isRemoved() {
		return nil, unix.ENOENT
	}
	ud := i.upperDir()
	wh, err := ud.Lookup(ctx, name)
	switch {
	case err == unix.ENOENT:
		c, err := mk(ud, name)
		if err != nil {
			return nil, err
		}
		return i.fs.newUpperInode(ctx, i, name, c, nil), nil
	case err != nil:
		return nil, err
	case !isWhiteout(ctx, wh):
		return nil, unix.EEXIST
	}
	fs := i.fs
	tmp := fs.workName()
	c, err := mk(fs.work, tmp)
	if err != nil {
		return nil, err
	}
	if !c.Attr().IsDir() {
		// Replacing the whiteout is one atomic rename.
		if err := fs.work.Rename(ctx, tmp, c, ud, name, wh, 0); err != nil {
			fs.dropWork(ctx, tmp)
			return nil, err
		}
		return fs.newUpperInode(ctx, i, name, c, nil), nil
	}
	if err := c.SetXattr(ctx, xattrOpaque, "y", 0); err != nil {
		fs.dropWork(ctx, tmp)
		return nil, err
	}
	if err := ud.Unlink(ctx, name, wh); err != nil {
		fs.dropWork(ctx, tmp)
		return nil, err
	}
	if err := fs.work.Rename(ctx, tmp, c, ud, name, nil, 0); err != nil {
		fs.dropWork(ctx, tmp)
		_, _ = ud.Mknod(ctx, name, vfs.CreateAttr{Mode: linux.S_IFCHR})
		return nil, err
	}
	return fs.newUpperInode(ctx, i, name, c, nil), nil
}

// Create implements vfs.DirectoryInode.Create.
func (i *inode) Create(ctx context.Context, name string, attr vfs.CreateAttr) (vfs.Inode, error) {
	return i.create(ctx, name, func(d vfs.DirectoryInode, n string) (vfs.Inode, error) { return d.Create(ctx, n, attr) })
}

// Mkdir implements vfs.DirectoryInode.Mkdir.
func (i *inode) Mkdir(ctx context.Context, name string, attr vfs.CreateAttr) (vfs.Inode, error) {
	return i.create(ctx, name, func(d vfs.DirectoryInode, n string) (vfs.Inode, error) { return d.Mkdir(ctx, n, attr) })
}

// Mknod implements vfs.DirectoryInode.Mknod. A 0/0 character device is
// refused with EPERM: in upper it would be a whiteout.
func (i *inode) Mknod(ctx context.Context, name string, attr vfs.CreateAttr) (vfs.Inode, error) {
	if attr.Mode&linux.S_IFMT == linux.S_IFCHR && attr.Dev == 0 {
		return nil, unix.EPERM
	}
	return i.create(ctx, name, func(d vfs.DirectoryInode, n string) (vfs.Inode, error) { return d.Mknod(ctx, n, attr) })
}

// Symlink implements vfs.DirectoryInode.Symlink.
func (i *inode) Symlink(ctx context.Context, name, target string, attr vfs.CreateAttr) (vfs.Inode, error) {
	return i.create(ctx, name, func(d vfs.DirectoryInode, n string) (vfs.Inode, error) { return d.Symlink(ctx, n, target, attr) })
}

// Link implements vfs.DirectoryInode.Link: the target is copied up and
// linked in upper.
func (i *inode) Link(ctx context.Context, name string, target vfs.Inode) error {
	if !i.isDir() {
		return unix.ENOTDIR
	}
	t, ok := target.(*inode)
	if !ok || t.fs != i.fs {
		return unix.EXDEV
	}
	if t.isDir() {
		return unix.EPERM
	}
	if err := t.copyUp(ctx, -1); err != nil {
		return err
	}
	if err := i.copyUp(ctx, -1); err != nil {
		return err
	}
	i.dirMu.Lock()
	defer i.dirMu.Unlock()
	if i.isRemoved() {
		return unix.ENOENT
	}
	ud, tu := i.upperDir(), t.upperInode()
	wh, err := ud.Lookup(ctx, name)
	switch {
	case err == unix.ENOENT:
		return ud.Link(ctx, name, tu)
	case err != nil:
		return err
	case !isWhiteout(ctx, wh):
		return unix.EEXIST
	}
	fs := i.fs
	tmp := fs.workName()
	if err := fs.work.Link(ctx, tmp, tu); err != nil {
		return err
	}
	if err := fs.work.Rename(ctx, tmp, tu, ud, name, wh, 0); err != nil {
		fs.dropWork(ctx, tmp)
		return err
	}
	return nil
}

// removeEntry removes name (whose upper part is u, or nil if it only
// exists in lower) from i's upper directory, leaving a whiteout if lower
// has the name. i.dirMu is held and i has an upper part. prepare, if not
// nil, runs once every step that can fail for lack of space is done, just
// before the upper entry goes.
func (i *inode) removeEntry(ctx context.Context, name string, u vfs.Inode, isDir bool, prepare func() error) error {
	ud := i.upperDir()
	fs := i.fs
	needWhiteout := i.lowerHas(ctx, name)
	if u == nil {
		if !needWhiteout {
			return unix.ENOENT
		}
		_, err := ud.Mknod(ctx, name, vfs.CreateAttr{Mode: linux.S_IFCHR})
		return err
	}
	if !needWhiteout {
		if prepare != nil {
			if err := prepare(); err != nil {
				return err
			}
		}
		if isDir {
			return ud.Rmdir(ctx, name, u)
		}
		return ud.Unlink(ctx, name, u)
	}
	tmp, err := fs.newWhiteout(ctx)
	if err != nil {
		return err
	}
	if prepare != nil {
		if err := prepare(); err != nil {
			fs.dropWork(ctx, tmp)
			return err
		}
	}
	if !isDir {
		// One rename replaces the file with the whiteout.
		wh, err := fs.work.Lookup(ctx, tmp)
		if err == nil {
			err = fs.work.Rename(ctx, tmp, wh, ud, name, u, 0)
		}
		if err != nil {
			fs.dropWork(ctx, tmp)
		}
		return err
	}
	if err := ud.Rmdir(ctx, name, u); err != nil {
		fs.dropWork(ctx, tmp)
		return err
	}
	return fs.moveFromWork(ctx, tmp, ud, name)
}

// Unlink implements vfs.DirectoryInode.Unlink.
func (i *inode) Unlink(ctx context.Context, name string, child vfs.Inode) error {
	if !i.isDir() {
		return unix.ENOTDIR
	}
	c, ok := child.(*inode)
	if !ok {
		return unix.EXDEV
	}
	if err := i.copyUp(ctx, -1); err != nil {
		return err
	}
	i.dirMu.Lock()
	defer i.dirMu.Unlock()
	if err := i.removeEntry(ctx, name, c.upperInode(), false, nil); err != nil {
		return err
	}
	if c.upperInode() == nil {
		c.setRemoved()
	}
	return nil
}

// Rmdir implements vfs.DirectoryInode.Rmdir: the directory must be empty
// as the overlay shows it; whiteouts in its upper part are deleted.
func (i *inode) Rmdir(ctx context.Context, name string, child vfs.Inode) error {
	if !i.isDir() {
		return unix.ENOTDIR
	}
	c, ok := child.(*inode)
	if !ok {
		return unix.EXDEV
	}
	if !c.isDir() {
		return unix.ENOTDIR
	}
	if err := i.copyUp(ctx, -1); err != nil {
		return err
	}
	i.dirMu.Lock()
	defer i.dirMu.Unlock()
	c.dirMu.Lock()
	defer c.dirMu.Unlock()
	if err := c.checkEmptyLocked(ctx); err != nil {
		return err
	}
	if err := i.removeEntry(ctx, name, c.upperInode(), true, func() error { return c.clearWhiteoutsLocked(ctx) }); err != nil {
		return err
	}
	c.setRemoved()
	return nil
}

// checkEmptyLocked returns ENOTEMPTY unless directory i shows no
// entries. i.dirMu is held.
func (i *inode) checkEmptyLocked(ctx context.Context) error {
	ents, err := i.mergedEntriesLocked(ctx)
	if err != nil {
		return err
	}
	if len(ents) != 0 {
		return unix.ENOTEMPTY
	}
	return nil
}

// clearWhiteoutsLocked deletes the whiteouts in the upper part of
// directory i, which checkEmptyLocked found empty, so that the upper
// directory can be removed. i.dirMu is held.
func (i *inode) clearWhiteoutsLocked(ctx context.Context) error {
	if u := i.upperInode(); u != nil {
		return clearDir(ctx, u.(vfs.DirectoryInode))
	}
	return nil
}

// Rename implements vfs.DirectoryInode.Rename. Directories with a lower
// part fail with EXDEV (no redirect_dir); non-directories are copied up
// first.
func (i *inode) Rename(ctx context.Context, oldName string, child vfs.Inode, newDir vfs.DirectoryInode, newName string, replaced vfs.Inode, flags uint32) error {
	if !i.isDir() {
		return unix.ENOTDIR
	}
	c, ok := child.(*inode)
	nd, ok2 := newDir.(*inode)
	if !ok || !ok2 || nd.fs != i.fs || !nd.isDir() {
		return unix.EXDEV
	}
	var r *inode
	if replaced != nil {
		if r, ok = replaced.(*inode); !ok {
			return unix.EXDEV
		}
	}
	exchange := flags&linux.RENAME_EXCHANGE != 0
	if exchange && r == nil {
		return unix.ENOENT
	}
	if c.isDir() && c.lower != nil {
		return unix.EXDEV
	}
	if exchange && r.isDir() && r.lower != nil {
		return unix.EXDEV
	}
	if err := c.copyUp(ctx, -1); err != nil {
		return err
	}
	if exchange {
		if err := r.copyUp(ctx, -1); err != nil {
			return err
		}
	}
	if err := i.copyUp(ctx, -1); err != nil {
		return err
	}
	if err := nd.copyUp(ctx, -1); err != nil {
		return err
	}
	i.dirMu.Lock()
	defer i.dirMu.Unlock()
	if nd != i {
		nd.dirMu.Lock()
		defer nd.dirMu.Unlock()
	}
	if i.isRemoved() || nd.isRemoved() {
		return unix.ENOENT
	}
	fs := i.fs
	oud, nud := i.upperDir(), nd.upperDir()
	cu := c.upperInode()

	var upperReplaced vfs.Inode
	if r != nil {
		upperReplaced = r.upperInode()
		if !exchange && r.isDir() {
			// r stays locked until the rename is done, so it stays
			// empty between the check and the removal of its
			// whiteouts.
			r.dirMu.Lock()
			defer r.dirMu.Unlock()
			if err := r.checkEmptyLocked(ctx); err != nil {
				return err
			}
		}
	}
	// A whiteout at newName is removed first (a directory cannot replace
	// it, and RENAME_NOREPLACE must not see it); it is restored if the
	// rename fails.
	var whiteoutRemoved bool
	if r == nil {
		if wh, err := nud.Lookup(ctx, newName); err == nil && isWhiteout(ctx, wh) {
			if err := nud.Unlink(ctx, newName, wh); err != nil {
				return err
			}
			whiteoutRemoved = true
		}
	}
	restore := func() {
		if whiteoutRemoved {
			_, _ = nud.Mknod(ctx, newName, vfs.CreateAttr{Mode: linux.S_IFCHR})
		}
	}
	// Leaving oldName would uncover lower's entry: prepare a whiteout.
	var tmpWhiteout string
	if !exchange && i.lowerHas(ctx, oldName) {
		var err error
		if tmpWhiteout, err = fs.newWhiteout(ctx); err != nil {
			restore()
			return err
		}
	}
	// A directory landing on a name lower knows must hide lower there.
	var madeOpaque []vfs.Inode
	setOpaque := func(u vfs.Inode) error {
		if isOpaque(ctx, u) {
			return nil
		}
		if err := u.SetXattr(ctx, xattrOpaque, "y", 0); err != nil {
			return err
		}
		madeOpaque = append(madeOpaque, u)
		return nil
	}
	fail := func(err error) error {
		for _, u := range madeOpaque {
			_ = u.RemoveXattr(ctx, xattrOpaque)
		}
		if tmpWhiteout != "" {
			fs.dropWork(ctx, tmpWhiteout)
		}
		restore()
		return err
	}
	if c.isDir() && nd.lowerHas(ctx, newName) {
		if err := setOpaque(cu); err != nil {
			return fail(err)
		}
	}
	if exchange && r.isDir() && i.lowerHas(ctx, oldName) {
		if err := setOpaque(upperReplaced); err != nil {
			return fail(err)
		}
	}
	if r != nil && !exchange && r.isDir() {
		if err := r.clearWhiteoutsLocked(ctx); err != nil {
			return fail(err)
		}
	}
	if err := oud.Rename(ctx, oldName, cu, nud, newName, upperReplaced, flags); err != nil {
		return fail(err)
	}
	if tmpWhiteout != "" {
		if err := fs.moveFromWork(ctx, tmpWhiteout, oud, oldName); err != nil {
			return err
		}
	}
	if c.isDir() {
		c.mu.Lock()
		c.parent, c.name = nd, newName
		c.mu.Unlock()
	}
	if r != nil {
		if exchange {
			if r.isDir() {
				r.mu.Lock()
				r.parent, r.name = i, oldName
				r.mu.Unlock()
			}
		} else if r.isDir() || r.upperInode() == nil {
			r.setRemoved()
		}
	}
	return nil
}
