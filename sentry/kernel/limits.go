package kernel

// Resource limits. Each thread group holds a LimitSet: a soft and a hard
// limit for each of Linux's sixteen resources (RLIMIT_CPU .. RLIMIT_RTTIME).
// getrlimit(2), setrlimit(2) and prlimit64(2) read and change it with
// Linux's rules (see LimitSet.Set). The first process starts with the
// limits Linux gives init (INIT_RLIMITS), NPROC and SIGPENDING sized from
// the machine's memory as fork_init does.
//
// Enforcement: RLIMIT_NOFILE bounds the fd table (EMFILE past the soft
// limit); the other limits are recorded and reported but not yet
// enforced.

import (
	"sync"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

// Limit is one resource's soft (Cur) and hard (Max) limit;
// linux.RLimInfinity means none.
type Limit = linux.RLimit64

// Default limits, as Linux's INIT_RLIMITS gives the first process.
const (
	// DefaultStackLimit is RLIMIT_STACK's soft limit (_STK_LIM).
	DefaultStackLimit = 8 << 20
	// DefaultNOFILECur and DefaultNOFILEMax are RLIMIT_NOFILE's limits
	// (INR_OPEN_CUR, INR_OPEN_MAX). A login or a container runtime raises
	// them; programs that need more call setrlimit up to the hard limit.
	DefaultNOFILECur = 1024
	DefaultNOFILEMax = 4096
	// DefaultMemlockLimit is RLIMIT_MEMLOCK's soft and hard limit
	// (MLOCK_LIMIT since Linux 5.16).
	DefaultMemlockLimit = 8 << 20
	// DefaultMsgqueueLimit is RLIMIT_MSGQUEUE's soft and hard limit
	// (MQ_BYTES_MAX).
	DefaultMsgqueueLimit = 819200
)

// LimitSet is a thread group's resource limits. It is safe for concurrent
// use.
type LimitSet struct {
	// mu guards data.
	mu   sync.Mutex
	data [linux.RLIM_NLIMITS]Limit
}

// NewLimitSet returns a set with every limit unlimited.
func NewLimitSet() *LimitSet {
	l := &LimitSet{}
	for i := range l.data {
		l.data[i] = Limit{Cur: linux.RLimInfinity, Max: linux.RLimInfinity}
	}
	return l
}

// DefaultLimits returns the limits Linux gives init: everything unlimited
// except STACK (8 MiB soft), CORE (0 soft), NPROC and SIGPENDING (half the
// thread count the machine's memory allows), NOFILE (1024/4096), MEMLOCK
// (8 MiB), MSGQUEUE (819200 bytes), NICE and RTPRIO (0).
func DefaultLimits() *LimitSet {
	l := NewLimitSet()
	threads := machineThreadLimit()
	l.data[linux.RLIMIT_STACK] = Limit{Cur: DefaultStackLimit, Max: linux.RLimInfinity}
	l.data[linux.RLIMIT_CORE] = Limit{Cur: 0, Max: linux.RLimInfinity}
	l.data[linux.RLIMIT_NPROC] = Limit{Cur: threads, Max: threads}
	l.data[linux.RLIMIT_SIGPENDING] = Limit{Cur: threads, Max: threads}
	l.data[linux.RLIMIT_NOFILE] = Limit{Cur: DefaultNOFILECur, Max: DefaultNOFILEMax}
	l.data[linux.RLIMIT_MEMLOCK] = Limit{Cur: DefaultMemlockLimit, Max: DefaultMemlockLimit}
	l.data[linux.RLIMIT_MSGQUEUE] = Limit{Cur: DefaultMsgqueueLimit, Max: DefaultMsgqueueLimit}
	l.data[linux.RLIMIT_NICE] = Limit{}
	l.data[linux.RLIMIT_RTPRIO] = Limit{}
	return l
}

// machineThreadLimit is Linux's default RLIMIT_NPROC: fork_init allows
// max_threads = total RAM / (8 * THREAD_SIZE) threads (THREAD_SIZE is 16
// KiB on amd64), clamped to [20, FUTEX_TID_MASK], and gives init half of
// that.
var machineThreadLimit = sync.OnceValue(func() uint64 {
	const (
		threadSize   = 16 << 10
		minThreads   = 20
		futexTIDMask = 0x3fffffff
	)
	var si unix.Sysinfo_t
	threads := uint64(minThreads)
	if err := unix.Sysinfo(&si); err == nil {
		threads = uint64(si.Totalram) * uint64(si.Unit) / (8 * threadSize)
	}
	threads = max(min(threads, futexTIDMask), minThreads)
	return threads / 2
})

// validResource reports whether r names a resource.
func validResource(r int) bool { return r >= 0 && r < linux.RLIM_NLIMITS }

// Get returns resource r's limits; EINVAL if r is not a resource.
func (l *LimitSet) Get(r int) (Limit, error) {
	if !validResource(r) {
		return Limit{}, unix.EINVAL
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.data[r], nil
}

// Cur returns resource r's soft limit (r must be valid).
func (l *LimitSet) Cur(r int) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.data[r].Cur
}

// Set replaces resource r's limits with lim and returns the old ones, with
// Linux's rules: EINVAL for an unknown resource or a soft limit above the
// hard limit; EPERM for an RLIMIT_NOFILE hard limit above nr_open, or for
// raising a hard limit without CAP_SYS_RESOURCE (privileged).
func (l *LimitSet) Set(r int, lim Limit, privileged bool) (Limit, error) {
	if !validResource(r) || lim.Cur > lim.Max {
		return Limit{}, unix.EINVAL
	}
	if r == linux.RLIMIT_NOFILE && lim.Max > linux.NrOpen {
		return Limit{}, unix.EPERM
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.data[r]
	if lim.Max > old.Max && !privileged {
		return Limit{}, unix.EPERM
	}
	l.data[r] = lim
	return old, nil
}

// Copy returns an independent copy of l (a child's limits at fork).
func (l *LimitSet) Copy() *LimitSet {
	l.mu.Lock()
	defer l.mu.Unlock()
	return &LimitSet{data: l.data}
}

// PrlimitTarget returns the limits prlimit64(2) on pid acts on: the
// caller's own group for 0, else the group of the task whose thread ID is
// pid. ESRCH if there is none; EPERM if the caller may not touch another
// process's limits (it needs CAP_SYS_RESOURCE, or real and effective
// user and group IDs equal to the caller's real ones; saved IDs are not
// modelled).
func (t *Task) PrlimitTarget(pid int32) (*LimitSet, error) {
	if pid == 0 || pid == t.tid {
		return t.tg.limits, nil
	}
	if pid < 0 {
		return nil, unix.ESRCH
	}
	t.k.mu.Lock()
	target := t.k.tasks[pid]
	t.k.mu.Unlock()
	if target == nil {
		return nil, unix.ESRCH
	}
	if target.tg == t.tg {
		return t.tg.limits, nil
	}
	c, tc := t.creds, target.creds
	if !c.HasCapability(unix.CAP_SYS_RESOURCE) &&
		(c.RealUID != tc.RealUID || c.RealUID != tc.EffectiveUID ||
			c.RealGID != tc.RealGID || c.RealGID != tc.EffectiveGID) {
		return nil, unix.EPERM
	}
	return target.tg.limits, nil
}
