package vfs

import (
	"context"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

// PathOperation says where a path operation starts and how it resolves.
type PathOperation struct {
	// Root is the caller's root directory (chroot): ".." never leaves
	// it and absolute paths and symlinks start there.
	Root VirtualDentry
	// Start is where a relative path starts: the cwd for AT_FDCWD, or
	// the directory of dirfd.
	Start VirtualDentry
	// Path is the path as given by the caller.
	Path string
	// FollowFinalSymlink says whether a symlink as the last component
	// is followed (false for AT_SYMLINK_NOFOLLOW, O_NOFOLLOW, lstat).
	FollowFinalSymlink bool
	// EmptyPath allows an empty Path to mean Start itself
	// (AT_EMPTY_PATH).
	EmptyPath bool
	// Resolve are openat2 RESOLVE_* flags.
	Resolve uint64
}

// resolver is the state of one path walk. It holds a reference on cur.
// The caller holds vfs.treeMu.
type resolver struct {
	vfs   *VirtualFilesystem
	ctx   context.Context
	creds *Credentials
	// root is where ".." stops and absolute paths start: the chroot, or
	// the start directory with RESOLVE_BENEATH / RESOLVE_IN_ROOT.
	root    VirtualDentry
	cur     VirtualDentry
	rest    string
	resolve uint64
	// symlinks counts symlinks followed so far.
	symlinks int
	// last is the final component found by resolveParent ("" when the
	// path names cur itself, e.g. "/" or "a/.."); mustBeDir is set when
	// the path ended in '/'.
	last      string
	mustBeDir bool
}

// newResolver starts a walk of pop. On success the caller must call
// r.release.
func (v *VirtualFilesystem) newResolver(ctx context.Context, creds *Credentials, pop *PathOperation) (*resolver, error) {
	if len(pop.Path) >= linux.PATH_MAX {
		return nil, unix.ENAMETOOLONG
	}
	if pop.Path == "" && !pop.EmptyPath {
		return nil, unix.ENOENT
	}
	if pop.Resolve&^uint64(linux.RESOLVE_NO_XDEV|linux.RESOLVE_NO_MAGICLINKS|linux.RESOLVE_NO_SYMLINKS|linux.RESOLVE_BENEATH|linux.RESOLVE_IN_ROOT) != 0 {
		return nil, unix.EINVAL
	}
	if pop.Resolve&linux.RESOLVE_BENEATH != 0 && pop.Resolve&linux.RESOLVE_IN_ROOT != 0 {
		return nil, unix.EINVAL
	}
	r := &resolver{vfs: v, ctx: ctx, creds: creds, root: pop.Root, cur: pop.Start, rest: pop.Path, resolve: pop.Resolve}
	if pop.Resolve&(linux.RESOLVE_BENEATH|linux.RESOLVE_IN_ROOT) != 0 {
		r.root = pop.Start
	}
	if strings.HasPrefix(pop.Path, "/") {
		if pop.Resolve&linux.RESOLVE_BENEATH != 0 {
			return nil, unix.EXDEV
		}
		r.cur = r.root
	}
	r.cur.IncRef()
	return r, nil
}

func (r *resolver) release() {
	if r.cur.Dentry != nil {
		r.cur.Dentry.DecRef()
		r.cur = VirtualDentry{}
	}
}

// takeCur returns cur with the resolver's reference, ending the walk.
func (r *resolver) takeCur() VirtualDentry {
	vd := r.cur
	r.cur = VirtualDentry{}
	return vd
}

// setCur moves to vd, whose reference the resolver takes over.
func (r *resolver) setCur(vd VirtualDentry) {
	r.cur.Dentry.DecRef()
	r.cur = vd
}

// checkSearch checks search permission on the current directory.
func (r *resolver) checkSearch() error {
	a := r.cur.Dentry.inode.Attr()
	if !a.IsDir() {
		return unix.ENOTDIR
	}
	return GenericCheckPermissions(r.creds, MayExec, a.Mode, a.UID, a.GID)
}

// resolveParent walks every component but the last, leaving cur at the
// directory that contains it and r.last set to it.
func (r *resolver) resolveParent() error {
	for {
		r.rest = strings.TrimLeft(r.rest, "/")
		comp, after, slash := strings.Cut(r.rest, "/")
		if strings.TrimLeft(after, "/") == "" {
			r.last = comp
			r.mustBeDir = r.mustBeDir || slash
			r.rest = ""
			if comp != "" {
				if len(comp) > linux.NAME_MAX {
					return unix.ENAMETOOLONG
				}
				if !r.cur.Dentry.inode.Attr().IsDir() {
					return unix.ENOTDIR
				}
			}
			return nil
		}
		r.rest = after
		if err := r.step(comp, true); err != nil {
			return err
		}
	}
}

// step walks one non-final component (or a final one being resolved by
// resolveLast) from cur. follow says whether a symlink is followed; a
// followed symlink's target is prepended to r.rest.
func (r *resolver) step(comp string, follow bool) error {
	if len(comp) > linux.NAME_MAX {
		return unix.ENAMETOOLONG
	}
	if err := r.checkSearch(); err != nil {
		return err
	}
	switch comp {
	case ".":
		return nil
	case "..":
		return r.dotdot()
	}
	d, err := r.vfs.lookupChild(r.ctx, r.cur.Dentry, comp)
	if err != nil {
		return err
	}
	r.setCur(VirtualDentry{r.cur.Mount, d})
	if err := r.followMounts(); err != nil {
		return err
	}
	if follow {
		if sl, ok := r.cur.Dentry.inode.(SymlinkInode); ok && r.cur.Dentry.inode.Attr().IsSymlink() {
			return r.followSymlink(sl)
		}
	}
	return nil
}

// followMounts moves from a mount point to the root of what is mounted
// on it, repeatedly.
func (r *resolver) followMounts() error {
	for {
		m := r.vfs.getMountAt(r.cur.Mount, r.cur.Dentry)
		if m == nil {
			return nil
		}
		if r.resolve&linux.RESOLVE_NO_XDEV != 0 {
			return unix.EXDEV
		}
		m.root.IncRef()
		r.setCur(VirtualDentry{m, m.root})
	}
}

// dotdot moves cur to its parent, stopping at the root and crossing mount
// boundaries upwards.
func (r *resolver) dotdot() error {
	for {
		if r.cur == r.root {
			if r.resolve&linux.RESOLVE_BENEATH != 0 {
				return unix.EXDEV
			}
			return nil
		}
		m := r.cur.Mount
		if r.cur.Dentry != m.root {
			break
		}
		if m.parent == nil {
			return nil // the namespace root: ".." stays.
		}
		if r.resolve&linux.RESOLVE_NO_XDEV != 0 {
			return unix.EXDEV
		}
		m.point.IncRef()
		r.setCur(VirtualDentry{m.parent, m.point})
	}
	p := r.cur.Dentry.parent
	p.IncRef()
	r.setCur(VirtualDentry{r.cur.Mount, p})
	return r.followMounts()
}

// followSymlink replaces cur (the symlink) by its parent and prepends the
// link's target to the remaining path, or jumps for a magic link.
func (r *resolver) followSymlink(sl SymlinkInode) error {
	if r.resolve&linux.RESOLVE_NO_SYMLINKS != 0 {
		return unix.ELOOP
	}
	r.symlinks++
	if r.symlinks > linux.MaxSymlinkTraversals {
		return unix.ELOOP
	}
	if ml, ok := sl.(MagicLinkInode); ok {
		return r.jumpMagicLink(ml)
	}
	target, err := sl.Readlink(r.ctx)
	if err != nil {
		return err
	}
	if target == "" {
		return unix.ENOENT
	}
	if len(target)+1+len(r.rest) >= linux.PATH_MAX*2 {
		return unix.ENAMETOOLONG
	}
	if target[0] == '/' {
		if r.resolve&linux.RESOLVE_BENEATH != 0 {
			return unix.EXDEV
		}
		r.root.IncRef()
		r.setCur(r.root)
	} else {
		// Back to the directory containing the link. A symlink is never
		// a mount root of interest here: symlinks cannot be mounted on.
		p := r.cur.Dentry.parent
		p.IncRef()
		r.setCur(VirtualDentry{r.cur.Mount, p})
	}
	if r.rest != "" {
		r.rest = target + "/" + r.rest
	} else {
		r.rest = target
	}
	return nil
}

// resolveLast resolves the whole path, leaving cur at the file it names.
// follow says whether a final symlink is followed (it always is when the
// path ends in '/').
func (r *resolver) resolveLast(follow bool) error {
	for {
		if err := r.resolveParent(); err != nil {
			return err
		}
		if r.last == "" {
			break
		}
		if err := r.step(r.last, false); err != nil {
			return err
		}
		if sl, ok := r.cur.Dentry.inode.(SymlinkInode); ok && r.cur.Dentry.inode.Attr().IsSymlink() && (follow || r.mustBeDir) {
			if err := r.followSymlink(sl); err != nil {
				return err
			}
			if r.rest == "" {
				continue // magic link: cur is the destination.
			}
			if r.mustBeDir {
				r.rest += "/"
			}
			continue
		}
		break
	}
	if r.mustBeDir && !r.cur.Dentry.inode.Attr().IsDir() {
		return unix.ENOTDIR
	}
	return nil
}
