package boot

import (
	"context"
	"fmt"
	"strings"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/runsc/sandbox"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// DefaultPath is searched for a program when the environment has no
// PATH, as execvp(3) does.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// lookPath returns the file the sandbox runs for program name: name
// itself if it contains a slash (a relative one is resolved from cwd by
// the kernel), else the first regular file called name that creds may
// execute in a directory of env's PATH, looked up in the sandbox's own
// tree. Relative PATH entries are skipped.
func lookPath(ctx context.Context, root *sandbox.Root, creds *vfs.Credentials, name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	pathVar, found := DefaultPath, false
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			pathVar, found = v, true
		}
	}
	for _, dir := range strings.Split(pathVar, ":") {
		if !strings.HasPrefix(dir, "/") {
			continue
		}
		p := strings.TrimSuffix(dir, "/") + "/" + name
		pop := &vfs.PathOperation{Root: root.Root, Start: root.Root, Path: p, FollowFinalSymlink: true}
		st, err := root.VFS.StatAt(ctx, creds, pop, linux.STATX_TYPE|linux.STATX_MODE)
		if err != nil || uint32(st.Mode)&linux.S_IFMT != linux.S_IFREG {
			continue
		}
		if root.VFS.AccessAt(ctx, creds, pop, vfs.MayExec) == nil {
			return p, nil
		}
	}
	if found {
		return "", fmt.Errorf("%s: not found in $PATH", name)
	}
	return "", fmt.Errorf("%s: not found in $PATH (default %s)", name, DefaultPath)
}

// checkCwd checks that cwd ("" for "/") is a directory creds may enter.
func checkCwd(ctx context.Context, root *sandbox.Root, creds *vfs.Credentials, cwd string) error {
	if cwd == "" {
		return nil
	}
	pop := &vfs.PathOperation{Root: root.Root, Start: root.Root, Path: cwd, FollowFinalSymlink: true}
	st, err := root.VFS.StatAt(ctx, creds, pop, linux.STATX_TYPE)
	if err != nil {
		return fmt.Errorf("working directory %s: %w", cwd, err)
	}
	if uint32(st.Mode)&linux.S_IFMT != linux.S_IFDIR {
		return fmt.Errorf("working directory %s: not a directory", cwd)
	}
	if err := root.VFS.AccessAt(ctx, creds, pop, vfs.MayExec); err != nil {
		return fmt.Errorf("working directory %s: %w", cwd, err)
	}
	return nil
}
