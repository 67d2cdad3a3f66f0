package overlay_test

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/overlay"
	"github.com/palisade-sandbox/palisade/fsimpl/tmpfs"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

var (
	modelDirs  = []string{"d", "d/s", "e", "n", "d/n"}
	modelNames = []string{"a", "b", "c"}
)

func modelPopulate(l *view) {
	for _, d := range modelDirs[:3] {
		l.mkdir(d)
	}
	for _, d := range []string{"", "d/", "d/s/", "e/"} {
		for _, n := range modelNames[:2] {
			l.write(d+n, "lower "+d+n)
		}
	}
}

// modelPath returns a random path of the model namespace.
func modelPath(rng *rand.Rand) string {
	dirs := append([]string{""}, modelDirs...)
	d := dirs[rng.Intn(len(dirs))]
	if rng.Intn(4) == 0 && d != "" {
		return d
	}
	n := modelNames[rng.Intn(len(modelNames))]
	if rng.Intn(5) == 0 {
		n = modelDirs[rng.Intn(len(modelDirs))]
		return n
	}
	if d == "" {
		return n
	}
	return d + "/" + n
}

// apply runs one random operation on w and returns its error.
func modelOp(w *view, op int, p1, p2 string, k int) error {
	c := w.creds
	switch op {
	case 0:
		fd, err := w.vfs.OpenAt(w.ctx, c, w.pop(p1), linux.O_CREAT|linux.O_WRONLY|linux.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		defer fd.DecRef(w.ctx)
		_, err = fd.Write(w.ctx, vfs.BytesIOSequence(fmt.Sprintf("w%d", k)))
		return err
	case 1:
		fd, err := w.vfs.OpenAt(w.ctx, c, w.pop(p1), linux.O_WRONLY|linux.O_APPEND, 0)
		if err != nil {
			return err
		}
		defer fd.DecRef(w.ctx)
		_, err = fd.Write(w.ctx, vfs.BytesIOSequence(fmt.Sprintf("+%d", k)))
		return err
	case 2:
		return w.vfs.UnlinkAt(w.ctx, c, w.pop(p1))
	case 3:
		return w.vfs.MkdirAt(w.ctx, c, w.pop(p1), 0o755)
	case 4:
		return w.vfs.RmdirAt(w.ctx, c, w.pop(p1))
	case 5:
		return w.vfs.RenameAt(w.ctx, c, w.pop(p1), w.pop(p2), 0)
	case 6:
		return w.vfs.LinkAt(w.ctx, c, w.pop(p1), w.pop(p2))
	case 7:
		return w.vfs.SetStatAt(w.ctx, c, w.pop(p1), vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_MODE, Mode: uint16(0o600 + k%0o100)}})
	case 8:
		return w.vfs.SetXattrAt(w.ctx, c, w.pop(p1), "user.k", fmt.Sprint(k), 0)
	}
	return nil
}

// snapshot describes the tree under dir.
func snapshot(t *testing.T, w *view, dir string, out map[string]string) {
	fd, err := w.vfs.OpenAt(w.ctx, w.creds, w.pop(dir), linux.O_RDONLY|linux.O_DIRECTORY, 0)
	if err != nil {
		t.Fatalf("opendir %q: %v", dir, err)
	}
	var names []string
	if err := fd.IterDirents(w.ctx, func(d vfs.Dirent) error {
		if d.Name != "." && d.Name != ".." {
			names = append(names, d.Name)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	fd.DecRef(w.ctx)
	slices.Sort(names)
	for _, n := range names {
		p := n
		if dir != "/" {
			p = dir + "/" + n
		}
		st := w.stat(p)
		x, _ := w.vfs.GetXattrAt(w.ctx, w.creds, w.pop(p), "user.k")
		desc := fmt.Sprintf("mode=%o x=%q", st.Mode, x)
		if st.Mode&linux.S_IFMT == linux.S_IFDIR {
			out[p] = desc
			snapshot(t, w, p, out)
			continue
		}
		out[p] = fmt.Sprintf("%s nlink=%d data=%q", desc, st.Nlink, w.read(p))
	}
}

// TestModel applies the same random operations to the overlay and to a
// plain tmpfs holding the same initial tree and compares the results.
func TestModel(t *testing.T) {
	for seed := int64(1); seed <= 16; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			e := newEnv(t, modelPopulate)
			ref := newView(t, tmpfs.New(tmpfs.Options{MaxSize: 64 << 20, RootMode: 0o755}))
			modelPopulate(ref)
			lowerBefore := map[string]string{}
			snapshot(t, e.lower, "/", lowerBefore)
			rng := rand.New(rand.NewSource(seed))
			var ok, failed, exdev [9]int
			defer func() { t.Logf("succeeded %v failed %v exdev %v", ok, failed, exdev) }()
			for k := range 400 {
				op, p1, p2 := rng.Intn(9), modelPath(rng), modelPath(rng)
				oerr := modelOp(e.ovl, op, p1, p2, k)
				if oerr == unix.EXDEV && op == 5 {
					exdev[op]++
					continue // a directory with a lower part.
				}
				if oerr == nil {
					ok[op]++
				} else {
					failed[op]++
				}
				rerr := modelOp(ref, op, p1, p2, k)
				if oerr != rerr {
					t.Fatalf("op %d %d(%s, %s): overlay %v, reference %v", k, op, p1, p2, oerr, rerr)
				}
				if k%20 == 19 {
					if k%40 == 39 {
						e.ovl.vfs.SetDentryCacheSize(1)
						e.ovl.vfs.SetDentryCacheSize(vfs.DefaultDentryCacheSize)
					}
					got, want := map[string]string{}, map[string]string{}
					snapshot(t, e.ovl, "/", got)
					snapshot(t, ref, "/", want)
					for p, w := range want {
						if got[p] != w {
							t.Fatalf("after op %d: %s: overlay %q, reference %q", k, p, got[p], w)
						}
					}
					for p := range got {
						if _, ok := want[p]; !ok {
							t.Fatalf("after op %d: overlay has extra %s", k, p)
						}
					}
				}
			}
			lowerAfter := map[string]string{}
			snapshot(t, e.lower, "/", lowerAfter)
			for p, v := range lowerBefore {
				if lowerAfter[p] != v {
					t.Errorf("lower changed at %s: %q -> %q", p, v, lowerAfter[p])
				}
			}
			if len(lowerAfter) != len(lowerBefore) {
				t.Errorf("lower changed: %d entries, was %d", len(lowerAfter), len(lowerBefore))
			}
		})
	}
}

