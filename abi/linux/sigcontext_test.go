package linux

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// kernelLayoutC prints sizes, offsets and constants of the signal-frame
// structures as the kernel's uapi headers define them. struct rt_sigframe
// is not in uapi; it is declared here as arch/x86/include/asm/sigframe.h
// has it (pretcode, ucontext, siginfo).
const kernelLayoutC = `
#include <stddef.h>
#include <stdio.h>
#include <asm/signal.h>
#include <asm/siginfo.h>
#include <asm/sigcontext.h>
#include <asm/ucontext.h>
#include <linux/signal.h>

struct rt_sigframe {
	char *pretcode;
	struct ucontext uc;
	siginfo_t info;
};

#define S(t) printf("sizeof %s %zu\n", #t, sizeof(t))
#define O(t, f) printf("offsetof %s.%s %zu\n", #t, #f, offsetof(t, f))
#define C(c) printf("const %s %llu\n", #c, (unsigned long long)(c))

int main(void) {
	S(struct sigaction); O(struct sigaction, sa_handler); O(struct sigaction, sa_flags);
	O(struct sigaction, sa_restorer); O(struct sigaction, sa_mask);
	S(stack_t); O(stack_t, ss_sp); O(stack_t, ss_flags); O(stack_t, ss_size);
	S(struct sigcontext);
	O(struct sigcontext, r8); O(struct sigcontext, r9); O(struct sigcontext, r10); O(struct sigcontext, r11);
	O(struct sigcontext, r12); O(struct sigcontext, r13); O(struct sigcontext, r14); O(struct sigcontext, r15);
	O(struct sigcontext, rdi); O(struct sigcontext, rsi); O(struct sigcontext, rbp); O(struct sigcontext, rbx);
	O(struct sigcontext, rdx); O(struct sigcontext, rax); O(struct sigcontext, rcx); O(struct sigcontext, rsp);
	O(struct sigcontext, rip); O(struct sigcontext, eflags); O(struct sigcontext, cs); O(struct sigcontext, gs);
	O(struct sigcontext, fs); O(struct sigcontext, ss); O(struct sigcontext, err); O(struct sigcontext, trapno);
	O(struct sigcontext, oldmask); O(struct sigcontext, cr2); O(struct sigcontext, fpstate);
	O(struct sigcontext, reserved1);
	S(struct ucontext); O(struct ucontext, uc_flags); O(struct ucontext, uc_link); O(struct ucontext, uc_stack);
	O(struct ucontext, uc_mcontext); O(struct ucontext, uc_sigmask);
	S(struct rt_sigframe); O(struct rt_sigframe, pretcode); O(struct rt_sigframe, uc); O(struct rt_sigframe, info);
	S(siginfo_t);
	S(struct _fpx_sw_bytes); O(struct _fpx_sw_bytes, magic1); O(struct _fpx_sw_bytes, extended_size);
	O(struct _fpx_sw_bytes, xfeatures); O(struct _fpx_sw_bytes, xstate_size); O(struct _fpx_sw_bytes, padding);
	S(struct _fpstate_64); O(struct _fpstate_64, mxcsr); O(struct _fpstate_64, mxcsr_mask);
	O(struct _fpstate_64, st_space); O(struct _fpstate_64, xmm_space); O(struct _fpstate_64, reserved2);
	O(struct _fpstate_64, sw_reserved);
	O(struct _xstate, xstate_hdr); O(struct _header, xfeatures); O(struct _header, reserved1);
	S(struct _header); O(struct _xstate, ymmh);
	C(FP_XSTATE_MAGIC1); C(FP_XSTATE_MAGIC2); C(FP_XSTATE_MAGIC2_SIZE);
	C(UC_FP_XSTATE); C(UC_SIGCONTEXT_SS); C(UC_STRICT_RESTORE_SS);
	C(SA_NOCLDSTOP); C(SA_NOCLDWAIT); C(SA_SIGINFO); C(SA_UNSUPPORTED); C(SA_EXPOSE_TAGBITS);
	C(SA_RESTORER); C(SA_ONSTACK); C(SA_RESTART); C(SA_NODEFER); C(SA_RESETHAND);
	C(SA_NOMASK); C(SA_ONESHOT); C(SIG_DFL); C(SIG_IGN);
	C(SS_ONSTACK); C(SS_DISABLE); C(SS_AUTODISARM); C(SS_FLAG_BITS); C(MINSIGSTKSZ); C(SIGSTKSZ);
	return 0;
}
`

