package linux

import (
	"encoding/binary"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

func init() { registrars = append(registrars, registerWait) }

func registerWait(b *tableBuilder) {
	b.full(linux.SYS_WAIT4, Wait4)
	b.partial(linux.SYS_WAITID, Waitid, "P_PIDFD is EINVAL")
	b.partial(linux.SYS_GETRUSAGE, Getrusage, "CPU times and (for RUSAGE_SELF/THREAD) maximum resident size; the other counters are 0")
	b.full(linux.SYS_TIMES, Times)
}

// waitid's idtype values.
const (
	pAll   = 0
	pPID   = 1
	pPGID  = 2
	pPIDFD = 3
)

// rusageSize is sizeof(struct rusage).
const rusageSize = 144

// encodeRusage writes a struct rusage with the given CPU times and maximum
// resident set size (KiB).
func encodeRusage(user, sys int64, maxRSSKiB int64) []byte {
	b := make([]byte, rusageSize)
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(user/1e9))
	le.PutUint64(b[8:], uint64(user%1e9/1e3))
	le.PutUint64(b[16:], uint64(sys/1e9))
	le.PutUint64(b[24:], uint64(sys%1e9/1e3))
	le.PutUint64(b[32:], uint64(maxRSSKiB))
	return b
}

// Wait4 implements wait4(2).
func Wait4(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	pid, statusAddr, options, rusageAddr := args[0].Int(), args[1].Pointer(), int(args[2].Uint()), args[3].Pointer()
	if options&^(kernel.WNOHANG|kernel.WUNTRACED|kernel.WCONTINUED|kernel.WNOTHREAD|kernel.WALL|kernel.WCLONE) != 0 {
		return 0, unix.EINVAL
	}
	o := kernel.WaitOptions{
		Events: kernel.WEXITED,
		NoHang: options&kernel.WNOHANG != 0,
		Clone:  options&kernel.WCLONE != 0,
		All:    options&kernel.WALL != 0,
	}
	if options&kernel.WUNTRACED != 0 {
		o.Events |= kernel.WSTOPPED
	}
	if options&kernel.WCONTINUED != 0 {
		o.Events |= kernel.WCONTINUED
	}
	switch {
	case pid == -1:
	case pid == 0:
		o.PGID = t.ThreadGroup().ProcessGroupID()
	case pid < -1:
		if pid == -(1 << 31) {
			return 0, unix.ESRCH
		}
		o.PGID = -pid
	default:
		o.PID = pid
	}
	res, errno := t.Wait(o)
	if errno != 0 {
		return 0, errno
	}
	if res.PID == 0 {
		return 0, 0
	}
	if statusAddr != 0 {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], res.WaitStatus)
		if _, err := t.MemoryManager().CopyOut(statusAddr, b[:]); err != nil {
			return 0, unix.EFAULT
		}
	}
	if rusageAddr != 0 {
		if _, err := t.MemoryManager().CopyOut(rusageAddr, encodeRusage(res.UserNanos, res.SysNanos, 0)); err != nil {
			return 0, unix.EFAULT
		}
	}
	return uintptr(res.PID), 0
}

// Waitid implements waitid(2).
func Waitid(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	idtype, id, infoAddr, options, rusageAddr := args[0].Int(), args[1].Int(), args[2].Pointer(), int(args[3].Uint()), args[4].Pointer()
	known := kernel.WNOHANG | kernel.WEXITED | kernel.WSTOPPED | kernel.WCONTINUED | kernel.WNOWAIT |
		kernel.WNOTHREAD | kernel.WALL | kernel.WCLONE
	if options&^known != 0 || options&(kernel.WEXITED|kernel.WSTOPPED|kernel.WCONTINUED) == 0 {
		return 0, unix.EINVAL
	}
	o := kernel.WaitOptions{
		Events: options & (kernel.WEXITED | kernel.WSTOPPED | kernel.WCONTINUED),
		NoHang: options&kernel.WNOHANG != 0,
		NoWait: options&kernel.WNOWAIT != 0,
		Clone:  options&kernel.WCLONE != 0,
		All:    options&kernel.WALL != 0,
	}
	switch idtype {
	case pAll:
	case pPID:
		if id <= 0 {
			return 0, unix.EINVAL
		}
		o.PID = id
	case pPGID:
		if id < 0 {
			return 0, unix.EINVAL
		}
		o.PGID = id
		if id == 0 {
			o.PGID = t.ThreadGroup().ProcessGroupID()
		}
	default:
		return 0, unix.EINVAL
	}
	res, errno := t.Wait(o)
	if errno != 0 {
		return 0, errno
	}
	if infoAddr != 0 {
		info := linux.SignalInfo{}
		if res.PID != 0 {
			info.Signo = int32(linux.SIGCHLD)
			info.Code = res.Code
			info.SetPID(res.PID)
			info.SetUID(res.UID)
			info.SetStatus(res.Status)
		}
		b := make([]byte, linux.SignalInfoSize)
		info.Encode(b)
		if _, err := t.MemoryManager().CopyOut(infoAddr, b); err != nil {
			return 0, unix.EFAULT
		}
	}
	if rusageAddr != 0 {
		if _, err := t.MemoryManager().CopyOut(rusageAddr, encodeRusage(res.UserNanos, res.SysNanos, 0)); err != nil {
			return 0, unix.EFAULT
		}
	}
	return 0, 0
}

// getrusage's who values.
const (
	rusageSelf     = 0
	rusageChildren = -1
	rusageThread   = 1
)

// Getrusage implements getrusage(2).
func Getrusage(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	who, addr := args[0].Int(), args[1].Pointer()
	var user, sys, rss int64
	switch who {
	case rusageSelf:
		user, sys = t.ThreadGroup().CPUTimes()
		rss = int64(t.MemoryManager().ResidentSize() / 1024)
	case rusageChildren:
		user, sys = t.ThreadGroup().ChildrenCPUTimes()
	case rusageThread:
		user, sys = t.CPUTimes()
		rss = int64(t.MemoryManager().ResidentSize() / 1024)
	default:
		return 0, unix.EINVAL
	}
	if _, err := t.MemoryManager().CopyOut(addr, encodeRusage(user, sys, rss)); err != nil {
		return 0, unix.EFAULT
	}
	return 0, 0
}

// clockTicks is USER_HZ, the unit of times(2) and /proc.
const clockTicks = 100

// Times implements times(2): the process's and its reaped children's CPU
// times in clock ticks, and the elapsed ticks since boot.
func Times(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	addr := args[0].Pointer()
	if addr != 0 {
		tg := t.ThreadGroup()
		u, s := tg.CPUTimes()
		cu, cs := tg.ChildrenCPUTimes()
		ticks := func(ns int64) uint64 { return uint64(ns / (1e9 / clockTicks)) }
		b := make([]byte, 32)
		le := binary.LittleEndian
		le.PutUint64(b[0:], ticks(u))
		le.PutUint64(b[8:], ticks(s))
		le.PutUint64(b[16:], ticks(cu))
		le.PutUint64(b[24:], ticks(cs))
		if _, err := t.MemoryManager().CopyOut(addr, b); err != nil {
			return 0, unix.EFAULT
		}
	}
	return uintptr(t.Kernel().MonotonicNanos() / (1e9 / clockTicks)), 0
}
