package vfs

import (
	"container/list"
	"context"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

var errNotDir = unix.ENOTDIR

// VirtualFilesystem is the VFS of one sandbox: its filesystems, mounts
// and dentry cache.
type VirtualFilesystem struct {
	// treeMu guards the shape of the dentry tree (Dentry.parent, .name,
	// .mounts) and the mount table (mountpoints, Mount.parent, .point,
	// .children). See the package comment.
	treeMu      sync.RWMutex
	mountpoints map[mountKey]*Mount

	// lruMu guards lru, lruCap and Dentry.lruElem.
	lruMu  sync.Mutex
	lru    list.List
	lruCap int

	nextMountID atomic.Uint64
	nextDev     atomic.Uint32
}

type mountKey struct {
	parent *Mount
	point  *Dentry
}

// New returns an empty VirtualFilesystem.
func New() *VirtualFilesystem {
	return &VirtualFilesystem{
		mountpoints: make(map[mountKey]*Mount),
		lruCap:      DefaultDentryCacheSize,
	}
}

// NewFilesystem registers a filesystem instance with the VFS.
func (v *VirtualFilesystem) NewFilesystem(impl FilesystemImpl) *Filesystem {
	fs := &Filesystem{vfs: v, impl: impl, devMinor: v.nextDev.Add(1)}
	fs.root = &Dentry{fs: fs, inode: impl.Root()}
	return fs
}

// MountFlags are per-mount options.
type MountFlags struct {
	ReadOnly bool
	NoExec   bool
	NoSuid   bool
	NoDev    bool
}

// Mount is one mount of a filesystem in the tree.
type Mount struct {
	vfs   *VirtualFilesystem
	fs    *Filesystem
	root  *Dentry
	id    uint64
	flags atomic.Pointer[MountFlags]

	// parent, point, ns and children are guarded by vfs.treeMu. parent
	// is nil for a namespace's root mount.
	parent   *Mount
	point    *Dentry
	ns       *MountNamespace
	children map[*Mount]struct{}
	// detached is set once the mount is unmounted.
	detached bool
}

// ID returns the mount ID (statx stx_mnt_id).
func (m *Mount) ID() uint64 { return m.id }

// Filesystem returns the mounted filesystem.
func (m *Mount) Filesystem() *Filesystem { return m.fs }

// Root returns the mount's root dentry.
func (m *Mount) Root() *Dentry { return m.root }

// Flags returns the mount's flags.
func (m *Mount) Flags() MountFlags { return *m.flags.Load() }

// SetFlags changes the mount's flags (mount -o remount).
func (m *Mount) SetFlags(f MountFlags) { m.flags.Store(&f) }

// MountNamespace is a mount namespace: a tree of mounts with a root.
type MountNamespace struct {
	root *Mount
}

// Root returns the namespace's root with a reference; callers DecRef.
func (ns *MountNamespace) Root() VirtualDentry {
	vd := VirtualDentry{Mount: ns.root, Dentry: ns.root.root}
	vd.IncRef()
	return vd
}

// VirtualDentry is a position in the mount tree: a dentry as seen through
// a mount. Holders of a VirtualDentry usually own a reference on the
// dentry (IncRef/DecRef); mounts are kept alive by the Go GC.
type VirtualDentry struct {
	Mount  *Mount
	Dentry *Dentry
}

// Ok reports whether vd is non-zero.
func (vd VirtualDentry) Ok() bool { return vd.Dentry != nil }

// IncRef takes a reference on vd's dentry.
func (vd VirtualDentry) IncRef() { vd.Dentry.IncRef() }

// DecRef drops a reference on vd's dentry and trims the dentry cache if
// that left it over capacity. It must not be called with the VFS's treeMu
// held (inside the VFS, Dentry.DecRef is used).
func (vd VirtualDentry) DecRef() {
	vd.Dentry.DecRef()
	vd.Dentry.fs.vfs.evict()
}

func (v *VirtualFilesystem) newMount(fs *Filesystem, flags MountFlags) *Mount {
	m := &Mount{vfs: v, fs: fs, root: fs.root, id: v.nextMountID.Add(1)}
	m.flags.Store(&flags)
	fs.root.IncRef()
	fs.mounts.Add(1)
	return m
}

// NewMountNamespace creates a mount namespace whose root mount is fs.
func (v *VirtualFilesystem) NewMountNamespace(fs *Filesystem, flags MountFlags) *MountNamespace {
	ns := &MountNamespace{}
	m := v.newMount(fs, flags)
	m.ns = ns
	ns.root = m
	return ns
}

// getMountAt returns the mount whose mount point is (parent, point).
// Caller holds treeMu.
func (v *VirtualFilesystem) getMountAt(parent *Mount, point *Dentry) *Mount {
	if point.mounts == 0 {
		return nil
	}
	return v.mountpoints[mountKey{parent, point}]
}

// MountAt mounts fs on the directory at target (already resolved, e.g.
// with GetDentryAt; a mount already there is stacked upon). It needs
// CAP_SYS_ADMIN.
func (v *VirtualFilesystem) MountAt(ctx context.Context, creds *Credentials, fs *Filesystem, target VirtualDentry, flags MountFlags) (*Mount, error) {
	if !creds.HasCapability(unix.CAP_SYS_ADMIN) {
		return nil, unix.EPERM
	}
	v.treeMu.Lock()
	defer v.treeMu.Unlock()
	if target.Dentry.dead.Load() || target.Mount.detached {
		return nil, unix.ENOENT
	}
	if !target.Dentry.inode.Attr().IsDir() || !fs.root.inode.Attr().IsDir() {
		return nil, unix.ENOTDIR
	}
	// Stack on top of whatever is mounted at target already.
	for {
		top := v.getMountAt(target.Mount, target.Dentry)
		if top == nil {
			break
		}
		target = VirtualDentry{top, top.root}
	}
	m := v.newMount(fs, flags)
	m.parent = target.Mount
	m.point = target.Dentry
	m.ns = target.Mount.ns
	target.Dentry.IncRef()
	target.Dentry.mounts++
	v.mountpoints[mountKey{target.Mount, target.Dentry}] = m
	if target.Mount.children == nil {
		target.Mount.children = make(map[*Mount]struct{})
	}
	target.Mount.children[m] = struct{}{}
	return m, nil
}

// UmountAt unmounts the mount whose root is vd (umount2(2)). Without
// MNT_DETACH a mount with mounts below it is busy (EBUSY); with it, the
// whole subtree is detached. A namespace's root mount cannot be unmounted
// (EINVAL), nor a path that is not a mount root (EINVAL).
func (v *VirtualFilesystem) UmountAt(ctx context.Context, creds *Credentials, vd VirtualDentry, flags uint32) error {
	if !creds.HasCapability(unix.CAP_SYS_ADMIN) {
		return unix.EPERM
	}
	if flags&^uint32(unix.MNT_DETACH|unix.MNT_FORCE|unix.UMOUNT_NOFOLLOW) != 0 {
		return unix.EINVAL
	}
	v.treeMu.Lock()
	defer v.treeMu.Unlock()
	m := vd.Mount
	if vd.Dentry != m.root || m.parent == nil || m.detached {
		return unix.EINVAL
	}
	if len(m.children) != 0 && flags&unix.MNT_DETACH == 0 {
		return unix.EBUSY
	}
	v.detachLocked(ctx, m)
	return nil
}

func (v *VirtualFilesystem) detachLocked(ctx context.Context, m *Mount) {
	for c := range m.children {
		v.detachLocked(ctx, c)
	}
	delete(v.mountpoints, mountKey{m.parent, m.point})
	delete(m.parent.children, m)
	m.point.mounts--
	point := m.point
	m.detached = true
	m.parent, m.point = nil, nil
	point.DecRef()
	if m.fs.mounts.Add(-1) == 0 {
		m.fs.impl.Release(ctx)
	}
}
