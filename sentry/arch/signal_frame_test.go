package arch

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"golang.org/x/sys/unix"
)

// fakeMem is guest memory made of a few mapped regions; anything else
// faults, and copies stop at the first unmapped byte.
type fakeMem struct {
	regions []region
}

type region struct {
	base uint64
	b    []byte
}

func (m *fakeMem) mapRegion(base uint64, size int) []byte {
	b := make([]byte, size)
	m.regions = append(m.regions, region{base, b})
	return b
}

func (m *fakeMem) at(addr uint64) ([]byte, bool) {
	for _, r := range m.regions {
		if addr >= r.base && addr-r.base < uint64(len(r.b)) {
			return r.b[addr-r.base:], true
		}
	}
	return nil, false
}

func (m *fakeMem) CopyOut(addr uintptr, src []byte) (int, error) {
	done := 0
	for done < len(src) {
		b, ok := m.at(uint64(addr) + uint64(done))
		if !ok {
			return done, unix.EFAULT
		}
		done += copy(b, src[done:])
	}
	return done, nil
}

func (m *fakeMem) CopyIn(addr uintptr, dst []byte) (int, error) {
	done := 0
	for done < len(dst) {
		b, ok := m.at(uint64(addr) + uint64(done))
		if !ok {
			return done, unix.EFAULT
		}
		done += copy(dst[done:], b)
	}
	return done, nil
}

func (m *fakeMem) read(t *testing.T, addr uint64, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if c, err := m.CopyIn(uintptr(addr), b); err != nil || c != n {
		t.Fatalf("reading %d bytes at %#x: %v", n, addr, err)
	}
	return b
}

// hostFPSize is the XSAVE area size for the features enabled in XCR0.
func hostFPSize() int {
	_, ebx, _, _ := CPUID(0xd, 0)
	return int(ebx)
}

// testFP returns an XSAVE image of size bytes in NT_X86_XSTATE form with
// every enabled component present and filled with a pattern.
func testFP(size int, seed byte) []byte {
	fp := make([]byte, size)
	xcr0, _ := xfeatures(fp)
	fill := func(b []byte) {
		for i := range b {
			b[i] = seed + byte(i*7)
		}
	}
	fill(fp[:linux.FXSavePaddingOffset])
	lay := hostXstate()
	for i := 2; i < 64; i++ {
		if xcr0&(1<<i) != 0 {
			fill(fp[lay.offset[i] : lay.offset[i]+lay.size[i]])
		}
	}
	binary.LittleEndian.PutUint32(fp[linux.FXSaveMXCSROffset:], 0x1f80|0x8000|0x3f) // FTZ and sticky flags
	binary.LittleEndian.PutUint32(fp[linux.FXSaveMXCSRMaskOffset:], 0xffff)
	binary.LittleEndian.PutUint64(fp[linux.FPStateSwReservedOffset:], xcr0)
	clear(fp[linux.XSaveHeaderOffset:linux.XSaveMinSize])
	binary.LittleEndian.PutUint64(fp[linux.XSaveHeaderOffset:], xcr0)
	return fp
}

func testRegs() linux.PtraceRegs {
	return linux.PtraceRegs{
		R15: 15, R14: 14, R13: 13, R12: 12, Rbp: 0x7ffe0100, Rbx: 0xb, R11: 11, R10: 10,
		R9: 9, R8: 8, Rax: 0xaaaa, Rcx: 0xcccc, Rdx: 0xdddd, Rsi: 0x5151, Rdi: 0xd1d1,
		Orig_rax: 39, Rip: 0x401234, Cs: linux.UserCS,
		Eflags: 0x202 | linux.X86_EFLAGS_DF | linux.X86_EFLAGS_CF | linux.X86_EFLAGS_TF,
		Rsp:    0x7ffe0000, Ss: linux.UserDS, Fs_base: 0x1000, Gs_base: 0x2000,
	}
}

var testAct = linux.SigAction{
	Handler:  0x402000,
	Flags:    linux.SA_SIGINFO | linux.SA_RESTORER,
	Restorer: 0x403000,
	Mask:     linux.MakeSignalSet(linux.SIGUSR2),
}

func testInfo() *linux.SignalInfo {
	info := &linux.SignalInfo{Signo: int32(linux.SIGSEGV), Code: linux.SEGV_MAPERR}
	info.SetAddr(0xdeadbeef)
	return info
}

