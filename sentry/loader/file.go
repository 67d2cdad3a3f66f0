package loader

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// File is an executable file the loader reads: the program, an ELF
// interpreter, or a script's interpreter.
type File interface {
	io.ReaderAt
	// Size returns the file's length in bytes.
	Size() int64
	// Name returns the path the file was opened by (for messages).
	Name() string
	// Close releases the file. The loader closes every File it gets from
	// a FileOpener before Load returns.
	Close() error
}

// FileOpener opens the files a program needs to be loaded. The kernel
// implements it over the sandbox's VFS: path is resolved like any path
// the exec'ing task names (a relative one from its working directory,
// within its root, following symlinks), and the opener fails as
// execve(2) would: ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG from the path
// walk; EACCES if the file is not a regular file, has no execute
// permission for the task, or lies on a noexec mount.
type FileOpener interface {
	OpenExecutable(path string) (File, error)
}

// HostOpener opens executables in the host's filesystem (relative paths
// from the Sentry's working directory), applying execve's checks with the
// Sentry's own credentials. It is for tests and for running a host
// program directly (runsc do); a sandbox's kernel must resolve paths in
// its own VFS instead.
type HostOpener struct{}

// OpenExecutable implements FileOpener.OpenExecutable.
func (HostOpener) OpenExecutable(path string) (File, error) {
	perr := func(err error) error { return &os.PathError{Op: "open executable", Path: path, Err: err} }
	if path == "" {
		return nil, perr(unix.ENOENT)
	}
	// O_NONBLOCK: opening a FIFO must not wait for a writer; it is
	// refused below as not a regular file.
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, perr(err)
	}
	f := os.NewFile(uintptr(fd), path)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, perr(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		f.Close()
		return nil, perr(unix.EACCES)
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err == nil && sfs.Flags&unix.ST_NOEXEC != 0 {
		f.Close()
		return nil, perr(unix.EACCES)
	}
	groups, _ := unix.Getgroups()
	if !mayExec(st.Mode, st.Uid, st.Gid, uint32(unix.Geteuid()), uint32(unix.Getegid()), groups) {
		f.Close()
		return nil, perr(unix.EACCES)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		f.Close()
		return nil, perr(err)
	}
	return &hostFile{f: f, size: st.Size}, nil
}

// mayExec reports whether a caller with euid, egid and supplementary
// groups may execute a regular file with mode, uid and gid, as Linux's
// generic_permission decides MAY_EXEC: root (CAP_DAC_OVERRIDE) needs any
// execute bit; anyone else the owner, group or other bit that applies.
func mayExec(mode, uid, gid, euid, egid uint32, groups []int) bool {
	if euid == 0 {
		return mode&0o111 != 0
	}
	if euid == uid {
		return mode&0o100 != 0
	}
	inGroup := egid == gid
	for _, g := range groups {
		inGroup = inGroup || uint32(g) == gid
	}
	if inGroup {
		return mode&0o010 != 0
	}
	return mode&0o001 != 0
}

// hostFile is a File over a host file.
type hostFile struct {
	f    *os.File
	size int64
}

func (h *hostFile) ReadAt(b []byte, off int64) (int, error) { return h.f.ReadAt(b, off) }
func (h *hostFile) Size() int64                             { return h.size }
func (h *hostFile) Name() string                            { return h.f.Name() }
func (h *hostFile) Close() error                            { return h.f.Close() }

// callerFile is the File of LoadArgs.File: the caller owns it, so Close
// does nothing.
type callerFile struct {
	r    io.ReaderAt
	size int64
	name string
}

func (c *callerFile) ReadAt(b []byte, off int64) (int, error) { return c.r.ReadAt(b, off) }
func (c *callerFile) Size() int64                             { return c.size }
func (c *callerFile) Name() string                            { return c.name }
func (c *callerFile) Close() error                            { return nil }

// openFile opens path with opener, wrapping its errors with the path.
func openFile(opener FileOpener, path string) (File, error) {
	if opener == nil {
		return nil, noOpenerError(path)
	}
	f, err := opener.OpenExecutable(path)
	if err != nil {
		return nil, err
	}
	if f.Size() < 0 {
		f.Close()
		return nil, fmt.Errorf("opening %s: negative size: %w", path, unix.EIO)
	}
	return f, nil
}
