package gofer

import (
	"os"
	"sync/atomic"

	"github.com/palisade-sandbox/palisade/p9"
	"golang.org/x/sys/unix"
)

// Attacher serves one Tree over p9: every attach (with aname "" or "/")
// gets the tree's root.
type Attacher struct {
	tree *Tree
}

var _ p9.Attacher = (*Attacher)(nil)

// NewAttacher returns an Attacher for t.
func NewAttacher(t *Tree) *Attacher { return &Attacher{tree: t} }

// Attach implements p9.Attacher.Attach. The user id is not used: the
// Gofer acts with its own identity and permission checks are the
// Sentry's; created files get the owner the client names.
func (a *Attacher) Attach(aname string, _ p9.UID) (p9.File, error) {
	if aname != "" && aname != "/" {
		return nil, unix.ENOENT
	}
	return &file{a: a, node: a.tree.Root()}, nil
}

// file is the p9.File of one fid: a Node, and after Open its OpenFile.
type file struct {
	a    *Attacher
	node *Node
	// open is set once by a successful Open or Create; the framework calls
	// the I/O methods only after that.
	open atomic.Pointer[OpenFile]
}

var (
	_ p9.File          = (*file)(nil)
	_ p9.WalkGetAttrer = (*file)(nil)
	_ p9.ReaddirAttrer = (*file)(nil)
	_ p9.Remover       = (*file)(nil)
)

func (f *file) newFile(n *Node) *file { return &file{a: f.a, node: n} }

// qid returns the QID of a file with status st.
func (f *file) qid(st *unix.Stat_t) p9.QID {
	return p9.QID{Type: p9.FileMode(st.Mode).QIDType(), Path: f.node.tree.QIDPath(st.Dev, st.Ino)}
}

// attrOf converts host status to p9 attributes.
func attrOf(st *unix.Stat_t) (p9.AttrMask, p9.Attr) {
	return p9.AttrBasic, p9.Attr{
		Mode:             p9.FileMode(st.Mode),
		UID:              p9.UID(st.Uid),
		GID:              p9.GID(st.Gid),
		NLink:            st.Nlink,
		RDev:             st.Rdev,
		Size:             uint64(st.Size),
		BlockSize:        uint64(st.Blksize),
		Blocks:           uint64(st.Blocks),
		ATimeSeconds:     uint64(st.Atim.Sec),
		ATimeNanoSeconds: uint64(st.Atim.Nsec),
		MTimeSeconds:     uint64(st.Mtim.Sec),
		MTimeNanoSeconds: uint64(st.Mtim.Nsec),
		CTimeSeconds:     uint64(st.Ctim.Sec),
		CTimeNanoSeconds: uint64(st.Ctim.Nsec),
	}
}

// Walk implements p9.File.Walk.
func (f *file) Walk(names []string) ([]p9.QID, p9.File, error) {
	steps, nf, err := f.walk(names, false)
	qids := make([]p9.QID, len(steps))
	for i := range steps {
		qids[i] = steps[i].QID
	}
	return qids, nf, err
}

// WalkGetAttr implements p9.WalkGetAttrer.WalkGetAttr.
func (f *file) WalkGetAttr(names []string, _ p9.AttrMask) ([]p9.QIDAttr, p9.File, error) {
	return f.walk(names, true)
}

// walk walks names from f, one component at a time (Node.Walk), and
// returns each step's QID (and attributes if withAttr).
func (f *file) walk(names []string, withAttr bool) ([]p9.QIDAttr, p9.File, error) {
	steps := make([]p9.QIDAttr, 0, len(names))
	cur := f.node.Dup()
	for _, name := range names {
		next, st, err := cur.WalkStat(name)
		cur.Close()
		if err != nil {
			if len(steps) == 0 {
				return nil, nil, err
			}
			return steps, nil, nil
		}
		cur = next
		step := p9.QIDAttr{QID: f.qid(&st)}
		if withAttr {
			step.Valid, step.Attr = attrOf(&st)
		}
		steps = append(steps, step)
	}
	return steps, f.newFile(cur), nil
}

// Clone implements p9.File.Clone.
func (f *file) Clone() (p9.File, error) {
	return f.newFile(f.node.Dup()), nil
}

// GetAttr implements p9.File.GetAttr.
func (f *file) GetAttr(p9.AttrMask) (p9.QID, p9.AttrMask, p9.Attr, error) {
	st, err := f.node.Stat()
	if err != nil {
		return p9.QID{}, 0, p9.Attr{}, err
	}
	valid, attr := attrOf(&st)
	return f.qid(&st), valid, attr, nil
}

