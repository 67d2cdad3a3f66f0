package p9

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// DefaultClientInflight is how many requests a Client keeps in flight at
// once (the number of tags it uses). More concurrent callers wait for a
// free tag.
const DefaultClientInflight = 256

// Client is the client side of one 9P2000.L connection. It is safe for
// concurrent use: each call takes a free tag, sends its request, and waits
// for the reader goroutine to hand it the reply with that tag.
type Client struct {
	sk      *sock
	msize   uint32
	version string
	ext     bool

	// tags holds the free tags.
	tags chan Tag

	// mu guards calls, err, nextFID and freeFIDs.
	mu       sync.Mutex
	calls    []*call // indexed by tag; NoTag uses the last slot
	err      error   // set once the connection is dead
	nextFID  FID
	freeFIDs []FID

	// maxReply is the largest reply accepted: the proposed msize until
	// Rversion, then the negotiated one.
	maxReply   atomic.Uint32
	roundTrips atomic.Uint64
	readerDone chan struct{}
	closeOnce  sync.Once
}

// call is one request waiting for its reply.
type call struct {
	reply message
	err   error
	fd    *os.File
	done  chan struct{}
}

var callPool = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }}

// NewClient starts a client on fd, a connected SOCK_SEQPACKET unix socket
// (the client owns it and closes it in Close). It negotiates msize (at most
// msize, clamped to [MinMsize, MaxMsize]) and version: pass VersionPalisade
// to ask for the extensions (the client falls back to 9P2000.L if the
// server does not know them) or Version9P2000L.
func NewClient(fd int, msize uint32, version string) (*Client, error) {
	sk, err := newSock(fd)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	if version != VersionPalisade && version != Version9P2000L {
		sk.close()
		return nil, fmt.Errorf("p9: unsupported version %q", version)
	}
	msize = min(max(msize, MinMsize), MaxMsize, uint32(max(sk.maxPacket, 0)))
	if msize < MinMsize {
		sk.close()
		return nil, fmt.Errorf("p9: socket send buffer too small for msize %d", MinMsize)
	}
	c := &Client{
		sk:         sk,
		msize:      msize,
		tags:       make(chan Tag, DefaultClientInflight),
		calls:      make([]*call, DefaultClientInflight+1),
		readerDone: make(chan struct{}),
	}
	c.maxReply.Store(msize)
	for t := range DefaultClientInflight {
		c.tags <- Tag(t)
	}
	go c.readLoop(make([]byte, msize))

	rv := &rversion{}
	if err := c.rpcTag(NoTag, &tversion{msize: msize, version: version}, rv); err != nil {
		c.Close()
		return nil, fmt.Errorf("p9: version negotiation: %w", err)
	}
	switch {
	case rv.version == VersionPalisade && version == VersionPalisade:
		c.ext = true
	case rv.version == Version9P2000L:
	default:
		c.Close()
		return nil, fmt.Errorf("p9: server answered version %q to %q", rv.version, version)
	}
	if rv.msize < MinMsize || rv.msize > msize {
		c.Close()
		return nil, fmt.Errorf("p9: server answered msize %d to %d", rv.msize, msize)
	}
	c.version = rv.version
	c.msize = rv.msize
	c.maxReply.Store(rv.msize)
	return c, nil
}

// NewClientConn is NewClient on a *net.UnixConn of type "unixpacket". The
// client uses a duplicate of its fd; the caller still closes conn.
func NewClientConn(conn *net.UnixConn, msize uint32, version string) (*Client, error) {
	f, err := conn.File()
	if err != nil {
		return nil, err
	}
	fd, err := unix.Dup(int(f.Fd()))
	f.Close()
	if err != nil {
		return nil, err
	}
	return NewClient(fd, msize, version)
}

// Msize returns the negotiated msize.
func (c *Client) Msize() uint32 { return c.msize }

// Version returns the negotiated version string.
func (c *Client) Version() string { return c.version }

// Extended reports whether the Palisade extensions were negotiated.
func (c *Client) Extended() bool { return c.ext }

