package linux

import (
	"bytes"
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// The encodings are checked against x/sys/unix's structs, whose explicit
// padding fields make binary.Write produce the kernel's layout.
func hostBytes(t *testing.T, v any, size int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, v); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != size {
		t.Fatalf("%T is %d bytes, want %d", v, buf.Len(), size)
	}
	return buf.Bytes()
}

func TestStatLayout(t *testing.T) {
	s := Stat{Dev: 1, Ino: 2, Nlink: 3, Mode: 4, UID: 5, GID: 6, Rdev: 7, Size: 8, Blksize: 9, Blocks: 10,
		ATime: Timespec{11, 12}, MTime: Timespec{13, 14}, CTime: Timespec{15, 16}}
	h := unix.Stat_t{Dev: 1, Ino: 2, Nlink: 3, Mode: 4, Uid: 5, Gid: 6, Rdev: 7, Size: 8, Blksize: 9, Blocks: 10,
		Atim: unix.Timespec{Sec: 11, Nsec: 12}, Mtim: unix.Timespec{Sec: 13, Nsec: 14}, Ctim: unix.Timespec{Sec: 15, Nsec: 16}}
	b := make([]byte, StatSize)
	s.Encode(b)
	if !bytes.Equal(b, hostBytes(t, &h, StatSize)) {
		t.Errorf("stat layout mismatch:\n%x\n%x", b, hostBytes(t, &h, StatSize))
	}
	var d Stat
	d.Decode(b)
	if d != s {
		t.Errorf("round trip: %+v", d)
	}
}

func TestStatxLayout(t *testing.T) {
	s := Statx{Mask: 1, Blksize: 2, Attributes: 3, Nlink: 4, UID: 5, GID: 6, Mode: 7, Ino: 8, Size: 9, Blocks: 10,
		AttributesMask: 11, Atime: StatxTimestamp{12, 13}, Btime: StatxTimestamp{14, 15}, Ctime: StatxTimestamp{16, 17},
		Mtime: StatxTimestamp{18, 19}, RdevMajor: 20, RdevMinor: 21, DevMajor: 22, DevMinor: 23, MntID: 24}
	h := unix.Statx_t{Mask: 1, Blksize: 2, Attributes: 3, Nlink: 4, Uid: 5, Gid: 6, Mode: 7, Ino: 8, Size: 9, Blocks: 10,
		Attributes_mask: 11, Atime: unix.StatxTimestamp{Sec: 12, Nsec: 13}, Btime: unix.StatxTimestamp{Sec: 14, Nsec: 15},
		Ctime: unix.StatxTimestamp{Sec: 16, Nsec: 17}, Mtime: unix.StatxTimestamp{Sec: 18, Nsec: 19},
		Rdev_major: 20, Rdev_minor: 21, Dev_major: 22, Dev_minor: 23, Mnt_id: 24}
	b := make([]byte, StatxSize)
	s.Encode(b)
	if !bytes.Equal(b, hostBytes(t, &h, StatxSize)) {
		t.Errorf("statx layout mismatch")
	}
	var d Statx
	d.Decode(b)
	if d != s {
		t.Errorf("round trip: %+v", d)
	}
	st := s.ToStat()
	if st.Dev != MakeDev(22, 23) || st.ATime != (Timespec{12, 13}) {
		t.Errorf("ToStat: %+v", st)
	}
}

func TestStatfsAndFlockLayout(t *testing.T) {
	s := Statfs{Type: 1, BlockSize: 2, Blocks: 3, BlocksFree: 4, BlocksAvailable: 5, Files: 6, FilesFree: 7,
		FSID: [2]int32{8, 9}, NameLength: 10, FragmentSize: 11, Flags: 12}
	h := unix.Statfs_t{Type: 1, Bsize: 2, Blocks: 3, Bfree: 4, Bavail: 5, Files: 6, Ffree: 7,
		Fsid: unix.Fsid{Val: [2]int32{8, 9}}, Namelen: 10, Frsize: 11, Flags: 12}
	b := make([]byte, StatfsSize)
	s.Encode(b)
	if !bytes.Equal(b, hostBytes(t, &h, StatfsSize)) {
		t.Errorf("statfs layout mismatch")
	}
	f := Flock{Type: F_WRLCK, Whence: SEEK_CUR, Start: -5, Len: 100, PID: 42}
	b = make([]byte, FlockSize)
	f.Encode(b)
	// struct flock: l_type@0 l_whence@2 l_start@8 l_len@16 l_pid@24.
	le := binary.LittleEndian
	if le.Uint16(b[0:]) != F_WRLCK || le.Uint16(b[2:]) != SEEK_CUR || int64(le.Uint64(b[8:])) != -5 ||
		le.Uint64(b[16:]) != 100 || le.Uint32(b[24:]) != 42 {
		t.Errorf("flock layout %x", b)
	}
	var d Flock
	d.Decode(b)
	if d != f {
		t.Errorf("flock round trip %+v", d)
	}
	how := OpenHow{Flags: O_CREAT, Mode: 0o644, Resolve: RESOLVE_BENEATH}
	b = make([]byte, OpenHowSize)
	how.Encode(b)
	var how2 OpenHow
	how2.Decode(b)
	if how2 != how {
		t.Errorf("open_how round trip")
	}
}

func TestDirent64AndDev(t *testing.T) {
	b := EncodeDirent64(nil, 7, 9, DT_REG, "hello")
	if len(b) != 32 || Dirent64Size(5) != 32 || Dirent64Size(4) != 24 {
		t.Fatalf("reclen %d", len(b))
	}
	if binary.LittleEndian.Uint64(b) != 7 || binary.LittleEndian.Uint64(b[8:]) != 9 ||
		binary.LittleEndian.Uint16(b[16:]) != 32 || b[18] != DT_REG || string(b[19:24]) != "hello" || b[24] != 0 {
		t.Errorf("dirent %x", b)
	}
	for _, c := range [][2]uint32{{0, 0}, {8, 1}, {259, 70000}, {4095, 255}, {1 << 20, 1 << 19}} {
		dev := MakeDev(c[0], c[1])
		if dev != unix.Mkdev(c[0], c[1]) {
			t.Errorf("MakeDev(%d,%d) = %#x, unix %#x", c[0], c[1], dev, unix.Mkdev(c[0], c[1]))
		}
		if ma, mi := DecodeDev(dev); ma != c[0] || mi != c[1] {
			t.Errorf("DecodeDev(%#x) = %d,%d", dev, ma, mi)
		}
	}
	if FileTypeToDirentType(S_IFDIR|0o755) != DT_DIR || FileTypeToDirentType(S_IFLNK) != DT_LNK {
		t.Errorf("FileTypeToDirentType")
	}
}
