package vfs_test

import (
	"fmt"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

func TestGenericCheckPermissions(t *testing.T) {
	user := vfs.UserCredentials(1000, 100, 200)
	root := vfs.RootCredentials()
	readSearch := &vfs.Credentials{FSUID: 5, FSGID: 5, EffectiveCaps: vfs.CapabilitySetOf(unix.CAP_DAC_READ_SEARCH)}
	reg := uint32(linux.S_IFREG)
	dir := uint32(linux.S_IFDIR)
	cases := []struct {
		name      string
		c         *vfs.Credentials
		ats       vfs.AccessTypes
		mode      uint32
		uid, gid  uint32
		wantError bool
	}{
		{"owner read", user, vfs.MayRead, reg | 0o400, 1000, 0, false},
		{"owner denied though others may", user, vfs.MayRead, reg | 0o044, 1000, 0, true},
		{"group via supplementary", user, vfs.MayWrite, reg | 0o020, 0, 200, false},
		{"group denied though other may", user, vfs.MayWrite, reg | 0o002, 0, 100, true},
		{"other", user, vfs.MayRead | vfs.MayExec, reg | 0o005, 0, 0, false},
		{"other denied", user, vfs.MayWrite, reg | 0o775, 0, 0, true},
		{"root reads 000", root, vfs.MayRead | vfs.MayWrite, reg, 5, 5, false},
		{"root cannot exec without any x", root, vfs.MayExec, reg | 0o644, 5, 5, true},
		{"root execs with other x only", root, vfs.MayExec, reg | 0o001, 5, 5, false},
		{"root searches 000 dir", root, vfs.MayExec | vfs.MayWrite, dir, 5, 5, false},
		{"read_search reads", readSearch, vfs.MayRead, reg, 0, 0, false},
		{"read_search no write", readSearch, vfs.MayWrite, reg, 0, 0, true},
		{"read_search searches dirs", readSearch, vfs.MayRead | vfs.MayExec, dir, 0, 0, false},
		{"read_search no exec of files", readSearch, vfs.MayExec, reg, 0, 0, true},
		{"read_search no dir write", readSearch, vfs.MayWrite, dir, 0, 0, true},
	}
	for _, c := range cases {
		err := vfs.GenericCheckPermissions(c.c, c.ats, c.mode, c.uid, c.gid)
		if (err != nil) != c.wantError {
			t.Errorf("%s: err = %v", c.name, err)
		}
		if err != nil && err != unix.EACCES {
			t.Errorf("%s: err = %v, want EACCES", c.name, err)
		}
	}
}

func TestPermissionsAsUser(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/private", 0o700)
	e.create("/private/f", 0o644, "x")
	e.mkdir("/pub", 0o755)
	e.create("/pub/ro", 0o644, "ro")
	e.mkdir("/tmp", 0o1777)
	e.mkdir("/noexec", 0o644)
	e.create("/noexec/f", 0o644, "")
	alice := e.as(vfs.UserCredentials(1000, 1000))
	bob := e.as(vfs.UserCredentials(1001, 1001))

	_, err := alice.stat("/private/f")
	wantErr(t, "search denied", err, unix.EACCES)
	_, err = alice.stat("/noexec/f")
	wantErr(t, "r-- dir", err, unix.EACCES)
	_, err = alice.open("/pub/ro", linux.O_WRONLY, 0)
	wantErr(t, "write ro", err, unix.EACCES)
	_, err = alice.open("/pub/ro", linux.O_RDONLY|linux.O_TRUNC, 0)
	wantErr(t, "O_TRUNC needs write", err, unix.EACCES)
	if got := alice.read("/pub/ro"); got != "ro" {
		t.Errorf("read = %q", got)
	}
	_, err = alice.open("/pub/new", linux.O_CREAT|linux.O_WRONLY, 0o644)
	wantErr(t, "create in 755 dir", err, unix.EACCES)
	wantErr(t, "unlink in 755 dir", alice.vfs.UnlinkAt(e.ctx, alice.creds, alice.pop("/pub/ro")), unix.EACCES)
	wantErr(t, "access X on 644", e.vfs.AccessAt(e.ctx, e.creds, e.pop("/pub/ro"), vfs.MayExec), unix.EACCES)
	wantErr(t, "access R as root", e.vfs.AccessAt(e.ctx, e.creds, e.pop("/private/f"), vfs.MayRead), nil)

	// Sticky /tmp: bob can create, but not remove or rename alice's files.
	alice.create("/tmp/a", 0o666, "alice")
	bob.create("/tmp/b", 0o644, "bob")
	wantErr(t, "sticky unlink", bob.vfs.UnlinkAt(e.ctx, bob.creds, bob.pop("/tmp/a")), unix.EPERM)
	wantErr(t, "sticky rename", bob.vfs.RenameAt(e.ctx, bob.creds, bob.pop("/tmp/a"), bob.pop("/tmp/c"), 0), unix.EPERM)
	wantErr(t, "sticky replace", bob.vfs.RenameAt(e.ctx, bob.creds, bob.pop("/tmp/b"), bob.pop("/tmp/a"), 0), unix.EPERM)
	wantErr(t, "own unlink", bob.vfs.UnlinkAt(e.ctx, bob.creds, bob.pop("/tmp/b")), nil)
	wantErr(t, "root unlink", e.vfs.UnlinkAt(e.ctx, e.creds, e.pop("/tmp/a")), nil)

	// New files belong to the caller; set-group-ID directories pass
	// their group on.
	alice.create("/tmp/owned", 0o600, "")
	st, _ := e.stat("/tmp/owned")
	if st.UID != 1000 || st.GID != 1000 || st.Mode&0o7777 != 0o600 {
		t.Errorf("new file %d:%d %o", st.UID, st.GID, st.Mode)
	}
	e.mkdir("/sgid", 0o777)
	wantErr(t, "chmod g+s", e.vfs.SetStatAt(e.ctx, e.creds, e.pop("/sgid"), vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_MODE | linux.STATX_GID, Mode: 0o2777, GID: 50}}), nil)
	alice.mkdir("/sgid/sub", 0o755)
	st, _ = e.stat("/sgid/sub")
	if st.GID != 50 || st.Mode&linux.S_ISGID == 0 {
		t.Errorf("sgid inheritance: gid %d mode %o", st.GID, st.Mode)
	}
}