// SetAttr implements p9.File.SetAttr.
func (f *file) SetAttr(valid p9.SetAttrMask, a p9.SetAttr) error {
	c := AttrChange{
		SetMode:  valid&p9.SetAttrMode != 0,
		Mode:     uint32(a.Mode & p9.ModePermMask),
		SetUID:   valid&p9.SetAttrUID != 0,
		UID:      uint32(a.UID),
		SetGID:   valid&p9.SetAttrGID != 0,
		GID:      uint32(a.GID),
		SetSize:  valid&p9.SetAttrSize != 0,
		Size:     a.Size,
		SetATime: valid&p9.SetAttrATime != 0,
		SetMTime: valid&p9.SetAttrMTime != 0,
	}
	if c.SetATime {
		c.ATime = timespec(valid&p9.SetAttrATimeSet != 0, a.ATimeSeconds, a.ATimeNanoSeconds)
	}
	if c.SetMTime {
		c.MTime = timespec(valid&p9.SetAttrMTimeSet != 0, a.MTimeSeconds, a.MTimeNanoSeconds)
	}
	return f.node.SetAttr(c)
}

// timespec is the given time, or UTIME_NOW when not set explicitly.
func timespec(set bool, sec, nsec uint64) unix.Timespec {
	if !set {
		return unix.Timespec{Nsec: unix.UTIME_NOW}
	}
	return unix.Timespec{Sec: int64(sec), Nsec: int64(nsec)}
}

// hostOpenFlags keeps the p9 open flags the Gofer passes on. p9 uses the
// Linux x86 values, so they are the host's.
func hostOpenFlags(fl p9.OpenFlags) int {
	keep := p9.OpenFlagsMode | p9.OpenTruncate | p9.OpenAppend | p9.OpenDirect | p9.OpenDSync | p9.OpenSync | p9.OpenNoATime
	return int(fl & keep)
}

