package proc

import (
	"context"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// rootEntries are /proc's fixed entries, in listing order.
func (fs *Filesystem) rootEntries() static {
	file := func(name string, gen func(context.Context) ([]byte, error)) func() vfs.Inode {
		return func() vfs.Inode { return fs.newFile(inoOf(name), 0o444, nil, gen) }
	}
	return static{
		{"cpuinfo", file("cpuinfo", fs.cpuinfo)},
		{"filesystems", file("filesystems", fs.filesystems)},
		{"loadavg", file("loadavg", fs.loadavg)},
		{"meminfo", file("meminfo", fs.meminfo)},
		{"mounts", func() vfs.Inode {
			return fs.newSymlink(inoOf("mounts"), nil, func(context.Context) (string, error) { return "self/mounts", nil })
		}},
		{"self", func() vfs.Inode { return fs.newSymlink(inoOf("self"), nil, fs.selfTarget) }},
		{"stat", file("stat", fs.stat)},
		{"sys", func() vfs.Inode { return fs.sysDir() }},
		{"thread-self", func() vfs.Inode { return fs.newSymlink(inoOf("thread-self"), nil, fs.threadSelfTarget) }},
		{"uptime", file("uptime", fs.uptime)},
		{"version", file("version", fs.version)},
	}
}

// newRoot builds /proc: the fixed entries, then one directory per
// process.
func (fs *Filesystem) newRoot() *dirNode {
	entries := fs.rootEntries()
	return fs.newDir(rootIno, rootIno, 0o555, nil,
		func(context.Context) ([]dirent, error) {
			out := entries.entries()
			for _, pid := range fs.k.PIDs() {
				name := strconv.Itoa(int(pid))
				out = append(out, dirent{name: name, typ: linux.DT_DIR, ino: inoOf(name)})
			}
			return out, nil
		},
		func(_ context.Context, name string) (vfs.Inode, error) {
			if in := entries.find(name); in != nil {
				return in, nil
			}
			pid, ok := parseID(name)
			if !ok || fs.k.Process(pid) == nil {
				return nil, unix.ENOENT
			}
			return fs.processDir(pid), nil
		})
}

// parseID parses a /proc directory name as a process or thread ID: a
// positive decimal number without sign or leading zeros.
func parseID(name string) (int32, bool) {
	if name == "" || name[0] < '1' || name[0] > '9' || len(name) > 10 {
		return 0, false
	}
	n, err := strconv.ParseInt(name, 10, 32)
	if err != nil || n <= 0 {
		return 0, false
	}
	return int32(n), true
}

// selfTarget is /proc/self's text: the caller's PID.
func (fs *Filesystem) selfTarget(ctx context.Context) (string, error) {
	pid, _, ok := fs.k.Caller(ctx)
	if !ok {
		return "", unix.ENOENT
	}
	return strconv.Itoa(int(pid)), nil
}

// threadSelfTarget is /proc/thread-self's text: "PID/task/TID".
func (fs *Filesystem) threadSelfTarget(ctx context.Context) (string, error) {
	pid, tid, ok := fs.k.Caller(ctx)
	if !ok {
		return "", unix.ENOENT
	}
	return strconv.Itoa(int(pid)) + "/task/" + strconv.Itoa(int(tid)), nil
}
