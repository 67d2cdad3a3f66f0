package linux

import "encoding/binary"

// SignalInfoSize is sizeof(siginfo_t).
const SignalInfoSize = 128

// SignalInfo is siginfo_t on amd64: signo, errno and code, 4 bytes of
// padding, then a union whose layout depends on the signal and code. The
// accessors below name the union's fields at their amd64 offsets.
type SignalInfo struct {
	Signo int32
	Errno int32
	Code  int32
	// Fields is the union, starting at byte 16 of the structure.
	Fields [SignalInfoSize - 16]byte
}

// Encode writes the kernel's byte layout of si into b (at least
// SignalInfoSize bytes).
func (si *SignalInfo) Encode(b []byte) {
	_ = b[SignalInfoSize-1]
	binary.LittleEndian.PutUint32(b[0:], uint32(si.Signo))
	binary.LittleEndian.PutUint32(b[4:], uint32(si.Errno))
	binary.LittleEndian.PutUint32(b[8:], uint32(si.Code))
	binary.LittleEndian.PutUint32(b[12:], 0)
	copy(b[16:], si.Fields[:])
}

// Decode reads si from the kernel's byte layout in b.
func (si *SignalInfo) Decode(b []byte) {
	_ = b[SignalInfoSize-1]
	si.Signo = int32(binary.LittleEndian.Uint32(b[0:]))
	si.Errno = int32(binary.LittleEndian.Uint32(b[4:]))
	si.Code = int32(binary.LittleEndian.Uint32(b[8:]))
	copy(si.Fields[:], b[16:SignalInfoSize])
}

func (si *SignalInfo) u32(off int) uint32 { return binary.LittleEndian.Uint32(si.Fields[off-16:]) }
func (si *SignalInfo) u64(off int) uint64 { return binary.LittleEndian.Uint64(si.Fields[off-16:]) }
func (si *SignalInfo) put32(off int, v uint32) {
	binary.LittleEndian.PutUint32(si.Fields[off-16:], v)
}
func (si *SignalInfo) put64(off int, v uint64) {
	binary.LittleEndian.PutUint64(si.Fields[off-16:], v)
}

// Addr is si_addr (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP).
func (si *SignalInfo) Addr() uint64 { return si.u64(16) }

// SetAddr sets si_addr.
func (si *SignalInfo) SetAddr(a uint64) { si.put64(16, a) }

// PID is si_pid (kill, sigqueue, SIGCHLD).
func (si *SignalInfo) PID() int32 { return int32(si.u32(16)) }

// SetPID sets si_pid.
func (si *SignalInfo) SetPID(p int32) { si.put32(16, uint32(p)) }

// UID is si_uid.
func (si *SignalInfo) UID() uint32 { return si.u32(20) }

// SetUID sets si_uid.
func (si *SignalInfo) SetUID(u uint32) { si.put32(20, u) }

// Status is si_status (SIGCHLD).
func (si *SignalInfo) Status() int32 { return int32(si.u32(24)) }

// SetStatus sets si_status.
func (si *SignalInfo) SetStatus(s int32) { si.put32(24, uint32(s)) }

// Value is si_value (sigqueue, POSIX timers), as a 64-bit sigval.
func (si *SignalInfo) Value() uint64 { return si.u64(24) }

// SetValue sets si_value.
func (si *SignalInfo) SetValue(v uint64) { si.put64(24, v) }

// TimerID is si_timerid (POSIX timers).
func (si *SignalInfo) TimerID() int32 { return int32(si.u32(16)) }

// SetTimerID sets si_timerid.
func (si *SignalInfo) SetTimerID(id int32) { si.put32(16, uint32(id)) }

// Overrun is si_overrun (POSIX timers).
func (si *SignalInfo) Overrun() int32 { return int32(si.u32(20)) }

// SetOverrun sets si_overrun.
func (si *SignalInfo) SetOverrun(n int32) { si.put32(20, uint32(n)) }

// Utime and Stime are si_utime and si_stime (SIGCHLD), in clock ticks.
func (si *SignalInfo) Utime() int64 { return int64(si.u64(32)) }

// SetUtime sets si_utime.
func (si *SignalInfo) SetUtime(t int64) { si.put64(32, uint64(t)) }

// Stime is si_stime.
func (si *SignalInfo) Stime() int64 { return int64(si.u64(40)) }

// SetStime sets si_stime.
func (si *SignalInfo) SetStime(t int64) { si.put64(40, uint64(t)) }
