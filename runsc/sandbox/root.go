// Package sandbox starts the host processes of a sandbox other than the
// Sentry (today: the Gofer) and assembles the kernel's view of the
// container's files from them.
//
// The root filesystem is the Gofer's tree (served over 9P from a separate,
// confined process) under an overlay whose upper layer is a tmpfs, so the
// container's writes stay in the sandbox unless the root is made writable;
// /dev is the Sentry's own. Bind mounts are further trees of the same
// Gofer, each on its own connection; StartRoot builds their filesystems
// and the caller mounts them where the spec says. The Sentry itself opens
// no host path.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/fsimpl/dev"
	fsgofer "github.com/palisade-sandbox/palisade/fsimpl/gofer"
	"github.com/palisade-sandbox/palisade/fsimpl/overlay"
	"github.com/palisade-sandbox/palisade/fsimpl/tmpfs"
	"github.com/palisade-sandbox/palisade/gofer"
	"github.com/palisade-sandbox/palisade/p9"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// RootOptions says what the container's root is.
type RootOptions struct {
	// HostRoot is the host directory served as "/"; it must contain no
	// symlinks (the Gofer refuses them).
	HostRoot string
	// Writable makes writes reach HostRoot instead of staying in a tmpfs
	// upper layer.
	Writable bool
	// Binds are host directories served as trees of their own (tree i+1
	// of the Gofer); their paths must contain no symlinks either.
	Binds []gofer.Mount
	// Stderr receives the Gofer's diagnostics.
	Stderr io.Writer
}

// Root is a running Gofer and the filesystem tree built over it.
type Root struct {
	gofer  *exec.Cmd
	client *p9.Client
	// VFS holds the container's filesystems; Root is "/" (with a
	// reference that Close drops).
	VFS  *vfs.VirtualFilesystem
	Root vfs.VirtualDentry
	// Binds are the filesystems of RootOptions.Binds, in order, not yet
	// mounted anywhere.
	Binds []*vfs.Filesystem
	// binds are the connections of the bind trees.
	binds []*p9.Client
}

// StartRoot starts the Gofer for opts.HostRoot and builds the tree.
func StartRoot(opts RootOptions) (_ *Root, retErr error) {
	ctx := context.Background()
	// One connection per tree: the root first, then each bind.
	var socks []*os.File
	var clientFDs []int
	closeAll := func() {
		for _, s := range socks {
			s.Close()
		}
		for _, fd := range clientFDs {
			if fd >= 0 {
				os.NewFile(uintptr(fd), "gofer-client").Close()
			}
		}
	}
	for range 1 + len(opts.Binds) {
		sock, clientFD, err := gofer.NewSocketPair()
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("starting the gofer: %w", err)
		}
		socks = append(socks, sock)
		clientFDs = append(clientFDs, clientFD)
	}
	cmd, err := gofer.Start(gofer.StartOptions{
		Options: gofer.Options{Root: opts.HostRoot, RootReadOnly: !opts.Writable, Mounts: opts.Binds},
		Sockets: socks,
		Stderr:  opts.Stderr,
	})
	for _, s := range socks {
		s.Close()
	}
	socks = nil
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("starting the gofer: %w", err)
	}
	r := &Root{gofer: cmd}
	defer func() {
		closeAll()
		if retErr != nil {
			r.Close()
		}
	}()
	connect := func(i int) (*p9.Client, error) {
		c, err := p9.NewClient(clientFDs[i], p9.DefaultMsize, p9.VersionPalisade)
		if err != nil {
			return nil, err
		}
		clientFDs[i] = -1 // the client owns it now
		return c, nil
	}
	client, err := connect(0)
	if err != nil {
		return r, fmt.Errorf("connecting to the gofer: %w", err)
	}
	r.client = client
	lower, err := fsgofer.New(client, fsgofer.Options{})
	if err != nil {
		return r, fmt.Errorf("attaching to the gofer's root: %w", err)
	}
	var rootFS vfs.FilesystemImpl = lower
	if !opts.Writable {
		ofs, err := overlay.New(ctx, lower, tmpfs.New(tmpfs.Options{}), overlay.Options{})
		if err != nil {
			return r, fmt.Errorf("building the root overlay: %w", err)
		}
		rootFS = ofs
	}
	r.VFS = vfs.New()
	ns := r.VFS.NewMountNamespace(r.VFS.NewFilesystem(rootFS), vfs.MountFlags{})
	r.Root = ns.Root()
	if err := r.mountDev(ctx); err != nil {
		return r, err
	}
	for i, b := range opts.Binds {
		c, err := connect(i + 1)
		if err != nil {
			return r, fmt.Errorf("connecting to the gofer for %s: %w", b.Path, err)
		}
		r.binds = append(r.binds, c)
		// The host may change a bind mount's files behind the Sentry's
		// back: revalidate rather than trust cached attributes.
		fs, err := fsgofer.New(c, fsgofer.Options{Revalidate: true})
		if err != nil {
			return r, fmt.Errorf("attaching to the gofer's tree %s: %w", b.Path, err)
		}
		r.Binds = append(r.Binds, r.VFS.NewFilesystem(fs))
	}
	return r, nil
}

// mountDev mounts the Sentry's /dev over the root's /dev, creating the
// directory first if the root lacks it (possible only when the root is
// not written through to the host).
func (r *Root) mountDev(ctx context.Context) error {
	creds := vfs.RootCredentials()
	devfs, err := dev.New(dev.Options{})
	if err != nil {
		return fmt.Errorf("building /dev: %w", err)
	}
	err = r.VFS.MkdirAt(ctx, creds, &vfs.PathOperation{Root: r.Root, Start: r.Root, Path: "/dev"}, 0o755)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("creating /dev in the root: %w", err)
	}
	target, err := r.VFS.GetDentryAt(ctx, creds, &vfs.PathOperation{Root: r.Root, Start: r.Root, Path: "/dev", FollowFinalSymlink: true})
	if err != nil {
		return fmt.Errorf("finding /dev in the root: %w", err)
	}
	defer target.DecRef()
	if _, err := r.VFS.MountAt(ctx, creds, r.VFS.NewFilesystem(devfs), target, vfs.MountFlags{NoSuid: true, NoExec: true}); err != nil {
		return fmt.Errorf("mounting /dev: %w", err)
	}
	return nil
}

// Close drops the tree, closes the connection and waits for the Gofer,
// which exits when its connections close (killed after a grace period).
func (r *Root) Close() error {
	if r.Root.Ok() {
		r.Root.DecRef()
		r.Root = vfs.VirtualDentry{}
	}
	r.Binds = nil
	for _, c := range r.binds {
		c.Close()
	}
	r.binds = nil
	if r.client != nil {
		r.client.Close()
		r.client = nil
	}
	if r.gofer == nil {
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- r.gofer.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		r.gofer.Process.Kill()
		err = <-done
		err = errors.Join(errors.New("gofer did not exit after its connection closed; killed"), err)
	}
	r.gofer = nil
	return err
}
