package vfs

import "sort"

// MountRecord describes one mount as /proc/[pid]/mounts lists it.
type MountRecord struct {
	ID, ParentID       uint64
	DevMinor           uint32
	MountPoint         string
	FSType             string
	Flags              MountFlags
	RootPath           string
	ReachableFromRoot  bool
	FilesystemInstance *Filesystem
}

// FilesystemTyper is implemented by filesystems that know their type name
// ("tmpfs", "proc", "9p").
type FilesystemTyper interface {
	FSType() string
}

// Mounts returns the mounts under root's mount (root's included) in mount
// ID order, with mount points as seen from root.
func (v *VirtualFilesystem) Mounts(root VirtualDentry) []MountRecord {
	v.treeMu.RLock()
	defer v.treeMu.RUnlock()
	var out []MountRecord
	var walk func(m *Mount)
	walk = func(m *Mount) {
		if m.detached {
			return
		}
		rec := MountRecord{ID: m.id, ParentID: m.id, DevMinor: m.fs.devMinor, Flags: m.Flags(), RootPath: "/", FilesystemInstance: m.fs}
		if m.parent != nil {
			rec.ParentID = m.parent.id
			rec.MountPoint, rec.ReachableFromRoot = pathnameLocked(root, VirtualDentry{m.parent, m.point})
		} else {
			rec.MountPoint, rec.ReachableFromRoot = pathnameLocked(root, VirtualDentry{m, m.root})
		}
		rec.FSType = "none"
		if ty, ok := m.fs.impl.(FilesystemTyper); ok {
			rec.FSType = ty.FSType()
		}
		out = append(out, rec)
		children := make([]*Mount, 0, len(m.children))
		for c := range m.children {
			children = append(children, c)
		}
		sort.Slice(children, func(i, j int) bool { return children[i].id < children[j].id })
		for _, c := range children {
			walk(c)
		}
	}
	top := root.Mount
	for top.parent != nil {
		top = top.parent
	}
	walk(top)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
