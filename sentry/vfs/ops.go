package vfs

import (
	"context"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

// This file holds the path-based operations: each resolves its path
// under treeMu, checks the generic rules and calls the filesystem.

func statVD(ctx context.Context, vd VirtualDentry, mask uint32) (linux.Statx, error) {
	st, err := vd.Dentry.inode.Stat(ctx, mask)
	if err != nil {
		return st, err
	}
	st.DevMajor, st.DevMinor = vd.Dentry.fs.Dev()
	st.MntID = vd.Mount.id
	st.Mask |= linux.STATX_MNT_ID
	return st, nil
}

func setStatVD(ctx context.Context, creds *Credentials, vd VirtualDentry, opts *SetStatOptions, checkWrite bool) error {
	if vd.Mount.Flags().ReadOnly {
		return unix.EROFS
	}
	a := vd.Dentry.inode.Attr()
	if err := CheckSetStat(creds, opts, a.Mode, a.UID, a.GID, checkWrite); err != nil {
		return err
	}
	if opts.Stat.Mask == 0 {
		return nil
	}
	return vd.Dentry.inode.SetStat(ctx, opts)
}

// getVD resolves pop to the file it names, with a reference.
func (v *VirtualFilesystem) getVD(ctx context.Context, creds *Credentials, pop *PathOperation) (VirtualDentry, error) {
	v.treeMu.RLock()
	defer v.treeMu.RUnlock()
	return v.getVDLocked(ctx, creds, pop)
}

func (v *VirtualFilesystem) getVDLocked(ctx context.Context, creds *Credentials, pop *PathOperation) (VirtualDentry, error) {
	r, err := v.newResolver(ctx, creds, pop)
	if err != nil {
		return VirtualDentry{}, err
	}
	defer r.release()
	if err := r.resolveLast(pop.FollowFinalSymlink); err != nil {
		return VirtualDentry{}, err
	}
	return r.takeCur(), nil
}

// GetDentryAt resolves pop to a directory, checking search permission on
// it (chdir(2), chroot(2)): ENOTDIR if it is not one.
func (v *VirtualFilesystem) GetDentryAt(ctx context.Context, creds *Credentials, pop *PathOperation) (VirtualDentry, error) {
	vd, err := v.getVD(ctx, creds, pop)
	if err != nil {
		return vd, err
	}
	a := vd.Dentry.inode.Attr()
	if !a.IsDir() {
		vd.DecRef()
		return VirtualDentry{}, unix.ENOTDIR
	}
	if err := GenericCheckPermissions(creds, MayExec, a.Mode, a.UID, a.GID); err != nil {
		vd.DecRef()
		return VirtualDentry{}, err
	}
	v.evict()
	return vd, nil
}

// GetFileAt resolves pop with a reference and no checks on the final
// file (for callers such as bind mounts and inotify).
func (v *VirtualFilesystem) GetFileAt(ctx context.Context, creds *Credentials, pop *PathOperation) (VirtualDentry, error) {
	vd, err := v.getVD(ctx, creds, pop)
	v.evict()
	return vd, err
}

// evict trims the dentry cache after an operation.
func (v *VirtualFilesystem) evict() {
	v.lruMu.Lock()
	over := v.lru.Len() > v.lruCap
	v.lruMu.Unlock()
	if over {
		v.treeMu.RLock()
		v.evictLocked()
		v.treeMu.RUnlock()
	}
}

// AccessAt implements access(2)/faccessat2(2): ats is the mode's R/W/X
// bits. A write check on a read-only mount fails with EROFS.
func (v *VirtualFilesystem) AccessAt(ctx context.Context, creds *Credentials, pop *PathOperation, ats AccessTypes) error {
	vd, err := v.getVD(ctx, creds, pop)
	if err != nil {
		return err
	}
	defer vd.DecRef()
	defer v.evict()
	a := vd.Dentry.inode.Attr()
	if ats&MayWrite != 0 && vd.Mount.Flags().ReadOnly && !a.IsSymlink() && (a.IsDir() || a.IsRegular()) {
		return unix.EROFS
	}
	return GenericCheckPermissions(creds, ats, a.Mode, a.UID, a.GID)
}

// StatAt implements stat(2)/lstat(2)/fstatat(2)/statx(2).
func (v *VirtualFilesystem) StatAt(ctx context.Context, creds *Credentials, pop *PathOperation, mask uint32) (linux.Statx, error) {
	vd, err := v.getVD(ctx, creds, pop)
	if err != nil {
		return linux.Statx{}, err
	}
	defer vd.DecRef()
	defer v.evict()
	return statVD(ctx, vd, mask)
}

// SetStatAt implements chmod/chown/lchown/truncate/utimensat by path.
func (v *VirtualFilesystem) SetStatAt(ctx context.Context, creds *Credentials, pop *PathOperation, opts SetStatOptions) error {
	vd, err := v.getVD(ctx, creds, pop)
	if err != nil {
		return err
	}
	defer vd.DecRef()
	defer v.evict()
	return setStatVD(ctx, creds, vd, &opts, true)
}

// StatFSAt implements statfs(2).
func (v *VirtualFilesystem) StatFSAt(ctx context.Context, creds *Credentials, pop *PathOperation) (linux.Statfs, error) {
	vd, err := v.getVD(ctx, creds, pop)
	if err != nil {
		return linux.Statfs{}, err
	}
	defer vd.DecRef()
	defer v.evict()
	return vd.Dentry.fs.impl.StatFS(ctx)
}

// ReadlinkAt implements readlink(2)/readlinkat(2): EINVAL if the file is
// not a symlink.
func (v *VirtualFilesystem) ReadlinkAt(ctx context.Context, creds *Credentials, pop *PathOperation) (string, error) {
	p := *pop
	p.FollowFinalSymlink = false
	vd, err := v.getVD(ctx, creds, &p)
	if err != nil {
		return "", err
	}
	defer vd.DecRef()
	defer v.evict()
	sl, ok := vd.Dentry.inode.(SymlinkInode)
	if !ok || !vd.Dentry.inode.Attr().IsSymlink() {
		return "", unix.EINVAL
	}
	return sl.Readlink(ctx)
}

// parentOp resolves pop's parent for a create or remove: fn runs with
// treeMu held (read or write, per write) with the parent directory, the
// final name and whether the path had a trailing slash.
func (v *VirtualFilesystem) parentOp(ctx context.Context, creds *Credentials, pop *PathOperation, write bool, fn func(parent VirtualDentry, name string, mustBeDir bool) error) error {
	if write {
		v.treeMu.Lock()
	} else {
		v.treeMu.RLock()
	}
	err := func() error {
		r, err := v.newResolver(ctx, creds, pop)
		if err != nil {
			return err
		}
		defer r.release()
		if err := r.resolveParent(); err != nil {
			return err
		}
		return fn(r.cur, r.last, r.mustBeDir)
	}()
	if write {
		v.treeMu.Unlock()
	} else {
		v.treeMu.RUnlock()
	}
	v.evict()
	return err
}

// checkCreate checks that creds may add an entry to dir.
func checkCreate(creds *Credentials, dir VirtualDentry) error {
	a := dir.Dentry.inode.Attr()
	if !a.IsDir() {
		return unix.ENOTDIR
	}
	if err := GenericCheckPermissions(creds, MayWrite|MayExec, a.Mode, a.UID, a.GID); err != nil {
		return err
	}
	if dir.Mount.Flags().ReadOnly {
		return unix.EROFS
	}
	if dir.Dentry.dead.Load() {
		return unix.ENOENT
	}
	return nil
}

// checkDelete checks that creds may remove child from dir (may_delete).
func checkDelete(creds *Credentials, dir VirtualDentry, child *Dentry) error {
	if err := checkCreate(creds, dir); err != nil {
		return err
	}
	da := dir.Dentry.inode.Attr()
	return CheckDeleteSticky(creds, da.Mode, da.UID, child.inode.Attr().UID)
}

// newAttr computes the identity of a new file in dir: owned by the
// caller's fsuid, and by the directory's group if the directory is
// set-group-ID (new directories then inherit the bit).
func newAttr(creds *Credentials, dir *Dentry, mode uint32) CreateAttr {
	da := dir.inode.Attr()
	attr := CreateAttr{Mode: mode, UID: creds.FSUID, GID: creds.FSGID}
	if da.Mode&linux.S_ISGID != 0 {
		attr.GID = da.GID
		if mode&linux.S_IFMT == linux.S_IFDIR {
			attr.Mode |= linux.S_ISGID
		}
	}
	return attr
}

// lookupExisting returns parent's child name or nil if it does not
// exist; other errors are returned.
func (v *VirtualFilesystem) lookupExisting(ctx context.Context, parent *Dentry, name string) (*Dentry, error) {
	d, err := v.lookupChild(ctx, parent, name)
	if err == unix.ENOENT {
		return nil, nil
	}
	return d, err
}

func dirInode(d *Dentry) (DirectoryInode, error) {
	dir, ok := d.inode.(DirectoryInode)
	if !ok {
		return nil, unix.ENOTDIR
	}
	return dir, nil
}

// mkCommon is the shared part of mkdir, mknod and symlink.
func (v *VirtualFilesystem) mkCommon(ctx context.Context, creds *Credentials, pop *PathOperation, isDir bool, mk func(dir DirectoryInode, name string, parent *Dentry) (Inode, error)) error {
	return v.parentOp(ctx, creds, pop, false, func(parent VirtualDentry, name string, mustBeDir bool) error {
		if name == "" || name == "." || name == ".." {
			return unix.EEXIST
		}
		if err := GenericCheckPermissions(creds, MayExec, parent.Dentry.inode.Attr().Mode, parent.Dentry.inode.Attr().UID, parent.Dentry.inode.Attr().GID); err != nil {
			return err
		}
		existing, err := v.lookupExisting(ctx, parent.Dentry, name)
		if err != nil {
			return err
		}
		if existing != nil {
			existing.DecRef()
			return unix.EEXIST
		}
		if mustBeDir && !isDir {
			return unix.ENOENT
		}
		if err := checkCreate(creds, parent); err != nil {
			return err
		}
		dir, err := dirInode(parent.Dentry)
		if err != nil {
			return err
		}
		inode, err := mk(dir, name, parent.Dentry)
		if err != nil {
			return err
		}
		parent.Dentry.insertChild(name, inode).DecRef()
		return nil
	})
}

// MkdirAt implements mkdir(2); mode has the umask applied.
func (v *VirtualFilesystem) MkdirAt(ctx context.Context, creds *Credentials, pop *PathOperation, mode uint32) error {
	return v.mkCommon(ctx, creds, pop, true, func(dir DirectoryInode, name string, parent *Dentry) (Inode, error) {
		return dir.Mkdir(ctx, name, newAttr(creds, parent, linux.S_IFDIR|mode&0o7777))
	})
}

// MknodAt implements mknod(2) for regular files (type 0 or S_IFREG),
// FIFOs, sockets and, with CAP_MKNOD, device nodes. dev is encoded as
// linux.MakeDev.
func (v *VirtualFilesystem) MknodAt(ctx context.Context, creds *Credentials, pop *PathOperation, mode uint32, dev uint64) error {
	switch mode & linux.S_IFMT {
	case 0:
		mode |= linux.S_IFREG
	case linux.S_IFREG, linux.S_IFIFO, linux.S_IFSOCK:
	case linux.S_IFCHR, linux.S_IFBLK:
		if !creds.HasCapability(unix.CAP_MKNOD) {
			return unix.EPERM
		}
	case linux.S_IFDIR:
		return unix.EPERM
	default:
		return unix.EINVAL
	}
	return v.mkCommon(ctx, creds, pop, false, func(dir DirectoryInode, name string, parent *Dentry) (Inode, error) {
		attr := newAttr(creds, parent, mode&(linux.S_IFMT|0o7777))
		attr.Dev = dev
		return dir.Mknod(ctx, name, attr)
	})
}

// SymlinkAt implements symlink(2).
func (v *VirtualFilesystem) SymlinkAt(ctx context.Context, creds *Credentials, pop *PathOperation, target string) error {
	if target == "" {
		return unix.ENOENT
	}
	if len(target) >= linux.PATH_MAX {
		return unix.ENAMETOOLONG
	}
	return v.mkCommon(ctx, creds, pop, false, func(dir DirectoryInode, name string, parent *Dentry) (Inode, error) {
		return dir.Symlink(ctx, name, target, newAttr(creds, parent, linux.S_IFLNK|0o777))
	})
}

// LinkAt implements link(2)/linkat(2): oldpop names the existing file
// (FollowFinalSymlink per AT_SYMLINK_FOLLOW), newpop the new name.
func (v *VirtualFilesystem) LinkAt(ctx context.Context, creds *Credentials, oldpop, newpop *PathOperation) error {
	old, err := v.getVD(ctx, creds, oldpop)
	if err != nil {
		return err
	}
	defer old.DecRef()
	if old.Dentry.inode.Attr().IsDir() {
		return unix.EPERM
	}
	return v.parentOp(ctx, creds, newpop, false, func(parent VirtualDentry, name string, mustBeDir bool) error {
		if name == "" || name == "." || name == ".." {
			return unix.EEXIST
		}
		pa := parent.Dentry.inode.Attr()
		if err := GenericCheckPermissions(creds, MayExec, pa.Mode, pa.UID, pa.GID); err != nil {
			return err
		}
		existing, err := v.lookupExisting(ctx, parent.Dentry, name)
		if err != nil {
			return err
		}
		if existing != nil {
			existing.DecRef()
			return unix.EEXIST
		}
		if mustBeDir {
			return unix.ENOENT
		}
		if err := checkCreate(creds, parent); err != nil {
			return err
		}
		if parent.Mount != old.Mount {
			return unix.EXDEV
		}
		if old.Dentry.dead.Load() {
			// Linux refuses to link an unlinked file (nlink 0) with ENOENT.
			if st, err := old.Dentry.inode.Stat(ctx, linux.STATX_NLINK); err == nil && st.Nlink == 0 {
				return unix.ENOENT
			}
		}
		dir, err := dirInode(parent.Dentry)
		if err != nil {
			return err
		}
		if err := dir.Link(ctx, name, old.Dentry.inode); err != nil {
			return err
		}
		parent.Dentry.insertChild(name, old.Dentry.inode).DecRef()
		return nil
	})
}

// isMountpointOrRoot reports whether d is busy as a mount point or a
// mount root (EBUSY for removal). Caller holds treeMu.
func isMountpointOrRoot(vd VirtualDentry, d *Dentry) bool {
	return d.mounts != 0 || d == vd.Mount.root
}

// UnlinkAt implements unlink(2)/unlinkat(2) without AT_REMOVEDIR.
func (v *VirtualFilesystem) UnlinkAt(ctx context.Context, creds *Credentials, pop *PathOperation) error {
	return v.parentOp(ctx, creds, pop, true, func(parent VirtualDentry, name string, mustBeDir bool) error {
		if name == "" || name == "." || name == ".." {
			return unix.EISDIR
		}
		return v.removeLocked(ctx, creds, parent, name, func(child *Dentry) error {
			if child.inode.Attr().IsDir() {
				return unix.EISDIR
			}
			if mustBeDir {
				return unix.ENOTDIR
			}
			return nil
		}, DirectoryInode.Unlink)
	})
}

// RmdirAt implements rmdir(2)/unlinkat(2) with AT_REMOVEDIR.
func (v *VirtualFilesystem) RmdirAt(ctx context.Context, creds *Credentials, pop *PathOperation) error {
	return v.parentOp(ctx, creds, pop, true, func(parent VirtualDentry, name string, _ bool) error {
		switch name {
		case "":
			return unix.EBUSY
		case ".":
			return unix.EINVAL
		case "..":
			return unix.ENOTEMPTY
		}
		return v.removeLocked(ctx, creds, parent, name, func(child *Dentry) error {
			if !child.inode.Attr().IsDir() {
				return unix.ENOTDIR
			}
			return nil
		}, DirectoryInode.Rmdir)
	})
}

// removeLocked is the shared body of unlink and rmdir: search
// permission on parent, the child's type (checkType), sticky-bit and
// mount-point rules, then remove (the filesystem's Unlink or Rmdir) and
// drop the dentry. The caller holds treeMu for writing.
func (v *VirtualFilesystem) removeLocked(ctx context.Context, creds *Credentials, parent VirtualDentry, name string,
	checkType func(child *Dentry) error, remove func(dir DirectoryInode, ctx context.Context, name string, child Inode) error) error {
	pa := parent.Dentry.inode.Attr()
	if err := GenericCheckPermissions(creds, MayExec, pa.Mode, pa.UID, pa.GID); err != nil {
		return err
	}
	child, err := v.lookupChild(ctx, parent.Dentry, name)
	if err != nil {
		return err
	}
	defer child.DecRef()
	if err := checkType(child); err != nil {
		return err
	}
	if err := checkDelete(creds, parent, child); err != nil {
		return err
	}
	if isMountpointOrRoot(parent, child) {
		return unix.EBUSY
	}
	dir, err := dirInode(parent.Dentry)
	if err != nil {
		return err
	}
	if err := remove(dir, ctx, name, child.inode); err != nil {
		return err
	}
	v.removeChildLocked(parent.Dentry, child)
	return nil
}

// isAncestor reports whether a is d or an ancestor of d within one
// filesystem. Caller holds treeMu.
func isAncestor(a, d *Dentry) bool {
	for ; d != nil; d = d.parent {
		if d == a {
			return true
		}
	}
	return false
}

// RenameAt implements rename(2)/renameat2(2) with RENAME_NOREPLACE and
// RENAME_EXCHANGE.
func (v *VirtualFilesystem) RenameAt(ctx context.Context, creds *Credentials, oldpop, newpop *PathOperation, flags uint32) error {
	if flags&^uint32(linux.RENAME_NOREPLACE|linux.RENAME_EXCHANGE) != 0 {
		return unix.EINVAL
	}
	if flags&linux.RENAME_NOREPLACE != 0 && flags&linux.RENAME_EXCHANGE != 0 {
		return unix.EINVAL
	}
	v.treeMu.Lock()
	defer v.evict()
	defer v.treeMu.Unlock()

	or, err := v.newResolver(ctx, creds, oldpop)
	if err != nil {
		return err
	}
	defer or.release()
	if err := or.resolveParent(); err != nil {
		return err
	}
	nr, err := v.newResolver(ctx, creds, newpop)
	if err != nil {
		return err
	}
	defer nr.release()
	if err := nr.resolveParent(); err != nil {
		return err
	}
	oldParent, newParent := or.cur, nr.cur
	oldName, newName := or.last, nr.last
	if oldName == "" || oldName == "." || oldName == ".." || newName == "" || newName == "." || newName == ".." {
		return unix.EBUSY
	}
	for _, p := range []VirtualDentry{oldParent, newParent} {
		pa := p.Dentry.inode.Attr()
		if err := GenericCheckPermissions(creds, MayExec, pa.Mode, pa.UID, pa.GID); err != nil {
			return err
		}
	}
	if oldParent.Mount != newParent.Mount {
		return unix.EXDEV
	}
	child, err := v.lookupChild(ctx, oldParent.Dentry, oldName)
	if err != nil {
		return err
	}
	defer child.DecRef()
	replaced, err := v.lookupExisting(ctx, newParent.Dentry, newName)
	if err != nil {
		return err
	}
	if replaced != nil {
		defer replaced.DecRef()
	}
	exchange := flags&linux.RENAME_EXCHANGE != 0
	if replaced == nil && exchange {
		return unix.ENOENT
	}
	if replaced != nil && flags&linux.RENAME_NOREPLACE != 0 {
		return unix.EEXIST
	}
	childIsDir := child.inode.Attr().IsDir()
	if !childIsDir && (or.mustBeDir || (nr.mustBeDir && !exchange && replaced == nil)) {
		return unix.ENOTDIR
	}
	if replaced != nil && !replaced.inode.Attr().IsDir() && (nr.mustBeDir || (exchange && or.mustBeDir)) {
		return unix.ENOTDIR
	}
	if replaced == child || (replaced != nil && replaced.inode == child.inode) {
		return nil // same file: rename does nothing.
	}
	if err := checkDelete(creds, oldParent, child); err != nil {
		return err
	}
	if replaced != nil {
		if err := checkDelete(creds, newParent, replaced); err != nil {
			return err
		}
	} else if err := checkCreate(creds, newParent); err != nil {
		return err
	}
	if replaced != nil && !exchange {
		rIsDir := replaced.inode.Attr().IsDir()
		if childIsDir && !rIsDir {
			return unix.ENOTDIR
		}
		if !childIsDir && rIsDir {
			return unix.EISDIR
		}
	}
	// A directory cannot move below itself; the target cannot be an
	// ancestor of the source.
	if childIsDir && isAncestor(child, newParent.Dentry) {
		return unix.EINVAL
	}
	if exchange && replaced.inode.Attr().IsDir() && isAncestor(replaced, oldParent.Dentry) {
		return unix.EINVAL
	}
	if replaced != nil && isAncestor(replaced, oldParent.Dentry) {
		return unix.ENOTEMPTY
	}
	if isMountpointOrRoot(oldParent, child) || (replaced != nil && isMountpointOrRoot(newParent, replaced)) {
		return unix.EBUSY
	}
	// Moving a directory to a new parent rewrites its "..": it needs
	// write permission on the directory itself.
	if oldParent.Dentry != newParent.Dentry {
		for _, d := range []*Dentry{child, replaced} {
			if d == nil || (d == replaced && !exchange) {
				continue
			}
			if a := d.inode.Attr(); a.IsDir() {
				if err := GenericCheckPermissions(creds, MayWrite, a.Mode, a.UID, a.GID); err != nil {
					return err
				}
			}
		}
	}
	oldDir, err := dirInode(oldParent.Dentry)
	if err != nil {
		return err
	}
	newDir, err := dirInode(newParent.Dentry)
	if err != nil {
		return err
	}
	var rInode Inode
	if replaced != nil {
		rInode = replaced.inode
	}
	if err := oldDir.Rename(ctx, oldName, child.inode, newDir, newName, rInode, flags); err != nil {
		return err
	}
	if exchange {
		v.swapChildrenLocked(child, replaced)
		return nil
	}
	if replaced != nil {
		v.removeChildLocked(newParent.Dentry, replaced)
	}
	v.moveChildLocked(child, newParent.Dentry, newName)
	return nil
}

// swapChildrenLocked exchanges the places of cached dentries a and b
// (RENAME_EXCHANGE). Caller holds treeMu for writing.
func (v *VirtualFilesystem) swapChildrenLocked(a, b *Dentry) {
	ap, an, bp, bn := a.parent, a.name, b.parent, b.name
	ap.mu.Lock()
	if ap.children[an] == a {
		delete(ap.children, an)
	}
	ap.mu.Unlock()
	bp.mu.Lock()
	if bp.children[bn] == b {
		delete(bp.children, bn)
	}
	bp.children[bn] = a
	bp.mu.Unlock()
	ap.mu.Lock()
	ap.children[an] = b
	ap.mu.Unlock()
	a.parent, a.name = bp, bn
	b.parent, b.name = ap, an
	// Each parent keeps one child, so parent references balance.
}

// OpenAt implements open(2)/openat(2)/openat2(2). mode (umask applied) is
// used when O_CREAT creates the file.
func (v *VirtualFilesystem) OpenAt(ctx context.Context, creds *Credentials, pop *PathOperation, flags, mode uint32) (*FileDescription, error) {
	if flags&linux.O_TMPFILE == linux.O_TMPFILE {
		return nil, unix.EOPNOTSUPP
	}
	if flags&linux.O_PATH != 0 {
		flags &= linux.O_PATH | linux.O_DIRECTORY | linux.O_NOFOLLOW | linux.O_CLOEXEC
	}
	if flags&(linux.O_CREAT|linux.O_DIRECTORY) == linux.O_CREAT|linux.O_DIRECTORY {
		return nil, unix.EINVAL // as Linux 6.4 and later.
	}
	vd, created, err := v.openResolve(ctx, creds, pop, flags, mode)
	v.evict()
	if err != nil {
		return nil, err
	}
	defer vd.DecRef()
	a := vd.Dentry.inode.Attr()
	if flags&linux.O_PATH != 0 {
		if flags&linux.O_DIRECTORY != 0 && !a.IsDir() {
			return nil, unix.ENOTDIR
		}
		return NewFileDescription(opathImpl{}, flags, vd, FileDescriptionOptions{}), nil
	}
	switch {
	case a.IsSymlink():
		return nil, unix.ELOOP
	case a.IsDir():
		if flags&linux.O_ACCMODE != linux.O_RDONLY || flags&(linux.O_CREAT|linux.O_TRUNC) != 0 {
			return nil, unix.EISDIR
		}
	case flags&linux.O_DIRECTORY != 0:
		return nil, unix.ENOTDIR
	}
	if !created {
		if err := GenericCheckPermissions(creds, AccessTypesForOpenFlags(flags), a.Mode, a.UID, a.GID); err != nil {
			return nil, err
		}
	}
	typ := a.Mode & linux.S_IFMT
	if (typ == linux.S_IFCHR || typ == linux.S_IFBLK) && vd.Mount.Flags().NoDev {
		return nil, unix.EACCES
	}
	writes := flags&linux.O_ACCMODE != linux.O_RDONLY || flags&linux.O_TRUNC != 0
	if writes && vd.Mount.Flags().ReadOnly && (typ == linux.S_IFREG || typ == linux.S_IFDIR) {
		return nil, unix.EROFS
	}
	if flags&linux.O_NOATIME != 0 && !CanActAsOwner(creds, a.UID) {
		return nil, unix.EPERM
	}
	if flags&linux.O_TRUNC != 0 && typ == linux.S_IFREG && !created {
		opts := SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_SIZE}}
		if err := vd.Dentry.inode.SetStat(ctx, &opts); err != nil {
			return nil, err
		}
	}
	impl, err := vd.Dentry.inode.Open(ctx, vd, OpenOptions{Flags: flags})
	if err != nil {
		return nil, err
	}
	return NewFileDescription(impl, flags, vd, FileDescriptionOptions{Stream: typ == linux.S_IFIFO || typ == linux.S_IFSOCK || typ == linux.S_IFCHR}), nil
}