// RoundTrips returns how many requests got a reply so far.
func (c *Client) RoundTrips() uint64 { return c.roundTrips.Load() }

// Close shuts the connection down, fails calls in flight, and closes the
// socket. Fids are not clunked (the server releases them with the
// connection).
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.sk.close()
		<-c.readerDone
	})
	return nil
}

func slot(tag Tag) int {
	if tag == NoTag {
		return DefaultClientInflight
	}
	return int(tag)
}

// rpc sends req and waits for its reply, decoded into reply. Rlerror
// becomes a unix.Errno.
func (c *Client) rpc(req, reply message) error {
	_, err := c.rpcFD(req, reply)
	return err
}

// rpcFD is rpc that also returns the fd donated with the reply (if any).
func (c *Client) rpcFD(req, reply message) (*os.File, error) {
	var tag Tag
	select {
	case tag = <-c.tags:
	case <-c.readerDone:
		return nil, c.deadErr()
	}
	cl := callPool.Get().(*call)
	cl.reply = reply
	err := c.roundTrip(tag, req, cl)
	fd := cl.fd
	cl.reply, cl.err, cl.fd = nil, nil, nil
	callPool.Put(cl)
	c.tags <- tag
	return fd, err
}

// rpcTag is rpc with a fixed tag (Tversion's NoTag).
func (c *Client) rpcTag(tag Tag, req, reply message) error {
	cl := &call{reply: reply, done: make(chan struct{}, 1)}
	err := c.roundTrip(tag, req, cl)
	if cl.fd != nil {
		cl.fd.Close()
	}
	return err
}

func (c *Client) roundTrip(tag Tag, req message, cl *call) error {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return c.err
	}
	c.calls[slot(tag)] = cl
	c.mu.Unlock()

	b := getBuf(4096)
	hdr, payload := marshal(*b, tag, req)
	err := c.sk.sendmsg(hdr, payload, -1)
	if cap(hdr) == cap(*b) {
		*b = hdr
	}
	putBuf(b)
	if err != nil {
		c.mu.Lock()
		if c.calls[slot(tag)] == cl {
			c.calls[slot(tag)] = nil
			c.mu.Unlock()
			return err
		}
		c.mu.Unlock()
		// The reader already claimed the call (it is failing every
		// call): wait for it.
	}
	<-cl.done
	return cl.err
}

func (c *Client) deadErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return errClosed
}

// readLoop receives replies and completes their calls. A reply with an
// fd is only accepted for Rlopen and Rlcreate; any other fd is closed.
func (c *Client) readLoop(buf []byte) {
	oob := make([]byte, oobSize)
	var err error
	for {
		var n int
		var fds []int
		var trunc bool
		n, fds, trunc, err = c.sk.recvmsg(buf, oob)
		if err != nil {
			closeFDs(fds)
			break
		}
		if err = c.deliver(buf[:n], fds, trunc); err != nil {
			break
		}
	}
	if err == io.EOF || err == nil {
		err = errClosed
	}
	c.mu.Lock()
	c.err = err
	calls := make([]*call, 0)
	for i, cl := range c.calls {
		if cl != nil {
			calls = append(calls, cl)
			c.calls[i] = nil
		}
	}
	c.mu.Unlock()
	for _, cl := range calls {
		cl.err = err
		cl.done <- struct{}{}
	}
	close(c.readerDone)
}

