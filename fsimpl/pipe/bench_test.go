package pipe

import (
	"os"
	"testing"
	"time"

	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// BenchmarkThroughput moves data through a Sentry pipe between two
// goroutines in chunks of 4 KiB and 64 KiB and reports the ratio of its
// time to a host pipe(2) doing the same in the same run (ratio < 1 means
// the Sentry pipe is faster; the host pipe pays two system calls per
// chunk).
func BenchmarkThroughput(b *testing.B) {
	for _, chunk := range []int{4096, 65536} {
		b.Run(map[int]string{4096: "4KiB", 65536: "64KiB"}[chunk], func(b *testing.B) {
			const total = 16 << 20
			native := func() time.Duration {
				pr, pw, err := os.Pipe()
				if err != nil {
					b.Fatal(err)
				}
				defer pr.Close()
				start := time.Now()
				go func() {
					buf := make([]byte, chunk)
					for n := 0; n < total; n += chunk {
						if _, err := pw.Write(buf); err != nil {
							break
						}
					}
					pw.Close()
				}()
				buf := make([]byte, chunk)
				for {
					n, err := pr.Read(buf)
					if n == 0 || err != nil {
						break
					}
				}
				return time.Since(start)
			}
			sentry := func() time.Duration {
				r, w, err := NewPair(ctx, vfs.New(), vfs.RootCredentials(), 0)
				if err != nil {
					b.Fatal(err)
				}
				defer r.DecRef(ctx)
				start := time.Now()
				go func() {
					buf := make([]byte, chunk)
					for n := 0; n < total; n += chunk {
						if _, err := w.Write(ctx, vfs.BytesIOSequence(buf)); err != nil {
							break
						}
					}
					w.DecRef(ctx)
				}()
				buf := make([]byte, chunk)
				for {
					n, err := r.Read(ctx, vfs.BytesIOSequence(buf))
					if n == 0 || err != nil {
						break
					}
				}
				return time.Since(start)
			}
			var tn, ts time.Duration
			for b.Loop() {
				tn += native()
				ts += sentry()
			}
			b.ReportMetric(float64(total)*float64(b.N)/ts.Seconds()/(1<<20), "sentry-MiB/s")
			b.ReportMetric(float64(total)*float64(b.N)/tn.Seconds()/(1<<20), "host-MiB/s")
			b.ReportMetric(ts.Seconds()/tn.Seconds(), "ratio-to-host")
		})
	}
}
