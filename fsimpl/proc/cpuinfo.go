package proc

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"strconv"
	"strings"
	"sync"
)

// cpuFlagWords are the CPUID feature bits /proc/cpuinfo's "flags" line
// names, in the order of Linux's cpufeatures.h words: for each register
// (leaf, subleaf, register index 0-3 = EAX..EDX), the name of each bit
// ("" for bits Linux does not show).
var cpuFlagWords = []struct {
	leaf, subleaf uint32
	reg           int
	names         [32]string
}{
	{1, 0, 3, [32]string{"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "", "sep", "mtrr", "pge", "mca", "cmov",
		"pat", "pse36", "pn", "clflush", "", "dts", "acpi", "mmx", "fxsr", "sse", "sse2", "ss", "ht", "tm", "ia64", "pbe"}},
	{0x80000001, 0, 3, [32]string{11: "syscall", 19: "mp", 20: "nx", 22: "mmxext", 25: "fxsr_opt", 26: "pdpe1gb", 27: "rdtscp", 29: "lm", 30: "3dnowext", 31: "3dnow"}},
	{1, 0, 2, [32]string{"pni", "pclmulqdq", "dtes64", "monitor", "ds_cpl", "vmx", "smx", "est", "tm2", "ssse3", "cid", "sdbg", "fma", "cx16", "xtpr", "pdcm",
		"", "pcid", "dca", "sse4_1", "sse4_2", "x2apic", "movbe", "popcnt", "tsc_deadline_timer", "aes", "xsave", "", "avx", "f16c", "rdrand", "hypervisor"}},
	{0x80000001, 0, 2, [32]string{"lahf_lm", "cmp_legacy", "svm", "extapic", "cr8_legacy", "abm", "sse4a", "misalignsse", "3dnowprefetch", "osvw", "ibs", "xop", "skinit", "wdt", "", "lwp",
		"fma4", "tce", "", "nodeid_msr", "", "tbm", "topoext", "perfctr_core", "perfctr_nb", "", "bpext", "ptsc", "perfctr_llc", "mwaitx"}},
	{7, 0, 1, [32]string{"fsgsbase", "tsc_adjust", "sgx", "bmi1", "hle", "avx2", "", "smep", "bmi2", "erms", "invpcid", "rtm", "", "", "mpx", "",
		"avx512f", "avx512dq", "rdseed", "adx", "smap", "avx512ifma", "", "clflushopt", "clwb", "", "avx512pf", "avx512er", "avx512cd", "sha_ni", "avx512bw", "avx512vl"}},
	{0xd, 1, 0, [32]string{"xsaveopt", "xsavec", "xgetbv1", "xsaves"}},
	{7, 0, 2, [32]string{"", "avx512vbmi", "umip", "pku", "ospke", "waitpkg", "avx512_vbmi2", "", "gfni", "vaes", "vpclmulqdq", "avx512_vnni", "avx512_bitalg", "", "avx512_vpopcntdq", "",
		"la57", "", "", "", "", "", "rdpid", "", "", "cldemote", "", "movdiri", "movdir64b", "enqcmd", "sgx_lc"}},
	{7, 0, 3, [32]string{2: "avx512_4vnniw", 3: "avx512_4fmaps", 4: "fsrm", 8: "avx512_vp2intersect", 10: "md_clear", 14: "serialize", 16: "tsxldtrk", 18: "pconfig", 19: "arch_lbr",
		22: "amx_bf16", 23: "avx512_fp16", 24: "amx_tile", 25: "amx_int8", 28: "flush_l1d", 29: "arch_capabilities"}},
}

// cpuDesc is the part of /proc/cpuinfo that is the same for every CPU,
// computed once from the host's CPUID.
type cpuDesc struct {
	vendor              string
	family, model, step uint32
	name                string
	mhz                 float64
	cacheKB             uint32
	maxLeaf             uint32
	flags               string
	hasFPU              bool
	clflush             uint32
	physBits, virtBits  uint32
}

var (
	cpuOnce sync.Once
	cpu     cpuDesc
)

// regs returns CPUID's four registers as an array.
func regs(leaf, subleaf uint32) [4]uint32 {
	a, b, c, d := arch.CPUID(leaf, subleaf)
	return [4]uint32{a, b, c, d}
}