func TestSignalSetupRestoreRoundTrip(t *testing.T) {
	fpSize := hostFPSize()
	mem := &fakeMem{}
	mem.mapRegion(0x7ffd0000, 0x20000)
	c := NewContext(testFP(fpSize, 3))
	c.Regs = testRegs()
	orig := c.Regs
	origFP := append([]byte(nil), c.FP...)
	oldMask := linux.MakeSignalSet(linux.SIGUSR1, linux.SIGRTMIN+2, linux.SIGKILL)
	fault := &SignalFault{Trapno: linux.X86_TRAP_PF, Err: linux.X86_PF_USER | linux.X86_PF_WRITE, Cr2: 0xdeadbeef}

	if err := c.SignalSetup(mem, &testAct, testInfo(), nil, oldMask, fault); err != nil {
		t.Fatalf("SignalSetup: %v", err)
	}
	r := c.Regs
	frame := r.Rsp
	if r.Rip != testAct.Handler || r.Rdi != uint64(linux.SIGSEGV) || r.Rsi != frame+linux.RTSigframeInfoOffset ||
		r.Rdx != frame+linux.RTSigframeUContextOffset || r.Rax != 0 || r.Cs != linux.UserCS || r.Ss != linux.UserDS {
		t.Errorf("handler entry registers %+v", r)
	}
	if (frame+8)%16 != 0 {
		t.Errorf("rsp %#x: (rsp+8) %% 16 != 0", frame)
	}
	if r.Eflags != 0x202|linux.X86_EFLAGS_CF {
		t.Errorf("handler eflags %#x, want DF and TF cleared", r.Eflags)
	}
	if r.Fs_base != orig.Fs_base || r.R12 != orig.R12 {
		t.Errorf("registers the handler inherits changed")
	}
	// The handler runs with the init FP state.
	if binary.LittleEndian.Uint16(c.FP) != linux.FPInitFCW ||
		binary.LittleEndian.Uint32(c.FP[linux.FXSaveMXCSROffset:]) != linux.FPInitMXCSR ||
		binary.LittleEndian.Uint64(c.FP[linux.XSaveHeaderOffset:]) != linux.XFEATURE_MASK_FPSSE ||
		binary.LittleEndian.Uint32(c.FP[linux.FXSaveMXCSRMaskOffset:]) != 0xffff {
		t.Errorf("handler FP state is not the init state")
	}

	var f linux.RTSigframe
	f.Decode(mem.read(t, frame, linux.RTSigframeSize))
	sc := f.UC.MContext
	if f.Pretcode != testAct.Restorer || f.UC.Flags != 7 || f.UC.Link != 0 || f.UC.Sigmask != oldMask ||
		sc.Oldmask != uint64(oldMask) || sc.Rip != orig.Rip || sc.Rsp != orig.Rsp || sc.Eflags != orig.Eflags ||
		sc.Cs != linux.UserCS || sc.Ss != linux.UserDS || sc.Gs != 0 || sc.Fs != 0 ||
		sc.Trapno != fault.Trapno || sc.Err != fault.Err || sc.Cr2 != fault.Cr2 || f.Info.Addr() != 0xdeadbeef {
		t.Errorf("frame %+v", f)
	}
	if f.UC.Stack != (linux.SignalStack{}) {
		t.Errorf("uc_stack %+v, want none", f.UC.Stack)
	}
	if sc.Fpstate%64 != 0 || sc.Fpstate < frame+linux.RTSigframeSize || sc.Fpstate+uint64(fpSize)+4 > orig.Rsp-redZoneSize {
		t.Errorf("fpstate %#x misplaced (frame %#x, rsp %#x)", sc.Fpstate, frame, orig.Rsp)
	}
	img := mem.read(t, sc.Fpstate, fpSize+4)
	var sw linux.FPXSwBytes
	sw.Decode(img[linux.FPStateSwReservedOffset:])
	_, user := xfeatures(origFP)
	if sw.Magic1 != linux.FP_XSTATE_MAGIC1 || sw.XstateSize != uint32(fpSize) || sw.ExtendedSize != uint32(fpSize+4) ||
		sw.Xfeatures != user || binary.LittleEndian.Uint32(img[fpSize:]) != linux.FP_XSTATE_MAGIC2 {
		t.Errorf("sw bytes %+v, magic2 %#x", sw, binary.LittleEndian.Uint32(img[fpSize:]))
	}
	if !bytes.Equal(img[:linux.FPStateSwReservedOffset], origFP[:linux.FPStateSwReservedOffset]) ||
		!bytes.Equal(img[linux.XSaveHeaderOffset:fpSize], origFP[linux.XSaveHeaderOffset:]) {
		t.Errorf("frame FP image differs from the task's FP state")
	}

	// The handler clobbers registers and returns through the restorer,
	// whose ret popped pretcode.
	c.Regs.Rsp += 8
	c.Regs.Rax, c.Regs.Rbx, c.Regs.R15, c.Regs.Rip = 1, 2, 3, testAct.Restorer+9
	c.Regs.Orig_rax = 15
	c.FP[200] ^= 0xff
	mask, alt, err := c.SignalRestore(mem)
	if err != nil {
		t.Fatalf("SignalRestore: %v", err)
	}
	want := orig
	want.Orig_rax = ^uint64(0)
	want.Eflags = orig.Eflags
	if c.Regs != want {
		t.Errorf("restored registers\n got %+v\nwant %+v", c.Regs, want)
	}
	if !bytes.Equal(c.FP, origFP) {
		for i := range c.FP {
			if c.FP[i] != origFP[i] {
				t.Errorf("restored FP state differs first at byte %d: %#x != %#x", i, c.FP[i], origFP[i])
				break
			}
		}
	}
	if mask != oldMask&^linux.MakeSignalSet(linux.SIGKILL) || alt != f.UC.Stack {
		t.Errorf("restored mask %#x, stack %+v", mask, alt)
	}
}

func TestSignalSetupWithoutSigInfoLeavesInfo(t *testing.T) {
	mem := &fakeMem{}
	stack := mem.mapRegion(0x7ffd0000, 0x20000)
	for i := range stack {
		stack[i] = 0xaa
	}
	c := NewContext(testFP(hostFPSize(), 1))
	c.Regs = testRegs()
	act := testAct
	act.Flags &^= linux.SA_SIGINFO
	if err := c.SignalSetup(mem, &act, testInfo(), nil, 0, nil); err != nil {
		t.Fatal(err)
	}
	if info := mem.read(t, c.Regs.Rsi, linux.SignalInfoSize); !bytes.Equal(info, bytes.Repeat([]byte{0xaa}, len(info))) {
		t.Errorf("siginfo written for a handler without SA_SIGINFO")
	}
}

