package vfs

import (
	"container/list"
	"context"
	"sync"
	"sync/atomic"
)

// DefaultDentryCacheSize is the default number of unreferenced dentries a
// VirtualFilesystem keeps cached.
const DefaultDentryCacheSize = 4096

// Filesystem is one mounted filesystem instance as seen by the VFS.
type Filesystem struct {
	vfs  *VirtualFilesystem
	impl FilesystemImpl
	root *Dentry
	// devMinor is the anonymous device minor (major 0) reported as st_dev.
	devMinor uint32
	// mounts counts the mounts of this filesystem; Release is called on
	// the impl when it drops to zero.
	mounts atomic.Int64
}

// Impl returns the filesystem implementation.
func (fs *Filesystem) Impl() FilesystemImpl { return fs.impl }

// Dev returns the (major, minor) device number of the filesystem.
func (fs *Filesystem) Dev() (uint32, uint32) { return 0, fs.devMinor }

// Dentry is a node of the VFS's name tree: one name of one inode. Cached
// children hold a reference on their parent.
type Dentry struct {
	fs    *Filesystem
	inode Inode
	refs  atomic.Int64

	// parent and name are guarded by vfs.treeMu (read to look,
	// write to change). parent is nil for a filesystem root.
	parent *Dentry
	name   string
	// dead is set once the dentry is unlinked, replaced or evicted; it
	// is never cached again.
	dead atomic.Bool

	// mu guards children.
	mu       sync.Mutex
	children map[string]*Dentry

	// mounts counts mounts whose mount point is this dentry; guarded by
	// vfs.treeMu.
	mounts int

	// lruElem is the dentry's place in vfs.lru, or nil; guarded by
	// vfs.lruMu.
	lruElem *list.Element
}

// Inode returns the dentry's inode.
func (d *Dentry) Inode() Inode { return d.inode }

// Filesystem returns the filesystem the dentry belongs to.
func (d *Dentry) Filesystem() *Filesystem { return d.fs }

// Name returns the dentry's current name ("" for a root).
func (d *Dentry) Name() string {
	d.fs.vfs.treeMu.RLock()
	defer d.fs.vfs.treeMu.RUnlock()
	return d.name
}

// IsDead reports whether the dentry has been unlinked or replaced.
func (d *Dentry) IsDead() bool {
	return d.dead.Load()
}

// IncRef takes a reference on d.
func (d *Dentry) IncRef() {
	if d.refs.Add(1) == 1 {
		v := d.fs.vfs
		v.lruMu.Lock()
		if d.lruElem != nil {
			v.lru.Remove(d.lruElem)
			d.lruElem = nil
		}
		v.lruMu.Unlock()
	}
}

// DecRef drops a reference on d. An unreferenced cached dentry goes on
// the LRU; it is evicted by the next operation that finds the LRU over
// capacity. DecRef must not be called with d's parent's mu held.
func (d *Dentry) DecRef() {
	r := d.refs.Add(-1)
	if r < 0 {
		panic("vfs: Dentry.DecRef of unreferenced dentry")
	}
	if r > 0 {
		return
	}
	v := d.fs.vfs
	v.lruMu.Lock()
	if d.refs.Load() == 0 && d.lruElem == nil && !d.dead.Load() && d.fs.root != d {
		d.lruElem = v.lru.PushFront(d)
	}
	v.lruMu.Unlock()
}

// SetDentryCacheSize sets the capacity of the unreferenced-dentry cache
// (minimum 1).
func (v *VirtualFilesystem) SetDentryCacheSize(n int) {
	v.lruMu.Lock()
	v.lruCap = max(n, 1)
	v.lruMu.Unlock()
	v.treeMu.RLock()
	v.evictLocked()
	v.treeMu.RUnlock()
}

// CachedDentries returns the number of unreferenced dentries cached.
func (v *VirtualFilesystem) CachedDentries() int {
	v.lruMu.Lock()
	defer v.lruMu.Unlock()
	return v.lru.Len()
}

