package arch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"golang.org/x/sys/unix"
)

// Signal frames
//
// SignalSetup builds on the guest stack the frame Linux's x64_setup_rt_frame
// builds, at the addresses Linux picks, and SignalRestore undoes it for
// rt_sigreturn(2) with Linux's checks. From the top of the chosen stack
// (the alternate stack's top, or the interrupted rsp less the 128-byte red
// zone) down:
//
//	FP state   XSAVE area (standard form), 64-byte aligned, with
//	           _fpx_sw_bytes in its FXSAVE tail and FP_XSTATE_MAGIC2
//	           just past it
//	padding
//	frame      struct rt_sigframe: pretcode (= sa_restorer), ucontext,
//	           siginfo; the handler starts with rsp at pretcode and
//	           (rsp+8) % 16 == 0, like a function just called
//
// Every error from either function means what -EFAULT from Linux's frame
// code means: the kernel must force SIGSEGV on the task.

// MemoryIO is guest memory as the frame code reads and writes it;
// *mm.MemoryManager implements it. A short copy counts as a fault.
type MemoryIO interface {
	CopyOut(addr uintptr, src []byte) (int, error)
	CopyIn(addr uintptr, dst []byte) (int, error)
}

// SignalFault is the CPU's report of the last exception the task took,
// which Linux keeps per thread (thread.trap_nr, error_code, cr2) and copies
// into every frame's trapno, err and cr2, also for later asynchronous
// signals. For a page fault Trapno is linux.X86_TRAP_PF, Err the error code
// with linux.X86_PF_USER set, Cr2 the faulting address.
type SignalFault struct {
	Trapno uint64
	Err    uint64
	Cr2    uint64
}

// redZoneSize is the part of the stack below rsp that amd64 code may use
// without moving rsp; a frame never overwrites it.
const redZoneSize = 128

// fixEflags are the RFLAGS bits rt_sigreturn takes from the frame
// (Linux's FIX_EFLAGS); the others keep their current value.
const fixEflags = linux.X86_EFLAGS_AC | linux.X86_EFLAGS_OF | linux.X86_EFLAGS_DF |
	linux.X86_EFLAGS_TF | linux.X86_EFLAGS_SF | linux.X86_EFLAGS_ZF |
	linux.X86_EFLAGS_AF | linux.X86_EFLAGS_PF | linux.X86_EFLAGS_CF | linux.X86_EFLAGS_RF

// Errors of SignalSetup and SignalRestore besides guest-memory faults.
var (
	// ErrNoRestorer: on x86-64 a handler must be installed with
	// SA_RESTORER; Linux refuses to build a frame without one (the
	// signal then becomes SIGSEGV).
	ErrNoRestorer = errors.New("signal frame: handler installed without SA_RESTORER")
	// ErrSignalStackOverflow: the frame does not fit on the alternate
	// signal stack it belongs on.
	ErrSignalStackOverflow = errors.New("signal frame: alternate signal stack overflow")
	// ErrBadFPState: the FP state of a frame would make XRSTOR/FXRSTOR
	// fault (misaligned, reserved header or MXCSR bits, unknown features).
	ErrBadFPState = errors.New("signal frame: invalid FP state")
)

// OnSignalStack reports whether sp is on the alternate stack alt as
// Linux's on_sig_stack decides it: never with SS_AUTODISARM (the stack is
// disarmed while a handler runs on it, so sp on it is not nesting).
func OnSignalStack(alt *linux.SignalStack, sp uint64) bool {
	if alt.Flags&linux.SS_AUTODISARM != 0 {
		return false
	}
	return alt.Contains(sp)
}

