package arch

// Sizes from arch/x86 that determine AT_MINSIGSTKSZ. Linux sizes the
// worst-case frame for every ABI the kernel supports; distribution kernels
// are built with IA32 emulation, whose legacy sigframe_ia32 (732 bytes:
// pretcode, sig, sigcontext_32, the unused _fpstate_32, extramask,
// retcode) is larger than the 64-bit rt_sigframe, and whose FP state
// carries an extra fsave header.
const (
	sigframeIA32Size = 732
	fregsStateSize   = 112
	frameAlignment   = 16
	maxFramePadding  = frameAlignment - 1
	maxXsavePadding  = 63
	fpXstateMagic2   = 4
)

// MinSigStackSize returns AT_MINSIGSTKSZ for an XSAVE area of fpStateSize
// bytes, computed as Linux's init_sigframe_size does: the largest frame,
// the FP state with its trailing magic and fsave header, worst-case
// alignment padding, rounded up to the frame alignment.
func MinSigStackSize(fpStateSize int) uint64 {
	n := sigframeIA32Size + maxFramePadding + fpStateSize + fpXstateMagic2 + fregsStateSize + maxXsavePadding
	return uint64((n + frameAlignment - 1) &^ (frameAlignment - 1))
}