// deliver decodes one reply packet and completes its call. It returns an
// error only when the connection can no longer be trusted.
func (c *Client) deliver(pkt []byte, fds []int, trunc bool) error {
	if len(pkt) < HeaderLen {
		closeFDs(fds)
		return fmt.Errorf("p9: reply of %d bytes is shorter than a header", len(pkt))
	}
	t, tag, herr := header(pkt)
	c.mu.Lock()
	cl := c.calls[slot(tag)]
	if int(tag) >= DefaultClientInflight && tag != NoTag {
		cl = nil
	}
	if cl != nil {
		c.calls[slot(tag)] = nil
	}
	c.mu.Unlock()
	if cl == nil {
		closeFDs(fds)
		slog.Debug("p9: reply for unknown tag", "tag", tag, "type", t)
		return nil
	}
	switch {
	case trunc || len(pkt) > int(c.maxReply.Load()):
		cl.err = fmt.Errorf("p9: %v reply larger than msize %d: %w", t, c.maxReply.Load(), unix.EMSGSIZE)
	case herr != nil:
		cl.err = herr
	case t == MsgRlerror:
		var e rlerror
		if err := unmarshalBody(pkt, &e); err != nil {
			cl.err = fmt.Errorf("p9: decoding Rlerror: %w", err)
		} else if e.errno == 0 {
			cl.err = unix.EIO
		} else {
			cl.err = unix.Errno(e.errno)
		}
	case t != cl.reply.typ():
		cl.err = fmt.Errorf("p9: got %v, want %v", t, cl.reply.typ())
	default:
		if err := unmarshalBody(pkt, cl.reply); err != nil {
			cl.err = fmt.Errorf("p9: decoding %v: %w", t, err)
		}
	}
	// Pair the fd with the reply: only a successful Rlopen/Rlcreate may
	// carry one, and only one.
	if cl.err == nil && (t == MsgRlopen || t == MsgRlcreate) && len(fds) == 1 {
		cl.fd = os.NewFile(uintptr(fds[0]), "p9-donated")
	} else {
		closeFDs(fds)
	}
	c.roundTrips.Add(1)
	cl.done <- struct{}{}
	return nil
}

// allocFID returns an unused fid number.
func (c *Client) allocFID() FID {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.freeFIDs); n > 0 {
		f := c.freeFIDs[n-1]
		c.freeFIDs = c.freeFIDs[:n-1]
		return f
	}
	f := c.nextFID
	c.nextFID++
	return f
}

func (c *Client) freeFID(f FID) {
	c.mu.Lock()
	c.freeFIDs = append(c.freeFIDs, f)
	c.mu.Unlock()
}

// ClientFile is a fid on a Client. Its methods are safe for concurrent use,
// except Close/Remove which end it.
type ClientFile struct {
	c      *Client
	fid    FID
	closed atomic.Bool
	// twin is an unopened clone of an opened directory, kept (only when
	// the extensions are not negotiated) so ReaddirAttr can walk to
	// entries.
	twin atomic.Pointer[ClientFile]
}

var errFileClosed = errors.New("p9: file already closed")

// FID returns the file's fid.
func (f *ClientFile) FID() FID { return f.fid }

// Client returns the file's client.
func (f *ClientFile) Client() *Client { return f.c }

// Attach implements Tattach: it returns the root of the tree aname for
// user uid.
func (c *Client) Attach(aname string, uid UID) (*ClientFile, QID, error) {
	fid := c.allocFID()
	r := &rattach{}
	if err := c.rpc(&tattach{fid: fid, afid: NoFID, uname: "", aname: aname, nuname: uid}, r); err != nil {
		c.freeFID(fid)
		return nil, QID{}, err
	}
	return &ClientFile{c: c, fid: fid}, r.qid, nil
}

// Close implements Tclunk. The fid is freed even if the server reports an
// error (as the protocol says).
func (f *ClientFile) Close() error {
	if f.closed.Swap(true) {
		return errFileClosed
	}
	if t := f.twin.Swap(nil); t != nil {
		t.Close()
	}
	err := f.c.rpc(&fidMsg{t: MsgTclunk, fid: f.fid}, ok(MsgRclunk))
	f.c.freeFID(f.fid)
	return err
}

// Remove implements Tremove: remove the file and clunk the fid.
func (f *ClientFile) Remove() error {
	if f.closed.Swap(true) {
		return errFileClosed
	}
	if t := f.twin.Swap(nil); t != nil {
		t.Close()
	}
	err := f.c.rpc(&fidMsg{t: MsgTremove, fid: f.fid}, ok(MsgRremove))
	f.c.freeFID(f.fid)
	return err
}

