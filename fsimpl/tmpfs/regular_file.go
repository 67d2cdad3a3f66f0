package tmpfs

import (
	"context"
	"math"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// ioChunk is the bounce-buffer size used to move data between an
// IOSequence and Storage.
const ioChunk = 64 << 10

// regularFD is an open regular file.
type regularFD struct {
	vfs.FileDescriptionDefaultImpl
	inode *inode
	// noatime is O_NOATIME: reads leave atime alone.
	noatime bool
}

// PRead implements vfs.FileDescriptionImpl.PRead.
func (fd *regularFD) PRead(ctx context.Context, dst vfs.IOSequence, offset int64) (int64, error) {
	i := fd.inode
	want := dst.NumBytes()
	if want == 0 {
		return 0, nil
	}
	buf := make([]byte, min(want, ioChunk))
	var done int64
	i.mu.RLock()
	for done < want {
		off := offset + done
		if off >= i.size {
			break
		}
		n := min(int64(len(buf)), want-done, i.size-off)
		i.data.ReadAt(buf[:n], off)
		c, err := dst.CopyOutAt(ctx, done, buf[:n])
		done += int64(c)
		if err != nil {
			i.mu.RUnlock()
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
	}
	i.mu.RUnlock()
	if !fd.noatime {
		i.touchATime()
	}
	return done, nil
}

// PWrite implements vfs.FileDescriptionImpl.PWrite.
func (fd *regularFD) PWrite(ctx context.Context, src vfs.IOSequence, offset int64, appendMode bool) (int64, int64, error) {
	i := fd.inode
	want := src.NumBytes()
	i.mu.Lock()
	defer i.mu.Unlock()
	if appendMode {
		offset = i.size
	}
	if want == 0 {
		return 0, offset, nil
	}
	if offset > math.MaxInt64-want {
		return 0, offset, unix.EFBIG
	}
	buf := make([]byte, min(want, ioChunk))
	var done int64
	var err error
	for done < want {
		n := min(int64(len(buf)), want-done)
		var c int
		c, err = src.CopyInAt(ctx, done, buf[:n])
		if c > 0 {
			var w int
			w, err2 := i.data.WriteAt(buf[:c], offset+done)
			done += int64(w)
			if err2 != nil {
				err = err2
			}
		}
		if err != nil || c == 0 {
			break
		}
	}
	if end := offset + done; end > i.size {
		i.size = end
	}
	if done > 0 {
		now := i.fs.clock()
		i.mtime, i.ctime = now, now
		return done, offset + done, nil
	}
	return 0, offset, err
}

// Seek implements vfs.FileDescriptionImpl.Seek, with SEEK_DATA and
// SEEK_HOLE reporting the page-granular holes of the file.
func (fd *regularFD) Seek(_ context.Context, cur, offset int64, whence int32) (int64, error) {
	i := fd.inode
	i.mu.RLock()
	defer i.mu.RUnlock()
	switch whence {
	case linux.SEEK_DATA:
		if offset < 0 || offset >= i.size {
			return 0, unix.ENXIO
		}
		d, ok := i.data.NextData(offset)
		if !ok || d >= i.size {
			return 0, unix.ENXIO
		}
		return d, nil
	case linux.SEEK_HOLE:
		if offset < 0 || offset >= i.size {
			return 0, unix.ENXIO
		}
		return min(i.data.NextHole(offset), i.size), nil
	}
	return vfs.GenericSeek(cur, offset, whence, i.size)
}

// Allocate implements vfs.FileDescriptionImpl.Allocate: mode 0 and
// FALLOC_FL_KEEP_SIZE reserve pages (extending the size without
// KEEP_SIZE); FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE frees them.
func (fd *regularFD) Allocate(_ context.Context, mode uint32, offset, length uint64) error {
	i := fd.inode
	off, n := int64(offset), int64(length)
	i.mu.Lock()
	defer i.mu.Unlock()
	switch mode {
	case 0, linux.FALLOC_FL_KEEP_SIZE:
		if err := i.data.Allocate(off, n); err != nil {
			return err
		}
		if mode == 0 && off+n > i.size {
			i.size = off + n
			now := i.fs.clock()
			i.mtime, i.ctime = now, now
		}
		return nil
	case linux.FALLOC_FL_PUNCH_HOLE | linux.FALLOC_FL_KEEP_SIZE:
		end := min(off+n, i.size)
		if off < end {
			i.data.PunchHole(off, end-off)
		}
		now := i.fs.clock()
		i.mtime, i.ctime = now, now
		return nil
	case linux.FALLOC_FL_PUNCH_HOLE:
		return unix.EOPNOTSUPP
	}
	return unix.EOPNOTSUPP
}

// Release implements vfs.FileDescriptionImpl.Release: the pages of a file
// that no directory names any more are freed with its last description.
func (fd *regularFD) Release(context.Context) {
	i := fd.inode
	i.fs.mu.RLock()
	defer i.fs.mu.RUnlock()
	i.mu.Lock()
	defer i.mu.Unlock()
	i.opens--
	i.maybeFreeLocked()
}
