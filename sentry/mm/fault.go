package mm

import (
	"fmt"
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
	"golang.org/x/sys/unix"
	"log/slog"
)

// readable reports whether perms allow a read by the CPU: on x86 any of
// read, write or execute implies read.
func readable(p platform.AccessType) bool { return p.Read || p.Write || p.Execute }

// allows reports whether a VMA with perms permits access at.
func allows(perms, at platform.AccessType) bool {
	if at.Write && !perms.Write {
		return false
	}
	if at.Execute && !perms.Execute {
		return false
	}
	return readable(perms)
}

// HandleFault handles a guest page fault at addr for access at. It returns
// 0 when the page is now mapped and the guest can retry, EFAULT when addr is
// in no VMA (SEGV_MAPERR), EACCES when the VMA forbids the access
// (SEGV_ACCERR), or ENOMEM when no memory is left (SIGBUS).
//
// A fault just below a MAP_GROWSDOWN area grows the area down to the
// faulting page, as Linux's expand_stack does, unless that would leave less
// than StackGuardGap above the accessible area below it or make the area
// larger than the stack limit. A write to copy-on-write pages copies them
// (breakCOW) before mapping them writable.
func (mm *MemoryManager) HandleFault(addr uintptr, at platform.AccessType) linux.Errno {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if addr >= mm.maxAddr {
		return unix.EFAULT
	}
	v := mm.vmaAt(addr)
	if v == nil {
		if v = mm.growStack(addr); v == nil {
			return unix.EFAULT
		}
	}
	if !allows(v.perms, at) {
		return unix.EACCES
	}
	start, end := v.start, v.end
	if end-start > smallVMASize {
		cs := addr &^ (faultAroundSize - 1)
		ce := cs + faultAroundSize
		start = max(start, cs)
		end = min(end, ce)
	}
	if err := mm.ensurePMAs(v, start, end); err != 0 {
		return err
	}
	if !mm.hasPMA(addr) {
		// Past the end of the mapped file: SIGBUS.
		return unix.ENOMEM
	}
	if at.Write {
		if err := mm.breakCOW(start, end); err != 0 {
			return err
		}
		// Only the written page becomes dirty.
		pgStart := pageRoundDown(addr)
		mm.markDirty(v, pgStart, pgStart+linux.PageSize)
	}
	return mm.mapRange(start, end, v.perms)
}

// growStack grows the MAP_GROWSDOWN VMA just above addr down to addr's
// page and returns it, or returns nil if there is none or it may not grow
// that far. mm.mu must be held.
func (mm *MemoryManager) growStack(addr uintptr) *vma {
	i := mm.findVMA(addr)
	if i == len(mm.vmas) {
		return nil
	}
	v := &mm.vmas[i]
	if !v.growsDown || v.start <= addr || v.mappable != nil || v.shm != nil {
		return nil
	}
	newStart := pageRoundDown(addr)
	if newStart < mm.minAddr || v.end-newStart > mm.stackLimit {
		return nil
	}
	if i > 0 {
		// Linux keeps the guard gap only from an accessible area
		// that is not itself a stack.
		if prev := &mm.vmas[i-1]; !prev.growsDown && readable(prev.perms) && (newStart < prev.end || newStart-prev.end < StackGuardGap) {
			return nil
		}
	}
	v.start = newStart
	return v
}

// mapRange maps the pmas covering [start, end) into the platform address
// space with perms, leaving out write access for copy-on-write pages and
// clean pages of shared file mappings.
// Every page of the range must have a pma.
func (mm *MemoryManager) mapRange(start, end uintptr, perms platform.AccessType) linux.Errno {
	if mm.as == nil {
		return 0
	}
	fd := mm.mf.FD()
	for i := mm.findPMA(start); i < len(mm.pmas) && mm.pmas[i].start < end; i++ {
		p := &mm.pmas[i]
		s, e := max(p.start, start), min(p.end, end)
		off := p.fr.Start + uint64(s-p.start)
		at := perms
		if p.needsCopy || p.clean {
			at.Write = false
		}
		if err := mm.as.MapFile(s, fd, int64(off), e-s, at); err != nil {
			// A healthy platform does not refuse a mapping: say why
			// the guest is about to get SIGBUS.
			slog.Warn("platform refused a mapping", "start", fmt.Sprintf("%#x", s), "length", e-s, "err", err)
			return unix.ENOMEM
		}
	}
	return 0
}
