package linux

import (
	"testing"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

// TestSchedStatePerTask checks that state is per task and that a refused
// update changes nothing.
func TestSchedStatePerTask(t *testing.T) {
	a, b := new(kernel.Task), new(kernel.Task)
	if errno := a.UpdateSchedAttr(func(s *kernel.SchedAttr) linux.Errno { s.Nice = 5; return 0 }); errno != 0 {
		t.Fatal(errno)
	}
	if errno := a.UpdateSchedAttr(func(s *kernel.SchedAttr) linux.Errno { s.Nice = -3; return unix.EACCES }); errno != unix.EACCES {
		t.Fatalf("refused update returned %v", errno)
	}
	if got := a.SchedAttr().Nice; got != 5 {
		t.Fatalf("nice = %d, want 5", got)
	}
	if got := b.SchedAttr(); got.Nice != 0 || got.Policy != schedOther || got.Affinity != nil {
		t.Fatalf("untouched task has state %+v", got)
	}
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
