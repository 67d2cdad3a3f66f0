package futex

import (
	"encoding/binary"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// fakeFile is a stand-in for the memory file: the bytes every fake
// address space maps.
type fakeFile struct {
	mem []byte
}

func newFakeFile(size int) *fakeFile {
	// A large []byte from make is 8-byte aligned by the Go allocator;
	// the byte-slice atomics check it (EINVAL otherwise).
	return &fakeFile{mem: make([]byte, size)}
}

// fakeMapping maps [start, end) to file offsets from off.
type fakeMapping struct {
	start, end uintptr
	off        uint64
	shared     bool
	readOnly   bool
}

// fakeTarget is a Target for one fake address space over a fakeFile,
// using the package's byte-slice atomics as the kernel's would.
type fakeTarget struct {
	f        *fakeFile
	id       *int // address-space identity
	mappings []fakeMapping
	// copyIns counts CopyIn calls.
	copyIns atomic.Int64
}

func newFakeTarget(f *fakeFile, ms ...fakeMapping) *fakeTarget {
	return &fakeTarget{f: f, id: new(int), mappings: ms}
}

func (t *fakeTarget) lookup(addr uintptr, n int, write bool) ([]byte, *fakeMapping, error) {
	for i := range t.mappings {
		m := &t.mappings[i]
		if addr >= m.start && addr < m.end && addr+uintptr(n) <= m.end {
			if write && m.readOnly {
				return nil, nil, unix.EFAULT
			}
			off := m.off + uint64(addr-m.start)
			return t.f.mem[off : off+uint64(n)], m, nil
		}
	}
	return nil, nil, unix.EFAULT
}

func (t *fakeTarget) LoadUint32(addr uintptr) (uint32, error) {
	b, _, err := t.lookup(addr, 4, false)
	if err != nil {
		return 0, err
	}
	return LoadUint32Bytes(b)
}

func (t *fakeTarget) CompareAndSwapUint32(addr uintptr, old, new uint32) (uint32, error) {
	b, _, err := t.lookup(addr, 4, true)
	if err != nil {
		return 0, err
	}
	return CompareAndSwapUint32Bytes(b, old, new)
}

func (t *fakeTarget) AddressSpaceIdentity() any { return t.id }

func (t *fakeTarget) GetSharedKey(addr uintptr) (Key, error) {
	_, m, err := t.lookup(addr, 4, false)
	if err != nil {
		return Key{}, err
	}
	if !m.shared {
		return AddressSpaceKey(t.id, addr), nil
	}
	return MemoryFileKey(m.off + uint64(addr-m.start)), nil
}

func (t *fakeTarget) CopyIn(addr uintptr, dst []byte) (int, error) {
	t.copyIns.Add(1)
	b, _, err := t.lookup(addr, len(dst), false)
	if err != nil {
		return 0, err
	}
	return copy(dst, b), nil
}

// store atomically sets the word at addr (test setup).
func (t *fakeTarget) store(addr uintptr, v uint32) {
	for {
		old, err := t.LoadUint32(addr)
		if err != nil {
			panic(err)
		}
		if prev, err := t.CompareAndSwapUint32(addr, old, v); err != nil {
			panic(err)
		} else if prev == old {
			return
		}
	}
}

// load reads the word at addr, panicking on error (test helper).
func (t *fakeTarget) load(addr uintptr) uint32 {
	v, err := t.LoadUint32(addr)
	if err != nil {
		panic(err)
	}
	return v
}

// put64 writes a little-endian uint64 at addr (test setup, no atomicity).
func (t *fakeTarget) put64(addr uintptr, v uint64) {
	b, _, err := t.lookup(addr, 8, true)
	if err != nil {
		panic(err)
	}
	binary.LittleEndian.PutUint64(b, v)
}

// zeroTime is "no deadline" for WaitFor.
var zeroTime time.Time

// firedTimer returns a timer channel that has already fired.
func firedTimer() <-chan time.Time {
	c := make(chan time.Time, 1)
	c <- time.Time{}
	return c
}
