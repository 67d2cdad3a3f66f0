package linux

import "encoding/binary"

// This file holds the amd64 signal frame: what Linux pushes on the user
// stack to run a handler (arch/x86/include/asm/sigframe.h, uapi
// asm/sigcontext.h, asm-generic/ucontext.h), and the parts of the XSAVE
// area the frame's FP state carries.
//
// From the stack pointer the handler starts with upwards:
//
//	rt_sigframe:  pretcode (8) | ucontext (304) | siginfo (128)   440 bytes
//	... padding ...
//	FP state:     XSAVE area (64-byte aligned) | FP_XSTATE_MAGIC2 (4)

// SigContext is struct sigcontext on amd64, the uc_mcontext of a frame
// (glibc's mcontext_t has the same layout: gregs[23], fpregs, reserved).
// Cs, Gs, Fs and Ss are 16-bit; Ss was __pad0 before UC_SIGCONTEXT_SS.
type SigContext struct {
	R8, R9, R10, R11, R12, R13, R14, R15 uint64
	Rdi, Rsi, Rbp, Rbx, Rdx, Rax, Rcx    uint64
	Rsp, Rip, Eflags                     uint64
	Cs, Gs, Fs, Ss                       uint16
	Err, Trapno, Oldmask, Cr2            uint64
	// Fpstate is the address of the FP state (struct _fpstate_64 followed
	// by the rest of the XSAVE area), or 0 for none.
	Fpstate  uint64
	Reserved [8]uint64
}

// SigContextSize is sizeof(struct sigcontext) on amd64.
const SigContextSize = 256

// Offsets in struct sigcontext.
const (
	SigContextRspOffset     = 120
	SigContextRipOffset     = 128
	SigContextEflagsOffset  = 136
	SigContextCsOffset      = 144
	SigContextSsOffset      = 150
	SigContextErrOffset     = 152
	SigContextTrapnoOffset  = 160
	SigContextOldmaskOffset = 168
	SigContextCr2Offset     = 176
	SigContextFpstateOffset = 184
	// SigContextReservedOffset is where reserved1[8] starts; rt_sigreturn
	// reads the structure only up to here.
	SigContextReservedOffset = 192
)

// words lists the 64-bit words before cs in layout order.
func (sc *SigContext) words() [18]*uint64 {
	return [18]*uint64{
		&sc.R8, &sc.R9, &sc.R10, &sc.R11, &sc.R12, &sc.R13, &sc.R14, &sc.R15,
		&sc.Rdi, &sc.Rsi, &sc.Rbp, &sc.Rbx, &sc.Rdx, &sc.Rax, &sc.Rcx,
		&sc.Rsp, &sc.Rip, &sc.Eflags,
	}
}

// Encode writes the kernel's byte layout of sc into b (at least
// SigContextSize bytes).
func (sc *SigContext) Encode(b []byte) {
	_ = b[SigContextSize-1]
	for i, w := range sc.words() {
		binary.LittleEndian.PutUint64(b[i*8:], *w)
	}
	binary.LittleEndian.PutUint16(b[144:], sc.Cs)
	binary.LittleEndian.PutUint16(b[146:], sc.Gs)
	binary.LittleEndian.PutUint16(b[148:], sc.Fs)
	binary.LittleEndian.PutUint16(b[150:], sc.Ss)
	binary.LittleEndian.PutUint64(b[152:], sc.Err)
	binary.LittleEndian.PutUint64(b[160:], sc.Trapno)
	binary.LittleEndian.PutUint64(b[168:], sc.Oldmask)
	binary.LittleEndian.PutUint64(b[176:], sc.Cr2)
	binary.LittleEndian.PutUint64(b[184:], sc.Fpstate)
	for i, r := range sc.Reserved {
		binary.LittleEndian.PutUint64(b[192+i*8:], r)
	}
}

