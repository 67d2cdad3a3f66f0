package p9

import (
	"os"
)

// FID names a file on one connection. The client picks FIDs; the server keeps
// a table from FID to File.
type FID uint32

// NoFID is the "no fid" value (e.g. afid in Tattach when there is no auth).
const NoFID FID = 0xFFFFFFFF

// Tag identifies one request in flight; its reply carries the same tag.
type Tag uint16

// NoTag is the tag used by Tversion.
const NoTag Tag = 0xFFFF

// UID is a user id as carried by 9P2000.L.
type UID uint32

// GID is a group id as carried by 9P2000.L.
type GID uint32

// NoUID and NoGID mean "not given".
const (
	NoUID UID = 0xFFFFFFFF
	NoGID GID = 0xFFFFFFFF
)

// QIDType is the type byte of a QID.
type QIDType uint8

// QID types (9P2000 intro(5) and include/net/9p/9p.h).
const (
	QIDTypeDir     QIDType = 0x80
	QIDTypeAppend  QIDType = 0x40
	QIDTypeExcl    QIDType = 0x20
	QIDTypeMount   QIDType = 0x10
	QIDTypeAuth    QIDType = 0x08
	QIDTypeTmp     QIDType = 0x04
	QIDTypeSymlink QIDType = 0x02
	QIDTypeLink    QIDType = 0x01
	QIDTypeRegular QIDType = 0x00
)

// QID is the server's unique identity of a file: type[1] version[4] path[8]
// on the wire (13 bytes).
type QID struct {
	Type    QIDType
	Version uint32
	Path    uint64
}

// FileMode is a Linux st_mode value: file type bits (S_IFMT) and permission
// bits.
type FileMode uint32

// File type bits of FileMode (Linux values).
const (
	ModeTypeMask    FileMode = 0o170000
	ModeSocket      FileMode = 0o140000
	ModeSymlink     FileMode = 0o120000
	ModeRegular     FileMode = 0o100000
	ModeBlockDevice FileMode = 0o060000
	ModeDirectory   FileMode = 0o040000
	ModeCharDevice  FileMode = 0o020000
	ModeNamedPipe   FileMode = 0o010000
	ModePermMask    FileMode = 0o7777
)

// FileType returns the S_IFMT bits of m.
func (m FileMode) FileType() FileMode { return m & ModeTypeMask }

// QIDType returns the QID type that matches m's file type.
func (m FileMode) QIDType() QIDType {
	switch m.FileType() {
	case ModeDirectory:
		return QIDTypeDir
	case ModeSymlink:
		return QIDTypeSymlink
	default:
		return QIDTypeRegular
	}
}

// OpenFlags are the flags of Tlopen and Tlcreate. 9P2000.L uses the Linux
// x86 open(2) flag values (P9_DOTL_* in include/net/9p/9p.h).
type OpenFlags uint32

// Open flags.
const (
	ReadOnly      OpenFlags = 0
	WriteOnly     OpenFlags = 1
	ReadWrite     OpenFlags = 2
	OpenFlagsMode OpenFlags = 3 // access-mode bits
	OpenCreate    OpenFlags = 0o100
	OpenExcl      OpenFlags = 0o200
	OpenNoCTTY    OpenFlags = 0o400
	OpenTruncate  OpenFlags = 0o1000
	OpenAppend    OpenFlags = 0o2000
	OpenNonblock  OpenFlags = 0o4000
	OpenDSync     OpenFlags = 0o10000
	OpenDirect    OpenFlags = 0o40000
	OpenLargeFile OpenFlags = 0o100000
	OpenDirectory OpenFlags = 0o200000
	OpenNoFollow  OpenFlags = 0o400000
	OpenNoATime   OpenFlags = 0o1000000
	OpenCloExec   OpenFlags = 0o2000000
	OpenSync      OpenFlags = 0o4000000
)

// AttrMask selects the fields of Tgetattr/Rgetattr (P9_GETATTR_*).
type AttrMask uint64

