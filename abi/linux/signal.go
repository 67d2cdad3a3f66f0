package linux

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// Signal is a signal number (1..64).
type Signal int

// The standard signals, as x/sys/unix numbers them on amd64.
const (
	SIGHUP    = Signal(unix.SIGHUP)
	SIGINT    = Signal(unix.SIGINT)
	SIGQUIT   = Signal(unix.SIGQUIT)
	SIGILL    = Signal(unix.SIGILL)
	SIGTRAP   = Signal(unix.SIGTRAP)
	SIGABRT   = Signal(unix.SIGABRT)
	SIGBUS    = Signal(unix.SIGBUS)
	SIGFPE    = Signal(unix.SIGFPE)
	SIGKILL   = Signal(unix.SIGKILL)
	SIGUSR1   = Signal(unix.SIGUSR1)
	SIGSEGV   = Signal(unix.SIGSEGV)
	SIGUSR2   = Signal(unix.SIGUSR2)
	SIGPIPE   = Signal(unix.SIGPIPE)
	SIGALRM   = Signal(unix.SIGALRM)
	SIGTERM   = Signal(unix.SIGTERM)
	SIGSTKFLT = Signal(unix.SIGSTKFLT)
	SIGCHLD   = Signal(unix.SIGCHLD)
	SIGCONT   = Signal(unix.SIGCONT)
	SIGSTOP   = Signal(unix.SIGSTOP)
	SIGTSTP   = Signal(unix.SIGTSTP)
	SIGTTIN   = Signal(unix.SIGTTIN)
	SIGTTOU   = Signal(unix.SIGTTOU)
	SIGURG    = Signal(unix.SIGURG)
	SIGXCPU   = Signal(unix.SIGXCPU)
	SIGXFSZ   = Signal(unix.SIGXFSZ)
	SIGVTALRM = Signal(unix.SIGVTALRM)
	SIGPROF   = Signal(unix.SIGPROF)
	SIGWINCH  = Signal(unix.SIGWINCH)
	SIGIO     = Signal(unix.SIGIO)
	SIGPWR    = Signal(unix.SIGPWR)
	SIGSYS    = Signal(unix.SIGSYS)
)

// Real-time signal range and the total count.
const (
	SIGRTMIN   = Signal(32)
	SIGRTMAX   = Signal(64)
	NumSignals = 64
)

// Valid reports whether s is a signal number (1..64).
func (s Signal) Valid() bool { return s >= 1 && s <= NumSignals }

// String returns "SIGSEGV", "SIGRT3" or "signal N".
func (s Signal) String() string {
	if s > SIGRTMIN && s <= SIGRTMAX {
		return "SIGRTMIN+" + strconv.Itoa(int(s-SIGRTMIN))
	}
	if s == SIGRTMIN {
		return "SIGRTMIN"
	}
	if n := unix.SignalName(unix.Signal(s)); n != "" {
		return n
	}
	return "signal " + strconv.Itoa(int(s))
}

// SignalSet is a sigset_t as the kernel uses it: bit n-1 stands for signal n.
type SignalSet uint64

// MakeSignalSet returns the set holding sigs.
func MakeSignalSet(sigs ...Signal) SignalSet {
	var s SignalSet
	for _, sig := range sigs {
		s |= SignalSetOf(sig)
	}
	return s
}

// SignalSetOf returns the set holding only sig.
func SignalSetOf(sig Signal) SignalSet {
	if !sig.Valid() {
		return 0
	}
	return 1 << uint(sig-1)
}

// Has reports whether sig is in s.
func (s SignalSet) Has(sig Signal) bool { return s&SignalSetOf(sig) != 0 }

// SignalSetSize is sizeof(sigset_t) for rt_sig* syscalls.
const SignalSetSize = 8

// si_code values (include/uapi/asm-generic/siginfo.h).
const (
	SI_USER    = 0
	SI_KERNEL  = 0x80
	SI_QUEUE   = -1
	SI_TIMER   = -2
	SI_MESGQ   = -3
	SI_ASYNCIO = -4
	SI_SIGIO   = -5
	SI_TKILL   = -6

	SEGV_MAPERR = 1
	SEGV_ACCERR = 2

	BUS_ADRALN = 1
	BUS_ADRERR = 2

	ILL_ILLOPC = 1

	FPE_INTDIV = 1

	TRAP_BRKPT = 1
	TRAP_TRACE = 2

	CLD_EXITED    = 1
	CLD_KILLED    = 2
	CLD_DUMPED    = 3
	CLD_TRAPPED   = 4
	CLD_STOPPED   = 5
	CLD_CONTINUED = 6
)
