// Package platform defines how the Sentry runs guest code: a Platform makes
// address spaces and execution contexts; a Context switches the calling OS
// thread's view of the CPU to the guest until the guest makes a system call,
// faults, or is interrupted; an AddressSpace is the guest's page tables,
// populated by the Sentry from its memory file.
//
// The package knows registers and host processes, nothing of tasks or files.
// platform/ptrace implements it with PTRACE_SYSEMU and stub processes.
package platform

import (
	"errors"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

// Platform creates address spaces and contexts.
type Platform interface {
	// NewAddressSpace returns a new, empty guest address space.
	NewAddressSpace() (AddressSpace, error)

	// NewContext returns a new context. A Context may only be used from
	// the OS thread that first calls Switch on it (callers lock their
	// goroutine to an OS thread with runtime.LockOSThread).
	NewContext() (Context, error)

	// MinUserAddress is the lowest address a guest mapping may use.
	MinUserAddress() uintptr

	// MaxUserAddress is one past the highest address a guest mapping may
	// use; the platform keeps anything it needs itself above it.
	MaxUserAddress() uintptr

	// FPStateSize is the size in bytes of the FP/XSAVE area a State
	// carries (as PTRACE_GETREGSET NT_X86_XSTATE returns it).
	FPStateSize() int

	// InitialFPState returns a fresh, default FP state of FPStateSize
	// bytes (the state a new process starts with).
	InitialFPState() []byte

	// Close releases the platform's host resources (the master stub).
	Close() error
}

// AccessType says what kind of access a mapping allows or a fault attempted.
type AccessType struct {
	Read    bool
	Write   bool
	Execute bool
}

// Common access types.
var (
	NoAccess  = AccessType{}
	Read      = AccessType{Read: true}
	ReadWrite = AccessType{Read: true, Write: true}
	ReadExec  = AccessType{Read: true, Execute: true}
	AnyAccess = AccessType{Read: true, Write: true, Execute: true}
)

// Prot returns the PROT_* bits for at.
func (at AccessType) Prot() int {
	p := 0
	if at.Read {
		p |= linux.PROT_READ
	}
	if at.Write {
		p |= linux.PROT_WRITE
	}
	if at.Execute {
		p |= linux.PROT_EXEC
	}
	return p
}

// AddressSpace is a guest address space. Its methods may be called from any
// goroutine; the implementation serialises them.
type AddressSpace interface {
	// MapFile maps [addr, addr+length) to the host file fd at offset with
	// the given access, replacing whatever was mapped there (MAP_SHARED |
	// MAP_FIXED semantics: writes go to the file). addr, offset and length
	// must be page aligned, and the range must lie within
	// [MinUserAddress, MaxUserAddress). fd must stay open until the
	// mapping is replaced or unmapped; the Sentry passes its memory file.
	MapFile(addr uintptr, fd int, offset int64, length uintptr, at AccessType) error

	// Unmap removes all mappings in [addr, addr+length).
	Unmap(addr uintptr, length uintptr) error

	// Release frees the address space. It must not be in use by a Context.
	Release()
}

// State is the guest CPU state a Context runs and returns.
type State struct {
	// Regs are the general registers, including FS and GS base. Switch
	// loads them and reads them back at every event.
	Regs linux.PtraceRegs
	// FP is the FP/XSAVE area, FPStateSize bytes long. Switch loads it
	// into the guest when it differs from what was last loaded or pulled,
	// but does not read it back: the FP registers stay in the host thread
	// that runs the guest, because fetching them costs more than the rest
	// of a syscall round trip. Call Context.PullFPState before reading or
	// changing FP (signal frames, clone, ptrace); after that a change is
	// loaded by the next Switch.
	FP []byte
}

// EventKind classifies why Switch returned.
type EventKind int

const (
	// EventSyscall: the guest executed a syscall instruction. Regs.Orig_rax
	// holds the number, Rdi/Rsi/Rdx/R10/R8/R9 the arguments, Rip points
	// after the instruction. The Sentry writes the result into Rax.
	EventSyscall EventKind = iota + 1
	// EventFault: the guest took a synchronous fault (SIGSEGV, SIGBUS,
	// SIGFPE, SIGILL, SIGTRAP); see Event.Signal, Event.Info,
	// Event.FaultAddr and Event.Access.
	EventFault
	// EventInterrupted: Interrupt was called, or the host asked the stub
	// to stop; the guest state is consistent and Switch may be called again.
	EventInterrupted
)

func (k EventKind) String() string {
	switch k {
	case EventSyscall:
		return "syscall"
	case EventFault:
		return "fault"
	case EventInterrupted:
		return "interrupted"
	}
	return "unknown"
}

// Event describes a return from Switch.
type Event struct {
	Kind EventKind

	// For EventFault only.
	Signal    linux.Signal
	Info      linux.SignalInfo
	FaultAddr uintptr
	// Access is the platform's best guess at the access that faulted
	// (from the page-fault error code where the host reports it).
	Access AccessType
}

// Context runs guest code on the calling OS thread.
type Context interface {
	// Switch runs the guest in as with state st until an event. st is
	// read before and written back after. A Context must be used from one
	// locked OS thread for its whole life.
	Switch(as AddressSpace, st *State) (Event, error)

	// PullFPState copies the guest's current FP state, as it was at the
	// last event of Switch into as, into st.FP. Before the first Switch
	// into as it leaves st.FP unchanged.
	PullFPState(as AddressSpace, st *State) error

	// Interrupt makes a running or future Switch return EventInterrupted
	// promptly. It may be called from any goroutine. Only one pending
	// interrupt is remembered; the next Switch consumes it.
	Interrupt()

	// Release frees the context's host resources. It must be called on
	// the context's OS thread.
	Release()
}

// ErrContextClosed is returned by Switch after Release.
var ErrContextClosed = errors.New("platform: context released")
