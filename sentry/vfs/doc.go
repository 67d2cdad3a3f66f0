// Package vfs is the Sentry's virtual filesystem: the mount tree, the
// dentry cache, path resolution, open file descriptions, fd tables and the
// permission rules that Linux applies generically, independent of any one
// filesystem.
//
// Lookup model. Filesystems plug in below the VFS through small
// interfaces: a FilesystemImpl per filesystem instance and an Inode per
// file, where directories additionally implement DirectoryInode with one
// call per component (Lookup, Mkdir, Unlink, Rename, ...). The VFS owns
// everything generic: it walks paths itself one component at a time,
// keeps the dentry tree (Dentry: name, parent, cached children), follows
// symlinks and mounts, applies openat2 RESOLVE_* rules, checks search,
// create and delete permissions, sticky bits, read-only mounts and the
// Linux errno for every corner case, and only then calls the filesystem.
// This per-component model was chosen over gVisor's "filesystem walks its
// own path state" model because it keeps every filesystem small and makes
// all resolution rules live in one tested place; a remote filesystem that
// wants multi-component walks can add a batched lookup later (the walk
// loop has a single lookup point, lookupChild) without changing callers.
//
// Dentry cache. Each VirtualFilesystem has one dentry cache: cached
// children are kept in their parent's map and each child holds a reference
// on its parent, so a dentry with no references is always a leaf. Leaves
// whose reference count drops to zero go on an LRU list; when the list is
// longer than the cache's capacity (DefaultDentryCacheSize unless set with
// SetDentryCacheSize) the oldest are dropped from their parents, which can
// make the parents unreferenced leaves in turn. Trimming happens at the end
// of every VFS operation and in VirtualDentry.DecRef and
// FileDescription.DecRef (never inside the tree lock), so the number of
// unreferenced dentries does not exceed the capacity once those return;
// referenced dentries (open files, cwds, mount points, mount
// roots and their ancestors) are not counted and never dropped. Filesystems
// must therefore be able to recreate a dentry with Lookup at any time:
// tmpfs keeps its namespace in its directory inodes, not in the dentries.
//
// Locking. VirtualFilesystem.treeMu is read-locked by every path
// operation and write-locked by operations that move or remove existing
// dentries or mounts (unlink, rmdir, rename, mount, umount), so a walk
// never sees a dentry change parent under it. Dentry.mu guards a
// directory's cached children so concurrent walks can fill the cache;
// filesystems do their own locking for their data.
//
// Credentials and memory. The kernel passes a *Credentials (a value it
// builds from the task's credentials) to every operation that checks
// permissions, and moves data through the IOSequence interface, which it
// implements over guest memory (iovecs in the task's address space); tests
// use BytesIOSequence.
package vfs
