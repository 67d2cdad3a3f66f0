package gofer

import (
	"bytes"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Extended attributes use the *xattrat system calls (Linux 6.13), which,
// like f*xattr, refuse O_PATH descriptors. A directory is therefore opened
// (read-only, through its own O_PATH descriptor: no name lookup) and
// addressed with AT_EMPTY_PATH; any other node is addressed as its name in
// its parent directory with AT_SYMLINK_NOFOLLOW, after checking that the
// name still holds the node's inode. A swap after that check can at worst
// reach another entry of the same directory inside the tree, and never
// follows a symlink. Where the kernel lacks the calls, every xattr
// operation fails with ENOTSUP.

// xattrArgs is struct xattr_args (include/uapi/linux/xattr.h):
// value (aligned u64 pointer), size u32, flags u32.
type xattrArgs struct {
	value uint64
	size  uint32
	flags uint32
}

// maxXattrSize is XATTR_SIZE_MAX and maxXattrList XATTR_LIST_MAX.
const (
	maxXattrSize = 65536
	maxXattrList = 65536
	maxXattrName = 255
)

var emptyPath = [1]byte{0}

// xattrAt runs call with a (dirfd, path, at_flags) triple that names n
// without following symlinks.
func (n *Node) xattrAt(call func(dfd int, path *byte, atFlags uintptr) unix.Errno) error {
	if n.IsDir() {
		return n.withDirFD(func(fd int) error {
			if e := call(fd, &emptyPath[0], unix.AT_EMPTY_PATH); e != 0 {
				return xattrErr(e)
			}
			return nil
		})
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
	np, err := unix.BytePtrFromString(name)
	if err != nil {
		return err
	}
	if e := call(parent.fd, np, unix.AT_SYMLINK_NOFOLLOW); e != 0 {
		return xattrErr(e)
	}
	return nil
}

func xattrErr(e unix.Errno) error {
	if e == unix.ENOSYS {
		return unix.ENOTSUP
	}
	return e
}

func xattrName(name string) (*byte, error) {
	if name == "" || len(name) > maxXattrName {
		return nil, unix.ERANGE
	}
	return unix.BytePtrFromString(name)
}

// GetXattr returns the value of attribute name, at most size bytes
// (ERANGE if longer). size 0 asks for the value's length only: the result
// is then a nil slice and the length.
func (n *Node) GetXattr(name string, size uint64) ([]byte, int, error) {
	np, err := xattrName(name)
	if err != nil {
		return nil, 0, err
	}
	size = min(size, maxXattrSize)
	var buf []byte
	args := xattrArgs{size: uint32(size)}
	if size > 0 {
		buf = make([]byte, size)
		args.value = uint64(uintptr(unsafe.Pointer(&buf[0])))
	}
	var r uintptr
	err = n.xattrAt(func(dfd int, path *byte, atFlags uintptr) unix.Errno {
		var e unix.Errno
		r, _, e = unix.Syscall6(unix.SYS_GETXATTRAT, uintptr(dfd), uintptr(unsafe.Pointer(path)),
			atFlags, uintptr(unsafe.Pointer(np)), uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args))
		return e
	})
	// buf is reachable from args only as an integer: keep it alive.
	runtime.KeepAlive(buf)
	if err != nil {
		return nil, 0, err
	}
	if size == 0 {
		return nil, int(r), nil
	}
	return buf[:r], int(r), nil
}

// SetXattr sets attribute name to value; flags are 0, unix.XATTR_CREATE or
// unix.XATTR_REPLACE.
func (n *Node) SetXattr(name string, value []byte, flags int) error {
	if err := n.writable(); err != nil {
		return err
	}
	np, err := xattrName(name)
	if err != nil {
		return err
	}
	if len(value) > maxXattrSize {
		return unix.E2BIG
	}
	if flags&^(unix.XATTR_CREATE|unix.XATTR_REPLACE) != 0 {
		return unix.EINVAL
	}
	args := xattrArgs{size: uint32(len(value)), flags: uint32(flags)}
	if len(value) > 0 {
		args.value = uint64(uintptr(unsafe.Pointer(&value[0])))
	}
	err = n.xattrAt(func(dfd int, path *byte, atFlags uintptr) unix.Errno {
		_, _, e := unix.Syscall6(unix.SYS_SETXATTRAT, uintptr(dfd), uintptr(unsafe.Pointer(path)),
			atFlags, uintptr(unsafe.Pointer(np)), uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args))
		return e
	})
	runtime.KeepAlive(value)
	return err
}

// ListXattr returns the attribute names of n. size bounds the encoded
// list (names each followed by NUL); 0 means "as large as allowed".
func (n *Node) ListXattr(size uint64) ([]string, error) {
	if size == 0 || size > maxXattrList {
		size = maxXattrList
	}
	buf := make([]byte, size)
	var r uintptr
	err := n.xattrAt(func(dfd int, path *byte, atFlags uintptr) unix.Errno {
		var e unix.Errno
		r, _, e = unix.Syscall6(unix.SYS_LISTXATTRAT, uintptr(dfd), uintptr(unsafe.Pointer(path)),
			atFlags, uintptr(unsafe.Pointer(&buf[0])), uintptr(size), 0)
		return e
	})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range bytes.Split(buf[:r], []byte{0}) {
		if len(s) > 0 {
			names = append(names, string(s))
		}
	}
	return names, nil
}

// RemoveXattr removes attribute name.
func (n *Node) RemoveXattr(name string) error {
	if err := n.writable(); err != nil {
		return err
	}
	np, err := xattrName(name)
	if err != nil {
		return err
	}
	return n.xattrAt(func(dfd int, path *byte, atFlags uintptr) unix.Errno {
		_, _, e := unix.Syscall6(unix.SYS_REMOVEXATTRAT, uintptr(dfd), uintptr(unsafe.Pointer(path)),
			atFlags, uintptr(unsafe.Pointer(np)), 0, 0)
		return e
	})
}