// SignalSetup delivers a signal to a handler the way Linux's handle_signal
// does on amd64. It writes the FP state and struct rt_sigframe to the guest
// stack and sets the registers to enter the handler: rip = sa_handler, rsp
// = the frame, rdi = signal number (info.Signo), rsi = &frame.info, rdx =
// &frame.uc, rax = 0, cs/ss the user selectors, DF, TF and RF cleared. The
// handler starts with the FP init state.
//
// act is the handler (it must have SA_RESTORER; SA_ONSTACK picks the
// alternate stack, SA_SIGINFO makes the frame carry info). alt is the
// task's alternate stack as sigaltstack(2) stored it, which uc_stack
// records verbatim: nil or all zero for a task that never called
// sigaltstack, Flags = SS_DISABLE after it disabled one. oldMask is the
// mask rt_sigreturn restores (the blocked set, or the one saved by
// sigsuspend/ppoll). fault, if not nil, fills trapno, err and cr2.
//
// The caller must have pulled the FP state (platform.Context.PullFPState)
// before, since c.FP is what the frame saves; the reset state is loaded by
// the next Switch. On success the caller does the rest of delivery: block
// sa_mask and (without SA_NODEFER) the signal, reset the alternate stack
// if it has SS_AUTODISARM, honour SA_RESETHAND. On error c is unchanged
// (guest memory may have been partly written, as in Linux) and the kernel
// must force SIGSEGV.
func (c *Context) SignalSetup(mem MemoryIO, act *linux.SigAction, info *linux.SignalInfo, alt *linux.SignalStack, oldMask linux.SignalSet, fault *SignalFault) error {
	if act.Flags&linux.SA_RESTORER == 0 {
		return ErrNoRestorer
	}
	fpSize := len(c.FP)
	if fpSize < linux.XSaveMinSize || fpSize > maxFPStateSize {
		return fmt.Errorf("signal frame: FP state of %d bytes: %w", fpSize, ErrBadFPState)
	}
	// uc_stack records the alternate stack as the task has it.
	var stack linux.SignalStack
	if alt != nil {
		stack = *alt
	}
	usable := stack.IsEnabled()

	// Choose the stack (get_sigframe).
	sp := c.Regs.Rsp
	nested := usable && OnSignalStack(&stack, sp)
	sp -= redZoneSize
	entering := false
	if act.Flags&linux.SA_ONSTACK != 0 && usable && !OnSignalStack(&stack, sp) {
		sp = stack.Top()
		entering = true
	}
	fpLen := uint64(fpSize + linux.FP_XSTATE_MAGIC2_SIZE)
	fpAddr := (sp - fpLen) &^ (linux.XSaveAlignment - 1)
	frame := ((fpAddr - linux.RTSigframeSize) &^ (frameAlignment - 1)) - 8
	if (nested || entering) && !stack.Contains(frame) {
		return ErrSignalStackOverflow
	}
	if fpAddr > sp || frame > fpAddr {
		return fmt.Errorf("signal frame below address 0 (rsp %#x): %w", c.Regs.Rsp, unix.EFAULT)
	}

	// The FP state, as copy_fpstate_to_sigframe leaves it.
	xcr0, user := xfeatures(c.FP)
	fp := make([]byte, fpLen)
	copy(fp, c.FP)
	clear(fp[linux.FXSavePaddingOffset:linux.FPStateSwReservedOffset])
	sw := linux.FPXSwBytes{
		Magic1:       linux.FP_XSTATE_MAGIC1,
		ExtendedSize: uint32(fpLen),
		Xfeatures:    user,
		XstateSize:   uint32(fpSize),
	}
	sw.Encode(fp[linux.FPStateSwReservedOffset:])
	bv := binary.LittleEndian.Uint64(fp[linux.XSaveHeaderOffset:])
	bv = (bv & xcr0) | linux.XFEATURE_MASK_FPSSE
	binary.LittleEndian.PutUint64(fp[linux.XSaveHeaderOffset:], bv)
	clear(fp[linux.XSaveXcompBVOffset:linux.XSaveMinSize])
	binary.LittleEndian.PutUint32(fp[fpSize:], linux.FP_XSTATE_MAGIC2)
	if err := copyOut(mem, fpAddr, fp); err != nil {
		return fmt.Errorf("writing signal FP state: %w", err)
	}

	// The frame.
	r := &c.Regs
	ucFlags := uint64(linux.UC_FP_XSTATE | linux.UC_SIGCONTEXT_SS)
	if r.Cs == linux.UserCS {
		ucFlags |= linux.UC_STRICT_RESTORE_SS
	}
	f := linux.RTSigframe{
		Pretcode: act.Restorer,
		UC: linux.UContext{
			Flags: ucFlags,
			Stack: stack,
			MContext: linux.SigContext{
				R8: r.R8, R9: r.R9, R10: r.R10, R11: r.R11,
				R12: r.R12, R13: r.R13, R14: r.R14, R15: r.R15,
				Rdi: r.Rdi, Rsi: r.Rsi, Rbp: r.Rbp, Rbx: r.Rbx,
				Rdx: r.Rdx, Rax: r.Rax, Rcx: r.Rcx, Rsp: r.Rsp,
				Rip: r.Rip, Eflags: r.Eflags,
				Cs: uint16(r.Cs), Ss: uint16(r.Ss),
				Oldmask: uint64(oldMask),
				Fpstate: fpAddr,
			},
			Sigmask: oldMask,
		},
		Info: *info,
	}
	if fault != nil {
		f.UC.MContext.Trapno = fault.Trapno
		f.UC.MContext.Err = fault.Err
		f.UC.MContext.Cr2 = fault.Cr2
	}
	b := make([]byte, linux.RTSigframeSize)
	f.Encode(b)
	// Linux copies the siginfo only for SA_SIGINFO handlers; otherwise
	// that part of the frame keeps whatever the stack held.
	n := linux.RTSigframeInfoOffset
	if act.Flags&linux.SA_SIGINFO != 0 {
		n = linux.RTSigframeSize
	}
	if err := copyOut(mem, frame, b[:n]); err != nil {
		return fmt.Errorf("writing signal frame: %w", err)
	}

	// Enter the handler.
	r.Rdi = uint64(info.Signo)
	r.Rsi = frame + linux.RTSigframeInfoOffset
	r.Rdx = frame + linux.RTSigframeUContextOffset
	r.Rax = 0
	r.Rip = act.Handler
	r.Rsp = frame
	r.Cs = linux.UserCS
	if r.Ss != linux.UserDS {
		r.Ss = linux.UserDS
	}
	r.Eflags &^= linux.X86_EFLAGS_DF | linux.X86_EFLAGS_RF | linux.X86_EFLAGS_TF
	resetFPState(c.FP)
	return nil
}

