package arch

import "github.com/palisade-sandbox/palisade/abi/linux"

// CPUID executes the CPUID instruction for leaf eaxIn, subleaf ecxIn.
func CPUID(eaxIn, ecxIn uint32) (eax, ebx, ecx, edx uint32)

// HWCap returns AT_HWCAP as Linux reports it on x86: the EDX word of CPUID
// leaf 1 (boot_cpu_data.x86_capability[CPUID_1_EDX]).
func HWCap() uint64 {
	_, _, _, edx := CPUID(1, 0)
	return uint64(edx)
}

// HWCap2 returns AT_HWCAP2: HWCAP2_FSGSBASE when the CPU has FSGSBASE
// (CPUID leaf 7 EBX bit 0), which Linux 5.9+ enables for user space.
func HWCap2() uint64 {
	maxLeaf, _, _, _ := CPUID(0, 0)
	if maxLeaf < 7 {
		return 0
	}
	_, ebx, _, _ := CPUID(7, 0)
	if ebx&1 != 0 {
		return linux.HWCAP2_FSGSBASE
	}
	return 0
}
