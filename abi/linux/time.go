package linux

import "encoding/binary"

// Clock IDs (include/uapi/linux/time.h).
const (
	CLOCK_REALTIME           = 0
	CLOCK_MONOTONIC          = 1
	CLOCK_PROCESS_CPUTIME_ID = 2
	CLOCK_THREAD_CPUTIME_ID  = 3
	CLOCK_MONOTONIC_RAW      = 4
	CLOCK_REALTIME_COARSE    = 5
	CLOCK_MONOTONIC_COARSE   = 6
	CLOCK_BOOTTIME           = 7
	CLOCK_REALTIME_ALARM     = 8
	CLOCK_BOOTTIME_ALARM     = 9
	CLOCK_TAI                = 11
)

// TimespecSize is sizeof(struct timespec) on amd64.
const TimespecSize = 16

// Timespec is struct timespec.
type Timespec struct {
	Sec  int64
	Nsec int64
}

// NsecToTimespec converts a nanosecond count to a Timespec.
func NsecToTimespec(ns int64) Timespec {
	ts := Timespec{Sec: ns / 1e9, Nsec: ns % 1e9}
	if ts.Nsec < 0 {
		ts.Sec--
		ts.Nsec += 1e9
	}
	return ts
}

// Encode writes ts in the kernel's layout into b (TimespecSize bytes).
func (ts *Timespec) Encode(b []byte) {
	_ = b[TimespecSize-1]
	binary.LittleEndian.PutUint64(b[0:], uint64(ts.Sec))
	binary.LittleEndian.PutUint64(b[8:], uint64(ts.Nsec))
}

// Decode reads ts from the kernel's layout in b.
func (ts *Timespec) Decode(b []byte) {
	_ = b[TimespecSize-1]
	ts.Sec = int64(binary.LittleEndian.Uint64(b[0:]))
	ts.Nsec = int64(binary.LittleEndian.Uint64(b[8:]))
}
