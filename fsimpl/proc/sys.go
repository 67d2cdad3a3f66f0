package proc

import (
	"context"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// NGroupsMax is /proc/sys/kernel/ngroups_max: NGROUPS_MAX, the most
// supplementary groups setgroups(2) accepts.
const NGroupsMax = 65536

// sysctl is one /proc/sys file: its name and its value without the
// newline.
type sysctl struct {
	name string
	// perm is the mode Linux shows: 0644 for settings root may change
	// there (refused here), 0444 for facts.
	perm  uint32
	value func(fs *Filesystem) string
}

// sysctlDirs are the directories of /proc/sys and their files.
var sysctlDirs = []struct {
	name  string
	files []sysctl
}{
	{"fs", []sysctl{
		{"nr_open", 0o644, func(*Filesystem) string { return strconv.Itoa(linux.NrOpen) }},
	}},
	{"kernel", []sysctl{
		{"cap_last_cap", 0o444, func(*Filesystem) string { return strconv.Itoa(unix.CAP_LAST_CAP) }},
		{"domainname", 0o644, func(fs *Filesystem) string { return fs.k.System().Uname.Domainname }},
		{"hostname", 0o644, func(fs *Filesystem) string { return fs.k.System().Uname.Nodename }},
		{"ngroups_max", 0o444, func(*Filesystem) string { return strconv.Itoa(NGroupsMax) }},
		{"osrelease", 0o444, func(fs *Filesystem) string { return fs.k.System().Uname.Release }},
		{"ostype", 0o444, func(fs *Filesystem) string { return fs.k.System().Uname.Sysname }},
		{"overflowgid", 0o644, func(*Filesystem) string { return "65534" }},
		{"overflowuid", 0o644, func(*Filesystem) string { return "65534" }},
		{"pid_max", 0o644, func(fs *Filesystem) string { return strconv.Itoa(int(fs.opts.PIDMax)) }},
		{"version", 0o444, func(fs *Filesystem) string { return fs.k.System().Uname.Version }},
	}},
	{"vm", []sysctl{
		// The Sentry never refuses an allocation on a commit estimate
		// (heuristic overcommit, mode 0): memory is only checked
		// against the limits when it is used.
		{"overcommit_memory", 0o644, func(*Filesystem) string { return "0" }},
	}},
}

// sysDir returns /proc/sys.
func (fs *Filesystem) sysDir() vfs.Inode {
	var dirs static
	for _, d := range sysctlDirs {
		var files static
		for _, f := range d.files {
			files = append(files, staticEntry{f.name, func() vfs.Inode {
				return fs.newFile(inoOf("sys", d.name, f.name), f.perm, nil, func(context.Context) ([]byte, error) {
					return []byte(f.value(fs) + "\n"), nil
				})
			}})
		}
		if d.name == "kernel" {
			files = append(files, staticEntry{"random", func() vfs.Inode { return fs.randomDir() }})
		}
		dirs = append(dirs, staticEntry{d.name, func() vfs.Inode { return fs.staticDir(inoOf("sys", d.name), inoOf("sys"), files) }})
	}
	return fs.staticDir(inoOf("sys"), rootIno, dirs)
}

// randomDir returns /proc/sys/kernel/random: boot_id (fixed per /proc
// instance) and uuid (a new one at every read).
func (fs *Filesystem) randomDir() vfs.Inode {
	return fs.staticDir(inoOf("sys", "kernel", "random"), inoOf("sys", "kernel"), static{
		{"boot_id", func() vfs.Inode {
			return fs.newFile(inoOf("sys", "kernel", "random", "boot_id"), 0o444, nil, func(context.Context) ([]byte, error) {
				return []byte(fs.bootID + "\n"), nil
			})
		}},
		{"uuid", func() vfs.Inode {
			return fs.newFile(inoOf("sys", "kernel", "random", "uuid"), 0o444, nil, func(context.Context) ([]byte, error) {
				return []byte(newUUID() + "\n"), nil
			})
		}},
	})
}

// staticDir returns a root-owned dr-xr-xr-x directory holding entries.
func (fs *Filesystem) staticDir(ino, parentIno uint64, entries static) *dirNode {
	return fs.newDir(ino, parentIno, 0o555, nil,
		func(context.Context) ([]dirent, error) { return entries.entries(), nil },
		func(_ context.Context, name string) (vfs.Inode, error) {
			if in := entries.find(name); in != nil {
				return in, nil
			}
			return nil, unix.ENOENT
		})
}
