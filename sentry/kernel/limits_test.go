package kernel_test

import (
	"errors"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
)

func TestRLimitConstantsMatchHost(t *testing.T) {
	for got, want := range map[int]int{
		linux.RLIMIT_CPU: unix.RLIMIT_CPU, linux.RLIMIT_STACK: unix.RLIMIT_STACK,
		linux.RLIMIT_NOFILE: unix.RLIMIT_NOFILE, linux.RLIMIT_AS: unix.RLIMIT_AS,
		linux.RLIMIT_RTTIME: unix.RLIMIT_RTTIME,
	} {
		if got != want {
			t.Errorf("resource %d, host says %d", got, want)
		}
	}
	if linux.RLimInfinity != unix.RLIM_INFINITY {
		t.Errorf("RLimInfinity = %#x, host %#x", linux.RLimInfinity, uint64(unix.RLIM_INFINITY))
	}
}

func TestRLimit64Layout(t *testing.T) {
	b := make([]byte, linux.RLimit64Size)
	linux.RLimit64{Cur: 0x0102030405060708, Max: linux.RLimInfinity}.Encode(b)
	if b[0] != 0x08 || b[7] != 0x01 || b[8] != 0xff || b[15] != 0xff {
		t.Fatalf("encoded % x", b)
	}
	if r := linux.DecodeRLimit64(b); r.Cur != 0x0102030405060708 || r.Max != linux.RLimInfinity {
		t.Fatalf("decoded %+v", r)
	}
}

func TestDefaultLimits(t *testing.T) {
	l := kernel.DefaultLimits()
	inf := linux.RLimInfinity
	want := map[int]kernel.Limit{
		linux.RLIMIT_CPU:      {Cur: inf, Max: inf},
		linux.RLIMIT_FSIZE:    {Cur: inf, Max: inf},
		linux.RLIMIT_DATA:     {Cur: inf, Max: inf},
		linux.RLIMIT_STACK:    {Cur: 8 << 20, Max: inf},
		linux.RLIMIT_CORE:     {Cur: 0, Max: inf},
		linux.RLIMIT_RSS:      {Cur: inf, Max: inf},
		linux.RLIMIT_NOFILE:   {Cur: 1024, Max: 4096},
		linux.RLIMIT_MEMLOCK:  {Cur: 8 << 20, Max: 8 << 20},
		linux.RLIMIT_AS:       {Cur: inf, Max: inf},
		linux.RLIMIT_LOCKS:    {Cur: inf, Max: inf},
		linux.RLIMIT_MSGQUEUE: {Cur: 819200, Max: 819200},
		linux.RLIMIT_NICE:     {},
		linux.RLIMIT_RTPRIO:   {},
		linux.RLIMIT_RTTIME:   {Cur: inf, Max: inf},
	}
	for r, w := range want {
		if got, err := l.Get(r); err != nil || got != w {
			t.Errorf("resource %d: %+v, %v; want %+v", r, got, err, w)
		}
	}
	// NPROC and SIGPENDING depend on the machine's memory: finite, at
	// least Linux's floor, soft equal to hard.
	for _, r := range []int{linux.RLIMIT_NPROC, linux.RLIMIT_SIGPENDING} {
		got, err := l.Get(r)
		if err != nil || got.Cur != got.Max || got.Cur < 10 || got.Cur == inf {
			t.Errorf("resource %d: %+v, %v", r, got, err)
		}
	}
	if l.Cur(linux.RLIMIT_NOFILE) != 1024 {
		t.Errorf("Cur(NOFILE) = %d", l.Cur(linux.RLIMIT_NOFILE))
	}
}

