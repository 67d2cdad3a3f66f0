package tmpfs

import (
	"context"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

func TestMemfdPagesFreedWithLastDescription(t *testing.T) {
	ctx := context.Background()
	v := vfs.New()
	before := memfdData.UsedPages()
	f, err := NewMemfd(v, vfs.RootCredentials(), "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.PWrite(ctx, vfs.BytesIOSequence(make([]byte, 2*pageSize)), 0); err != nil || n != 2*pageSize {
		t.Fatalf("pwrite: %d %v", n, err)
	}
	if got := memfdData.UsedPages() - before; got != 2 {
		t.Fatalf("pages in use after writing two: %d", got)
	}
	st, err := f.Stat(ctx, linux.STATX_BASIC_STATS)
	if err != nil || st.Nlink != 0 || st.Size != 2*pageSize || st.Mode != linux.S_IFREG|0o777 {
		t.Fatalf("stat: %+v %v", st, err)
	}
	f.DecRef(ctx)
	if got := memfdData.UsedPages() - before; got != 0 {
		t.Fatalf("pages in use after the last close: %d", got)
	}
}

func TestMemfdSeals(t *testing.T) {
	ctx := context.Background()
	v := vfs.New()
	f, err := NewMemfd(v, vfs.RootCredentials(), "s", unix.MFD_ALLOW_SEALING)
	if err != nil {
		t.Fatal(err)
	}
	defer f.DecRef(ctx)
	s := f.Impl().(Sealable)
	if _, err := f.PWrite(ctx, vfs.BytesIOSequence("abcd"), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSeals(unix.F_SEAL_GROW|unix.F_SEAL_SHRINK, false); err != unix.EPERM {
		t.Fatalf("AddSeals without write access: %v", err)
	}
	if err := s.AddSeals(unix.F_SEAL_GROW|unix.F_SEAL_SHRINK, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.PWrite(ctx, vfs.BytesIOSequence("ef"), 3); err != unix.EPERM {
		t.Fatalf("growing write: %v", err)
	}
	if _, err := f.PWrite(ctx, vfs.BytesIOSequence("x"), 3); err != nil {
		t.Fatalf("write within the size: %v", err)
	}
	creds := vfs.RootCredentials()
	for _, size := range []uint64{2, 8} {
		opts := vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_SIZE, Size: size}}
		if err := f.SetStat(ctx, creds, opts); err != unix.EPERM {
			t.Fatalf("truncate to %d: %v", size, err)
		}
	}
	if err := s.AddSeals(unix.F_SEAL_WRITE|unix.F_SEAL_SEAL, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.PWrite(ctx, vfs.BytesIOSequence("y"), 0); err != unix.EPERM {
		t.Fatalf("write under F_SEAL_WRITE: %v", err)
	}
	if err := s.AddSeals(unix.F_SEAL_SHRINK, true); err != unix.EPERM {
		t.Fatalf("AddSeals after F_SEAL_SEAL: %v", err)
	}
	if got := s.Seals(); got != unix.F_SEAL_GROW|unix.F_SEAL_SHRINK|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL {
		t.Fatalf("seals: %#x", got)
	}
}

func TestMemfdWithoutSealingIsSealed(t *testing.T) {
	ctx := context.Background()
	f, err := NewMemfd(vfs.New(), vfs.RootCredentials(), "n", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.DecRef(ctx)
	s := f.Impl().(Sealable)
	if s.Seals() != unix.F_SEAL_SEAL {
		t.Fatalf("seals: %#x", s.Seals())
	}
	if err := s.AddSeals(unix.F_SEAL_GROW, true); err != unix.EPERM {
		t.Fatalf("AddSeals: %v", err)
	}
}
