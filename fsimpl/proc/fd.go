package proc

import (
	"context"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// fdTable returns the process's fd table, or ENOENT for a zombie.
func (t task) fdTable() (*vfs.FDTable, error) {
	p, err := t.process()
	if err != nil {
		return nil, err
	}
	tab := p.FDTable()
	if tab == nil {
		return nil, unix.ENOENT
	}
	return tab, nil
}

// file returns the description at fd with a reference and its flags.
func (t task) file(fd int32) (*vfs.FileDescription, vfs.FDFlags, error) {
	tab, err := t.fdTable()
	if err != nil {
		return nil, vfs.FDFlags{}, err
	}
	f, flags := tab.Get(fd)
	if f == nil {
		return nil, vfs.FDFlags{}, unix.ENOENT
	}
	return f, flags, nil
}

// fdEntries lists the open fds with entries of type typ.
func (t task) fdEntries(dir string, typ uint8) ([]dirent, error) {
	tab, err := t.fdTable()
	if err != nil {
		return nil, err
	}
	var out []dirent
	tab.ForEach(func(fd int32, _ *vfs.FileDescription, _ vfs.FDFlags) {
		name := strconv.Itoa(int(fd))
		out = append(out, dirent{name: name, typ: typ, ino: t.path(dir, name)})
	})
	return out, nil
}

// fdExists returns ENOENT unless fd is open. It must not be called with
// the VFS's tree lock held (it may drop the last reference to a file
// closed concurrently).
func (t task) fdExists(fd int32) func() error {
	return func() error {
		f, _, err := t.file(fd)
		if err != nil {
			return err
		}
		f.DecRef(context.Background())
		return nil
	}
}

// dropLater drops a reference to f taken while the VFS's tree lock is
// held (in Lookup or MagicLink): if a concurrent close made it the last
// one, the release trims the dentry cache, which takes the tree lock
// again, so it is done outside.
func dropLater(f *vfs.FileDescription) {
	go f.DecRef(context.Background())
}

// fdDir returns /proc/[pid]/fd: dr-x------, one magic link per open fd.
func (t task) fdDir() *dirNode {
	return t.fs.newDir(t.path("fd"), t.path(), 0o500, t,
		func(context.Context) ([]dirent, error) { return t.fdEntries("fd", linux.DT_LNK) },
		func(_ context.Context, name string) (vfs.Inode, error) {
			fd, ok := parseFD(name)
			if !ok {
				return nil, unix.ENOENT
			}
			f, _, err := t.file(fd)
			if err != nil {
				return nil, err
			}
			// As Linux: r-x for a readable description, -wx for a
			// writable one.
			perm := uint32(0)
			if f.IsReadable() {
				perm |= 0o500
			}
			if f.IsWritable() {
				perm |= 0o300
			}
			dropLater(f)
			l := t.fs.newMagicLink(t.path("fd", name), perm, t, t.pid,
				func(ctx context.Context) (string, error) {
					f, _, err := t.file(fd)
					if err != nil {
						return "", err
					}
					defer f.DecRef(ctx)
					if n, ok := f.Impl().(AnonNamer); ok {
						return n.ProcName(), nil
					}
					return t.fs.linkText(ctx, f.VirtualDentry()), nil
				},
				func(context.Context) (vfs.VirtualDentry, error) {
					f, _, err := t.file(fd)
					if err != nil {
						return vfs.VirtualDentry{}, err
					}
					vd := f.VirtualDentry()
					vd.IncRef()
					dropLater(f) // MagicLink runs under the tree lock.
					return vd, nil
				})
			l.exists = t.fdExists(fd)
			return l, nil
		})
}

// fdinfoDir returns /proc/[pid]/fdinfo: dr-x------, one file per open
// fd with its offset, flags, mount ID and inode number.
func (t task) fdinfoDir() *dirNode {
	return t.fs.newDir(t.path("fdinfo"), t.path(), 0o500, t,
		func(context.Context) ([]dirent, error) { return t.fdEntries("fdinfo", linux.DT_REG) },
		func(_ context.Context, name string) (vfs.Inode, error) {
			fd, ok := parseFD(name)
			if !ok {
				return nil, unix.ENOENT
			}
			f, _, err := t.file(fd)
			if err != nil {
				return nil, err
			}
			dropLater(f)
			info := t.fs.newFile(t.path("fdinfo", name), 0o400, t, func(ctx context.Context) ([]byte, error) {
				f, flags, err := t.file(fd)
				if err != nil {
					return nil, err
				}
				defer f.DecRef(ctx)
				return fdinfo(ctx, f, flags)
			})
			info.exists = t.fdExists(fd)
			return info, nil
		})
}

// fdinfo formats /proc/[pid]/fdinfo/N as Linux's seq_show does.
func fdinfo(ctx context.Context, f *vfs.FileDescription, flags vfs.FDFlags) ([]byte, error) {
	st, err := f.Stat(ctx, linux.STATX_INO)
	if err != nil {
		return nil, err
	}
	fl := f.StatusFlags()
	if flags.CloseOnExec {
		fl |= linux.O_CLOEXEC
	}
	var pos int64
	if !f.IsPath() {
		pos = f.Offset()
	}
	return fmt.Appendf(nil, "pos:\t%d\nflags:\t0%o\nmnt_id:\t%d\nino:\t%d\n", pos, fl, f.VirtualDentry().Mount.ID(), st.Ino), nil
}

// parseFD parses an fd directory entry name: a decimal fd without sign
// or leading zeros ("0" itself is fd 0).
func parseFD(name string) (int32, bool) {
	if name == "0" {
		return 0, true
	}
	return parseID(name)
}