// AttrMask bits.
const (
	AttrMode        AttrMask = 0x00000001
	AttrNLink       AttrMask = 0x00000002
	AttrUID         AttrMask = 0x00000004
	AttrGID         AttrMask = 0x00000008
	AttrRDev        AttrMask = 0x00000010
	AttrATime       AttrMask = 0x00000020
	AttrMTime       AttrMask = 0x00000040
	AttrCTime       AttrMask = 0x00000080
	AttrIno         AttrMask = 0x00000100
	AttrSize        AttrMask = 0x00000200
	AttrBlocks      AttrMask = 0x00000400
	AttrBTime       AttrMask = 0x00000800
	AttrGen         AttrMask = 0x00001000
	AttrDataVersion AttrMask = 0x00002000
	// AttrBasic is everything stat(2) returns.
	AttrBasic AttrMask = 0x000007ff
	// AttrAll is every defined bit.
	AttrAll AttrMask = 0x00003fff
)

// Attr is the body of Rgetattr after valid and qid. Fields not in the
// accompanying valid mask are meaningless.
type Attr struct {
	Mode             FileMode
	UID              UID
	GID              GID
	NLink            uint64
	RDev             uint64
	Size             uint64
	BlockSize        uint64
	Blocks           uint64
	ATimeSeconds     uint64
	ATimeNanoSeconds uint64
	MTimeSeconds     uint64
	MTimeNanoSeconds uint64
	CTimeSeconds     uint64
	CTimeNanoSeconds uint64
	BTimeSeconds     uint64
	BTimeNanoSeconds uint64
	Gen              uint64
	DataVersion      uint64
}

// QIDAttr is one file's QID with its attributes: what Rgetattr carries, and
// one step of Rwalkgetattr.
type QIDAttr struct {
	QID   QID
	Valid AttrMask
	Attr  Attr
}

// SetAttrMask selects the fields of Tsetattr (P9_ATTR_*).
type SetAttrMask uint32

// SetAttrMask bits.
const (
	SetAttrMode  SetAttrMask = 0x00000001
	SetAttrUID   SetAttrMask = 0x00000002
	SetAttrGID   SetAttrMask = 0x00000004
	SetAttrSize  SetAttrMask = 0x00000008
	SetAttrATime SetAttrMask = 0x00000010
	SetAttrMTime SetAttrMask = 0x00000020
	SetAttrCTime SetAttrMask = 0x00000040
	// SetAttrATimeSet means "use ATime fields"; without it with SetAttrATime
	// the time is "now".
	SetAttrATimeSet SetAttrMask = 0x00000080
	// SetAttrMTimeSet is SetAttrATimeSet for MTime.
	SetAttrMTimeSet SetAttrMask = 0x00000100
)

// SetAttr is the body of Tsetattr after fid and valid.
type SetAttr struct {
	Mode             FileMode
	UID              UID
	GID              GID
	Size             uint64
	ATimeSeconds     uint64
	ATimeNanoSeconds uint64
	MTimeSeconds     uint64
	MTimeNanoSeconds uint64
}

// Dirent is one entry of Rreaddir: qid[13] offset[8] type[1] name[s].
// Offset is the cookie to pass to the next Treaddir to continue after this
// entry. Type is a Linux d_type (DT_*).
type Dirent struct {
	QID    QID
	Offset uint64
	Type   uint8
	Name   string
}

// DirentAttr is one entry of Rreaddirattr: a Dirent with attributes. Valid
// may be 0 when the server could not (or need not, e.g. for "." and "..")
// get the attributes.
type DirentAttr struct {
	Dirent Dirent
	Valid  AttrMask
	Attr   Attr
}

// FSStat is the body of Rstatfs.
type FSStat struct {
	Type            uint32
	BlockSize       uint32
	Blocks          uint64
	BlocksFree      uint64
	BlocksAvailable uint64
	Files           uint64
	FilesFree       uint64
	FSID            uint64
	NameLength      uint32
}

// LockType is the type byte of Tlock/Tgetlock (P9_LOCK_TYPE_*).
type LockType uint8

