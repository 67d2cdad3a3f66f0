package loader

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
	"github.com/palisade-sandbox/palisade/platform/ptrace"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/mm"
	"github.com/palisade-sandbox/palisade/sentry/pgalloc"
	"golang.org/x/sys/unix"
)

// guestRun is what a dynamically linked program did under ldsoHarness.
type guestRun struct {
	// calls are the system calls made, as "name(arg)" strings.
	calls []string
	// stderr is what it wrote to fd 2.
	stderr   string
	exitCode int
	exited   bool
}

// TestDynamicRunsLdso loads a dynamically linked hello world into a real
// ptrace address space and runs it, serving only what the loader's output
// needs to be checked: faults (demand paging through mm), brk and
// anonymous mmap/munmap/mprotect through mm, and writes to stderr. Every
// file access fails with ENOENT, because the kernel has no openat or
// file-backed mmap yet; so ld.so, having relocated itself and read the
// program's headers through AT_PHDR, looks for libc.so.6 in vain and
// exits with 127 after saying so. That proves the interpreter is entered
// with a stack and auxiliary vector it accepts, and finds the program's
// dynamic section (which names libc.so.6) where AT_PHDR and the load bias
// say. It does not run main: that needs the kernel to open and map libc.
func TestDynamicRunsLdso(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (ptrace of the stubs)")
	}
	bin := buildC(t, "hello", helloC)
	run := runUnderLdsoHarness(t, bin)
	if len(run.calls) < 3 || run.calls[0] != "brk(0)" || run.calls[1] != `access("/etc/ld.so.preload")` || run.calls[2] != `openat("/etc/ld.so.cache")` {
		t.Errorf("first system calls %q, want ld.so's brk(0), access(\"/etc/ld.so.preload\"), openat(\"/etc/ld.so.cache\")", run.calls[:min(len(run.calls), 5)])
	}
	trace := strings.Join(run.calls, "\n")
	t.Logf("system calls:\n%s\nstderr: %s", trace, run.stderr)
	checkNoChildren(t)
	for _, want := range []string{`access("/etc/ld.so.preload")`, `openat("/etc/ld.so.cache")`, `libc.so.6")`} {
		if !strings.Contains(trace, want) {
			t.Errorf("no %s among the system calls:\n%s", want, trace)
		}
	}
	if !run.exited || run.exitCode != 127 || !strings.Contains(run.stderr, "error while loading shared libraries: libc.so.6") {
		t.Errorf("exited %v with %d, stderr %q; want ld.so's 127 for a missing libc.so.6\ncalls:\n%s", run.exited, run.exitCode, run.stderr, trace)
	}
}

