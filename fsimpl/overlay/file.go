package overlay

import (
	"context"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// regularFD is an open regular file: a description of the layer file
// that holds the data. A read-only description of a lower file moves to
// the upper copy at its first operation after a copy-up.
type regularFD struct {
	inode *inode
	vd    vfs.VirtualDentry
	flags uint32

	// isUpper is set once real is a description of the upper file.
	isUpper atomic.Bool
	// mu guards real: operations hold it for reading, the switch to
	// upper for writing.
	mu   sync.RWMutex
	real vfs.FileDescriptionImpl
}

// acquire returns the current layer description with fd.mu read-locked.
func (fd *regularFD) acquire(ctx context.Context) vfs.FileDescriptionImpl {
	if !fd.isUpper.Load() && fd.inode.upperInode() != nil {
		fd.switchUp(ctx)
	}
	fd.mu.RLock()
	return fd.real
}

func (fd *regularFD) switchUp(ctx context.Context) {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	if fd.isUpper.Load() {
		return
	}
	impl, err := fd.inode.upperInode().Open(ctx, fd.vd, vfs.OpenOptions{Flags: fd.flags &^ (linux.O_CREAT | linux.O_EXCL | linux.O_TRUNC)})
	if err != nil {
		return // keep reading lower, which still has the old data.
	}
	fd.real.Release(ctx)
	fd.real = impl
	fd.isUpper.Store(true)
}

// Release implements vfs.FileDescriptionImpl.Release.
func (fd *regularFD) Release(ctx context.Context) {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	fd.real.Release(ctx)
}

// PRead implements vfs.FileDescriptionImpl.PRead.
func (fd *regularFD) PRead(ctx context.Context, dst vfs.IOSequence, offset int64) (int64, error) {
	r := fd.acquire(ctx)
	defer fd.mu.RUnlock()
	return r.PRead(ctx, dst, offset)
}

// Read implements vfs.FileDescriptionImpl.Read.
func (fd *regularFD) Read(ctx context.Context, dst vfs.IOSequence) (int64, error) {
	r := fd.acquire(ctx)
	defer fd.mu.RUnlock()
	return r.Read(ctx, dst)
}

// PWrite implements vfs.FileDescriptionImpl.PWrite.
func (fd *regularFD) PWrite(ctx context.Context, src vfs.IOSequence, offset int64, appendMode bool) (int64, int64, error) {
	r := fd.acquire(ctx)
	defer fd.mu.RUnlock()
	return r.PWrite(ctx, src, offset, appendMode)
}

// Write implements vfs.FileDescriptionImpl.Write.
func (fd *regularFD) Write(ctx context.Context, src vfs.IOSequence) (int64, error) {
	r := fd.acquire(ctx)
	defer fd.mu.RUnlock()
	return r.Write(ctx, src)
}

// Seek implements vfs.FileDescriptionImpl.Seek.
func (fd *regularFD) Seek(ctx context.Context, cur, offset int64, whence int32) (int64, error) {
	r := fd.acquire(ctx)
	defer fd.mu.RUnlock()
	return r.Seek(ctx, cur, offset, whence)
}

// IterDirents implements vfs.FileDescriptionImpl.IterDirents.
func (fd *regularFD) IterDirents(context.Context, int64, vfs.IterDirentsCallback) (int64, error) {
	return 0, unix.ENOTDIR
}

// Ioctl implements vfs.FileDescriptionImpl.Ioctl.
func (fd *regularFD) Ioctl(ctx context.Context, cmd uint32, arg uintptr) (uintptr, error) {
	r := fd.acquire(ctx)
	defer fd.mu.RUnlock()
	return r.Ioctl(ctx, cmd, arg)
}

// Allocate implements vfs.FileDescriptionImpl.Allocate.
func (fd *regularFD) Allocate(ctx context.Context, mode uint32, offset, length uint64) error {
	r := fd.acquire(ctx)
	defer fd.mu.RUnlock()
	return r.Allocate(ctx, mode, offset, length)
}

// Sync implements vfs.FileDescriptionImpl.Sync.
func (fd *regularFD) Sync(ctx context.Context) error {
	r := fd.acquire(ctx)
	defer fd.mu.RUnlock()
	return r.Sync(ctx)
}

// ConfigureMMap implements vfs.FileDescriptionImpl.ConfigureMMap.
func (fd *regularFD) ConfigureMMap(ctx context.Context) error {
	r := fd.acquire(ctx)
	defer fd.mu.RUnlock()
	return r.ConfigureMMap(ctx)
}

// mergedEntry is one entry of a merged directory listing.
type mergedEntry struct {
	name string
	typ  uint8
	ino  uint64
}

// mergedEntriesLocked lists directory i as the overlay shows it: upper's
// entries (without whiteouts), then lower's entries that upper neither
// has nor whites out (none if i is opaque or upper-only). i.dirMu is
// held.
func (i *inode) mergedEntriesLocked(ctx context.Context) ([]mergedEntry, error) {
	if i.isRemoved() {
		return nil, nil
	}
	var out []mergedEntry
	var seen map[string]struct{}
	if u := i.upperInode(); u != nil {
		ud := u.(vfs.DirectoryInode)
		ents, err := readLayerDir(ctx, u)
		if err != nil {
			return nil, err
		}
		seen = make(map[string]struct{}, len(ents))
		for _, e := range ents {
			seen[e.name] = struct{}{}
			c, err := ud.Lookup(ctx, e.name)
			if err != nil {
				continue // removed meanwhile.
			}
			if isWhiteout(ctx, c) {
				continue
			}
			ino, ok := originIno(ctx, c)
			if !ok {
				ino = upperOnlyIno(e.ino)
			}
			out = append(out, mergedEntry{e.name, linux.FileTypeToDirentType(c.Attr().Mode), ino})
		}
	}
	if ld := i.lowerDir(); ld != nil {
		ents, err := readLayerDir(ctx, ld)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if _, ok := seen[e.name]; ok {
				continue
			}
			out = append(out, mergedEntry{e.name, e.typ, lowerIno(e.ino)})
		}
	}
	return out, nil
}

