// Package dev is the Sentry's /dev: a devtmpfs-like filesystem populated
// with the character devices and links every Linux container expects.
//
// The namespace is a tmpfs instance (fsimpl/tmpfs), so /dev behaves like
// the tmpfs Docker mounts there: root may create regular files,
// directories, symlinks and device nodes in it, rename and remove them.
// Every tmpfs inode is wrapped by this package's inode, which forwards
// everything to tmpfs except Open of a character device: that is served
// by the device registered for the node's device number, whatever its
// name (so mknod("/dev/mynull", S_IFCHR, makedev(1, 3)) is another
// /dev/null, as in Linux). The wrapper is a comparable value holding the
// tmpfs inode, so two lookups of one file give equal vfs.Inodes.
//
// New populates the root (mode 0755, owned by root) with null (1:3),
// zero (1:5), full (1:7), random (1:8), urandom (1:9) and tty (5:0), all
// mode 0666; the symlinks fd -> /proc/self/fd and stdin, stdout,
// stderr -> /proc/self/fd/0, 1, 2; and the empty directories shm (01777)
// and pts (0755). ptmx is deliberately absent until devpts exists (Docker
// makes it a symlink to pts/ptmx; the kernel should add that link when it
// mounts devpts). The kernel mounts a separate tmpfs on /dev/shm and a
// devpts on /dev/pts (see the package example in the tests and
// MountPoints); the directories here are only mount points, although a
// /dev without those mounts still works, files made in shm then living in
// /dev's own tmpfs.
//
// /dev/tty needs the opener's controlling terminal, which belongs to the
// kernel's sessions: Options.ControllingTTY is the hook through which the
// kernel supplies it; without it, or when it reports none, opening
// /dev/tty fails with ENXIO as in Linux.
//
// Devices are streams for the VFS (it opens every character device with
// FileDescriptionOptions.Stream), so lseek and pread on /dev/null and
// /dev/zero fail with ESPIPE, where Linux returns 0 or reads; mmap of
// /dev/zero is the memory manager's business (ConfigureMMap returns
// ENODEV like every file today).
package dev

import (
	"context"
	"fmt"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/tmpfs"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// ControllingTTY is implemented by the kernel: it opens the calling
// task's controlling terminal for /dev/tty. It returns the implementation
// of the new description (for a host terminal, what Inode.Open of the
// terminal's inode returns) or ENXIO when the caller's session has no
// controlling terminal.
type ControllingTTY interface {
	OpenControllingTTY(ctx context.Context, flags uint32) (vfs.FileDescriptionImpl, error)
}

// Options configure a /dev instance.
type Options struct {
	// ControllingTTY serves opens of /dev/tty; nil means no task has a
	// controlling terminal (ENXIO).
	ControllingTTY ControllingTTY
	// MaxSize limits the bytes of regular files created in /dev (the
	// tmpfs size= option); 0 means 64 KiB, enough for the odd lock or
	// marker file without letting /dev eat memory.
	MaxSize int64
	// Clock returns the time in nanoseconds since the epoch; nil means
	// the host's real time.
	Clock func() int64
}

// Device numbers of the devices New creates.
const (
	MemMajor    = 1 // null, zero, full, random, urandom
	NullMinor   = 3
	ZeroMinor   = 5
	FullMinor   = 7
	RandomMinor = 8
	UrandMinor  = 9
	TTYAuxMajor = 5 // tty
	TTYMinor    = 0
)

// MountPoints are the directories of /dev on which the kernel mounts
// other filesystems: a tmpfs (mode 01777, nosuid, nodev) on shm and a
// devpts on pts, as Docker does.
var MountPoints = []string{"shm", "pts"}

// Filesystem is one /dev instance. It implements vfs.FilesystemImpl.
type Filesystem struct {
	tmp     *tmpfs.Filesystem
	root    inode
	devices map[uint64]device
}

// New returns a populated /dev. Mount it like any filesystem:
// v.MountAt(ctx, creds, v.NewFilesystem(fs), target, vfs.MountFlags{NoSuid: true, NoExec: true}).
func New(opts Options) (*Filesystem, error) {
	size := opts.MaxSize
	if size <= 0 {
		size = 64 << 10
	}
	fs := &Filesystem{tmp: tmpfs.New(tmpfs.Options{MaxSize: size, RootMode: 0o755, Clock: opts.Clock})}
	fs.root = inode{fs: fs, Inode: fs.tmp.Root()}
	fs.devices = map[uint64]device{
		linux.MakeDev(MemMajor, NullMinor):   nullDevice{},
		linux.MakeDev(MemMajor, ZeroMinor):   zeroDevice{},
		linux.MakeDev(MemMajor, FullMinor):   fullDevice{},
		linux.MakeDev(MemMajor, RandomMinor): randomDevice{},
		linux.MakeDev(MemMajor, UrandMinor):  randomDevice{},
		linux.MakeDev(TTYAuxMajor, TTYMinor): ttyDevice{hook: opts.ControllingTTY},
	}
	ctx := context.Background()
	dir := fs.tmp.Root().(vfs.DirectoryInode)
	for _, c := range []struct {
		name         string
		major, minor uint32
	}{
		{"null", MemMajor, NullMinor},
		{"zero", MemMajor, ZeroMinor},
		{"full", MemMajor, FullMinor},
		{"random", MemMajor, RandomMinor},
		{"urandom", MemMajor, UrandMinor},
		{"tty", TTYAuxMajor, TTYMinor},
	} {
		attr := vfs.CreateAttr{Mode: linux.S_IFCHR | 0o666, Dev: linux.MakeDev(c.major, c.minor)}
		if _, err := dir.Mknod(ctx, c.name, attr); err != nil {
			return nil, fmt.Errorf("creating /dev/%s: %w", c.name, err)
		}
	}
	for _, l := range []struct{ name, target string }{
		{"fd", "/proc/self/fd"},
		{"stdin", "/proc/self/fd/0"},
		{"stdout", "/proc/self/fd/1"},
		{"stderr", "/proc/self/fd/2"},
	} {
		if _, err := dir.Symlink(ctx, l.name, l.target, vfs.CreateAttr{Mode: linux.S_IFLNK | 0o777}); err != nil {
			return nil, fmt.Errorf("creating /dev/%s: %w", l.name, err)
		}
	}
	for _, d := range []struct {
		name string
		mode uint32
	}{{"shm", 0o1777}, {"pts", 0o755}} {
		if _, err := dir.Mkdir(ctx, d.name, vfs.CreateAttr{Mode: linux.S_IFDIR | d.mode}); err != nil {
			return nil, fmt.Errorf("creating /dev/%s: %w", d.name, err)
		}
	}
	return fs, nil
}

// Root implements vfs.FilesystemImpl.Root.
func (fs *Filesystem) Root() vfs.Inode { return fs.root }

// StatFS implements vfs.FilesystemImpl.StatFS: /dev reports itself as the
// tmpfs it is, as a container's /dev does.
func (fs *Filesystem) StatFS(ctx context.Context) (linux.Statfs, error) {
	return fs.tmp.StatFS(ctx)
}

// Release implements vfs.FilesystemImpl.Release.
func (fs *Filesystem) Release(ctx context.Context) { fs.tmp.Release(ctx) }

// FSType implements vfs.FilesystemTyper.
func (fs *Filesystem) FSType() string { return "devtmpfs" }
