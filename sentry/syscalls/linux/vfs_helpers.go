package linux

import (
	"errors"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"golang.org/x/sys/unix"
)

// maxPathLen is PATH_MAX, including the terminating NUL.
const maxPathLen = 4096

// getFile returns the open file at fd with a reference the caller drops,
// or EBADF.
func getFile(t *kernel.Task, fd int32) (*vfs.FileDescription, linux.Errno) {
	f, _ := t.FDTable().Get(fd)
	if f == nil {
		return nil, unix.EBADF
	}
	return f, 0
}

// copyInPath reads a path argument: EFAULT for a bad pointer,
// ENAMETOOLONG past PATH_MAX.
func copyInPath(t *kernel.Task, addr uintptr) (string, linux.Errno) {
	s, err := t.MemoryManager().CopyInString(addr, maxPathLen-1)
	if err != nil {
		if errors.Is(err, unix.ENAMETOOLONG) {
			return "", unix.ENAMETOOLONG
		}
		return "", errnoOf(err)
	}
	return s, 0
}

// pathOperation is a resolved path argument: the PathOperation and the
// references it holds.
type pathOperation struct {
	vfs.PathOperation
}

// release drops the references the operation holds.
func (p *pathOperation) release() {
	p.Root.DecRef()
	p.Start.DecRef()
}

// newPathOperation builds the operation for (dirfd, path) as the *at
// syscalls take them: relative paths start at dirfd (AT_FDCWD is the cwd),
// absolute ones at the task's root.
func newPathOperation(t *kernel.Task, dirfd int32, path string, follow, emptyPath bool) (*pathOperation, linux.Errno) {
	if path == "" && !emptyPath {
		return nil, unix.ENOENT
	}
	fsc := t.FSContext()
	root := fsc.Root()
	var start vfs.VirtualDentry
	switch {
	case len(path) > 0 && path[0] == '/':
		start = root
		start.IncRef()
	case dirfd == linux.AT_FDCWD:
		start = fsc.WorkingDirectory()
	default:
		f, errno := getFile(t, dirfd)
		if errno != 0 {
			root.DecRef()
			return nil, errno
		}
		start = f.VirtualDentry()
		start.IncRef()
		isDir := start.Dentry.Inode().Attr().IsDir()
		f.DecRef(t.Ctx())
		if !isDir && path != "" {
			root.DecRef()
			start.DecRef()
			return nil, unix.ENOTDIR
		}
	}
	return &pathOperation{vfs.PathOperation{
		Root: root, Start: start, Path: path, FollowFinalSymlink: follow, EmptyPath: emptyPath,
	}}, 0
}

// pathArg copies in a path and builds its operation.
func pathArg(t *kernel.Task, dirfd int32, addr uintptr, follow, emptyPath bool) (*pathOperation, linux.Errno) {
	path, errno := copyInPath(t, addr)
	if errno != 0 {
		return nil, errno
	}
	return newPathOperation(t, dirfd, path, follow, emptyPath)
}
