package futex

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"golang.org/x/sys/unix"
)

// WakeOp is a decoded FUTEX_WAKE_OP operation word.
type WakeOp struct {
	// Op is the operation (linux.FUTEX_OP_SET ... FUTEX_OP_XOR); other
	// values make WakeOp fail with ENOSYS without touching memory.
	Op uint32
	// Oparg is the operand, already shifted when the word had
	// FUTEX_OP_OPARG_SHIFT.
	Oparg uint32
	// Cmp is the comparison (linux.FUTEX_OP_CMP_EQ ... CMP_GE); other
	// values make WakeOp fail with ENOSYS after the operation is done,
	// as in Linux.
	Cmp uint32
	// Cmparg is the sign-extended 12-bit comparison operand.
	Cmparg int32
}

// signExtend12 sign-extends the low 12 bits of v.
func signExtend12(v uint32) int32 { return int32(v<<20) >> 20 }

// DecodeWakeOp decodes FUTEX_WAKE_OP's operation word (val3) the way
// Linux does: a 3-bit operation, a 4-bit comparison, and two signed
// 12-bit arguments; with FUTEX_OP_OPARG_SHIFT the operand is 1 << oparg,
// where an out-of-range shift is reduced modulo 32 (Linux logs and does
// the same).
func DecodeWakeOp(encoded uint32) WakeOp {
	op := WakeOp{
		Op:     (encoded >> 28) & 7,
		Cmp:    (encoded >> 24) & 15,
		Oparg:  uint32(signExtend12(encoded >> 12)),
		Cmparg: signExtend12(encoded),
	}
	if encoded&(linux.FUTEX_OP_OPARG_SHIFT<<28) != 0 {
		op.Oparg = 1 << (op.Oparg & 31)
	}
	return op
}

// apply returns the new value of a word holding old.
func (op WakeOp) apply(old uint32) uint32 {
	switch op.Op {
	case linux.FUTEX_OP_SET:
		return op.Oparg
	case linux.FUTEX_OP_ADD:
		return old + op.Oparg
	case linux.FUTEX_OP_OR:
		return old | op.Oparg
	case linux.FUTEX_OP_ANDN:
		return old &^ op.Oparg
	default: // FUTEX_OP_XOR; validated by the caller.
		return old ^ op.Oparg
	}
}

// compare evaluates the comparison on the word's old value (as a signed
// int, as in Linux).
func (op WakeOp) compare(old uint32) (bool, error) {
	o := int32(old)
	switch op.Cmp {
	case linux.FUTEX_OP_CMP_EQ:
		return o == op.Cmparg, nil
	case linux.FUTEX_OP_CMP_NE:
		return o != op.Cmparg, nil
	case linux.FUTEX_OP_CMP_LT:
		return o < op.Cmparg, nil
	case linux.FUTEX_OP_CMP_LE:
		return o <= op.Cmparg, nil
	case linux.FUTEX_OP_CMP_GT:
		return o > op.Cmparg, nil
	case linux.FUTEX_OP_CMP_GE:
		return o >= op.Cmparg, nil
	}
	return false, unix.ENOSYS
}

// atomicApply performs op on the word at addr with a compare-and-swap loop
// and returns the value it replaced.
func atomicApply(t Target, addr uintptr, op WakeOp) (uint32, error) {
	old, err := t.LoadUint32(addr)
	if err != nil {
		return 0, err
	}
	for {
		prev, err := t.CompareAndSwapUint32(addr, old, op.apply(old))
		if err != nil {
			return 0, err
		}
		if prev == old {
			return old, nil
		}
		old = prev
	}
}

// WakeOp implements FUTEX_WAKE_OP: with the queues of both words locked,
// it atomically applies the decoded operation word encoded to the word at
// addr2, wakes up to n1 waiters on addr1, and, if the comparison holds for
// the old value of the word at addr2, up to n2 waiters on addr2. It
// returns the total woken. Bitsets are ignored, and n <= 0 wakes one
// waiter, as in Linux. An unknown operation is ENOSYS with memory
// untouched; an unknown comparison is ENOSYS after the operation is done.
func (m *Manager) WakeOp(t Target, addr1, addr2 uintptr, private bool, n1, n2 int, encoded uint32) (int, error) {
	k1, err := m.key(t, addr1, private)
	if err != nil {
		return 0, err
	}
	k2, err := m.key(t, addr2, private)
	if err != nil {
		return 0, err
	}
	op := DecodeWakeOp(encoded)
	if op.Op > linux.FUTEX_OP_XOR {
		return 0, unix.ENOSYS
	}
	b1, b2 := m.lockTwo(k1, k2)
	defer unlockTwo(b1, b2)
	old, err := atomicApply(t, addr2, op)
	if err != nil {
		return 0, err
	}
	cond, err := op.compare(old)
	if err != nil {
		return 0, err
	}
	woken, err := b1.wakeKeyLocked(k1, matchAny, n1)
	if err != nil || !cond {
		return woken, err
	}
	n, err := b2.wakeKeyLocked(k2, matchAny, n2)
	return woken + n, err
}