// openResolve finds or creates the file for OpenAt.
func (v *VirtualFilesystem) openResolve(ctx context.Context, creds *Credentials, pop *PathOperation, flags, mode uint32) (VirtualDentry, bool, error) {
	v.treeMu.RLock()
	defer v.treeMu.RUnlock()
	follow := flags&linux.O_NOFOLLOW == 0
	r, err := v.newResolver(ctx, creds, pop)
	if err != nil {
		return VirtualDentry{}, false, err
	}
	defer r.release()
	if flags&linux.O_CREAT == 0 {
		if err := r.resolveLast(follow); err != nil {
			return VirtualDentry{}, false, err
		}
		return r.takeCur(), false, nil
	}
	for {
		if err := r.resolveParent(); err != nil {
			return VirtualDentry{}, false, err
		}
		if r.last == "" || r.last == "." || r.last == ".." {
			return VirtualDentry{}, false, unix.EISDIR
		}
		pa := r.cur.Dentry.inode.Attr()
		if err := GenericCheckPermissions(creds, MayExec, pa.Mode, pa.UID, pa.GID); err != nil {
			return VirtualDentry{}, false, err
		}
		child, err := v.lookupExisting(ctx, r.cur.Dentry, r.last)
		if err != nil {
			return VirtualDentry{}, false, err
		}
		if child == nil {
			if r.mustBeDir {
				return VirtualDentry{}, false, unix.EISDIR
			}
			if err := checkCreate(creds, r.cur); err != nil {
				return VirtualDentry{}, false, err
			}
			dir, err := dirInode(r.cur.Dentry)
			if err != nil {
				return VirtualDentry{}, false, err
			}
			inode, err := dir.Create(ctx, r.last, newAttr(creds, r.cur.Dentry, linux.S_IFREG|mode&0o7777))
			if err == unix.EEXIST && flags&linux.O_EXCL == 0 {
				// Lost a race with another creator: open what it made.
				r.rest = r.last
				continue
			}
			if err != nil {
				return VirtualDentry{}, false, err
			}
			d := r.cur.Dentry.insertChild(r.last, inode)
			return VirtualDentry{r.cur.Mount, d}, true, nil
		}
		if flags&linux.O_EXCL != 0 {
			child.DecRef()
			return VirtualDentry{}, false, unix.EEXIST
		}
		r.setCur(VirtualDentry{r.cur.Mount, child})
		if err := r.followMounts(); err != nil {
			return VirtualDentry{}, false, err
		}
		sl, ok := r.cur.Dentry.inode.(SymlinkInode)
		if !ok || !r.cur.Dentry.inode.Attr().IsSymlink() {
			if r.mustBeDir && !r.cur.Dentry.inode.Attr().IsDir() {
				return VirtualDentry{}, false, unix.ENOTDIR
			}
			return r.takeCur(), false, nil
		}
		if !follow {
			return VirtualDentry{}, false, unix.ELOOP
		}
		if err := r.followSymlink(sl); err != nil {
			return VirtualDentry{}, false, err
		}
		if r.rest == "" {
			return r.takeCur(), false, nil // magic link
		}
		if r.mustBeDir {
			r.rest += "/"
		}
	}
}

