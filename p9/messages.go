package p9

import (
	"errors"
	"fmt"
)

// MsgType is the type byte of a 9P message. T-messages are requests (even
// numbers), R-messages replies (T+1).
type MsgType uint8

// Message types of 9P2000.L (include/net/9p/9p.h) used by this package.
const (
	MsgTlerror      MsgType = 6
	MsgRlerror      MsgType = 7
	MsgTstatfs      MsgType = 8
	MsgRstatfs      MsgType = 9
	MsgTlopen       MsgType = 12
	MsgRlopen       MsgType = 13
	MsgTlcreate     MsgType = 14
	MsgRlcreate     MsgType = 15
	MsgTsymlink     MsgType = 16
	MsgRsymlink     MsgType = 17
	MsgTmknod       MsgType = 18
	MsgRmknod       MsgType = 19
	MsgTrename      MsgType = 20
	MsgRrename      MsgType = 21
	MsgTreadlink    MsgType = 22
	MsgRreadlink    MsgType = 23
	MsgTgetattr     MsgType = 24
	MsgRgetattr     MsgType = 25
	MsgTsetattr     MsgType = 26
	MsgRsetattr     MsgType = 27
	MsgTxattrwalk   MsgType = 30
	MsgRxattrwalk   MsgType = 31
	MsgTxattrcreate MsgType = 32
	MsgRxattrcreate MsgType = 33
	MsgTreaddir     MsgType = 40
	MsgRreaddir     MsgType = 41
	MsgTfsync       MsgType = 50
	MsgRfsync       MsgType = 51
	MsgTlock        MsgType = 52
	MsgRlock        MsgType = 53
	MsgTgetlock     MsgType = 54
	MsgRgetlock     MsgType = 55
	MsgTlink        MsgType = 70
	MsgRlink        MsgType = 71
	MsgTmkdir       MsgType = 72
	MsgRmkdir       MsgType = 73
	MsgTrenameat    MsgType = 74
	MsgRrenameat    MsgType = 75
	MsgTunlinkat    MsgType = 76
	MsgRunlinkat    MsgType = 77
	MsgTversion     MsgType = 100
	MsgRversion     MsgType = 101
	MsgTauth        MsgType = 102
	MsgRauth        MsgType = 103
	MsgTattach      MsgType = 104
	MsgRattach      MsgType = 105
	MsgTflush       MsgType = 108
	MsgRflush       MsgType = 109
	MsgTwalk        MsgType = 110
	MsgRwalk        MsgType = 111
	MsgTread        MsgType = 116
	MsgRread        MsgType = 117
	MsgTwrite       MsgType = 118
	MsgRwrite       MsgType = 119
	MsgTclunk       MsgType = 120
	MsgRclunk       MsgType = 121
	MsgTremove      MsgType = 122
	MsgRremove      MsgType = 123

	// Palisade extensions, only used when the version string negotiated
	// is VersionPalisade. 130..133 are unused by 9P2000, 9P2000.u and
	// 9P2000.L.
	MsgTwalkgetattr MsgType = 130
	MsgRwalkgetattr MsgType = 131
	MsgTreaddirattr MsgType = 132
	MsgRreaddirattr MsgType = 133
)

var msgNames = map[MsgType]string{
	MsgRlerror: "Rlerror", MsgTstatfs: "Tstatfs", MsgRstatfs: "Rstatfs",
	MsgTlopen: "Tlopen", MsgRlopen: "Rlopen", MsgTlcreate: "Tlcreate", MsgRlcreate: "Rlcreate",
	MsgTsymlink: "Tsymlink", MsgRsymlink: "Rsymlink", MsgTmknod: "Tmknod", MsgRmknod: "Rmknod",
	MsgTrename: "Trename", MsgRrename: "Rrename", MsgTreadlink: "Treadlink", MsgRreadlink: "Rreadlink",
	MsgTgetattr: "Tgetattr", MsgRgetattr: "Rgetattr", MsgTsetattr: "Tsetattr", MsgRsetattr: "Rsetattr",
	MsgTxattrwalk: "Txattrwalk", MsgRxattrwalk: "Rxattrwalk", MsgTxattrcreate: "Txattrcreate",
	MsgRxattrcreate: "Rxattrcreate", MsgTreaddir: "Treaddir", MsgRreaddir: "Rreaddir",
	MsgTfsync: "Tfsync", MsgRfsync: "Rfsync", MsgTlock: "Tlock", MsgRlock: "Rlock",
	MsgTgetlock: "Tgetlock", MsgRgetlock: "Rgetlock", MsgTlink: "Tlink", MsgRlink: "Rlink",
	MsgTmkdir: "Tmkdir", MsgRmkdir: "Rmkdir", MsgTrenameat: "Trenameat", MsgRrenameat: "Rrenameat",
	MsgTunlinkat: "Tunlinkat", MsgRunlinkat: "Runlinkat", MsgTversion: "Tversion", MsgRversion: "Rversion",
	MsgTauth: "Tauth", MsgRauth: "Rauth", MsgTattach: "Tattach", MsgRattach: "Rattach",
	MsgTflush: "Tflush", MsgRflush: "Rflush", MsgTwalk: "Twalk", MsgRwalk: "Rwalk",
	MsgTread: "Tread", MsgRread: "Rread", MsgTwrite: "Twrite", MsgRwrite: "Rwrite",
	MsgTclunk: "Tclunk", MsgRclunk: "Rclunk", MsgTremove: "Tremove", MsgRremove: "Rremove",
	MsgTwalkgetattr: "Twalkgetattr", MsgRwalkgetattr: "Rwalkgetattr",
	MsgTreaddirattr: "Treaddirattr", MsgRreaddirattr: "Rreaddirattr",
}

