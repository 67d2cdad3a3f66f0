package ptrace

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/platform"
)

// loopCode is "l: syscall; jmp l".
var loopCode = cat(insSyscall, []byte{0xeb, 0xfc})

// BenchmarkSyscallRoundTrip measures one guest syscall through
// Context.Switch: the guest loops on syscall, every Switch returns
// EventSyscall and the "Sentry" writes a result.
func BenchmarkSyscallRoundTrip(b *testing.B) {
	p := newTestPlatform(b)
	mf := newMemFile(b, 2*pageSize)
	as := newAS(b, p, mf, loopCode, true)
	c, done := lockedContext(b, p)
	defer done()
	st := newState(p, codeAddr)
	if _, err := c.Switch(as, st); err != nil { // creates the stub thread
		b.Fatalf("Switch: %v", err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st.Regs.Rax = uint64(i)
		ev, err := c.Switch(as, st)
		if err != nil || ev.Kind != platform.EventSyscall {
			b.Fatalf("Switch: %v %v", ev.Kind, err)
		}
	}
}

// BenchmarkBareSysemu is the ptrace floor on this machine, for the ratio:
// the same guest loop on the same kind of stub thread, driven by the
// minimal tracer loop PTRACE_SETREGS, PTRACE_SYSEMU, wait4, PTRACE_GETREGS
// (no FP state, no classification).
func BenchmarkBareSysemu(b *testing.B) {
	p := newTestPlatform(b)
	mf := newMemFile(b, 2*pageSize)
	as := newAS(b, p, mf, loopCode, true)
	c, done := lockedContext(b, p)
	defer done()
	st := newState(p, codeAddr)
	if _, err := c.Switch(as, st); err != nil {
		b.Fatalf("Switch: %v", err)
	}
	t := c.(*context).threads[as.(*addressSpace)]
	regs := st.Regs
	regs.Orig_rax = ^uint64(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		regs.Rax = uint64(i)
		if err := setRegs(t.tid, &regs); err != nil {
			b.Fatal(err)
		}
		if err := ptrace(unix.PTRACE_SYSEMU, t.tid, 0, 0); err != nil {
			b.Fatal(err)
		}
		if _, err := wait4(t.tid); err != nil {
			b.Fatal(err)
		}
		if err := getRegs(t.tid, &regs); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// Leave the thread in a state Switch can resume.
	c.(*context).threads[as.(*addressSpace)].kregsValid = false
}

// BenchmarkNativeSyscall is a host getpid from Go, for scale.
func BenchmarkNativeSyscall(b *testing.B) {
	for i := 0; i < b.N; i++ {
		unix.RawSyscall(unix.SYS_GETPID, 0, 0, 0)
	}
}

// BenchmarkSyscallRoundTripRatio interleaves blocks of Switch round trips
// with blocks of the bare SYSEMU loop on the same stub thread, so that both
// see the same machine load, and reports each cost and their ratio.
func BenchmarkSyscallRoundTripRatio(b *testing.B) {
	p := newTestPlatform(b)
	mf := newMemFile(b, 2*pageSize)
	as := newAS(b, p, mf, loopCode, true)
	c, done := lockedContext(b, p)
	defer done()
	st := newState(p, codeAddr)
	if _, err := c.Switch(as, st); err != nil {
		b.Fatalf("Switch: %v", err)
	}
	t := c.(*context).threads[as.(*addressSpace)]
	const block = 200
	var switchTime, bareTime time.Duration
	var n int
	b.ResetTimer()
	for n < b.N {
		start := time.Now()
		for i := 0; i < block; i++ {
			st.Regs.Rax = uint64(i)
			if ev, err := c.Switch(as, st); err != nil || ev.Kind != platform.EventSyscall {
				b.Fatalf("Switch: %v %v", ev.Kind, err)
			}
		}
		switchTime += time.Since(start)
		regs := st.Regs
		regs.Orig_rax = ^uint64(0)
		start = time.Now()
		for i := 0; i < block; i++ {
			regs.Rax = uint64(i)
			if err := setRegs(t.tid, &regs); err != nil {
				b.Fatal(err)
			}
			if err := ptrace(unix.PTRACE_SYSEMU, t.tid, 0, 0); err != nil {
				b.Fatal(err)
			}
			if _, err := wait4(t.tid); err != nil {
				b.Fatal(err)
			}
			if err := getRegs(t.tid, &regs); err != nil {
				b.Fatal(err)
			}
		}
		bareTime += time.Since(start)
		t.kregsValid = false
		n += block
	}
	b.StopTimer()
	b.ReportMetric(float64(switchTime.Nanoseconds())/float64(n), "switch-ns/op")
	b.ReportMetric(float64(bareTime.Nanoseconds())/float64(n), "bare-ns/op")
	b.ReportMetric(float64(switchTime)/float64(bareTime), "ratio")
}