// donate returns a duplicate of of's descriptor for the framework to send
// and close, for regular files only.
func donate(of *OpenFile) (*os.File, error) {
	if of.node.FileType() != unix.S_IFREG {
		return nil, nil
	}
	fd, err := unix.FcntlInt(uintptr(of.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "donated"), nil
}

// Open implements p9.File.Open. Regular files are donated.
func (f *file) Open(flags p9.OpenFlags) (p9.QID, uint32, *os.File, error) {
	of, err := f.node.Open(hostOpenFlags(flags))
	if err != nil {
		return p9.QID{}, 0, nil, err
	}
	st, err := f.node.Stat()
	if err != nil {
		of.Close()
		return p9.QID{}, 0, nil, err
	}
	d, err := donate(of)
	if err != nil {
		of.Close()
		return p9.QID{}, 0, nil, err
	}
	if !f.open.CompareAndSwap(nil, of) {
		of.Close()
		if d != nil {
			d.Close()
		}
		return p9.QID{}, 0, nil, unix.EINVAL
	}
	return f.qid(&st), 0, d, nil
}

// ids converts p9 owner ids to fchown arguments (-1: unchanged).
func ids(uid p9.UID, gid p9.GID) (int, int) {
	u, g := -1, -1
	if uid != p9.NoUID {
		u = int(uid)
	}
	if gid != p9.NoGID {
		g = int(gid)
	}
	return u, g
}

// Create implements p9.File.Create.
func (f *file) Create(name string, flags p9.OpenFlags, mode p9.FileMode, uid p9.UID, gid p9.GID) (p9.File, p9.QID, uint32, *os.File, error) {
	u, g := ids(uid, gid)
	n, of, err := f.node.Create(name, hostOpenFlags(flags)&^unix.O_TRUNC, uint32(mode&p9.ModePermMask), u, g)
	if err != nil {
		return nil, p9.QID{}, 0, nil, err
	}
	nf := f.newFile(n)
	nf.open.Store(of)
	st, err := n.Stat()
	if err != nil {
		nf.Close()
		return nil, p9.QID{}, 0, nil, err
	}
	d, err := donate(of)
	if err != nil {
		nf.Close()
		return nil, p9.QID{}, 0, nil, err
	}
	return nf, f.qid(&st), 0, d, nil
}

// opened returns the OpenFile, or EBADF before Open.
func (f *file) opened() (*OpenFile, error) {
	of := f.open.Load()
	if of == nil {
		return nil, unix.EBADF
	}
	return of, nil
}

// ReadAt implements p9.File.ReadAt.
func (f *file) ReadAt(p []byte, off uint64) (int, error) {
	of, err := f.opened()
	if err != nil {
		return 0, err
	}
	return of.ReadAt(p, off)
}

// WriteAt implements p9.File.WriteAt.
func (f *file) WriteAt(p []byte, off uint64) (int, error) {
	of, err := f.opened()
	if err != nil {
		return 0, err
	}
	return of.WriteAt(p, off)
}

// dirent converts a host entry of directory dir.
func (f *file) dirent(e *Dirent) p9.Dirent {
	typ := p9.QIDTypeRegular
	switch e.Type {
	case unix.DT_DIR:
		typ = p9.QIDTypeDir
	case unix.DT_LNK:
		typ = p9.QIDTypeSymlink
	}
	return p9.Dirent{
		QID:    p9.QID{Type: typ, Path: f.node.tree.QIDPath(f.node.dev, e.Ino)},
		Offset: e.Off,
		Type:   e.Type,
		Name:   e.Name,
	}
}

// Readdir implements p9.File.Readdir.
func (f *file) Readdir(off uint64, count uint32) ([]p9.Dirent, error) {
	of, err := f.opened()
	if err != nil {
		return nil, err
	}
	// A host dirent64 is about as long as an encoded p9 Dirent.
	ents, err := of.Readdir(off, int(count))
	if err != nil {
		return nil, err
	}
	out := make([]p9.Dirent, len(ents))
	for i := range ents {
		out[i] = f.dirent(&ents[i])
	}
	return out, nil
}

// direntAttrSize is the encoded size of a Treaddirattr entry without its
// name: qid[13] offset[8] type[1] name-length[2] valid[8] attr[144].
const direntAttrSize = 13 + 8 + 1 + 2 + 8 + 3*4 + 15*8

// ReaddirAttr implements p9.ReaddirAttrer.ReaddirAttr: the entries that
// fit in count bytes, each statted under the open directory.
func (f *file) ReaddirAttr(off uint64, count uint32, _ p9.AttrMask) ([]p9.DirentAttr, error) {
	of, err := f.opened()
	if err != nil {
		return nil, err
	}
	// Host dirents are ~6 times smaller than encoded entries with
	// attributes; read about what fits, then trim before statting.
	ents, err := of.Readdir(off, int(count)/5)
	if err != nil {
		return nil, err
	}
	total := 0
	out := make([]p9.DirentAttr, 0, len(ents))
	for i := range ents {
		e := &ents[i]
		total += direntAttrSize + len(e.Name)
		if total > int(count) {
			break
		}
		da := p9.DirentAttr{Dirent: f.dirent(e)}
		if e.Name != "." && e.Name != ".." {
			var st unix.Stat_t
			if unix.Fstatat(of.fd, e.Name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
				da.Dirent.QID = f.qid(&st)
				da.Valid, da.Attr = attrOf(&st)
			}
		}
		out = append(out, da)
	}
	if len(out) == 0 && len(ents) > 0 {
		return nil, unix.EINVAL // count cannot hold one entry
	}
	return out, nil
}

// Mkdir implements p9.File.Mkdir.
func (f *file) Mkdir(name string, mode p9.FileMode, uid p9.UID, gid p9.GID) (p9.QID, error) {
	u, g := ids(uid, gid)
	st, err := f.node.Mkdir(name, uint32(mode&p9.ModePermMask), u, g)
	if err != nil {
		return p9.QID{}, err
	}
	return f.qid(&st), nil
}

// Symlink implements p9.File.Symlink.
func (f *file) Symlink(target, name string, uid p9.UID, gid p9.GID) (p9.QID, error) {
	u, g := ids(uid, gid)
	st, err := f.node.Symlink(target, name, u, g)
	if err != nil {
		return p9.QID{}, err
	}
	return f.qid(&st), nil
}

// Mknod implements p9.File.Mknod (regular files and FIFOs only).
func (f *file) Mknod(name string, mode p9.FileMode, _, _ uint32, uid p9.UID, gid p9.GID) (p9.QID, error) {
	u, g := ids(uid, gid)
	st, err := f.node.MknodOwned(name, uint32(mode), u, g)
	if err != nil {
		return p9.QID{}, err
	}
	return f.qid(&st), nil
}

// other returns the gofer file behind a p9.File of this server.
func other(pf p9.File) (*file, error) {
	o, ok := pf.(*file)
	if !ok {
		return nil, unix.EXDEV
	}
	return o, nil
}

// Link implements p9.File.Link.
func (f *file) Link(target p9.File, name string) error {
	t, err := other(target)
	if err != nil {
		return err
	}
	return f.node.Link(t.node, name)
}

// Rename implements p9.File.Rename.
func (f *file) Rename(newDir p9.File, newName string) error {
	d, err := other(newDir)
	if err != nil {
		return err
	}
	return f.node.Rename(d.node, newName)
}

// RenameAt implements p9.File.RenameAt.
func (f *file) RenameAt(oldName string, newDir p9.File, newName string) error {
	d, err := other(newDir)
	if err != nil {
		return err
	}
	return f.node.RenameAt(oldName, d.node, newName)
}

// UnlinkAt implements p9.File.UnlinkAt.
func (f *file) UnlinkAt(name string, flags uint32) error {
	var fl int
	if flags&p9.UnlinkRemoveDir != 0 {
		fl = unix.AT_REMOVEDIR
	}
	return f.node.UnlinkAt(name, fl)
}

// Readlink implements p9.File.Readlink.
func (f *file) Readlink() (string, error) {
	return f.node.Readlink()
}

// StatFS implements p9.File.StatFS.
func (f *file) StatFS() (p9.FSStat, error) {
	st, err := f.node.StatFS()
	if err != nil {
		return p9.FSStat{}, err
	}
	return p9.FSStat{
		Type:            uint32(st.Type),
		BlockSize:       uint32(st.Bsize),
		Blocks:          st.Blocks,
		BlocksFree:      st.Bfree,
		BlocksAvailable: st.Bavail,
		Files:           st.Files,
		FilesFree:       st.Ffree,
		FSID:            uint64(uint32(st.Fsid.Val[0])) | uint64(uint32(st.Fsid.Val[1]))<<32,
		NameLength:      uint32(st.Namelen),
	}, nil
}

// FSync implements p9.File.FSync.
func (f *file) FSync(datasync bool) error {
	of, err := f.opened()
	if err != nil {
		return err
	}
	return of.FSync(datasync)
}

// hostLockType maps p9 lock types to fcntl's.
func hostLockType(t p9.LockType) (int16, error) {
	switch t {
	case p9.LockTypeRead:
		return LockRead, nil
	case p9.LockTypeWrite:
		return LockWrite, nil
	case p9.LockTypeUnlock:
		return LockUnlock, nil
	}
	return 0, unix.EINVAL
}

// Lock implements p9.File.Lock. The lock belongs to this fid's open file
// description. It never blocks the server: a conflicting lock answers
// LockStatusBlocked and the client retries (also for LockFlagsBlock).
func (f *file) Lock(l p9.Lock, _ p9.LockFlags) (p9.LockStatus, error) {
	of, err := f.opened()
	if err != nil {
		return p9.LockStatusError, err
	}
	typ, err := hostLockType(l.Type)
	if err != nil {
		return p9.LockStatusError, err
	}
	switch err := of.Lock(typ, l.Start, l.Length); err {
	case nil:
		return p9.LockStatusSuccess, nil
	case unix.EAGAIN, unix.EACCES:
		return p9.LockStatusBlocked, nil
	default:
		return p9.LockStatusError, err
	}
}

// GetLock implements p9.File.GetLock.
func (f *file) GetLock(l p9.Lock) (p9.Lock, error) {
	of, err := f.opened()
	if err != nil {
		return p9.Lock{}, err
	}
	typ, err := hostLockType(l.Type)
	if err != nil {
		return p9.Lock{}, err
	}
	gt, start, length, pid, err := of.GetLock(typ, l.Start, l.Length)
	if err != nil {
		return p9.Lock{}, err
	}
	out := p9.Lock{Type: p9.LockTypeUnlock, Start: l.Start, Length: l.Length, ProcID: l.ProcID, ClientID: l.ClientID}
	switch gt {
	case LockRead:
		out = p9.Lock{Type: p9.LockTypeRead, Start: start, Length: length, ProcID: uint32(pid)}
	case LockWrite:
		out = p9.Lock{Type: p9.LockTypeWrite, Start: start, Length: length, ProcID: uint32(pid)}
	}
	return out, nil
}

// GetXattr implements p9.File.GetXattr.
func (f *file) GetXattr(name string, size uint64) ([]byte, error) {
	// Probe the length first so a value is never truncated silently.
	_, k, err := f.node.GetXattr(name, 0)
	if err != nil {
		return nil, err
	}
	if uint64(k) > size {
		return nil, unix.ERANGE
	}
	v, _, err := f.node.GetXattr(name, uint64(k))
	if k == 0 && err == nil {
		return []byte{}, nil
	}
	return v, err
}

// ListXattr implements p9.File.ListXattr.
func (f *file) ListXattr(size uint64) ([]string, error) {
	return f.node.ListXattr(size)
}

// SetXattr implements p9.File.SetXattr.
func (f *file) SetXattr(name string, value []byte, flags uint32) error {
	var fl int
	if flags&p9.XattrCreate != 0 {
		fl |= unix.XATTR_CREATE
	}
	if flags&p9.XattrReplace != 0 {
		fl |= unix.XATTR_REPLACE
	}
	return f.node.SetXattr(name, value, fl)
}

// RemoveXattr implements p9.File.RemoveXattr.
func (f *file) RemoveXattr(name string) error {
	return f.node.RemoveXattr(name)
}

// Remove implements p9.Remover.Remove.
func (f *file) Remove() error {
	return f.node.Remove()
}

// Close implements p9.File.Close.
func (f *file) Close() error {
	if of := f.open.Swap(nil); of != nil {
		of.Close()
	}
	return f.node.Close()
}