func (t MsgType) String() string {
	if s, ok := msgNames[t]; ok {
		return s
	}
	return fmt.Sprintf("MsgType(%d)", uint8(t))
}

// Protocol limits. See the package documentation.
const (
	// HeaderLen is size[4] type[1] tag[2].
	HeaderLen = 7
	// MaxWalkNames is the most names in one Twalk / Twalkgetattr.
	MaxWalkNames = 16
	// MaxNameLen is the longest path component (NAME_MAX).
	MaxNameLen = 255
	// MaxPathLen bounds symlink targets (PATH_MAX including NUL).
	MaxPathLen = 4095
	// MaxXattrNameLen is XATTR_NAME_MAX.
	MaxXattrNameLen = 255
	// MaxXattrSize is XATTR_SIZE_MAX: the largest xattr value or list.
	MaxXattrSize = 65536
	// MaxVersionLen bounds the version string of Tversion.
	MaxVersionLen = 64
	// MinMsize is the smallest msize accepted: a walk of MaxWalkNames
	// names of MaxNameLen bytes must fit.
	MinMsize = 8192
	// MaxMsize is the largest msize either side agrees to (4 MiB).
	MaxMsize = 1 << maxBufShift
	// DefaultMsize is the msize a client proposes by default (1 MiB).
	DefaultMsize = 1 << 20

	// rreadHeaderLen is the header of Rread/Rreaddir before data:
	// size[4] type[1] tag[2] count[4].
	rreadHeaderLen = HeaderLen + 4
	// twriteHeaderLen is size[4] type[1] tag[2] fid[4] offset[8] count[4].
	twriteHeaderLen = HeaderLen + 4 + 8 + 4
	// attrLen is the encoded size of an Attr (mode..data_version).
	attrLen = 3*4 + 15*8
	// qidLen is type[1] version[4] path[8].
	qidLen = 13
	// direntFixedLen is qid[13] offset[8] type[1] name-length[2].
	direntFixedLen = qidLen + 8 + 1 + 2
)

var errTooMany = errors.New("p9: too many elements")

// message is one 9P message body (after size[4] type[1] tag[2]).
type message interface {
	typ() MsgType
	encode(e *encoder)
	decode(d *decoder)
}

// payloader is a message whose trailing data is sent as a separate iovec
// (Twrite, Rread) instead of being copied into the encode buffer.
type payloader interface {
	payload() []byte
}

// encodeAttr writes the Attr fields in Rgetattr order.
func (e *encoder) attr(a *Attr) {
	e.u32(uint32(a.Mode))
	e.u32(uint32(a.UID))
	e.u32(uint32(a.GID))
	e.u64(a.NLink)
	e.u64(a.RDev)
	e.u64(a.Size)
	e.u64(a.BlockSize)
	e.u64(a.Blocks)
	e.u64(a.ATimeSeconds)
	e.u64(a.ATimeNanoSeconds)
	e.u64(a.MTimeSeconds)
	e.u64(a.MTimeNanoSeconds)
	e.u64(a.CTimeSeconds)
	e.u64(a.CTimeNanoSeconds)
	e.u64(a.BTimeSeconds)
	e.u64(a.BTimeNanoSeconds)
	e.u64(a.Gen)
	e.u64(a.DataVersion)
}

func (d *decoder) attr(a *Attr) {
	a.Mode = FileMode(d.u32())
	a.UID = UID(d.u32())
	a.GID = GID(d.u32())
	a.NLink = d.u64()
	a.RDev = d.u64()
	a.Size = d.u64()
	a.BlockSize = d.u64()
	a.Blocks = d.u64()
	a.ATimeSeconds = d.u64()
	a.ATimeNanoSeconds = d.u64()
	a.MTimeSeconds = d.u64()
	a.MTimeNanoSeconds = d.u64()
	a.CTimeSeconds = d.u64()
	a.CTimeNanoSeconds = d.u64()
	a.BTimeSeconds = d.u64()
	a.BTimeNanoSeconds = d.u64()
	a.Gen = d.u64()
	a.DataVersion = d.u64()
}

// qidAttr is valid[8] qid[13] attr, the Rgetattr body layout.
func (e *encoder) qidAttr(q *QIDAttr) {
	e.u64(uint64(q.Valid))
	e.qid(q.QID)
	e.attr(&q.Attr)
}

func (d *decoder) qidAttr(q *QIDAttr) {
	q.Valid = AttrMask(d.u64())
	q.QID = d.qid()
	d.attr(&q.Attr)
}

func (e *encoder) dirent(de *Dirent) {
	e.qid(de.QID)
	e.u64(de.Offset)
	e.u8(de.Type)
	e.str(de.Name)
}

func (d *decoder) dirent(de *Dirent) {
	de.QID = d.qid()
	de.Offset = d.u64()
	de.Type = d.u8()
	de.Name = d.str()
}

// names decodes nwname[2] nwname*(wname[s]) with at most MaxWalkNames.
func (d *decoder) names() []string {
	n := int(d.u16())
	if d.err != nil {
		return nil
	}
	if n > MaxWalkNames {
		d.err = errTooMany
		return nil
	}
	if n == 0 {
		return nil
	}
	// Each name needs at least its 2-byte length.
	if 2*n > len(d.buf) {
		d.err = errShort
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str()
	}
	return out
}

