package linux

import "encoding/binary"

// Resource numbers for getrlimit(2), setrlimit(2) and prlimit(2)
// (include/uapi/asm-generic/resource.h).
const (
	RLIMIT_CPU        = 0
	RLIMIT_FSIZE      = 1
	RLIMIT_DATA       = 2
	RLIMIT_STACK      = 3
	RLIMIT_CORE       = 4
	RLIMIT_RSS        = 5
	RLIMIT_NPROC      = 6
	RLIMIT_NOFILE     = 7
	RLIMIT_MEMLOCK    = 8
	RLIMIT_AS         = 9
	RLIMIT_LOCKS      = 10
	RLIMIT_SIGPENDING = 11
	RLIMIT_MSGQUEUE   = 12
	RLIMIT_NICE       = 13
	RLIMIT_RTPRIO     = 14
	RLIMIT_RTTIME     = 15

	// RLIM_NLIMITS is the number of resources.
	RLIM_NLIMITS = 16
)

// RLimInfinity is RLIM_INFINITY (RLIM64_INFINITY): no limit.
const RLimInfinity = ^uint64(0)

// NrOpen is the default of /proc/sys/fs/nr_open: no RLIMIT_NOFILE hard
// limit may exceed it.
const NrOpen = 1 << 20

// RLimit64Size is sizeof(struct rlimit64), and on amd64 also of struct
// rlimit: two 64-bit values.
const RLimit64Size = 16

// RLimit64 is struct rlimit64: a soft (current) and a hard (maximum) limit.
type RLimit64 struct {
	Cur uint64
	Max uint64
}

// Encode writes r into b (RLimit64Size bytes) in the amd64 layout.
func (r RLimit64) Encode(b []byte) {
	_ = b[RLimit64Size-1]
	binary.LittleEndian.PutUint64(b[0:], r.Cur)
	binary.LittleEndian.PutUint64(b[8:], r.Max)
}

// DecodeRLimit64 reads a struct rlimit64 from b (RLimit64Size bytes).
func DecodeRLimit64(b []byte) RLimit64 {
	_ = b[RLimit64Size-1]
	return RLimit64{Cur: binary.LittleEndian.Uint64(b[0:]), Max: binary.LittleEndian.Uint64(b[8:])}
}
