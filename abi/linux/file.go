package linux

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// open(2) flags (include/uapi/asm-generic/fcntl.h, amd64 values).
const (
	O_ACCMODE   = unix.O_ACCMODE
	O_RDONLY    = unix.O_RDONLY
	O_WRONLY    = unix.O_WRONLY
	O_RDWR      = unix.O_RDWR
	O_CREAT     = unix.O_CREAT
	O_EXCL      = unix.O_EXCL
	O_NOCTTY    = unix.O_NOCTTY
	O_TRUNC     = unix.O_TRUNC
	O_APPEND    = unix.O_APPEND
	O_NONBLOCK  = unix.O_NONBLOCK
	O_DSYNC     = unix.O_DSYNC
	O_ASYNC     = unix.O_ASYNC
	O_DIRECT    = unix.O_DIRECT
	O_LARGEFILE = 0x8000 // unix.O_LARGEFILE is 0 on amd64; the guest may still pass the bit.
	O_DIRECTORY = unix.O_DIRECTORY
	O_NOFOLLOW  = unix.O_NOFOLLOW
	O_NOATIME   = unix.O_NOATIME
	O_CLOEXEC   = unix.O_CLOEXEC
	O_SYNC      = unix.O_SYNC
	O_PATH      = unix.O_PATH
	O_TMPFILE   = unix.O_TMPFILE
)

// *at(2) flags.
const (
	AT_FDCWD            = unix.AT_FDCWD
	AT_SYMLINK_NOFOLLOW = unix.AT_SYMLINK_NOFOLLOW
	AT_REMOVEDIR        = unix.AT_REMOVEDIR
	AT_SYMLINK_FOLLOW   = unix.AT_SYMLINK_FOLLOW
	AT_NO_AUTOMOUNT     = unix.AT_NO_AUTOMOUNT
	AT_EMPTY_PATH       = unix.AT_EMPTY_PATH
	AT_EACCESS          = unix.AT_EACCESS
	AT_STATX_SYNC_TYPE  = 0x6000
)

// openat2(2) RESOLVE_* flags (include/uapi/linux/openat2.h).
const (
	RESOLVE_NO_XDEV       = unix.RESOLVE_NO_XDEV
	RESOLVE_NO_MAGICLINKS = unix.RESOLVE_NO_MAGICLINKS
	RESOLVE_NO_SYMLINKS   = unix.RESOLVE_NO_SYMLINKS
	RESOLVE_BENEATH       = unix.RESOLVE_BENEATH
	RESOLVE_IN_ROOT       = unix.RESOLVE_IN_ROOT
	RESOLVE_CACHED        = 0x20
)

// OpenHowSize is sizeof(struct open_how) as of Linux 5.6 (OPEN_HOW_SIZE_VER0).
const OpenHowSize = 24

// OpenHow is struct open_how, the argument of openat2(2).
type OpenHow struct {
	Flags   uint64
	Mode    uint64
	Resolve uint64
}

// Decode reads how from b (OpenHowSize bytes).
func (how *OpenHow) Decode(b []byte) {
	_ = b[OpenHowSize-1]
	how.Flags = binary.LittleEndian.Uint64(b[0:])
	how.Mode = binary.LittleEndian.Uint64(b[8:])
	how.Resolve = binary.LittleEndian.Uint64(b[16:])
}

// Encode writes how into b (OpenHowSize bytes).
func (how *OpenHow) Encode(b []byte) {
	_ = b[OpenHowSize-1]
	binary.LittleEndian.PutUint64(b[0:], how.Flags)
	binary.LittleEndian.PutUint64(b[8:], how.Mode)
	binary.LittleEndian.PutUint64(b[16:], how.Resolve)
}

// File type and mode bits (include/uapi/linux/stat.h).
const (
	S_IFMT   = unix.S_IFMT
	S_IFSOCK = unix.S_IFSOCK
	S_IFLNK  = unix.S_IFLNK
	S_IFREG  = unix.S_IFREG
	S_IFBLK  = unix.S_IFBLK
	S_IFDIR  = unix.S_IFDIR
	S_IFCHR  = unix.S_IFCHR
	S_IFIFO  = unix.S_IFIFO
	S_ISUID  = unix.S_ISUID
	S_ISGID  = unix.S_ISGID
	S_ISVTX  = unix.S_ISVTX
	S_IRWXU  = unix.S_IRWXU
	S_IRUSR  = unix.S_IRUSR
	S_IWUSR  = unix.S_IWUSR
	S_IXUSR  = unix.S_IXUSR
	S_IRWXG  = unix.S_IRWXG
	S_IRGRP  = unix.S_IRGRP
	S_IWGRP  = unix.S_IWGRP
	S_IXGRP  = unix.S_IXGRP
	S_IRWXO  = unix.S_IRWXO
	S_IROTH  = unix.S_IROTH
	S_IWOTH  = unix.S_IWOTH
	S_IXOTH  = unix.S_IXOTH
)