func (e *encoder) names(names []string) {
	e.u16(uint16(len(names)))
	for _, s := range names {
		e.str(s)
	}
}

// Tversion: msize[4] version[s].
type tversion struct {
	msize   uint32
	version string
}

func (*tversion) typ() MsgType { return MsgTversion }
func (m *tversion) encode(e *encoder) {
	e.u32(m.msize)
	e.str(m.version)
}
func (m *tversion) decode(d *decoder) {
	m.msize = d.u32()
	m.version = d.str()
}

// Rversion: msize[4] version[s].
type rversion struct {
	msize   uint32
	version string
}

func (*rversion) typ() MsgType { return MsgRversion }
func (m *rversion) encode(e *encoder) {
	e.u32(m.msize)
	e.str(m.version)
}
func (m *rversion) decode(d *decoder) {
	m.msize = d.u32()
	m.version = d.str()
}

// Tauth: afid[4] uname[s] aname[s] n_uname[4].
type tauth struct {
	afid   FID
	uname  string
	aname  string
	nuname UID
}

func (*tauth) typ() MsgType { return MsgTauth }
func (m *tauth) encode(e *encoder) {
	e.u32(uint32(m.afid))
	e.str(m.uname)
	e.str(m.aname)
	e.u32(uint32(m.nuname))
}
func (m *tauth) decode(d *decoder) {
	m.afid = FID(d.u32())
	m.uname = d.str()
	m.aname = d.str()
	m.nuname = UID(d.u32())
}

// Rauth: aqid[13].
type rauth struct{ qid QID }

func (*rauth) typ() MsgType        { return MsgRauth }
func (m *rauth) encode(e *encoder) { e.qid(m.qid) }
func (m *rauth) decode(d *decoder) { m.qid = d.qid() }

// Tattach: fid[4] afid[4] uname[s] aname[s] n_uname[4].
type tattach struct {
	fid    FID
	afid   FID
	uname  string
	aname  string
	nuname UID
}

func (*tattach) typ() MsgType { return MsgTattach }
func (m *tattach) encode(e *encoder) {
	e.u32(uint32(m.fid))
	e.u32(uint32(m.afid))
	e.str(m.uname)
	e.str(m.aname)
	e.u32(uint32(m.nuname))
}
func (m *tattach) decode(d *decoder) {
	m.fid = FID(d.u32())
	m.afid = FID(d.u32())
	m.uname = d.str()
	m.aname = d.str()
	m.nuname = UID(d.u32())
}

// Rattach: qid[13].
type rattach struct{ qid QID }

func (*rattach) typ() MsgType        { return MsgRattach }
func (m *rattach) encode(e *encoder) { e.qid(m.qid) }
func (m *rattach) decode(d *decoder) { m.qid = d.qid() }

// Rlerror: ecode[4].
type rlerror struct{ errno uint32 }

func (*rlerror) typ() MsgType        { return MsgRlerror }
func (m *rlerror) encode(e *encoder) { e.u32(m.errno) }
func (m *rlerror) decode(d *decoder) { m.errno = d.u32() }

// Tflush: oldtag[2].
type tflush struct{ oldtag Tag }

func (*tflush) typ() MsgType        { return MsgTflush }
func (m *tflush) encode(e *encoder) { e.u16(uint16(m.oldtag)) }
func (m *tflush) decode(d *decoder) { m.oldtag = Tag(d.u16()) }

// Rflush: empty.
type rflush struct{}

func (*rflush) typ() MsgType    { return MsgRflush }
func (*rflush) encode(*encoder) {}
func (*rflush) decode(*decoder) {}

// Twalk: fid[4] newfid[4] nwname[2] nwname*(wname[s]).
type twalk struct {
	fid    FID
	newfid FID
	names  []string
}

func (*twalk) typ() MsgType { return MsgTwalk }
func (m *twalk) encode(e *encoder) {
	e.u32(uint32(m.fid))
	e.u32(uint32(m.newfid))
	e.names(m.names)
}
func (m *twalk) decode(d *decoder) {
	m.fid = FID(d.u32())
	m.newfid = FID(d.u32())
	m.names = d.names()
}

// Rwalk: nwqid[2] nwqid*(qid[13]).
type rwalk struct{ qids []QID }

func (*rwalk) typ() MsgType { return MsgRwalk }
func (m *rwalk) encode(e *encoder) {
	e.u16(uint16(len(m.qids)))
	for _, q := range m.qids {
		e.qid(q)
	}
}
func (m *rwalk) decode(d *decoder) {
	n := int(d.u16())
	if d.err != nil {
		return
	}
	if n > MaxWalkNames {
		d.err = errTooMany
		return
	}
	if n*qidLen > len(d.buf) {
		d.err = errShort
		return
	}
	m.qids = make([]QID, n)
	for i := range m.qids {
		m.qids[i] = d.qid()
	}
}

// Tread: fid[4] offset[8] count[4].
type tread struct {
	fid    FID
	offset uint64
	count  uint32
}

func (*tread) typ() MsgType { return MsgTread }
func (m *tread) encode(e *encoder) {
	e.u32(uint32(m.fid))
	e.u64(m.offset)
	e.u32(m.count)
}
func (m *tread) decode(d *decoder) {
	m.fid = FID(d.u32())
	m.offset = d.u64()
	m.count = d.u32()
}

