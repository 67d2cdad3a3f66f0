package linux

import "encoding/binary"

// futex(2) operations (include/uapi/linux/futex.h). The low bits of the
// op argument select the command; FUTEX_PRIVATE_FLAG and
// FUTEX_CLOCK_REALTIME modify it.
const (
	FUTEX_WAIT            = 0
	FUTEX_WAKE            = 1
	FUTEX_FD              = 2
	FUTEX_REQUEUE         = 3
	FUTEX_CMP_REQUEUE     = 4
	FUTEX_WAKE_OP         = 5
	FUTEX_LOCK_PI         = 6
	FUTEX_UNLOCK_PI       = 7
	FUTEX_TRYLOCK_PI      = 8
	FUTEX_WAIT_BITSET     = 9
	FUTEX_WAKE_BITSET     = 10
	FUTEX_WAIT_REQUEUE_PI = 11
	FUTEX_CMP_REQUEUE_PI  = 12
	FUTEX_LOCK_PI2        = 13

	// FUTEX_PRIVATE_FLAG says the futex is not shared with another
	// address space, so it is keyed by virtual address.
	FUTEX_PRIVATE_FLAG = 128
	// FUTEX_CLOCK_REALTIME makes a wait's timeout count on
	// CLOCK_REALTIME instead of CLOCK_MONOTONIC.
	FUTEX_CLOCK_REALTIME = 256
	// FUTEX_CMD_MASK extracts the command from an op.
	FUTEX_CMD_MASK = ^(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)

	FUTEX_WAIT_PRIVATE            = FUTEX_WAIT | FUTEX_PRIVATE_FLAG
	FUTEX_WAKE_PRIVATE            = FUTEX_WAKE | FUTEX_PRIVATE_FLAG
	FUTEX_REQUEUE_PRIVATE         = FUTEX_REQUEUE | FUTEX_PRIVATE_FLAG
	FUTEX_CMP_REQUEUE_PRIVATE     = FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG
	FUTEX_WAKE_OP_PRIVATE         = FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG
	FUTEX_LOCK_PI_PRIVATE         = FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG
	FUTEX_LOCK_PI2_PRIVATE        = FUTEX_LOCK_PI2 | FUTEX_PRIVATE_FLAG
	FUTEX_UNLOCK_PI_PRIVATE       = FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG
	FUTEX_TRYLOCK_PI_PRIVATE      = FUTEX_TRYLOCK_PI | FUTEX_PRIVATE_FLAG
	FUTEX_WAIT_BITSET_PRIVATE     = FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG
	FUTEX_WAKE_BITSET_PRIVATE     = FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG
	FUTEX_WAIT_REQUEUE_PI_PRIVATE = FUTEX_WAIT_REQUEUE_PI | FUTEX_PRIVATE_FLAG
	FUTEX_CMP_REQUEUE_PI_PRIVATE  = FUTEX_CMP_REQUEUE_PI | FUTEX_PRIVATE_FLAG
)

// FUTEX_BITSET_MATCH_ANY is the bitset of FUTEX_WAIT and FUTEX_WAKE: it
// matches every waiter.
const FUTEX_BITSET_MATCH_ANY = 0xffffffff

// Bits of a PI or robust futex word: the owner's TID in the low bits, and
// two flags above it.
const (
	// FUTEX_WAITERS is set while tasks wait in the kernel.
	FUTEX_WAITERS = 0x80000000
	// FUTEX_OWNER_DIED is set by the kernel when the owner exited
	// without unlocking.
	FUTEX_OWNER_DIED = 0x40000000
	// FUTEX_TID_MASK extracts the owner's TID.
	FUTEX_TID_MASK = 0x3fffffff
)

// FUTEX_WAKE_OP encoding: the 32-bit op word (passed as val3) is
//
//	bits 28-30: operation (FUTEX_OP_SET ...); bit 31: FUTEX_OP_OPARG_SHIFT
//	bits 24-27: comparison (FUTEX_OP_CMP_EQ ...)
//	bits 12-23: oparg, a signed 12-bit value
//	bits  0-11: cmparg, a signed 12-bit value
const (
	FUTEX_OP_SET  = 0 // uaddr2 = oparg
	FUTEX_OP_ADD  = 1 // uaddr2 += oparg
	FUTEX_OP_OR   = 2 // uaddr2 |= oparg
	FUTEX_OP_ANDN = 3 // uaddr2 &= ~oparg
	FUTEX_OP_XOR  = 4 // uaddr2 ^= oparg

	// FUTEX_OP_OPARG_SHIFT, or-ed into the operation, makes the operand
	// 1 << oparg.
	FUTEX_OP_OPARG_SHIFT = 8

	FUTEX_OP_CMP_EQ = 0 // if (oldval == cmparg) wake
	FUTEX_OP_CMP_NE = 1 // if (oldval != cmparg) wake
	FUTEX_OP_CMP_LT = 2 // if (oldval < cmparg) wake
	FUTEX_OP_CMP_LE = 3 // if (oldval <= cmparg) wake
	FUTEX_OP_CMP_GT = 4 // if (oldval > cmparg) wake
	FUTEX_OP_CMP_GE = 5 // if (oldval >= cmparg) wake
)

// FutexOp encodes a FUTEX_WAKE_OP operation word, like the FUTEX_OP macro
// of <linux/futex.h>.
func FutexOp(op, oparg, cmp, cmparg uint32) uint32 {
	return (op&0xf)<<28 | (cmp&0xf)<<24 | (oparg&0xfff)<<12 | cmparg&0xfff
}

// ROBUST_LIST_LIMIT bounds how many entries of a robust list the kernel
// walks at thread exit, so a cyclic or endless list cannot hang it.
const ROBUST_LIST_LIMIT = 2048

// RobustListHeadSize is sizeof(struct robust_list_head) on amd64, the only
// length set_robust_list(2) accepts.
const RobustListHeadSize = 24

// RobustListHead is struct robust_list_head. Each list entry (struct
// robust_list) is just its next pointer; the futex word of an entry is at
// entry + FutexOffset. The low bit of a pointer (List, an entry's next, or
// ListOpPending) marks the entry it points to as a PI futex.
type RobustListHead struct {
	// List is the first entry; a list ends when it points back to the
	// head.
	List uint64
	// FutexOffset is the signed offset from an entry to its futex word.
	FutexOffset int64
	// ListOpPending is the entry being locked or unlocked, or 0.
	ListOpPending uint64
}

// Encode writes h in the kernel's layout into b (RobustListHeadSize bytes).
func (h *RobustListHead) Encode(b []byte) {
	_ = b[RobustListHeadSize-1]
	binary.LittleEndian.PutUint64(b[0:], h.List)
	binary.LittleEndian.PutUint64(b[8:], uint64(h.FutexOffset))
	binary.LittleEndian.PutUint64(b[16:], h.ListOpPending)
}

// Decode reads h from the kernel's layout in b.
func (h *RobustListHead) Decode(b []byte) {
	_ = b[RobustListHeadSize-1]
	h.List = binary.LittleEndian.Uint64(b[0:])
	h.FutexOffset = int64(binary.LittleEndian.Uint64(b[8:]))
	h.ListOpPending = binary.LittleEndian.Uint64(b[16:])
}
