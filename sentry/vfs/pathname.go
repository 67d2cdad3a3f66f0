package vfs

import (
	"strings"

	"golang.org/x/sys/unix"
)

// pathnameLocked builds the path of vd as seen from root by walking up
// through parents and mount points. reachable is false when the walk hit
// the top of the mount tree without meeting root (vd is outside the
// caller's chroot, or on a detached mount); the path is then relative to
// the top it reached. Caller holds treeMu.
func pathnameLocked(root, vd VirtualDentry) (path string, reachable bool) {
	var comps []string
	cur := vd
	reachable = true
	for cur != root {
		if cur.Dentry == cur.Mount.root {
			if cur.Mount.parent == nil {
				reachable = false
				break
			}
			cur = VirtualDentry{cur.Mount.parent, cur.Mount.point}
			continue
		}
		if cur.Dentry.parent == nil {
			reachable = false
			break
		}
		comps = append(comps, cur.Dentry.name)
		cur = VirtualDentry{cur.Mount, cur.Dentry.parent}
	}
	var b strings.Builder
	for i := len(comps) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(comps[i])
	}
	if b.Len() == 0 {
		return "/", reachable
	}
	return b.String(), reachable
}

// PathnameWithDeleted returns vd's path as seen from root, as Linux's
// d_path does for /proc/[pid]/fd/N, /proc/[pid]/cwd and /proc/[pid]/exe:
// an unlinked file gets " (deleted)" appended.
func (v *VirtualFilesystem) PathnameWithDeleted(root, vd VirtualDentry) string {
	v.treeMu.RLock()
	defer v.treeMu.RUnlock()
	p, _ := pathnameLocked(root, vd)
	if vd.Dentry.dead.Load() {
		p += " (deleted)"
	}
	return p
}

// GetcwdPath implements getcwd(2) for the cwd vd and the root root: ENOENT
// if the directory was removed, and a path prefixed "(unreachable)" when
// the cwd is outside the root.
func (v *VirtualFilesystem) GetcwdPath(root, vd VirtualDentry) (string, error) {
	v.treeMu.RLock()
	defer v.treeMu.RUnlock()
	if vd.Dentry.dead.Load() {
		return "", unix.ENOENT
	}
	p, reachable := pathnameLocked(root, vd)
	if !reachable {
		return "(unreachable)" + p, nil
	}
	return p, nil
}