// Rread: count[4] data[count]. Encoding sends data as a payload; decoding
// copies into the preset data buffer (the caller's), failing if the server
// sent more than was asked for.
type rread struct{ data []byte }

func (*rread) typ() MsgType        { return MsgRread }
func (m *rread) encode(e *encoder) { e.u32(uint32(len(m.data))) }
func (m *rread) payload() []byte   { return m.data }
func (m *rread) decode(d *decoder) {
	n := int(d.u32())
	b := d.take(n)
	if d.err != nil {
		return
	}
	if n > len(m.data) {
		d.err = errTooMany
		return
	}
	m.data = m.data[:copy(m.data, b)]
}

// Twrite: fid[4] offset[8] count[4] data[count]. Decoding aliases the
// message buffer.
type twrite struct {
	fid    FID
	offset uint64
	data   []byte
}

func (*twrite) typ() MsgType { return MsgTwrite }
func (m *twrite) encode(e *encoder) {
	e.u32(uint32(m.fid))
	e.u64(m.offset)
	e.u32(uint32(len(m.data)))
}
func (m *twrite) payload() []byte { return m.data }
func (m *twrite) decode(d *decoder) {
	m.fid = FID(d.u32())
	m.offset = d.u64()
	n := int(d.u32())
	m.data = d.take(n)
}

// Rwrite: count[4].
type rwrite struct{ count uint32 }

func (*rwrite) typ() MsgType        { return MsgRwrite }
func (m *rwrite) encode(e *encoder) { e.u32(m.count) }
func (m *rwrite) decode(d *decoder) { m.count = d.u32() }

// fidMsg is the body of every message that is just fid[4].
type fidMsg struct {
	t   MsgType
	fid FID
}

func (m *fidMsg) typ() MsgType      { return m.t }
func (m *fidMsg) encode(e *encoder) { e.u32(uint32(m.fid)) }
func (m *fidMsg) decode(d *decoder) { m.fid = FID(d.u32()) }

// emptyMsg is the body of every reply with no fields.
type emptyMsg struct{ t MsgType }

func (m *emptyMsg) typ() MsgType  { return m.t }
func (*emptyMsg) encode(*encoder) {}
func (*emptyMsg) decode(*decoder) {}

// qidMsg is the body of every reply that is just qid[13].
type qidMsg struct {
	t   MsgType
	qid QID
}

func (m *qidMsg) typ() MsgType      { return m.t }
func (m *qidMsg) encode(e *encoder) { e.qid(m.qid) }
func (m *qidMsg) decode(d *decoder) { m.qid = d.qid() }

// Rstatfs: type[4] bsize[4] blocks[8] bfree[8] bavail[8] files[8] ffree[8]
// fsid[8] namelen[4].
type rstatfs struct{ st FSStat }

func (*rstatfs) typ() MsgType { return MsgRstatfs }
func (m *rstatfs) encode(e *encoder) {
	e.u32(m.st.Type)
	e.u32(m.st.BlockSize)
	e.u64(m.st.Blocks)
	e.u64(m.st.BlocksFree)
	e.u64(m.st.BlocksAvailable)
	e.u64(m.st.Files)
	e.u64(m.st.FilesFree)
	e.u64(m.st.FSID)
	e.u32(m.st.NameLength)
}
func (m *rstatfs) decode(d *decoder) {
	m.st.Type = d.u32()
	m.st.BlockSize = d.u32()
	m.st.Blocks = d.u64()
	m.st.BlocksFree = d.u64()
	m.st.BlocksAvailable = d.u64()
	m.st.Files = d.u64()
	m.st.FilesFree = d.u64()
	m.st.FSID = d.u64()
	m.st.NameLength = d.u32()
}

// Tlopen: fid[4] flags[4].
type tlopen struct {
	fid   FID
	flags OpenFlags
}

func (*tlopen) typ() MsgType { return MsgTlopen }
func (m *tlopen) encode(e *encoder) {
	e.u32(uint32(m.fid))
	e.u32(uint32(m.flags))
}
func (m *tlopen) decode(d *decoder) {
	m.fid = FID(d.u32())
	m.flags = OpenFlags(d.u32())
}

// Rlopen and Rlcreate: qid[13] iounit[4]. These are the only replies that
// may carry a donated fd.
type ropen struct {
	t      MsgType
	qid    QID
	iounit uint32
}

func (m *ropen) typ() MsgType { return m.t }
func (m *ropen) encode(e *encoder) {
	e.qid(m.qid)
	e.u32(m.iounit)
}
func (m *ropen) decode(d *decoder) {
	m.qid = d.qid()
	m.iounit = d.u32()
}

// Tlcreate: fid[4] name[s] flags[4] mode[4] gid[4].
type tlcreate struct {
	fid   FID
	name  string
	flags OpenFlags
	mode  FileMode
	gid   GID
}

func (*tlcreate) typ() MsgType { return MsgTlcreate }
func (m *tlcreate) encode(e *encoder) {
	e.u32(uint32(m.fid))
	e.str(m.name)
	e.u32(uint32(m.flags))
	e.u32(uint32(m.mode))
	e.u32(uint32(m.gid))
}
func (m *tlcreate) decode(d *decoder) {
	m.fid = FID(d.u32())
	m.name = d.str()
	m.flags = OpenFlags(d.u32())
	m.mode = FileMode(d.u32())
	m.gid = GID(d.u32())
}

