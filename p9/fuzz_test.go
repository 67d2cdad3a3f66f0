package p9

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// FuzzDecode feeds arbitrary packets to every decoder. Decoding must not
// panic, and whatever decodes must re-encode to the same bytes (so no field
// was read past its bounds or silently dropped).
//
// Longer run: go test ./p9 -run XXX -fuzz FuzzDecode -fuzztime 10m
func FuzzDecode(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(packet(1, m))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < HeaderLen || len(data) > MaxMsize {
			return
		}
		pkt := append([]byte(nil), data...)
		putCount(pkt, len(pkt))
		typ, tag, err := header(pkt)
		if err != nil {
			t.Fatalf("header of a size-fixed packet: %v", err)
		}
		for _, m := range []message{newRequest(typ), newReply(typ)} {
			if m == nil {
				continue
			}
			if rr, ok := m.(*rread); ok {
				rr.data = make([]byte, len(pkt))
			}
			if err := unmarshalBody(pkt, m); err != nil {
				continue
			}
			again := packet(tag, m)
			if !bytes.Equal(again, pkt) {
				t.Fatalf("%v: re-encoding differs\n in % x\nout % x", typ, pkt, again)
			}
		}
	})
}

// recorder is a sender that keeps every reply.
type recorder struct {
	// mu guards pkts.
	mu   sync.Mutex
	pkts [][]byte
}

func (r *recorder) sendmsg(hdr, payload []byte, fd int) error {
	b := append(append([]byte(nil), hdr...), payload...)
	r.mu.Lock()
	r.pkts = append(r.pkts, b)
	r.mu.Unlock()
	return nil
}

// fuzzPrelude is sent before the fuzzed packets: version, attach fid 0,
// clone to fid 1, a file "f" opened read-write on fid 1, a directory "d".
func fuzzPrelude() [][]byte {
	return [][]byte{
		packet(NoTag, &tversion{msize: MinMsize, version: VersionPalisade}),
		packet(1, &tattach{fid: 0, afid: NoFID}),
		packet(2, &twalk{fid: 0, newfid: 1}),
		packet(3, &tlcreate{fid: 1, name: "f", flags: ReadWrite, mode: 0o644}),
		packet(4, &twrite{fid: 1, data: []byte("file data")}),
		packet(5, &tmkdir{dfid: 0, name: "d", mode: 0o755}),
	}
}

// joinPackets frames packets for FuzzServer input: len[2] bytes each.
func joinPackets(pkts ...[]byte) []byte {
	var out []byte
	for _, p := range pkts {
		out = binary.LittleEndian.AppendUint16(out, uint16(len(p)))
		out = append(out, p...)
	}
	return out
}

func serverSeeds() [][]byte {
	return [][]byte{
		joinPackets(packet(10, &tgetattr{fid: 1, mask: AttrAll}), packet(11, &tread{fid: 1, count: 100})),
		joinPackets(packet(10, &twalkgetattr{fid: 0, newfid: 2, names: []string{"d"}}),
			packet(11, &tlopen{fid: 2, flags: ReadOnly}),
			packet(12, &treaddirattr{fid: 2, count: 4000, mask: AttrAll}),
			packet(13, &treaddir{fid: 2, count: 4000})),
		joinPackets(packet(10, &txattrwalk{fid: 0, newfid: 3, name: ""}), packet(11, &tread{fid: 3, count: 100}),
			packet(12, &twalk{fid: 0, newfid: 4}), packet(13, &txattrcreate{fid: 4, name: "user.a", size: 2}),
			packet(14, &twrite{fid: 4, data: []byte("hi")}), packet(15, &fidMsg{t: MsgTclunk, fid: 4})),
		joinPackets(packet(10, &tsymlink{fid: 0, name: "s", target: "f", gid: 0}),
			packet(11, &trenameat{olddir: 0, oldname: "s", newdir: 0, newname: "t"}),
			packet(12, &tunlinkat{dir: 0, name: "t"}), packet(13, &tflush{oldtag: 12})),
		joinPackets(packet(10, &tlock{fid: 1, lock: Lock{Type: LockTypeWrite, ProcID: 1}}),
			packet(11, &tgetlock{fid: 1, lock: Lock{Type: LockTypeRead, ProcID: 2}}),
			packet(12, &tfsync{fid: 1}), packet(13, &fidMsg{t: MsgTstatfs, fid: 0}),
			packet(14, &fidMsg{t: MsgTremove, fid: 1})),
		joinPackets([]byte{9, 0, 0, 0, 200, 1, 0, 0, 0}, packet(10, &twalk{fid: 0, newfid: 5, names: []string{"..", "a/b"}})),
		joinPackets(packet(NoTag, &tversion{msize: 1 << 30, version: Version9P2000L}), packet(10, &tgetattr{fid: 0})),
	}
}