// glibcLayoutC prints where the C library's ucontext_t and mcontext_t put
// the fields a handler reads, which must agree with the kernel's frame.
const glibcLayoutC = `
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <signal.h>
#include <ucontext.h>

#define G(r) printf("greg %s %zu\n", #r, offsetof(ucontext_t, uc_mcontext.gregs) + (r) * sizeof(greg_t))
#define O(t, f) printf("offsetof %s.%s %zu\n", #t, #f, offsetof(t, f))

int main(void) {
	O(ucontext_t, uc_flags); O(ucontext_t, uc_link); O(ucontext_t, uc_stack); O(ucontext_t, uc_mcontext);
	O(ucontext_t, uc_sigmask); O(ucontext_t, uc_mcontext.fpregs);
	printf("sizeof mcontext_t %zu\n", sizeof(mcontext_t));
	G(REG_R8); G(REG_R9); G(REG_R10); G(REG_R11); G(REG_R12); G(REG_R13); G(REG_R14); G(REG_R15);
	G(REG_RDI); G(REG_RSI); G(REG_RBP); G(REG_RBX); G(REG_RDX); G(REG_RAX); G(REG_RCX); G(REG_RSP);
	G(REG_RIP); G(REG_EFL); G(REG_CSGSFS); G(REG_ERR); G(REG_TRAPNO); G(REG_OLDMASK); G(REG_CR2);
	O(siginfo_t, si_signo); O(siginfo_t, si_code); O(siginfo_t, si_addr); O(siginfo_t, si_pid);
	O(struct _libc_fpstate, mxcsr);
	return 0;
}
`

// runC compiles src with gcc and returns its "key value" lines as a map
// from key (which may hold spaces) to value. It skips the test without gcc.
func runC(t *testing.T, src string) map[string]uint64 {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skipf("gcc not found: %v", err)
	}
	dir := t.TempDir()
	c := filepath.Join(dir, "layout.c")
	bin := filepath.Join(dir, "layout")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("gcc", "-Wall", "-Werror", "-o", bin, c).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatalf("running layout program: %v", err)
	}
	m := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("bad line %q", line)
		}
		v, err := strconv.ParseUint(line[i+1:], 10, 64)
		if err != nil {
			t.Fatalf("bad line %q: %v", line, err)
		}
		m[line[:i]] = v
	}
	return m
}

func expect(t *testing.T, m map[string]uint64, key string, want uint64) {
	t.Helper()
	got, ok := m[key]
	if !ok {
		t.Errorf("%s: not printed by the C program", key)
		return
	}
	if got != want {
		t.Errorf("%s: C says %d, Go has %d", key, got, want)
	}
}

// fieldAt reports whether the little-endian value v of size bytes sits at
// off in b.
func fieldAt(b []byte, off, size int, v uint64) bool {
	switch size {
	case 2:
		return binary.LittleEndian.Uint16(b[off:]) == uint16(v)
	case 4:
		return binary.LittleEndian.Uint32(b[off:]) == uint32(v)
	case 8:
		return binary.LittleEndian.Uint64(b[off:]) == v
	}
	return false
}