// SignalRestore implements the frame part of rt_sigreturn(2): it reads the
// frame whose pretcode the handler's ret popped (at rsp-8) and restores
// the general registers (cs and ss forced to the user selectors, only the
// flags user code may change taken from the frame, orig_rax = -1 so no
// syscall restart applies) and the FP state (the init state if fpstate is
// NULL; only x87 and SSE, like Linux, if the XSAVE magic is missing or
// inconsistent). It returns uc_sigmask less SIGKILL and SIGSTOP, which the
// caller makes the blocked set, and uc_stack, which the caller applies as
// sigaltstack(2) would at the restored rsp, ignoring its errors.
//
// The caller must return the restored rax as the syscall's result (not
// overwrite it with a return value) and cancel any restart block; the
// restored FP state is loaded by the next Switch.
//
// On error (an unreadable frame, an FP state XRSTOR would refuse) c is
// unchanged and the kernel must force SIGSEGV. Linux has by then already
// applied the mask and registers it read; the signal kills the task or
// runs its SIGSEGV handler either way.
func (c *Context) SignalRestore(mem MemoryIO) (linux.SignalSet, linux.SignalStack, error) {
	fpSize := len(c.FP)
	if fpSize < linux.XSaveMinSize || fpSize > maxFPStateSize {
		return 0, linux.SignalStack{}, fmt.Errorf("rt_sigreturn: FP state of %d bytes: %w", fpSize, ErrBadFPState)
	}
	ucAddr := c.Regs.Rsp - 8 + linux.RTSigframeUContextOffset
	b := make([]byte, linux.UContextSize)
	if err := copyIn(mem, ucAddr, b); err != nil {
		return 0, linux.SignalStack{}, fmt.Errorf("rt_sigreturn: reading frame: %w", err)
	}
	var uc linux.UContext
	uc.Decode(b)
	sc := &uc.MContext

	var fp []byte
	if sc.Fpstate == 0 {
		fp = append([]byte(nil), c.FP...)
		resetFPState(fp)
	} else {
		var err error
		if fp, err = c.restoreFPState(mem, sc.Fpstate); err != nil {
			return 0, linux.SignalStack{}, fmt.Errorf("rt_sigreturn: FP state at %#x: %w", sc.Fpstate, err)
		}
	}

	r := &c.Regs
	r.R8, r.R9, r.R10, r.R11 = sc.R8, sc.R9, sc.R10, sc.R11
	r.R12, r.R13, r.R14, r.R15 = sc.R12, sc.R13, sc.R14, sc.R15
	r.Rdi, r.Rsi, r.Rbp, r.Rbx = sc.Rdi, sc.Rsi, sc.Rbp, sc.Rbx
	r.Rdx, r.Rax, r.Rcx, r.Rsp = sc.Rdx, sc.Rax, sc.Rcx, sc.Rsp
	r.Rip = sc.Rip
	r.Eflags = (r.Eflags &^ fixEflags) | (sc.Eflags & fixEflags)
	r.Cs = linux.UserCS
	r.Ss = linux.UserDS
	r.Orig_rax = ^uint64(0)
	copy(c.FP, fp)

	mask := uc.Sigmask &^ linux.MakeSignalSet(linux.SIGKILL, linux.SIGSTOP)
	return mask, uc.Stack, nil
}