// Directory entry types (d_type) of linux_dirent64.
const (
	DT_UNKNOWN = unix.DT_UNKNOWN
	DT_FIFO    = unix.DT_FIFO
	DT_CHR     = unix.DT_CHR
	DT_DIR     = unix.DT_DIR
	DT_BLK     = unix.DT_BLK
	DT_REG     = unix.DT_REG
	DT_LNK     = unix.DT_LNK
	DT_SOCK    = unix.DT_SOCK
	DT_WHT     = unix.DT_WHT
)

// FileTypeToDirentType converts the S_IFMT bits of mode to a d_type.
func FileTypeToDirentType(mode uint32) uint8 { return uint8((mode & S_IFMT) >> 12) }

// statx(2) mask bits.
const (
	STATX_TYPE        = unix.STATX_TYPE
	STATX_MODE        = unix.STATX_MODE
	STATX_NLINK       = unix.STATX_NLINK
	STATX_UID         = unix.STATX_UID
	STATX_GID         = unix.STATX_GID
	STATX_ATIME       = unix.STATX_ATIME
	STATX_MTIME       = unix.STATX_MTIME
	STATX_CTIME       = unix.STATX_CTIME
	STATX_INO         = unix.STATX_INO
	STATX_SIZE        = unix.STATX_SIZE
	STATX_BLOCKS      = unix.STATX_BLOCKS
	STATX_BASIC_STATS = unix.STATX_BASIC_STATS
	STATX_BTIME       = unix.STATX_BTIME
	STATX_MNT_ID      = unix.STATX_MNT_ID
	STATX__RESERVED   = unix.STATX__RESERVED
)

// lseek(2) whence values.
const (
	SEEK_SET  = unix.SEEK_SET
	SEEK_CUR  = unix.SEEK_CUR
	SEEK_END  = unix.SEEK_END
	SEEK_DATA = unix.SEEK_DATA
	SEEK_HOLE = unix.SEEK_HOLE
)

// renameat2(2) flags.
const (
	RENAME_NOREPLACE = unix.RENAME_NOREPLACE
	RENAME_EXCHANGE  = unix.RENAME_EXCHANGE
	RENAME_WHITEOUT  = unix.RENAME_WHITEOUT
)

// fallocate(2) modes.
const (
	FALLOC_FL_KEEP_SIZE      = unix.FALLOC_FL_KEEP_SIZE
	FALLOC_FL_PUNCH_HOLE     = unix.FALLOC_FL_PUNCH_HOLE
	FALLOC_FL_ZERO_RANGE     = unix.FALLOC_FL_ZERO_RANGE
	FALLOC_FL_COLLAPSE_RANGE = unix.FALLOC_FL_COLLAPSE_RANGE
	FALLOC_FL_INSERT_RANGE   = unix.FALLOC_FL_INSERT_RANGE
)

// close_range(2) flags.
const (
	CLOSE_RANGE_UNSHARE = unix.CLOSE_RANGE_UNSHARE
	CLOSE_RANGE_CLOEXEC = unix.CLOSE_RANGE_CLOEXEC
)

// fcntl(2) commands and lock types.
const (
	F_DUPFD         = unix.F_DUPFD
	F_GETFD         = unix.F_GETFD
	F_SETFD         = unix.F_SETFD
	F_GETFL         = unix.F_GETFL
	F_SETFL         = unix.F_SETFL
	F_GETLK         = unix.F_GETLK
	F_SETLK         = unix.F_SETLK
	F_SETLKW        = unix.F_SETLKW
	F_DUPFD_CLOEXEC = unix.F_DUPFD_CLOEXEC
	F_OFD_GETLK     = unix.F_OFD_GETLK
	F_OFD_SETLK     = unix.F_OFD_SETLK
	F_OFD_SETLKW    = unix.F_OFD_SETLKW
	FD_CLOEXEC      = unix.FD_CLOEXEC
	F_RDLCK         = unix.F_RDLCK
	F_WRLCK         = unix.F_WRLCK
	F_UNLCK         = unix.F_UNLCK
)