// Tsymlink: fid[4] name[s] symtgt[s] gid[4].
type tsymlink struct {
	fid    FID
	name   string
	target string
	gid    GID
}

func (*tsymlink) typ() MsgType { return MsgTsymlink }
func (m *tsymlink) encode(e *encoder) {
	e.u32(uint32(m.fid))
	e.str(m.name)
	e.str(m.target)
	e.u32(uint32(m.gid))
}
func (m *tsymlink) decode(d *decoder) {
	m.fid = FID(d.u32())
	m.name = d.str()
	m.target = d.str()
	m.gid = GID(d.u32())
}

// Tmknod: dfid[4] name[s] mode[4] major[4] minor[4] gid[4].
type tmknod struct {
	dfid  FID
	name  string
	mode  FileMode
	major uint32
	minor uint32
	gid   GID
}

func (*tmknod) typ() MsgType { return MsgTmknod }
func (m *tmknod) encode(e *encoder) {
	e.u32(uint32(m.dfid))
	e.str(m.name)
	e.u32(uint32(m.mode))
	e.u32(m.major)
	e.u32(m.minor)
	e.u32(uint32(m.gid))
}
func (m *tmknod) decode(d *decoder) {
	m.dfid = FID(d.u32())
	m.name = d.str()
	m.mode = FileMode(d.u32())
	m.major = d.u32()
	m.minor = d.u32()
	m.gid = GID(d.u32())
}

// Trename: fid[4] dfid[4] name[s].
type trename struct {
	fid  FID
	dfid FID
	name string
}

func (*trename) typ() MsgType { return MsgTrename }
func (m *trename) encode(e *encoder) {
	e.u32(uint32(m.fid))
	e.u32(uint32(m.dfid))
	e.str(m.name)
}
func (m *trename) decode(d *decoder) {
	m.fid = FID(d.u32())
	m.dfid = FID(d.u32())
	m.name = d.str()
}

// Rreadlink: target[s].
type rreadlink struct{ target string }

func (*rreadlink) typ() MsgType        { return MsgRreadlink }
func (m *rreadlink) encode(e *encoder) { e.str(m.target) }
func (m *rreadlink) decode(d *decoder) { m.target = d.str() }

// Tgetattr: fid[4] request_mask[8].
type tgetattr struct {
	fid  FID
	mask AttrMask
}

func (*tgetattr) typ() MsgType { return MsgTgetattr }
func (m *tgetattr) encode(e *encoder) {
	e.u32(uint32(m.fid))
	e.u64(uint64(m.mask))
}
func (m *tgetattr) decode(d *decoder) {
	m.fid = FID(d.u32())
	m.mask = AttrMask(d.u64())
}

// Rgetattr: valid[8] qid[13] mode[4] uid[4] gid[4] nlink[8] rdev[8] size[8]
// blksize[8] blocks[8] atime_sec[8] atime_nsec[8] mtime_sec[8] mtime_nsec[8]
// ctime_sec[8] ctime_nsec[8] btime_sec[8] btime_nsec[8] gen[8]
// data_version[8].
type rgetattr struct{ a QIDAttr }

func (*rgetattr) typ() MsgType        { return MsgRgetattr }
func (m *rgetattr) encode(e *encoder) { e.qidAttr(&m.a) }
func (m *rgetattr) decode(d *decoder) { d.qidAttr(&m.a) }

// Tsetattr: fid[4] valid[4] mode[4] uid[4] gid[4] size[8] atime_sec[8]
// atime_nsec[8] mtime_sec[8] mtime_nsec[8].
type tsetattr struct {
	fid   FID
	valid SetAttrMask
	attr  SetAttr
}

func (*tsetattr) typ() MsgType { return MsgTsetattr }
func (m *tsetattr) encode(e *encoder) {
	e.u32(uint32(m.fid))
	e.u32(uint32(m.valid))
	e.u32(uint32(m.attr.Mode))
	e.u32(uint32(m.attr.UID))
	e.u32(uint32(m.attr.GID))
	e.u64(m.attr.Size)
	e.u64(m.attr.ATimeSeconds)
	e.u64(m.attr.ATimeNanoSeconds)
	e.u64(m.attr.MTimeSeconds)
	e.u64(m.attr.MTimeNanoSeconds)
}
func (m *tsetattr) decode(d *decoder) {
	m.fid = FID(d.u32())
	m.valid = SetAttrMask(d.u32())
	m.attr.Mode = FileMode(d.u32())
	m.attr.UID = UID(d.u32())
	m.attr.GID = GID(d.u32())
	m.attr.Size = d.u64()
	m.attr.ATimeSeconds = d.u64()
	m.attr.ATimeNanoSeconds = d.u64()
	m.attr.MTimeSeconds = d.u64()
	m.attr.MTimeNanoSeconds = d.u64()
}

// Txattrwalk: fid[4] newfid[4] name[s].
type txattrwalk struct {
	fid    FID
	newfid FID
	name   string
}

func (*txattrwalk) typ() MsgType { return MsgTxattrwalk }
func (m *txattrwalk) encode(e *encoder) {
	e.u32(uint32(m.fid))
	e.u32(uint32(m.newfid))
	e.str(m.name)
}
func (m *txattrwalk) decode(d *decoder) {
	m.fid = FID(d.u32())
	m.newfid = FID(d.u32())
	m.name = d.str()
}

// Rxattrwalk: size[8].
type rxattrwalk struct{ size uint64 }