// TestConcurrentCopyUp copies the same lower files up from many goroutines
// while others read and list them.
func TestConcurrentCopyUp(t *testing.T) {
	lfs := tmpfs.New(tmpfs.Options{MaxSize: 64 << 20, RootMode: 0o755})
	lower := newView(t, lfs)
	lower.mkdir("p")
	lower.mkdir("p/q")
	for k := range 8 {
		lower.write(fmt.Sprintf("p/q/f%d", k), fmt.Sprintf("data%d", k))
	}
	ofs, err := overlay.New(context.Background(), lfs, tmpfs.New(tmpfs.Options{MaxSize: 64 << 20}), overlay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := newView(t, ofs)
	inos := map[string]uint64{}
	for k := range 8 {
		p := fmt.Sprintf("p/q/f%d", k)
		inos[p] = o.stat(p).Ino
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 8 {
				p := fmt.Sprintf("p/q/f%d", (k+g)%8)
				switch g % 3 {
				case 0:
					if err := o.vfs.SetXattrAt(o.ctx, o.creds, o.pop(p), fmt.Sprintf("user.g%d", g), "v", 0); err != nil {
						errs <- fmt.Errorf("setxattr %s: %w", p, err)
					}
				case 1:
					fd, err := o.vfs.OpenAt(o.ctx, o.creds, o.pop(p), linux.O_RDONLY, 0)
					if err != nil {
						errs <- err
						continue
					}
					buf := make([]byte, 16)
					n, err := fd.Read(o.ctx, vfs.BytesIOSequence(buf))
					fd.DecRef(o.ctx)
					if err != nil || string(buf[:n]) != fmt.Sprintf("data%d", (k+g)%8) {
						errs <- fmt.Errorf("read %s: %q %v", p, buf[:n], err)
					}
				case 2:
					fd, err := o.vfs.OpenAt(o.ctx, o.creds, o.pop("p/q"), linux.O_RDONLY|linux.O_DIRECTORY, 0)
					if err != nil {
						errs <- err
						continue
					}
					n := 0
					_ = fd.IterDirents(o.ctx, func(vfs.Dirent) error { n++; return nil })
					fd.DecRef(o.ctx)
					if n != 10 {
						errs <- fmt.Errorf("listing has %d entries", n)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for p, ino := range inos {
		st := o.stat(p)
		if st.Ino != ino {
			t.Errorf("%s: ino %#x, was %#x", p, st.Ino, ino)
		}
		names, err := o.vfs.ListXattrAt(o.ctx, o.creds, o.pop(p))
		if err != nil || len(names) != 3 {
			t.Errorf("%s: xattrs %v %v", p, names, err)
		}
	}
}

// TestConcurrentRandomOps runs random operations from several goroutines
// at once (for the race detector and to catch lock-order deadlocks), then
// checks that every listed entry can be looked up and lower is intact.
func TestConcurrentRandomOps(t *testing.T) {
	e := newEnv(t, modelPopulate)
	lowerBefore := map[string]string{}
	snapshot(t, e.lower, "/", lowerBefore)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(100 + g)))
			for k := range 300 {
				_ = modelOp(e.ovl, rng.Intn(9), modelPath(rng), modelPath(rng), k)
				if k%50 == 0 {
					fd, err := e.ovl.vfs.OpenAt(e.ovl.ctx, e.ovl.creds, e.ovl.pop("d"), linux.O_RDONLY|linux.O_DIRECTORY, 0)
					if err == nil {
						_ = fd.IterDirents(e.ovl.ctx, func(vfs.Dirent) error { return nil })
						fd.DecRef(e.ovl.ctx)
					}
				}
			}
		}()
	}
	wg.Wait()
	snapshot(t, e.ovl, "/", map[string]string{}) // fails on a listed but missing entry.
	lowerAfter := map[string]string{}
	snapshot(t, e.lower, "/", lowerAfter)
	if fmt.Sprint(lowerAfter) != fmt.Sprint(lowerBefore) {
		t.Errorf("lower changed")
	}
}

// TestLowerHardLinks documents that copy-up breaks lower hard links, as
// overlayfs without index=on does.
func TestLowerHardLinks(t *testing.T) {
	e := newEnv(t, func(l *view) {
		l.write("a", "same")
		if err := l.vfs.LinkAt(l.ctx, l.creds, l.pop("a"), l.pop("b")); err != nil {
			l.t.Fatal(err)
		}
	})
	o := e.ovl
	if a, b := o.stat("a"), o.stat("b"); a.Ino != b.Ino || a.Nlink != 2 {
		t.Errorf("before copy-up: %#x %#x nlink %d", a.Ino, b.Ino, a.Nlink)
	}
	o.write("a", "new")
	if got := o.read("b"); got != "same" {
		t.Errorf("other lower link: %q", got)
	}
	if got := o.read("a"); got != "new" {
		t.Errorf("copied-up link: %q", got)
	}
}
