package linux

import (
	"encoding/binary"
	"time"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

func init() { registrars = append(registrars, registerSignal) }

func registerSignal(b *tableBuilder) {
	b.full(linux.SYS_RT_SIGACTION, RtSigaction)
	b.full(linux.SYS_RT_SIGPROCMASK, RtSigprocmask)
	b.full(linux.SYS_RT_SIGPENDING, RtSigpending)
	b.full(linux.SYS_RT_SIGSUSPEND, RtSigsuspend)
	b.full(linux.SYS_RT_SIGTIMEDWAIT, RtSigtimedwait)
	b.full(linux.SYS_RT_SIGQUEUEINFO, RtSigqueueinfo)
	b.full(linux.SYS_RT_TGSIGQUEUEINFO, RtTgsigqueueinfo)
	b.full(linux.SYS_RT_SIGRETURN, RtSigreturn)
	b.full(linux.SYS_SIGALTSTACK, Sigaltstack)
	b.full(linux.SYS_KILL, Kill)
	b.full(linux.SYS_TKILL, Tkill)
	b.full(linux.SYS_TGKILL, Tgkill)
	b.full(linux.SYS_PAUSE, Pause)
	b.full(linux.SYS_RESTART_SYSCALL, RestartSyscall)
}

// copyInSigset reads a sigset_t of size bytes (which must be 8).
func copyInSigset(t *kernel.Task, addr uintptr, size uint64) (linux.SignalSet, linux.Errno) {
	if size != linux.SignalSetSize {
		return 0, unix.EINVAL
	}
	var b [8]byte
	if _, err := t.MemoryManager().CopyIn(addr, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	return linux.SignalSet(binary.LittleEndian.Uint64(b[:])), 0
}

// copyOutSigset writes a sigset_t.
func copyOutSigset(t *kernel.Task, addr uintptr, set linux.SignalSet) linux.Errno {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(set))
	if _, err := t.MemoryManager().CopyOut(addr, b[:]); err != nil {
		return unix.EFAULT
	}
	return 0
}

// RtSigaction implements rt_sigaction(2).
func RtSigaction(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	sig, actAddr, oldAddr, size := linux.Signal(args[0].Int()), args[1].Pointer(), args[2].Pointer(), args[3].Uint64()
	if size != linux.SignalSetSize || !sig.Valid() {
		return 0, unix.EINVAL
	}
	var act linux.SigAction
	if actAddr != 0 {
		if sig == linux.SIGKILL || sig == linux.SIGSTOP {
			return 0, unix.EINVAL
		}
		b := make([]byte, linux.SigActionSize)
		if _, err := t.MemoryManager().CopyIn(actAddr, b); err != nil {
			return 0, unix.EFAULT
		}
		act.Decode(b)
	}
	var old linux.SigAction
	if actAddr != 0 {
		old = t.SetSignalAction(sig, act)
	} else {
		old = t.SignalAction(sig)
	}
	if oldAddr != 0 {
		b := make([]byte, linux.SigActionSize)
		old.Encode(b)
		if _, err := t.MemoryManager().CopyOut(oldAddr, b); err != nil {
			return 0, unix.EFAULT
		}
	}
	return 0, 0
}

// sigprocmask's how values.
const (
	sigBlock   = 0
	sigUnblock = 1
	sigSetmask = 2
)

// RtSigprocmask implements rt_sigprocmask(2).
func RtSigprocmask(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	how, setAddr, oldAddr, size := args[0].Int(), args[1].Pointer(), args[2].Pointer(), args[3].Uint64()
	if size != linux.SignalSetSize {
		return 0, unix.EINVAL
	}
	old := t.SignalMask()
	if setAddr != 0 {
		set, errno := copyInSigset(t, setAddr, size)
		if errno != 0 {
			return 0, errno
		}
		switch how {
		case sigBlock:
			t.SetSignalMask(old | set)
		case sigUnblock:
			t.SetSignalMask(old &^ set)
		case sigSetmask:
			t.SetSignalMask(set)
		default:
			return 0, unix.EINVAL
		}
	}
	if oldAddr != 0 {
		if errno := copyOutSigset(t, oldAddr, old); errno != 0 {
			return 0, errno
		}
	}
	return 0, 0
}

// RtSigpending implements rt_sigpending(2): the pending signals that are
// blocked.
func RtSigpending(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	addr, size := args[0].Pointer(), args[1].Uint64()
	if size > linux.SignalSetSize {
		return 0, unix.EINVAL
	}
	set := t.PendingSignals() & t.SignalMask()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(set))
	if _, err := t.MemoryManager().CopyOut(addr, b[:size]); err != nil {
		return 0, unix.EFAULT
	}
	return 0, 0
}

// RtSigsuspend implements rt_sigsuspend(2): it waits with the given mask
// until a signal is delivered; the old mask returns after the handler.
func RtSigsuspend(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	set, errno := copyInSigset(t, args[0].Pointer(), args[1].Uint64())
	if errno != 0 {
		return 0, errno
	}
	t.SetSavedSignalMask(set)
	<-t.Interrupted()
	return 0, linux.ERESTARTNOHAND
}

// Pause implements pause(2).
func Pause(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	<-t.Interrupted()
	return 0, linux.ERESTARTNOHAND
}