func TestSetStat(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/w", 0o777)
	alice := e.as(vfs.UserCredentials(1000, 1000, 2000))
	bob := e.as(vfs.UserCredentials(1001, 1001))
	alice.create("/w/f", 0o666, "0123456789")
	set := func(env *env, path string, st linux.Statx, now bool) error {
		return env.vfs.SetStatAt(env.ctx, env.creds, env.pop(path), vfs.SetStatOptions{Stat: st, TimesNow: now})
	}
	wantErr(t, "chmod by other", set(bob, "/w/f", linux.Statx{Mask: linux.STATX_MODE, Mode: 0o777}, false), unix.EPERM)
	wantErr(t, "chmod by owner", set(alice, "/w/f", linux.Statx{Mask: linux.STATX_MODE, Mode: 0o4755}, false), nil)
	wantErr(t, "chown by owner", set(alice, "/w/f", linux.Statx{Mask: linux.STATX_UID, UID: 1001}, false), unix.EPERM)
	wantErr(t, "chgrp to non-member group", set(alice, "/w/f", linux.Statx{Mask: linux.STATX_GID, GID: 3000}, false), unix.EPERM)
	wantErr(t, "chgrp to member group", set(alice, "/w/f", linux.Statx{Mask: linux.STATX_GID, GID: 2000}, false), nil)
	st, _ := e.stat("/w/f")
	if st.GID != 2000 || st.Mode&linux.S_ISUID != 0 {
		t.Errorf("after chgrp: gid %d mode %o (chown must clear setuid)", st.GID, st.Mode)
	}
	wantErr(t, "chmod g+s outside group", set(bob, "/w/f", linux.Statx{Mask: linux.STATX_MODE, Mode: 0o2755}, false), unix.EPERM)
	wantErr(t, "root chmod", set(e, "/w/f", linux.Statx{Mask: linux.STATX_MODE, Mode: 0o2666}, false), nil)
	wantErr(t, "root chown", set(e, "/w/f", linux.Statx{Mask: linux.STATX_UID | linux.STATX_GID, UID: 1001, GID: 1001}, false), nil)
	st, _ = e.stat("/w/f")
	if st.UID != 1001 || st.GID != 1001 {
		t.Errorf("chown: %d:%d", st.UID, st.GID)
	}
	// Times: explicit times need ownership; "now" needs write permission.
	wantErr(t, "utimes by non-owner", set(alice, "/w/f", linux.Statx{Mask: linux.STATX_MTIME, Mtime: linux.StatxTimestamp{Sec: 5}}, false), unix.EPERM)
	wantErr(t, "utimes now by writer", set(alice, "/w/f", linux.Statx{Mask: linux.STATX_MTIME | linux.STATX_ATIME}, true), nil)
	wantErr(t, "utimes by owner", set(bob, "/w/f", linux.Statx{Mask: linux.STATX_MTIME, Mtime: linux.StatxTimestamp{Sec: 5, Nsec: 7}}, false), nil)
	st, _ = e.stat("/w/f")
	if st.Mtime.Sec != 5 || st.Mtime.Nsec != 7 {
		t.Errorf("mtime %+v", st.Mtime)
	}
	// truncate(2) needs write permission.
	wantErr(t, "chmod 644", set(bob, "/w/f", linux.Statx{Mask: linux.STATX_MODE, Mode: 0o644}, false), nil)
	wantErr(t, "truncate without write", set(alice, "/w/f", linux.Statx{Mask: linux.STATX_SIZE, Size: 3}, false), unix.EACCES)
	wantErr(t, "truncate", set(bob, "/w/f", linux.Statx{Mask: linux.STATX_SIZE, Size: 3}, false), nil)
	if got := e.read("/w/f"); got != "012" {
		t.Errorf("after truncate: %q", got)
	}
	wantErr(t, "truncate dir", set(e, "/w", linux.Statx{Mask: linux.STATX_SIZE}, false), unix.EISDIR)
	// ftruncate needs a writable description.
	fd, err := e.open("/w/f", linux.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "ftruncate O_RDONLY", fd.SetStat(e.ctx, e.creds, vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_SIZE}}), unix.EINVAL)
	fd.DecRef(e.ctx)
}