// Decode reads sc from the kernel's byte layout in b.
func (sc *SigContext) Decode(b []byte) {
	_ = b[SigContextSize-1]
	for i, w := range sc.words() {
		*w = binary.LittleEndian.Uint64(b[i*8:])
	}
	sc.Cs = binary.LittleEndian.Uint16(b[144:])
	sc.Gs = binary.LittleEndian.Uint16(b[146:])
	sc.Fs = binary.LittleEndian.Uint16(b[148:])
	sc.Ss = binary.LittleEndian.Uint16(b[150:])
	sc.Err = binary.LittleEndian.Uint64(b[152:])
	sc.Trapno = binary.LittleEndian.Uint64(b[160:])
	sc.Oldmask = binary.LittleEndian.Uint64(b[168:])
	sc.Cr2 = binary.LittleEndian.Uint64(b[176:])
	sc.Fpstate = binary.LittleEndian.Uint64(b[184:])
	for i := range sc.Reserved {
		sc.Reserved[i] = binary.LittleEndian.Uint64(b[192+i*8:])
	}
}

// UContext is the kernel's struct ucontext on amd64 as a signal frame holds
// it. The C library's ucontext_t starts the same but is longer: its
// uc_sigmask is 128 bytes and an FP save area and shadow-stack words
// follow; the kernel writes and reads only the first 8 bytes of the mask.
type UContext struct {
	Flags    uint64
	Link     uint64
	Stack    SignalStack
	MContext SigContext
	Sigmask  SignalSet
}

// UContextSize is sizeof(struct ucontext) in the kernel.
const UContextSize = 304

// Offsets in struct ucontext.
const (
	UContextFlagsOffset    = 0
	UContextLinkOffset     = 8
	UContextStackOffset    = 16
	UContextMContextOffset = 40
	UContextSigmaskOffset  = 296
)

// Encode writes the kernel's byte layout of uc into b (at least
// UContextSize bytes).
func (uc *UContext) Encode(b []byte) {
	_ = b[UContextSize-1]
	binary.LittleEndian.PutUint64(b[UContextFlagsOffset:], uc.Flags)
	binary.LittleEndian.PutUint64(b[UContextLinkOffset:], uc.Link)
	uc.Stack.Encode(b[UContextStackOffset:])
	uc.MContext.Encode(b[UContextMContextOffset:])
	binary.LittleEndian.PutUint64(b[UContextSigmaskOffset:], uint64(uc.Sigmask))
}

// Decode reads uc from the kernel's byte layout in b.
func (uc *UContext) Decode(b []byte) {
	_ = b[UContextSize-1]
	uc.Flags = binary.LittleEndian.Uint64(b[UContextFlagsOffset:])
	uc.Link = binary.LittleEndian.Uint64(b[UContextLinkOffset:])
	uc.Stack.Decode(b[UContextStackOffset:])
	uc.MContext.Decode(b[UContextMContextOffset:])
	uc.Sigmask = SignalSet(binary.LittleEndian.Uint64(b[UContextSigmaskOffset:]))
}

// uc_flags bits (arch/x86/include/uapi/asm/ucontext.h).
const (
	// UC_FP_XSTATE: the FP state is an XSAVE area with _fpx_sw_bytes and
	// FP_XSTATE_MAGIC2 (set when the CPU has XSAVE).
	UC_FP_XSTATE = 0x1
	// UC_SIGCONTEXT_SS: uc_mcontext.ss holds SS (always set on amd64).
	UC_SIGCONTEXT_SS = 0x2
	// UC_STRICT_RESTORE_SS: rt_sigreturn restores SS exactly rather than
	// fixing it up (set when the signal interrupted 64-bit code).
	UC_STRICT_RESTORE_SS = 0x4
)

// RTSigframe is struct rt_sigframe on amd64: the return address the
// handler's ret pops (sa_restorer), the ucontext and the siginfo. The FP
// state lies above it, at MContext.Fpstate.
type RTSigframe struct {
	Pretcode uint64
	UC       UContext
	Info     SignalInfo
}

// Size and offsets of struct rt_sigframe.
const (
	RTSigframeSize           = 440
	RTSigframeUContextOffset = 8
	RTSigframeInfoOffset     = 312
)

// Encode writes the kernel's byte layout of f into b (at least
// RTSigframeSize bytes).
func (f *RTSigframe) Encode(b []byte) {
	_ = b[RTSigframeSize-1]
	binary.LittleEndian.PutUint64(b[0:], f.Pretcode)
	f.UC.Encode(b[RTSigframeUContextOffset:])
	f.Info.Encode(b[RTSigframeInfoOffset:])
}

