package boot

import (
	"context"
	"strings"
	"testing"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/tmpfs"
	"github.com/palisade-sandbox/palisade/runsc/sandbox"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

func TestCheckDestination(t *testing.T) {
	for _, d := range []string{"/proc", "/a/b/c", "/a/b/", "/a//b", "/..x/y.", "/.hidden"} {
		if err := CheckDestination(d); err != nil {
			t.Errorf("CheckDestination(%q): %v", d, err)
		}
	}
	for _, d := range []string{"", "/", "//", "proc", "./proc", "/a/../b", "/..", "/a/.", "/./a", "/a\x00b", "/" + strings.Repeat("a", 5000)} {
		if err := CheckDestination(d); err == nil {
			t.Errorf("CheckDestination(%q) succeeded", d)
		}
	}
}

func TestValidate(t *testing.T) {
	good := func() *Config {
		return &Config{RootPath: "/", Argv: []string{"/bin/true"}}
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tc := range []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"no root", func(c *Config) { c.RootPath = "" }, "no root directory"},
		{"no argv", func(c *Config) { c.Argv = nil }, "no program"},
		{"long hostname", func(c *Config) { c.Hostname = strings.Repeat("h", 65) }, "hostname: longer than 64 bytes"},
		{"long release", func(c *Config) { c.KernelRelease = strings.Repeat("r", 65) }, "kernel release"},
		{"network", func(c *Config) { c.Network = "host" }, `network mode "host" is not supported`},
		{"relative bind source", func(c *Config) {
			c.Mounts = []Mount{{Kind: MountBind, Destination: "/x", Source: "rel"}}
		}, "mount 0 (/x): bind source \"rel\" is not an absolute path"},
		{"bad destination", func(c *Config) {
			c.Mounts = []Mount{{Kind: MountTmpfs, Destination: "/x/../y"}}
		}, "mount 0 (/x/../y)"},
		{"no kind", func(c *Config) {
			c.Mounts = []Mount{{Destination: "/x"}}
		}, "unknown mount kind"},
	} {
		c := good()
		tc.modify(c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want %q", tc.name, err, tc.want)
		}
	}
}

// newTmpfsRoot returns a sandbox root that is just a tmpfs (no Gofer).
func newTmpfsRoot(t *testing.T) *sandbox.Root {
	t.Helper()
	v := vfs.New()
	ns := v.NewMountNamespace(v.NewFilesystem(tmpfs.New(tmpfs.Options{})), vfs.MountFlags{})
	r := &sandbox.Root{VFS: v, Root: ns.Root()}
	t.Cleanup(func() { r.Root.DecRef() })
	return r
}

func statMode(t *testing.T, r *sandbox.Root, p string) (uint32, error) {
	t.Helper()
	st, err := r.VFS.StatAt(context.Background(), vfs.RootCredentials(), &vfs.PathOperation{Root: r.Root, Start: r.Root, Path: p, FollowFinalSymlink: true}, linux.STATX_MODE)
	return uint32(st.Mode), err
}

// TestMountAll mounts tmpfs and the sysfs stand-in on missing
// directories, including through a symlink that points above the root:
// resolution stays in the sandbox.
func TestMountAll(t *testing.T) {
	ctx := context.Background()
	r := newTmpfsRoot(t)
	creds := vfs.RootCredentials()
	if err := r.VFS.SymlinkAt(ctx, creds, &vfs.PathOperation{Root: r.Root, Start: r.Root, Path: "/escape"}, "../../../../outside"); err != nil {
		t.Fatal(err)
	}
	// A dangling symlink on the way is an error (mkdir does not follow
	// it).
	err := mountAll(ctx, nil, r, []Mount{{Kind: MountTmpfs, Destination: "/escape/x"}})
	if err == nil || !strings.Contains(err.Error(), "mount /escape/x (tmpfs): resolving mount point") {
		t.Fatalf("mount through a dangling symlink: %v", err)
	}
	if err := r.VFS.MkdirAt(ctx, creds, &vfs.PathOperation{Root: r.Root, Start: r.Root, Path: "/outside"}, 0o755); err != nil {
		t.Fatal(err)
	}
	ms := []Mount{
		{Kind: MountTmpfs, Destination: "/a/b/c", Tmpfs: tmpfs.Options{RootMode: 0o700}},
		{Kind: MountEmptySysfs, Destination: "/sys", Flags: vfs.MountFlags{ReadOnly: true}},
		{Kind: MountTmpfs, Destination: "/escape/x", Tmpfs: tmpfs.Options{RootMode: 0o711}},
	}
	if err := mountAll(ctx, nil, r, ms); err != nil {
		t.Fatal(err)
	}
	if m, err := statMode(t, r, "/a/b/c"); err != nil || m&0o7777 != 0o700 {
		t.Errorf("/a/b/c: mode %#o, %v; want the tmpfs root's 0700", m, err)
	}
	if m, err := statMode(t, r, "/sys"); err != nil || m&0o7777 != 0o555 {
		t.Errorf("/sys: mode %#o, %v", m, err)
	}
	err = r.VFS.MkdirAt(ctx, creds, &vfs.PathOperation{Root: r.Root, Start: r.Root, Path: "/sys/x"}, 0o755)
	if err == nil {
		t.Errorf("mkdir in /sys succeeded; want EROFS")
	}
	// The symlink led to /outside in the sandbox's own root.
	if m, err := statMode(t, r, "/outside/x"); err != nil || m&0o7777 != 0o711 {
		t.Errorf("/outside/x: mode %#o, %v; want the mount through the symlink", m, err)
	}
}

// TestMountAllBindMissing checks that a bind mount without its Gofer
// filesystem is an error, not a panic.
func TestMountAllBindMissing(t *testing.T) {
	r := newTmpfsRoot(t)
	err := mountAll(context.Background(), nil, r, []Mount{{Kind: MountBind, Destination: "/x", Source: "/tmp"}})
	if err == nil || !strings.Contains(err.Error(), "bind filesystem missing") {
		t.Fatalf("got %v", err)
	}
}

// TestMountOnFile checks that a destination that is a regular file fails
// cleanly (the VFS mounts on directories only).
func TestMountOnFile(t *testing.T) {
	ctx := context.Background()
	r := newTmpfsRoot(t)
	fd, err := r.VFS.OpenAt(ctx, vfs.RootCredentials(), &vfs.PathOperation{Root: r.Root, Start: r.Root, Path: "/file"}, linux.O_CREAT|linux.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fd.DecRef(ctx)
	err = mountAll(ctx, nil, r, []Mount{{Kind: MountTmpfs, Destination: "/file"}})
	if err == nil || !strings.Contains(err.Error(), "mount /file (tmpfs)") {
		t.Fatalf("got %v", err)
	}
}