// opathImpl backs O_PATH descriptions: every I/O operation fails with
// EBADF (the description checks first; this is a second wall).
type opathImpl struct{ FileDescriptionDefaultImpl }

// PRead implements FileDescriptionImpl.PRead.
func (opathImpl) PRead(context.Context, IOSequence, int64) (int64, error) { return 0, unix.EBADF }

// PWrite implements FileDescriptionImpl.PWrite.
func (opathImpl) PWrite(context.Context, IOSequence, int64, bool) (int64, int64, error) {
	return 0, 0, unix.EBADF
}

// xattrCheck applies Linux's namespace rules (xattr_permission) for an
// extended attribute operation on vd; write is set for set/remove.
func xattrCheck(creds *Credentials, vd VirtualDentry, name string, write bool) error {
	if name == "" || len(name) > linux.XATTR_NAME_MAX {
		return unix.ERANGE
	}
	a := vd.Dentry.inode.Attr()
	if write && vd.Mount.Flags().ReadOnly {
		return unix.EROFS
	}
	switch {
	case strings.HasPrefix(name, "user."):
		if !a.IsRegular() && !a.IsDir() {
			if write {
				return unix.EPERM
			}
			return unix.ENODATA
		}
		if write && a.IsDir() && a.Mode&linux.S_ISVTX != 0 && !CanActAsOwner(creds, a.UID) {
			return unix.EPERM
		}
	case strings.HasPrefix(name, "trusted."):
		if !creds.HasCapability(unix.CAP_SYS_ADMIN) {
			if write {
				return unix.EPERM
			}
			return unix.ENODATA
		}
		return nil
	case strings.HasPrefix(name, "security."):
		if write && !creds.HasCapability(unix.CAP_SYS_ADMIN) {
			return unix.EPERM
		}
		return nil
	default:
		return unix.EOPNOTSUPP
	}
	ats := MayRead
	if write {
		ats = MayWrite
	}
	return GenericCheckPermissions(creds, ats, a.Mode, a.UID, a.GID)
}

