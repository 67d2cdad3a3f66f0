package kernel_test

import (
	"runtime"
	"testing"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
)

// TestSyscallPathDoesNotAllocate runs many getppid calls through the task
// loop and checks that the loop allocates nothing per call.
func TestSyscallPathDoesNotAllocate(t *testing.T) {
	const calls = 20000
	var before, after runtime.MemStats
	n := 0
	getppid := func(t *testing.T, st *platform.State) platform.Event {
		n++
		switch n {
		case 100:
			// Warmed up: start counting.
			runtime.ReadMemStats(&before)
		case calls:
			runtime.ReadMemStats(&after)
			st.Regs.Orig_rax = linux.SYS_EXIT_GROUP
			st.Regs.Rdi = 0
			return platform.Event{Kind: platform.EventSyscall}
		}
		st.Regs.Orig_rax = linux.SYS_GETPPID
		return platform.Event{Kind: platform.EventSyscall}
	}
	steps := make([]step, calls)
	for i := range steps {
		steps[i] = getppid
	}
	status, _, _ := runScript(t, steps)
	if status.Code != 0 || status.Signaled() {
		t.Fatalf("status %v", status)
	}
	// ReadMemStats itself and unrelated runtime work allocate a little;
	// one allocation per call would be thousands.
	allocs := after.Mallocs - before.Mallocs
	t.Logf("%d allocations for %d syscalls", allocs, calls-100)
	if allocs > 100 {
		t.Errorf("%d allocations for %d syscalls", allocs, calls-100)
	}
}
