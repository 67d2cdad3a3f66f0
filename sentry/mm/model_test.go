package mm

import (
	"fmt"
	"math/rand"
	"sync"
	"testing"

	"github.com/palisade-sandbox/palisade/platform"
	"github.com/palisade-sandbox/palisade/sentry/pgalloc"
	"golang.org/x/sys/unix"
)

// trackAS is a platform address space that remembers, per page, which
// memory-file offset is mapped there and whether writably.
type trackAS struct {
	mu    sync.Mutex
	pages map[uintptr]trackedPage
}

type trackedPage struct {
	off   int64
	write bool
}

func (a *trackAS) MapFile(addr uintptr, fd int, offset int64, length uintptr, at platform.AccessType) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pages == nil {
		a.pages = make(map[uintptr]trackedPage)
	}
	for i := uintptr(0); i < length; i += pg {
		a.pages[addr+i] = trackedPage{offset + int64(i), at.Write}
	}
	return nil
}

func (a *trackAS) Unmap(addr, length uintptr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := uintptr(0); i < length; i += pg {
		delete(a.pages, addr+i)
	}
	return nil
}

func (a *trackAS) Release() {}

// checkPlatform checks that what the guest would see through as agrees
// with m: every mapped page maps the page's current backing, and a page
// mapped writable is not shared copy-on-write.
func checkPlatform(t *testing.T, m *MemoryManager, as *trackAS) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	as.mu.Lock()
	defer as.mu.Unlock()
	for addr, tp := range as.pages {
		i := m.findPMA(addr)
		if i == len(m.pmas) || m.pmas[i].start > addr {
			t.Fatalf("page %#x mapped in the platform without a pma", addr)
		}
		p := m.pmas[i]
		off := int64(p.fr.Start + uint64(addr-p.start))
		if off != tp.off {
			t.Fatalf("page %#x maps memory-file offset %#x, its pma says %#x", addr, tp.off, off)
		}
		if tp.write && (p.needsCopy || m.mf.RefCount(uint64(off)) > 1 && m.vmaAt(addr).cow()) {
			t.Fatalf("page %#x mapped writable while shared copy-on-write", addr)
		}
	}
}

// checkInvariants checks the address space's bookkeeping: VMAs and pmas
// sorted and disjoint, every pma inside VMAs and holding a live memory-file
// reference, copy-on-write marks only in copy-on-write areas.
func checkInvariants(t *testing.T, m *MemoryManager) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, v := range m.vmas {
		if v.start >= v.end || (i > 0 && m.vmas[i-1].end > v.start) {
			t.Fatalf("bad VMA %d [%#x, %#x)", i, v.start, v.end)
		}
	}
	for i, p := range m.pmas {
		if p.start >= p.end || (i > 0 && m.pmas[i-1].end > p.start) {
			t.Fatalf("bad pma %d [%#x, %#x)", i, p.start, p.end)
		}
		if p.fr.Length() != uint64(p.end-p.start) {
			t.Fatalf("pma %d length %#x backed by %#x bytes", i, p.end-p.start, p.fr.Length())
		}
		for a := p.start; a < p.end; a += pg {
			v := m.vmaAt(a)
			if v == nil {
				t.Fatalf("pma page %#x outside every VMA", a)
			}
			if p.needsCopy && !v.cow() {
				t.Fatalf("needsCopy pma in a shared VMA at %#x", a)
			}
			if m.mf.RefCount(p.fr.Start+uint64(a-p.start)) < 1 {
				t.Fatalf("pma page %#x has no memory-file reference", a)
			}
		}
	}
}

// TestRandomForkModel runs random writes, reads, forks, exits and
// MADV_DONTNEEDs over a private and a shared anonymous area in a family of
// address spaces and compares every read with a simple model: private
// pages are copied at fork, shared pages are one array for everybody.
func TestRandomForkModel(t *testing.T) {
	for seed := int64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { randomForkModel(t, seed) })
	}
}

