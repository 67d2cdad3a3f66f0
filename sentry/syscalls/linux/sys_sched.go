package linux

import (
	"encoding/binary"
	"runtime"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

func init() { registrars = append(registrars, registerSched) }

// schedNote is the caveat shared by the scheduling calls.
const schedNote = "values are recorded per task, inherited by children (SCHED_RESET_ON_FORK honoured) and reported; the host does not apply them"

// registerSched registers the scheduling calls.
func registerSched(b *tableBuilder) {
	b.full(linux.SYS_SCHED_YIELD, SchedYield)
	b.partial(linux.SYS_SCHED_GETAFFINITY, SchedGetaffinity, schedNote)
	b.partial(linux.SYS_SCHED_SETAFFINITY, SchedSetaffinity, schedNote)
	b.partial(linux.SYS_GETCPU, Getcpu, "the CPU is virtual: a fixed one of the task's affinity mask; node 0")
	b.partial(linux.SYS_SCHED_GETSCHEDULER, SchedGetscheduler, schedNote)
	b.partial(linux.SYS_SCHED_SETSCHEDULER, SchedSetscheduler, schedNote+"; SCHED_OTHER, SCHED_BATCH and SCHED_IDLE only: SCHED_FIFO and SCHED_RR are EPERM even with CAP_SYS_NICE")
	b.partial(linux.SYS_SCHED_GETPARAM, SchedGetparam, schedNote)
	b.partial(linux.SYS_SCHED_SETPARAM, SchedSetparam, schedNote)
	b.full(linux.SYS_SCHED_GET_PRIORITY_MAX, SchedGetPriorityMax)
	b.full(linux.SYS_SCHED_GET_PRIORITY_MIN, SchedGetPriorityMin)
	b.partial(linux.SYS_SCHED_RR_GET_INTERVAL, SchedRRGetInterval, schedNote+"; 0 for the fair policies (an idle run queue)")
	b.partial(linux.SYS_GETPRIORITY, Getpriority, schedNote)
	b.partial(linux.SYS_SETPRIORITY, Setpriority, schedNote)
}

// Scheduling policies (sched(7)).
const (
	schedOther       = 0
	schedFIFO        = 1
	schedRR          = 2
	schedBatch       = 3
	schedIdle        = 5
	schedDeadline    = 6
	schedExt         = 7
	schedResetOnFork = 0x40000000
	// maxRTPriority is the highest SCHED_FIFO/SCHED_RR priority.
	maxRTPriority = 99
	// rrTimeslice is SCHED_RR's quantum, in nanoseconds.
	rrTimeslice = 100_000_000
)

// Nice values.
const (
	minNice = -20
	maxNice = 19
)

// numCPUs is how many CPUs the sandbox shows: CPUs 0 to numCPUs-1.
var numCPUs = runtime.NumCPU()

// cpuMaskBytes is the kernel's cpumask size: whole longs covering numCPUs.
var cpuMaskBytes = 8 * ((numCPUs + 63) / 64)

// schedTarget returns the task pid names for the scheduling calls: the
// caller for 0, else the task with that thread ID (ESRCH if none).
func schedTarget(t *kernel.Task, pid int32) (*kernel.Task, linux.Errno) {
	if pid == 0 {
		return t, 0
	}
	if pid > 0 {
		if target := t.Kernel().TaskByTID(pid); target != nil {
			return target, 0
		}
	}
	return nil, unix.ESRCH
}

// sameOwner reports whether t may change target's scheduling without
// CAP_SYS_NICE: its effective UID is target's real or effective one.
func sameOwner(t, target *kernel.Task) bool {
	c, tc := t.Credentials(), target.Credentials()
	return c.EffectiveUID == tc.RealUID || c.EffectiveUID == tc.EffectiveUID
}

// canLowerNiceTo reports whether t may give target a nice value of nice,
// lower than its current one: target's RLIMIT_NICE allows it (its soft
// limit is 20 - the lowest nice value allowed) or t holds CAP_SYS_NICE.
func canLowerNiceTo(t, target *kernel.Task, nice int32) bool {
	return uint64(20-nice) <= target.ThreadGroup().Limits().Cur(linux.RLIMIT_NICE) ||
		t.Credentials().HasCapability(unix.CAP_SYS_NICE)
}

// SchedYield implements sched_yield(2).
func SchedYield(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	runtime.Gosched()
	return 0, 0
}

// SchedGetaffinity implements sched_getaffinity(2): the size must cover
// every CPU and be a multiple of 8 (EINVAL); it returns the bytes written,
// the smaller of the size and the kernel's mask.
func SchedGetaffinity(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	pid, size, addr := args[0].Int(), args[1].Uint(), args[2].Pointer()
	if uint64(size)*8 < uint64(numCPUs) || size%8 != 0 {
		return 0, unix.EINVAL
	}
	target, errno := schedTarget(t, pid)
	if errno != 0 {
		return 0, errno
	}
	mask := target.SchedAttr().Affinity
	if mask == nil {
		mask = make([]byte, cpuMaskBytes)
		for cpu := range numCPUs {
			mask[cpu/8] |= 1 << (cpu % 8)
		}
	}
	n := min(int(size), cpuMaskBytes)
	if _, err := t.MemoryManager().CopyOut(addr, mask[:n]); err != nil {
		return 0, unix.EFAULT
	}
	return uintptr(n), 0
}

// SchedSetaffinity implements sched_setaffinity(2): bytes beyond the
// kernel's mask are ignored, a shorter mask is zero-extended, CPUs that do
// not exist are dropped, and a mask left empty is EINVAL.
func SchedSetaffinity(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	pid, size, addr := args[0].Int(), args[1].Uint(), args[2].Pointer()
	mask := make([]byte, cpuMaskBytes)
	n := int(min(size, uint32(cpuMaskBytes)))
	if _, err := t.MemoryManager().CopyIn(addr, mask[:n]); err != nil {
		return 0, unix.EFAULT
	}
	target, errno := schedTarget(t, pid)
	if errno != 0 {
		return 0, errno
	}
	if !sameOwner(t, target) && !t.Credentials().HasCapability(unix.CAP_SYS_NICE) {
		return 0, unix.EPERM
	}
	empty := true
	for cpu := range cpuMaskBytes * 8 {
		if cpu >= numCPUs {
			mask[cpu/8] &^= 1 << (cpu % 8)
		} else if mask[cpu/8]&(1<<(cpu%8)) != 0 {
			empty = false
		}
	}
	if empty {
		return 0, unix.EINVAL
	}
	return 0, target.UpdateSchedAttr(func(s *kernel.SchedAttr) linux.Errno {
		s.Affinity = mask
		return 0
	})
}

// Getcpu implements getcpu(2). CPUs are virtual: the task reports a fixed
// CPU of its affinity mask (chosen by its TID, so threads spread), on
// node 0.
func Getcpu(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	cpuAddr, nodeAddr := args[0].Pointer(), args[1].Pointer()
	var cpus []int
	mask := t.SchedAttr().Affinity
	for cpu := range numCPUs {
		if mask == nil || mask[cpu/8]&(1<<(cpu%8)) != 0 {
			cpus = append(cpus, cpu)
		}
	}
	cpu := cpus[int(t.ThreadID())%len(cpus)]
	var b [4]byte
	if cpuAddr != 0 {
		binary.LittleEndian.PutUint32(b[:], uint32(cpu))
		if _, err := t.MemoryManager().CopyOut(cpuAddr, b[:]); err != nil {
			return 0, unix.EFAULT
		}
	}
	if nodeAddr != 0 {
		binary.LittleEndian.PutUint32(b[:], 0)
		if _, err := t.MemoryManager().CopyOut(nodeAddr, b[:]); err != nil {
			return 0, unix.EFAULT
		}
	}
	return 0, 0
}

// validPolicy reports whether policy is a scheduling policy Linux knows.
func validPolicy(policy int32) bool {
	switch policy {
	case schedOther, schedFIFO, schedRR, schedBatch, schedIdle, schedDeadline, schedExt:
		return true
	}
	return false
}

// SchedGetscheduler implements sched_getscheduler(2).
func SchedGetscheduler(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	pid := args[0].Int()
	if pid < 0 {
		return 0, unix.EINVAL
	}
	target, errno := schedTarget(t, pid)
	if errno != 0 {
		return 0, errno
	}
	s := target.SchedAttr()
	policy := uintptr(s.Policy)
	if s.ResetOnFork {
		policy |= schedResetOnFork
	}
	return policy, 0
}

// setScheduler is sched_setscheduler(2) and (with policy -1, keeping the
// current one) sched_setparam(2).
func setScheduler(t *kernel.Task, pid, policy int32, paramAddr uintptr) (uintptr, linux.Errno) {
	if paramAddr == 0 || pid < 0 {
		return 0, unix.EINVAL
	}
	var b [4]byte
	if _, err := t.MemoryManager().CopyIn(paramAddr, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	prio := binary.LittleEndian.Uint32(b[:])
	target, errno := schedTarget(t, pid)
	if errno != 0 {
		return 0, errno
	}
	priv := t.Credentials().HasCapability(unix.CAP_SYS_NICE)
	owner := sameOwner(t, target)
	return 0, target.UpdateSchedAttr(func(s *kernel.SchedAttr) linux.Errno {
		newPolicy := policy
		resetOnFork := s.ResetOnFork
		if newPolicy == -1 {
			newPolicy = s.Policy
		} else {
			resetOnFork = newPolicy&schedResetOnFork != 0
			newPolicy &^= schedResetOnFork
			if !validPolicy(newPolicy) {
				return unix.EINVAL
			}
		}
		rt := newPolicy == schedFIFO || newPolicy == schedRR
		if prio > maxRTPriority || rt != (prio != 0) || newPolicy == schedDeadline || newPolicy == schedExt {
			// SCHED_DEADLINE needs sched_setattr's parameters; no
			// sched_ext scheduler is loaded.
			return unix.EINVAL
		}
		if rt {
			return unix.EPERM
		}
		if !priv {
			if s.Policy == schedIdle && newPolicy != schedIdle && !canLowerNiceTo(t, target, s.Nice) {
				return unix.EPERM
			}
			if !owner || (s.ResetOnFork && !resetOnFork) {
				return unix.EPERM
			}
		}
		s.Policy, s.ResetOnFork = newPolicy, resetOnFork
		return 0
	})
}

// SchedSetscheduler implements sched_setscheduler(2) for the non-real-time
// policies.
func SchedSetscheduler(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	policy := args[1].Int()
	if policy < 0 {
		return 0, unix.EINVAL
	}
	return setScheduler(t, args[0].Int(), policy, args[2].Pointer())
}

// SchedSetparam implements sched_setparam(2).
func SchedSetparam(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return setScheduler(t, args[0].Int(), -1, args[1].Pointer())
}

// SchedGetparam implements sched_getparam(2): the priority is 0 for the
// policies a task can have here.
func SchedGetparam(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	pid, addr := args[0].Int(), args[1].Pointer()
	if addr == 0 || pid < 0 {
		return 0, unix.EINVAL
	}
	if _, errno := schedTarget(t, pid); errno != 0 {
		return 0, errno
	}
	var b [4]byte
	if _, err := t.MemoryManager().CopyOut(addr, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	return 0, 0
}

// SchedGetPriorityMax implements sched_get_priority_max(2).
func SchedGetPriorityMax(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	switch policy := args[0].Int(); {
	case policy == schedFIFO || policy == schedRR:
		return maxRTPriority, 0
	case validPolicy(policy):
		return 0, 0
	}
	return 0, unix.EINVAL
}

// SchedGetPriorityMin implements sched_get_priority_min(2).
func SchedGetPriorityMin(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	switch policy := args[0].Int(); {
	case policy == schedFIFO || policy == schedRR:
		return 1, 0
	case validPolicy(policy):
		return 0, 0
	}
	return 0, unix.EINVAL
}

// SchedRRGetInterval implements sched_rr_get_interval(2): SCHED_RR's
// quantum for SCHED_RR tasks (which cannot exist here yet), 0 otherwise,
// as Linux reports for fair tasks on an idle run queue.
func SchedRRGetInterval(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	pid, addr := args[0].Int(), args[1].Pointer()
	if pid < 0 {
		return 0, unix.EINVAL
	}
	target, errno := schedTarget(t, pid)
	if errno != 0 {
		return 0, errno
	}
	var ns int64
	if target.SchedAttr().Policy == schedRR {
		ns = rrTimeslice
	}
	var b [16]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(ns/1e9))
	binary.LittleEndian.PutUint64(b[8:], uint64(ns%1e9))
	if _, err := t.MemoryManager().CopyOut(addr, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	return 0, 0
}

// priorityTargets returns the tasks getpriority/setpriority's which and
// who name: one task (PRIO_PROCESS), every thread of the processes of a
// process group (PRIO_PGRP), or every thread whose real user ID is who
// (PRIO_USER); who 0 means the caller's. An unknown which is EINVAL; no
// task at all is ESRCH.
func priorityTargets(t *kernel.Task, which, who int32) ([]*kernel.Task, linux.Errno) {
	var targets []*kernel.Task
	switch which {
	case unix.PRIO_PROCESS:
		target, errno := schedTarget(t, who)
		if errno != 0 {
			return nil, errno
		}
		targets = append(targets, target)
	case unix.PRIO_PGRP:
		pgid := who
		if pgid == 0 {
			pgid = t.ThreadGroup().ProcessGroupID()
		}
		for _, tg := range t.Kernel().ThreadGroups() {
			if tg.ProcessGroupID() == pgid {
				targets = append(targets, tg.Tasks()...)
			}
		}
	case unix.PRIO_USER:
		uid := uint32(who)
		if who == 0 {
			uid = t.Credentials().RealUID
		}
		for _, tg := range t.Kernel().ThreadGroups() {
			for _, target := range tg.Tasks() {
				if target.Credentials().RealUID == uid {
					targets = append(targets, target)
				}
			}
		}
	default:
		return nil, unix.EINVAL
	}
	if len(targets) == 0 {
		return nil, unix.ESRCH
	}
	return targets, 0
}

// Getpriority implements getpriority(2): the highest priority (lowest
// nice value) of the tasks named. The raw call returns 20 - nice (1 to
// 40), which libc turns back into the nice value.
func Getpriority(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	targets, errno := priorityTargets(t, args[0].Int(), args[1].Int())
	if errno != 0 {
		return 0, errno
	}
	best := int32(0)
	for _, target := range targets {
		best = max(best, 20-target.SchedAttr().Nice)
	}
	return uintptr(best), 0
}

// Setpriority implements setpriority(2) on every task named: the value is
// clamped to -20..19; changing another user's task needs CAP_SYS_NICE
// (EPERM), and lowering the nice value needs RLIMIT_NICE to allow it or
// CAP_SYS_NICE (EACCES). As in Linux, the tasks that may be changed are,
// and the call reports the last refusal, if any.
func Setpriority(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	which, who := args[0].Int(), args[1].Int()
	if which < unix.PRIO_PROCESS || which > unix.PRIO_USER {
		return 0, unix.EINVAL
	}
	nice := min(max(args[2].Int(), minNice), maxNice)
	targets, errno := priorityTargets(t, which, who)
	if errno != 0 {
		return 0, errno
	}
	var result linux.Errno
	for _, target := range targets {
		if !sameOwner(t, target) && !t.Credentials().HasCapability(unix.CAP_SYS_NICE) {
			result = unix.EPERM
			continue
		}
		if errno := target.UpdateSchedAttr(func(s *kernel.SchedAttr) linux.Errno {
			if nice < s.Nice && !canLowerNiceTo(t, target, nice) {
				return unix.EACCES
			}
			s.Nice = nice
			return 0
		}); errno != 0 {
			result = errno
		}
	}
	return 0, result
}