// runUnderLdsoHarness runs bin as described for TestDynamicRunsLdso.
func runUnderLdsoHarness(t *testing.T, bin string) guestRun {
	t.Helper()
	mf, err := pgalloc.New("loader-integration", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	p, err := ptrace.New()
	if err != nil {
		t.Fatalf("ptrace.New: %v", err)
	}
	defer func() {
		if err := p.Close(); err != nil {
			t.Errorf("platform Close: %v", err)
		}
	}()
	as, err := p.NewAddressSpace()
	if err != nil {
		t.Fatal(err)
	}
	m := mm.New(mf, as, p.MinUserAddress(), p.MaxUserAddress())
	defer m.DecUsers()
	res, err := Load(LoadArgs{
		Filename: bin, Opener: HostOpener{}, Argv: []string{"hello"}, Envv: []string{"PATH=/bin"},
		MM: m, FPStateSize: p.FPStateSize(), HWCap: arch.HWCap(), HWCap2: arch.HWCap2(), Randomize: true,
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	// The guest runs on a goroutine that keeps its OS thread (the
	// tracer) until it ends, so that the thread is discarded, as the
	// kernel's task goroutines do.
	type result struct {
		run guestRun
		err error
	}
	done := make(chan result)
	go func() {
		runtime.LockOSThread()
		run, err := runGuest(p, m, res)
		done <- result{run, err}
	}()
	r := <-done
	if r.err != nil {
		t.Fatalf("%v; system calls so far %q", r.err, r.run.calls)
	}
	if !r.run.exited {
		t.Errorf("guest did not exit; calls %q", r.run.calls)
	}
	return r.run
}

// runGuest runs the program Load put in m until it exits, serving its
// system calls as TestDynamicRunsLdso describes. It must run on a locked
// OS thread.
func runGuest(p platform.Platform, m *mm.MemoryManager, res *Result) (guestRun, error) {
	var run guestRun
	as := m.AddressSpace()
	ctx, err := p.NewContext()
	if err != nil {
		return run, err
	}
	defer ctx.Release()
	ac := arch.NewContext(p.InitialFPState())
	ac.SetInitialRegs(res.Entry, res.StackPointer)
	str := func(a uintptr) string {
		s, err := m.CopyInString(a, linux.PATH_MAX)
		if err != nil {
			return fmt.Sprintf("%#x", a)
		}
		return fmt.Sprintf("%q", s)
	}
	for events := 0; events < 100000 && !run.exited; events++ {
		ev, err := ctx.Switch(as, &ac.State)
		if err != nil {
			return run, fmt.Errorf("Switch: %w", err)
		}
		switch ev.Kind {
		case platform.EventFault:
			if errno := m.HandleFault(ev.FaultAddr, ev.Access); errno != 0 {
				return run, fmt.Errorf("guest fault at %#x (ip %#x, signal %v): %w", ev.FaultAddr, ac.IP(), ev.Signal, errno)
			}
			continue
		case platform.EventSyscall:
		default:
			continue
		}
		var a arch.SyscallArguments
		ac.SyscallArgs(&a)
		var (
			ret   uintptr
			errno linux.Errno
			call  string
		)
		switch nr := ac.SyscallNo(); nr {
		case unix.SYS_BRK:
			call = fmt.Sprintf("brk(%d)", a[0].Value)
			ret = m.Brk(a[0].Pointer())
		case unix.SYS_MMAP:
			prot, flags, fd := a[2].Int(), a[3].Int(), a[4].Int()
			call = fmt.Sprintf("mmap(%#x, %d, %#x, %#x, %d)", a[0].Value, a[1].Value, prot, flags, fd)
			if flags&unix.MAP_ANONYMOUS == 0 {
				errno = unix.ENODEV
				break
			}
			ret, errno = m.MMap(mm.MMapOpts{
				Length: a[1].Pointer(), Addr: a[0].Pointer(), Fixed: flags&unix.MAP_FIXED != 0,
				Perms:   platform.AccessType{Read: prot&unix.PROT_READ != 0, Write: prot&unix.PROT_WRITE != 0, Execute: prot&unix.PROT_EXEC != 0},
				Private: flags&unix.MAP_PRIVATE != 0,
			})
		case unix.SYS_MUNMAP:
			call = "munmap"
			errno = m.MUnmap(a[0].Pointer(), a[1].Pointer())
		case unix.SYS_MPROTECT:
			call = "mprotect"
			errno = m.MProtect(a[0].Pointer(), a[1].Pointer(), int(a[2].Int()))
		case unix.SYS_ACCESS, unix.SYS_OPEN, unix.SYS_STAT:
			call = fmt.Sprintf("%s(%s)", map[uintptr]string{unix.SYS_ACCESS: "access", unix.SYS_OPEN: "open", unix.SYS_STAT: "stat"}[nr], str(a[0].Pointer()))
			errno = unix.ENOENT
		case unix.SYS_OPENAT, unix.SYS_NEWFSTATAT:
			call = fmt.Sprintf("%s(%s)", map[uintptr]string{unix.SYS_OPENAT: "openat", unix.SYS_NEWFSTATAT: "newfstatat"}[nr], str(a[1].Pointer()))
			errno = unix.ENOENT
		case unix.SYS_WRITE, unix.SYS_WRITEV:
			call = fmt.Sprintf("write(%d)", a[0].Int())
			var chunks [][2]uint64
			if nr == unix.SYS_WRITE {
				chunks = append(chunks, [2]uint64{uint64(a[1].Value), uint64(a[2].Value)})
			} else {
				iovs, err := m.CopyInIovecs(a[1].Pointer(), int(a[2].Int()))
				if err != nil {
					errno = unix.EFAULT
					break
				}
				for _, iov := range iovs {
					chunks = append(chunks, [2]uint64{iov.Base, iov.Len})
				}
			}
			for _, c := range chunks {
				b := make([]byte, min(c[1], 1<<16))
				n, _ := m.CopyIn(uintptr(c[0]), b)
				if a[0].Int() == 2 {
					run.stderr += string(b[:n])
				}
				ret += uintptr(n)
			}
		case unix.SYS_EXIT_GROUP, unix.SYS_EXIT:
			call = fmt.Sprintf("exit_group(%d)", a[0].Int())
			run.exited, run.exitCode = true, int(a[0].Int())
		default:
			call = fmt.Sprintf("syscall_%d", nr)
			errno = unix.ENOSYS
		}
		run.calls = append(run.calls, call)
		if errno != 0 {
			ac.SetReturn(-uintptr(errno))
		} else {
			ac.SetReturn(ret)
		}
	}
	return run, nil
}

// checkNoChildren fails if a process parented to or traced by this one is
// left (a stub the platform failed to end).
func checkNoChildren(t *testing.T) {
	t.Helper()
	me := strconv.Itoa(os.Getpid())
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		fields := map[string]string{}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			fields[k] = strings.TrimSpace(v)
		}
		if (fields["PPid"] == me || fields["TracerPid"] == me) && fields["Name"] != "gcc" {
			t.Errorf("process %s (%s) left behind", e.Name(), fields["Name"])
		}
	}
}
