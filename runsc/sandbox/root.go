// Package sandbox starts the host processes of a sandbox other than the
// Sentry (today: the Gofer) and assembles the kernel's view of the
// container's files from them.
//
// The root filesystem is the Gofer's tree (served over 9P from a separate,
// confined process) under an overlay whose upper layer is a tmpfs, so the
// container's writes stay in the sandbox unless the root is made writable;
// /dev is the Sentry's own. The Sentry itself opens no host path.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

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
}

// StartRoot starts the Gofer for opts.HostRoot and builds the tree.
func StartRoot(opts RootOptions) (_ *Root, retErr error) {
	ctx := context.Background()
	sock, clientFD, err := gofer.NewSocketPair()
	if err != nil {
		return nil, fmt.Errorf("starting the gofer: %w", err)
	}
	cmd, err := gofer.Start(gofer.StartOptions{
		Options: gofer.Options{Root: opts.HostRoot, RootReadOnly: !opts.Writable},
		Sockets: []*os.File{sock},
		Stderr:  opts.Stderr,
	})
	sock.Close()
	if err != nil {
		os.NewFile(uintptr(clientFD), "gofer-client").Close()
		return nil, fmt.Errorf("starting the gofer: %w", err)
	}
	r := &Root{gofer: cmd}
	defer func() {
		if retErr != nil {
			r.Close()
		}
	}()
	client, err := p9.NewClient(clientFD, p9.DefaultMsize, p9.VersionPalisade)
	if err != nil {
		os.NewFile(uintptr(clientFD), "gofer-client").Close()
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
	return r, nil
}

// mountDev mounts the Sentry's /dev over the root's /dev.
func (r *Root) mountDev(ctx context.Context) error {
	creds := vfs.RootCredentials()
	devfs, err := dev.New(dev.Options{})
	if err != nil {
		return fmt.Errorf("building /dev: %w", err)
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
