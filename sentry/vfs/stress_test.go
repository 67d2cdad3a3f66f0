package vfs_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// TestConcurrentTreeChanges runs walks, creates, unlinks, renames
// (including directory moves and exchanges) and opens concurrently with a
// tiny dentry cache, so eviction races with everything. It checks that
// nothing panics (reference counts never go negative), the race detector
// stays quiet, the cache bound holds at the end, and the surviving tree is
// consistent with itself.
func TestConcurrentTreeChanges(t *testing.T) {
	e := newEnv(t)
	e.vfs.SetDentryCacheSize(8)
	for _, d := range []string{"/p", "/q", "/p/d0", "/p/d1", "/q/d2", "/q/d3"} {
		e.mkdir(d, 0o755)
	}
	var wg sync.WaitGroup
	names := []string{"/p/d0", "/p/d1", "/q/d2", "/q/d3", "/p/d2", "/q/d0", "/p/d3", "/q/d1"}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range 400 {
				a := names[r.IntN(len(names))]
				b := names[r.IntN(len(names))]
				f := fmt.Sprintf("%s/f%d", a, r.IntN(4))
				switch r.IntN(7) {
				case 0:
					e.vfs.RenameAt(e.ctx, e.creds, e.pop(a), e.pop(b), 0)
				case 1:
					e.vfs.RenameAt(e.ctx, e.creds, e.pop(a), e.pop(b), linux.RENAME_EXCHANGE)
				case 2:
					if fd, err := e.open(f, linux.O_CREAT|linux.O_RDWR, 0o644); err == nil {
						fd.Write(e.ctx, vfs.BytesIOSequence("x"))
						fd.DecRef(e.ctx)
					}
				case 3:
					e.vfs.UnlinkAt(e.ctx, e.creds, e.pop(f))
				case 4:
					e.vfs.MkdirAt(e.ctx, e.creds, e.pop(a+"/sub"), 0o755)
				case 5:
					e.vfs.RmdirAt(e.ctx, e.creds, e.pop(a+"/sub"))
				default:
					e.stat(f + "/../sub/..")
					e.stat(a)
				}
			}
		}()
	}
	wg.Wait()
	if n := e.vfs.CachedDentries(); n > 8 {
		t.Errorf("cache holds %d", n)
	}
	// Every directory found by listing is reachable by path, with the
	// inode number the listing reported.
	var check func(p string)
	check = func(p string) {
		fd, err := e.open(p, linux.O_RDONLY|linux.O_DIRECTORY, 0)
		if err != nil {
			t.Fatalf("open %s: %v", p, err)
		}
		var ents []vfs.Dirent
		fd.IterDirents(e.ctx, func(d vfs.Dirent) error { ents = append(ents, d); return nil })
		fd.DecRef(e.ctx)
		for _, d := range ents[2:] {
			c := p + "/" + d.Name
			if got := e.ino(c); got != d.Ino {
				t.Errorf("%s: ino %d, listing says %d", c, got, d.Ino)
			}
			if d.Type == linux.DT_DIR {
				check(c)
			}
		}
	}
	check("/p")
	check("/q")
}
