// Package p9 implements the 9P2000.L file protocol between the Sentry (the
// client) and the Gofer (the server): the message codec, a concurrent
// client, a server framework over a File interface, and host fd donation.
//
// # Transport and framing
//
// A connection is a connected AF_UNIX SOCK_SEQPACKET socket (a socketpair
// in practice). Every 9P message is exactly one packet: size[4] type[1]
// tag[2] body, little-endian, where size counts the whole message and must
// equal the packet length. Strings are len[2] bytes, a QID is type[1]
// version[4] path[8]. Requests are answered by tag, in any order; the
// client keeps up to DefaultClientInflight requests in flight and its
// reader goroutine hands each reply to the caller waiting on that tag.
//
// # Fd donation
//
// When a File's Open or Create returns an *os.File, the server sends its
// descriptor as an SCM_RIGHTS control message on the same sendmsg(2), hence
// in the same packet, as the Rlopen or Rlcreate reply, and then closes its
// copy. A SEQPACKET packet is delivered whole with its control data, so the
// pairing is exact: the client attaches an fd to a reply only if the reply
// is a successful Rlopen or Rlcreate and the packet carried exactly one fd.
// Any fd arriving with any other reply, or more than one, is closed at once
// (received with MSG_CMSG_CLOEXEC). An Rlopen/Rlcreate without an fd is
// normal and means "no donation": the client then reads and writes through
// Tread/Twrite.
//
// # Extensions
//
// A client asking for version "9P2000.L.palisade" gets it back from a
// server that implements these two extra requests, and plain "9P2000.L"
// otherwise (the client's methods then fall back to standard messages):
//
//	Twalkgetattr (130): fid[4] newfid[4] request_mask[8] nwname[2] nwname*(wname[s])
//	Rwalkgetattr (131): nstep[2] nstep*(valid[8] qid[13] mode[4] uid[4] gid[4]
//	                    nlink[8] rdev[8] size[8] blksize[8] blocks[8]
//	                    atime_sec[8] atime_nsec[8] mtime_sec[8] mtime_nsec[8]
//	                    ctime_sec[8] ctime_nsec[8] btime_sec[8] btime_nsec[8]
//	                    gen[8] data_version[8])
//	Treaddirattr (132): fid[4] offset[8] count[4] request_mask[8]
//	Rreaddirattr (133): count[4] data[count], data a run of entries
//	                    qid[13] offset[8] type[1] name[s] valid[8] mode[4] ...
//	                    data_version[8] (the Rgetattr fields after qid)
//
// Twalkgetattr walks like Twalk (same fid, newfid and partial-walk rules)
// and returns each step's QID and attributes, laid out like an Rgetattr
// body; with zero names it clones fid and returns one step, fid's own
// attributes. So a stat of a path of up to 16 components is one round trip
// (plus the clunk). Treaddirattr is Treaddir whose entries carry
// attributes (valid 0 when the server could not get them, e.g. for "." and
// ".."); at msize 1 MiB one reply holds about 6,000 entries with short
// names.
//
// # Limits and hostile input
//
// Both sides treat the peer as hostile. msize is proposed by the client and
// clamped by the server to its maximum (MaxMsize, 4 MiB, or less by
// option); it must be at least MinMsize. Each side also clamps msize to
// the largest packet its socket can send: it raises SO_SNDBUF (with
// SO_SNDBUFFORCE when privileged, else up to net.core.wmem_max) and
// uses what it got. A reply that still cannot be sent (e.g. ENOBUFS) is
// replaced by an Rlerror so the client never waits forever. A packet longer than msize is
// refused (EMSGSIZE) before decoding. Every length field is checked against
// the bytes left in the packet before anything is allocated for it; walks
// carry at most MaxWalkNames names; read, write and readdir counts are
// clamped to msize minus their header. Before calling a File method the
// server rejects names that are empty, ".", "..", longer than MaxNameLen
// (ENAMETOOLONG), or contain '/' or NUL (EINVAL): the Sentry resolves "."
// and ".." itself, so a File never has to. Symlink targets are bounded by
// MaxPathLen, xattr names by MaxXattrNameLen and values by MaxXattrSize.
//
// The server answers an unknown or undecodable message with Rlerror (ENOSYS
// or EINVAL) when it has a header to take the tag from, and drops the
// connection when it has not. Unknown fids get EBADF; a newfid already in
// use gets EBADF; a connection may hold at most DefaultMaxFids fids (EMFILE
// beyond) and serves at most DefaultMaxInflight requests at once (it stops
// reading the socket until one finishes). Tflush is answered only after the
// flushed request's reply has been sent, so the client always sees the
// original reply (if any) before Rflush. Tclunk releases a fid; closing the
// connection releases all of them. Each File is closed exactly once, after
// the last request using it has returned.
//
// Fuzzing: go test ./p9 -run XXX -fuzz FuzzDecode -fuzztime 5m (and
// FuzzServer) runs longer than the seeds in testdata/fuzz that go test
// replays.
package p9