func (*rxattrwalk) typ() MsgType        { return MsgRxattrwalk }
func (m *rxattrwalk) encode(e *encoder) { e.u64(m.size) }
func (m *rxattrwalk) decode(d *decoder) { m.size = d.u64() }

// Txattrcreate: fid[4] name[s] attr_size[8] flags[4].
type txattrcreate struct {
	fid   FID
	name  string
	size  uint64
	flags uint32
}

func (*txattrcreate) typ() MsgType { return MsgTxattrcreate }
func (m *txattrcreate) encode(e *encoder) {
	e.u32(uint32(m.fid))
	e.str(m.name)
	e.u64(m.size)
	e.u32(m.flags)
}
func (m *txattrcreate) decode(d *decoder) {
	m.fid = FID(d.u32())
	m.name = d.str()
	m.size = d.u64()
	m.flags = d.u32()
}

// Treaddir: fid[4] offset[8] count[4].
type treaddir struct {
	fid    FID
	offset uint64
	count  uint32
}

func (*treaddir) typ() MsgType { return MsgTreaddir }
func (m *treaddir) encode(e *encoder) {
	e.u32(uint32(m.fid))
	e.u64(m.offset)
	e.u32(m.count)
}
func (m *treaddir) decode(d *decoder) {
	m.fid = FID(d.u32())
	m.offset = d.u64()
	m.count = d.u32()
}

// Rreaddir: count[4] data[count], data being a run of
// qid[13] offset[8] type[1] name[s]. Encoding writes all entries; the
// server trims the list to fit beforehand.
type rreaddir struct{ entries []Dirent }

func (*rreaddir) typ() MsgType { return MsgRreaddir }
func (m *rreaddir) encode(e *encoder) {
	at := len(e.buf)
	e.u32(0)
	for i := range m.entries {
		e.dirent(&m.entries[i])
	}
	putCount(e.buf[at:], len(e.buf)-at-4)
}
func (m *rreaddir) decode(d *decoder) {
	n := int(d.u32())
	data := d.take(n)
	if d.err != nil {
		return
	}
	sub := decoder{buf: data}
	for len(sub.buf) > 0 && sub.err == nil {
		var de Dirent
		sub.dirent(&de)
		if sub.err == nil {
			m.entries = append(m.entries, de)
		}
	}
	if sub.err != nil {
		d.err = sub.err
	}
}

func putCount(b []byte, n int) {
	b[0] = byte(n)
	b[1] = byte(n >> 8)
	b[2] = byte(n >> 16)
	b[3] = byte(n >> 24)
}

// Tfsync: fid[4] datasync[4].
type tfsync struct {
	fid      FID
	datasync uint32
}

func (*tfsync) typ() MsgType { return MsgTfsync }
func (m *tfsync) encode(e *encoder) {
	e.u32(uint32(m.fid))
	e.u32(m.datasync)
}
func (m *tfsync) decode(d *decoder) {
	m.fid = FID(d.u32())
	m.datasync = d.u32()
}

// Tlock: fid[4] type[1] flags[4] start[8] length[8] proc_id[4]
// client_id[s].
type tlock struct {
	fid   FID
	flags LockFlags
	lock  Lock
}

func (*tlock) typ() MsgType { return MsgTlock }
func (m *tlock) encode(e *encoder) {
	e.u32(uint32(m.fid))
	e.u8(uint8(m.lock.Type))
	e.u32(uint32(m.flags))
	e.u64(m.lock.Start)
	e.u64(m.lock.Length)
	e.u32(m.lock.ProcID)
	e.str(m.lock.ClientID)
}
func (m *tlock) decode(d *decoder) {
	m.fid = FID(d.u32())
	m.lock.Type = LockType(d.u8())
	m.flags = LockFlags(d.u32())
	m.lock.Start = d.u64()
	m.lock.Length = d.u64()
	m.lock.ProcID = d.u32()
	m.lock.ClientID = d.str()
}

// Rlock: status[1].
type rlock struct{ status LockStatus }

func (*rlock) typ() MsgType        { return MsgRlock }
func (m *rlock) encode(e *encoder) { e.u8(uint8(m.status)) }
func (m *rlock) decode(d *decoder) { m.status = LockStatus(d.u8()) }

func (e *encoder) lock(l *Lock) {
	e.u8(uint8(l.Type))
	e.u64(l.Start)
	e.u64(l.Length)
	e.u32(l.ProcID)
	e.str(l.ClientID)
}

func (d *decoder) lock(l *Lock) {
	l.Type = LockType(d.u8())
	l.Start = d.u64()
	l.Length = d.u64()
	l.ProcID = d.u32()
	l.ClientID = d.str()
}

// Tgetlock: fid[4] type[1] start[8] length[8] proc_id[4] client_id[s].
type tgetlock struct {
	fid  FID
	lock Lock
}

func (*tgetlock) typ() MsgType { return MsgTgetlock }
func (m *tgetlock) encode(e *encoder) {
	e.u32(uint32(m.fid))
	e.lock(&m.lock)
}
func (m *tgetlock) decode(d *decoder) {
	m.fid = FID(d.u32())
	d.lock(&m.lock)
}

// Rgetlock: type[1] start[8] length[8] proc_id[4] client_id[s].
type rgetlock struct{ lock Lock }

func (*rgetlock) typ() MsgType        { return MsgRgetlock }
func (m *rgetlock) encode(e *encoder) { e.lock(&m.lock) }
func (m *rgetlock) decode(d *decoder) { d.lock(&m.lock) }

