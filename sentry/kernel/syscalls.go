package kernel

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
)

// SupportLevel says how completely the Sentry implements a syscall.
type SupportLevel int

// Support levels.
const (
	// Unsupported: the call returns ENOSYS (or the errno in the note).
	Unsupported SupportLevel = iota
	// Partial: some modes or flags are implemented; the note says which.
	Partial
	// Supported: the call behaves as on Linux.
	Supported
)

func (s SupportLevel) String() string {
	switch s {
	case Supported:
		return "supported"
	case Partial:
		return "partial"
	}
	return "unsupported"
}

// SyscallFn serves one system call. It returns the result, or a non-zero
// errno (written to the guest as -errno).
type SyscallFn func(t *Task, args *arch.SyscallArguments) (uintptr, linux.Errno)

// Syscall describes one entry of the table.
type Syscall struct {
	Name    string
	Fn      SyscallFn
	Support SupportLevel
	Note    string
}

// SyscallTable maps syscall numbers to handlers; it is one array indexed
// by number, so dispatch is a bounds check and an index.
type SyscallTable struct {
	Table [linux.MaxSyscall]Syscall
}

// Lookup returns the entry for nr, or nil if nr is out of range.
func (st *SyscallTable) Lookup(nr uintptr) *Syscall {
	if nr < uintptr(len(st.Table)) {
		return &st.Table[nr]
	}
	return nil
}

// Name returns the syscall's name (syscall_NNN if unknown).
func (st *SyscallTable) Name(nr uintptr) string {
	if s := st.Lookup(nr); s != nil && s.Name != "" {
		return s.Name
	}
	return linux.SyscallName(nr)
}