func TestRename(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/a", 0o755)
	e.mkdir("/a/sub", 0o755)
	e.mkdir("/b", 0o755)
	e.mkdir("/full", 0o755)
	e.create("/full/x", 0o644, "")
	e.create("/f1", 0o644, "one")
	e.create("/f2", 0o644, "two")
	ren := func(o, n string, flags uint32) error {
		return e.vfs.RenameAt(e.ctx, e.creds, e.pop(o), e.pop(n), flags)
	}
	wantErr(t, "noreplace", ren("/f1", "/f2", linux.RENAME_NOREPLACE), unix.EEXIST)
	wantErr(t, "both flags", ren("/f1", "/f2", linux.RENAME_NOREPLACE|linux.RENAME_EXCHANGE), unix.EINVAL)
	wantErr(t, "whiteout", ren("/f1", "/f2", linux.RENAME_WHITEOUT), unix.EINVAL)
	i1, i2 := e.ino("/f1"), e.ino("/f2")
	wantErr(t, "exchange", ren("/f1", "/f2", linux.RENAME_EXCHANGE), nil)
	if e.ino("/f1") != i2 || e.ino("/f2") != i1 || e.read("/f1") != "two" {
		t.Errorf("exchange did not swap")
	}
	wantErr(t, "exchange missing", ren("/f1", "/nope", linux.RENAME_EXCHANGE), unix.ENOENT)
	wantErr(t, "into own subtree", ren("/a", "/a/sub/a", 0), unix.EINVAL)
	wantErr(t, "onto itself", ren("/a", "/a", 0), nil)
	wantErr(t, "dir over non-empty", ren("/b", "/full", 0), unix.ENOTEMPTY)
	wantErr(t, "file over dir", ren("/f1", "/b", 0), unix.EISDIR)
	wantErr(t, "dir over file", ren("/b", "/f1", 0), unix.ENOTDIR)
	wantErr(t, "ancestor as target", ren("/a/sub", "/a", 0), unix.ENOTEMPTY)
	wantErr(t, "dot", ren("/a/.", "/c", 0), unix.EBUSY)
	wantErr(t, "missing source", ren("/nope", "/c", 0), unix.ENOENT)
	wantErr(t, "file with slash", ren("/f1/", "/c", 0), unix.ENOTDIR)
	wantErr(t, "root", ren("/", "/c", 0), unix.EBUSY)
	// Hard links to the same inode: rename does nothing.
	wantErr(t, "link", e.vfs.LinkAt(e.ctx, e.creds, e.pop("/f1"), e.pop("/f1link")), nil)
	wantErr(t, "rename onto own link", ren("/f1", "/f1link", 0), nil)
	if _, err := e.stat("/f1"); err != nil {
		t.Errorf("source vanished: %v", err)
	}
	// Directory over an empty directory, then moving it across parents.
	wantErr(t, "dir over empty dir", ren("/b", "/a/sub", 0), nil)
	_, err := e.stat("/b")
	wantErr(t, "old name gone", err, unix.ENOENT)
	st, _ := e.stat("/a")
	if st.Nlink != 3 {
		t.Errorf("/a nlink %d, want 3", st.Nlink)
	}
	wantErr(t, "move dir up", ren("/a/sub", "/sub2", 0), nil)
	st, _ = e.stat("/a")
	if st.Nlink != 2 {
		t.Errorf("/a nlink %d after move, want 2", st.Nlink)
	}
	e.create("/sub2/inner", 0o644, "inner")
	if got := e.read("/sub2/inner"); got != "inner" {
		t.Errorf("inner = %q", got)
	}
	// Moving a directory between parents needs write access to it.
	e.mkdir("/w1", 0o777)
	e.mkdir("/w2", 0o777)
	alice := e.as(vfs.UserCredentials(1000, 1000))
	alice.mkdir("/w1/mine", 0o555)
	wantErr(t, "move r-x dir", alice.vfs.RenameAt(e.ctx, alice.creds, alice.pop("/w1/mine"), alice.pop("/w2/mine"), 0), unix.EACCES)
	wantErr(t, "rename r-x dir in place", alice.vfs.RenameAt(e.ctx, alice.creds, alice.pop("/w1/mine"), alice.pop("/w1/mine2"), 0), nil)
}

