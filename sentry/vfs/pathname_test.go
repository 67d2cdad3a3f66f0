package vfs_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/tmpfs"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

func TestPathnames(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/a", 0o755)
	e.mkdir("/a/b", 0o755)
	e.mkdir("/mnt", 0o755)
	mp, _ := e.vfs.GetDentryAt(e.ctx, e.creds, e.pop("/mnt"))
	fs2 := e.vfs.NewFilesystem(tmpfs.New(tmpfs.Options{MaxSize: 1 << 20}))
	if _, err := e.vfs.MountAt(e.ctx, e.creds, fs2, mp, vfs.MountFlags{}); err != nil {
		t.Fatal(err)
	}
	mp.DecRef()
	e.mkdir("/mnt/x", 0o755)
	get := func(p string) vfs.VirtualDentry {
		vd, err := e.vfs.GetFileAt(e.ctx, e.creds, e.pop(p))
		if err != nil {
			t.Fatal(err)
		}
		return vd
	}
	for _, c := range []struct{ in, want string }{{"/", "/"}, {"/a/b", "/a/b"}, {"/a/b/../b/.", "/a/b"}, {"/mnt", "/mnt"}, {"/mnt/x", "/mnt/x"}} {
		vd := get(c.in)
		if got, err := e.vfs.GetcwdPath(e.root, vd); got != c.want || err != nil {
			t.Errorf("getcwd(%s) = %q %v", c.in, got, err)
		}
		vd.DecRef()
	}
	// Inside a chroot at /a, /a/b is /b and /mnt is unreachable.
	jail := get("/a")
	b, mnt := get("/a/b"), get("/mnt/x")
	if got, _ := e.vfs.GetcwdPath(jail, b); got != "/b" {
		t.Errorf("chrooted getcwd = %q", got)
	}
	if got, _ := e.vfs.GetcwdPath(jail, mnt); got != "(unreachable)/mnt/x" {
		t.Errorf("outside chroot = %q", got)
	}
	// Renames show up; a removed cwd is ENOENT; open unlinked files are
	// "(deleted)".
	if err := e.vfs.RenameAt(e.ctx, e.creds, e.pop("/a/b"), e.pop("/c"), 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.vfs.GetcwdPath(e.root, b); got != "/c" {
		t.Errorf("after rename = %q", got)
	}
	if err := e.vfs.RmdirAt(e.ctx, e.creds, e.pop("/c")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.vfs.GetcwdPath(e.root, b); err != unix.ENOENT {
		t.Errorf("removed cwd: %v", err)
	}
	e.create("/f", 0o644, "")
	fd, _ := e.open("/f", linux.O_RDONLY, 0)
	e.vfs.UnlinkAt(e.ctx, e.creds, e.pop("/f"))
	if got := e.vfs.PathnameWithDeleted(e.root, fd.VirtualDentry()); got != "/f (deleted)" {
		t.Errorf("deleted = %q", got)
	}
	fd.DecRef(e.ctx)
	jail.DecRef()
	b.DecRef()
	mnt.DecRef()
}