// dirFD is an open directory. Its listing is a snapshot of the merged
// directory taken at the first read and again at each read from offset 0
// (rewinddir); offset 2+k is the k-th entry of the snapshot, so offsets
// stay valid while entries are added and removed.
type dirFD struct {
	vfs.FileDescriptionDefaultImpl
	inode *inode

	// mu guards ents and valid.
	mu    sync.Mutex
	ents  []mergedEntry
	valid bool
}

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

// Seek implements vfs.FileDescriptionImpl.Seek: SEEK_SET and SEEK_CUR.
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

// IterDirents implements vfs.FileDescriptionImpl.IterDirents.
func (fd *dirFD) IterDirents(ctx context.Context, off int64, cb vfs.IterDirentsCallback) (int64, error) {
	i := fd.inode
	fd.mu.Lock()
	defer fd.mu.Unlock()
	if off == 0 || !fd.valid {
		i.dirMu.RLock()
		ents, err := i.mergedEntriesLocked(ctx)
		i.dirMu.RUnlock()
		if err != nil {
			return off, err
		}
		fd.ents, fd.valid = ents, true
	}
	if off == 0 {
		if err := cb(vfs.Dirent{Name: ".", Type: linux.DT_DIR, Ino: i.inoNumber(ctx), NextOff: 1}); err != nil {
			return off, err
		}
		off = 1
	}
	if off == 1 {
		i.mu.Lock()
		p := i.parent
		i.mu.Unlock()
		if p == nil {
			p = i
		}
		if err := cb(vfs.Dirent{Name: "..", Type: linux.DT_DIR, Ino: p.inoNumber(ctx), NextOff: 2}); err != nil {
			return off, err
		}
		off = 2
	}
	for k := off - 2; k < int64(len(fd.ents)); k++ {
		e := fd.ents[k]
		if err := cb(vfs.Dirent{Name: e.name, Type: e.typ, Ino: e.ino, NextOff: k + 3}); err != nil {
			return off, err
		}
		off = k + 3
	}
	return off, nil
}
