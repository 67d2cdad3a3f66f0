package p9

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

var sampleAttr = Attr{Mode: ModeRegular | 0o644, UID: 1, GID: 2, NLink: 3, RDev: 4, Size: 5, BlockSize: 6,
	Blocks: 7, ATimeSeconds: 8, ATimeNanoSeconds: 9, MTimeSeconds: 10, MTimeNanoSeconds: 11, CTimeSeconds: 12,
	CTimeNanoSeconds: 13, BTimeSeconds: 14, BTimeNanoSeconds: 15, Gen: 16, DataVersion: 17}

var sampleQID = QID{Type: QIDTypeDir, Version: 0x01020304, Path: 0x1122334455667788}

// sampleMessages has one populated value of every message type.
func sampleMessages() []message {
	lk := Lock{Type: LockTypeWrite, Start: 10, Length: 20, ProcID: 30, ClientID: "host"}
	return []message{
		&tversion{msize: 8192, version: VersionPalisade},
		&rversion{msize: 4096, version: Version9P2000L},
		&tauth{afid: 1, uname: "u", aname: "a", nuname: 5},
		&rauth{qid: sampleQID},
		&tattach{fid: 1, afid: NoFID, uname: "root", aname: "/", nuname: 0},
		&rattach{qid: sampleQID},
		&rlerror{errno: 2},
		&tflush{oldtag: 7},
		&rflush{},
		&twalk{fid: 1, newfid: 2, names: []string{"a", "bb", "ccc"}},
		&rwalk{qids: []QID{sampleQID, {Type: QIDTypeSymlink, Path: 9}}},
		&tread{fid: 3, offset: 1 << 40, count: 4096},
		&twrite{fid: 3, offset: 99, data: []byte("hello")},
		&rwrite{count: 5},
		&fidMsg{t: MsgTclunk, fid: 3},
		&fidMsg{t: MsgTremove, fid: 3},
		&fidMsg{t: MsgTstatfs, fid: 3},
		&fidMsg{t: MsgTreadlink, fid: 3},
		&emptyMsg{t: MsgRclunk},
		&emptyMsg{t: MsgRremove},
		&emptyMsg{t: MsgRrename},
		&emptyMsg{t: MsgRsetattr},
		&emptyMsg{t: MsgRxattrcreate},
		&emptyMsg{t: MsgRfsync},
		&emptyMsg{t: MsgRlink},
		&emptyMsg{t: MsgRrenameat},
		&emptyMsg{t: MsgRunlinkat},
		&rstatfs{st: FSStat{Type: 1, BlockSize: 2, Blocks: 3, BlocksFree: 4, BlocksAvailable: 5, Files: 6, FilesFree: 7, FSID: 8, NameLength: 9}},
		&tlopen{fid: 4, flags: ReadWrite | OpenTruncate},
		&ropen{t: MsgRlopen, qid: sampleQID, iounit: 8192},
		&ropen{t: MsgRlcreate, qid: sampleQID, iounit: 0},
		&tlcreate{fid: 4, name: "new", flags: WriteOnly, mode: 0o600, gid: 3},
		&tsymlink{fid: 4, name: "ln", target: "/a/b", gid: 3},
		&qidMsg{t: MsgRsymlink, qid: sampleQID},
		&tmknod{dfid: 4, name: "dev", mode: ModeCharDevice | 0o600, major: 1, minor: 3, gid: 0},
		&qidMsg{t: MsgRmknod, qid: sampleQID},
		&trename{fid: 4, dfid: 5, name: "x"},
		&rreadlink{target: "../t"},
		&tgetattr{fid: 4, mask: AttrAll},
		&rgetattr{a: QIDAttr{QID: sampleQID, Valid: AttrBasic, Attr: sampleAttr}},
		&tsetattr{fid: 4, valid: SetAttrMode | SetAttrSize, attr: SetAttr{Mode: 0o600, UID: 1, GID: 2, Size: 3, ATimeSeconds: 4, ATimeNanoSeconds: 5, MTimeSeconds: 6, MTimeNanoSeconds: 7}},
		&txattrwalk{fid: 4, newfid: 5, name: "user.x"},
		&rxattrwalk{size: 77},
		&txattrcreate{fid: 4, name: "user.y", size: 3, flags: XattrCreate},
		&treaddir{fid: 4, offset: 2, count: 1000},
		&rreaddir{entries: []Dirent{{QID: sampleQID, Offset: 1, Type: 4, Name: "a"}, {QID: sampleQID, Offset: 2, Type: 8, Name: "bcd"}}},
		&tfsync{fid: 4, datasync: 1},
		&tlock{fid: 4, flags: LockFlagsBlock, lock: lk},
		&rlock{status: LockStatusBlocked},
		&tgetlock{fid: 4, lock: lk},
		&rgetlock{lock: lk},
		&tlink{dfid: 4, fid: 5, name: "hard"},
		&tmkdir{dfid: 4, name: "d", mode: 0o755, gid: 2},
		&qidMsg{t: MsgRmkdir, qid: sampleQID},
		&trenameat{olddir: 4, oldname: "a", newdir: 5, newname: "b"},
		&tunlinkat{dir: 4, name: "a", flags: UnlinkRemoveDir},
		&twalkgetattr{fid: 1, newfid: 2, mask: AttrBasic, names: []string{"x", "y"}},
		&rwalkgetattr{steps: []QIDAttr{{QID: sampleQID, Valid: AttrBasic, Attr: sampleAttr}, {QID: QID{Path: 3}}}},
		&treaddirattr{fid: 4, offset: 9, count: 100000, mask: AttrAll},
		&rreaddirattr{entries: []DirentAttr{{Dirent: Dirent{QID: sampleQID, Offset: 1, Type: 4, Name: "z"}, Valid: AttrMode, Attr: sampleAttr}}},
	}
}

