package ptrace

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

// Thin, allocation-free wrappers over ptrace(2) and wait4(2). Every ptrace
// call must be made on the OS thread that traces tid.

func ptrace(req int, tid int, addr, data uintptr) error {
	_, _, e := unix.RawSyscall6(unix.SYS_PTRACE, uintptr(req), uintptr(tid), addr, data, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func getRegs(tid int, r *linux.PtraceRegs) error {
	return ptrace(unix.PTRACE_GETREGS, tid, 0, uintptr(unsafe.Pointer(r)))
}

func setRegs(tid int, r *linux.PtraceRegs) error {
	return ptrace(unix.PTRACE_SETREGS, tid, 0, uintptr(unsafe.Pointer(r)))
}

// getRegSet reads regset nt into buf and returns the number of bytes the
// kernel wrote.
func getRegSet(tid int, nt uintptr, buf []byte) (int, error) {
	iov := unix.Iovec{Base: &buf[0], Len: uint64(len(buf))}
	if err := ptrace(unix.PTRACE_GETREGSET, tid, nt, uintptr(unsafe.Pointer(&iov))); err != nil {
		return 0, err
	}
	return int(iov.Len), nil
}

func setRegSet(tid int, nt uintptr, buf []byte) error {
	iov := unix.Iovec{Base: &buf[0], Len: uint64(len(buf))}
	return ptrace(unix.PTRACE_SETREGSET, tid, nt, uintptr(unsafe.Pointer(&iov)))
}

func getSigInfo(tid int, si *linux.SignalInfo) error {
	var raw [linux.SignalInfoSize]byte
	if err := ptrace(unix.PTRACE_GETSIGINFO, tid, 0, uintptr(unsafe.Pointer(&raw))); err != nil {
		return err
	}
	si.Decode(raw[:])
	return nil
}

func setSigMask(tid int, mask uint64) error {
	return ptrace(unix.PTRACE_SETSIGMASK, tid, 8, uintptr(unsafe.Pointer(&mask)))
}

// wait4 waits for tid with __WALL, retrying on EINTR. It enters the
// scheduler's blocking-syscall path, so a long wait does not hold a P.
func wait4(tid int) (unix.WaitStatus, error) {
	_, status, err := wait4opts(tid, 0)
	return status, err
}

// wait4opts is wait4 with extra options (WNOHANG); it returns the id of
// the task reported, 0 if WNOHANG found none.
func wait4opts(tid int, opts int) (int, unix.WaitStatus, error) {
	var status unix.WaitStatus
	for {
		r, _, e := unix.Syscall6(unix.SYS_WAIT4, uintptr(tid), uintptr(unsafe.Pointer(&status)), uintptr(unix.WALL|opts), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, 0, e
		}
		return int(r), status, nil
	}
}

// ptraceRseqConfiguration is struct ptrace_rseq_configuration.
type ptraceRseqConfiguration struct {
	Pointer   uint64
	Size      uint32
	Signature uint32
	Flags     uint32
	_         uint32
}

func getRseqConfiguration(tid int, cfg *ptraceRseqConfiguration) error {
	return ptrace(unix.PTRACE_GET_RSEQ_CONFIGURATION, tid, unsafe.Sizeof(*cfg), uintptr(unsafe.Pointer(cfg)))
}

// kernelSigaction is the kernel's struct sigaction on amd64.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// saNoCldStop is SA_NOCLDSTOP.
const saNoCldStop = 1

// suppressStopSIGCHLD adds SA_NOCLDSTOP to the Sentry's SIGCHLD handler
// (the Go runtime's), keeping the handler itself. Every ptrace stop of a
// stub would otherwise send SIGCHLD to the Sentry and run a signal handler
// on some thread (often waking an idle one) for nothing: the tracer learns
// of the stop from wait4, which the kernel wakes either way. Exits still
// raise SIGCHLD.
func suppressStopSIGCHLD() error {
	var sa kernelSigaction
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD), 0, uintptr(unsafe.Pointer(&sa)), 8, 0, 0); e != 0 {
		return e
	}
	if sa.handler == 0 || sa.handler == 1 || sa.flags&saNoCldStop != 0 {
		// SIG_DFL and SIG_IGN discard SIGCHLD anyway.
		return nil
	}
	sa.flags |= saNoCldStop
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD), uintptr(unsafe.Pointer(&sa)), 0, 8, 0, 0); e != 0 {
		return e
	}
	return nil
}

func getEventMsg(tid int, msg *uint64) error {
	return ptrace(unix.PTRACE_GETEVENTMSG, tid, 0, uintptr(unsafe.Pointer(msg)))
}
