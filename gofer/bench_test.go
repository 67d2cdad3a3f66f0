package gofer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sandbox/palisade/p9"
	"golang.org/x/sys/unix"
)

// Each benchmark does the same work natively (host syscalls in this
// process) and through a real, confined Gofer, interleaved in the same
// run, and reports both, their ratio and the 9P round trips per op.

// pair times native and gofer once per iteration, alternating which goes
// first so neither always finds the caches warmed by the other.
type pair struct {
	native, gofer time.Duration
	flip          bool
}

func (p *pair) run(native, gofer func()) {
	p.flip = !p.flip
	if p.flip {
		t0 := time.Now()
		native()
		t1 := time.Now()
		gofer()
		p.gofer += time.Since(t1)
		p.native += t1.Sub(t0)
		return
	}
	t0 := time.Now()
	gofer()
	t1 := time.Now()
	native()
	p.native += time.Since(t1)
	p.gofer += t1.Sub(t0)
}

func (p *pair) report(b *testing.B, rts uint64) {
	n := float64(b.N)
	b.ReportMetric(float64(p.native.Nanoseconds())/n, "native-ns/op")
	b.ReportMetric(float64(p.gofer.Nanoseconds())/n, "gofer-ns/op")
	b.ReportMetric(float64(p.gofer)/float64(p.native), "gofer/native")
	b.ReportMetric(float64(rts)/n, "roundtrips/op")
}

// BenchmarkStat10Deep: stat of a file 10 components deep. Native is one
// fstatat of the path; the Gofer does one Twalkgetattr (every step's
// attributes) plus the clunk of the new fid.
func BenchmarkStat10Deep(b *testing.B) {
	root := b.TempDir()
	names := []string{"d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "file"}
	dir := filepath.Join(append([]string{root}, names[:9]...)...)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o644)
	full := filepath.Join(root, strings.Join(names, "/"))
	g := startGofer(b, root, false)
	r := g.roots[0]
	c := g.clients[0]
	var p pair
	var st unix.Stat_t
	b.ResetTimer()
	before := c.RoundTrips()
	for range b.N {
		p.run(func() {
			if err := unix.Fstatat(unix.AT_FDCWD, full, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				b.Fatal(err)
			}
		}, func() {
			steps, f, err := r.WalkGetAttr(names, p9.AttrBasic)
			if err != nil || len(steps) != 10 || steps[9].Attr.Size != 1 {
				b.Fatalf("walkgetattr: %v", err)
			}
			f.Close()
		})
	}
	p.report(b, c.RoundTrips()-before)
}

// BenchmarkLsL10000: `ls -l` of a directory of 10,000 files. Native is
// open + getdents64 + fstatat per entry; the Gofer does walk, open,
// Treaddirattr until empty, clunk.
func BenchmarkLsL10000(b *testing.B) {
	root := b.TempDir()
	dir := filepath.Join(root, "big")
	os.Mkdir(dir, 0o755)
	for i := range 10000 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file-with-a-name-%05d", i)), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	g := startGofer(b, root, false)
	r := g.roots[0]
	c := g.clients[0]
	var p pair
	buf := make([]byte, 1<<20)
	b.ResetTimer()
	before := c.RoundTrips()
	for range b.N {
		p.run(func() {
			fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			var st unix.Stat_t
			for {
				k, err := unix.Getdents(fd, buf)
				if err != nil {
					b.Fatal(err)
				}
				if k == 0 {
					break
				}
				for _, e := range parseDirents(buf[:k]) {
					if unix.Fstatat(fd, e.Name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
						n++
					}
				}
			}
			unix.Close(fd)
			if n != 10002 {
				b.Fatalf("native: %d entries", n)
			}
		}, func() {
			_, d, err := r.Walk([]string{"big"})
			if err != nil {
				b.Fatal(err)
			}
			if _, _, _, err := d.Open(p9.ReadOnly); err != nil {
				b.Fatal(err)
			}
			n, off := 0, uint64(0)
			for {
				ents, err := d.ReaddirAttr(off, p9.MaxMsize, p9.AttrBasic)
				if err != nil {
					b.Fatal(err)
				}
				if len(ents) == 0 {
					break
				}
				n += len(ents)
				off = ents[len(ents)-1].Dirent.Offset
			}
			d.Close()
			if n != 10002 {
				b.Fatalf("gofer: %d entries", n)
			}
		})
	}
	p.report(b, c.RoundTrips()-before)
}

// BenchmarkRead1MiB: sequential 1 MiB reads of a 64 MiB cached file.
// Native reads a descriptor this process opened; the Gofer side reads the
// descriptor the Gofer donated with Rlopen (no round trip per read). The
// same reads through Tread are reported as tread-MB/s for comparison.
func BenchmarkRead1MiB(b *testing.B) {
	const fileSize, chunk = 64 << 20, 1 << 20
	root := b.TempDir()
	path := filepath.Join(root, "data")
	data := make([]byte, fileSize)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	g := startGofer(b, root, false)
	c := g.clients[0]
	_, f, err := g.roots[0].Walk([]string{"data"})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	_, _, donated, err := f.Open(p9.ReadOnly)
	if err != nil || donated == nil {
		b.Fatalf("open: %v (donated %v)", err, donated)
	}
	defer donated.Close()
	native, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer native.Close()
	buf := make([]byte, chunk)
	// Warm the page cache.
	for off := int64(0); off < fileSize; off += chunk {
		native.ReadAt(buf, off)
	}
	var p pair
	b.SetBytes(chunk)
	b.ResetTimer()
	before := c.RoundTrips()
	off := int64(0)
	for range b.N {
		p.run(func() {
			if k, err := native.ReadAt(buf, off); err != nil || k != chunk {
				b.Fatal(err)
			}
		}, func() {
			if k, err := donated.ReadAt(buf, off); err != nil || k != chunk {
				b.Fatal(err)
			}
		})
		off = (off + chunk) % fileSize
	}
	rts := c.RoundTrips() - before
	b.StopTimer()
	// The same bytes through the protocol, for reference.
	const treadOps = 64
	t0 := time.Now()
	for i := range treadOps {
		if _, err := f.ReadAt(buf, int64(i%64)*chunk); err != nil {
			b.Fatal(err)
		}
	}
	treadSec := time.Since(t0).Seconds()
	n := float64(b.N)
	mb := float64(chunk) / 1e6
	b.ReportMetric(mb*n/p.native.Seconds(), "native-MB/s")
	b.ReportMetric(mb*n/p.gofer.Seconds(), "donated-MB/s")
	b.ReportMetric(p.native.Seconds()/p.gofer.Seconds(), "donated/native-throughput")
	b.ReportMetric(mb*treadOps/treadSec, "tread-MB/s")
	b.ReportMetric(float64(rts)/n, "roundtrips/op")
}