// hostCPU describes the host CPU from CPUID.
func hostCPU() cpuDesc {
	var c cpuDesc
	r0 := regs(0, 0)
	c.maxLeaf = r0[0]
	var v [12]byte
	binary.LittleEndian.PutUint32(v[0:], r0[1])
	binary.LittleEndian.PutUint32(v[4:], r0[3])
	binary.LittleEndian.PutUint32(v[8:], r0[2])
	c.vendor = string(v[:])
	maxExt := regs(0x80000000, 0)[0]
	r1 := regs(1, 0)
	c.step = r1[0] & 0xf
	c.model = (r1[0] >> 4) & 0xf
	c.family = (r1[0] >> 8) & 0xf
	if c.family == 0xf {
		c.family += (r1[0] >> 20) & 0xff
	}
	if c.family >= 6 {
		c.model += ((r1[0] >> 16) & 0xf) << 4
	}
	c.hasFPU = r1[3]&1 != 0
	c.clflush = ((r1[1] >> 8) & 0xff) * 8
	if maxExt >= 0x80000004 {
		var name []byte
		for l := uint32(0x80000002); l <= 0x80000004; l++ {
			for _, x := range regs(l, 0) {
				name = binary.LittleEndian.AppendUint32(name, x)
			}
		}
		c.name = strings.TrimSpace(strings.TrimRight(string(name), "\x00"))
	}
	if c.maxLeaf >= 0x16 {
		c.mhz = float64(regs(0x16, 0)[0] & 0xffff)
	}
	if c.mhz == 0 {
		c.mhz = brandMHz(c.name)
	}
	if c.vendor == "GenuineIntel" && c.maxLeaf >= 4 {
		for sub := uint32(0); sub < 16; sub++ {
			r := regs(4, sub)
			if r[0]&0x1f == 0 {
				break
			}
			ways := r[1]>>22 + 1
			parts := (r[1]>>12)&0x3ff + 1
			line := r[1]&0xfff + 1
			sets := r[2] + 1
			c.cacheKB = max(c.cacheKB, ways*parts*line*sets/1024)
		}
	} else if maxExt >= 0x80000006 {
		c.cacheKB = regs(0x80000006, 0)[2] >> 16
	}
	if maxExt >= 0x80000008 {
		a := regs(0x80000008, 0)[0]
		c.physBits, c.virtBits = a&0xff, (a>>8)&0xff
	}
	var flags []string
	for _, w := range cpuFlagWords {
		if w.leaf < 0x80000000 && w.leaf > c.maxLeaf || w.leaf >= 0x80000000 && w.leaf > maxExt {
			continue
		}
		r := regs(w.leaf, w.subleaf)[w.reg]
		for bit, name := range w.names {
			if name != "" && r&(1<<uint(bit)) != 0 {
				flags = append(flags, name)
			}
		}
	}
	c.flags = strings.Join(flags, " ")
	return c
}

// brandMHz parses the frequency at the end of a brand string such as
// "Intel(R) Xeon(R) Processor @ 2.50GHz"; 0 if there is none.
func brandMHz(name string) float64 {
	_, f, ok := strings.Cut(name, "@ ")
	if !ok {
		return 0
	}
	mul := 1.0
	switch {
	case strings.HasSuffix(f, "GHz"):
		f, mul = strings.TrimSuffix(f, "GHz"), 1000
	case strings.HasSuffix(f, "MHz"):
		f = strings.TrimSuffix(f, "MHz")
	default:
		return 0
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
	if err != nil {
		return 0
	}
	return v * mul
}

// cpuinfo is /proc/cpuinfo: one block per CPU the sandbox shows, all
// describing the host's CPU as CPUID reports it. Lines Linux derives
// from model-specific registers or measurements (microcode, bugs,
// power management details) are left out; cpu MHz is the nominal
// frequency (CPUID leaf 0x16 or the brand string) and bogomips twice
// that, as Linux's TSC-calibrated value is.
func (fs *Filesystem) cpuinfo(context.Context) ([]byte, error) {
	cpuOnce.Do(func() { cpu = hostCPU() })
	n := max(fs.k.System().NumCPU, 1)
	var b bytes.Buffer
	yes := func(v bool) string {
		if v {
			return "yes"
		}
		return "no"
	}
	for i := range n {
		fmt.Fprintf(&b, "processor\t: %d\n", i)
		fmt.Fprintf(&b, "vendor_id\t: %s\n", cpu.vendor)
		fmt.Fprintf(&b, "cpu family\t: %d\n", cpu.family)
		fmt.Fprintf(&b, "model\t\t: %d\n", cpu.model)
		fmt.Fprintf(&b, "model name\t: %s\n", cpu.name)
		fmt.Fprintf(&b, "stepping\t: %d\n", cpu.step)
		if cpu.mhz > 0 {
			fmt.Fprintf(&b, "cpu MHz\t\t: %.3f\n", cpu.mhz)
		}
		if cpu.cacheKB > 0 {
			fmt.Fprintf(&b, "cache size\t: %d KB\n", cpu.cacheKB)
		}
		fmt.Fprintf(&b, "physical id\t: 0\nsiblings\t: %d\ncore id\t\t: %d\ncpu cores\t: %d\n", n, i, n)
		fmt.Fprintf(&b, "apicid\t\t: %d\ninitial apicid\t: %d\n", i, i)
		fmt.Fprintf(&b, "fpu\t\t: %s\nfpu_exception\t: %s\n", yes(cpu.hasFPU), yes(cpu.hasFPU))
		fmt.Fprintf(&b, "cpuid level\t: %d\nwp\t\t: yes\n", cpu.maxLeaf)
		fmt.Fprintf(&b, "flags\t\t: %s\n", cpu.flags)
		if cpu.mhz > 0 {
			fmt.Fprintf(&b, "bogomips\t: %.2f\n", 2*cpu.mhz)
		}
		fmt.Fprintf(&b, "clflush size\t: %d\ncache_alignment\t: %d\n", cpu.clflush, cpu.clflush)
		if cpu.physBits > 0 {
			fmt.Fprintf(&b, "address sizes\t: %d bits physical, %d bits virtual\n", cpu.physBits, cpu.virtBits)
		}
		b.WriteString("power management:\n")
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}