func TestLinksAndNlink(t *testing.T) {
	e := newEnv(t)
	e.create("/f", 0o644, "data")
	e.mkdir("/d", 0o755)
	wantErr(t, "link", e.vfs.LinkAt(e.ctx, e.creds, e.pop("/f"), e.pop("/d/g")), nil)
	wantErr(t, "link exists", e.vfs.LinkAt(e.ctx, e.creds, e.pop("/f"), e.pop("/d/g")), unix.EEXIST)
	wantErr(t, "link dir", e.vfs.LinkAt(e.ctx, e.creds, e.pop("/d"), e.pop("/d2")), unix.EPERM)
	st, _ := e.stat("/f")
	if st.Nlink != 2 || e.ino("/d/g") != st.Ino {
		t.Errorf("nlink %d", st.Nlink)
	}
	fd, err := e.open("/f", linux.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "unlink", e.vfs.UnlinkAt(e.ctx, e.creds, e.pop("/f")), nil)
	wantErr(t, "unlink g", e.vfs.UnlinkAt(e.ctx, e.creds, e.pop("/d/g")), nil)
	st, err = fd.Stat(e.ctx, linux.STATX_NLINK)
	if err != nil || st.Nlink != 0 {
		t.Errorf("fstat unlinked: %v nlink %d", err, st.Nlink)
	}
	buf := make([]byte, 8)
	n, err := fd.Read(e.ctx, vfs.BytesIOSequence(buf))
	if err != nil || string(buf[:n]) != "data" {
		t.Errorf("read unlinked: %q %v", buf[:n], err)
	}
	fd.DecRef(e.ctx)
}