func TestSignalStackSelection(t *testing.T) {
	fpSize := hostFPSize()
	fpLen := uint64(fpSize + 4)
	const altBase, altSize = 0x10000, 0x8000
	const normalSP = 0x7ffe0000
	alt := linux.SignalStack{Addr: altBase, Size: altSize}
	autodisarm := linux.SignalStack{Addr: altBase, Size: altSize, Flags: linux.SS_AUTODISARM}
	for _, tc := range []struct {
		name    string
		sp      uint64
		alt     *linux.SignalStack
		onstack bool
		wantTop uint64 // stack top the frame is built below; 0 for an error
	}{
		{"no SA_ONSTACK", normalSP, &alt, false, normalSP - redZoneSize},
		{"SA_ONSTACK enters", normalSP, &alt, true, altBase + altSize},
		{"no alternate stack", normalSP, nil, true, normalSP - redZoneSize},
		{"disabled", normalSP, &linux.SignalStack{Flags: linux.SS_DISABLE}, true, normalSP - redZoneSize},
		{"nested on it", altBase + 0x6000, &alt, true, altBase + 0x6000 - redZoneSize},
		{"nested without SA_ONSTACK", altBase + 0x6000, &alt, false, altBase + 0x6000 - redZoneSize},
		{"autodisarm starts over", altBase + 0x6000, &autodisarm, true, altBase + altSize},
		{"sp just above the top", altBase + altSize + 0x40, &alt, true, altBase + altSize - 0x40},
		{"nested overflow", altBase + 0x400, &alt, true, 0},
		{"nested overflow without SA_ONSTACK", altBase + 0x400, &alt, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := &fakeMem{}
			mem.mapRegion(altBase-0x4000, altSize+0x8000)
			mem.mapRegion(normalSP-0x10000, 0x11000)
			c := NewContext(testFP(fpSize, 5))
			c.Regs = testRegs()
			c.Regs.Rsp = tc.sp
			before := c.Regs
			act := testAct
			if tc.onstack {
				act.Flags |= linux.SA_ONSTACK
			}
			err := c.SignalSetup(mem, &act, testInfo(), tc.alt, 0, nil)
			if tc.wantTop == 0 {
				if !errors.Is(err, ErrSignalStackOverflow) {
					t.Fatalf("err = %v, want overflow", err)
				}
				if c.Regs != before {
					t.Errorf("registers changed on error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fpstate := (tc.wantTop - fpLen) &^ 63
			frame := ((fpstate - linux.RTSigframeSize) &^ 15) - 8
			if c.Regs.Rsp != frame {
				t.Errorf("frame at %#x, want %#x", c.Regs.Rsp, frame)
			}
			var uc linux.UContext
			uc.Decode(mem.read(t, frame+8, linux.UContextSize))
			if uc.MContext.Fpstate != fpstate {
				t.Errorf("fpstate %#x, want %#x", uc.MContext.Fpstate, fpstate)
			}
			var want linux.SignalStack
			if tc.alt != nil {
				want = *tc.alt
			}
			if uc.Stack != want {
				t.Errorf("uc_stack %+v, want %+v", uc.Stack, want)
			}
		})
	}
}

func TestSignalFrameAlignment(t *testing.T) {
	for _, fpSize := range []int{576, 832, 2696, hostFPSize()} {
		for off := uint64(0); off < 80; off += 3 {
			mem := &fakeMem{}
			mem.mapRegion(0x7ffd0000, 0x20000)
			fp := make([]byte, fpSize)
			resetFPState(fp)
			c := NewContext(fp)
			c.Regs = testRegs()
			c.Regs.Rsp = 0x7ffe0000 + off
			if err := c.SignalSetup(mem, &testAct, testInfo(), nil, 0, nil); err != nil {
				t.Fatal(err)
			}
			frame := c.Regs.Rsp
			var uc linux.UContext
			uc.Decode(mem.read(t, frame+8, linux.UContextSize))
			fpstate := uc.MContext.Fpstate
			top := 0x7ffe0000 + off - redZoneSize
			if (frame+8)%16 != 0 || fpstate%64 != 0 || fpstate+uint64(fpSize)+4 > top || fpstate+uint64(fpSize)+4+64 <= top ||
				frame+linux.RTSigframeSize > fpstate || frame+linux.RTSigframeSize+8+16 <= fpstate {
				t.Errorf("fp %d, rsp %#x: frame %#x, fpstate %#x", fpSize, 0x7ffe0000+off, frame, fpstate)
			}
		}
	}
}

func TestSignalSetupFaults(t *testing.T) {
	c := NewContext(testFP(hostFPSize(), 9))
	c.Regs = testRegs()
	before := c.Regs
	fpBefore := append([]byte(nil), c.FP...)

	// Nothing mapped.
	if err := c.SignalSetup(&fakeMem{}, &testAct, testInfo(), nil, 0, nil); !errors.Is(err, unix.EFAULT) {
		t.Errorf("unmapped stack: err = %v", err)
	}
	// FP state fits, the frame below it does not.
	mem := &fakeMem{}
	fpAddr := (before.Rsp - redZoneSize - uint64(len(c.FP)+4)) &^ 63
	mem.mapRegion(fpAddr, int(before.Rsp-fpAddr))
	if err := c.SignalSetup(mem, &testAct, testInfo(), nil, 0, nil); !errors.Is(err, unix.EFAULT) {
		t.Errorf("half-mapped stack: err = %v", err)
	}
	// No SA_RESTORER.
	act := testAct
	act.Flags &^= linux.SA_RESTORER
	mem.mapRegion(0x7ffd0000, 0x8000)
	if err := c.SignalSetup(mem, &act, testInfo(), nil, 0, nil); !errors.Is(err, ErrNoRestorer) {
		t.Errorf("no restorer: err = %v", err)
	}
	// A stack pointer so low the frame would wrap.
	c.Regs.Rsp = 0x100
	if err := c.SignalSetup(mem, &testAct, testInfo(), nil, 0, nil); err == nil {
		t.Errorf("wrapping frame accepted")
	}
	c.Regs.Rsp = before.Rsp
	if c.Regs != before || !bytes.Equal(c.FP, fpBefore) {
		t.Errorf("context changed by a failed SignalSetup")
	}
	// A too small FP state.
	c2 := NewContext(make([]byte, 100))
	c2.Regs = testRegs()
	if err := c2.SignalSetup(mem, &testAct, testInfo(), nil, 0, nil); !errors.Is(err, ErrBadFPState) {
		t.Errorf("small FP state: err = %v", err)
	}
}

// setupFrame builds a frame and returns the memory, the context as the
// handler's ret leaves it, and the frame's fpstate address.
func setupFrame(t *testing.T) (*fakeMem, *Context, uint64) {
	t.Helper()
	mem := &fakeMem{}
	mem.mapRegion(0x7ffd0000, 0x20000)
	c := NewContext(testFP(hostFPSize(), 11))
	c.Regs = testRegs()
	if err := c.SignalSetup(mem, &testAct, testInfo(), nil, linux.MakeSignalSet(linux.SIGUSR1), nil); err != nil {
		t.Fatal(err)
	}
	var uc linux.UContext
	uc.Decode(mem.read(t, c.Regs.Rsp+8, linux.UContextSize))
	c.Regs.Rsp += 8
	return mem, c, uc.MContext.Fpstate
}

func TestSignalRestoreRejectsCorruptFrames(t *testing.T) {
	fpSize := hostFPSize()
	put64 := func(mem *fakeMem, addr, v uint64) {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], v)
		mem.CopyOut(uintptr(addr), b[:])
	}
	put32 := func(mem *fakeMem, addr uint64, v uint32) {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], v)
		mem.CopyOut(uintptr(addr), b[:])
	}
	fpField := func(c *Context) uint64 {
		return c.Regs.Rsp - 8 + linux.RTSigframeUContextOffset + linux.UContextMContextOffset + linux.SigContextFpstateOffset
	}
	for _, tc := range []struct {
		name    string
		corrupt func(mem *fakeMem, c *Context, fp uint64)
	}{
		{"frame unmapped", func(mem *fakeMem, c *Context, fp uint64) { c.Regs.Rsp = 0x1000 }},
		{"frame partly mapped", func(mem *fakeMem, c *Context, fp uint64) { c.Regs.Rsp = 0x7ffd0000 + 0x20000 - 200 }},
		{"fpstate unmapped", func(mem *fakeMem, c *Context, fp uint64) { put64(mem, fpField(c), 0x5000) }},
		{"fpstate misaligned", func(mem *fakeMem, c *Context, fp uint64) {
			img := make([]byte, fpSize+4)
			mem.CopyIn(uintptr(fp), img)
			mem.CopyOut(uintptr(fp-32), img)
			put64(mem, fpField(c), fp-32)
		}},
		{"fx-only misaligned", func(mem *fakeMem, c *Context, fp uint64) {
			img := make([]byte, 512)
			mem.CopyIn(uintptr(fp), img)
			clear(img[linux.FPStateSwReservedOffset:])
			mem.CopyOut(uintptr(fp-8), img)
			put64(mem, fpField(c), fp-8)
		}},
		{"MXCSR reserved bits", func(mem *fakeMem, c *Context, fp uint64) {
			put32(mem, fp+linux.FXSaveMXCSROffset, 0xffff0000)
		}},
		{"fx-only MXCSR reserved bits", func(mem *fakeMem, c *Context, fp uint64) {
			put32(mem, fp+linux.FPStateSwReservedOffset, 0)
			put32(mem, fp+linux.FXSaveMXCSROffset, 0x10000)
		}},
		{"compacted header", func(mem *fakeMem, c *Context, fp uint64) {
			put64(mem, fp+linux.XSaveXcompBVOffset, 1<<63|3)
		}},
		{"reserved header word", func(mem *fakeMem, c *Context, fp uint64) {
			put64(mem, fp+linux.XSaveHeaderOffset+16, 1)
		}},
		{"feature not enabled", func(mem *fakeMem, c *Context, fp uint64) {
			put64(mem, fp+linux.XSaveHeaderOffset, 3|1<<62)
		}},
		{"magic2 unmapped", func(mem *fakeMem, c *Context, fp uint64) {
			// The XSAVE area is readable, the word after it is not.
			img := make([]byte, fpSize)
			mem.CopyIn(uintptr(fp), img)
			copy(mem.mapRegion(0x50000, fpSize), img)
			put64(mem, fpField(c), 0x50000)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem, c, fp := setupFrame(t)
			tc.corrupt(mem, c, fp)
			before := c.Regs
			fpBefore := append([]byte(nil), c.FP...)
			_, _, err := c.SignalRestore(mem)
			if err == nil {
				t.Fatalf("corrupt frame accepted")
			}
			if c.Regs != before || !bytes.Equal(c.FP, fpBefore) {
				t.Errorf("context changed by a failed SignalRestore")
			}
		})
	}
}