// flock(2) operations.
const (
	LOCK_SH = unix.LOCK_SH
	LOCK_EX = unix.LOCK_EX
	LOCK_NB = unix.LOCK_NB
	LOCK_UN = unix.LOCK_UN
)

// Extended attribute flags and limits (include/uapi/linux/xattr.h, limits.h).
const (
	XATTR_CREATE   = unix.XATTR_CREATE
	XATTR_REPLACE  = unix.XATTR_REPLACE
	XATTR_NAME_MAX = 255
	XATTR_SIZE_MAX = 65536
	XATTR_LIST_MAX = 65536
)

// Path limits (include/uapi/linux/limits.h).
const (
	NAME_MAX = 255
	PATH_MAX = 4096
	// MaxSymlinkTraversals is the number of symlinks a single path
	// resolution may follow before failing with ELOOP (MAXSYMLINKS).
	MaxSymlinkTraversals = 40
)

// TMPFS_MAGIC is statfs.f_type of tmpfs.
const TMPFS_MAGIC = unix.TMPFS_MAGIC

// StatSize is sizeof(struct stat) on amd64.
const StatSize = 144

// Stat is struct stat (amd64 layout).
type Stat struct {
	Dev     uint64
	Ino     uint64
	Nlink   uint64
	Mode    uint32
	UID     uint32
	GID     uint32
	Rdev    uint64
	Size    int64
	Blksize int64
	Blocks  int64
	ATime   Timespec
	MTime   Timespec
	CTime   Timespec
}

// Encode writes s in the kernel's layout into b (StatSize bytes); padding
// is zeroed.
func (s *Stat) Encode(b []byte) {
	_ = b[StatSize-1]
	clear(b[:StatSize])
	le := binary.LittleEndian
	le.PutUint64(b[0:], s.Dev)
	le.PutUint64(b[8:], s.Ino)
	le.PutUint64(b[16:], s.Nlink)
	le.PutUint32(b[24:], s.Mode)
	le.PutUint32(b[28:], s.UID)
	le.PutUint32(b[32:], s.GID)
	le.PutUint64(b[40:], s.Rdev)
	le.PutUint64(b[48:], uint64(s.Size))
	le.PutUint64(b[56:], uint64(s.Blksize))
	le.PutUint64(b[64:], uint64(s.Blocks))
	s.ATime.Encode(b[72:])
	s.MTime.Encode(b[88:])
	s.CTime.Encode(b[104:])
}

// Decode reads s from the kernel's layout in b.
func (s *Stat) Decode(b []byte) {
	_ = b[StatSize-1]
	le := binary.LittleEndian
	s.Dev = le.Uint64(b[0:])
	s.Ino = le.Uint64(b[8:])
	s.Nlink = le.Uint64(b[16:])
	s.Mode = le.Uint32(b[24:])
	s.UID = le.Uint32(b[28:])
	s.GID = le.Uint32(b[32:])
	s.Rdev = le.Uint64(b[40:])
	s.Size = int64(le.Uint64(b[48:]))
	s.Blksize = int64(le.Uint64(b[56:]))
	s.Blocks = int64(le.Uint64(b[64:]))
	s.ATime.Decode(b[72:])
	s.MTime.Decode(b[88:])
	s.CTime.Decode(b[104:])
}

// StatxTimestamp is struct statx_timestamp.
type StatxTimestamp struct {
	Sec  int64
	Nsec uint32
}

// NsecToStatxTimestamp converts nanoseconds since the epoch.
func NsecToStatxTimestamp(ns int64) StatxTimestamp {
	ts := NsecToTimespec(ns)
	return StatxTimestamp{Sec: ts.Sec, Nsec: uint32(ts.Nsec)}
}

// ToNsec converts ts to nanoseconds since the epoch.
func (ts StatxTimestamp) ToNsec() int64 { return ts.Sec*1e9 + int64(ts.Nsec) }

// ToTimespec converts ts to a Timespec.
func (ts StatxTimestamp) ToTimespec() Timespec {
	return Timespec{Sec: ts.Sec, Nsec: int64(ts.Nsec)}
}

// StatxSize is sizeof(struct statx).
const StatxSize = 256

