package linux

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// PtraceRegs is struct user_regs_struct on amd64, as PTRACE_GETREGS and
// PTRACE_SETREGS transfer it (27 64-bit words, 216 bytes).
type PtraceRegs = unix.PtraceRegs

// PtraceRegsSize is sizeof(struct user_regs_struct).
const PtraceRegsSize = 27 * 8

// EncodePtraceRegs writes r in the kernel's layout (field order of
// user_regs_struct) into b.
func EncodePtraceRegs(r *PtraceRegs, b []byte) {
	_ = b[PtraceRegsSize-1]
	for i, v := range ptraceRegsWords(r) {
		binary.LittleEndian.PutUint64(b[i*8:], *v)
	}
}

// DecodePtraceRegs reads r from the kernel's layout in b.
func DecodePtraceRegs(r *PtraceRegs, b []byte) {
	_ = b[PtraceRegsSize-1]
	for i, v := range ptraceRegsWords(r) {
		*v = binary.LittleEndian.Uint64(b[i*8:])
	}
}

// ptraceRegsWords lists r's fields in user_regs_struct order.
func ptraceRegsWords(r *PtraceRegs) [27]*uint64 {
	return [27]*uint64{
		&r.R15, &r.R14, &r.R13, &r.R12, &r.Rbp, &r.Rbx, &r.R11, &r.R10,
		&r.R9, &r.R8, &r.Rax, &r.Rcx, &r.Rdx, &r.Rsi, &r.Rdi, &r.Orig_rax,
		&r.Rip, &r.Cs, &r.Eflags, &r.Rsp, &r.Ss, &r.Fs_base, &r.Gs_base,
		&r.Ds, &r.Es, &r.Fs, &r.Gs,
	}
}

// ELF note types for PTRACE_GETREGSET / PTRACE_SETREGSET.
const (
	NT_PRSTATUS   = 1
	NT_PRFPREG    = 2
	NT_X86_XSTATE = 0x202
)
