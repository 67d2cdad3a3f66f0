package p9

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// fidKind says what a fid stands for.
type fidKind uint8

const (
	// fidFile is a file (opened or not).
	fidFile fidKind = iota
	// fidXattrRead holds an xattr value or list from Txattrwalk, read
	// with Tread.
	fidXattrRead
	// fidXattrWrite collects an xattr value from Twrite after
	// Txattrcreate; Tclunk sets it.
	fidXattrWrite
)

// fidRef is one entry of a connection's fid table. It is reference
// counted: the table holds one reference and every request using the fid
// holds one while it runs, so a File is closed only after the last request
// using it has returned.
type fidRef struct {
	refs atomic.Int64
	// uid is the user of the attach this fid descends from.
	uid UID

	// mu guards the fields below.
	mu      sync.Mutex
	file    File
	isDir   bool
	opened  bool
	opening bool
	flags   OpenFlags
	kind    fidKind
	// retired are Files replaced on this fid (by Tlcreate or a walk onto
	// itself), closed with the fid.
	retired []File
	// xattr state for fidXattrRead / fidXattrWrite.
	xattrName  string
	xattrData  []byte
	xattrSize  uint64
	xattrFlags uint32
	// xattrHeld is the connection's xattr byte budget this fid holds
	// (returned to xattrBudget when the fid goes away).
	xattrHeld   int64
	xattrBudget *atomic.Int64
}

func newFidRef(f File, isDir bool, uid UID) *fidRef {
	r := &fidRef{file: f, isDir: isDir, uid: uid}
	r.refs.Store(1)
	return r
}

func (r *fidRef) incRef() { r.refs.Add(1) }

// decRef drops a reference, closing the Files on the last one.
func (r *fidRef) decRef() {
	if r.refs.Add(-1) != 0 {
		return
	}
	r.mu.Lock()
	f, retired := r.file, r.retired
	r.file, r.retired = nil, nil
	if r.xattrBudget != nil {
		r.xattrBudget.Add(-r.xattrHeld)
		r.xattrHeld = 0
	}
	r.xattrData = nil
	r.mu.Unlock()
	if f != nil {
		f.Close()
	}
	for _, o := range retired {
		o.Close()
	}
}

// fidState is a snapshot of a fidRef's mutable fields.
type fidState struct {
	file   File
	isDir  bool
	opened bool
	flags  OpenFlags
	kind   fidKind
}

func (r *fidRef) state() fidState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fidState{file: r.file, isDir: r.isDir, opened: r.opened, flags: r.flags, kind: r.kind}
}

// replaceFile puts f on the fid, retiring the old File.
func (r *fidRef) replaceFile(f File, isDir bool) {
	r.mu.Lock()
	if r.file != nil {
		r.retired = append(r.retired, r.file)
	}
	r.file, r.isDir = f, isDir
	r.mu.Unlock()
}

// lookup returns fid's entry with a reference the caller drops.
func (c *conn) lookup(fid FID) (*fidRef, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.fids[fid]
	if !ok {
		return nil, unix.EBADF
	}
	r.incRef()
	return r, nil
}

// insert adds a new fid. The table takes the caller's reference to r.
func (c *conn) insert(fid FID, r *fidRef) error {
	if fid == NoFID {
		return unix.EBADF
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.fids[fid]; ok {
		return unix.EBADF
	}
	if len(c.fids) >= c.srv.maxFids {
		return unix.EMFILE
	}
	c.fids[fid] = r
	return nil
}

// removeFid removes fid from the table and returns it with the table's
// reference, which the caller drops.
func (c *conn) removeFid(fid FID) (*fidRef, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.fids[fid]
	if !ok {
		return nil, unix.EBADF
	}
	delete(c.fids, fid)
	return r, nil
}

// fidFree reports whether fid can be inserted now (a hint: insert checks
// again).
func (c *conn) fidFree(fid FID) error {
	if fid == NoFID {
		return unix.EBADF
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.fids[fid]; ok {
		return unix.EBADF
	}
	if len(c.fids) >= c.srv.maxFids {
		return unix.EMFILE
	}
	return nil
}