// packet marshals m as one packet.
func packet(tag Tag, m message) []byte {
	hdr, payload := marshal(nil, tag, m)
	return append(append([]byte(nil), hdr...), payload...)
}

func emptyLike(m message) message {
	if m.typ()&1 == 0 {
		return newRequest(m.typ())
	}
	r := newReply(m.typ())
	if rr, ok := r.(*rread); ok {
		rr.data = make([]byte, MaxMsize)
	}
	return r
}

func TestRoundTripEveryMessage(t *testing.T) {
	seen := map[MsgType]bool{}
	msgs := append(sampleMessages(), &rread{data: []byte("data!")})
	for _, m := range msgs {
		seen[m.typ()] = true
		pkt := packet(42, m)
		typ, tag, err := header(pkt)
		if err != nil || typ != m.typ() || tag != 42 {
			t.Fatalf("%v: header = %v %v %v", m.typ(), typ, tag, err)
		}
		got := emptyLike(m)
		if got == nil {
			t.Fatalf("%v: no constructor", m.typ())
		}
		if err := unmarshalBody(pkt, got); err != nil {
			t.Fatalf("%v: decode: %v", m.typ(), err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("%v: round trip\n got %#v\nwant %#v", m.typ(), got, m)
		}
		// Every strict prefix of the body must fail to decode.
		for cut := HeaderLen; cut < len(pkt); cut++ {
			short := append([]byte(nil), pkt[:cut]...)
			putCount(short, len(short))
			if err := unmarshalBody(short, emptyLike(m)); err == nil {
				// Messages ending in a variable-length list may
				// legally end at an element boundary only if the
				// count says so; the count here says otherwise.
				t.Errorf("%v: truncated to %d bytes decoded without error", m.typ(), cut)
			}
		}
		// A trailing byte must be rejected.
		long := append(append([]byte(nil), pkt...), 0)
		if err := unmarshalBody(long, emptyLike(m)); !errors.Is(err, errLong) {
			t.Errorf("%v: trailing byte: err = %v", m.typ(), err)
		}
	}
	for typ := range msgNames {
		if typ == MsgTlerror {
			continue
		}
		if !seen[typ] {
			t.Errorf("no round-trip sample for %v", typ)
		}
	}
}

func TestGoldenBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		tag  Tag
		m    message
		want []byte
	}{
		{"Tversion", NoTag, &tversion{msize: 8192, version: "9P2000.L"}, []byte{
			21, 0, 0, 0, 100, 0xff, 0xff, 0x00, 0x20, 0, 0, 8, 0, '9', 'P', '2', '0', '0', '0', '.', 'L'}},
		{"Twalk", 3, &twalk{fid: 1, newfid: 2, names: []string{"a", "bc"}}, []byte{
			24, 0, 0, 0, 110, 3, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 1, 0, 'a', 2, 0, 'b', 'c'}},
		{"Rlerror", 5, &rlerror{errno: 2}, []byte{11, 0, 0, 0, 7, 5, 0, 2, 0, 0, 0}},
		{"Rwalk", 1, &rwalk{qids: []QID{{Type: QIDTypeDir, Version: 1, Path: 0x0102030405060708}}}, []byte{
			22, 0, 0, 0, 111, 1, 0, 1, 0, 0x80, 1, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1}},
		{"Tgetattr", 9, &tgetattr{fid: 7, mask: AttrAll}, []byte{
			19, 0, 0, 0, 24, 9, 0, 7, 0, 0, 0, 0xff, 0x3f, 0, 0, 0, 0, 0, 0}},
		{"Tlopen", 1, &tlopen{fid: 4, flags: ReadWrite}, []byte{15, 0, 0, 0, 12, 1, 0, 4, 0, 0, 0, 2, 0, 0, 0}},
		{"Twrite", 2, &twrite{fid: 1, offset: 0x10, data: []byte("hi")}, []byte{
			25, 0, 0, 0, 118, 2, 0, 1, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 'h', 'i'}},
		{"Tunlinkat", 4, &tunlinkat{dir: 3, name: "x", flags: 0x200}, []byte{
			18, 0, 0, 0, 76, 4, 0, 3, 0, 0, 0, 1, 0, 'x', 0, 2, 0, 0}},
	} {
		if got := packet(tc.tag, tc.m); !bytes.Equal(got, tc.want) {
			t.Errorf("%s:\n got % x\nwant % x", tc.name, got, tc.want)
		}
	}
	// Rgetattr: header 7 + valid 8 + qid 13 + 132 attribute bytes.
	if n := len(packet(1, &rgetattr{})); n != 160 {
		t.Errorf("Rgetattr length = %d, want 160", n)
	}
}