// restoreFPState returns the FP state rt_sigreturn loads from the frame's
// FP state at addr, as XRSTOR (or FXRSTOR in the legacy case) from there
// followed by resetting the features not restored would leave it, in the
// ptrace NT_X86_XSTATE form the platform loads.
func (c *Context) restoreFPState(mem MemoryIO, addr uint64) ([]byte, error) {
	fpSize := len(c.FP)
	legacy := make([]byte, linux.FXSaveSize)
	if err := copyIn(mem, addr, legacy); err != nil {
		return nil, err
	}
	var sw linux.FPXSwBytes
	sw.Decode(legacy[linux.FPStateSwReservedOffset:])
	xcr0, user := xfeatures(c.FP)

	// check_xstate_in_sigframe: without consistent magic the state is a
	// bare FXSAVE image.
	fxOnly := sw.Magic1 != linux.FP_XSTATE_MAGIC1 ||
		sw.XstateSize < linux.XSaveMinSize ||
		int(sw.XstateSize) > fpSize ||
		sw.XstateSize > sw.ExtendedSize
	if !fxOnly {
		var m [4]byte
		if err := copyIn(mem, addr+uint64(sw.XstateSize), m[:]); err != nil {
			return nil, err
		}
		fxOnly = binary.LittleEndian.Uint32(m[:]) != linux.FP_XSTATE_MAGIC2
	}

	out := append([]byte(nil), c.FP...)
	resetFPState(out)
	mxcsrMask := binary.LittleEndian.Uint32(out[linux.FXSaveMXCSRMaskOffset:])
	if mxcsrMask == 0 {
		mxcsrMask = linux.FPDefaultMXCSRMask
	}
	mxcsr := binary.LittleEndian.Uint32(legacy[linux.FXSaveMXCSROffset:])

	if fxOnly {
		// FXRSTOR: 16-byte alignment, valid MXCSR; x87 and SSE from
		// the image, everything else in its init state.
		if addr%16 != 0 || mxcsr&^mxcsrMask != 0 {
			return nil, ErrBadFPState
		}
		copyX87(out, legacy)
		copy(out[linux.FXSaveXMMOffset:linux.FXSavePaddingOffset], legacy[linux.FXSaveXMMOffset:])
		binary.LittleEndian.PutUint32(out[linux.FXSaveMXCSROffset:], mxcsr)
		return out, nil
	}

	// XRSTOR with the requested-feature bitmap sw.xfeatures & the task's
	// features. It faults on a misaligned area, a compacted or otherwise
	// reserved header, features not enabled in XCR0, and reserved MXCSR
	// bits when it loads MXCSR.
	rfbm := sw.Xfeatures & user
	hdr := make([]byte, linux.XSaveHeaderSize)
	if err := copyIn(mem, addr+linux.XSaveHeaderOffset, hdr); err != nil {
		return nil, err
	}
	bv := binary.LittleEndian.Uint64(hdr)
	if addr%linux.XSaveAlignment != 0 || bv&^xcr0 != 0 ||
		binary.LittleEndian.Uint64(hdr[8:]) != 0 || binary.LittleEndian.Uint64(hdr[16:]) != 0 {
		return nil, ErrBadFPState
	}
	if rfbm&(linux.XFEATURE_MASK_SSE|linux.XFEATURE_MASK_YMM) != 0 {
		if mxcsr&^mxcsrMask != 0 {
			return nil, ErrBadFPState
		}
		binary.LittleEndian.PutUint32(out[linux.FXSaveMXCSROffset:], mxcsr)
	}
	load := rfbm & bv
	if load&linux.XFEATURE_MASK_FP != 0 {
		copyX87(out, legacy)
	}
	if load&linux.XFEATURE_MASK_SSE != 0 {
		copy(out[linux.FXSaveXMMOffset:linux.FXSavePaddingOffset], legacy[linux.FXSaveXMMOffset:])
	}
	ext := load &^ linux.XFEATURE_MASK_FPSSE
	if ext != 0 {
		lay := hostXstate()
		end := uint64(linux.XSaveMinSize)
		for i := range 64 {
			if ext&(1<<i) != 0 {
				end = max(end, uint64(lay.offset[i])+uint64(lay.size[i]))
			}
		}
		area := make([]byte, end-linux.XSaveMinSize)
		if err := copyIn(mem, addr+linux.XSaveMinSize, area); err != nil {
			return nil, err
		}
		for i := range 64 {
			if ext&(1<<i) != 0 {
				off, n := lay.offset[i], lay.size[i]
				copy(out[off:off+n], area[off-linux.XSaveMinSize:])
			}
		}
	}
	binary.LittleEndian.PutUint64(out[linux.XSaveHeaderOffset:], load|linux.XFEATURE_MASK_FPSSE)
	return out, nil
}

