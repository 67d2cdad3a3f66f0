package p9

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Version strings.
const (
	// Version9P2000L is plain 9P2000.L.
	Version9P2000L = "9P2000.L"
	// VersionPalisade is 9P2000.L plus the Twalkgetattr and Treaddirattr
	// extensions.
	VersionPalisade = "9P2000.L.palisade"
)

// Default server limits.
const (
	// DefaultMaxFids is the default bound on fids per connection.
	DefaultMaxFids = 1 << 18
	// maxXattrBytesPerConn bounds the xattr values and lists held by
	// xattr fids of one connection (ENOMEM beyond).
	maxXattrBytesPerConn = 16 << 20
	// DefaultMaxInflight is the default bound on requests being served at
	// once per connection. When reached the server stops reading the
	// socket until one finishes (back-pressure, not an error).
	DefaultMaxInflight = 256
)

// Server serves 9P2000.L connections over SOCK_SEQPACKET unix sockets,
// calling an Attacher for Tattach and File methods for everything else.
type Server struct {
	attacher    Attacher
	maxMsize    uint32
	maxFids     int
	maxInflight int
	log         *slog.Logger
	noExt       bool
}

// ServerOption configures a Server.
type ServerOption func(*Server)

// WithMaxMsize caps the msize the server agrees to (clamped to
// [MinMsize, MaxMsize]).
func WithMaxMsize(n uint32) ServerOption {
	return func(s *Server) { s.maxMsize = min(max(n, MinMsize), MaxMsize) }
}

// WithMaxFids bounds the fids of one connection (at least 1).
func WithMaxFids(n int) ServerOption {
	return func(s *Server) { s.maxFids = max(n, 1) }
}

// WithMaxInflight bounds requests served at once per connection (at least
// 1).
func WithMaxInflight(n int) ServerOption {
	return func(s *Server) { s.maxInflight = max(n, 1) }
}

// WithLogger sets the logger for connection-level problems.
func WithLogger(l *slog.Logger) ServerOption {
	return func(s *Server) { s.log = l }
}

// WithoutExtensions makes the server answer only plain 9P2000.L (used to
// test client fallbacks).
func WithoutExtensions() ServerOption {
	return func(s *Server) { s.noExt = true }
}

