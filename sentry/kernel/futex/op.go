package futex

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"golang.org/x/sys/unix"
)

// Op is futex(2)'s op argument, decoded.
type Op struct {
	// Cmd is the command (linux.FUTEX_WAIT ...).
	Cmd int
	// Private is set by FUTEX_PRIVATE_FLAG.
	Private bool
	// ClockRealtime is set by FUTEX_CLOCK_REALTIME: the absolute
	// timeout of FUTEX_WAIT_BITSET counts on CLOCK_REALTIME.
	ClockRealtime bool
}

// ParseOp decodes futex(2)'s op argument. As in Linux (since 5.14, which
// dropped FUTEX_WAIT from the list), FUTEX_CLOCK_REALTIME is ENOSYS with
// any command but FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI and
// FUTEX_LOCK_PI2. Unknown commands are left to the caller (ENOSYS).
//
// How the handler maps futex(2)'s arguments (uaddr, op, val, timeout,
// uaddr2, val3) on the Manager, after ParseOp:
//
//	FUTEX_WAIT         Wait(uaddr, val, FUTEX_BITSET_MATCH_ANY); timeout is
//	                   relative, CLOCK_MONOTONIC
//	FUTEX_WAIT_BITSET  Wait(uaddr, val, val3); timeout is absolute
//	FUTEX_WAKE         Wake(uaddr, FUTEX_BITSET_MATCH_ANY, int(int32(val)))
//	FUTEX_WAKE_BITSET  Wake(uaddr, val3, int(int32(val)))
//	FUTEX_REQUEUE      Requeue(uaddr, uaddr2, int(int32(val)),
//	                   int(int32(uint32(timeout))))
//	FUTEX_CMP_REQUEUE  CmpRequeue(..., same counts, val3)
//	FUTEX_WAKE_OP      WakeOp(uaddr, uaddr2, int(int32(val)),
//	                   int(int32(uint32(timeout))), val3)
//	FUTEX_LOCK_PI      LockPI(uaddr, tid, try=false); timeout absolute,
//	                   CLOCK_REALTIME; ERESTARTSYS -> ERESTARTNOINTR
//	FUTEX_LOCK_PI2     as LOCK_PI, timeout CLOCK_MONOTONIC unless
//	                   ClockRealtime
//	FUTEX_TRYLOCK_PI   LockPI(uaddr, tid, try=true)
//	FUTEX_UNLOCK_PI    UnlockPI(uaddr, tid)
//	requeue-PI, FD     ENOSYS
func ParseOp(op int32) (Op, error) {
	o := Op{
		Cmd:           int(op & linux.FUTEX_CMD_MASK),
		Private:       op&linux.FUTEX_PRIVATE_FLAG != 0,
		ClockRealtime: op&linux.FUTEX_CLOCK_REALTIME != 0,
	}
	if o.ClockRealtime {
		switch o.Cmd {
		case linux.FUTEX_WAIT_BITSET, linux.FUTEX_WAIT_REQUEUE_PI, linux.FUTEX_LOCK_PI2:
		default:
			return Op{}, unix.ENOSYS
		}
	}
	return o, nil
}
