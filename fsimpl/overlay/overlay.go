// Package overlay implements an overlay filesystem for the Sentry's VFS: a
// read-only lower layer (in production the Gofer's view of the container
// image) under a writable upper layer (tmpfs), so that a container's
// writes stay in the sandbox. It follows Linux overlayfs where programs
// can tell the difference.
//
// Layers. The overlay talks to both layers through the vfs Inode
// interfaces directly (never through path walks). Lower is only read.
// Upper's root holds two directories that the overlay creates at New:
// "upper" (the overlay's upperdir, the root of what programs see) and
// "work" (scratch space where copy-ups and whiteouts are prepared before
// they are renamed into place, so a half-copied file is never visible).
//
// Merging. An overlay directory is lower-only, upper-only, or merged (both
// exist and the upper one is not opaque). Lookup consults upper first: a
// whiteout there hides the name; a non-directory, or a directory that is
// opaque or whose lower counterpart is not a directory, hides lower;
// otherwise lower is consulted. Whiteouts and opaque directories use the
// overlayfs on-disk convention inside upper: a whiteout is a character
// device 0/0 and an opaque directory carries the xattr
// trusted.overlay.opaque="y". They are internal: lookups and readdir hide
// whiteouts, trusted.overlay.* attributes are invisible and cannot be set
// through the overlay, and mknod of a 0/0 character device through the
// overlay fails with EPERM (it would be indistinguishable from a whiteout).
// The upper layer must therefore support mknod of character devices and
// trusted.* xattrs, as tmpfs does.
//
// Copy-up. The first change to a lower file (open for write, truncate,
// chmod/chown/utimes, xattr change, link, rename) copies it to upper:
// parents first, then the file is built in the work directory (data with
// holes skipped, mode, owner, times, xattrs) and renamed into its upper
// parent, whose times are restored. Lower hard links are broken by
// copy-up, as in overlayfs without index=on. Descriptions opened for
// reading before a copy-up switch to the upper copy at their next
// operation, as Linux's stacked file operations do.
//
// Removal and rename. Removing a name that exists in lower leaves a
// whiteout; rmdir of a merged directory first deletes the whiteouts in its
// upper part. Creating a directory over a whiteout makes it opaque.
// Renaming a directory that has a lower part (lower-only or merged) fails
// with EXDEV, as overlayfs without redirect_dir does, so programs fall
// back to copying (mv does). A non-directory is copied up and renamed in
// upper, leaving a whiteout behind if lower has the old name; a directory
// moved onto a name lower knows becomes opaque.
//
// Inode numbers. st_ino is stable for the life of the overlay: a file that
// came from lower keeps the lower inode number before and after copy-up
// (the number is recorded on the upper copy in trusted.overlay.origin, so
// it survives the overlay inode being dropped from caches); a file created
// in upper reports the upper inode number with bit 63 set, like overlayfs's
// xino, so the two layers' numbers do not collide (a lower inode number
// with bit 63 set would be truncated; no Linux filesystem hands those out
// in practice). st_dev is the overlay's own (the VFS fills it in), statfs
// reports upper's numbers with f_type OVERLAYFS_SUPER_MAGIC. A merged
// directory reports st_nlink 1, as overlayfs does, since the true count
// would need a full merge.
//
// Identity and locking. An overlay inode for a file with an upper part is
// cached, weakly, by its upper inode, so hard links share one overlay
// inode (and its advisory locks); a lower-only file's overlay inode lives
// as long as the VFS dentry naming it. Each directory's dirMu orders its
// namespace changes against lookups and directory reads through the
// overlay; each inode's copyMu serializes its copy-up. Lock order:
// copyMu of a child, then copyMu of its parent, then dirMu of a directory
// (a directory's dirMu before its child directory's dirMu).
package overlay

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"weak"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// Names of the overlay's directories in the root of the upper layer.
const (
	UpperDirName = "upper"
	WorkDirName  = "work"
)

// Xattrs the overlay keeps on upper files, as Linux overlayfs does.
const (
	xattrPrefix = "trusted.overlay."
	xattrOpaque = "trusted.overlay.opaque"
	xattrOrigin = "trusted.overlay.origin"
)

// xinoBit marks inode numbers of files that exist only in upper. It is
// below the sign bit: programs that keep st_ino in a signed 64-bit
// integer must not see negative numbers.
const xinoBit = 1 << 62

// Options configure an overlay. There are none yet; the type reserves a
// place for overlayfs mount options (redirect_dir, index, metacopy) should
// they be implemented.
type Options struct{}

// Filesystem is one overlay instance. It implements vfs.FilesystemImpl.
type Filesystem struct {
	lowerFS vfs.FilesystemImpl
	upperFS vfs.FilesystemImpl
	// work is the work directory in upper.
	work vfs.DirectoryInode
	root *inode

	// workSeq names temporary files in work.
	workSeq atomic.Uint64

	// cacheMu guards cache.
	cacheMu sync.Mutex
	// cache maps an upper inode to the overlay inode built for it, while
	// that inode is alive.
	cache map[vfs.Inode]weak.Pointer[inode]
}