// NewServer returns a server that attaches through attacher.
func NewServer(attacher Attacher, opts ...ServerOption) *Server {
	s := &Server{
		attacher:    attacher,
		maxMsize:    MaxMsize,
		maxFids:     DefaultMaxFids,
		maxInflight: DefaultMaxInflight,
		log:         slog.Default(),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Serve serves one connection on fd, a SOCK_SEQPACKET unix socket, until the
// peer closes it or a protocol error makes the server drop it. Serve owns
// fd and closes it. All fids of the connection are released before Serve
// returns. A clean close by the peer returns nil.
func (s *Server) Serve(fd int) error {
	sk, err := newSock(fd)
	if err != nil {
		unix.Close(fd)
		return err
	}
	c := s.newConn(sk, false)
	c.maxPacket = uint32(max(sk.maxPacket, 0))
	err = c.readLoop(sk)
	c.teardown()
	sk.close()
	return err
}

// ServeConn is Serve on a *net.UnixConn (of type "unixpacket"). It serves a
// duplicate of the connection's fd; the caller still closes conn.
func (s *Server) ServeConn(conn *net.UnixConn) error {
	f, err := conn.File()
	if err != nil {
		return err
	}
	fd, err := unix.Dup(int(f.Fd()))
	f.Close()
	if err != nil {
		return err
	}
	return s.Serve(fd)
}

// conn is the state of one connection.
type conn struct {
	srv *Server
	out sender
	// sync runs every request on the reading goroutine (fuzzing).
	sync bool
	// maxPacket bounds msize by what the socket can send.
	maxPacket uint32

	// msize is the negotiated msize, 0 before Tversion.
	msize atomic.Uint32
	// ext is set when VersionPalisade was negotiated.
	ext atomic.Bool

	// mu guards fids and inflight.
	mu       sync.Mutex
	fids     map[FID]*fidRef
	inflight map[Tag]*request

	// xattrBytes is the xattr data held by xattr fids of this
	// connection, bounded by maxXattrBytesPerConn.
	xattrBytes atomic.Int64

	// sem holds one token per request being served.
	sem chan struct{}
	wg  sync.WaitGroup
}

// request is one T-message being served.
type request struct {
	// replying is set just before the reply is sent. From then on the
	// client may have the reply and reuse the tag, so a new request with
	// this tag replaces this one in the inflight table.
	replying atomic.Bool
	done     chan struct{}
}

func (s *Server) newConn(out sender, syncMode bool) *conn {
	return &conn{
		srv:       s,
		out:       out,
		sync:      syncMode,
		fids:      make(map[FID]*fidRef),
		inflight:  make(map[Tag]*request),
		sem:       make(chan struct{}, s.maxInflight),
		maxPacket: MaxMsize,
	}
}

// readLoop receives packets and dispatches them until EOF or a fatal
// protocol error.
func (c *conn) readLoop(sk *sock) error {
	buf := make([]byte, MinMsize)
	oob := make([]byte, oobSize)
	for {
		if m := int(c.msize.Load()); m != 0 && len(buf) != m {
			buf = make([]byte, m)
		}
		n, fds, trunc, err := sk.recvmsg(buf, oob)
		// Requests never carry fds.
		closeFDs(fds)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := c.handlePacket(buf[:n], trunc); err != nil {
			c.srv.log.Warn("p9: dropping connection", "err", err)
			return err
		}
	}
}

// teardown waits for requests in flight and releases every fid.
func (c *conn) teardown() {
	c.wg.Wait()
	c.mu.Lock()
	fids := c.fids
	c.fids = make(map[FID]*fidRef)
	c.mu.Unlock()
	for _, r := range fids {
		r.decRef()
	}
}

var errBadPacket = errors.New("p9: packet shorter than a header")

// handlePacket decodes one packet and serves it. It returns an error only
// when the connection must be dropped.
func (c *conn) handlePacket(pkt []byte, trunc bool) error {
	if len(pkt) < HeaderLen {
		return errBadPacket
	}
	t, tag, herr := header(pkt)
	if trunc {
		return c.sendErr(tag, unix.EMSGSIZE)
	}
	if herr != nil {
		return c.sendErr(tag, unix.EINVAL)
	}
	m := newRequest(t)
	if m == nil {
		return c.sendErr(tag, unix.ENOSYS)
	}
	if !c.ext.Load() && (t == MsgTwalkgetattr || t == MsgTreaddirattr) {
		return c.sendErr(tag, unix.ENOSYS)
	}
	if err := unmarshalBody(pkt, m); err != nil {
		return c.sendErr(tag, unix.EINVAL)
	}
	if v, ok := m.(*tversion); ok {
		return c.version(tag, v)
	}
	if c.msize.Load() == 0 {
		return c.sendErr(tag, unix.EPROTO)
	}
	if w, ok := m.(*twrite); ok {
		// The receive buffer is reused for the next packet: give the
		// data its own pooled buffer, returned by serve.
		b := getBuf(len(w.data))
		copy(*b, w.data)
		w.data = *b
		m = &twriteOwned{twrite: *w, buf: b}
	}

	c.mu.Lock()
	if old, dup := c.inflight[tag]; dup && !old.replying.Load() {
		c.mu.Unlock()
		return c.sendErr(tag, unix.EINVAL)
	}
	req := &request{done: make(chan struct{})}
	c.inflight[tag] = req
	c.mu.Unlock()

	c.sem <- struct{}{}
	c.wg.Add(1)
	if c.sync {
		c.serve(tag, m, req)
		return nil
	}
	go c.serve(tag, m, req)
	return nil
}

// twriteOwned is a twrite whose data lives in a pooled buffer that the
// worker returns.
type twriteOwned struct {
	twrite
	buf *[]byte
}

// serve runs one request and sends its reply.
func (c *conn) serve(tag Tag, m message, req *request) {
	defer c.wg.Done()
	reply, donate, cleanup := c.dispatch(tag, m)
	req.replying.Store(true)
	var err error
	if donate != nil {
		err = c.sendDonating(tag, reply, donate)
		donate.Close()
	} else {
		err = c.send(tag, reply, -1)
	}
	if cleanup != nil {
		cleanup()
	}
	if w, ok := m.(*twriteOwned); ok {
		putBuf(w.buf)
	}
	if err != nil {
		// Never leave the client waiting: if the reply itself could
		// not be sent (e.g. ENOBUFS), try a short Rlerror instead.
		c.srv.log.Debug("p9: sending reply", "tag", tag, "err", err)
		errno := unix.EIO
		if !errors.As(err, &errno) {
			errno = unix.EIO
		}
		c.sendErr(tag, errno)
	}
	c.mu.Lock()
	if c.inflight[tag] == req {
		delete(c.inflight, tag)
	}
	c.mu.Unlock()
	close(req.done)
	<-c.sem
}

// send encodes and sends one reply.
func (c *conn) send(tag Tag, m message, fd int) error {
	b := getBuf(4096)
	hdr, payload := marshal(*b, tag, m)
	err := c.out.sendmsg(hdr, payload, fd)
	if cap(hdr) == cap(*b) {
		*b = hdr
	}
	putBuf(b)
	return err
}

// sendDonating sends reply with f's descriptor attached. It reaches the fd
// through SyscallConn rather than Fd, which would switch a non-blocking
// file (shared with the client after donation) to blocking mode.
func (c *conn) sendDonating(tag Tag, reply message, f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return c.send(tag, reply, -1)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = c.send(tag, reply, int(fd)) }); err != nil {
		return c.send(tag, reply, -1)
	}
	return serr
}

