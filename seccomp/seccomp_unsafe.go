package seccomp

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Program is a BPF program ready for the seccomp(2) call. Build it with
// NewProgram before a raw clone so the child only reads memory.
type Program struct {
	fprog unix.SockFprog
	insns []unix.SockFilter // keeps the instructions alive
}

// NewProgram wraps prog for installation.
func NewProgram(prog []unix.SockFilter) (*Program, error) {
	if len(prog) == 0 || len(prog) > maxInstructions {
		return nil, fmt.Errorf("seccomp: program of %d instructions", len(prog))
	}
	p := &Program{insns: prog}
	p.fprog.Len = uint16(len(prog))
	p.fprog.Filter = &p.insns[0]
	return p, nil
}

// Install sets PR_SET_NO_NEW_PRIVS and installs p on every thread of the
// calling Go process (SECCOMP_FILTER_FLAG_TSYNC), since the Go runtime may
// run any goroutine on any thread.
func (p *Program) Install() error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("seccomp: PR_SET_NO_NEW_PRIVS: %w", err)
	}
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&p.fprog)))
	runtime.KeepAlive(p)
	if errno != 0 {
		return fmt.Errorf("seccomp: installing filter: %w", errno)
	}
	return nil
}

// InstallRaw installs p on the calling thread only, making nothing but raw
// system calls: it is safe in a child of a raw clone, where the Go runtime
// must not run (no allocation, no stack growth, no scheduler). It returns
// the errno of the first call that failed, or 0.
//
//go:nosplit
//go:norace
func (p *Program) InstallRaw() unix.Errno {
	if _, _, errno := unix.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0); errno != 0 {
		return errno
	}
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&p.fprog)))
	return errno
}