// FuzzServer feeds arbitrary request sequences to a server over the
// in-memory File tree. Input is a run of len[2]-framed packets, served one
// at a time after fuzzPrelude. The server must not panic, every reply must
// be a well-formed R-message within msize, and every File made must be
// closed once the connection is torn down.
//
// Longer run: go test ./p9 -run XXX -fuzz FuzzServer -fuzztime 10m
func FuzzServer(f *testing.F) {
	for _, s := range serverSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fs := newMemFS()
		rec := &recorder{}
		srv := NewServer(fs, WithMaxFids(64))
		c := srv.newConn(rec, true)
		pkts := fuzzPrelude()
		for len(data) >= 2 {
			n := int(binary.LittleEndian.Uint16(data))
			data = data[2:]
			n = min(n, len(data))
			pkts = append(pkts, data[:n])
			data = data[n:]
		}
		for _, p := range pkts {
			msize := int(c.msize.Load())
			trunc := false
			if msize == 0 {
				msize = MinMsize
			}
			if len(p) > msize {
				p, trunc = p[:msize], true
			}
			if err := c.handlePacket(append([]byte(nil), p...), trunc); err != nil {
				break
			}
		}
		c.teardown()
		limit := int(c.msize.Load())
		if limit == 0 {
			limit = MaxMsize
		}
		for _, r := range rec.pkts {
			checkReply(t, r, max(limit, MinMsize))
		}
		if fs.files != fs.closes {
			t.Fatalf("%d Files made, %d closed", fs.files, fs.closes)
		}
	})
}

// checkReply verifies that r is one well-formed R-message.
func checkReply(t *testing.T, r []byte, msize int) {
	t.Helper()
	typ, _, err := header(r)
	if err != nil {
		t.Fatalf("reply header: %v", err)
	}
	if len(r) > msize && typ != MsgRversion {
		t.Fatalf("%v reply of %d bytes exceeds msize %d", typ, len(r), msize)
	}
	m := newReply(typ)
	if m == nil {
		t.Fatalf("reply has non-reply type %v", typ)
	}
	if rr, ok := m.(*rread); ok {
		rr.data = make([]byte, len(r))
	}
	if err := unmarshalBody(r, m); err != nil {
		t.Fatalf("%v reply does not decode: %v", typ, err)
	}
	if e, ok := m.(*rlerror); ok && e.errno == 0 {
		t.Fatalf("Rlerror with errno 0")
	}
}

// TestWriteFuzzSeeds regenerates testdata/fuzz from the seeds above when
// P9_WRITE_SEEDS=1 (go test then replays those files like f.Add seeds).
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("P9_WRITE_SEEDS") != "1" {
		t.Skip("set P9_WRITE_SEEDS=1 to rewrite testdata/fuzz")
	}
	write := func(name string, seeds [][]byte) {
		dir := filepath.Join("testdata", "fuzz", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range seeds {
			body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(s)) + ")\n"
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%02d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	var dec [][]byte
	for _, m := range sampleMessages() {
		dec = append(dec, packet(1, m))
	}
	write("FuzzDecode", dec)
	write("FuzzServer", serverSeeds())
}
