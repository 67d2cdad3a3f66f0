package arch

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

// hostAuxv reads this process's auxiliary vector.
func hostAuxv(t *testing.T) map[uint64]uint64 {
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		t.Skipf("reading auxv: %v", err)
	}
	m := map[uint64]uint64{}
	for i := 0; i+16 <= len(b); i += 16 {
		m[binary.LittleEndian.Uint64(b[i:])] = binary.LittleEndian.Uint64(b[i+8:])
	}
	return m
}

func TestHWCapMatchesHost(t *testing.T) {
	aux := hostAuxv(t)
	if got, want := HWCap(), aux[linux.AT_HWCAP]; got != want {
		t.Errorf("HWCap = %#x, host AT_HWCAP = %#x", got, want)
	}
	if got, want := HWCap2()&linux.HWCAP2_FSGSBASE, aux[linux.AT_HWCAP2]&linux.HWCAP2_FSGSBASE; got != want {
		t.Errorf("HWCap2 FSGSBASE = %#x, host = %#x", got, want)
	}
}

func TestMinSigStackSizeMatchesHost(t *testing.T) {
	aux := hostAuxv(t)
	want, ok := aux[linux.AT_MINSIGSTKSZ]
	if !ok {
		t.Skip("host has no AT_MINSIGSTKSZ")
	}
	// The XSAVE size for the features enabled in XCR0.
	_, ebx, _, _ := CPUID(0xd, 0)
	if got := MinSigStackSize(int(ebx)); got != want {
		t.Errorf("MinSigStackSize(%d) = %d, host AT_MINSIGSTKSZ = %d", ebx, got, want)
	}
}

func TestSyscallArgsAndReturn(t *testing.T) {
	c := NewContext(nil)
	c.Regs.Orig_rax = 231
	c.Regs.Rdi, c.Regs.Rsi, c.Regs.Rdx, c.Regs.R10, c.Regs.R8, c.Regs.R9 = 1, 2, 3, 4, 5, 6
	var args SyscallArguments
	c.SyscallArgs(&args)
	for i, a := range args {
		if a.Value != uintptr(i+1) {
			t.Errorf("arg %d = %d", i, a.Value)
		}
	}
	if c.SyscallNo() != 231 {
		t.Errorf("SyscallNo = %d", c.SyscallNo())
	}
	c.SetReturn(^uintptr(37))
	if int64(c.Regs.Rax) != -38 {
		t.Errorf("rax = %d", int64(c.Regs.Rax))
	}
	if c.SetTLS(MaxUserAddress) || !c.SetTLS(0x1000) || c.TLS() != 0x1000 {
		t.Errorf("SetTLS bounds wrong")
	}
	c.SetInitialRegs(0x401000, 0x7ffc0000)
	if c.Regs.Rip != 0x401000 || c.Regs.Rsp != 0x7ffc0000 || c.Regs.Cs != 0x33 || c.Regs.Ss != 0x2b || c.Regs.Eflags != 0x202 || c.Regs.Rdx != 0 {
		t.Errorf("initial regs %+v", c.Regs)
	}
}