// copyX87 copies the x87 state (control, status, tag, opcode, pointers and
// the eight registers) of the FXSAVE image src into dst.
func copyX87(dst, src []byte) {
	copy(dst[:linux.FXSaveMXCSROffset], src)
	copy(dst[linux.FXSaveSTOffset:linux.FXSaveXMMOffset], src[linux.FXSaveSTOffset:])
}

// resetFPState puts fp, an XSAVE image in NT_X86_XSTATE form, into the
// state Linux gives a signal handler (fpu__clear_user_states): x87 control
// word 0x37f, MXCSR 0x1f80, all registers zero, x87 and SSE marked present
// with those values and every other feature in its init state. It keeps
// the MXCSR mask and the software words at sw_reserved (where the ptrace
// image carries XCR0), which are not state.
func resetFPState(fp []byte) {
	mask := binary.LittleEndian.Uint32(fp[linux.FXSaveMXCSRMaskOffset:])
	var sw [linux.FXSaveSize - linux.FPStateSwReservedOffset]byte
	copy(sw[:], fp[linux.FPStateSwReservedOffset:])
	clear(fp)
	binary.LittleEndian.PutUint16(fp[linux.FXSaveFCWOffset:], linux.FPInitFCW)
	binary.LittleEndian.PutUint32(fp[linux.FXSaveMXCSROffset:], linux.FPInitMXCSR)
	binary.LittleEndian.PutUint32(fp[linux.FXSaveMXCSRMaskOffset:], mask)
	copy(fp[linux.FPStateSwReservedOffset:], sw[:])
	binary.LittleEndian.PutUint64(fp[linux.XSaveHeaderOffset:], linux.XFEATURE_MASK_FPSSE)
}

// maxFPStateSize bounds the FP state the frame code accepts, well above any
// CPU's XSAVE area (the platform probes up to 64 KiB).
const maxFPStateSize = 64 << 10