func TestDecodeLimits(t *testing.T) {
	// Twalk with 17 names.
	names := make([]string, MaxWalkNames+1)
	for i := range names {
		names[i] = "n"
	}
	pkt := packet(1, &twalk{fid: 1, newfid: 2, names: names})
	if err := unmarshalBody(pkt, &twalk{}); !errors.Is(err, errTooMany) {
		t.Errorf("17-name walk: err = %v", err)
	}
	// A string whose length points past the end.
	pkt = []byte{0, 0, 0, 0, byte(MsgTmkdir), 1, 0, 1, 0, 0, 0, 0xff, 0xff, 'a'}
	putCount(pkt, len(pkt))
	if err := unmarshalBody(pkt, &tmkdir{}); !errors.Is(err, errShort) {
		t.Errorf("long string: err = %v", err)
	}
	// Rreaddir whose count exceeds the packet.
	pkt = []byte{0, 0, 0, 0, byte(MsgRreaddir), 1, 0, 0xff, 0xff, 0xff, 0x7f}
	putCount(pkt, len(pkt))
	if err := unmarshalBody(pkt, &rreaddir{}); !errors.Is(err, errShort) {
		t.Errorf("huge readdir count: err = %v", err)
	}
	// Rwalk claiming 65535 QIDs.
	pkt = []byte{0, 0, 0, 0, byte(MsgRwalk), 1, 0, 0xff, 0xff}
	putCount(pkt, len(pkt))
	if err := unmarshalBody(pkt, &rwalk{}); !errors.Is(err, errTooMany) {
		t.Errorf("huge rwalk: err = %v", err)
	}
	// Rread with more data than the caller asked for.
	pkt = packet(1, &rread{data: []byte("abcdef")})
	if err := unmarshalBody(pkt, &rread{data: make([]byte, 3)}); !errors.Is(err, errTooMany) {
		t.Errorf("oversized rread: err = %v", err)
	}
	// Size field disagreeing with the packet.
	pkt = packet(1, &tflush{oldtag: 1})
	if _, _, err := header(pkt[:len(pkt)-1]); err == nil {
		t.Error("size mismatch accepted")
	}
	if _, _, err := header([]byte{1, 2}); err == nil {
		t.Error("short header accepted")
	}
}