func TestXattrs(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/w", 0o777)
	alice := e.as(vfs.UserCredentials(1000, 1000))
	alice.create("/w/f", 0o644, "")
	e.symlink("f", "/w/l")
	p := alice.pop("/w/f")
	wantErr(t, "set user", alice.vfs.SetXattrAt(e.ctx, alice.creds, p, "user.a", "1", 0), nil)
	wantErr(t, "create existing", alice.vfs.SetXattrAt(e.ctx, alice.creds, p, "user.a", "2", linux.XATTR_CREATE), unix.EEXIST)
	wantErr(t, "replace missing", alice.vfs.SetXattrAt(e.ctx, alice.creds, p, "user.b", "2", linux.XATTR_REPLACE), unix.ENODATA)
	v, err := alice.vfs.GetXattrAt(e.ctx, alice.creds, p, "user.a")
	if err != nil || v != "1" {
		t.Errorf("get = %q %v", v, err)
	}
	_, err = alice.vfs.GetXattrAt(e.ctx, alice.creds, p, "user.zz")
	wantErr(t, "get missing", err, unix.ENODATA)
	wantErr(t, "trusted as user", alice.vfs.SetXattrAt(e.ctx, alice.creds, p, "trusted.t", "x", 0), unix.EPERM)
	wantErr(t, "trusted as root", e.vfs.SetXattrAt(e.ctx, e.creds, e.pop("/w/f"), "trusted.t", "x", 0), nil)
	wantErr(t, "unknown namespace", e.vfs.SetXattrAt(e.ctx, e.creds, e.pop("/w/f"), "bogus.t", "x", 0), unix.EOPNOTSUPP)
	wantErr(t, "empty name", e.vfs.SetXattrAt(e.ctx, e.creds, e.pop("/w/f"), "", "x", 0), unix.ERANGE)
	wantErr(t, "too large", e.vfs.SetXattrAt(e.ctx, e.creds, e.pop("/w/f"), "user.big", string(make([]byte, 65537)), 0), unix.E2BIG)
	names, _ := alice.vfs.ListXattrAt(e.ctx, alice.creds, p)
	if !slices.Equal(names, []string{"user.a"}) {
		t.Errorf("user list = %v", names)
	}
	names, _ = e.vfs.ListXattrAt(e.ctx, e.creds, e.pop("/w/f"))
	if !slices.Equal(names, []string{"trusted.t", "user.a"}) {
		t.Errorf("root list = %v", names)
	}
	bob := e.as(vfs.UserCredentials(1001, 1001))
	wantErr(t, "set without write perm", bob.vfs.SetXattrAt(e.ctx, bob.creds, bob.pop("/w/f"), "user.b", "x", 0), unix.EACCES)
	wantErr(t, "user.* on symlink", e.vfs.SetXattrAt(e.ctx, e.creds, e.popNoFollow("/w/l"), "user.a", "x", 0), unix.EPERM)
	wantErr(t, "remove", alice.vfs.RemoveXattrAt(e.ctx, alice.creds, p, "user.a"), nil)
	wantErr(t, "remove again", alice.vfs.RemoveXattrAt(e.ctx, alice.creds, p, "user.a"), unix.ENODATA)
}

func TestStatFS(t *testing.T) {
	e := newEnv(t)
	st, err := e.vfs.StatFSAt(e.ctx, e.creds, e.pop("/"))
	if err != nil || st.Type != linux.TMPFS_MAGIC || st.Blocks != (64<<20)/4096 {
		t.Errorf("statfs = %+v, %v", st, err)
	}
}

func TestReadOnlyMount(t *testing.T) {
	e := newEnv(t)
	e.create("/f", 0o666, "x")
	e.ns.Root().Mount.SetFlags(vfs.MountFlags{ReadOnly: true})
	_, err := e.open("/f", linux.O_WRONLY, 0)
	wantErr(t, "open for write", err, unix.EROFS)
	_, err = e.open("/g", linux.O_CREAT|linux.O_WRONLY, 0o644)
	wantErr(t, "create", err, unix.EROFS)
	wantErr(t, "mkdir", e.vfs.MkdirAt(e.ctx, e.creds, e.pop("/d"), 0o755), unix.EROFS)
	wantErr(t, "unlink", e.vfs.UnlinkAt(e.ctx, e.creds, e.pop("/f")), unix.EROFS)
	wantErr(t, "chmod", e.vfs.SetStatAt(e.ctx, e.creds, e.pop("/f"), vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_MODE, Mode: 0o600}}), unix.EROFS)
	if got := e.read("/f"); got != "x" {
		t.Errorf("read = %q", got)
	}
}

func TestDentryCacheBound(t *testing.T) {
	e := newEnv(t)
	const cap = 64
	e.vfs.SetDentryCacheSize(cap)
	e.mkdir("/d", 0o755)
	for i := range 50 {
		e.mkdir(fmt.Sprintf("/d/%d", i), 0o755)
		for j := range 20 {
			e.create(fmt.Sprintf("/d/%d/%d", i, j), 0o644, "")
		}
	}
	if n := e.vfs.CachedDentries(); n > cap {
		t.Fatalf("cache holds %d > %d after creation", n, cap)
	}
	for round := range 3 {
		for i := range 50 {
			for j := range 20 {
				if _, err := e.stat(fmt.Sprintf("/d/%d/%d", i, j)); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
		}
		if n := e.vfs.CachedDentries(); n > cap {
			t.Fatalf("cache holds %d > %d", n, cap)
		}
	}
	// Held dentries survive eviction and stay correct.
	cwd, err := e.vfs.GetDentryAt(e.ctx, e.creds, e.pop("/d/7"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		e.stat(fmt.Sprintf("/d/%d/3", i))
	}
	rel := &vfs.PathOperation{Root: e.root, Start: cwd, Path: "../7/5"}
	if _, err := e.vfs.StatAt(e.ctx, e.creds, rel, 0); err != nil {
		t.Errorf("relative to held dentry: %v", err)
	}
	cwd.DecRef()
}