// Lock types.
const (
	LockTypeRead   LockType = 0
	LockTypeWrite  LockType = 1
	LockTypeUnlock LockType = 2
)

// LockFlags are the flags of Tlock (P9_LOCK_FLAGS_*).
type LockFlags uint32

// Lock flags.
const (
	LockFlagsBlock   LockFlags = 1
	LockFlagsReclaim LockFlags = 2
)

// LockStatus is the status byte of Rlock (P9_LOCK_*).
type LockStatus uint8

// Lock statuses.
const (
	LockStatusSuccess LockStatus = 0
	LockStatusBlocked LockStatus = 1
	LockStatusError   LockStatus = 2
	LockStatusGrace   LockStatus = 3
)

// Lock describes a POSIX byte-range lock as carried by Tlock, Tgetlock and
// Rgetlock. Length 0 means "to end of file".
type Lock struct {
	Type     LockType
	Start    uint64
	Length   uint64
	ProcID   uint32
	ClientID string
}

// UnlinkAt flags (Tunlinkat): AT_REMOVEDIR.
const UnlinkRemoveDir uint32 = 0x200

// Xattr flags of Txattrcreate (setxattr(2) flags).
const (
	XattrCreate  uint32 = 1
	XattrReplace uint32 = 2
)

// Attacher creates the root File of a connection for Tattach.
type Attacher interface {
	// Attach returns the File that the attach name aname denotes for
	// user uid. The returned File belongs to the server, which closes it
	// when the fid is clunked. The server calls its GetAttr(AttrMode)
	// once to learn the root QID for Rattach.
	Attach(aname string, uid UID) (File, error)
}