// GetXattrAt implements getxattr(2)/lgetxattr(2). Size negotiation
// (size 0, ERANGE) is the syscall layer's.
func (v *VirtualFilesystem) GetXattrAt(ctx context.Context, creds *Credentials, pop *PathOperation, name string) (string, error) {
	vd, err := v.getVD(ctx, creds, pop)
	if err != nil {
		return "", err
	}
	defer vd.DecRef()
	defer v.evict()
	return GetXattr(ctx, creds, vd, name)
}

// GetXattr implements fgetxattr(2) and the path variants.
func GetXattr(ctx context.Context, creds *Credentials, vd VirtualDentry, name string) (string, error) {
	if err := xattrCheck(creds, vd, name, false); err != nil {
		return "", err
	}
	return vd.Dentry.inode.GetXattr(ctx, name)
}

// SetXattrAt implements setxattr(2)/lsetxattr(2).
func (v *VirtualFilesystem) SetXattrAt(ctx context.Context, creds *Credentials, pop *PathOperation, name, value string, flags uint32) error {
	vd, err := v.getVD(ctx, creds, pop)
	if err != nil {
		return err
	}
	defer vd.DecRef()
	defer v.evict()
	return SetXattr(ctx, creds, vd, name, value, flags)
}

// SetXattr implements fsetxattr(2) and the path variants.
func SetXattr(ctx context.Context, creds *Credentials, vd VirtualDentry, name, value string, flags uint32) error {
	if flags&^uint32(linux.XATTR_CREATE|linux.XATTR_REPLACE) != 0 || flags == linux.XATTR_CREATE|linux.XATTR_REPLACE {
		return unix.EINVAL
	}
	if len(value) > linux.XATTR_SIZE_MAX {
		return unix.E2BIG
	}
	if err := xattrCheck(creds, vd, name, true); err != nil {
		return err
	}
	return vd.Dentry.inode.SetXattr(ctx, name, value, flags)
}

