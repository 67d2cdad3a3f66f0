package mm

import (
	"github.com/palisade-sandbox/palisade/platform"
	"golang.org/x/sys/unix"
)

// WithWord calls fn with the Sentry's view of the aligned 4-byte guest
// word at addr while holding the address space's lock, so that the word
// cannot be unmapped under fn (futex operations use it for their atomic
// loads and compare-and-swaps). write asks for a word the guest may
// write. It returns EINVAL for an unaligned address and EFAULT for one the
// guest cannot access that way.
func (mm *MemoryManager) WithWord(addr uintptr, write bool, fn func(word []byte)) error {
	if addr%4 != 0 {
		return unix.EINVAL
	}
	if err := mm.checkRange(addr, 4); err != 0 {
		return err
	}
	at := platform.AccessType{Read: true}
	if write {
		at = platform.AccessType{Write: true}
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	b, errno := mm.block(addr, 4, at)
	if errno != 0 {
		return errno
	}
	if len(b) < 4 {
		return unix.EFAULT
	}
	fn(b[:4])
	return nil
}

// SharedWordOffset says how a shared futex at addr is named: for a word
// in MAP_SHARED memory (anonymous, or a file mapping, whose pages every
// address space mapping it shares) it returns its memory-file offset and
// true; for a private mapping false, meaning the word belongs to this
// address space.
func (mm *MemoryManager) SharedWordOffset(addr uintptr) (uint64, bool, error) {
	if err := mm.checkRange(addr, 4); err != 0 {
		return 0, false, err
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	v := mm.vmaAt(addr)
	if v == nil || !allows(v.perms, platform.AccessType{Read: true}) {
		return 0, false, unix.EFAULT
	}
	if v.shm == nil {
		return 0, false, nil
	}
	if _, errno := mm.block(addr, 4, platform.AccessType{Read: true}); errno != 0 {
		return 0, false, errno
	}
	p := &mm.pmas[mm.findPMA(addr)]
	return p.fr.Start + uint64(addr-p.start), true, nil
}
