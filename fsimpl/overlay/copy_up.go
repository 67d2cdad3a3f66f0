package overlay

import (
	"context"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// copyChunk is the bounce-buffer size for copying file data up.
const copyChunk = 64 << 10

// copyUp makes sure i has an upper part, copying it (and its parents) up
// from lower. For a regular file, limit >= 0 copies only the first limit
// bytes of data, because a truncation to limit follows.
func (i *inode) copyUp(ctx context.Context, limit int64) error {
	if i.upperInode() != nil {
		return nil
	}
	i.mu.Lock()
	parent, name := i.parent, i.name
	i.mu.Unlock()
	if parent == nil {
		return unix.EIO // the root always has an upper part.
	}
	if err := parent.copyUp(ctx, -1); err != nil {
		return err
	}
	i.copyMu.Lock()
	defer i.copyMu.Unlock()
	if i.upperInode() != nil {
		return nil
	}
	if i.isRemoved() {
		return unix.ENOENT
	}
	fs := i.fs
	st, err := i.lower.Stat(ctx, linux.STATX_BASIC_STATS)
	if err != nil {
		return err
	}
	tmp := fs.workName()
	u, err := fs.buildCopy(ctx, i.lower, tmp, &st, limit)
	if err != nil {
		fs.dropWork(ctx, tmp)
		return err
	}
	ino := lowerIno(st.Ino)
	if err := u.SetXattr(ctx, xattrOrigin, strconv.FormatUint(ino, 10), 0); err != nil {
		fs.dropWork(ctx, tmp)
		return err
	}
	pu := parent.upperInode().(vfs.DirectoryInode)
	parent.dirMu.Lock()
	if i.isRemoved() {
		parent.dirMu.Unlock()
		fs.dropWork(ctx, tmp)
		return unix.ENOENT
	}
	pst, perr := pu.Stat(ctx, linux.STATX_ATIME|linux.STATX_MTIME)
	if err := fs.work.Rename(ctx, tmp, u, pu, name, nil, 0); err != nil {
		parent.dirMu.Unlock()
		fs.dropWork(ctx, tmp)
		return err
	}
	if perr == nil {
		// Copy-up is not a change of the parent: keep its times, as
		// overlayfs does.
		_ = pu.SetStat(ctx, &vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_ATIME | linux.STATX_MTIME, Atime: pst.Atime, Mtime: pst.Mtime}})
	}
	i.ino.Store(ino)
	i.upper.Store(&layerRef{u})
	parent.dirMu.Unlock()
	fs.register(i, u)
	return nil
}

// buildCopy creates in work, under name, a copy of lower file l whose
// metadata is st.
func (fs *Filesystem) buildCopy(ctx context.Context, l vfs.Inode, name string, st *linux.Statx, limit int64) (vfs.Inode, error) {
	attr := vfs.CreateAttr{Mode: uint32(st.Mode), UID: st.UID, GID: st.GID}
	var (
		u   vfs.Inode
		err error
	)
	switch uint32(st.Mode) & linux.S_IFMT {
	case linux.S_IFREG:
		if u, err = fs.work.Create(ctx, name, attr); err != nil {
			return nil, err
		}
		size := int64(st.Size)
		if limit >= 0 && limit < size {
			size = limit
		}
		if err := copyData(ctx, l, u, size); err != nil {
			return nil, err
		}
	case linux.S_IFDIR:
		u, err = fs.work.Mkdir(ctx, name, attr)
	case linux.S_IFLNK:
		sl, ok := l.(vfs.SymlinkInode)
		if !ok {
			return nil, unix.EIO
		}
		target, err := sl.Readlink(ctx)
		if err != nil {
			return nil, err
		}
		u, err = fs.work.Symlink(ctx, name, target, attr)
		if err != nil {
			return nil, err
		}
	default:
		attr.Dev = linux.MakeDev(st.RdevMajor, st.RdevMinor)
		u, err = fs.work.Mknod(ctx, name, attr)
	}
	if err != nil {
		return nil, err
	}
	if err := copyAttrs(ctx, l, u, st); err != nil {
		return nil, err
	}
	return u, nil
}

// copyAttrs copies xattrs, then owner, mode and times (st) from l to u.
func copyAttrs(ctx context.Context, l, u vfs.Inode, st *linux.Statx) error {
	names, err := l.ListXattr(ctx)
	if err != nil && err != unix.EOPNOTSUPP {
		return err
	}
	for _, n := range names {
		if ownXattr(n) {
			continue
		}
		v, err := l.GetXattr(ctx, n)
		if err == unix.ENODATA {
			continue
		}
		if err != nil {
			return err
		}
		if err := u.SetXattr(ctx, n, v, 0); err != nil {
			return err
		}
	}
	opts := vfs.SetStatOptions{Stat: linux.Statx{
		Mask: linux.STATX_UID | linux.STATX_GID | linux.STATX_ATIME | linux.STATX_MTIME,
		UID:  st.UID, GID: st.GID, Atime: st.Atime, Mtime: st.Mtime,
	}}
	if uint32(st.Mode)&linux.S_IFMT != linux.S_IFLNK {
		opts.Stat.Mask |= linux.STATX_MODE
		opts.Stat.Mode = st.Mode & 0o7777
	}
	return u.SetStat(ctx, &opts)
}

// copyData copies the first size bytes of regular file l to u, skipping
// holes where l reports them, and sets u's size.
func copyData(ctx context.Context, l, u vfs.Inode, size int64) error {
	if size > 0 {
		src, err := l.Open(ctx, vfs.VirtualDentry{}, vfs.OpenOptions{Flags: linux.O_RDONLY | linux.O_NOATIME})
		if err != nil {
			return err
		}
		defer src.Release(ctx)
		dst, err := u.Open(ctx, vfs.VirtualDentry{}, vfs.OpenOptions{Flags: linux.O_WRONLY})
		if err != nil {
			return err
		}
		defer dst.Release(ctx)
		buf := make([]byte, min(size, copyChunk))
		seekOK := true
		for off := int64(0); off < size; {
			end := size
			if seekOK {
				d, err := src.Seek(ctx, 0, off, linux.SEEK_DATA)
				switch {
				case err == unix.ENXIO:
					off = size // only a hole is left.
					continue
				case err != nil:
					seekOK = false
				default:
					off = min(d, size)
					if h, err := src.Seek(ctx, 0, off, linux.SEEK_HOLE); err == nil && h < end {
						end = h
					}
				}
			}
			for off < end {
				n, err := src.PRead(ctx, vfs.BytesIOSequence(buf[:min(int64(len(buf)), end-off)]), off)
				if err != nil {
					return err
				}
				if n == 0 {
					end, size = off, off // lower is shorter than it said.
					break
				}
				w, _, err := dst.PWrite(ctx, vfs.BytesIOSequence(buf[:n]), off, false)
				if err != nil {
					return err
				}
				if w != n {
					return unix.EIO
				}
				off += n
			}
		}
	}
	return u.SetStat(ctx, &vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_SIZE, Size: uint64(size)}})
}