func TestSignalRestoreLegacyAndNullFP(t *testing.T) {
	fpSize := hostFPSize()
	xcr0, _ := xfeatures(testFP(fpSize, 0))
	if xcr0&linux.XFEATURE_MASK_YMM == 0 {
		t.Skip("no AVX")
	}
	ymm := hostXstate().offset[2]

	// Magic gone: x87 and SSE from the frame, the rest init.
	mem, c, fp := setupFrame(t)
	img := mem.read(t, fp, fpSize)
	mem.CopyOut(uintptr(fp+linux.FPStateSwReservedOffset), make([]byte, 4))
	if _, _, err := c.SignalRestore(mem); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.FP[linux.FXSaveXMMOffset:linux.FXSavePaddingOffset], img[linux.FXSaveXMMOffset:linux.FXSavePaddingOffset]) ||
		!bytes.Equal(c.FP[:linux.FXSaveMXCSRMaskOffset], img[:linux.FXSaveMXCSRMaskOffset]) {
		t.Errorf("legacy state not restored")
	}
	if bv := binary.LittleEndian.Uint64(c.FP[linux.XSaveHeaderOffset:]); bv != linux.XFEATURE_MASK_FPSSE {
		t.Errorf("xstate_bv %#x after a legacy restore", bv)
	}
	if !bytes.Equal(c.FP[ymm:ymm+256], make([]byte, 256)) {
		t.Errorf("YMM upper halves not reset")
	}

	// sw.xfeatures without YMM: YMM reset, SSE kept.
	mem, c, fp = setupFrame(t)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], linux.XFEATURE_MASK_FPSSE)
	mem.CopyOut(uintptr(fp+linux.FPStateSwReservedOffset+8), b[:])
	img = mem.read(t, fp, fpSize)
	if _, _, err := c.SignalRestore(mem); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.FP[ymm:ymm+256], make([]byte, 256)) ||
		!bytes.Equal(c.FP[linux.FXSaveXMMOffset:linux.FXSavePaddingOffset], img[linux.FXSaveXMMOffset:linux.FXSavePaddingOffset]) {
		t.Errorf("restore limited to sw.xfeatures wrong")
	}

	// No FP state: the init state.
	mem, c, _ = setupFrame(t)
	mem.CopyOut(uintptr(c.Regs.Rsp-8+linux.RTSigframeUContextOffset+linux.UContextMContextOffset+linux.SigContextFpstateOffset), make([]byte, 8))
	c.FP[linux.FXSaveMXCSROffset] = 0xc0
	if _, _, err := c.SignalRestore(mem); err != nil {
		t.Fatal(err)
	}
	want := append([]byte(nil), c.FP...)
	resetFPState(want)
	if !bytes.Equal(c.FP, want) || binary.LittleEndian.Uint32(c.FP[linux.FXSaveMXCSROffset:]) != linux.FPInitMXCSR {
		t.Errorf("NULL fpstate did not give the init state")
	}
}