// Statx is struct statx. Mask says which fields are valid.
type Statx struct {
	Mask           uint32
	Blksize        uint32
	Attributes     uint64
	Nlink          uint32
	UID            uint32
	GID            uint32
	Mode           uint16
	Ino            uint64
	Size           uint64
	Blocks         uint64
	AttributesMask uint64
	Atime          StatxTimestamp
	Btime          StatxTimestamp
	Ctime          StatxTimestamp
	Mtime          StatxTimestamp
	RdevMajor      uint32
	RdevMinor      uint32
	DevMajor       uint32
	DevMinor       uint32
	MntID          uint64
}

func encodeStatxTimestamp(b []byte, ts StatxTimestamp) {
	binary.LittleEndian.PutUint64(b[0:], uint64(ts.Sec))
	binary.LittleEndian.PutUint32(b[8:], ts.Nsec)
	binary.LittleEndian.PutUint32(b[12:], 0)
}

func decodeStatxTimestamp(b []byte) StatxTimestamp {
	return StatxTimestamp{
		Sec:  int64(binary.LittleEndian.Uint64(b[0:])),
		Nsec: binary.LittleEndian.Uint32(b[8:]),
	}
}

// Encode writes s in the kernel's layout into b (StatxSize bytes); spare
// fields are zeroed.
func (s *Statx) Encode(b []byte) {
	_ = b[StatxSize-1]
	clear(b[:StatxSize])
	le := binary.LittleEndian
	le.PutUint32(b[0:], s.Mask)
	le.PutUint32(b[4:], s.Blksize)
	le.PutUint64(b[8:], s.Attributes)
	le.PutUint32(b[16:], s.Nlink)
	le.PutUint32(b[20:], s.UID)
	le.PutUint32(b[24:], s.GID)
	le.PutUint16(b[28:], s.Mode)
	le.PutUint64(b[32:], s.Ino)
	le.PutUint64(b[40:], s.Size)
	le.PutUint64(b[48:], s.Blocks)
	le.PutUint64(b[56:], s.AttributesMask)
	encodeStatxTimestamp(b[64:], s.Atime)
	encodeStatxTimestamp(b[80:], s.Btime)
	encodeStatxTimestamp(b[96:], s.Ctime)
	encodeStatxTimestamp(b[112:], s.Mtime)
	le.PutUint32(b[128:], s.RdevMajor)
	le.PutUint32(b[132:], s.RdevMinor)
	le.PutUint32(b[136:], s.DevMajor)
	le.PutUint32(b[140:], s.DevMinor)
	le.PutUint64(b[144:], s.MntID)
}

// Decode reads s from the kernel's layout in b.
func (s *Statx) Decode(b []byte) {
	_ = b[StatxSize-1]
	le := binary.LittleEndian
	s.Mask = le.Uint32(b[0:])
	s.Blksize = le.Uint32(b[4:])
	s.Attributes = le.Uint64(b[8:])
	s.Nlink = le.Uint32(b[16:])
	s.UID = le.Uint32(b[20:])
	s.GID = le.Uint32(b[24:])
	s.Mode = le.Uint16(b[28:])
	s.Ino = le.Uint64(b[32:])
	s.Size = le.Uint64(b[40:])
	s.Blocks = le.Uint64(b[48:])
	s.AttributesMask = le.Uint64(b[56:])
	s.Atime = decodeStatxTimestamp(b[64:])
	s.Btime = decodeStatxTimestamp(b[80:])
	s.Ctime = decodeStatxTimestamp(b[96:])
	s.Mtime = decodeStatxTimestamp(b[112:])
	s.RdevMajor = le.Uint32(b[128:])
	s.RdevMinor = le.Uint32(b[132:])
	s.DevMajor = le.Uint32(b[136:])
	s.DevMinor = le.Uint32(b[140:])
	s.MntID = le.Uint64(b[144:])
}

// MakeDev encodes a device number the way the kernel's new_encode_dev does
// for struct stat's st_dev/st_rdev.
func MakeDev(major, minor uint32) uint64 {
	return uint64(minor&0xff) | uint64(major&0xfff)<<8 | uint64(minor&^0xff)<<12 | uint64(major&^0xfff)<<32
}

// DecodeDev splits a device number encoded by MakeDev.
func DecodeDev(dev uint64) (major, minor uint32) {
	major = uint32((dev>>8)&0xfff) | uint32(dev>>32)&^0xfff
	minor = uint32(dev&0xff) | uint32(dev>>12)&^0xff
	return major, minor
}

