package linux

import "golang.org/x/sys/unix"

// Errno is a Linux error number. It is x/sys/unix's type, so the host's
// errors and the guest's share one set of values.
type Errno = unix.Errno

// ErrnoName returns the symbolic name of e ("ENOENT"), or "" if unknown.
func ErrnoName(e Errno) string { return unix.ErrnoName(e) }

// Restart errnos are kernel-internal: a handler returns them to ask for the
// syscall to be restarted after a signal. The guest never sees them.
const (
	ERESTARTSYS           = Errno(512)
	ERESTARTNOINTR        = Errno(513)
	ERESTARTNOHAND        = Errno(514)
	ERESTART_RESTARTBLOCK = Errno(516)
)

// MaxErrno is the largest value a syscall returns as -errno; return values
// in [-MaxErrno, -1] are errors.
const MaxErrno = 4095
