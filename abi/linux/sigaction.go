package linux

import "encoding/binary"

// SigAction is struct sigaction as rt_sigaction(2) passes it on amd64: the
// kernel's layout (include/linux/signal_types.h via the x86 uapi headers),
// not the C library's, which puts the mask second and makes it 128 bytes.
//
//	offset  0  sa_handler   (handler address, SIG_DFL or SIG_IGN)
//	offset  8  sa_flags     (unsigned long)
//	offset 16  sa_restorer  (return trampoline, used with SA_RESTORER)
//	offset 24  sa_mask      (sigset_t, SignalSetSize bytes)
type SigAction struct {
	Handler  uint64
	Flags    uint64
	Restorer uint64
	Mask     SignalSet
}

// SigActionSize is sizeof(struct sigaction) for rt_sigaction on amd64.
const SigActionSize = 32

// Encode writes the kernel's byte layout of sa into b (at least
// SigActionSize bytes).
func (sa *SigAction) Encode(b []byte) {
	_ = b[SigActionSize-1]
	binary.LittleEndian.PutUint64(b[0:], sa.Handler)
	binary.LittleEndian.PutUint64(b[8:], sa.Flags)
	binary.LittleEndian.PutUint64(b[16:], sa.Restorer)
	binary.LittleEndian.PutUint64(b[24:], uint64(sa.Mask))
}

// Decode reads sa from the kernel's byte layout in b.
func (sa *SigAction) Decode(b []byte) {
	_ = b[SigActionSize-1]
	sa.Handler = binary.LittleEndian.Uint64(b[0:])
	sa.Flags = binary.LittleEndian.Uint64(b[8:])
	sa.Restorer = binary.LittleEndian.Uint64(b[16:])
	sa.Mask = SignalSet(binary.LittleEndian.Uint64(b[24:]))
}

// Special values of sa_handler.
const (
	SIG_DFL = 0
	SIG_IGN = 1
)

// sa_flags bits (arch/x86/include/uapi/asm/signal.h and
// include/uapi/asm-generic/signal-defs.h).
const (
	SA_NOCLDSTOP      = 0x00000001
	SA_NOCLDWAIT      = 0x00000002
	SA_SIGINFO        = 0x00000004
	SA_UNSUPPORTED    = 0x00000400
	SA_EXPOSE_TAGBITS = 0x00000800
	SA_RESTORER       = 0x04000000
	SA_ONSTACK        = 0x08000000
	SA_RESTART        = 0x10000000
	SA_NODEFER        = 0x40000000
	SA_RESETHAND      = 0x80000000

	SA_NOMASK  = SA_NODEFER
	SA_ONESHOT = SA_RESETHAND
)

// SignalStack is stack_t, the alternate signal stack as sigaltstack(2)
// passes it and as uc_stack records it in a signal frame:
//
//	offset  0  ss_sp     (void *)
//	offset  8  ss_flags  (int, then 4 bytes of padding)
//	offset 16  ss_size   (size_t)
//
// As the kernel stores it per thread, Flags holds what sigaltstack was
// given (SS_AUTODISARM, SS_DISABLE or SS_ONSTACK), and a disabled stack has
// Addr and Size zero.
type SignalStack struct {
	Addr  uint64
	Flags uint32
	Size  uint64
}

// SignalStackSize is sizeof(stack_t).
const SignalStackSize = 24

// Encode writes the kernel's byte layout of s into b (at least
// SignalStackSize bytes).
func (s *SignalStack) Encode(b []byte) {
	_ = b[SignalStackSize-1]
	binary.LittleEndian.PutUint64(b[0:], s.Addr)
	binary.LittleEndian.PutUint32(b[8:], s.Flags)
	binary.LittleEndian.PutUint32(b[12:], 0)
	binary.LittleEndian.PutUint64(b[16:], s.Size)
}

// Decode reads s from the kernel's byte layout in b.
func (s *SignalStack) Decode(b []byte) {
	_ = b[SignalStackSize-1]
	s.Addr = binary.LittleEndian.Uint64(b[0:])
	s.Flags = binary.LittleEndian.Uint32(b[8:])
	s.Size = binary.LittleEndian.Uint64(b[16:])
}

// IsEnabled reports whether s is an alternate stack signals can use. Linux
// tests only the size (sas_ss_flags); SS_DISABLE is checked too so that a
// SignalStack built by hand is not misread.
func (s *SignalStack) IsEnabled() bool {
	return s.Size != 0 && s.Flags&SS_DISABLE == 0
}

// Contains reports whether the stack pointer sp is on s, with Linux's
// bounds for a downward-growing stack (__on_sig_stack): above Addr and at
// most Addr+Size, so an empty stack pointer at the top counts as on it.
func (s *SignalStack) Contains(sp uint64) bool {
	return sp > s.Addr && sp-s.Addr <= s.Size
}

// Top returns the address just above s, where a frame on it starts.
func (s *SignalStack) Top() uint64 { return s.Addr + s.Size }

// ss_flags values (include/uapi/linux/signal.h).
const (
	SS_ONSTACK    = 1
	SS_DISABLE    = 2
	SS_AUTODISARM = 1 << 31
	// SS_FLAG_BITS are the flags sigaltstack accepts beside the mode.
	SS_FLAG_BITS = SS_AUTODISARM
)

// Minimum and default alternate stack sizes of the x86 uapi headers:
// sigaltstack(2) refuses a smaller stack than MINSIGSTKSZ with ENOMEM. The
// size a frame with this CPU's XSAVE area really needs is AT_MINSIGSTKSZ.
const (
	MINSIGSTKSZ = 2048
	SIGSTKSZ    = 8192
)
