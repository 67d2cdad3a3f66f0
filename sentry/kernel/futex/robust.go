package futex

import (
	"encoding/binary"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

// maxOwnerDiedRetries bounds the compare-and-swap retries on one robust
// futex word whose value other threads keep changing while its owner
// exits; after that the word is left as it is.
const maxOwnerDiedRetries = 128

// loadPointer reads a robust-list pointer at addr, splitting off the PI
// flag in its low bit.
func loadPointer(t RobustTarget, addr uintptr) (entry uintptr, pi bool, err error) {
	var b [8]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return 0, false, err
	}
	v := binary.LittleEndian.Uint64(b[:])
	return uintptr(v &^ 1), v&1 != 0, nil
}

// HandleRobustList releases the robust futexes of an exiting thread with
// TID tid whose robust_list_head (set_robust_list(2)) is at head, as Linux
// does at exit: for each entry of the list, and then the pending entry,
// whose futex word (entry + futex_offset) still names tid as owner, it
// sets FUTEX_OWNER_DIED (keeping FUTEX_WAITERS, clearing the TID) and, if
// there were waiters, wakes one with a shared wake. A pending entry of a
// non-PI futex whose owner field is 0 gets the wake without the change
// (the owner died between unlocking and waking). The walk stops at the
// first unreadable pointer or unaligned word and after
// linux.ROBUST_LIST_LIMIT entries, so a cyclic list ends. PI entries get
// the owner-died marking but no wake: their waiters get the futex from
// ExitPI. It returns the number of futexes it marked.
//
// The kernel calls it at thread exit (and exec) for a non-zero head, then
// ExitPI, then does the clear_child_tid wake.
func (m *Manager) HandleRobustList(t RobustTarget, head uintptr, tid int32) int {
	entry, pi, err := loadPointer(t, head)
	if err != nil {
		return 0
	}
	var off [8]byte
	if _, err := t.CopyIn(head+8, off[:]); err != nil {
		return 0
	}
	futexOffset := uintptr(binary.LittleEndian.Uint64(off[:]))
	pending, pendingPI, err := loadPointer(t, head+16)
	if err != nil {
		return 0
	}
	marked := 0
	for limit := linux.ROBUST_LIST_LIMIT; entry != head && limit > 0; limit-- {
		next, nextPI, nextErr := loadPointer(t, entry)
		if entry != pending {
			done, ok := m.handleDeath(t, entry+futexOffset, tid, pi, false)
			if !ok {
				return marked
			}
			if done {
				marked++
			}
		}
		if nextErr != nil {
			return marked
		}
		entry, pi = next, nextPI
	}
	if pending != 0 {
		if done, _ := m.handleDeath(t, pending+futexOffset, tid, pendingPI, true); done {
			marked++
		}
	}
	return marked
}

// handleDeath releases one robust futex word at addr held by the dying
// thread tid. It reports whether it set FUTEX_OWNER_DIED, and ok = false
// when the walk should stop (unaligned or inaccessible word).
func (m *Manager) handleDeath(t RobustTarget, addr uintptr, tid int32, pi, pendingOp bool) (marked, ok bool) {
	if addr%4 != 0 {
		return false, false
	}
	val, err := t.LoadUint32(addr)
	if err != nil {
		return false, false
	}
	for range maxOwnerDiedRetries {
		owner := int32(val & linux.FUTEX_TID_MASK)
		if pendingOp && !pi && owner == 0 {
			m.Wake(t, addr, false, matchAny, 1)
			return false, true
		}
		if owner != tid {
			return false, true
		}
		nval := val&linux.FUTEX_WAITERS | linux.FUTEX_OWNER_DIED
		prev, err := t.CompareAndSwapUint32(addr, val, nval)
		if err != nil {
			return false, false
		}
		if prev != val {
			val = prev
			continue
		}
		if !pi && val&linux.FUTEX_WAITERS != 0 {
			m.Wake(t, addr, false, matchAny, 1)
		}
		return true, true
	}
	return false, true
}