func TestSignalFrameLayoutMatchesKernelHeaders(t *testing.T) {
	m := runC(t, kernelLayoutC)

	// Sizes.
	expect(t, m, "sizeof struct sigaction", SigActionSize)
	expect(t, m, "sizeof stack_t", SignalStackSize)
	expect(t, m, "sizeof struct sigcontext", SigContextSize)
	expect(t, m, "sizeof struct ucontext", UContextSize)
	expect(t, m, "sizeof struct rt_sigframe", RTSigframeSize)
	expect(t, m, "sizeof siginfo_t", SignalInfoSize)
	expect(t, m, "sizeof struct _fpx_sw_bytes", FPXSwBytesSize)
	expect(t, m, "sizeof struct _fpstate_64", FXSaveSize)
	expect(t, m, "sizeof struct _header", XSaveHeaderSize)

	// Every field of each structure: encode a value whose bytes are
	// distinct per field and find it at the offset C reports.
	sa := SigAction{Handler: 0x1111111111111111, Flags: 0x2222222222222222, Restorer: 0x3333333333333333, Mask: 0x4444444444444444}
	b := make([]byte, SigActionSize)
	sa.Encode(b)
	for _, f := range []struct {
		name string
		v    uint64
	}{{"sa_handler", sa.Handler}, {"sa_flags", sa.Flags}, {"sa_restorer", sa.Restorer}, {"sa_mask", uint64(sa.Mask)}} {
		if off, ok := m["offsetof struct sigaction."+f.name]; !ok || !fieldAt(b, int(off), 8, f.v) {
			t.Errorf("sigaction.%s not at C offset %d", f.name, off)
		}
	}

	ss := SignalStack{Addr: 0x5555555555555555, Flags: 0x66666666, Size: 0x7777777777777777}
	b = make([]byte, SignalStackSize)
	ss.Encode(b)
	for _, f := range []struct {
		name string
		size int
		v    uint64
	}{{"ss_sp", 8, ss.Addr}, {"ss_flags", 4, uint64(ss.Flags)}, {"ss_size", 8, ss.Size}} {
		if off, ok := m["offsetof stack_t."+f.name]; !ok || !fieldAt(b, int(off), f.size, f.v) {
			t.Errorf("stack_t.%s not at C offset %d", f.name, off)
		}
	}

	var sc SigContext
	words := sc.words()
	for i, w := range words {
		*w = 0x0101010101010101 * uint64(i+1)
	}
	sc.Cs, sc.Gs, sc.Fs, sc.Ss = 0xa1a1, 0xa2a2, 0xa3a3, 0xa4a4
	sc.Err, sc.Trapno, sc.Oldmask, sc.Cr2, sc.Fpstate = 0xb1, 0xb2, 0xb3, 0xb4, 0xb5
	sc.Reserved[0] = 0xc1
	b = make([]byte, SigContextSize)
	sc.Encode(b)
	names := []string{"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi", "rsi", "rbp", "rbx",
		"rdx", "rax", "rcx", "rsp", "rip", "eflags"}
	for i, n := range names {
		if off, ok := m["offsetof struct sigcontext."+n]; !ok || !fieldAt(b, int(off), 8, *words[i]) {
			t.Errorf("sigcontext.%s not at C offset %d", n, off)
		}
	}
	for _, f := range []struct {
		name string
		size int
		v    uint64
		goff int
	}{
		{"cs", 2, 0xa1a1, SigContextCsOffset}, {"gs", 2, 0xa2a2, -1}, {"fs", 2, 0xa3a3, -1},
		{"ss", 2, 0xa4a4, SigContextSsOffset}, {"err", 8, 0xb1, SigContextErrOffset},
		{"trapno", 8, 0xb2, SigContextTrapnoOffset}, {"oldmask", 8, 0xb3, SigContextOldmaskOffset},
		{"cr2", 8, 0xb4, SigContextCr2Offset}, {"fpstate", 8, 0xb5, SigContextFpstateOffset},
		{"reserved1", 8, 0xc1, SigContextReservedOffset},
	} {
		off, ok := m["offsetof struct sigcontext."+f.name]
		if !ok || !fieldAt(b, int(off), f.size, f.v) {
			t.Errorf("sigcontext.%s not at C offset %d", f.name, off)
		}
		if f.goff >= 0 && uint64(f.goff) != off {
			t.Errorf("SigContext %s offset constant %d, C %d", f.name, f.goff, off)
		}
	}
	expect(t, m, "offsetof struct sigcontext.rsp", SigContextRspOffset)
	expect(t, m, "offsetof struct sigcontext.rip", SigContextRipOffset)
	expect(t, m, "offsetof struct sigcontext.eflags", SigContextEflagsOffset)

	expect(t, m, "offsetof struct ucontext.uc_flags", UContextFlagsOffset)
	expect(t, m, "offsetof struct ucontext.uc_link", UContextLinkOffset)
	expect(t, m, "offsetof struct ucontext.uc_stack", UContextStackOffset)
	expect(t, m, "offsetof struct ucontext.uc_mcontext", UContextMContextOffset)
	expect(t, m, "offsetof struct ucontext.uc_sigmask", UContextSigmaskOffset)
	expect(t, m, "offsetof struct rt_sigframe.pretcode", 0)
	expect(t, m, "offsetof struct rt_sigframe.uc", RTSigframeUContextOffset)
	expect(t, m, "offsetof struct rt_sigframe.info", RTSigframeInfoOffset)

	sw := FPXSwBytes{Magic1: 0x11223344, ExtendedSize: 0x55667788, Xfeatures: 0x99aabbccddeeff00, XstateSize: 0x12345678}
	sw.Padding[0] = 0xfedcba98
	b = make([]byte, FPXSwBytesSize)
	sw.Encode(b)
	for _, f := range []struct {
		name string
		size int
		v    uint64
	}{{"magic1", 4, uint64(sw.Magic1)}, {"extended_size", 4, uint64(sw.ExtendedSize)},
		{"xfeatures", 8, sw.Xfeatures}, {"xstate_size", 4, uint64(sw.XstateSize)}, {"padding", 4, uint64(sw.Padding[0])}} {
		if off, ok := m["offsetof struct _fpx_sw_bytes."+f.name]; !ok || !fieldAt(b, int(off), f.size, f.v) {
			t.Errorf("_fpx_sw_bytes.%s not at C offset %d", f.name, off)
		}
	}

	expect(t, m, "offsetof struct _fpstate_64.mxcsr", FXSaveMXCSROffset)
	expect(t, m, "offsetof struct _fpstate_64.mxcsr_mask", FXSaveMXCSRMaskOffset)
	expect(t, m, "offsetof struct _fpstate_64.st_space", FXSaveSTOffset)
	expect(t, m, "offsetof struct _fpstate_64.xmm_space", FXSaveXMMOffset)
	expect(t, m, "offsetof struct _fpstate_64.reserved2", FXSavePaddingOffset)
	expect(t, m, "offsetof struct _fpstate_64.sw_reserved", FPStateSwReservedOffset)
	expect(t, m, "offsetof struct _xstate.xstate_hdr", XSaveHeaderOffset)
	expect(t, m, "offsetof struct _header.xfeatures", 0)
	expect(t, m, "offsetof struct _header.reserved1", XSaveXcompBVOffset-XSaveHeaderOffset)
	expect(t, m, "offsetof struct _xstate.ymmh", XSaveMinSize)

	for name, v := range map[string]uint64{
		"FP_XSTATE_MAGIC1": FP_XSTATE_MAGIC1, "FP_XSTATE_MAGIC2": FP_XSTATE_MAGIC2,
		"FP_XSTATE_MAGIC2_SIZE": FP_XSTATE_MAGIC2_SIZE, "UC_FP_XSTATE": UC_FP_XSTATE,
		"UC_SIGCONTEXT_SS": UC_SIGCONTEXT_SS, "UC_STRICT_RESTORE_SS": UC_STRICT_RESTORE_SS,
		"SA_NOCLDSTOP": SA_NOCLDSTOP, "SA_NOCLDWAIT": SA_NOCLDWAIT, "SA_SIGINFO": SA_SIGINFO,
		"SA_UNSUPPORTED": SA_UNSUPPORTED, "SA_EXPOSE_TAGBITS": SA_EXPOSE_TAGBITS,
		"SA_RESTORER": SA_RESTORER, "SA_ONSTACK": SA_ONSTACK, "SA_RESTART": SA_RESTART,
		"SA_NODEFER": SA_NODEFER, "SA_RESETHAND": SA_RESETHAND, "SA_NOMASK": SA_NOMASK,
		"SA_ONESHOT": SA_ONESHOT, "SIG_DFL": SIG_DFL, "SIG_IGN": SIG_IGN,
		"SS_ONSTACK": SS_ONSTACK, "SS_DISABLE": SS_DISABLE, "SS_AUTODISARM": SS_AUTODISARM,
		"SS_FLAG_BITS": SS_FLAG_BITS, "MINSIGSTKSZ": MINSIGSTKSZ, "SIGSTKSZ": SIGSTKSZ,
	} {
		expect(t, m, "const "+name, v)
	}
}

