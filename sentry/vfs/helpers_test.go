package vfs_test

import (
	"context"
	"errors"
	"testing"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/tmpfs"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// env is a VFS with a tmpfs root, as a process sees it: root, cwd and
// credentials.
type env struct {
	t     testing.TB
	ctx   context.Context
	vfs   *vfs.VirtualFilesystem
	ns    *vfs.MountNamespace
	root  vfs.VirtualDentry
	cwd   vfs.VirtualDentry
	creds *vfs.Credentials
}

func newEnv(t testing.TB) *env {
	v := vfs.New()
	fs := v.NewFilesystem(tmpfs.New(tmpfs.Options{MaxSize: 64 << 20, RootMode: 0o755}))
	ns := v.NewMountNamespace(fs, vfs.MountFlags{})
	root := ns.Root()
	root.IncRef()
	return &env{t: t, ctx: context.Background(), vfs: v, ns: ns, root: root, cwd: root, creds: vfs.RootCredentials()}
}

func (e *env) pop(path string) *vfs.PathOperation {
	return &vfs.PathOperation{Root: e.root, Start: e.cwd, Path: path, FollowFinalSymlink: true}
}

func (e *env) popNoFollow(path string) *vfs.PathOperation {
	p := e.pop(path)
	p.FollowFinalSymlink = false
	return p
}

func (e *env) as(c *vfs.Credentials) *env {
	n := *e
	n.creds = c
	return &n
}

func (e *env) mkdir(path string, mode uint32) {
	e.t.Helper()
	if err := e.vfs.MkdirAt(e.ctx, e.creds, e.pop(path), mode); err != nil {
		e.t.Fatalf("mkdir %q: %v", path, err)
	}
}

func (e *env) symlink(target, path string) {
	e.t.Helper()
	if err := e.vfs.SymlinkAt(e.ctx, e.creds, e.pop(path), target); err != nil {
		e.t.Fatalf("symlink %q -> %q: %v", path, target, err)
	}
}

func (e *env) open(path string, flags, mode uint32) (*vfs.FileDescription, error) {
	return e.vfs.OpenAt(e.ctx, e.creds, e.pop(path), flags, mode)
}

func (e *env) create(path string, mode uint32, data string) {
	e.t.Helper()
	fd, err := e.open(path, linux.O_CREAT|linux.O_WRONLY|linux.O_TRUNC, mode)
	if err != nil {
		e.t.Fatalf("create %q: %v", path, err)
	}
	defer fd.DecRef(e.ctx)
	if data != "" {
		if _, err := fd.Write(e.ctx, vfs.BytesIOSequence(data)); err != nil {
			e.t.Fatalf("write %q: %v", path, err)
		}
	}
}

func (e *env) read(path string) string {
	e.t.Helper()
	fd, err := e.open(path, linux.O_RDONLY, 0)
	if err != nil {
		e.t.Fatalf("open %q: %v", path, err)
	}
	defer fd.DecRef(e.ctx)
	buf := make([]byte, 4096)
	n, err := fd.Read(e.ctx, vfs.BytesIOSequence(buf))
	if err != nil {
		e.t.Fatalf("read %q: %v", path, err)
	}
	return string(buf[:n])
}

func (e *env) stat(path string) (linux.Statx, error) {
	return e.vfs.StatAt(e.ctx, e.creds, e.pop(path), linux.STATX_BASIC_STATS)
}

func (e *env) ino(path string) uint64 {
	e.t.Helper()
	st, err := e.stat(path)
	if err != nil {
		e.t.Fatalf("stat %q: %v", path, err)
	}
	return st.Ino
}

// chdir changes the cwd (tests only use it for relative walks).
func (e *env) chdir(path string) {
	e.t.Helper()
	vd, err := e.vfs.GetDentryAt(e.ctx, e.creds, e.pop(path))
	if err != nil {
		e.t.Fatalf("chdir %q: %v", path, err)
	}
	e.cwd = vd
}

func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Errorf("%s: got %v, want success", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Errorf("%s: got %v, want %v", what, err, want)
	}
}