// userXfeaturesSupported are the XSAVE features Linux enables for user
// space when the CPU has them (XFEATURE_MASK_USER_SUPPORTED; the MPX
// components stay enabled although Linux no longer uses MPX).
const userXfeaturesSupported = linux.XFEATURE_MASK_FP | linux.XFEATURE_MASK_SSE |
	linux.XFEATURE_MASK_YMM | linux.XFEATURE_MASK_BNDREGS | linux.XFEATURE_MASK_BNDCSR |
	linux.XFEATURE_MASK_OPMASK | linux.XFEATURE_MASK_ZMM_Hi256 | linux.XFEATURE_MASK_Hi16_ZMM |
	linux.XFEATURE_MASK_PKRU | linux.XFEATURE_MASK_XTILE_CFG | linux.XFEATURE_MASK_XTILE_DATA

// xstateLayout is the CPU's XSAVE layout from CPUID leaf 0xd.
type xstateLayout struct {
	// supported are the features the CPU can save in XCR0.
	supported uint64
	// offset and size of each user component in the standard form.
	offset, size [64]uint32
}

var hostXstate = sync.OnceValue(func() xstateLayout {
	lay := xstateLayout{supported: linux.XFEATURE_MASK_FPSSE}
	if maxLeaf, _, _, _ := CPUID(0, 0); maxLeaf < 0xd {
		return lay
	}
	eax, _, _, edx := CPUID(0xd, 0)
	lay.supported |= uint64(edx)<<32 | uint64(eax)
	for i := 2; i < 64; i++ {
		if lay.supported&(1<<i) == 0 {
			continue
		}
		size, off, _, _ := CPUID(0xd, uint32(i))
		lay.offset[i], lay.size[i] = off, size
	}
	return lay
})

// xfeatures returns the XSAVE features enabled for the task (XCR0) and the
// ones a signal frame carries (Linux's fpstate user_xfeatures: XCR0 less
// AMX tile data, which needs a permission the Sentry does not grant), as
// far as they fit in an image of len(fp) bytes. XCR0 comes from the
// NT_X86_XSTATE image's software word when the platform has pulled one, and
// otherwise from what the CPU supports and Linux enables.
func xfeatures(fp []byte) (xcr0, user uint64) {
	lay := hostXstate()
	w := binary.LittleEndian.Uint64(fp[linux.FPStateSwReservedOffset:])
	if w&linux.XFEATURE_MASK_FPSSE == linux.XFEATURE_MASK_FPSSE && w&^lay.supported == 0 {
		xcr0 = w
	} else {
		xcr0 = lay.supported & userXfeaturesSupported
	}
	for rest := xcr0 &^ linux.XFEATURE_MASK_FPSSE; rest != 0; rest &= rest - 1 {
		i := bits.TrailingZeros64(rest)
		if lay.size[i] == 0 || int(lay.offset[i])+int(lay.size[i]) > len(fp) {
			xcr0 &^= 1 << i
		}
	}
	return xcr0, xcr0 &^ linux.XFEATURE_MASK_XTILE_DATA
}

// copyOut writes b to guest memory at addr, failing with EFAULT on a short
// copy or an address range that wraps.
func copyOut(mem MemoryIO, addr uint64, b []byte) error {
	if addr+uint64(len(b)) < addr {
		return unix.EFAULT
	}
	n, err := mem.CopyOut(uintptr(addr), b)
	if err != nil {
		return fmt.Errorf("at %#x: %w", addr, err)
	}
	if n != len(b) {
		return fmt.Errorf("at %#x: %w", addr+uint64(n), unix.EFAULT)
	}
	return nil
}

// copyIn reads b from guest memory at addr, with copyOut's rules.
func copyIn(mem MemoryIO, addr uint64, b []byte) error {
	if addr+uint64(len(b)) < addr {
		return unix.EFAULT
	}
	n, err := mem.CopyIn(uintptr(addr), b)
	if err != nil {
		return fmt.Errorf("at %#x: %w", addr, err)
	}
	if n != len(b) {
		return fmt.Errorf("at %#x: %w", addr+uint64(n), unix.EFAULT)
	}
	return nil
}
