package boot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/fsimpl/tmpfs"
	"github.com/palisade-sandbox/palisade/runsc/sandbox"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// MountKind says what filesystem a Mount puts at its destination.
type MountKind int

// Mount kinds.
const (
	// MountBind is a host directory, served by the Gofer as its own tree.
	MountBind MountKind = iota + 1
	// MountTmpfs is a fresh tmpfs.
	MountTmpfs
	// MountProc is a proc filesystem of the sandbox's kernel.
	MountProc
	// MountEmptySysfs stands in for sysfs, which the Sentry does not
	// serve yet: an empty read-only tmpfs, so that /sys exists.
	MountEmptySysfs
)

func (k MountKind) String() string {
	switch k {
	case MountBind:
		return "bind"
	case MountTmpfs:
		return "tmpfs"
	case MountProc:
		return "proc"
	case MountEmptySysfs:
		return "sysfs (empty stand-in)"
	}
	return fmt.Sprintf("MountKind(%d)", int(k))
}

// Mount is one filesystem mounted over the root.
type Mount struct {
	Kind MountKind
	// Destination is an absolute path in the sandbox without "." or ".."
	// components. Missing directories on the way are created.
	Destination string
	// Source is the host directory of a bind mount (no symlinks in it).
	Source string
	// Flags are the mount's flags (ro, nosuid, nodev, noexec).
	Flags vfs.MountFlags
	// Tmpfs configures a tmpfs mount (size=, nr_inodes=, mode=, uid=,
	// gid=).
	Tmpfs tmpfs.Options
}

// validate checks the parts of m that do not depend on the tree.
func (m *Mount) validate() error {
	if err := CheckDestination(m.Destination); err != nil {
		return err
	}
	switch m.Kind {
	case MountBind:
		if !path.IsAbs(m.Source) {
			return fmt.Errorf("bind source %q is not an absolute path", m.Source)
		}
	case MountTmpfs, MountProc, MountEmptySysfs:
	default:
		return fmt.Errorf("unknown mount kind %v", m.Kind)
	}
	return nil
}

// CheckDestination checks that dest is an absolute path in the sandbox
// other than "/" itself, with no "." or ".." components.
func CheckDestination(dest string) error {
	if !strings.HasPrefix(dest, "/") {
		return fmt.Errorf("%q is not an absolute path", dest)
	}
	if strings.Trim(dest, "/") == "" {
		return errors.New("cannot mount over the root (use root.path)")
	}
	if strings.IndexByte(dest, 0) >= 0 {
		return fmt.Errorf("%q contains a NUL byte", dest)
	}
	if len(dest) >= unix.PathMax {
		return fmt.Errorf("path of %d bytes is too long", len(dest))
	}
	for _, c := range strings.Split(strings.Trim(dest, "/"), "/") {
		if c == "." || c == ".." {
			return fmt.Errorf("%q contains a %q component", dest, c)
		}
	}
	return nil
}

// mountAll mounts ms in order. The n-th bind mount of ms is root.Binds[n].
func mountAll(ctx context.Context, k *kernel.Kernel, root *sandbox.Root, ms []Mount) error {
	nbind := 0
	for i := range ms {
		m := &ms[i]
		var fs *vfs.Filesystem
		switch m.Kind {
		case MountBind:
			if nbind >= len(root.Binds) {
				return fmt.Errorf("mount %s: bind filesystem missing", m.Destination)
			}
			fs = root.Binds[nbind]
			nbind++
		case MountTmpfs:
			fs = root.VFS.NewFilesystem(tmpfs.New(m.Tmpfs))
		case MountEmptySysfs:
			slog.Info("sysfs is not served yet: mounting an empty read-only tmpfs at "+m.Destination, "destination", m.Destination)
			fs = root.VFS.NewFilesystem(tmpfs.New(tmpfs.Options{RootMode: 0o555, MaxSize: 4096, MaxInodes: 1}))
		}
		target, err := mountPoint(ctx, root, m.Destination)
		if err != nil {
			return fmt.Errorf("mount %s (%v): %w", m.Destination, m.Kind, err)
		}
		if m.Kind == MountProc {
			err = mountProc(k, target, m.Flags)
		} else {
			_, err = root.VFS.MountAt(ctx, vfs.RootCredentials(), fs, target, m.Flags)
		}
		target.DecRef()
		if err != nil {
			return fmt.Errorf("mount %s (%v): %w", m.Destination, m.Kind, err)
		}
		slog.Debug("mounted", "destination", m.Destination, "kind", m.Kind.String(), "source", m.Source, "readonly", m.Flags.ReadOnly)
	}
	return nil
}

// mountPoint resolves dest in the sandbox (symlinks included, never
// leaving its root), creating missing directories on the way, and
// returns the directory with a reference.
func mountPoint(ctx context.Context, root *sandbox.Root, dest string) (vfs.VirtualDentry, error) {
	creds := vfs.RootCredentials()
	cur := root.Root
	cur.IncRef()
	for _, name := range strings.Split(strings.Trim(dest, "/"), "/") {
		if name == "" {
			continue
		}
		pop := &vfs.PathOperation{Root: root.Root, Start: cur, Path: name, FollowFinalSymlink: true}
		next, err := root.VFS.GetDentryAt(ctx, creds, pop)
		if errors.Is(err, unix.ENOENT) {
			err = root.VFS.MkdirAt(ctx, creds, pop, 0o755)
			if err != nil && !errors.Is(err, unix.EEXIST) {
				cur.DecRef()
				return vfs.VirtualDentry{}, fmt.Errorf("creating mount point: %w", err)
			}
			next, err = root.VFS.GetDentryAt(ctx, creds, pop)
		}
		cur.DecRef()
		if err != nil {
			return vfs.VirtualDentry{}, fmt.Errorf("resolving mount point: %w", err)
		}
		cur = next
	}
	return cur, nil
}