// File is the server-side view of one fid. The server framework owns the fid
// table, validates every name before passing it to a File method (no '/',
// no NUL, not "", "." or "..", at most MaxNameLen bytes), checks fid state
// (opened or not, directory or not) and encodes replies; a File does the real
// work.
//
// Errors: a method's error is sent as Rlerror with the Linux errno found by
// errors.As(err, *unix.Errno) (so *os.PathError and wrapped errors work);
// any other error becomes EIO.
//
// Concurrency: methods of one File can be called concurrently (requests on a
// connection are served in parallel), except that Close is called exactly
// once, after every other call on that File has returned.
type File interface {
	// Walk implements Twalk for 1..MaxWalkNames names. It returns the QID
	// of each name walked in order. If every name was walked it also
	// returns the File of the last one (non-nil). If it stops early it
	// returns the QIDs walked so far, a nil File and (if no name at all
	// could be walked) the error. Walk with zero names (a clone) is never
	// called: the framework calls Clone instead.
	Walk(names []string) ([]QID, File, error)

	// Clone returns a new File for the same file (Twalk with no names).
	Clone() (File, error)

	// GetAttr implements Tgetattr: the QID, which fields are valid (may
	// be more or fewer than asked for), and the attributes.
	GetAttr(mask AttrMask) (QID, AttrMask, Attr, error)

	// SetAttr implements Tsetattr.
	SetAttr(valid SetAttrMask, attr SetAttr) error

	// Open implements Tlopen. It returns the QID, the iounit (0 if none)
	// and optionally a host file to donate to the client: the framework
	// sends it with the reply (SCM_RIGHTS) and then closes it, so Open
	// must return a descriptor the framework may own (e.g. a dup, or a
	// fresh open). Return nil to not donate. After a successful Open the
	// framework calls ReadAt/WriteAt/Readdir on this File.
	Open(flags OpenFlags) (QID, uint32, *os.File, error)

	// Create implements Tlcreate: create and open name in this directory.
	// It returns the new opened File, which replaces this one on the
	// fid (the framework then closes this File), plus the same results
	// as Open.
	Create(name string, flags OpenFlags, mode FileMode, uid UID, gid GID) (File, QID, uint32, *os.File, error)

	// ReadAt implements Tread on an opened File. It returns the number of
	// bytes read; (0, nil) is end of file.
	ReadAt(p []byte, offset uint64) (int, error)

	// WriteAt implements Twrite on an opened File.
	WriteAt(p []byte, offset uint64) (int, error)

	// Readdir implements Treaddir on an opened directory. It returns
	// entries starting at the cookie offset (0 = start). count is the
	// number of bytes the reply can hold; the framework encodes as many
	// returned entries as fit and drops the rest (the client asks again
	// from the last sent entry's Offset), so a File should return about
	// count/32 entries at most. An empty result means end of directory.
	Readdir(offset uint64, count uint32) ([]Dirent, error)

	// Mkdir implements Tmkdir in this directory.
	Mkdir(name string, mode FileMode, uid UID, gid GID) (QID, error)

	// Symlink implements Tsymlink: create symlink name → target in this
	// directory.
	Symlink(target, name string, uid UID, gid GID) (QID, error)

	// Mknod implements Tmknod in this directory.
	Mknod(name string, mode FileMode, major, minor uint32, uid UID, gid GID) (QID, error)

	// Link implements Tlink: create name in this directory as a hard link
	// to target (a File of the same server).
	Link(target File, name string) error

	// Rename implements Trename: move this file to newDir/newName.
	Rename(newDir File, newName string) error

	// RenameAt implements Trenameat: move oldName in this directory to
	// newDir/newName.
	RenameAt(oldName string, newDir File, newName string) error

	// UnlinkAt implements Tunlinkat in this directory; flags may hold
	// UnlinkRemoveDir.
	UnlinkAt(name string, flags uint32) error

	// Readlink implements Treadlink.
	Readlink() (string, error)

	// StatFS implements Tstatfs.
	StatFS() (FSStat, error)

	// FSync implements Tfsync on an opened File.
	FSync(datasync bool) error

	// Lock implements Tlock on an opened File.
	Lock(lock Lock, flags LockFlags) (LockStatus, error)

	// GetLock implements Tgetlock: returns the first lock that would
	// conflict with lock, or lock with Type LockTypeUnlock if none.
	GetLock(lock Lock) (Lock, error)

	// GetXattr returns the value of extended attribute name (Txattrwalk
	// with a name). size is the most bytes the caller can use; returning
	// a longer value makes the framework fail with ERANGE.
	GetXattr(name string, size uint64) ([]byte, error)

	// ListXattr returns the names of the extended attributes (Txattrwalk
	// with an empty name).
	ListXattr(size uint64) ([]string, error)

	// SetXattr sets extended attribute name (Txattrcreate, then Twrite,
	// then Tclunk: called at the clunk). flags are XattrCreate/
	// XattrReplace.
	SetXattr(name string, value []byte, flags uint32) error

	// RemoveXattr removes extended attribute name (Txattrcreate with
	// size 0, then Tclunk).
	RemoveXattr(name string) error

	// Close releases the File. Called once, when the last fid reference
	// goes away (Tclunk, Tremove, connection close, or fid replacement).
	Close() error
}

// Remover is an optional interface of a File for Tremove (remove the file
// the fid names, then clunk it). Without it Tremove fails with ENOSYS (and
// still clunks the fid, as the protocol requires).
type Remover interface {
	Remove() error
}

// WalkGetAttrer is an optional interface of a File that serves the
// Twalkgetattr extension in one step. Without it the framework walks one
// name at a time and calls GetAttr on each step's File.
type WalkGetAttrer interface {
	// WalkGetAttr walks names (1..MaxWalkNames) like Walk and returns,
	// for every name walked, its QID and attributes (mask is a hint).
	// The File result follows the Walk rules.
	WalkGetAttr(names []string, mask AttrMask) ([]QIDAttr, File, error)
}

// ReaddirAttrer is an optional interface of a File that serves the
// Treaddirattr extension directly. Without it the framework calls Readdir
// and then, per entry other than "." and "..", Walk([name]), GetAttr and
// Close on the opened directory's File (an entry whose walk fails is sent
// with Valid 0).
type ReaddirAttrer interface {
	// ReaddirAttr is Readdir with attributes (mask is a hint); count is
	// as for Readdir.
	ReaddirAttr(offset uint64, count uint32, mask AttrMask) ([]DirentAttr, error)
}
