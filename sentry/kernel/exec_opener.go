package kernel

import (
	"context"
	"io"
	"os"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/loader"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"golang.org/x/sys/unix"
)

// vfsOpener opens executables in the sandbox's VFS as a task with root,
// cwd and creds names them: it is the loader's FileOpener for execve and
// for the first process.
type vfsOpener struct {
	// ctx is the exec'ing task's context (nil: the Sentry's own, for
	// the first process): /proc/self must name the caller.
	ctx       context.Context
	v         *vfs.VirtualFilesystem
	root, cwd vfs.VirtualDentry
	creds     *vfs.Credentials
	// noFollow refuses a symlink as the program itself (execveat's
	// AT_SYMLINK_NOFOLLOW); interpreters are always followed.
	noFollow bool
	// opened counts OpenExecutable calls: the first is the program.
	opened int
	// seen are the locations of the files opened, by path, each with a
	// reference; takeExe keeps the program's and drops the rest.
	seen map[string]vfs.VirtualDentry
}

// context returns the context to open files with.
func (o *vfsOpener) context() context.Context {
	if o.ctx == nil {
		return context.Background()
	}
	return o.ctx
}

// takeExe returns the location of the file opened as path (the program
// the loader chose, for /proc/PID/exe) and drops the others.
func (o *vfsOpener) takeExe(path string) vfs.VirtualDentry {
	vd, ok := o.seen[path]
	if ok {
		delete(o.seen, path)
	}
	o.release()
	return vd
}

// release drops what the opener still holds.
func (o *vfsOpener) release() {
	for p, vd := range o.seen {
		vd.DecRef()
		delete(o.seen, p)
	}
}

// OpenExecutable implements loader.FileOpener.OpenExecutable with
// execve's checks: a regular file, executable by the caller, not on a
// noexec mount.
func (o *vfsOpener) OpenExecutable(path string) (loader.File, error) {
	ctx := o.context()
	perr := func(err error) error { return &os.PathError{Op: "open executable", Path: path, Err: err} }
	if path == "" {
		return nil, perr(unix.ENOENT)
	}
	follow := !(o.noFollow && o.opened == 0)
	o.opened++
	pop := vfs.PathOperation{Root: o.root, Start: o.cwd, Path: path, FollowFinalSymlink: follow}
	fd, err := o.v.OpenAt(ctx, o.creds, &pop, linux.O_RDONLY, 0)
	if err != nil {
		return nil, perr(err)
	}
	f, err := o.checkExecutable(fd)
	if err != nil {
		fd.DecRef(ctx)
		return nil, perr(err)
	}
	f.name = path
	if _, dup := o.seen[path]; !dup {
		if o.seen == nil {
			o.seen = make(map[string]vfs.VirtualDentry)
		}
		vd := fd.VirtualDentry()
		vd.IncRef()
		o.seen[path] = vd
	}
	return f, nil
}

// checkExecutable applies execve's checks to an open file: a regular
// file, executable by the caller, not on a noexec mount. The returned
// file takes over the caller's reference on fd.
func (o *vfsOpener) checkExecutable(fd *vfs.FileDescription) (*execFile, error) {
	ctx := o.context()
	stx, err := fd.Stat(ctx, linux.STATX_BASIC_STATS)
	if err != nil {
		return nil, err
	}
	if uint32(stx.Mode)&linux.S_IFMT != linux.S_IFREG || fd.VirtualDentry().Mount.Flags().NoExec {
		return nil, unix.EACCES
	}
	if err := vfs.GenericCheckPermissions(o.creds, vfs.MayExec, uint32(stx.Mode), stx.UID, stx.GID); err != nil {
		return nil, err
	}
	return &execFile{fd: fd, size: int64(stx.Size)}, nil
}

// execFile is an open executable read by the loader.
type execFile struct {
	fd   *vfs.FileDescription
	size int64
	name string
}

// ReadAt implements io.ReaderAt.
func (f *execFile) ReadAt(b []byte, off int64) (int, error) {
	n, err := f.fd.PRead(context.Background(), vfs.BytesIOSequence(b), off)
	if err == nil && int(n) < len(b) {
		err = io.EOF
	}
	return int(n), err
}

// Size implements loader.File.Size.
func (f *execFile) Size() int64 { return f.size }

// Name implements loader.File.Name.
func (f *execFile) Name() string { return f.name }

// Close implements loader.File.Close.
func (f *execFile) Close() error {
	f.fd.DecRef(context.Background())
	return nil
}
