package mm

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
	"golang.org/x/sys/unix"
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
func (mm *MemoryManager) HandleFault(addr uintptr, at platform.AccessType) linux.Errno {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if addr >= mm.maxAddr {
		return unix.EFAULT
	}
	v := mm.vmaAt(addr)
	if v == nil {
		return unix.EFAULT
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
	return mm.mapRange(start, end, v.perms)
}

// mapRange maps the pmas covering [start, end) into the platform address
// space with perms. Every page of the range must have a pma.
func (mm *MemoryManager) mapRange(start, end uintptr, perms platform.AccessType) linux.Errno {
	if mm.as == nil {
		return 0
	}
	fd := mm.mf.FD()
	for i := mm.findPMA(start); i < len(mm.pmas) && mm.pmas[i].start < end; i++ {
		p := &mm.pmas[i]
		s, e := max(p.start, start), min(p.end, end)
		off := p.fr.Start + uint64(s-p.start)
		if err := mm.as.MapFile(s, fd, int64(off), e-s, perms); err != nil {
			return unix.ENOMEM
		}
	}
	return 0
}