// Walk implements Twalk. It returns the QIDs of the names walked and, if
// all were, a new ClientFile for the last. More than MaxWalkNames names
// take several requests. If the walk stops early the error is ENOENT (the
// server's error if not even the first name could be walked) and the QIDs
// walked so far are returned.
func (f *ClientFile) Walk(names []string) ([]QID, *ClientFile, error) {
	if len(names) == 0 {
		nf, err := f.Clone()
		return nil, nf, err
	}
	var all []QID
	cur := f
	for len(names) > 0 {
		chunk := names[:min(len(names), MaxWalkNames)]
		names = names[len(chunk):]
		fid := f.c.allocFID()
		r := &rwalk{}
		err := f.c.rpc(&twalk{fid: cur.fid, newfid: fid, names: chunk}, r)
		if err == nil && len(r.qids) < len(chunk) {
			err = unix.ENOENT
		}
		all = append(all, r.qids...)
		if cur != f {
			cur.Close()
		}
		if err != nil {
			f.c.freeFID(fid)
			return all, nil, err
		}
		cur = &ClientFile{c: f.c, fid: fid}
	}
	return all, cur, nil
}

// Clone implements Twalk with no names: a new fid for the same file.
func (f *ClientFile) Clone() (*ClientFile, error) {
	fid := f.c.allocFID()
	if err := f.c.rpc(&twalk{fid: f.fid, newfid: fid}, &rwalk{}); err != nil {
		f.c.freeFID(fid)
		return nil, err
	}
	return &ClientFile{c: f.c, fid: fid}, nil
}

// WalkGetAttr walks names like Walk and returns every step's QID and
// attributes (mask says which are wanted). With no names it clones the file
// and returns one step, the file's own attributes. With the Palisade
// extension this is one round trip for up to MaxWalkNames names; without
// it, it is done with Twalk and Tgetattr one name at a time.
func (f *ClientFile) WalkGetAttr(names []string, mask AttrMask) ([]QIDAttr, *ClientFile, error) {
	if !f.c.ext {
		return f.walkGetAttrFallback(names, mask)
	}
	if len(names) == 0 {
		fid := f.c.allocFID()
		r := &rwalkgetattr{}
		if err := f.c.rpc(&twalkgetattr{fid: f.fid, newfid: fid, mask: mask}, r); err != nil {
			f.c.freeFID(fid)
			return nil, nil, err
		}
		return r.steps, &ClientFile{c: f.c, fid: fid}, nil
	}
	var all []QIDAttr
	cur := f
	for len(names) > 0 {
		chunk := names[:min(len(names), MaxWalkNames)]
		names = names[len(chunk):]
		fid := f.c.allocFID()
		r := &rwalkgetattr{}
		err := f.c.rpc(&twalkgetattr{fid: cur.fid, newfid: fid, mask: mask, names: chunk}, r)
		if err == nil && len(r.steps) < len(chunk) {
			err = unix.ENOENT
		}
		all = append(all, r.steps...)
		if cur != f {
			cur.Close()
		}
		if err != nil {
			f.c.freeFID(fid)
			return all, nil, err
		}
		cur = &ClientFile{c: f.c, fid: fid}
	}
	return all, cur, nil
}

func (f *ClientFile) walkGetAttrFallback(names []string, mask AttrMask) ([]QIDAttr, *ClientFile, error) {
	cur, err := f.Clone()
	if err != nil {
		return nil, nil, err
	}
	if len(names) == 0 {
		a, err := cur.GetAttr(mask)
		if err != nil {
			cur.Close()
			return nil, nil, err
		}
		return []QIDAttr{a}, cur, nil
	}
	steps := make([]QIDAttr, 0, len(names))
	for _, name := range names {
		_, nf, err := cur.Walk([]string{name})
		cur.Close()
		if err != nil {
			return steps, nil, err
		}
		cur = nf
		a, err := cur.GetAttr(mask)
		if err != nil {
			cur.Close()
			return steps, nil, err
		}
		steps = append(steps, a)
	}
	return steps, cur, nil
}