// nativeProgram builds testdata/sigframe.c into a temporary directory of
// t. It skips the test without gcc.
func nativeProgram(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skipf("gcc not found: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "sigframe")
	if out, err := exec.Command("gcc", "-O1", "-Wall", "-Werror", "-o", bin, "testdata/sigframe.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return bin
}

// runNative runs the native program in mode and returns its output lines
// as key=value maps.
func runNative(t *testing.T, mode string) []map[string]string {
	t.Helper()
	out, err := exec.Command(nativeProgram(t), mode).Output()
	if err != nil {
		t.Fatalf("sigframe %s: %v", mode, err)
	}
	var lines []map[string]string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := map[string]string{}
		for _, kv := range strings.Fields(sc.Text()) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("bad output %q", sc.Text())
			}
			m[k] = v
		}
		lines = append(lines, m)
	}
	return lines
}

func num(t *testing.T, m map[string]string, k string) uint64 {
	t.Helper()
	s, ok := m[k]
	if !ok {
		t.Fatalf("native output has no %s", k)
	}
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		if iv, err2 := strconv.ParseInt(s, 0, 64); err2 == nil {
			return uint64(iv)
		}
		t.Fatalf("%s=%q: %v", k, s, err)
	}
	return v
}

// TestSignalSetupMatchesHost replays every delivery the host kernel made in
// the native program through SignalSetup and compares the frames.
func TestSignalSetupMatchesHost(t *testing.T) {
	for _, m := range runNative(t, "frames") {
		t.Run(m["case"], func(t *testing.T) {
			xs := int(num(t, m, "xs"))
			sp := num(t, m, "sp")
			alt := linux.SignalStack{Addr: num(t, m, "alt_sp"), Flags: uint32(num(t, m, "alt_flags")), Size: num(t, m, "alt_size")}
			mem := &fakeMem{}
			stack := mem.mapRegion(sp-0x10000, 0x10000)
			for i := range stack {
				stack[i] = 0xaa
			}
			if alt.Size != 0 {
				b := mem.mapRegion(alt.Addr, int(alt.Size))
				for i := range b {
					b[i] = 0xaa
				}
			}
			fp := make([]byte, xs)
			resetFPState(fp)
			c := NewContext(fp)
			csgsfs := num(t, m, "csgsfs")
			c.Regs = linux.PtraceRegs{Rsp: sp, Eflags: num(t, m, "eflags"), Cs: csgsfs & 0xffff, Ss: csgsfs >> 48, Rip: 0x1234}
			act := linux.SigAction{Handler: num(t, m, "handler"), Flags: num(t, m, "sa_flags"), Restorer: num(t, m, "restorer")}
			info := &linux.SignalInfo{Signo: int32(num(t, m, "signo")), Code: linux.SI_TKILL}
			fault := &SignalFault{Trapno: num(t, m, "trapno"), Err: num(t, m, "err"), Cr2: num(t, m, "cr2")}
			if err := c.SignalSetup(mem, &act, info, &alt, linux.SignalSet(num(t, m, "sigmask")), fault); err != nil {
				t.Fatalf("SignalSetup: %v", err)
			}
			check := func(what string, got uint64, key string) {
				if want := num(t, m, key); got != want {
					t.Errorf("%s = %#x, host %#x", what, got, want)
				}
			}
			check("rsp", c.Regs.Rsp, "entry_rsp")
			check("rax", c.Regs.Rax, "entry_rax")
			check("rdi", c.Regs.Rdi, "entry_rdi")
			check("rsi", c.Regs.Rsi, "entry_rsi")
			check("rdx", c.Regs.Rdx, "entry_rdx")
			check("eflags", c.Regs.Eflags&^linux.X86_EFLAGS_RF, "entry_flags")
			var f linux.RTSigframe
			f.Decode(mem.read(t, c.Regs.Rsp, linux.RTSigframeSize))
			check("pretcode", f.Pretcode, "pretcode")
			check("uc_flags", f.UC.Flags, "uc_flags")
			check("uc_stack.ss_sp", f.UC.Stack.Addr, "st_sp")
			check("uc_stack.ss_flags", uint64(f.UC.Stack.Flags), "st_flags")
			check("uc_stack.ss_size", f.UC.Stack.Size, "st_size")
			check("fpstate", f.UC.MContext.Fpstate, "fpstate")
			check("oldmask", f.UC.MContext.Oldmask, "oldmask")
			check("uc_sigmask", uint64(f.UC.Sigmask), "sigmask")
			check("mcontext eflags", f.UC.MContext.Eflags, "eflags")
			check("trapno", f.UC.MContext.Trapno, "trapno")
			check("err", f.UC.MContext.Err, "err")
			check("cr2", f.UC.MContext.Cr2, "cr2")
			// What the kernel must pass as fault: a user write to an
			// unmapped page, kept for later signals too.
			if name := m["case"]; name == "fault" || name == "after_fault" {
				want := SignalFault{Trapno: linux.X86_TRAP_PF, Err: linux.X86_PF_USER | linux.X86_PF_WRITE, Cr2: 0x10}
				if *fault != want {
					t.Errorf("host fault record %+v, want %+v", *fault, want)
				}
			}
			check("cs|gs|fs|ss", uint64(f.UC.MContext.Cs)|uint64(f.UC.MContext.Gs)<<16|uint64(f.UC.MContext.Fs)<<32|uint64(f.UC.MContext.Ss)<<48, "csgsfs")
			img := mem.read(t, f.UC.MContext.Fpstate, xs+4)
			var sw linux.FPXSwBytes
			sw.Decode(img[linux.FPStateSwReservedOffset:])
			check("xstate_size", uint64(sw.XstateSize), "xs")
			check("extended_size", uint64(sw.ExtendedSize), "ext")
			check("xfeatures", sw.Xfeatures, "xf")
			check("magic2", uint64(binary.LittleEndian.Uint32(img[xs:])), "magic2")
			if bv := binary.LittleEndian.Uint64(img[linux.XSaveHeaderOffset:]); bv&linux.XFEATURE_MASK_FPSSE != linux.XFEATURE_MASK_FPSSE ||
				num(t, m, "bv")&linux.XFEATURE_MASK_FPSSE != linux.XFEATURE_MASK_FPSSE {
				t.Errorf("xstate_bv %#x (host %#x) lacks x87/SSE", bv, num(t, m, "bv"))
			}
			if w := int64(num(t, m, "info_written")); w >= 0 {
				info := mem.read(t, c.Regs.Rsi, linux.SignalInfoSize)
				written := !bytes.Equal(info, bytes.Repeat([]byte{0xaa}, len(info)))
				if written != (w == 1) {
					t.Errorf("siginfo written = %v, host %v", written, w == 1)
				}
			}
		})
	}
}

