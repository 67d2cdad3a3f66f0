package p9

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// nativeFstat times n fstat(2) calls on fd and returns ns per call.
func nativeFstat(b *testing.B, fd int, n int) float64 {
	var st unix.Stat_t
	start := time.Now()
	for range n {
		if err := unix.Fstat(fd, &st); err != nil {
			b.Fatal(err)
		}
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

// BenchmarkGetAttr measures a Tgetattr round trip over a socketpair and
// reports it as a ratio to a native fstat(2) timed in the same run.
func BenchmarkGetAttr(b *testing.B) {
	mfd, err := unix.MemfdCreate("bench", unix.MFD_CLOEXEC)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(mfd)
	b.Run("native-fstat", func(b *testing.B) {
		var st unix.Stat_t
		for b.Loop() {
			unix.Fstat(mfd, &st)
		}
	})
	b.Run("9p-getattr", func(b *testing.B) {
		e := newEnv(b, VersionPalisade, nil)
		for b.Loop() {
			if _, err := e.root.GetAttr(AttrBasic); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		native := nativeFstat(b, mfd, max(b.N, 100000))
		b.ReportMetric(per/native, "x-native-fstat")
	})
	b.Run("9p-getattr-parallel", func(b *testing.B) {
		e := newEnv(b, VersionPalisade, nil)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := e.root.GetAttr(AttrBasic); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkRead4K compares a 4 KiB read through the protocol (Tread) with
// a pread(2) on the donated fd.
func BenchmarkRead4K(b *testing.B) {
	fs := newMemFS()
	fs.donate = true
	e := newEnv(b, VersionPalisade, fs)
	f, err := e.root.Clone()
	if err != nil {
		b.Fatal(err)
	}
	_, _, fd, err := f.Create("data", ReadWrite, 0o644, 0)
	if err != nil || fd == nil {
		b.Fatalf("Create: %v %v", fd, err)
	}
	defer fd.Close()
	if _, err := fd.WriteAt(make([]byte, 4096), 0); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 4096)
	b.Run("donated-pread", func(b *testing.B) {
		b.SetBytes(4096)
		for b.Loop() {
			if _, err := fd.ReadAt(buf, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("9p-tread", func(b *testing.B) {
		b.SetBytes(4096)
		for b.Loop() {
			if _, err := f.ReadAt(buf, 0); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		start := time.Now()
		n := max(b.N, 10000)
		for range n {
			fd.ReadAt(buf, 0)
		}
		native := float64(time.Since(start).Nanoseconds()) / float64(n)
		b.ReportMetric(per/native, "x-donated-pread")
	})
}