// GetAttr implements Tgetattr.
func (f *ClientFile) GetAttr(mask AttrMask) (QIDAttr, error) {
	r := &rgetattr{}
	err := f.c.rpc(&tgetattr{fid: f.fid, mask: mask}, r)
	return r.a, err
}

// SetAttr implements Tsetattr.
func (f *ClientFile) SetAttr(valid SetAttrMask, attr SetAttr) error {
	return f.c.rpc(&tsetattr{fid: f.fid, valid: valid, attr: attr}, ok(MsgRsetattr))
}

// Open implements Tlopen. It returns the QID, the iounit, and the host file
// the server donated with the reply (nil if none). The caller owns the
// returned *os.File.
//
// Without the extensions, a read-only Open first clones the fid so that
// ReaddirAttr on the opened directory can walk to its entries (one more
// round trip; the clone is clunked at once if the file is not a
// directory, else with this file).
func (f *ClientFile) Open(flags OpenFlags) (QID, uint32, *os.File, error) {
	var twin *ClientFile
	if !f.c.ext && flags&OpenFlagsMode == ReadOnly {
		twin, _ = f.Clone()
	}
	r := &ropen{t: MsgRlopen}
	fd, err := f.c.rpcFD(&tlopen{fid: f.fid, flags: flags}, r)
	if twin != nil {
		if err == nil && r.qid.Type&QIDTypeDir != 0 {
			if old := f.twin.Swap(twin); old != nil {
				old.Close()
			}
		} else {
			twin.Close()
		}
	}
	return r.qid, r.iounit, fd, err
}

// Create implements Tlcreate: create name in this directory and open it.
// Afterwards this ClientFile names the new opened file (as the protocol
// says), not the directory. The donated host file (or nil) is the
// caller's.
func (f *ClientFile) Create(name string, flags OpenFlags, mode FileMode, gid GID) (QID, uint32, *os.File, error) {
	r := &ropen{t: MsgRlcreate}
	fd, err := f.c.rpcFD(&tlcreate{fid: f.fid, name: name, flags: flags, mode: mode, gid: gid}, r)
	return r.qid, r.iounit, fd, err
}

// maxIO is the most data bytes per Tread/Twrite.
func (c *Client) maxIO() int {
	return int(c.msize) - twriteHeaderLen
}

// ReadAt reads through the protocol (Tread), as many requests as needed to
// fill p. It returns io.EOF if the file ends first.
func (f *ClientFile) ReadAt(p []byte, offset int64) (int, error) {
	if offset < 0 {
		return 0, unix.EINVAL
	}
	done := 0
	for done < len(p) {
		chunk := p[done:min(len(p), done+f.c.maxIO())]
		r := &rread{data: chunk}
		if err := f.c.rpc(&tread{fid: f.fid, offset: uint64(offset) + uint64(done), count: uint32(len(chunk))}, r); err != nil {
			return done, err
		}
		if len(r.data) == 0 {
			return done, io.EOF
		}
		done += len(r.data)
	}
	return done, nil
}

// WriteAt writes through the protocol (Twrite), as many requests as
// needed.
func (f *ClientFile) WriteAt(p []byte, offset int64) (int, error) {
	if offset < 0 {
		return 0, unix.EINVAL
	}
	done := 0
	for done < len(p) {
		chunk := p[done:min(len(p), done+f.c.maxIO())]
		r := &rwrite{}
		if err := f.c.rpc(&twrite{fid: f.fid, offset: uint64(offset) + uint64(done), data: chunk}, r); err != nil {
			return done, err
		}
		if r.count == 0 || int(r.count) > len(chunk) {
			return done, io.ErrShortWrite
		}
		done += int(r.count)
	}
	return done, nil
}

// Readdir implements Treaddir: entries from cookie offset, at most count
// bytes of them (clamped to what msize allows). An empty result is the
// end of the directory.
func (f *ClientFile) Readdir(offset uint64, count uint32) ([]Dirent, error) {
	count = min(count, f.c.msize-rreadHeaderLen)
	r := &rreaddir{}
	err := f.c.rpc(&treaddir{fid: f.fid, offset: offset, count: count}, r)
	return r.entries, err
}