// TestSignalRestoreMatchesHost edits frames the way the native program's
// handler did and compares what rt_sigreturn left.
func TestSignalRestoreMatchesHost(t *testing.T) {
	host := map[string]string{}
	for _, m := range runNative(t, "restore") {
		for k, v := range m {
			host[k] = v
		}
	}
	ucField := func(c *Context, off int) uintptr {
		return uintptr(c.Regs.Rsp - 8 + linux.RTSigframeUContextOffset + uint64(off))
	}
	put64 := func(mem *fakeMem, addr uintptr, v uint64) {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], v)
		mem.CopyOut(addr, b[:])
	}

	// Flags: only the arithmetic ones, DF, TF, AC and RF come from the frame.
	mem, c, _ := setupFrame(t)
	c.Regs.Eflags = linux.InitialEflags
	put64(mem, ucField(c, linux.UContextMContextOffset+linux.SigContextEflagsOffset), num(t, host, "eflags_set"))
	if _, _, err := c.SignalRestore(mem); err != nil {
		t.Fatal(err)
	}
	if want := num(t, host, "eflags_after"); c.Regs.Eflags != want {
		t.Errorf("eflags after rt_sigreturn %#x, host %#x", c.Regs.Eflags, want)
	}

	// NULL fpstate: MXCSR back to its default.
	mem, c, _ = setupFrame(t)
	put64(mem, ucField(c, linux.UContextMContextOffset+linux.SigContextFpstateOffset), 0)
	if _, _, err := c.SignalRestore(mem); err != nil {
		t.Fatal(err)
	}
	if got, want := uint64(binary.LittleEndian.Uint32(c.FP[linux.FXSaveMXCSROffset:])), num(t, host, "nullfp_mxcsr_after"); got != want {
		t.Errorf("MXCSR after a NULL fpstate %#x, host %#x", got, want)
	}

	// Legacy restore: YMM0 keeps its low half and loses the high half.
	if s, ok := host["fxonly_ymm0"]; ok {
		hostYMM, err := hex.DecodeString(s)
		if err != nil || len(hostYMM) != 32 {
			t.Fatalf("fxonly_ymm0=%q", s)
		}
		mem, c, fp := setupFrame(t)
		in := make([]byte, 32)
		for i := range in {
			in[i] = byte(i + 1)
		}
		ymm := uint64(hostXstate().offset[2])
		mem.CopyOut(uintptr(fp+linux.FXSaveXMMOffset), in[:16])
		mem.CopyOut(uintptr(fp+ymm), in[16:])
		mem.CopyOut(uintptr(fp+linux.FPStateSwReservedOffset), make([]byte, 4))
		if _, _, err := c.SignalRestore(mem); err != nil {
			t.Fatal(err)
		}
		got := append(append([]byte(nil), c.FP[linux.FXSaveXMMOffset:linux.FXSaveXMMOffset+16]...), c.FP[ymm:ymm+16]...)
		if !bytes.Equal(got, hostYMM) {
			t.Errorf("ymm0 after a legacy restore %x, host %x", got, hostYMM)
		}
	}

	// SIGKILL and SIGSTOP never get blocked.
	mem, c, _ = setupFrame(t)
	set := linux.MakeSignalSet(linux.SIGKILL, linux.SIGSTOP, linux.SIGUSR2)
	put64(mem, ucField(c, linux.UContextSigmaskOffset), uint64(set))
	mask, _, err := c.SignalRestore(mem)
	if err != nil {
		t.Fatal(err)
	}
	if want := num(t, host, "mask_after"); uint64(mask) != want {
		t.Errorf("mask after rt_sigreturn %#x, host %#x", uint64(mask), want)
	}
}

