package gofer

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// MaxNameLen is the longest single name the Gofer accepts (NAME_MAX).
const MaxNameLen = 255

// pathFlags open a Node: a reference to the file itself, never following a
// symlink, never inherited by a child process.
const pathFlags = unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC

// dirFlags re-open a directory Node (as ".", which is never a symlink) for
// reading. Every open the Gofer makes carries O_NOFOLLOW: its seccomp
// filter kills the process otherwise.
const dirFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC

// Tree is one served directory tree: the container's root filesystem or
// one bind mount.
type Tree struct {
	root     *Node
	readOnly bool
	ids      *idMap

	// renameMu makes every Node's (parent, name) pair and the children
	// registries consistent with the host: held for reading by walks and
	// by operations that address a node through its parent, and for
	// writing by renames, which move every Node of the renamed name.
	renameMu sync.RWMutex
}

// NewTree makes a Tree whose root is the directory open as rootFD (any
// descriptor of a directory; NewTree makes its own O_PATH copy, the caller
// keeps rootFD). readOnly trees refuse every mutation with EROFS.
func NewTree(rootFD int, readOnly bool) (*Tree, error) {
	fd, err := unix.Openat(rootFD, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening tree root: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("stat tree root: %w", err)
	}
	t := &Tree{readOnly: readOnly, ids: newIDMap()}
	t.root = &Node{tree: t, fd: fd, dev: st.Dev, ino: st.Ino, mode: st.Mode}
	t.root.refs.Store(1)
	return t, nil
}

// OpenTree opens the directory at path (which must not involve any
// symlink: see Options) and makes a Tree of it.
func OpenTree(path string, readOnly bool) (*Tree, error) {
	fd, err := openNoSymlinks(path)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	return NewTree(fd, readOnly)
}

// openNoSymlinks opens the directory path with O_PATH, refusing a path in
// which any component is a symlink.
func openNoSymlinks(path string) (int, error) {
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	fd, err := unix.Openat2(unix.AT_FDCWD, path, &how)
	if err != nil {
		if err == unix.ELOOP {
			return -1, fmt.Errorf("opening %s: path contains a symlink (give the resolved path): %w", path, err)
		}
		return -1, fmt.Errorf("opening %s: %w", path, err)
	}
	return fd, nil
}

// Root returns a new reference to the root Node. The caller must Close it.
func (t *Tree) Root() *Node {
	t.root.incRef()
	return t.root
}

// ReadOnly reports whether t refuses mutations.
func (t *Tree) ReadOnly() bool { return t.readOnly }

// Close drops the Tree's own reference to its root.
func (t *Tree) Close() error {
	t.root.decRef()
	return nil
}

// Node is one file of a Tree, held as an O_PATH|O_NOFOLLOW descriptor. A
// Node of a symlink refers to the symlink itself. Nodes are reference
// counted: every Node holds a reference on its parent so the parent's
// descriptor stays valid for re-opens.
type Node struct {
	tree *Tree
	fd   int // O_PATH|O_NOFOLLOW; immutable, closed when refs reach 0
	dev  uint64
	ino  uint64
	mode uint32 // file type bits at walk time (the type of an inode never changes)

	refs atomic.Int64

	// parent and name say where the node is; guarded by tree.renameMu.
	// parent is nil for the root.
	parent *Node
	name   string

	// childMu guards children: the live Nodes walked from this directory,
	// by name, so a rename can move them. Changes also need
	// tree.renameMu (read for adding/removing one Node, write for a move).
	childMu  sync.Mutex
	children map[string]map[*Node]struct{}
}

func (n *Node) incRef() { n.refs.Add(1) }

// decRef drops a reference; the last one closes the descriptor,
// unregisters n from its parent and drops n's reference on it. It must not
// be called with tree.renameMu held.
func (n *Node) decRef() {
	for n != nil {
		if n.refs.Add(-1) != 0 {
			return
		}
		unix.Close(n.fd)
		t := n.tree
		t.renameMu.RLock()
		p := n.parent
		if p != nil {
			p.childMu.Lock()
			if set := p.children[n.name]; set != nil {
				delete(set, n)
				if len(set) == 0 {
					delete(p.children, n.name)
				}
			}
			p.childMu.Unlock()
		}
		// Only a rename (excluded by the read lock) or decRef of n (this
		// call) touches n.parent once n has no references.
		n.parent = nil
		t.renameMu.RUnlock()
		n = p
	}
}

// Close releases this reference to n.
func (n *Node) Close() error {
	n.decRef()
	return nil
}

// Dup returns another reference to the same Node.
func (n *Node) Dup() *Node {
	n.incRef()
	return n
}

// Tree returns the Tree n belongs to.
func (n *Node) Tree() *Tree { return n.tree }

// FD returns n's O_PATH descriptor; it stays valid while n is referenced.
func (n *Node) FD() int { return n.fd }

// FileType returns n's S_IFMT bits.
func (n *Node) FileType() uint32 { return n.mode & unix.S_IFMT }

// IsDir reports whether n is a directory.
func (n *Node) IsDir() bool { return n.FileType() == unix.S_IFDIR }

// IsRoot reports whether n is its tree's root.
func (n *Node) IsRoot() bool { return n == n.tree.root }

// ValidName checks that name is a single path component the Gofer may
// walk or create: not empty, ".", "..", no '/' or NUL, at most MaxNameLen
// bytes.
func ValidName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > MaxNameLen ||
		strings.ContainsAny(name, "/\x00") {
		return unix.EINVAL
	}
	return nil
}

