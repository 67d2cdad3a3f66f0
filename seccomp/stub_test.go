package seccomp

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// seccompData is struct seccomp_data.
type seccompData struct {
	nr   int32
	arch uint32
	ip   uint64
	args [6]uint64
}

func (d *seccompData) bytes() []byte {
	b := make([]byte, 64)
	binary.LittleEndian.PutUint32(b[0:], uint32(d.nr))
	binary.LittleEndian.PutUint32(b[4:], d.arch)
	binary.LittleEndian.PutUint64(b[8:], d.ip)
	for i, a := range d.args {
		binary.LittleEndian.PutUint64(b[16+8*i:], a)
	}
	return b
}

// runBPF interprets a classic BPF seccomp program on d, as the kernel
// would, and returns its verdict.
func runBPF(t *testing.T, prog []unix.SockFilter, d *seccompData) uint32 {
	t.Helper()
	data := d.bytes()
	var a, x uint32
	var mem [16]uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			if int(in.K)+4 > len(data) {
				t.Fatalf("pc %d: load at %d out of seccomp_data", pc, in.K)
			}
			a = binary.LittleEndian.Uint32(data[in.K:])
		case unix.BPF_LD | unix.BPF_MEM:
			a = mem[in.K]
		case unix.BPF_LDX | unix.BPF_MEM:
			x = mem[in.K]
		case unix.BPF_LD | unix.BPF_IMM:
			a = in.K
		case unix.BPF_ST:
			mem[in.K] = a
		case unix.BPF_STX:
			mem[in.K] = x
		case unix.BPF_ALU | unix.BPF_AND | unix.BPF_K:
			a &= in.K
		case unix.BPF_ALU | unix.BPF_OR | unix.BPF_K:
			a |= in.K
		case unix.BPF_MISC | unix.BPF_TAX:
			x = a
		case unix.BPF_MISC | unix.BPF_TXA:
			a = x
		case unix.BPF_JMP | unix.BPF_JA:
			pc += int(in.K)
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K,
			unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			var cond bool
			switch in.Code & 0xf0 {
			case unix.BPF_JEQ:
				cond = a == in.K
			case unix.BPF_JGT:
				cond = a > in.K
			case unix.BPF_JGE:
				cond = a >= in.K
			case unix.BPF_JSET:
				cond = a&in.K != 0
			}
			if cond {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case unix.BPF_RET | unix.BPF_K:
			return in.K
		default:
			t.Fatalf("pc %d: BPF opcode %#x not handled by the test interpreter", pc, in.Code)
		}
	}
	t.Fatalf("BPF program fell off its end")
	return 0
}

const (
	auditArchX86_64 = 0xc000003e
	auditArchI386   = 0x40000003
	retAllow        = unix.SECCOMP_RET_ALLOW
	retKillProcess  = unix.SECCOMP_RET_KILL_PROCESS
)

func TestStubFilterVerdicts(t *testing.T) {
	f := StubFilter()
	for _, r := range f.Rules {
		if r.Reason == "" {
			t.Errorf("rule for syscall %d has no reason", r.Syscall)
		}
	}
	prog, err := f.BPF()
	if err != nil {
		t.Fatalf("BPF: %v", err)
	}
	call := func(nr uintptr, args ...uint64) *seccompData {
		d := &seccompData{nr: int32(nr), arch: auditArchX86_64}
		copy(d.args[:], args)
		return d
	}
	for _, tc := range []struct {
		name string
		d    *seccompData
		want uint32
	}{
		{"mmap shared fixed", call(unix.SYS_MMAP, 0x400000, 4096, unix.PROT_READ, StubMmapFlags, 5, 0), retAllow},
		{"mmap private", call(unix.SYS_MMAP, 0x400000, 4096, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_FIXED, 5, 0), retKillProcess},
		{"mmap anonymous", call(unix.SYS_MMAP, 0, 4096, unix.PROT_READ, unix.MAP_SHARED|unix.MAP_FIXED|unix.MAP_ANONYMOUS, ^uint64(0), 0), retKillProcess},
		{"munmap", call(unix.SYS_MUNMAP, 0x400000, 4096), retAllow},
		{"clone thread", call(unix.SYS_CLONE, StubCloneThreadFlags), retAllow},
		{"clone process", call(unix.SYS_CLONE, uint64(StubCloneProcessFlags)), retAllow},
		{"clone other flags", call(unix.SYS_CLONE, unix.CLONE_VM|unix.CLONE_VFORK|uint64(unix.SIGCHLD)), retKillProcess},
		{"clone3", call(unix.SYS_CLONE3, 0, 88), retKillProcess},
		{"exit", call(unix.SYS_EXIT, 0), retAllow},
		{"getpid", call(unix.SYS_GETPID), retKillProcess},
		{"kill", call(unix.SYS_KILL, 1, 9), retKillProcess},
		{"execve", call(unix.SYS_EXECVE), retKillProcess},
		{"ptrace", call(unix.SYS_PTRACE), retKillProcess},
		{"mprotect", call(unix.SYS_MPROTECT, 0x400000, 4096, 7), retKillProcess},
		{"i386 munmap", &seccompData{nr: 91, arch: auditArchI386}, retKillProcess},
		{"x32 munmap", &seccompData{nr: 0x40000000 + unix.SYS_MUNMAP, arch: auditArchX86_64}, retKillProcess},
	} {
		if got := runBPF(t, prog, tc.d) & unix.SECCOMP_RET_ACTION_FULL; got != tc.want {
			t.Errorf("%s: verdict %#x, want %#x", tc.name, got, tc.want)
		}
	}
}