func TestLimitSetRules(t *testing.T) {
	for _, tc := range []struct {
		name       string
		resource   int
		lim        kernel.Limit
		privileged bool
		want       error
	}{
		{"lower soft", linux.RLIMIT_NOFILE, kernel.Limit{Cur: 100, Max: 4096}, false, nil},
		{"lower hard unprivileged", linux.RLIMIT_NOFILE, kernel.Limit{Cur: 100, Max: 200}, false, nil},
		{"soft up to hard", linux.RLIMIT_NOFILE, kernel.Limit{Cur: 4096, Max: 4096}, false, nil},
		{"soft above hard", linux.RLIMIT_CORE, kernel.Limit{Cur: 200, Max: 100}, true, unix.EINVAL},
		{"raise hard unprivileged", linux.RLIMIT_NOFILE, kernel.Limit{Cur: 1024, Max: 8192}, false, unix.EPERM},
		{"raise hard privileged", linux.RLIMIT_NOFILE, kernel.Limit{Cur: 1024, Max: 8192}, true, nil},
		{"nofile at nr_open", linux.RLIMIT_NOFILE, kernel.Limit{Cur: 1024, Max: linux.NrOpen}, true, nil},
		{"nofile above nr_open", linux.RLIMIT_NOFILE, kernel.Limit{Cur: 1024, Max: linux.NrOpen + 1}, true, unix.EPERM},
		{"nofile infinity", linux.RLIMIT_NOFILE, kernel.Limit{Cur: 1024, Max: linux.RLimInfinity}, true, unix.EPERM},
		{"stack infinity", linux.RLIMIT_STACK, kernel.Limit{Cur: linux.RLimInfinity, Max: linux.RLimInfinity}, false, nil},
		{"negative resource", -1, kernel.Limit{}, true, unix.EINVAL},
		{"resource 16", linux.RLIM_NLIMITS, kernel.Limit{}, true, unix.EINVAL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := kernel.DefaultLimits()
			before, _ := l.Get(tc.resource)
			old, err := l.Set(tc.resource, tc.lim, tc.privileged)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Set = %v, want %v", err, tc.want)
			}
			after, _ := l.Get(tc.resource)
			if err != nil {
				if after != before {
					t.Errorf("failed Set changed the limit: %+v -> %+v", before, after)
				}
				return
			}
			if old != before {
				t.Errorf("Set returned old %+v, want %+v", old, before)
			}
			if after != tc.lim {
				t.Errorf("after Set: %+v, want %+v", after, tc.lim)
			}
		})
	}
	if _, err := kernel.DefaultLimits().Get(linux.RLIM_NLIMITS); err != unix.EINVAL {
		t.Errorf("Get(16) = %v, want EINVAL", err)
	}
}

