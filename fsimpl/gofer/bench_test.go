package gofer

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// BenchmarkRead1MiB reads a 16 MiB file sequentially in 1 MiB preads,
// through a gofer file description (donated host fd, bounce buffer) and
// natively (pread(2) on the same host file), alternating which goes first
// in each iteration, and reports both and their ratio. The file stays in
// the page cache, so this measures the Sentry-side overhead.
func BenchmarkRead1MiB(b *testing.B) {
	const chunk = 1 << 20
	const size = 16 * chunk
	f := newFixture(b, Options{}, false, func(dir string) {
		data := make([]byte, size)
		for k := range data {
			data[k] = byte(k * 7)
		}
		must(b, os.WriteFile(filepath.Join(dir, "big"), data, 0o644))
	})
	fd := f.open("/big", linux.O_RDONLY)
	defer fd.DecRef(f.ctx)
	if fd.Impl().(*regularFD).hostFD < 0 {
		b.Fatal("no donated fd")
	}
	native, err := os.Open(filepath.Join(f.dir, "big"))
	if err != nil {
		b.Fatal(err)
	}
	defer native.Close()
	nfd := int(native.Fd())
	gbuf, nbuf := make([]byte, chunk), make([]byte, chunk)
	readGofer := func(off int64) {
		if n, err := fd.PRead(f.ctx, vfs.BytesIOSequence(gbuf), off); err != nil || n != chunk {
			b.Fatalf("gofer pread: %d %v", n, err)
		}
	}
	readNative := func(off int64) {
		if n, err := unix.Pread(nfd, nbuf, off); err != nil || n != chunk {
			b.Fatalf("native pread: %d %v", n, err)
		}
	}
	// Warm the page cache and check the data agree.
	for off := int64(0); off < size; off += chunk {
		readGofer(off)
		readNative(off)
		if string(gbuf) != string(nbuf) {
			b.Fatalf("data differ at %d", off)
		}
	}
	rts := f.client.RoundTrips()
	var tg, tn time.Duration
	b.SetBytes(chunk)
	b.ResetTimer()
	for k := 0; b.Loop(); k++ {
		off := int64(k%(size/chunk)) * chunk
		if k%2 == 0 {
			t0 := time.Now()
			readGofer(off)
			t1 := time.Now()
			readNative(off)
			tg += t1.Sub(t0)
			tn += time.Since(t1)
		} else {
			t0 := time.Now()
			readNative(off)
			t1 := time.Now()
			readGofer(off)
			tn += t1.Sub(t0)
			tg += time.Since(t1)
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(tg.Nanoseconds())/n, "gofer-ns/op")
	b.ReportMetric(float64(tn.Nanoseconds())/n, "native-ns/op")
	b.ReportMetric(float64(tg)/float64(tn), "gofer/native")
	b.ReportMetric(float64(f.client.RoundTrips()-rts)/n, "roundtrips/op")
}
