package kernel

import (
	"sync"
	"sync/atomic"

	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// FSContext is what a process knows of the filesystem: its root (chroot),
// its working directory and its umask. Threads created with CLONE_FS
// share one.
type FSContext struct {
	// mu guards root, cwd and umask.
	mu    sync.Mutex
	root  vfs.VirtualDentry
	cwd   vfs.VirtualDentry
	umask uint32

	// users counts the tasks sharing the context.
	users atomic.Int32
}

// NewFSContext returns a context with its own references on root and cwd.
func NewFSContext(root, cwd vfs.VirtualDentry, umask uint32) *FSContext {
	root.IncRef()
	cwd.IncRef()
	f := &FSContext{root: root, cwd: cwd, umask: umask & 0o777}
	f.users.Store(1)
	return f
}

// Root returns the root directory with a reference the caller drops.
func (f *FSContext) Root() vfs.VirtualDentry {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.root.IncRef()
	return f.root
}

// WorkingDirectory returns the cwd with a reference the caller drops.
func (f *FSContext) WorkingDirectory() vfs.VirtualDentry {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cwd.IncRef()
	return f.cwd
}

// SetWorkingDirectory makes vd the cwd, taking a reference of its own.
func (f *FSContext) SetWorkingDirectory(vd vfs.VirtualDentry) {
	vd.IncRef()
	f.mu.Lock()
	old := f.cwd
	f.cwd = vd
	f.mu.Unlock()
	old.DecRef()
}

// SetRoot makes vd the root (chroot), taking a reference of its own.
func (f *FSContext) SetRoot(vd vfs.VirtualDentry) {
	vd.IncRef()
	f.mu.Lock()
	old := f.root
	f.root = vd
	f.mu.Unlock()
	old.DecRef()
}

// Umask returns the file mode creation mask.
func (f *FSContext) Umask() uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.umask
}

// SwapUmask sets the mask and returns the old one.
func (f *FSContext) SwapUmask(mask uint32) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.umask
	f.umask = mask & 0o777
	return old
}

// Release drops the context's references.
func (f *FSContext) Release() {
	f.mu.Lock()
	root, cwd := f.root, f.cwd
	f.root, f.cwd = vfs.VirtualDentry{}, vfs.VirtualDentry{}
	f.mu.Unlock()
	if root.Ok() {
		root.DecRef()
	}
	if cwd.Ok() {
		cwd.DecRef()
	}
}

// Fork returns an independent copy (clone without CLONE_FS).
func (f *FSContext) Fork() *FSContext {
	f.mu.Lock()
	defer f.mu.Unlock()
	return NewFSContext(f.root, f.cwd, f.umask)
}

// incUsers adds a task sharing f (CLONE_FS).
func (f *FSContext) incUsers() { f.users.Add(1) }

// decUsers drops a task's use; the last one releases the directories.
func (f *FSContext) decUsers() {
	if f.users.Add(-1) == 0 {
		f.Release()
	}
}
