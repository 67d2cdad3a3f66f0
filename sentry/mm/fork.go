package mm

import (
	"errors"

	"github.com/palisade-sandbox/palisade/platform"
)

// Fork returns a copy of the address space for fork(2), whose pages are
// made visible to the guest through as (a new, empty platform address
// space the caller created; the returned MemoryManager owns it and
// releases it with its last user). On error nothing has been allocated and
// the caller still owns as.
//
// Private pages (and the private copies behind file mappings) are shared
// copy-on-write: the child's pmas take their own references on the
// parent's memory-file ranges, both sides mark them needsCopy, and the
// parent's writable platform mappings of them are downgraded to read-only,
// so the first write on either side faults and copies (breakCOW). Shared
// anonymous areas keep referring to the same shared object, so both sides
// keep seeing each other's writes, including to pages first touched later.
// Areas marked MADV_DONTFORK are left out; MADV_WIPEONFORK areas are
// present in the child but without pages (zero filled on touch).
func (mm *MemoryManager) Fork(as platform.AddressSpace) (*MemoryManager, error) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if mm.released {
		return nil, errors.New("mm: fork of a released address space")
	}
	c := &MemoryManager{
		mf:         mm.mf,
		as:         as,
		minAddr:    mm.minAddr,
		maxAddr:    mm.maxAddr,
		brkStart:   mm.brkStart,
		brk:        mm.brk,
		mmapBase:   mm.mmapBase,
		stackTop:   mm.stackTop,
		stackLimit: mm.stackLimit,
		argvStart:  mm.argvStart,
		argvEnd:    mm.argvEnd,
		envStart:   mm.envStart,
		envEnd:     mm.envEnd,
		users:      1,
		// mlockall(MCL_FUTURE) and VM_LOCKED are not inherited.
	}
	c.vmas = make([]vma, 0, len(mm.vmas))
	for i := range mm.vmas {
		v := &mm.vmas[i]
		if v.dontFork {
			continue
		}
		cv := *v
		cv.locked = false
		cv.incRef()
		c.vmas = append(c.vmas, cv)
		if v.wipeOnFork {
			continue
		}
		// Make the VMA's edges pma boundaries, so that marks stay
		// within the VMA.
		mm.splitPMAAt(v.start)
		mm.splitPMAAt(v.end)
		downgrade := false
		for j := mm.findPMA(v.start); j < len(mm.pmas) && mm.pmas[j].start < v.end; j++ {
			p := &mm.pmas[j]
			if v.cow() {
				if v.perms.Write && !p.needsCopy {
					downgrade = true
				}
				p.needsCopy = true
			}
			mm.mf.IncRef(p.fr)
			c.pmas = append(c.pmas, *p)
		}
		if downgrade && mm.as != nil {
			// Re-map the parent's pages read-only; the next write
			// faults and copies. If that fails, unmapping has the
			// same effect at the cost of read faults.
			if mm.mapRange(v.start, v.end, v.perms) != 0 {
				_ = mm.as.Unmap(v.start, v.end-v.start)
			}
		}
	}
	// Coalescing of the child's VMAs is left as it was in the parent,
	// except where DONTFORK holes let nothing merge anyway; dropping
	// VM_LOCKED may make neighbours mergeable.
	for i := len(c.vmas) - 1; i >= 0; i-- {
		if i < len(c.vmas) {
			c.mergeVMAs(i)
		}
	}
	return c, nil
}
