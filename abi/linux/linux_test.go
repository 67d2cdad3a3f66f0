package linux

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestSyscallNames(t *testing.T) {
	for nr, want := range map[uintptr]string{0: "read", 1: "write", 39: "getpid", 59: "execve", 231: "exit_group", 435: "clone3"} {
		if got := SyscallName(nr); got != want {
			t.Errorf("SyscallName(%d) = %q, want %q", nr, got, want)
		}
	}
	if got := SyscallName(100000); got != "syscall_100000" {
		t.Errorf("SyscallName(100000) = %q", got)
	}
	if SYS_GETPPID != unix.SYS_GETPPID || SYS_OPENAT2 != unix.SYS_OPENAT2 {
		t.Errorf("generated numbers disagree with x/sys")
	}
}

func TestSignalInfoLayout(t *testing.T) {
	var si SignalInfo
	si.Signo, si.Code = int32(SIGSEGV), SEGV_MAPERR
	si.SetAddr(0xdeadbeef000)
	var b [SignalInfoSize]byte
	si.Encode(b[:])
	// si_signo at 0, si_code at 8, si_addr at 16 (amd64 siginfo_t).
	if b[0] != 11 || b[8] != 1 || b[16] != 0x00 || b[17] != 0xf0 || b[18] != 0xee {
		t.Fatalf("unexpected encoding % x", b[:24])
	}
	var back SignalInfo
	back.Decode(b[:])
	if back != si {
		t.Fatalf("round trip: got %+v want %+v", back, si)
	}
	si.SetPID(7)
	si.SetUID(1000)
	si.SetStatus(3)
	if si.PID() != 7 || si.UID() != 1000 || si.Status() != 3 {
		t.Fatalf("SIGCHLD fields: %d %d %d", si.PID(), si.UID(), si.Status())
	}
}

func TestPtraceRegsEncoding(t *testing.T) {
	var r PtraceRegs
	r.R15, r.Orig_rax, r.Gs = 1, 2, 3
	var b [PtraceRegsSize]byte
	EncodePtraceRegs(&r, b[:])
	// user_regs_struct: r15 is word 0, orig_rax word 15, gs word 26.
	if b[0] != 1 || b[15*8] != 2 || b[26*8] != 3 {
		t.Fatalf("unexpected layout")
	}
	var back PtraceRegs
	DecodePtraceRegs(&back, b[:])
	if back != r {
		t.Fatalf("round trip mismatch")
	}
}

func TestSignalSet(t *testing.T) {
	s := MakeSignalSet(SIGINT, SIGKILL)
	if s != (1<<1)|(1<<8) || !s.Has(SIGKILL) || s.Has(SIGTERM) {
		t.Fatalf("set %#x", s)
	}
	if SignalSetOf(0) != 0 || SignalSetOf(65) != 0 {
		t.Fatalf("invalid signals must give the empty set")
	}
	if SIGSEGV.String() != "SIGSEGV" || Signal(34).String() != "SIGRTMIN+2" {
		t.Fatalf("names: %s %s", SIGSEGV, Signal(34))
	}
}