// Walk returns the Node of name in directory n, without following a
// symlink. The caller must Close the result.
func (n *Node) Walk(name string) (*Node, error) {
	c, _, err := n.WalkStat(name)
	return c, err
}

// WalkStat is Walk that also returns the new Node's status.
func (n *Node) WalkStat(name string) (*Node, unix.Stat_t, error) {
	var st unix.Stat_t
	if err := ValidName(name); err != nil {
		return nil, st, err
	}
	if !n.IsDir() {
		return nil, st, unix.ENOTDIR
	}
	// Holding renameMu for reading keeps a rename from moving name
	// between the open and the registration.
	n.tree.renameMu.RLock()
	defer n.tree.renameMu.RUnlock()
	fd, err := unix.Openat(n.fd, name, pathFlags, 0)
	if err != nil {
		return nil, st, err
	}
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, st, err
	}
	return n.child(fd, name, &st), st, nil
}

// child wraps fd (an O_PATH descriptor of name in n, with status st) as a
// new Node holding a reference on n, registered in n's children. The
// caller holds tree.renameMu for reading.
func (n *Node) child(fd int, name string, st *unix.Stat_t) *Node {
	n.incRef()
	c := &Node{tree: n.tree, fd: fd, dev: st.Dev, ino: st.Ino, mode: st.Mode, parent: n, name: name}
	c.refs.Store(1)
	n.childMu.Lock()
	if n.children == nil {
		n.children = map[string]map[*Node]struct{}{}
	}
	set := n.children[name]
	if set == nil {
		set = map[*Node]struct{}{}
		n.children[name] = set
	}
	set[c] = struct{}{}
	n.childMu.Unlock()
	return c
}

// moveChildren records that oldName in oldDir is now newName in newDir:
// every Node of it changes parent. The caller holds tree.renameMu for
// writing; it must decRef the returned old parents after unlocking.
func moveChildren(oldDir *Node, oldName string, newDir *Node, newName string) []*Node {
	oldDir.childMu.Lock()
	set := oldDir.children[oldName]
	delete(oldDir.children, oldName)
	oldDir.childMu.Unlock()
	if len(set) == 0 {
		// Still forget the replaced target's Nodes.
		newDir.childMu.Lock()
		delete(newDir.children, newName)
		newDir.childMu.Unlock()
		return nil
	}
	released := make([]*Node, 0, len(set))
	newDir.childMu.Lock()
	defer newDir.childMu.Unlock()
	if newDir.children == nil {
		newDir.children = map[string]map[*Node]struct{}{}
	}
	// Nodes of a target the rename replaced are dropped from the
	// registry: they keep their (now stale) name and never move again.
	dst := map[*Node]struct{}{}
	newDir.children[newName] = dst
	for c := range set {
		newDir.incRef()
		released = append(released, c.parent)
		c.parent, c.name = newDir, newName
		dst[c] = struct{}{}
	}
	return released
}

// WalkPath walks names in order from n and returns every Node walked. On
// failure it returns the Nodes walked so far and the error. The caller
// must Close every returned Node.
func (n *Node) WalkPath(names []string) ([]*Node, error) {
	out := make([]*Node, 0, len(names))
	cur := n
	for _, name := range names {
		c, err := cur.Walk(name)
		if err != nil {
			return out, err
		}
		out = append(out, c)
		cur = c
	}
	return out, nil
}

// Stat returns n's status (of the symlink itself for a symlink).
func (n *Node) Stat() (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Fstatat(n.fd, "", &st, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW)
	return st, err
}

// QIDPath returns the Gofer-wide unique identity of (dev, ino).
func (t *Tree) QIDPath(dev, ino uint64) uint64 { return t.ids.path(dev, ino) }

// QIDPath returns n's unique identity.
func (n *Node) QIDPath() uint64 { return n.tree.ids.path(n.dev, n.ino) }

// parentAndName returns n's parent (with a new reference) and name. The
// root has no parent: EBUSY.
func (n *Node) parentAndName() (*Node, string, error) {
	n.tree.renameMu.RLock()
	defer n.tree.renameMu.RUnlock()
	if n.parent == nil {
		return nil, "", unix.EBUSY
	}
	n.parent.incRef()
	return n.parent, n.name, nil
}

// checkSame verifies that fd is n's file, not something swapped in under
// n's name since the walk.
func (n *Node) checkSame(fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Dev != n.dev || st.Ino != n.ino {
		return unix.ESTALE
	}
	return nil
}

// writable fails with EROFS on a read-only tree.
func (n *Node) writable() error {
	if n.tree.readOnly {
		return unix.EROFS
	}
	return nil
}

// idMap gives every (device, inode) pair a unique 64-bit QID path: the
// device's small index in the top byte and the inode below it, or, for
// the rare inode numbers that do not fit in 56 bits (or beyond 254
// devices), a sequential number from a table.
type idMap struct {
	mu   sync.Mutex // guards devs, big, next
	devs map[uint64]uint64
	big  map[[2]uint64]uint64
	next uint64
}

func newIDMap() *idMap {
	return &idMap{devs: map[uint64]uint64{}, big: map[[2]uint64]uint64{}}
}

const inoBits = 56

func (m *idMap) path(dev, ino uint64) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	idx, ok := m.devs[dev]
	if !ok && len(m.devs) < 254 {
		idx = uint64(len(m.devs) + 1)
		m.devs[dev] = idx
		ok = true
	}
	if ok && ino < 1<<inoBits {
		return idx<<inoBits | ino
	}
	key := [2]uint64{dev, ino}
	if p, ok := m.big[key]; ok {
		return p
	}
	m.next++
	p := 0xff<<inoBits | m.next
	m.big[key] = p
	return p
}
