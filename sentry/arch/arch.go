// Package arch holds the guest CPU state the Sentry keeps for each task on
// amd64: the general registers and FP/XSAVE area (a platform.State), the
// syscall calling convention over them (number in orig_rax, arguments in
// rdi, rsi, rdx, r10, r8, r9, result in rax), the initial register state of
// a new process, and CPU facts the ABI exposes (AT_HWCAP from CPUID, the
// signal-frame size behind AT_MINSIGSTKSZ).
//
// Signal frames are built here in a later change.
package arch

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
)

// SyscallArgument is one raw syscall argument.
type SyscallArgument struct {
	Value uintptr
}

// Pointer returns the argument as a guest address.
func (a SyscallArgument) Pointer() uintptr { return a.Value }

// Int returns the argument as a C int (the low 32 bits, sign-extended).
func (a SyscallArgument) Int() int32 { return int32(a.Value) }

// Uint returns the argument as a C unsigned int.
func (a SyscallArgument) Uint() uint32 { return uint32(a.Value) }

// Int64 returns the argument as a signed 64-bit value.
func (a SyscallArgument) Int64() int64 { return int64(a.Value) }

// Uint64 returns the argument as an unsigned 64-bit value.
func (a SyscallArgument) Uint64() uint64 { return uint64(a.Value) }

// SizeT returns the argument as a size_t.
func (a SyscallArgument) SizeT() uint64 { return uint64(a.Value) }

// SyscallArguments are the six arguments of a system call.
type SyscallArguments [6]SyscallArgument

// Context is a task's CPU state.
type Context struct {
	platform.State
}

// NewContext returns a context with zeroed registers and the given FP state.
func NewContext(fp []byte) *Context {
	return &Context{State: platform.State{FP: fp}}
}

// SyscallNo returns the syscall number of a syscall stop.
func (c *Context) SyscallNo() uintptr { return uintptr(c.Regs.Orig_rax) }

// SyscallArgs fills args from the registers of a syscall stop.
func (c *Context) SyscallArgs(args *SyscallArguments) {
	r := &c.Regs
	args[0].Value = uintptr(r.Rdi)
	args[1].Value = uintptr(r.Rsi)
	args[2].Value = uintptr(r.Rdx)
	args[3].Value = uintptr(r.R10)
	args[4].Value = uintptr(r.R8)
	args[5].Value = uintptr(r.R9)
}

// SetReturn stores a syscall's raw return value (already -errno for errors).
func (c *Context) SetReturn(v uintptr) { c.Regs.Rax = uint64(v) }

// IP returns the instruction pointer.
func (c *Context) IP() uintptr { return uintptr(c.Regs.Rip) }

// SP returns the stack pointer.
func (c *Context) SP() uintptr { return uintptr(c.Regs.Rsp) }

// TLS returns the FS base.
func (c *Context) TLS() uintptr { return uintptr(c.Regs.Fs_base) }

// SetTLS sets the FS base. It fails if addr is not a valid user address
// (Linux refuses with EPERM).
func (c *Context) SetTLS(addr uintptr) bool {
	if addr >= MaxUserAddress {
		return false
	}
	c.Regs.Fs_base = uint64(addr)
	return true
}

// GSBase returns the GS base.
func (c *Context) GSBase() uintptr { return uintptr(c.Regs.Gs_base) }

// SetGSBase sets the GS base, with SetTLS's rule.
func (c *Context) SetGSBase(addr uintptr) bool {
	if addr >= MaxUserAddress {
		return false
	}
	c.Regs.Gs_base = uint64(addr)
	return true
}

// SetInitialRegs sets the registers of a freshly exec'd process: every
// general register zero (rdx = 0 tells the program there is no atexit
// function from a dynamic loader), rip = entry, rsp = sp, the user segment
// selectors and the initial flags. The FP state is left to the caller.
func (c *Context) SetInitialRegs(entry, sp uintptr) {
	c.Regs = linux.PtraceRegs{
		Rip:    uint64(entry),
		Rsp:    uint64(sp),
		Cs:     linux.UserCS,
		Ss:     linux.UserDS,
		Ds:     0,
		Es:     0,
		Eflags: linux.InitialEflags,
	}
}

// MaxUserAddress is TASK_SIZE_MAX on x86-64 with 4-level paging: the limit
// Linux applies to FS/GS bases and user pointers.
const MaxUserAddress = 0x7ffffffff000