// TestNoRestorerMatchesHost: the host kills a process whose handler lacks
// SA_RESTORER with SIGSEGV instead of running it; SignalSetup refuses.
func TestNoRestorerMatchesHost(t *testing.T) {
	err := exec.Command(nativeProgram(t), "norestorer").Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("native program: %v", err)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGSEGV {
		t.Fatalf("host: %v, want death by SIGSEGV", ws)
	}
	mem := &fakeMem{}
	mem.mapRegion(0x7ffd0000, 0x20000)
	c := NewContext(testFP(hostFPSize(), 2))
	c.Regs = testRegs()
	act := testAct
	act.Flags &^= linux.SA_RESTORER
	if err := c.SignalSetup(mem, &act, testInfo(), nil, 0, nil); !errors.Is(err, ErrNoRestorer) {
		t.Errorf("SignalSetup without SA_RESTORER: %v", err)
	}
}

// TestSignalRestoreAcceptsHostFrame restores a frame the host kernel built,
// with its real FP state: it must be accepted and give back the registers
// and FP registers it holds.
func TestSignalRestoreAcceptsHostFrame(t *testing.T) {
	lines := runNative(t, "dump")
	if len(lines) != 1 {
		t.Fatalf("dump printed %d lines", len(lines))
	}
	frame := num(t, lines[0], "frame")
	b, err := hex.DecodeString(lines[0]["bytes"])
	if err != nil || len(b) < linux.RTSigframeSize {
		t.Fatalf("bad dump: %v", err)
	}
	mem := &fakeMem{}
	copy(mem.mapRegion(frame, len(b)), b)
	var f linux.RTSigframe
	f.Decode(b)
	sc := f.UC.MContext
	img := b[sc.Fpstate-frame:]
	fpSize := len(img) - 4

	fp := make([]byte, fpSize)
	resetFPState(fp)
	c := NewContext(fp)
	c.Regs = linux.PtraceRegs{Rsp: frame + 8, Eflags: linux.InitialEflags, Cs: linux.UserCS, Ss: linux.UserDS}
	mask, _, err := c.SignalRestore(mem)
	if err != nil {
		t.Fatalf("host frame rejected: %v", err)
	}
	if c.Regs.Rip != sc.Rip || c.Regs.Rsp != sc.Rsp || c.Regs.Rbp != sc.Rbp || c.Regs.Rdx != sc.Rdx || mask != f.UC.Sigmask {
		t.Errorf("registers %+v from frame %+v", c.Regs, sc)
	}
	bv := binary.LittleEndian.Uint64(img[linux.XSaveHeaderOffset:])
	if got := binary.LittleEndian.Uint64(c.FP[linux.XSaveHeaderOffset:]); got != bv|linux.XFEATURE_MASK_FPSSE {
		t.Errorf("xstate_bv %#x, frame %#x", got, bv)
	}
	if !bytes.Equal(c.FP[:linux.FXSaveMXCSRMaskOffset], img[:linux.FXSaveMXCSRMaskOffset]) ||
		!bytes.Equal(c.FP[linux.FXSaveSTOffset:linux.FXSavePaddingOffset], img[linux.FXSaveSTOffset:linux.FXSavePaddingOffset]) {
		t.Errorf("x87/SSE state differs from the host frame")
	}
	lay := hostXstate()
	for i := 2; i < 64; i++ {
		if bv&(1<<i) != 0 {
			off, n := lay.offset[i], lay.size[i]
			if !bytes.Equal(c.FP[off:off+n], img[off:off+n]) {
				t.Errorf("XSAVE component %d differs from the host frame", i)
			}
		}
	}
	if binary.LittleEndian.Uint16(c.FP) == linux.FPInitFCW && binary.LittleEndian.Uint16(c.FP[2:]) == 0 {
		t.Errorf("x87 status word 0: the live x87 state was not captured")
	}
}

// TestHostAcceptsSignalSetupFrame has the host kernel's rt_sigreturn
// return through a frame SignalSetup built: the native program prints the
// frame the host made, replaces it with ours (built for the same
// registers, FP state and stack pointer on zeroed memory) and checks that
// the registers it set before the signal come back.
func TestHostAcceptsSignalSetupFrame(t *testing.T) {
	if xcr0, _ := xfeatures(make([]byte, hostFPSize())); xcr0&linux.XFEATURE_MASK_YMM == 0 {
		t.Skip("no AVX")
	}
	cmd := exec.Command(nativeProgram(t), "replay")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	defer func() {
		if !waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the host frame: %v", err)
	}
	var frame uint64
	var hexBytes string
	for _, kv := range strings.Fields(line) {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "frame":
			frame, _ = strconv.ParseUint(v, 0, 64)
		case "bytes":
			hexBytes = v
		}
	}
	b, err := hex.DecodeString(hexBytes)
	if err != nil || len(b) < linux.RTSigframeSize || frame == 0 {
		t.Fatalf("bad host frame line %q", line)
	}
	var f linux.RTSigframe
	f.Decode(b)
	sc := f.UC.MContext
	xs := len(b) - int(sc.Fpstate-frame) - 4

	// The task's state as the platform would hold it: registers from the
	// frame, the FP state as an NT_X86_XSTATE image.
	fp := append([]byte(nil), b[sc.Fpstate-frame:][:xs]...)
	clear(fp[linux.FXSavePaddingOffset:linux.FXSaveSize])
	xcr0, _ := xfeatures(make([]byte, xs))
	binary.LittleEndian.PutUint64(fp[linux.FPStateSwReservedOffset:], xcr0)
	c := NewContext(fp)
	c.Regs = linux.PtraceRegs{
		R8: sc.R8, R9: sc.R9, R10: sc.R10, R11: sc.R11, R12: sc.R12, R13: sc.R13, R14: sc.R14, R15: sc.R15,
		Rdi: sc.Rdi, Rsi: sc.Rsi, Rbp: sc.Rbp, Rbx: sc.Rbx, Rdx: sc.Rdx, Rax: sc.Rax, Rcx: sc.Rcx,
		Rsp: sc.Rsp, Rip: sc.Rip, Eflags: sc.Eflags, Cs: uint64(sc.Cs), Ss: uint64(sc.Ss), Orig_rax: ^uint64(0),
	}
	mem := &fakeMem{}
	mem.mapRegion(frame, len(b))
	act := linux.SigAction{Handler: 0x1000, Flags: linux.SA_SIGINFO | linux.SA_RESTORER, Restorer: f.Pretcode}
	if err := c.SignalSetup(mem, &act, &f.Info, &f.UC.Stack, f.UC.Sigmask, nil); err != nil {
		t.Fatalf("SignalSetup: %v", err)
	}
	if c.Regs.Rsp != frame {
		t.Fatalf("our frame at %#x, host's at %#x", c.Regs.Rsp, frame)
	}
	ours := mem.read(t, frame, len(b))
	if _, err := io.WriteString(stdin, hex.EncodeToString(ours)+"\n"); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(out)
	if err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	waited = true
	if err != nil {
		t.Fatalf("host rt_sigreturn through our frame: %v (output %q)", err, rest)
	}
	var want strings.Builder
	want.WriteString("rbx=0x1122334455667788 ymm1=")
	for i := range 32 {
		want.WriteString(hex.EncodeToString([]byte{byte(0xc0 + i)}))
	}
	if got := strings.TrimSpace(string(rest)); got != want.String() {
		t.Errorf("after return through our frame: %q, want %q", got, want.String())
	}
}

