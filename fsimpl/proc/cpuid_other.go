//go:build !amd64

package proc

// cpuid reports nothing on architectures without CPUID; /proc/cpuinfo
// then lists the processors only.
func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32) { return 0, 0, 0, 0 }

// hasCPUID reports whether cpuid describes the host CPU.
const hasCPUID = false
