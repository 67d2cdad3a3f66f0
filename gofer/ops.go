package gofer

import (
	"golang.org/x/sys/unix"
)

// AttrChange is one setattr request: every field whose Set flag is true is
// changed. A time whose Nsec is unix.UTIME_NOW means "now".
type AttrChange struct {
	SetMode  bool
	Mode     uint32 // permission bits only
	SetUID   bool
	UID      uint32
	SetGID   bool
	GID      uint32
	SetSize  bool
	Size     uint64
	SetATime bool
	ATime    unix.Timespec
	SetMTime bool
	MTime    unix.Timespec
}

// SetAttr applies c to n: size first (truncate updates the times), then
// ownership (which clears set-id bits), then mode, then times.
func (n *Node) SetAttr(c AttrChange) error {
	if !c.SetMode && !c.SetUID && !c.SetGID && !c.SetSize && !c.SetATime && !c.SetMTime {
		return nil
	}
	if err := n.writable(); err != nil {
		return err
	}
	if c.SetSize {
		if err := n.truncate(c.Size); err != nil {
			return err
		}
	}
	if c.SetUID || c.SetGID {
		uid, gid := -1, -1
		if c.SetUID {
			uid = int(c.UID)
		}
		if c.SetGID {
			gid = int(c.GID)
		}
		if err := unix.Fchownat(n.fd, "", uid, gid, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	if c.SetMode {
		if n.FileType() == unix.S_IFLNK {
			return unix.EOPNOTSUPP
		}
		if err := unix.Fchmodat(n.fd, "", c.Mode&0o7777, unix.AT_EMPTY_PATH); err != nil {
			return err
		}
	}
	if c.SetATime || c.SetMTime {
		ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
		if c.SetATime {
			ts[0] = c.ATime
		}
		if c.SetMTime {
			ts[1] = c.MTime
		}
		if err := n.utimes(ts); err != nil {
			return err
		}
	}
	return nil
}

// utimes sets n's times. The O_PATH descriptor itself is used
// (AT_EMPTY_PATH); if the kernel refuses that, n's name in its parent with
// AT_SYMLINK_NOFOLLOW, which can at worst touch another entry of the same
// directory inside the tree if the name was swapped meanwhile.
func (n *Node) utimes(ts []unix.Timespec) error {
	err := unix.UtimesNanoAt(n.fd, "", ts, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW)
	if err != unix.EINVAL && err != unix.EBADF && err != unix.ENOENT {
		return err
	}
	if n.IsDir() {
		return n.withDirFD(func(fd int) error {
			return unix.UtimesNanoAt(fd, ".", ts, 0)
		})
	}
	parent, name, perr := n.parentAndName()
	if perr != nil {
		return err
	}
	defer parent.decRef()
	return unix.UtimesNanoAt(parent.fd, name, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// withDirFD runs f with a readable descriptor of directory n.
func (n *Node) withDirFD(f func(fd int) error) error {
	fd, err := unix.Openat(n.fd, ".", dirFlags, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return f(fd)
}

// truncate sets the size of regular file n.
func (n *Node) truncate(size uint64) error {
	if size > 1<<63-1 {
		return unix.EFBIG
	}
	switch n.FileType() {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		return unix.EISDIR
	default:
		return unix.EINVAL
	}
	fd, err := n.reopen(unix.O_WRONLY)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Ftruncate(fd, int64(size))
}

// reopen opens regular file n for I/O through its parent, never following a
// symlink, and verifies that the opened file is n. O_NONBLOCK keeps a FIFO
// swapped in meanwhile from blocking the open; it is cleared again.
func (n *Node) reopen(flags int) (int, error) {
	parent, name, err := n.parentAndName()
	if err != nil {
		return -1, err
	}
	defer parent.decRef()
	fd, err := unix.Openat(parent.fd, name, flags|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := n.checkSame(fd); err != nil {
		unix.Close(fd)
		return -1, err
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err == nil && flags&unix.O_NONBLOCK == 0 {
		_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl&^unix.O_NONBLOCK)
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// openFlagsAllowed are the open(2) flags a client may pass through to the
// host besides the access mode. O_CREAT/O_EXCL (use Create), O_DIRECTORY,
// O_PATH, O_TMPFILE, O_NOCTTY and O_NONBLOCK (meaningless for regular
// files) are never passed; O_TRUNC is applied after the file is verified.
const openFlagsAllowed = unix.O_APPEND | unix.O_DIRECT | unix.O_DSYNC | unix.O_SYNC | unix.O_NOATIME

// Open opens n for I/O and returns the host descriptor (owned by the
// caller). Regular files are re-opened and verified (see reopen);
// directories are opened read-only for Readdir; symlinks fail with ELOOP;
// devices, sockets and FIFOs are never opened (EPERM).
func (n *Node) Open(flags int) (*OpenFile, error) {
	acc := flags & unix.O_ACCMODE
	if acc == unix.O_ACCMODE {
		return nil, unix.EINVAL
	}
	write := acc != unix.O_RDONLY || flags&unix.O_TRUNC != 0
	switch n.FileType() {
	case unix.S_IFDIR:
		if write {
			return nil, unix.EISDIR
		}
		fd, err := unix.Openat(n.fd, ".", dirFlags, 0)
		if err != nil {
			return nil, err
		}
		return newOpenFile(n, fd, flags), nil
	case unix.S_IFREG:
	case unix.S_IFLNK:
		return nil, unix.ELOOP
	default:
		return nil, unix.EPERM
	}
	if write {
		if err := n.writable(); err != nil {
			return nil, err
		}
	}
	fd, err := n.reopen(acc | flags&openFlagsAllowed)
	if err != nil {
		return nil, err
	}
	if flags&unix.O_TRUNC != 0 {
		if err := unix.Ftruncate(fd, 0); err != nil {
			unix.Close(fd)
			return nil, err
		}
	}
	return newOpenFile(n, fd, flags), nil
}

// Create creates regular file name in directory n with permissions mode,
// owned by uid/gid (-1: the Gofer's), opens it with flags and returns the
// new Node and the open file.
func (n *Node) Create(name string, flags int, mode uint32, uid, gid int) (*Node, *OpenFile, error) {
	if err := n.checkCreate(name); err != nil {
		return nil, nil, err
	}
	acc := flags & unix.O_ACCMODE
	if acc == unix.O_ACCMODE {
		return nil, nil, unix.EINVAL
	}
	fd, err := unix.Openat(n.fd, name, acc|flags&openFlagsAllowed|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NOCTTY, mode&0o7777)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*Node, *OpenFile, error) {
		unix.Close(fd)
		return nil, nil, err
	}
	if uid != -1 || gid != -1 {
		if err := unix.Fchown(fd, uid, gid); err != nil {
			return fail(err)
		}
	}
	// The umask applied to mode; set exactly what was asked for.
	if err := unix.Fchmod(fd, mode&0o7777); err != nil {
		return fail(err)
	}
	child, err := n.Walk(name)
	if err != nil {
		return fail(err)
	}
	if err := child.checkSame(fd); err != nil {
		child.decRef()
		return fail(err)
	}
	return child, newOpenFile(child, fd, flags), nil
}

// checkCreate validates name and that n is a writable directory.
func (n *Node) checkCreate(name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	if !n.IsDir() {
		return unix.ENOTDIR
	}
	return n.writable()
}

// finishCreate walks to the just-created name, sets its owner and (unless
// a symlink) its exact mode, and returns its status.
func (n *Node) finishCreate(name string, mode uint32, uid, gid int) (unix.Stat_t, error) {
	child, err := n.Walk(name)
	if err != nil {
		return unix.Stat_t{}, err
	}
	defer child.decRef()
	if uid != -1 || gid != -1 {
		if err := unix.Fchownat(child.fd, "", uid, gid, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return unix.Stat_t{}, err
		}
	}
	if child.FileType() != unix.S_IFLNK {
		if err := unix.Fchmodat(child.fd, "", mode&0o7777, unix.AT_EMPTY_PATH); err != nil {
			return unix.Stat_t{}, err
		}
	}
	return child.Stat()
}

// Mkdir implements mkdir(2) of name in directory n.
func (n *Node) Mkdir(name string, mode uint32, uid, gid int) (unix.Stat_t, error) {
	if err := n.checkCreate(name); err != nil {
		return unix.Stat_t{}, err
	}
	if err := unix.Mkdirat(n.fd, name, mode&0o7777); err != nil {
		return unix.Stat_t{}, err
	}
	return n.finishCreate(name, mode, uid, gid)
}

// Symlink implements symlink(2): name in directory n pointing at target.
// The target is stored as given; the Gofer never follows it.
func (n *Node) Symlink(target, name string, uid, gid int) (unix.Stat_t, error) {
	if err := n.checkCreate(name); err != nil {
		return unix.Stat_t{}, err
	}
	if target == "" || len(target) >= unix.PathMax || containsNUL(target) {
		return unix.Stat_t{}, unix.EINVAL
	}
	if err := unix.Symlinkat(target, n.fd, name); err != nil {
		return unix.Stat_t{}, err
	}
	return n.finishCreate(name, 0o777, uid, gid)
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// Mknod implements mknod(2) of name in directory n. Only regular files and
// FIFOs may be created: device nodes and sockets are refused with EPERM.
func (n *Node) Mknod(name string, mode uint32) (unix.Stat_t, error) {
	return n.MknodOwned(name, mode, -1, -1)
}

// MknodOwned is Mknod with an owner (-1: the Gofer's).
func (n *Node) MknodOwned(name string, mode uint32, uid, gid int) (unix.Stat_t, error) {
	if err := n.checkCreate(name); err != nil {
		return unix.Stat_t{}, err
	}
	typ := mode & unix.S_IFMT
	switch typ {
	case 0:
		typ = unix.S_IFREG
	case unix.S_IFREG, unix.S_IFIFO:
	default:
		return unix.Stat_t{}, unix.EPERM
	}
	if err := unix.Mknodat(n.fd, name, typ|mode&0o7777, 0); err != nil {
		return unix.Stat_t{}, err
	}
	return n.finishCreate(name, mode, uid, gid)
}

// Link implements link(2): name in directory n becomes a hard link to
// target, which must be a non-directory of the same tree.
func (n *Node) Link(target *Node, name string) error {
	if err := n.checkCreate(name); err != nil {
		return err
	}
	if target.tree != n.tree {
		return unix.EXDEV
	}
	if target.IsDir() {
		return unix.EPERM
	}
	err := unix.Linkat(target.fd, "", n.fd, name, unix.AT_EMPTY_PATH)
	if err != unix.ENOENT && err != unix.EPERM {
		return err
	}
	// AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; link by name and verify.
	parent, oldName, perr := target.parentAndName()
	if perr != nil {
		return err
	}
	defer parent.decRef()
	if err := unix.Linkat(parent.fd, oldName, n.fd, name, 0); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(n.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if st.Dev != target.dev || st.Ino != target.ino {
		unix.Unlinkat(n.fd, name, 0)
		return unix.ESTALE
	}
	return nil
}

// Rename moves n to newName in directory newDir (of the same tree); n and
// every other Node of the same name follow it.
func (n *Node) Rename(newDir *Node, newName string) error {
	if err := newDir.checkCreate(newName); err != nil {
		return err
	}
	if newDir.tree != n.tree {
		return unix.EXDEV
	}
	t := n.tree
	t.renameMu.Lock()
	if n.parent == nil {
		t.renameMu.Unlock()
		return unix.EBUSY
	}
	released, err := renameLocked(n.parent, n.name, newDir, newName)
	t.renameMu.Unlock()
	for _, p := range released {
		p.decRef()
	}
	return err
}

// RenameAt moves oldName in directory n to newName in directory newDir;
// Nodes already walked to it follow it.
func (n *Node) RenameAt(oldName string, newDir *Node, newName string) error {
	if err := ValidName(oldName); err != nil {
		return err
	}
	if err := newDir.checkCreate(newName); err != nil {
		return err
	}
	if !n.IsDir() {
		return unix.ENOTDIR
	}
	if newDir.tree != n.tree {
		return unix.EXDEV
	}
	n.tree.renameMu.Lock()
	released, err := renameLocked(n, oldName, newDir, newName)
	n.tree.renameMu.Unlock()
	for _, p := range released {
		p.decRef()
	}
	return err
}

// renameLocked renames on the host and moves the Nodes; tree.renameMu is
// held for writing. Nodes of a replaced target keep their name and fail
// later re-opens with ESTALE (their inode no longer has it).
func renameLocked(oldDir *Node, oldName string, newDir *Node, newName string) ([]*Node, error) {
	if err := unix.Renameat(oldDir.fd, oldName, newDir.fd, newName); err != nil {
		return nil, err
	}
	if oldDir == newDir && oldName == newName {
		return nil, nil
	}
	return moveChildren(oldDir, oldName, newDir, newName), nil
}

// UnlinkAt removes name from directory n; flags may be unix.AT_REMOVEDIR.
func (n *Node) UnlinkAt(name string, flags int) error {
	if err := n.checkCreate(name); err != nil {
		return err
	}
	if flags&^unix.AT_REMOVEDIR != 0 {
		return unix.EINVAL
	}
	return unix.Unlinkat(n.fd, name, flags)
}

// Remove unlinks n from its parent directory, after checking that its
// name still holds n.
func (n *Node) Remove() error {
	if err := n.writable(); err != nil {
		return err
	}
	parent, name, err := n.parentAndName()
	if err != nil {
		return err
	}
	defer parent.decRef()
	var st unix.Stat_t
	if err := unix.Fstatat(parent.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if st.Dev != n.dev || st.Ino != n.ino {
		return unix.ESTALE
	}
	var flags int
	if n.IsDir() {
		flags = unix.AT_REMOVEDIR
	}
	return unix.Unlinkat(parent.fd, name, flags)
}

// Readlink returns the target of symlink n.
func (n *Node) Readlink() (string, error) {
	if n.FileType() != unix.S_IFLNK {
		return "", unix.EINVAL
	}
	buf := make([]byte, unix.PathMax)
	k, err := unix.Readlinkat(n.fd, "", buf)
	if err != nil {
		return "", err
	}
	return string(buf[:k]), nil
}

// StatFS returns the status of the filesystem holding n.
func (n *Node) StatFS() (unix.Statfs_t, error) {
	var st unix.Statfs_t
	err := unix.Fstatfs(n.fd, &st)
	return st, err
}