func TestGlibcUcontextAgreesWithKernelFrame(t *testing.T) {
	m := runC(t, glibcLayoutC)
	mc := uint64(UContextMContextOffset)
	expect(t, m, "offsetof ucontext_t.uc_flags", UContextFlagsOffset)
	expect(t, m, "offsetof ucontext_t.uc_link", UContextLinkOffset)
	expect(t, m, "offsetof ucontext_t.uc_stack", UContextStackOffset)
	expect(t, m, "offsetof ucontext_t.uc_mcontext", mc)
	expect(t, m, "offsetof ucontext_t.uc_sigmask", UContextSigmaskOffset)
	expect(t, m, "offsetof ucontext_t.uc_mcontext.fpregs", mc+SigContextFpstateOffset)
	expect(t, m, "sizeof mcontext_t", SigContextSize)
	expect(t, m, "offsetof struct _libc_fpstate.mxcsr", FXSaveMXCSROffset)
	regs := []string{"R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15", "RDI", "RSI", "RBP", "RBX",
		"RDX", "RAX", "RCX", "RSP", "RIP", "EFL"}
	for i, r := range regs {
		expect(t, m, "greg REG_"+r, mc+uint64(i*8))
	}
	// cs, gs, fs and ss share one greg.
	expect(t, m, "greg REG_CSGSFS", mc+SigContextCsOffset)
	expect(t, m, "greg REG_ERR", mc+SigContextErrOffset)
	expect(t, m, "greg REG_TRAPNO", mc+SigContextTrapnoOffset)
	expect(t, m, "greg REG_OLDMASK", mc+SigContextOldmaskOffset)
	expect(t, m, "greg REG_CR2", mc+SigContextCr2Offset)
	expect(t, m, "offsetof siginfo_t.si_signo", 0)
	expect(t, m, "offsetof siginfo_t.si_code", 8)
	expect(t, m, "offsetof siginfo_t.si_addr", 16)
	expect(t, m, "offsetof siginfo_t.si_pid", 16)
}

