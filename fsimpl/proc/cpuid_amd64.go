package proc

// cpuid executes the CPUID instruction for leaf and subleaf.
func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

// hasCPUID reports whether cpuid describes the host CPU.
const hasCPUID = true