// Decode reads f from the kernel's byte layout in b.
func (f *RTSigframe) Decode(b []byte) {
	_ = b[RTSigframeSize-1]
	f.Pretcode = binary.LittleEndian.Uint64(b[0:])
	f.UC.Decode(b[RTSigframeUContextOffset:])
	f.Info.Decode(b[RTSigframeInfoOffset:])
}

// FPXSwBytes is struct _fpx_sw_bytes: the software-defined words Linux
// puts in the reserved tail of the FXSAVE area (sw_reserved, at
// FPStateSwReservedOffset) of a signal frame's FP state, telling the
// reader that an XSAVE area follows and how large it is.
type FPXSwBytes struct {
	// Magic1 is FP_XSTATE_MAGIC1 when the extended state is present.
	Magic1 uint32
	// ExtendedSize is the size of the FP state in the frame: the XSAVE
	// area plus FP_XSTATE_MAGIC2_SIZE.
	ExtendedSize uint32
	// Xfeatures are the XSAVE features the area may hold (the task's
	// user features, XCR0 less dynamically enabled ones).
	Xfeatures uint64
	// XstateSize is the size of the XSAVE area, at whose end
	// FP_XSTATE_MAGIC2 lies.
	XstateSize uint32
	Padding    [7]uint32
}

// FPXSwBytesSize is sizeof(struct _fpx_sw_bytes).
const FPXSwBytesSize = 48

// Encode writes the kernel's byte layout of sw into b (at least
// FPXSwBytesSize bytes).
func (sw *FPXSwBytes) Encode(b []byte) {
	_ = b[FPXSwBytesSize-1]
	binary.LittleEndian.PutUint32(b[0:], sw.Magic1)
	binary.LittleEndian.PutUint32(b[4:], sw.ExtendedSize)
	binary.LittleEndian.PutUint64(b[8:], sw.Xfeatures)
	binary.LittleEndian.PutUint32(b[16:], sw.XstateSize)
	for i, p := range sw.Padding {
		binary.LittleEndian.PutUint32(b[20+i*4:], p)
	}
}

// Decode reads sw from the kernel's byte layout in b.
func (sw *FPXSwBytes) Decode(b []byte) {
	_ = b[FPXSwBytesSize-1]
	sw.Magic1 = binary.LittleEndian.Uint32(b[0:])
	sw.ExtendedSize = binary.LittleEndian.Uint32(b[4:])
	sw.Xfeatures = binary.LittleEndian.Uint64(b[8:])
	sw.XstateSize = binary.LittleEndian.Uint32(b[16:])
	for i := range sw.Padding {
		sw.Padding[i] = binary.LittleEndian.Uint32(b[20+i*4:])
	}
}

// Magic numbers of an extended FP state in a signal frame.
const (
	FP_XSTATE_MAGIC1      = 0x46505853 // "FPXS"
	FP_XSTATE_MAGIC2      = 0x46505845 // "FPXE"
	FP_XSTATE_MAGIC2_SIZE = 4
)

// Layout of the XSAVE area in standard (non-compacted) form: the 512-byte
// FXSAVE region (struct _fpstate_64), the 64-byte XSAVE header, then the
// extended components at offsets CPUID leaf 0xd reports.
const (
	FXSaveFCWOffset       = 0   // x87 control word (16 bits)
	FXSaveMXCSROffset     = 24  // MXCSR (32 bits)
	FXSaveMXCSRMaskOffset = 28  // MXCSR_MASK (32 bits)
	FXSaveSTOffset        = 32  // st_space: 8 x87 registers, 16 bytes each
	FXSaveXMMOffset       = 160 // xmm_space: 16 registers, 16 bytes each
	FXSavePaddingOffset   = 416 // unused by the CPU
	// FPStateSwReservedOffset is offsetof(struct _fpstate_64,
	// sw_reserved): where a frame's FPXSwBytes live. In the
	// PTRACE_GETREGSET NT_X86_XSTATE image the first 8 bytes there hold
	// the task's XCR0 instead.
	FPStateSwReservedOffset = 464
	FXSaveSize              = 512
	XSaveHeaderOffset       = 512 // xstate_bv (64 bits), then xcomp_bv
	XSaveHeaderSize         = 64
	XSaveXcompBVOffset      = 520
	// XSaveMinSize is the FXSAVE region plus the header.
	XSaveMinSize = FXSaveSize + XSaveHeaderSize
	// XSaveAlignment is the alignment XSAVE requires of its area.
	XSaveAlignment = 64
)