func TestSignalFrameRoundTrip(t *testing.T) {
	var f RTSigframe
	f.Pretcode = 0x401000
	f.UC.Flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS
	f.UC.Link = 7
	f.UC.Stack = SignalStack{Addr: 0x7000, Flags: SS_AUTODISARM, Size: 0x2000}
	for i, w := range f.UC.MContext.words() {
		*w = uint64(i) * 0x1000
	}
	f.UC.MContext.Cs, f.UC.MContext.Ss = UserCS, UserDS
	f.UC.MContext.Fpstate = 0x7fff0040
	f.UC.MContext.Reserved[7] = 9
	f.UC.Sigmask = MakeSignalSet(SIGUSR1, SIGRTMAX)
	f.Info.Signo = int32(SIGSEGV)
	f.Info.Code = SEGV_MAPERR
	f.Info.SetAddr(0xdead)
	b := make([]byte, RTSigframeSize)
	f.Encode(b)
	var g RTSigframe
	g.Decode(b)
	if g != f {
		t.Errorf("round trip:\n got %+v\nwant %+v", g, f)
	}
	if binary.LittleEndian.Uint64(b[RTSigframeInfoOffset+16:]) != 0xdead {
		t.Errorf("si_addr not at info+16")
	}
	var sw, sw2 FPXSwBytes
	sw = FPXSwBytes{Magic1: FP_XSTATE_MAGIC1, ExtendedSize: 836, Xfeatures: 7, XstateSize: 832}
	sb := make([]byte, FPXSwBytesSize)
	sw.Encode(sb)
	sw2.Decode(sb)
	if sw != sw2 {
		t.Errorf("sw bytes round trip: %+v", sw2)
	}
}

func TestSignalStackBounds(t *testing.T) {
	s := SignalStack{Addr: 0x1000, Size: 0x1000}
	for _, c := range []struct {
		sp   uint64
		want bool
	}{{0x1000, false}, {0x1001, true}, {0x1800, true}, {0x2000, true}, {0x2001, false}, {0, false}} {
		if got := s.Contains(c.sp); got != c.want {
			t.Errorf("Contains(%#x) = %v", c.sp, got)
		}
	}
	if !s.IsEnabled() || s.Top() != 0x2000 {
		t.Errorf("IsEnabled/Top wrong")
	}
	if (&SignalStack{Flags: SS_DISABLE}).IsEnabled() || (&SignalStack{Addr: 1, Size: 10, Flags: SS_DISABLE}).IsEnabled() {
		t.Errorf("disabled stack reported enabled")
	}
	var d SigAction
	sa := SigAction{Handler: 1, Flags: SA_SIGINFO | SA_RESTORER, Restorer: 3, Mask: 4}
	b := make([]byte, SigActionSize)
	sa.Encode(b)
	d.Decode(b)
	if d != sa {
		t.Errorf("sigaction round trip %+v", d)
	}
}