func randomForkModel(t *testing.T, seed int64) {
	const (
		privPages   = 40
		sharedPages = 24
		steps       = 3000
	)
	mf, err := pgalloc.New("mm-model-test", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	rootAS := &trackAS{}
	m := New(mf, rootAS, testMin, testMax)
	m.SetLayout(testMax, DefaultStackSize, 0)
	priv := mustMap(t, m, MMapOpts{Length: privPages * pg, Perms: platform.ReadWrite, Private: true, Addr: 0x100000000, Fixed: true})
	shared := mustMap(t, m, MMapOpts{Length: sharedPages * pg, Perms: platform.ReadWrite, Addr: 0x200000000, Fixed: true})
	type proc struct {
		mm   *MemoryManager
		as   *trackAS
		priv []byte  // first byte of each private page
		base uintptr // where the private area is now (mremap moves it)
	}
	sharedModel := make([]byte, sharedPages)
	procs := []*proc{{mm: m, as: rootAS, priv: make([]byte, privPages), base: priv}}
	const altBase = 0x300000000
	rng := rand.New(rand.NewSource(seed))
	defer func() {
		for _, p := range procs {
			p.mm.DecUsers()
		}
		if u := mf.Usage(); u != 0 {
			t.Errorf("memory file usage %d after every address space went away", u)
		}
	}()
	for step := 0; step < steps; step++ {
		pi := rng.Intn(len(procs))
		p := procs[pi]
		switch op := rng.Intn(11); {
		case op == 10: // move the private area (pages and all)
			to := uintptr(altBase)
			if p.base == altBase {
				to = priv
			}
			got, errno := p.mm.MRemap(p.base, privPages*pg, privPages*pg, MRemapOpts{MayMove: true, Fixed: true, NewAddr: to})
			if errno != 0 || got != to {
				t.Fatalf("step %d: mremap to %#x = %#x, %v", step, to, got, errno)
			}
			p.base = to
		case op < 3: // write a private page
			pgi := rng.Intn(privPages)
			val := byte(rng.Intn(255) + 1)
			write(t, p.mm, p.base+uintptr(pgi)*pg, string([]byte{val}))
			p.priv[pgi] = val
		case op < 5: // write a shared page
			pgi := rng.Intn(sharedPages)
			val := byte(rng.Intn(255) + 1)
			write(t, p.mm, shared+uintptr(pgi)*pg, string([]byte{val}))
			sharedModel[pgi] = val
		case op < 7: // guest faults, read or write
			at := platform.Read
			if rng.Intn(2) == 0 {
				at = platform.AccessType{Write: true}
			}
			addr := p.base + uintptr(rng.Intn(privPages))*pg
			if rng.Intn(2) == 0 {
				addr = shared + uintptr(rng.Intn(sharedPages))*pg
			}
			if errno := p.mm.HandleFault(addr, at); errno != 0 {
				t.Fatalf("step %d: fault at %#x: %v", step, addr, errno)
			}
		case op < 8: // fork
			if len(procs) >= 6 {
				continue
			}
			cas := &trackAS{}
			c, err := p.mm.Fork(cas)
			if err != nil {
				t.Fatal(err)
			}
			procs = append(procs, &proc{mm: c, as: cas, priv: append([]byte(nil), p.priv...), base: p.base})
		case op < 9: // exit (never the first address space)
			if pi == 0 {
				continue
			}
			p.mm.DecUsers()
			procs = append(procs[:pi], procs[pi+1:]...)
		case op == 9: // MADV_DONTNEED a few private or shared pages
			n := rng.Intn(3) + 1
			if rng.Intn(2) == 0 {
				first := rng.Intn(privPages - n)
				if errno := p.mm.Madvise(p.base+uintptr(first)*pg, uintptr(n)*pg, unix.MADV_DONTNEED); errno != 0 {
					t.Fatal(errno)
				}
				clear(p.priv[first : first+n])
			} else {
				first := rng.Intn(sharedPages - n)
				if errno := p.mm.Madvise(shared+uintptr(first)*pg, uintptr(n)*pg, unix.MADV_DONTNEED); errno != 0 {
					t.Fatal(errno)
				}
			}
		}
		// Check one random page of every address space, and the
		// bookkeeping now and then.
		for _, q := range procs {
			i := rng.Intn(privPages)
			if got := read(t, q.mm, q.base+uintptr(i)*pg, 1); got[0] != q.priv[i] {
				t.Fatalf("step %d: private page %d reads %d, want %d", step, i, got[0], q.priv[i])
			}
			j := rng.Intn(sharedPages)
			if got := read(t, q.mm, shared+uintptr(j)*pg, 1); got[0] != sharedModel[j] {
				t.Fatalf("step %d: shared page %d reads %d, want %d", step, j, got[0], sharedModel[j])
			}
			checkPlatform(t, q.mm, q.as)
			if step%100 == 0 {
				checkInvariants(t, q.mm)
			}
		}
	}
	// Full comparison at the end.
	for _, q := range procs {
		for i := range privPages {
			if got := read(t, q.mm, q.base+uintptr(i)*pg, 1); got[0] != q.priv[i] {
				t.Errorf("private page %d reads %d, want %d", i, got[0], q.priv[i])
			}
		}
		for j := range sharedPages {
			if got := read(t, q.mm, shared+uintptr(j)*pg, 1); got[0] != sharedModel[j] {
				t.Errorf("shared page %d reads %d, want %d", j, got[0], sharedModel[j])
			}
		}
		checkInvariants(t, q.mm)
	}
}
