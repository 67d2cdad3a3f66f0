package p9

import (
	"os"
	"sort"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// memFS is an in-memory file tree implementing File, for tests.
type memFS struct {
	// mu guards every node.
	mu      sync.Mutex
	nextIno uint64
	root    *memNode
	// donate makes Open/Create of regular files donate a memfd holding
	// the file's contents (the node then keeps its data there).
	donate bool
	// readGate, if set, is called at the start of every ReadAt (used to
	// hold a request in flight).
	readGate atomic.Pointer[func()]
	// closes counts File.Close calls; opens counts Files made.
	closes, files int
}

type memNode struct {
	ino      uint64
	mode     FileMode
	uid      UID
	gid      GID
	data     []byte
	memfd    *os.File
	target   string
	rdev     uint64
	nlink    uint64
	parent   *memNode
	name     string
	children map[string]*memNode
	xattrs   map[string][]byte
	lockProc uint32
	lockType LockType
}

func newMemFS() *memFS {
	fs := &memFS{}
	fs.root = fs.newNode(ModeDirectory|0o755, 0, 0)
	fs.root.parent = fs.root
	return fs
}

func (fs *memFS) newNode(mode FileMode, uid UID, gid GID) *memNode {
	fs.nextIno++
	n := &memNode{ino: fs.nextIno, mode: mode, uid: uid, gid: gid, nlink: 1, xattrs: map[string][]byte{}}
	if mode.FileType() == ModeDirectory {
		n.children = map[string]*memNode{}
		n.nlink = 2
	}
	return n
}

// closeAll releases memfds.
func (fs *memFS) closeAll() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var walk func(n *memNode)
	walk = func(n *memNode) {
		if n.memfd != nil {
			n.memfd.Close()
			n.memfd = nil
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(fs.root)
}

func (n *memNode) qid() QID { return QID{Type: n.mode.QIDType(), Path: n.ino} }

func (fs *memFS) Attach(aname string, uid UID) (File, error) {
	if aname != "" && aname != "/" {
		return nil, unix.ENOENT
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.files++
	return &memFile{fs: fs, n: fs.root}, nil
}

type memFile struct {
	fs *memFS
	n  *memNode
}

func (f *memFile) newFile(n *memNode) *memFile {
	f.fs.files++
	return &memFile{fs: f.fs, n: n}
}

func (f *memFile) Walk(names []string) ([]QID, File, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	cur := f.n
	var qids []QID
	for _, name := range names {
		if cur.children == nil {
			return qids, nil, unix.ENOTDIR
		}
		c, ok := cur.children[name]
		if !ok {
			return qids, nil, unix.ENOENT
		}
		cur = c
		qids = append(qids, c.qid())
	}
	return qids, f.newFile(cur), nil
}

func (f *memFile) Clone() (File, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	return f.newFile(f.n), nil
}

func (f *memFile) GetAttr(mask AttrMask) (QID, AttrMask, Attr, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	n := f.n
	size := uint64(len(n.data))
	if n.memfd != nil {
		var st unix.Stat_t
		if err := unix.Fstat(int(n.memfd.Fd()), &st); err == nil {
			size = uint64(st.Size)
		}
	}
	if n.mode.FileType() == ModeSymlink {
		size = uint64(len(n.target))
	}
	a := Attr{Mode: n.mode, UID: n.uid, GID: n.gid, NLink: n.nlink, RDev: n.rdev, Size: size,
		BlockSize: 4096, Blocks: (size + 511) / 512, MTimeSeconds: 1700000000}
	return n.qid(), AttrBasic, a, nil
}

func (f *memFile) SetAttr(valid SetAttrMask, attr SetAttr) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	n := f.n
	if valid&SetAttrMode != 0 {
		n.mode = n.mode.FileType() | attr.Mode&ModePermMask
	}
	if valid&SetAttrUID != 0 {
		n.uid = attr.UID
	}
	if valid&SetAttrGID != 0 {
		n.gid = attr.GID
	}
	if valid&SetAttrSize != 0 {
		if n.mode.FileType() != ModeRegular {
			return unix.EINVAL
		}
		if attr.Size > 1<<30 {
			return unix.EFBIG
		}
		if n.memfd != nil {
			return unix.Ftruncate(int(n.memfd.Fd()), int64(attr.Size))
		}
		nd := make([]byte, attr.Size)
		copy(nd, n.data)
		n.data = nd
	}
	return nil
}

// donation returns a dup of n's memfd, creating it if needed. fs.mu held.
func (f *memFile) donation() (*os.File, error) {
	n := f.n
	if !f.fs.donate || n.mode.FileType() != ModeRegular {
		return nil, nil
	}
	if n.memfd == nil {
		fd, err := unix.MemfdCreate("p9test", unix.MFD_CLOEXEC)
		if err != nil {
			return nil, err
		}
		mf := os.NewFile(uintptr(fd), "p9test")
		if _, err := mf.WriteAt(n.data, 0); err != nil {
			mf.Close()
			return nil, err
		}
		n.memfd, n.data = mf, nil
	}
	fd, err := unix.Dup(int(n.memfd.Fd()))
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "p9test-donated"), nil
}

func (f *memFile) Open(flags OpenFlags) (QID, uint32, *os.File, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if flags&OpenTruncate != 0 && f.n.mode.FileType() == ModeRegular {
		f.n.data = nil
		if f.n.memfd != nil {
			unix.Ftruncate(int(f.n.memfd.Fd()), 0)
		}
	}
	d, err := f.donation()
	if err != nil {
		return QID{}, 0, nil, err
	}
	return f.n.qid(), 0, d, nil
}

// addChild makes a new node name in directory f. fs.mu held.
func (f *memFile) addChild(name string, mode FileMode, uid UID, gid GID) (*memNode, error) {
	if f.n.children == nil {
		return nil, unix.ENOTDIR
	}
	if _, ok := f.n.children[name]; ok {
		return nil, unix.EEXIST
	}
	c := f.fs.newNode(mode, uid, gid)
	c.parent, c.name = f.n, name
	f.n.children[name] = c
	if mode.FileType() == ModeDirectory {
		f.n.nlink++
	}
	return c, nil
}

func (f *memFile) Create(name string, flags OpenFlags, mode FileMode, uid UID, gid GID) (File, QID, uint32, *os.File, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	c, err := f.addChild(name, ModeRegular|mode&ModePermMask, uid, gid)
	if err != nil {
		return nil, QID{}, 0, nil, err
	}
	nf := f.newFile(c)
	d, err := nf.donation()
	if err != nil {
		return nil, QID{}, 0, nil, err
	}
	return nf, c.qid(), 0, d, nil
}

func (f *memFile) ReadAt(p []byte, off uint64) (int, error) {
	if g := f.fs.readGate.Load(); g != nil {
		(*g)()
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.n.memfd != nil {
		n, err := f.n.memfd.ReadAt(p, int64(off))
		if n > 0 {
			return n, nil
		}
		return n, err
	}
	if off >= uint64(len(f.n.data)) {
		return 0, nil
	}
	return copy(p, f.n.data[off:]), nil
}

func (f *memFile) WriteAt(p []byte, off uint64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.n.memfd != nil {
		return f.n.memfd.WriteAt(p, int64(off))
	}
	end := off + uint64(len(p))
	if end > 1<<30 {
		return 0, unix.EFBIG
	}
	if end > uint64(len(f.n.data)) {
		nd := make([]byte, end)
		copy(nd, f.n.data)
		f.n.data = nd
	}
	return copy(f.n.data[off:], p), nil
}

func (f *memFile) Readdir(offset uint64, count uint32) ([]Dirent, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.n.children == nil {
		return nil, unix.ENOTDIR
	}
	names := make([]string, 0, len(f.n.children)+2)
	for name := range f.n.children {
		names = append(names, name)
	}
	sort.Strings(names)
	names = append([]string{".", ".."}, names...)
	var out []Dirent
	max := int(count/24) + 1
	for i := offset; i < uint64(len(names)) && len(out) < max; i++ {
		var n *memNode
		switch names[i] {
		case ".":
			n = f.n
		case "..":
			n = f.n.parent
		default:
			n = f.n.children[names[i]]
		}
		out = append(out, Dirent{QID: n.qid(), Offset: i + 1, Type: uint8(n.mode.FileType() >> 12), Name: names[i]})
	}
	return out, nil
}

func (f *memFile) Mkdir(name string, mode FileMode, uid UID, gid GID) (QID, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	c, err := f.addChild(name, ModeDirectory|mode&ModePermMask, uid, gid)
	if err != nil {
		return QID{}, err
	}
	return c.qid(), nil
}

func (f *memFile) Symlink(target, name string, uid UID, gid GID) (QID, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	c, err := f.addChild(name, ModeSymlink|0o777, uid, gid)
	if err != nil {
		return QID{}, err
	}
	c.target = target
	return c.qid(), nil
}

func (f *memFile) Mknod(name string, mode FileMode, major, minor uint32, uid UID, gid GID) (QID, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	c, err := f.addChild(name, mode, uid, gid)
	if err != nil {
		return QID{}, err
	}
	c.rdev = unix.Mkdev(major, minor)
	return c.qid(), nil
}

func (f *memFile) Link(target File, name string) error {
	t, ok := target.(*memFile)
	if !ok {
		return unix.EXDEV
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.n.children == nil {
		return unix.ENOTDIR
	}
	if t.n.children != nil {
		return unix.EPERM
	}
	if _, ok := f.n.children[name]; ok {
		return unix.EEXIST
	}
	f.n.children[name] = t.n
	t.n.nlink++
	return nil
}

// move renames node n (named srcName in srcDir) to dir/name. fs.mu held.
func (fs *memFS) move(srcDir *memNode, srcName string, n, dir *memNode, name string) error {
	if n == fs.root {
		return unix.EBUSY
	}
	if dir.children == nil {
		return unix.ENOTDIR
	}
	if old, ok := dir.children[name]; ok {
		if len(old.children) > 0 {
			return unix.ENOTEMPTY
		}
	}
	delete(srcDir.children, srcName)
	n.parent, n.name = dir, name
	dir.children[name] = n
	return nil
}

func (f *memFile) Rename(newDir File, newName string) error {
	d, ok := newDir.(*memFile)
	if !ok {
		return unix.EXDEV
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	return f.fs.move(f.n.parent, f.n.name, f.n, d.n, newName)
}

func (f *memFile) RenameAt(oldName string, newDir File, newName string) error {
	d, ok := newDir.(*memFile)
	if !ok {
		return unix.EXDEV
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	n, ok := f.n.children[oldName]
	if !ok {
		return unix.ENOENT
	}
	return f.fs.move(f.n, oldName, n, d.n, newName)
}

func (f *memFile) UnlinkAt(name string, flags uint32) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	n, ok := f.n.children[name]
	if !ok {
		return unix.ENOENT
	}
	isDir := n.children != nil
	if flags&UnlinkRemoveDir != 0 && !isDir {
		return unix.ENOTDIR
	}
	if flags&UnlinkRemoveDir == 0 && isDir {
		return unix.EISDIR
	}
	if isDir && len(n.children) > 0 {
		return unix.ENOTEMPTY
	}
	delete(f.n.children, name)
	n.nlink--
	return nil
}

func (f *memFile) Remove() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.n == f.fs.root {
		return unix.EBUSY
	}
	if len(f.n.children) > 0 {
		return unix.ENOTEMPTY
	}
	delete(f.n.parent.children, f.n.name)
	return nil
}

func (f *memFile) Readlink() (string, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.n.mode.FileType() != ModeSymlink {
		return "", unix.EINVAL
	}
	return f.n.target, nil
}

func (f *memFile) StatFS() (FSStat, error) {
	return FSStat{Type: 0x01021997, BlockSize: 4096, Blocks: 1000, BlocksFree: 500, BlocksAvailable: 400,
		Files: 100, FilesFree: 50, FSID: 7, NameLength: MaxNameLen}, nil
}

func (f *memFile) FSync(bool) error { return nil }

func (f *memFile) Lock(l Lock, flags LockFlags) (LockStatus, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	n := f.n
	switch l.Type {
	case LockTypeUnlock:
		if n.lockProc == l.ProcID {
			n.lockProc, n.lockType = 0, LockTypeUnlock
		}
		return LockStatusSuccess, nil
	default:
		if n.lockProc != 0 && n.lockProc != l.ProcID && (n.lockType == LockTypeWrite || l.Type == LockTypeWrite) {
			return LockStatusBlocked, nil
		}
		n.lockProc, n.lockType = l.ProcID, l.Type
		return LockStatusSuccess, nil
	}
}

func (f *memFile) GetLock(l Lock) (Lock, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	n := f.n
	if n.lockProc != 0 && n.lockProc != l.ProcID && (n.lockType == LockTypeWrite || l.Type == LockTypeWrite) {
		return Lock{Type: n.lockType, Start: 0, Length: 0, ProcID: n.lockProc, ClientID: "holder"}, nil
	}
	l.Type = LockTypeUnlock
	return l, nil
}

func (f *memFile) GetXattr(name string, size uint64) ([]byte, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	v, ok := f.n.xattrs[name]
	if !ok {
		return nil, unix.ENODATA
	}
	if uint64(len(v)) > size {
		return nil, unix.ERANGE
	}
	return append([]byte(nil), v...), nil
}

func (f *memFile) ListXattr(size uint64) ([]string, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	var names []string
	for k := range f.n.xattrs {
		names = append(names, k)
	}
	sort.Strings(names)
	return names, nil
}

func (f *memFile) SetXattr(name string, value []byte, flags uint32) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	_, exists := f.n.xattrs[name]
	if flags&XattrCreate != 0 && exists {
		return unix.EEXIST
	}
	if flags&XattrReplace != 0 && !exists {
		return unix.ENODATA
	}
	f.n.xattrs[name] = append([]byte(nil), value...)
	return nil
}

func (f *memFile) RemoveXattr(name string) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if _, ok := f.n.xattrs[name]; !ok {
		return unix.ENODATA
	}
	delete(f.n.xattrs, name)
	return nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.fs.closes++
	return nil
}