// sendErr sends Rlerror. It returns nil: failing to send an error reply is
// noticed by the next receive.
func (c *conn) sendErr(tag Tag, errno unix.Errno) error {
	if err := c.send(tag, &rlerror{errno: uint32(errno)}, -1); err != nil {
		c.srv.log.Debug("p9: sending error reply", "tag", tag, "err", err)
	}
	return nil
}

// version implements Tversion. It runs on the reading goroutine: it waits
// for every request in flight, clunks every fid (as the protocol asks of a
// new Tversion), and negotiates msize and version.
func (c *conn) version(tag Tag, v *tversion) error {
	c.teardown()
	if v.msize < MinMsize {
		return c.sendErr(tag, unix.EINVAL)
	}
	msize := min(v.msize, c.srv.maxMsize, c.maxPacket)
	if msize < MinMsize {
		return c.sendErr(tag, unix.ENOBUFS)
	}
	var ver string
	switch {
	case v.version == VersionPalisade && !c.srv.noExt:
		ver = VersionPalisade
	case strings.HasPrefix(v.version, Version9P2000L):
		ver = Version9P2000L
	default:
		c.msize.Store(0)
		c.ext.Store(false)
		return c.send(tag, &rversion{msize: msize, version: "unknown"}, -1)
	}
	c.msize.Store(msize)
	c.ext.Store(ver == VersionPalisade)
	return c.send(tag, &rversion{msize: msize, version: ver}, -1)
}

// errnoOf maps a File error to a Linux errno.
func errnoOf(err error) unix.Errno {
	var e unix.Errno
	if errors.As(err, &e) && e != 0 {
		return e
	}
	return unix.EIO
}

// lerror makes an Rlerror reply from an error.
func lerror(err error) message {
	return &rlerror{errno: uint32(errnoOf(err))}
}

// checkName validates a path component: not empty, ".", "..", no '/' or
// NUL, at most MaxNameLen bytes.
func checkName(name string) error {
	if len(name) > MaxNameLen {
		return unix.ENAMETOOLONG
	}
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return unix.EINVAL
	}
	return nil
}
