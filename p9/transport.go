package p9

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxRecvFDs is how many descriptors one received packet may carry before
// the control buffer truncates (MSG_CTRUNC). A reply carries at most one;
// the rest exist only to be seen and closed.
const maxRecvFDs = 4

// sndbufSlack is what the kernel needs in the send buffer beyond a
// packet's bytes (it refuses packets larger than sk_sndbuf - 32).
const sndbufSlack = 4096

var oobSize = unix.CmsgSpace(maxRecvFDs * 4)

// sender sends one message as one packet, optionally with one fd.
type sender interface {
	sendmsg(hdr, payload []byte, fd int) error
}

// sock is a SOCK_SEQPACKET unix socket driven by the Go runtime's network
// poller (the fd is non-blocking; a goroutine waiting for a packet is parked
// without holding an OS thread). One 9P message is one packet; an fd
// donated with a message rides in the same packet.
type sock struct {
	f  *os.File
	rc syscall.RawConn
	// maxPacket is the largest packet this end can send (the kernel
	// refuses a SEQPACKET packet larger than the send buffer minus a
	// little); msize is clamped to it.
	maxPacket int
}

// newSock checks that fd is a SOCK_SEQPACKET socket, sizes its send buffer
// and hands it to the poller. The sock owns fd.
func newSock(fd int) (*sock, error) {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return nil, fmt.Errorf("p9: checking socket type of fd %d: %w", fd, err)
	}
	if typ != unix.SOCK_SEQPACKET {
		return nil, fmt.Errorf("p9: fd %d is socket type %d, want SOCK_SEQPACKET", fd, typ)
	}
	// Ask for a send buffer that fits MaxMsize packets. SO_SNDBUFFORCE
	// needs CAP_NET_ADMIN; plain SO_SNDBUF is capped by
	// net.core.wmem_max. Whatever we get bounds msize.
	want := MaxMsize + sndbufSlack
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, want) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, want)
	}
	sb, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
	if err != nil {
		return nil, fmt.Errorf("p9: reading SO_SNDBUF of fd %d: %w", fd, err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, fmt.Errorf("p9: setting fd %d non-blocking: %w", fd, err)
	}
	f := os.NewFile(uintptr(fd), "p9-socket")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("p9: fd %d: %w", fd, err)
	}
	return &sock{f: f, rc: rc, maxPacket: min(sb-sndbufSlack, MaxMsize)}, nil
}

var errClosed = errors.New("p9: connection closed")

// sendmsg sends hdr+payload as one packet, with fd (if >= 0) attached as
// SCM_RIGHTS.
func (s *sock) sendmsg(hdr, payload []byte, fd int) error {
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	bufs := [][]byte{hdr}
	if len(payload) > 0 {
		bufs = append(bufs, payload)
	}
	var serr error
	err := s.rc.Write(func(sfd uintptr) bool {
		_, serr = unix.SendmsgBuffers(int(sfd), bufs, oob, nil, unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT)
		return serr != unix.EAGAIN && serr != unix.EINTR
	})
	if err != nil {
		return errClosed
	}
	if serr != nil {
		return fmt.Errorf("p9: sendmsg: %w", serr)
	}
	return nil
}

// recvmsg receives one packet into buf. It returns the packet length, the
// fds that came with it (close-on-exec; the caller owns them), and whether
// the packet was longer than buf (MSG_TRUNC: the rest is lost). io.EOF
// means the peer or this side closed.
func (s *sock) recvmsg(buf, oob []byte) (int, []int, bool, error) {
	var n, oobn, flags int
	var rerr error
	err := s.rc.Read(func(sfd uintptr) bool {
		n, oobn, flags, _, rerr = unix.Recvmsg(int(sfd), buf, oob, unix.MSG_CMSG_CLOEXEC|unix.MSG_DONTWAIT)
		return rerr != unix.EAGAIN && rerr != unix.EINTR
	})
	if err != nil {
		return 0, nil, false, io.EOF
	}
	if rerr == unix.ECONNRESET {
		// The peer closed with replies it never read: a close, not a
		// failure.
		return 0, nil, false, io.EOF
	}
	if rerr != nil {
		return 0, nil, false, fmt.Errorf("p9: recvmsg: %w", rerr)
	}
	fds := parseFDs(oob[:oobn])
	if n == 0 && len(fds) == 0 {
		return 0, nil, false, io.EOF
	}
	return n, fds, flags&unix.MSG_TRUNC != 0, nil
}

// parseFDs returns every SCM_RIGHTS fd in a control buffer.
func parseFDs(oob []byte) []int {
	if len(oob) == 0 {
		return nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for i := range msgs {
		if msgs[i].Header.Level != unix.SOL_SOCKET || msgs[i].Header.Type != unix.SCM_RIGHTS {
			continue
		}
		got, err := unix.ParseUnixRights(&msgs[i])
		if err == nil {
			fds = append(fds, got...)
		}
	}
	return fds
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// close closes the socket; a recvmsg or sendmsg waiting on it returns.
func (s *sock) close() error {
	return s.f.Close()
}