// ReaddirAttr is Readdir returning each entry's attributes. With the
// Palisade extension it is one round trip; without, each entry costs a
// walk, a getattr and a clunk.
func (f *ClientFile) ReaddirAttr(offset uint64, count uint32, mask AttrMask) ([]DirentAttr, error) {
	count = min(count, f.c.msize-rreadHeaderLen)
	if f.c.ext {
		r := &rreaddirattr{}
		err := f.c.rpc(&treaddirattr{fid: f.fid, offset: offset, count: count, mask: mask}, r)
		return r.entries, err
	}
	// Leave room for the extra attribute bytes per entry.
	des, err := f.Readdir(offset, count/4)
	if err != nil {
		return nil, err
	}
	out := make([]DirentAttr, len(des))
	var dir *ClientFile
	for i := range des {
		out[i].Dirent = des[i]
		if checkName(des[i].Name) != nil {
			continue
		}
		if dir == nil {
			// An opened fid can't walk: use the unopened twin Open
			// kept.
			if dir = f.twin.Load(); dir == nil {
				return nil, unix.EBUSY
			}
		}
		_, ef, err := dir.Walk([]string{des[i].Name})
		if err != nil {
			continue
		}
		a, err := ef.GetAttr(mask)
		ef.Close()
		if err == nil {
			out[i].Valid, out[i].Attr = a.Valid, a.Attr
		}
	}
	return out, nil
}

// Mkdir implements Tmkdir.
func (f *ClientFile) Mkdir(name string, mode FileMode, gid GID) (QID, error) {
	r := &qidMsg{t: MsgRmkdir}
	err := f.c.rpc(&tmkdir{dfid: f.fid, name: name, mode: mode, gid: gid}, r)
	return r.qid, err
}

// Symlink implements Tsymlink: create name → target in this directory.
func (f *ClientFile) Symlink(target, name string, gid GID) (QID, error) {
	r := &qidMsg{t: MsgRsymlink}
	err := f.c.rpc(&tsymlink{fid: f.fid, name: name, target: target, gid: gid}, r)
	return r.qid, err
}

// Mknod implements Tmknod.
func (f *ClientFile) Mknod(name string, mode FileMode, major, minor uint32, gid GID) (QID, error) {
	r := &qidMsg{t: MsgRmknod}
	err := f.c.rpc(&tmknod{dfid: f.fid, name: name, mode: mode, major: major, minor: minor, gid: gid}, r)
	return r.qid, err
}

// Link implements Tlink: create name in this directory linking to target.
func (f *ClientFile) Link(target *ClientFile, name string) error {
	return f.c.rpc(&tlink{dfid: f.fid, fid: target.fid, name: name}, ok(MsgRlink))
}

// Rename implements Trename: move this file to newDir/newName.
func (f *ClientFile) Rename(newDir *ClientFile, newName string) error {
	return f.c.rpc(&trename{fid: f.fid, dfid: newDir.fid, name: newName}, ok(MsgRrename))
}

// RenameAt implements Trenameat.
func (f *ClientFile) RenameAt(oldName string, newDir *ClientFile, newName string) error {
	return f.c.rpc(&trenameat{olddir: f.fid, oldname: oldName, newdir: newDir.fid, newname: newName}, ok(MsgRrenameat))
}

// UnlinkAt implements Tunlinkat (flags: 0 or UnlinkRemoveDir).
func (f *ClientFile) UnlinkAt(name string, flags uint32) error {
	return f.c.rpc(&tunlinkat{dir: f.fid, name: name, flags: flags}, ok(MsgRunlinkat))
}

// Readlink implements Treadlink.
func (f *ClientFile) Readlink() (string, error) {
	r := &rreadlink{}
	err := f.c.rpc(&fidMsg{t: MsgTreadlink, fid: f.fid}, r)
	return r.target, err
}

// StatFS implements Tstatfs.
func (f *ClientFile) StatFS() (FSStat, error) {
	r := &rstatfs{}
	err := f.c.rpc(&fidMsg{t: MsgTstatfs, fid: f.fid}, r)
	return r.st, err
}