// Default values of the x87 control word and MXCSR (the init state).
const (
	FPInitFCW   = 0x037f
	FPInitMXCSR = 0x1f80
	// FPDefaultMXCSRMask is the MXCSR mask to assume when FXSAVE reports 0.
	FPDefaultMXCSRMask = 0xffbf
)

// XSAVE state components (XCR0 bits), arch/x86/include/asm/fpu/types.h.
const (
	XFEATURE_MASK_FP         = 1 << 0
	XFEATURE_MASK_SSE        = 1 << 1
	XFEATURE_MASK_YMM        = 1 << 2
	XFEATURE_MASK_BNDREGS    = 1 << 3
	XFEATURE_MASK_BNDCSR     = 1 << 4
	XFEATURE_MASK_OPMASK     = 1 << 5
	XFEATURE_MASK_ZMM_Hi256  = 1 << 6
	XFEATURE_MASK_Hi16_ZMM   = 1 << 7
	XFEATURE_MASK_PT         = 1 << 8 // supervisor
	XFEATURE_MASK_PKRU       = 1 << 9
	XFEATURE_MASK_XTILE_CFG  = 1 << 17
	XFEATURE_MASK_XTILE_DATA = 1 << 18
	XFEATURE_MASK_APX        = 1 << 19

	XFEATURE_MASK_FPSSE = XFEATURE_MASK_FP | XFEATURE_MASK_SSE
)

// RFLAGS bits.
const (
	X86_EFLAGS_CF    = 1 << 0
	X86_EFLAGS_FIXED = 1 << 1 // always one
	X86_EFLAGS_PF    = 1 << 2
	X86_EFLAGS_AF    = 1 << 4
	X86_EFLAGS_ZF    = 1 << 6
	X86_EFLAGS_SF    = 1 << 7
	X86_EFLAGS_TF    = 1 << 8
	X86_EFLAGS_IF    = 1 << 9
	X86_EFLAGS_DF    = 1 << 10
	X86_EFLAGS_OF    = 1 << 11
	X86_EFLAGS_RF    = 1 << 16
	X86_EFLAGS_AC    = 1 << 18
)

// Exception vectors, as struct sigcontext's trapno reports them
// (arch/x86/include/asm/trapnr.h).
const (
	X86_TRAP_DE = 0  // divide error
	X86_TRAP_DB = 1  // debug
	X86_TRAP_BP = 3  // breakpoint (int3)
	X86_TRAP_OF = 4  // overflow
	X86_TRAP_BR = 5  // bound range exceeded
	X86_TRAP_UD = 6  // invalid opcode
	X86_TRAP_NM = 7  // device not available
	X86_TRAP_TS = 10 // invalid TSS
	X86_TRAP_NP = 11 // segment not present
	X86_TRAP_SS = 12 // stack segment fault
	X86_TRAP_GP = 13 // general protection
	X86_TRAP_PF = 14 // page fault
	X86_TRAP_MF = 16 // x87 floating point error
	X86_TRAP_AC = 17 // alignment check
	X86_TRAP_XF = 19 // SIMD floating point exception
)

// Page-fault error code bits, as struct sigcontext's err reports them for
// X86_TRAP_PF (arch/x86/include/asm/trap_pf.h). Linux always adds
// X86_PF_USER for faults it reports to user space.
const (
	X86_PF_PROT  = 1 << 0 // the page was present (protection violation)
	X86_PF_WRITE = 1 << 1
	X86_PF_USER  = 1 << 2
	X86_PF_RSVD  = 1 << 3
	X86_PF_INSTR = 1 << 4
	X86_PF_PK    = 1 << 5
)