// Tlink: dfid[4] fid[4] name[s].
type tlink struct {
	dfid FID
	fid  FID
	name string
}

func (*tlink) typ() MsgType { return MsgTlink }
func (m *tlink) encode(e *encoder) {
	e.u32(uint32(m.dfid))
	e.u32(uint32(m.fid))
	e.str(m.name)
}
func (m *tlink) decode(d *decoder) {
	m.dfid = FID(d.u32())
	m.fid = FID(d.u32())
	m.name = d.str()
}

// Tmkdir: dfid[4] name[s] mode[4] gid[4].
type tmkdir struct {
	dfid FID
	name string
	mode FileMode
	gid  GID
}

func (*tmkdir) typ() MsgType { return MsgTmkdir }
func (m *tmkdir) encode(e *encoder) {
	e.u32(uint32(m.dfid))
	e.str(m.name)
	e.u32(uint32(m.mode))
	e.u32(uint32(m.gid))
}
func (m *tmkdir) decode(d *decoder) {
	m.dfid = FID(d.u32())
	m.name = d.str()
	m.mode = FileMode(d.u32())
	m.gid = GID(d.u32())
}

// Trenameat: olddirfid[4] oldname[s] newdirfid[4] newname[s].
type trenameat struct {
	olddir  FID
	oldname string
	newdir  FID
	newname string
}

func (*trenameat) typ() MsgType { return MsgTrenameat }
func (m *trenameat) encode(e *encoder) {
	e.u32(uint32(m.olddir))
	e.str(m.oldname)
	e.u32(uint32(m.newdir))
	e.str(m.newname)
}
func (m *trenameat) decode(d *decoder) {
	m.olddir = FID(d.u32())
	m.oldname = d.str()
	m.newdir = FID(d.u32())
	m.newname = d.str()
}

// Tunlinkat: dirfd[4] name[s] flags[4].
type tunlinkat struct {
	dir   FID
	name  string
	flags uint32
}

func (*tunlinkat) typ() MsgType { return MsgTunlinkat }
func (m *tunlinkat) encode(e *encoder) {
	e.u32(uint32(m.dir))
	e.str(m.name)
	e.u32(m.flags)
}
func (m *tunlinkat) decode(d *decoder) {
	m.dir = FID(d.u32())
	m.name = d.str()
	m.flags = d.u32()
}

// Twalkgetattr (extension): fid[4] newfid[4] request_mask[8] nwname[2]
// nwname*(wname[s]).
type twalkgetattr struct {
	fid    FID
	newfid FID
	mask   AttrMask
	names  []string
}

func (*twalkgetattr) typ() MsgType { return MsgTwalkgetattr }
func (m *twalkgetattr) encode(e *encoder) {
	e.u32(uint32(m.fid))
	e.u32(uint32(m.newfid))
	e.u64(uint64(m.mask))
	e.names(m.names)
}
func (m *twalkgetattr) decode(d *decoder) {
	m.fid = FID(d.u32())
	m.newfid = FID(d.u32())
	m.mask = AttrMask(d.u64())
	m.names = d.names()
}

// Rwalkgetattr (extension): nstep[2] nstep*(valid[8] qid[13] attr[132]),
// each step laid out like an Rgetattr body.
type rwalkgetattr struct{ steps []QIDAttr }

func (*rwalkgetattr) typ() MsgType { return MsgRwalkgetattr }
func (m *rwalkgetattr) encode(e *encoder) {
	e.u16(uint16(len(m.steps)))
	for i := range m.steps {
		e.qidAttr(&m.steps[i])
	}
}
func (m *rwalkgetattr) decode(d *decoder) {
	n := int(d.u16())
	if d.err != nil {
		return
	}
	if n > MaxWalkNames {
		d.err = errTooMany
		return
	}
	if n*(8+qidLen+attrLen) > len(d.buf) {
		d.err = errShort
		return
	}
	m.steps = make([]QIDAttr, n)
	for i := range m.steps {
		d.qidAttr(&m.steps[i])
	}
}

// Treaddirattr (extension): fid[4] offset[8] count[4] request_mask[8].
type treaddirattr struct {
	fid    FID
	offset uint64
	count  uint32
	mask   AttrMask
}

func (*treaddirattr) typ() MsgType { return MsgTreaddirattr }
func (m *treaddirattr) encode(e *encoder) {
	e.u32(uint32(m.fid))
	e.u64(m.offset)
	e.u32(m.count)
	e.u64(uint64(m.mask))
}
func (m *treaddirattr) decode(d *decoder) {
	m.fid = FID(d.u32())
	m.offset = d.u64()
	m.count = d.u32()
	m.mask = AttrMask(d.u64())
}

// Rreaddirattr (extension): count[4] data[count], data being a run of
// qid[13] offset[8] type[1] name[s] valid[8] attr[132].
type rreaddirattr struct{ entries []DirentAttr }

func (*rreaddirattr) typ() MsgType { return MsgRreaddirattr }
func (m *rreaddirattr) encode(e *encoder) {
	at := len(e.buf)
	e.u32(0)
	for i := range m.entries {
		e.direntAttr(&m.entries[i])
	}
	putCount(e.buf[at:], len(e.buf)-at-4)
}
func (m *rreaddirattr) decode(d *decoder) {
	n := int(d.u32())
	data := d.take(n)
	if d.err != nil {
		return
	}
	sub := decoder{buf: data}
	for len(sub.buf) > 0 && sub.err == nil {
		var de DirentAttr
		sub.direntAttr(&de)
		if sub.err == nil {
			m.entries = append(m.entries, de)
		}
	}
	if sub.err != nil {
		d.err = sub.err
	}
}

