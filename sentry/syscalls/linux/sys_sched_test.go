package linux

import (
	"runtime"
	"testing"
	"time"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

// schedEntries returns how many tasks have scheduling state.
func schedEntries() int {
	schedStates.mu.Lock()
	defer schedStates.mu.Unlock()
	return len(schedStates.m)
}

// TestSchedStateLifetime checks that state is per task, that a refused
// update changes nothing, and that a task's entry goes with the task.
func TestSchedStateLifetime(t *testing.T) {
	before := schedEntries()
	a, b := new(kernel.Task), new(kernel.Task)
	if errno := updateSched(a, func(s *schedState) linux.Errno { s.nice = 5; return 0 }); errno != 0 {
		t.Fatal(errno)
	}
	if errno := updateSched(a, func(s *schedState) linux.Errno { s.nice = -3; return unix.EACCES }); errno != unix.EACCES {
		t.Fatalf("refused update returned %v", errno)
	}
	if got := getSched(a).nice; got != 5 {
		t.Fatalf("nice = %d, want 5", got)
	}
	if got := getSched(b); got.nice != 0 || got.policy != schedOther || got.affinity != nil {
		t.Fatalf("untouched task has state %+v", got)
	}
	if n := schedEntries(); n != before+1 {
		t.Fatalf("%d entries, want %d", n, before+1)
	}
	runtime.KeepAlive(a)
	for range 1000 {
		runtime.GC()
		if schedEntries() == before {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("entry of a collected task was not removed")
}

// TestPriorityRanges checks sched_get_priority_max/min for every policy.
func TestPriorityRanges(t *testing.T) {
	for _, tc := range []struct {
		policy   int32
		min, max uintptr
		errno    unix.Errno
	}{
		{schedOther, 0, 0, 0},
		{schedFIFO, 1, 99, 0},
		{schedRR, 1, 99, 0},
		{schedBatch, 0, 0, 0},
		{schedIdle, 0, 0, 0},
		{schedDeadline, 0, 0, 0},
		{4, 0, 0, unix.EINVAL},
		{-1, 0, 0, unix.EINVAL},
		{schedFIFO | schedResetOnFork, 0, 0, unix.EINVAL},
	} {
		args := &arch.SyscallArguments{{Value: uintptr(uint32(tc.policy))}}
		max, e1 := SchedGetPriorityMax(nil, args)
		min, e2 := SchedGetPriorityMin(nil, args)
		if e1 != tc.errno || e2 != tc.errno || (tc.errno == 0 && (max != tc.max || min != tc.min)) {
			t.Errorf("policy %d: max %d/%v min %d/%v, want %d %d %v", tc.policy, max, e1, min, e2, tc.max, tc.min, tc.errno)
		}
	}
}