func TestXfeaturesMatchHostFrame(t *testing.T) {
	var hostXF uint64
	for _, m := range runNative(t, "frames") {
		hostXF = num(t, m, "xf")
	}
	fp := make([]byte, hostFPSize())
	if _, user := xfeatures(fp); user != hostXF {
		t.Errorf("xfeatures from CPUID %#x, host frame %#x", user, hostXF)
	}
	binary.LittleEndian.PutUint64(fp[linux.FPStateSwReservedOffset:], hostXF)
	if _, user := xfeatures(fp); user != hostXF {
		t.Errorf("xfeatures from the ptrace XCR0 word %#x, host frame %#x", user, hostXF)
	}
}

// FuzzSignalRestore feeds arbitrary frame bytes to rt_sigreturn: it must
// never panic, and whatever it accepts must be a state the platform can
// load.
func FuzzSignalRestore(f *testing.F) {
	mem, c, err := setupFrameForFuzz()
	if err != nil {
		f.Fatal(err)
	}
	frame := c.Regs.Rsp
	seed := make([]byte, 0x2000)
	mem.CopyIn(uintptr(frame), seed)
	var uc linux.UContext
	uc.Decode(seed[8:])
	f.Add(seed, uint16(uc.MContext.Fpstate-frame))
	f.Add(make([]byte, 600), uint16(3))
	if err := restoreFuzzed(seed, uint16(uc.MContext.Fpstate-frame)); err != nil {
		f.Fatalf("seed frame rejected: %v", err)
	}
	f.Fuzz(func(t *testing.T, frame []byte, fpOff uint16) {
		if err := restoreFuzzed(frame, fpOff); err != nil && !errors.Is(err, unix.EFAULT) && !errors.Is(err, ErrBadFPState) {
			t.Error(err)
		}
	})
}

// restoreFuzzed maps frame at a fixed address, optionally points its
// fpstate fpOff bytes into it, runs SignalRestore and checks that an
// accepted state is one the platform can load.
func restoreFuzzed(frame []byte, fpOff uint16) error {
	// SignalSetup puts a frame 8 bytes below a 64-byte boundary.
	const base = 0x7ffd0000 - 8
	mem := &fakeMem{}
	b := mem.mapRegion(base, 0x4000)
	copy(b, frame)
	if fpOff != 0 {
		binary.LittleEndian.PutUint64(b[8+linux.UContextMContextOffset+linux.SigContextFpstateOffset:], base+uint64(fpOff)%0x4000)
	}
	fpSize := hostFPSize()
	c := NewContext(testFP(fpSize, 1))
	c.Regs = testRegs()
	c.Regs.Rsp = base + 8
	mask, _, err := c.SignalRestore(mem)
	if err != nil {
		return err
	}
	xcr0, _ := xfeatures(c.FP)
	bv := binary.LittleEndian.Uint64(c.FP[linux.XSaveHeaderOffset:])
	if c.Regs.Cs != linux.UserCS || c.Regs.Ss != linux.UserDS || c.Regs.Orig_rax != ^uint64(0) ||
		mask.Has(linux.SIGKILL) || mask.Has(linux.SIGSTOP) || len(c.FP) != fpSize ||
		bv&^xcr0 != 0 || bv&linux.XFEATURE_MASK_FPSSE != linux.XFEATURE_MASK_FPSSE ||
		!bytes.Equal(c.FP[linux.XSaveXcompBVOffset:linux.XSaveMinSize], make([]byte, linux.XSaveMinSize-linux.XSaveXcompBVOffset)) ||
		binary.LittleEndian.Uint32(c.FP[linux.FXSaveMXCSROffset:])&^0xffff != 0 {
		return fmt.Errorf("accepted state not loadable: regs %+v bv %#x", c.Regs, bv)
	}
	return nil
}

func setupFrameForFuzz() (*fakeMem, *Context, error) {
	mem := &fakeMem{}
	mem.mapRegion(0x7ffd0000, 0x20000)
	c := NewContext(testFP(hostFPSize(), 11))
	c.Regs = testRegs()
	err := c.SignalSetup(mem, &testAct, testInfo(), nil, 0, nil)
	return mem, c, err
}