// evictLocked drops the least recently used unreferenced dentries until
// the cache is within capacity. The caller holds treeMu for reading or
// writing, so parents do not change; refs are rechecked under the
// parent's mu, which is where cache hits take references.
func (v *VirtualFilesystem) evictLocked() {
	for {
		v.lruMu.Lock()
		if v.lru.Len() <= v.lruCap {
			v.lruMu.Unlock()
			return
		}
		e := v.lru.Back()
		d := e.Value.(*Dentry)
		v.lru.Remove(e)
		d.lruElem = nil
		v.lruMu.Unlock()

		p := d.parent
		if p == nil {
			continue
		}
		p.mu.Lock()
		if d.refs.Load() != 0 || d.mounts != 0 || p.children[d.name] != d {
			p.mu.Unlock()
			continue
		}
		delete(p.children, d.name)
		d.dead.Store(true) // no longer reachable; it is never re-added.
		p.mu.Unlock()
		v.lruMu.Lock()
		if d.lruElem != nil {
			v.lru.Remove(d.lruElem)
			d.lruElem = nil
		}
		v.lruMu.Unlock()
		p.DecRef()
	}
}

// cachedChild returns parent's cached child name with a reference, or nil.
func (parent *Dentry) cachedChild(name string) *Dentry {
	parent.mu.Lock()
	c := parent.children[name]
	if c != nil {
		c.IncRef()
	}
	parent.mu.Unlock()
	return c
}

// insertChild caches inode as parent's child name and returns it with a
// reference; if a concurrent lookup cached one first, that one wins.
func (parent *Dentry) insertChild(name string, inode Inode) *Dentry {
	parent.mu.Lock()
	if c := parent.children[name]; c != nil {
		c.IncRef()
		parent.mu.Unlock()
		return c
	}
	d := &Dentry{fs: parent.fs, inode: inode, parent: parent, name: name}
	d.refs.Store(1)
	if parent.children == nil {
		parent.children = make(map[string]*Dentry)
	}
	parent.children[name] = d
	parent.refs.Add(1) // the child's reference on its parent; parent is referenced by the caller, so not on the LRU.
	parent.mu.Unlock()
	return d
}

// lookupChild returns parent's child name, from the cache or from the
// filesystem, with a reference. Caller holds treeMu.
func (v *VirtualFilesystem) lookupChild(ctx context.Context, parent *Dentry, name string) (*Dentry, error) {
	if c := parent.cachedChild(name); c != nil {
		return c, nil
	}
	dir, ok := parent.inode.(DirectoryInode)
	if !ok {
		return nil, errNotDir
	}
	inode, err := dir.Lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	return parent.insertChild(name, inode), nil
}

// removeChildLocked drops parent's cached child d (unlinked or replaced)
// and marks it dead. Caller holds treeMu for writing.
func (v *VirtualFilesystem) removeChildLocked(parent, d *Dentry) {
	parent.mu.Lock()
	if parent.children[d.name] != d {
		parent.mu.Unlock()
		return
	}
	delete(parent.children, d.name)
	parent.mu.Unlock()
	d.dead.Store(true)
	v.lruMu.Lock()
	if d.lruElem != nil {
		v.lru.Remove(d.lruElem)
		d.lruElem = nil
	}
	v.lruMu.Unlock()
	parent.DecRef()
}

// moveChildLocked moves cached dentry d to newParent under newName.
// Caller holds treeMu for writing and has removed any dentry at newName.
func (v *VirtualFilesystem) moveChildLocked(d, newParent *Dentry, newName string) {
	old := d.parent
	old.mu.Lock()
	if old.children[d.name] == d {
		delete(old.children, d.name)
	}
	old.mu.Unlock()
	newParent.mu.Lock()
	if newParent.children == nil {
		newParent.children = make(map[string]*Dentry)
	}
	newParent.children[newName] = d
	newParent.mu.Unlock()
	newParent.IncRef()
	d.parent = newParent
	d.name = newName
	old.DecRef()
}