// New returns an overlay of upper over lower. It creates (or reuses) the
// "upper" and "work" directories in upper's root and empties work; the
// overlay root takes the lower root's mode, owner and times when it is
// first created. The overlay owns both layers: its Release releases them.
func New(ctx context.Context, lower, upper vfs.FilesystemImpl, _ Options) (*Filesystem, error) {
	fs := &Filesystem{lowerFS: lower, upperFS: upper, cache: make(map[vfs.Inode]weak.Pointer[inode])}
	lroot, ok := lower.Root().(vfs.DirectoryInode)
	if !ok || !lroot.Attr().IsDir() {
		return nil, fmt.Errorf("overlay: lower root is not a directory")
	}
	uroot, ok := upper.Root().(vfs.DirectoryInode)
	if !ok || !uroot.Attr().IsDir() {
		return nil, fmt.Errorf("overlay: upper root is not a directory")
	}
	lst, err := lroot.Stat(ctx, linux.STATX_BASIC_STATS)
	if err != nil {
		return nil, fmt.Errorf("overlay: stat lower root: %w", err)
	}
	work, err := ensureDir(ctx, uroot, WorkDirName, 0o700)
	if err != nil {
		return nil, fmt.Errorf("overlay: work directory: %w", err)
	}
	if err := clearDir(ctx, work); err != nil {
		return nil, fmt.Errorf("overlay: emptying work directory: %w", err)
	}
	fs.work = work
	udir, err := uroot.Lookup(ctx, UpperDirName)
	switch {
	case err == unix.ENOENT:
		udir, err = uroot.Mkdir(ctx, UpperDirName, vfs.CreateAttr{Mode: linux.S_IFDIR | uint32(lst.Mode)&0o7777, UID: lst.UID, GID: lst.GID})
		if err != nil {
			return nil, fmt.Errorf("overlay: creating upper directory: %w", err)
		}
		if err := copyAttrs(ctx, lroot, udir, &lst); err != nil {
			return nil, fmt.Errorf("overlay: upper directory: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("overlay: upper directory: %w", err)
	}
	ud, ok := udir.(vfs.DirectoryInode)
	if !ok || !udir.Attr().IsDir() {
		return nil, fmt.Errorf("overlay: %s in upper is not a directory", UpperDirName)
	}
	if _, err := ud.GetXattr(ctx, xattrOrigin); err == unix.ENODATA {
		if err := ud.SetXattr(ctx, xattrOrigin, strconv.FormatUint(lowerIno(lst.Ino), 10), 0); err != nil {
			return nil, fmt.Errorf("overlay: upper directory: %w", err)
		}
	}
	fs.root = fs.newUpperInode(ctx, nil, "", ud, lroot)
	return fs, nil
}

// ensureDir returns dir's child directory name, creating it if needed.
func ensureDir(ctx context.Context, dir vfs.DirectoryInode, name string, mode uint32) (vfs.DirectoryInode, error) {
	c, err := dir.Lookup(ctx, name)
	if err == unix.ENOENT {
		c, err = dir.Mkdir(ctx, name, vfs.CreateAttr{Mode: linux.S_IFDIR | mode})
	}
	if err != nil {
		return nil, err
	}
	d, ok := c.(vfs.DirectoryInode)
	if !ok || !c.Attr().IsDir() {
		return nil, unix.ENOTDIR
	}
	return d, nil
}

// Root implements vfs.FilesystemImpl.Root.
func (fs *Filesystem) Root() vfs.Inode { return fs.root }

// StatFS implements vfs.FilesystemImpl.StatFS: upper's numbers, as
// overlayfs reports.
func (fs *Filesystem) StatFS(ctx context.Context) (linux.Statfs, error) {
	st, err := fs.upperFS.StatFS(ctx)
	if err != nil {
		return st, err
	}
	st.Type = unix.OVERLAYFS_SUPER_MAGIC
	return st, nil
}

// Release implements vfs.FilesystemImpl.Release.
func (fs *Filesystem) Release(ctx context.Context) {
	fs.lowerFS.Release(ctx)
	fs.upperFS.Release(ctx)
}

// lowerIno maps a lower inode number to the overlay's.
func lowerIno(ino uint64) uint64 { return ino &^ xinoBit }

// upperOnlyIno maps the inode number of a file that exists only in upper.
func upperOnlyIno(ino uint64) uint64 { return ino | xinoBit }

// originIno returns the overlay inode number recorded on an upper file by
// copy-up.
func originIno(ctx context.Context, u vfs.Inode) (uint64, bool) {
	v, err := u.GetXattr(ctx, xattrOrigin)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 64)
	return n, err == nil
}

// cached returns the live overlay inode for upper inode u, if any.
func (fs *Filesystem) cached(u vfs.Inode) *inode {
	if !reflect.TypeOf(u).Comparable() {
		return nil
	}
	fs.cacheMu.Lock()
	defer fs.cacheMu.Unlock()
	if wp, ok := fs.cache[u]; ok {
		return wp.Value()
	}
	return nil
}

// register records i as the overlay inode of its upper inode u.
func (fs *Filesystem) register(i *inode, u vfs.Inode) {
	if !reflect.TypeOf(u).Comparable() {
		return
	}
	wp := weak.Make(i)
	fs.cacheMu.Lock()
	fs.cache[u] = wp
	fs.cacheMu.Unlock()
	runtime.AddCleanup(i, func(key vfs.Inode) {
		fs.cacheMu.Lock()
		if w, ok := fs.cache[key]; ok && w.Value() == nil {
			delete(fs.cache, key)
		}
		fs.cacheMu.Unlock()
	}, u)
}

// isWhiteout reports whether upper inode c is a whiteout (a 0/0
// character device).
func isWhiteout(ctx context.Context, c vfs.Inode) bool {
	if c.Attr().Mode&linux.S_IFMT != linux.S_IFCHR {
		return false
	}
	st, err := c.Stat(ctx, linux.STATX_TYPE)
	return err == nil && st.RdevMajor == 0 && st.RdevMinor == 0
}

// isOpaque reports whether upper directory u is opaque.
func isOpaque(ctx context.Context, u vfs.Inode) bool {
	v, err := u.GetXattr(ctx, xattrOpaque)
	return err == nil && v == "y"
}

// workName returns a fresh name for a temporary file in work.
func (fs *Filesystem) workName() string {
	return "#" + strconv.FormatUint(fs.workSeq.Add(1), 16)
}

// newWhiteout creates a whiteout in work and returns its name.
func (fs *Filesystem) newWhiteout(ctx context.Context) (string, error) {
	name := fs.workName()
	if _, err := fs.work.Mknod(ctx, name, vfs.CreateAttr{Mode: linux.S_IFCHR}); err != nil {
		return "", fmt.Errorf("overlay: creating whiteout: %w", err)
	}
	return name, nil
}

// dropWork removes work's entry name (best effort: it is only a leftover
// of a failed operation, and work is emptied at the next New).
func (fs *Filesystem) dropWork(ctx context.Context, name string) {
	c, err := fs.work.Lookup(ctx, name)
	if err != nil {
		return
	}
	if c.Attr().IsDir() {
		_ = clearDir(ctx, c.(vfs.DirectoryInode))
		_ = fs.work.Rmdir(ctx, name, c)
		return
	}
	_ = fs.work.Unlink(ctx, name, c)
}

// moveFromWork renames work's entry name to dir's newName, which must be
// free.
func (fs *Filesystem) moveFromWork(ctx context.Context, name string, dir vfs.DirectoryInode, newName string) error {
	c, err := fs.work.Lookup(ctx, name)
	if err != nil {
		return err
	}
	return fs.work.Rename(ctx, name, c, dir, newName, nil, 0)
}

// clearDir removes everything below dir (an upper directory).
func clearDir(ctx context.Context, dir vfs.DirectoryInode) error {
	names, err := listNames(ctx, dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		c, err := dir.Lookup(ctx, n)
		if err == unix.ENOENT {
			continue
		}
		if err != nil {
			return err
		}
		if cd, ok := c.(vfs.DirectoryInode); ok && c.Attr().IsDir() {
			if err := clearDir(ctx, cd); err != nil {
				return err
			}
			err = dir.Rmdir(ctx, n, c)
		} else {
			err = dir.Unlink(ctx, n, c)
		}
		if err != nil && err != unix.ENOENT {
			return err
		}
	}
	return nil
}

// layerDirent is one entry read from a layer directory.
type layerDirent struct {
	name string
	typ  uint8
	ino  uint64
}

// readLayerDir returns all entries of a layer directory other than "."
// and "..".
func readLayerDir(ctx context.Context, dir vfs.Inode) ([]layerDirent, error) {
	impl, err := dir.Open(ctx, vfs.VirtualDentry{}, vfs.OpenOptions{Flags: linux.O_RDONLY | linux.O_DIRECTORY})
	if err != nil {
		return nil, err
	}
	defer impl.Release(ctx)
	var out []layerDirent
	var off int64
	for {
		got := 0
		off, err = impl.IterDirents(ctx, off, func(d vfs.Dirent) error {
			got++
			if d.Name != "." && d.Name != ".." {
				out = append(out, layerDirent{d.Name, d.Type, d.Ino})
			}
			return nil
		})
		if err != nil || got == 0 {
			return out, err
		}
	}
}

// listNames returns the names in a layer directory.
func listNames(ctx context.Context, dir vfs.Inode) ([]string, error) {
	ents, err := readLayerDir(ctx, dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ents))
	for k, e := range ents {
		names[k] = e.name
	}
	return names, nil
}

// FSType implements vfs.FilesystemTyper.
func (fs *Filesystem) FSType() string { return "overlay" }