// ToStat converts s to a struct stat.
func (s *Statx) ToStat() Stat {
	return Stat{
		Dev:     MakeDev(s.DevMajor, s.DevMinor),
		Ino:     s.Ino,
		Nlink:   uint64(s.Nlink),
		Mode:    uint32(s.Mode),
		UID:     s.UID,
		GID:     s.GID,
		Rdev:    MakeDev(s.RdevMajor, s.RdevMinor),
		Size:    int64(s.Size),
		Blksize: int64(s.Blksize),
		Blocks:  int64(s.Blocks),
		ATime:   s.Atime.ToTimespec(),
		MTime:   s.Mtime.ToTimespec(),
		CTime:   s.Ctime.ToTimespec(),
	}
}

// StatfsSize is sizeof(struct statfs) on amd64.
const StatfsSize = 120

// Statfs is struct statfs (amd64).
type Statfs struct {
	Type            int64
	BlockSize       int64
	Blocks          uint64
	BlocksFree      uint64
	BlocksAvailable uint64
	Files           uint64
	FilesFree       uint64
	FSID            [2]int32
	NameLength      int64
	FragmentSize    int64
	Flags           int64
}

// Encode writes s in the kernel's layout into b (StatfsSize bytes).
func (s *Statfs) Encode(b []byte) {
	_ = b[StatfsSize-1]
	clear(b[:StatfsSize])
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(s.Type))
	le.PutUint64(b[8:], uint64(s.BlockSize))
	le.PutUint64(b[16:], s.Blocks)
	le.PutUint64(b[24:], s.BlocksFree)
	le.PutUint64(b[32:], s.BlocksAvailable)
	le.PutUint64(b[40:], s.Files)
	le.PutUint64(b[48:], s.FilesFree)
	le.PutUint32(b[56:], uint32(s.FSID[0]))
	le.PutUint32(b[60:], uint32(s.FSID[1]))
	le.PutUint64(b[64:], uint64(s.NameLength))
	le.PutUint64(b[72:], uint64(s.FragmentSize))
	le.PutUint64(b[80:], uint64(s.Flags))
}

// FlockSize is sizeof(struct flock) on amd64.
const FlockSize = 32

// Flock is struct flock, the argument of F_GETLK/F_SETLK(W) and the OFD
// variants.
type Flock struct {
	Type   int16
	Whence int16
	Start  int64
	Len    int64
	PID    int32
}

// Decode reads f from the kernel's layout in b.
func (f *Flock) Decode(b []byte) {
	_ = b[FlockSize-1]
	le := binary.LittleEndian
	f.Type = int16(le.Uint16(b[0:]))
	f.Whence = int16(le.Uint16(b[2:]))
	f.Start = int64(le.Uint64(b[8:]))
	f.Len = int64(le.Uint64(b[16:]))
	f.PID = int32(le.Uint32(b[24:]))
}

// Encode writes f in the kernel's layout into b (FlockSize bytes).
func (f *Flock) Encode(b []byte) {
	_ = b[FlockSize-1]
	clear(b[:FlockSize])
	le := binary.LittleEndian
	le.PutUint16(b[0:], uint16(f.Type))
	le.PutUint16(b[2:], uint16(f.Whence))
	le.PutUint64(b[8:], uint64(f.Start))
	le.PutUint64(b[16:], uint64(f.Len))
	le.PutUint32(b[24:], uint32(f.PID))
}

// Dirent64HeaderSize is the size of linux_dirent64 before d_name.
const Dirent64HeaderSize = 19

// Dirent64Size returns the record length of a linux_dirent64 holding a
// name of nameLen bytes: header, name, NUL, padded to 8 bytes.
func Dirent64Size(nameLen int) int {
	return (Dirent64HeaderSize + nameLen + 1 + 7) &^ 7
}

// EncodeDirent64 appends one struct linux_dirent64 to b and returns the
// extended slice.
func EncodeDirent64(b []byte, ino uint64, off int64, typ uint8, name string) []byte {
	n := Dirent64Size(len(name))
	start := len(b)
	b = append(b, make([]byte, n)...)
	r := b[start:]
	le := binary.LittleEndian
	le.PutUint64(r[0:], ino)
	le.PutUint64(r[8:], uint64(off))
	le.PutUint16(r[16:], uint16(n))
	r[18] = typ
	copy(r[19:], name)
	return b
}