// FSync implements Tfsync.
func (f *ClientFile) FSync(datasync bool) error {
	var d uint32
	if datasync {
		d = 1
	}
	return f.c.rpc(&tfsync{fid: f.fid, datasync: d}, ok(MsgRfsync))
}

// Lock implements Tlock.
func (f *ClientFile) Lock(lock Lock, flags LockFlags) (LockStatus, error) {
	r := &rlock{}
	err := f.c.rpc(&tlock{fid: f.fid, flags: flags, lock: lock}, r)
	return r.status, err
}

// GetLock implements Tgetlock.
func (f *ClientFile) GetLock(lock Lock) (Lock, error) {
	r := &rgetlock{}
	err := f.c.rpc(&tgetlock{fid: f.fid, lock: lock}, r)
	return r.lock, err
}

// xattrRead walks to an xattr fid for name ("" = list) and reads it all,
// failing with ERANGE if it is longer than size (size 0 = just report the
// length, returning nil data).
func (f *ClientFile) xattrRead(name string, size uint64) ([]byte, uint64, error) {
	fid := f.c.allocFID()
	r := &rxattrwalk{}
	if err := f.c.rpc(&txattrwalk{fid: f.fid, newfid: fid, name: name}, r); err != nil {
		f.c.freeFID(fid)
		return nil, 0, err
	}
	xf := &ClientFile{c: f.c, fid: fid}
	defer xf.Close()
	if size == 0 {
		return nil, r.size, nil
	}
	if r.size > size || r.size > MaxXattrSize {
		return nil, r.size, unix.ERANGE
	}
	buf := make([]byte, r.size)
	n, err := xf.ReadAt(buf, 0)
	if err != nil && !(err == io.EOF && uint64(n) == r.size) {
		return nil, r.size, err
	}
	return buf[:n], r.size, nil
}

// GetXattr returns the value of extended attribute name (Txattrwalk, Tread,
// Tclunk). If size is 0 it returns nil and only checks existence; if the
// value is longer than size it fails with ERANGE.
func (f *ClientFile) GetXattr(name string, size uint64) ([]byte, error) {
	b, _, err := f.xattrRead(name, size)
	return b, err
}

// XattrSize returns the length of extended attribute name ("" = of the
// name list).
func (f *ClientFile) XattrSize(name string) (uint64, error) {
	_, n, err := f.xattrRead(name, 0)
	return n, err
}

// ListXattr returns the extended attribute names, failing with ERANGE if
// the NUL-separated list is longer than size.
func (f *ClientFile) ListXattr(size uint64) ([]string, error) {
	b, n, err := f.xattrRead("", max(size, 1))
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	var names []string
	start := 0
	for i, ch := range b {
		if ch == 0 {
			if i > start {
				names = append(names, string(b[start:i]))
			}
			start = i + 1
		}
	}
	return names, nil
}

// SetXattr sets extended attribute name (Txattrcreate on a clone of this
// fid, Twrite, Tclunk; the clunk reports the result).
func (f *ClientFile) SetXattr(name string, value []byte, flags uint32) error {
	return f.xattrWrite(name, value, flags)
}

// RemoveXattr removes extended attribute name (Txattrcreate with size 0 and
// XattrReplace, then Tclunk, as Linux does).
func (f *ClientFile) RemoveXattr(name string) error {
	return f.xattrWrite(name, nil, XattrReplace)
}

func (f *ClientFile) xattrWrite(name string, value []byte, flags uint32) error {
	xf, err := f.Clone()
	if err != nil {
		return err
	}
	if err := f.c.rpc(&txattrcreate{fid: xf.fid, name: name, size: uint64(len(value)), flags: flags}, ok(MsgRxattrcreate)); err != nil {
		xf.Close()
		return err
	}
	if len(value) > 0 {
		if _, err := xf.WriteAt(value, 0); err != nil {
			xf.Close()
			return err
		}
	}
	return xf.Close()
}