func (e *encoder) direntAttr(de *DirentAttr) {
	e.dirent(&de.Dirent)
	e.u64(uint64(de.Valid))
	e.attr(&de.Attr)
}

func (d *decoder) direntAttr(de *DirentAttr) {
	d.dirent(&de.Dirent)
	de.Valid = AttrMask(d.u64())
	d.attr(&de.Attr)
}

func direntLen(de *Dirent) int     { return direntFixedLen + len(de.Name) }
func direntAttrLen(de *Dirent) int { return direntFixedLen + len(de.Name) + 8 + attrLen }

// newRequest returns an empty T-message of type t, or nil if t is not a
// request this package serves.
func newRequest(t MsgType) message {
	switch t {
	case MsgTversion:
		return &tversion{}
	case MsgTauth:
		return &tauth{}
	case MsgTattach:
		return &tattach{}
	case MsgTflush:
		return &tflush{}
	case MsgTwalk:
		return &twalk{}
	case MsgTread:
		return &tread{}
	case MsgTwrite:
		return &twrite{}
	case MsgTclunk, MsgTremove, MsgTstatfs, MsgTreadlink:
		return &fidMsg{t: t}
	case MsgTlopen:
		return &tlopen{}
	case MsgTlcreate:
		return &tlcreate{}
	case MsgTsymlink:
		return &tsymlink{}
	case MsgTmknod:
		return &tmknod{}
	case MsgTrename:
		return &trename{}
	case MsgTgetattr:
		return &tgetattr{}
	case MsgTsetattr:
		return &tsetattr{}
	case MsgTxattrwalk:
		return &txattrwalk{}
	case MsgTxattrcreate:
		return &txattrcreate{}
	case MsgTreaddir:
		return &treaddir{}
	case MsgTfsync:
		return &tfsync{}
	case MsgTlock:
		return &tlock{}
	case MsgTgetlock:
		return &tgetlock{}
	case MsgTlink:
		return &tlink{}
	case MsgTmkdir:
		return &tmkdir{}
	case MsgTrenameat:
		return &trenameat{}
	case MsgTunlinkat:
		return &tunlinkat{}
	case MsgTwalkgetattr:
		return &twalkgetattr{}
	case MsgTreaddirattr:
		return &treaddirattr{}
	}
	return nil
}

// newReply returns an empty R-message of type t, or nil if unknown.
func newReply(t MsgType) message {
	switch t {
	case MsgRlerror:
		return &rlerror{}
	case MsgRversion:
		return &rversion{}
	case MsgRauth:
		return &rauth{}
	case MsgRattach:
		return &rattach{}
	case MsgRflush:
		return &rflush{}
	case MsgRwalk:
		return &rwalk{}
	case MsgRread:
		return &rread{}
	case MsgRwrite:
		return &rwrite{}
	case MsgRclunk, MsgRremove, MsgRrename, MsgRsetattr, MsgRxattrcreate, MsgRfsync,
		MsgRlink, MsgRrenameat, MsgRunlinkat:
		return &emptyMsg{t: t}
	case MsgRstatfs:
		return &rstatfs{}
	case MsgRlopen, MsgRlcreate:
		return &ropen{t: t}
	case MsgRsymlink, MsgRmknod, MsgRmkdir:
		return &qidMsg{t: t}
	case MsgRreadlink:
		return &rreadlink{}
	case MsgRgetattr:
		return &rgetattr{}
	case MsgRxattrwalk:
		return &rxattrwalk{}
	case MsgRreaddir:
		return &rreaddir{}
	case MsgRlock:
		return &rlock{}
	case MsgRgetlock:
		return &rgetlock{}
	case MsgRwalkgetattr:
		return &rwalkgetattr{}
	case MsgRreaddirattr:
		return &rreaddirattr{}
	}
	return nil
}

// marshal encodes tag and m into buf (reused, grown as needed) with the
// size field covering any payload. It returns the header+fields bytes and
// the payload (nil unless m is a payloader).
func marshal(buf []byte, tag Tag, m message) ([]byte, []byte) {
	e := encoder{buf: buf[:0]}
	e.u32(0)
	e.u8(uint8(m.typ()))
	e.u16(uint16(tag))
	m.encode(&e)
	var p []byte
	if pl, ok := m.(payloader); ok {
		p = pl.payload()
	}
	putCount(e.buf, len(e.buf)+len(p))
	return e.buf, p
}

// header parses size[4] type[1] tag[2] of a whole packet b and checks that
// size equals len(b).
func header(b []byte) (MsgType, Tag, error) {
	if len(b) < HeaderLen {
		return 0, 0, errShort
	}
	d := decoder{buf: b}
	size := d.u32()
	t := MsgType(d.u8())
	tag := Tag(d.u16())
	if uint64(size) != uint64(len(b)) {
		return t, tag, fmt.Errorf("p9: size field %d does not match packet length %d", size, len(b))
	}
	return t, tag, nil
}

// unmarshalBody decodes the body of packet b (after the header) into m.
func unmarshalBody(b []byte, m message) error {
	d := decoder{buf: b[HeaderLen:]}
	m.decode(&d)
	return d.finish()
}