func TestLimitSetLoweredHardStaysLowered(t *testing.T) {
	l := kernel.DefaultLimits()
	if _, err := l.Set(linux.RLIMIT_CORE, kernel.Limit{Cur: 0, Max: 100}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Set(linux.RLIMIT_CORE, kernel.Limit{Cur: 0, Max: 101}, false); err != unix.EPERM {
		t.Fatalf("raising the lowered hard limit: %v, want EPERM", err)
	}
	if _, err := l.Set(linux.RLIMIT_CORE, kernel.Limit{Cur: 100, Max: 100}, false); err != nil {
		t.Fatalf("soft up to the hard limit: %v", err)
	}
}

func TestLimitSetCopyIsIndependent(t *testing.T) {
	l := kernel.DefaultLimits()
	c := l.Copy()
	if _, err := c.Set(linux.RLIMIT_NOFILE, kernel.Limit{Cur: 10, Max: 10}, false); err != nil {
		t.Fatal(err)
	}
	if l.Cur(linux.RLIMIT_NOFILE) != kernel.DefaultNOFILECur {
		t.Errorf("changing the copy changed the original")
	}
}

func TestLimitSetConcurrent(t *testing.T) {
	l := kernel.DefaultLimits()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 1000 {
				v := uint64(i*1000 + j)
				if _, err := l.Set(linux.RLIMIT_CORE, kernel.Limit{Cur: v, Max: linux.RLimInfinity}, false); err != nil {
					t.Error(err)
					return
				}
				if got, _ := l.Get(linux.RLIMIT_CORE); got.Max != linux.RLimInfinity {
					t.Errorf("torn read %+v", got)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestRlimitSyscalls runs getrlimit, setrlimit and prlimit64 through the
// syscall table and checks that a lowered RLIMIT_NOFILE bounds the fd
// table. The script cannot write guest memory, so it builds the struct
// rlimit {3, 5} on the stack from the fds pipe(2) returns and the zeros of
// RLIMIT_NICE.
func TestRlimitSyscalls(t *testing.T) {
	var buf uint64
	expect := func(name string, want int64, next func(st *platform.State) platform.Event) step {
		return func(t *testing.T, st *platform.State) platform.Event {
			if got := int64(st.Regs.Rax); got != want {
				t.Errorf("%s = %d, want %d", name, got, want)
			}
			return next(st)
		}
	}
	errno := func(e unix.Errno) int64 { return -int64(e) }
	// call issues syscall nr with arguments computed when the step runs
	// (buf is known only once the first step has seen the stack pointer).
	call := func(nr uintptr, args func() []uint64) func(st *platform.State) platform.Event {
		return func(st *platform.State) platform.Event { return syscallStep(nr, args()...)(st) }
	}
	steps := []step{
		func(t *testing.T, st *platform.State) platform.Event {
			buf = st.Regs.Rsp - 4096
			return syscallStep(linux.SYS_PRLIMIT64, 0, linux.RLIMIT_NOFILE, 0, buf)(st)
		},
		expect("prlimit64(0, NOFILE, NULL, buf)", 0, call(linux.SYS_WRITE, func() []uint64 { return []uint64{1, buf, 16} })),
		expect("write", 16, call(linux.SYS_GETRLIMIT, func() []uint64 { return []uint64{linux.RLIMIT_NOFILE, 1} })),
		expect("getrlimit(NOFILE, 1)", errno(unix.EFAULT), call(linux.SYS_GETRLIMIT, func() []uint64 { return []uint64{linux.RLIM_NLIMITS, buf} })),
		expect("getrlimit(16)", errno(unix.EINVAL), call(linux.SYS_SETRLIMIT, func() []uint64 { return []uint64{linux.RLIMIT_NOFILE, 0} })),
		expect("setrlimit(NOFILE, NULL)", errno(unix.EFAULT), call(linux.SYS_PRLIMIT64, func() []uint64 { return []uint64{99999, linux.RLIMIT_NOFILE, 0, buf} })),
		expect("prlimit64(99999)", errno(unix.ESRCH), call(linux.SYS_GETRLIMIT, func() []uint64 { return []uint64{linux.RLIMIT_NICE, buf} })),
		expect("getrlimit(NICE)", 0, call(linux.SYS_PIPE, func() []uint64 { return []uint64{buf} })),
		expect("pipe", 0, call(linux.SYS_GETRLIMIT, func() []uint64 { return []uint64{linux.RLIMIT_NICE, buf + 4} })),
		expect("getrlimit(NICE, buf+4)", 0, call(linux.SYS_PIPE, func() []uint64 { return []uint64{buf + 8} })),
		expect("pipe", 0, call(linux.SYS_GETRLIMIT, func() []uint64 { return []uint64{linux.RLIMIT_NICE, buf + 12} })),
		// buf now holds {3, 5}.
		expect("getrlimit(NICE, buf+12)", 0, call(linux.SYS_SETRLIMIT, func() []uint64 { return []uint64{linux.RLIMIT_NOFILE, buf} })),
		expect("setrlimit(NOFILE, {3, 5})", 0, call(linux.SYS_DUP, func() []uint64 { return []uint64{1} })),
		expect("dup(1) with fds 0-6 open", errno(unix.EMFILE), call(linux.SYS_DUP2, func() []uint64 { return []uint64{1, 3} })),
		expect("dup2(1, 3)", errno(unix.EBADF), call(linux.SYS_PRLIMIT64, func() []uint64 { return []uint64{1, linux.RLIMIT_NOFILE, buf, buf + 16} })),
		expect("prlimit64(1, NOFILE, {3, 5}, buf+16)", 0, call(linux.SYS_WRITE, func() []uint64 { return []uint64{1, buf, 32} })),
		expect("write", 32, call(linux.SYS_EXIT_GROUP, func() []uint64 { return []uint64{0} })),
	}
	status, out, _ := runScript(t, steps)
	if status != (kernel.ExitStatus{}) {
		t.Errorf("status = %v", status)
	}
	want := make([]byte, 48)
	linux.RLimit64{Cur: 1024, Max: 4096}.Encode(want[0:])
	linux.RLimit64{Cur: 3, Max: 5}.Encode(want[16:])
	linux.RLimit64{Cur: 3, Max: 5}.Encode(want[32:])
	if out != string(want) {
		t.Errorf("output % x, want % x", out, want)
	}
}