// ListXattrAt implements listxattr(2)/llistxattr(2): trusted.* names are
// hidden from callers without CAP_SYS_ADMIN.
func (v *VirtualFilesystem) ListXattrAt(ctx context.Context, creds *Credentials, pop *PathOperation) ([]string, error) {
	vd, err := v.getVD(ctx, creds, pop)
	if err != nil {
		return nil, err
	}
	defer vd.DecRef()
	defer v.evict()
	return ListXattr(ctx, creds, vd)
}

// ListXattr implements flistxattr(2) and the path variants.
func ListXattr(ctx context.Context, creds *Credentials, vd VirtualDentry) ([]string, error) {
	names, err := vd.Dentry.inode.ListXattr(ctx)
	if err != nil {
		return nil, err
	}
	out := names[:0:0]
	for _, n := range names {
		if strings.HasPrefix(n, "trusted.") && !creds.HasCapability(unix.CAP_SYS_ADMIN) {
			continue
		}
		out = append(out, n)
	}
	return out, nil
}

// RemoveXattrAt implements removexattr(2)/lremovexattr(2).
func (v *VirtualFilesystem) RemoveXattrAt(ctx context.Context, creds *Credentials, pop *PathOperation, name string) error {
	vd, err := v.getVD(ctx, creds, pop)
	if err != nil {
		return err
	}
	defer vd.DecRef()
	defer v.evict()
	return RemoveXattr(ctx, creds, vd, name)
}

// RemoveXattr implements fremovexattr(2) and the path variants.
func RemoveXattr(ctx context.Context, creds *Credentials, vd VirtualDentry, name string) error {
	if err := xattrCheck(creds, vd, name, true); err != nil {
		return err
	}
	return vd.Dentry.inode.RemoveXattr(ctx, name)
}