// RtSigtimedwait implements rt_sigtimedwait(2).
func RtSigtimedwait(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	setAddr, infoAddr, tsAddr, size := args[0].Pointer(), args[1].Pointer(), args[2].Pointer(), args[3].Uint64()
	set, errno := copyInSigset(t, setAddr, size)
	if errno != 0 {
		return 0, errno
	}
	var done <-chan time.Time
	if tsAddr != 0 {
		ts, errno := copyInTimespec(t, tsAddr)
		if errno != 0 {
			return 0, errno
		}
		if !timespecValid(ts) {
			return 0, unix.EINVAL
		}
		timer := time.NewTimer(time.Duration(timespecNanos(ts)))
		defer timer.Stop()
		done = timer.C
	}
	info, errno := t.SigWait(set, done)
	if errno != 0 {
		return 0, errno
	}
	if infoAddr != 0 {
		b := make([]byte, linux.SignalInfoSize)
		info.Encode(b)
		if _, err := t.MemoryManager().CopyOut(infoAddr, b); err != nil {
			return 0, unix.EFAULT
		}
	}
	return uintptr(info.Signo), 0
}

// copyInSiginfo reads a siginfo_t for the sigqueueinfo calls.
func copyInSiginfo(t *kernel.Task, addr uintptr) (linux.SignalInfo, linux.Errno) {
	b := make([]byte, linux.SignalInfoSize)
	if _, err := t.MemoryManager().CopyIn(addr, b); err != nil {
		return linux.SignalInfo{}, unix.EFAULT
	}
	var info linux.SignalInfo
	info.Decode(b)
	return info, 0
}

// RtSigqueueinfo implements rt_sigqueueinfo(2).
func RtSigqueueinfo(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	pid, sig := args[0].Int(), linux.Signal(args[1].Int())
	info, errno := copyInSiginfo(t, args[2].Pointer())
	if errno != 0 {
		return 0, errno
	}
	// Only the kernel may claim kernel codes, except to oneself.
	if (info.Code >= 0 || info.Code == linux.SI_TKILL) && pid != t.ThreadGroup().PID() {
		return 0, unix.EPERM
	}
	info.Signo = int32(sig)
	if pid <= 0 {
		return 0, unix.ESRCH
	}
	return 0, t.Kill(pid, &info)
}

// RtTgsigqueueinfo implements rt_tgsigqueueinfo(2).
func RtTgsigqueueinfo(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	tgid, tid, sig := args[0].Int(), args[1].Int(), linux.Signal(args[2].Int())
	info, errno := copyInSiginfo(t, args[3].Pointer())
	if errno != 0 {
		return 0, errno
	}
	if tgid <= 0 || tid <= 0 {
		return 0, unix.EINVAL
	}
	if (info.Code >= 0 || info.Code == linux.SI_TKILL) && tgid != t.ThreadGroup().PID() {
		return 0, unix.EPERM
	}
	info.Signo = int32(sig)
	return 0, t.Tgkill(tgid, tid, &info)
}

// RtSigreturn implements rt_sigreturn(2).
func RtSigreturn(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return 0, t.Sigreturn()
}

// Sigaltstack implements sigaltstack(2).
func Sigaltstack(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	ssAddr, oldAddr := args[0].Pointer(), args[1].Pointer()
	cur := t.SignalStack()
	onStack := t.OnSignalStack()
	if oldAddr != 0 {
		old := cur
		if old.Size == 0 && old.Addr == 0 && old.Flags == 0 {
			old.Flags = linux.SS_DISABLE
		}
		if onStack {
			old.Flags |= linux.SS_ONSTACK
		}
		b := make([]byte, linux.SignalStackSize)
		old.Encode(b)
		if _, err := t.MemoryManager().CopyOut(oldAddr, b); err != nil {
			return 0, unix.EFAULT
		}
	}
	if ssAddr != 0 {
		b := make([]byte, linux.SignalStackSize)
		if _, err := t.MemoryManager().CopyIn(ssAddr, b); err != nil {
			return 0, unix.EFAULT
		}
		var ss linux.SignalStack
		ss.Decode(b)
		if onStack {
			return 0, unix.EPERM
		}
		mode := ss.Flags &^ linux.SS_FLAG_BITS
		switch mode {
		case linux.SS_DISABLE:
			ss = linux.SignalStack{Flags: linux.SS_DISABLE}
		case 0, linux.SS_ONSTACK:
			if ss.Size < arch.MinSigStackSize(len(t.Arch().FP)) {
				return 0, unix.ENOMEM
			}
			ss.Flags &= linux.SS_FLAG_BITS
		default:
			return 0, unix.EINVAL
		}
		t.SetSignalStack(ss)
	}
	return 0, 0
}

// Kill implements kill(2).
func Kill(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	pid, sig := args[0].Int(), linux.Signal(args[1].Int())
	return 0, t.Kill(pid, t.NewSignalInfo(sig, linux.SI_USER))
}

// Tkill implements tkill(2).
func Tkill(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	tid, sig := args[0].Int(), linux.Signal(args[1].Int())
	return 0, t.Tgkill(0, tid, t.NewSignalInfo(sig, linux.SI_TKILL))
}

// Tgkill implements tgkill(2).
func Tgkill(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	tgid, tid, sig := args[0].Int(), args[1].Int(), linux.Signal(args[2].Int())
	if tgid <= 0 {
		return 0, unix.EINVAL
	}
	return 0, t.Tgkill(tgid, tid, t.NewSignalInfo(sig, linux.SI_TKILL))
}

// RestartSyscall implements restart_syscall(2).
func RestartSyscall(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return t.RestartSyscall()
}
