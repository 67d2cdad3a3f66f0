package kernel_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"sync"
	"testing"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/pgalloc"
	sys "github.com/palisade-sandbox/palisade/sentry/syscalls/linux"
	"golang.org/x/sys/unix"
)

// The fake platform runs no code: its context replays a script of events,
// each step seeing the state the Sentry left (so it can check the result of
// the previous syscall) and setting up the next stop.

type step func(t *testing.T, st *platform.State) platform.Event

type fakePlatform struct {
	t     *testing.T
	steps []step
	mu    sync.Mutex
	maps  int
	rel   int
}

func (p *fakePlatform) NewAddressSpace() (platform.AddressSpace, error) { return &fakeAS{p: p}, nil }
func (p *fakePlatform) NewContext() (platform.Context, error)           { return &fakeCtx{p: p}, nil }
func (p *fakePlatform) MinUserAddress() uintptr                         { return 0x10000 }
func (p *fakePlatform) MaxUserAddress() uintptr                         { return 0x7fffffffe000 }
func (p *fakePlatform) FPStateSize() int                                { return 512 }
func (p *fakePlatform) InitialFPState() []byte                          { return make([]byte, 512) }
func (p *fakePlatform) Close() error                                    { return nil }

type fakeAS struct{ p *fakePlatform }

func (a *fakeAS) MapFile(addr uintptr, fd int, off int64, n uintptr, at platform.AccessType) error {
	a.p.mu.Lock()
	defer a.p.mu.Unlock()
	a.p.maps++
	return nil
}
func (a *fakeAS) Unmap(uintptr, uintptr) error { return nil }
func (a *fakeAS) Release() {
	a.p.mu.Lock()
	defer a.p.mu.Unlock()
	a.p.rel++
}

type fakeCtx struct {
	p *fakePlatform
	i int
}

func (c *fakeCtx) Switch(as platform.AddressSpace, st *platform.State) (platform.Event, error) {
	if c.i >= len(c.p.steps) {
		c.p.t.Errorf("Switch called after the script ended")
		return platform.Event{}, platform.ErrContextClosed
	}
	s := c.p.steps[c.i]
	c.i++
	return s(c.p.t, st), nil
}
func (c *fakeCtx) PullFPState(platform.AddressSpace, *platform.State) error { return nil }

func (c *fakeCtx) Interrupt() {}
func (c *fakeCtx) Release()   {}

func syscallStep(nr uintptr, args ...uint64) func(st *platform.State) platform.Event {
	return func(st *platform.State) platform.Event {
		st.Regs.Orig_rax = uint64(nr)
		st.Regs.Rax = ^uint64(0)
		regs := []*uint64{&st.Regs.Rdi, &st.Regs.Rsi, &st.Regs.Rdx, &st.Regs.R10, &st.Regs.R8, &st.Regs.R9}
		for i, a := range args {
			*regs[i] = a
		}
		return platform.Event{Kind: platform.EventSyscall}
	}
}

// minimalELF is a static executable with one RX page at 0x400000.
func minimalELF() []byte {
	b := make([]byte, 0x1000)
	copy(b, linux.ELFMagic)
	b[linux.EI_CLASS], b[linux.EI_DATA], b[linux.EI_VERSION] = linux.ELFCLASS64, linux.ELFDATA2LSB, linux.EV_CURRENT
	le := binary.LittleEndian
	le.PutUint16(b[linux.EhdrType:], linux.ET_EXEC)
	le.PutUint16(b[linux.EhdrMachine:], linux.EM_X86_64)
	le.PutUint32(b[linux.EhdrVersion:], linux.EV_CURRENT)
	le.PutUint64(b[linux.EhdrEntry:], 0x400080)
	le.PutUint64(b[linux.EhdrPhoff:], 64)
	le.PutUint16(b[linux.EhdrPhentsize:], linux.ELF64PhdrSize)
	le.PutUint16(b[linux.EhdrPhnum:], 1)
	ph := b[64:]
	le.PutUint32(ph[linux.PhdrType:], linux.PT_LOAD)
	le.PutUint32(ph[linux.PhdrFlags:], linux.PF_R|linux.PF_X)
	le.PutUint64(ph[linux.PhdrVaddr:], 0x400000)
	le.PutUint64(ph[linux.PhdrFilesz:], 0x1000)
	le.PutUint64(ph[linux.PhdrMemsz:], 0x1000)
	le.PutUint64(ph[linux.PhdrAlign:], 0x1000)
	return b
}

func runScript(t *testing.T, steps []step) (kernel.ExitStatus, string, *fakePlatform) {
	t.Helper()
	mf, err := pgalloc.New("kernel-test", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p := &fakePlatform{t: t, steps: steps}
	k, err := kernel.New(kernel.Config{
		Platform: p, MemoryFile: mf, SyscallTable: sys.AMD64,
		Stdio: [3]int{int(w.Fd()), int(w.Fd()), int(w.Fd())},
	})
	if err != nil {
		t.Fatal(err)
	}
	elf := minimalELF()
	tg, err := k.CreateProcess(kernel.CreateProcessArgs{
		File: bytes.NewReader(elf), Size: int64(len(elf)), Filename: "/prog", Argv: []string{"prog"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tg.Start()
	status := tg.Wait()
	w.Close()
	var out bytes.Buffer
	out.ReadFrom(r)
	if mf.Usage() != 0 {
		t.Errorf("memory file usage %d after exit", mf.Usage())
	}
	if p.rel != 1 {
		t.Errorf("address space released %d times", p.rel)
	}
	return status, out.String(), p
}

func TestSyscallDispatchAndExit(t *testing.T) {
	var sp uint64
	steps := []step{
		func(t *testing.T, st *platform.State) platform.Event {
			r := &st.Regs
			if r.Rip != 0x400080 || r.Rsp%16 != 0 || r.Cs != linux.UserCS || r.Ss != linux.UserDS || r.Rdx != 0 || r.Eflags != linux.InitialEflags {
				t.Errorf("initial regs %+v", r)
			}
			sp = r.Rsp
			return syscallStep(linux.SYS_GETPID)(st)
		},
		func(t *testing.T, st *platform.State) platform.Event {
			if st.Regs.Rax != 1 {
				t.Errorf("getpid = %d, want 1", st.Regs.Rax)
			}
			return syscallStep(linux.SYS_GETPPID)(st)
		},
		func(t *testing.T, st *platform.State) platform.Event {
			if st.Regs.Rax != 0 {
				t.Errorf("getppid = %d, want 0", st.Regs.Rax)
			}
			// uname into the stack, below rsp.
			return syscallStep(linux.SYS_UNAME, sp-4096)(st)
		},
		func(t *testing.T, st *platform.State) platform.Event {
			if st.Regs.Rax != 0 {
				t.Errorf("uname = %d", int64(st.Regs.Rax))
			}
			return syscallStep(linux.SYS_WRITE, 1, sp-4096, 5)(st)
		},
		func(t *testing.T, st *platform.State) platform.Event {
			if st.Regs.Rax != 5 {
				t.Errorf("write = %d, want 5", int64(st.Regs.Rax))
			}
			return syscallStep(1000)(st)
		},
		func(t *testing.T, st *platform.State) platform.Event {
			if int64(st.Regs.Rax) != -int64(unix.ENOSYS) {
				t.Errorf("syscall 1000 = %d, want -ENOSYS", int64(st.Regs.Rax))
			}
			return syscallStep(linux.SYS_WRITE, 9, sp, 1)(st)
		},
		func(t *testing.T, st *platform.State) platform.Event {
			if int64(st.Regs.Rax) != -int64(unix.EBADF) {
				t.Errorf("write(9) = %d, want -EBADF", int64(st.Regs.Rax))
			}
			return syscallStep(linux.SYS_WRITE, 1, 0, 1)(st)
		},
		func(t *testing.T, st *platform.State) platform.Event {
			if int64(st.Regs.Rax) != -int64(unix.EFAULT) {
				t.Errorf("write(NULL) = %d, want -EFAULT", int64(st.Regs.Rax))
			}
			// A fault on a valid stack page is handled and retried.
			return platform.Event{Kind: platform.EventFault, Signal: linux.SIGSEGV, FaultAddr: uintptr(sp - 64*1024), Access: platform.ReadWrite}
		},
		func(t *testing.T, st *platform.State) platform.Event {
			return syscallStep(linux.SYS_EXIT_GROUP, 300)(st)
		},
	}
	status, out, p := runScript(t, steps)
	if status != (kernel.ExitStatus{Code: 300 & 0xff}) {
		t.Errorf("status = %v", status)
	}
	if out != "Linux" {
		t.Errorf("output %q, want Linux", out)
	}
	if p.maps == 0 {
		t.Errorf("the fault mapped nothing")
	}
}

func TestSegfaultKills(t *testing.T) {
	steps := []step{
		func(t *testing.T, st *platform.State) platform.Event {
			return platform.Event{Kind: platform.EventFault, Signal: linux.SIGSEGV, FaultAddr: 0, Access: platform.Read}
		},
	}
	status, _, _ := runScript(t, steps)
	if status.Signal != linux.SIGSEGV || status.ShellStatus() != 139 {
		t.Errorf("status = %v (%d), want SIGSEGV (139)", status, status.ShellStatus())
	}
}

func TestUnresolvedFaultIsFatal(t *testing.T) {
	// The same fault at the same instruction keeps coming back even though
	// the memory manager mapped the page: the task must not loop forever.
	var steps []step
	for i := 0; i < 10; i++ {
		steps = append(steps, func(t *testing.T, st *platform.State) platform.Event {
			return platform.Event{Kind: platform.EventFault, Signal: linux.SIGSEGV, FaultAddr: 0x400010, Access: platform.Read}
		})
	}
	status, _, _ := runScript(t, steps)
	if status.Signal != linux.SIGSEGV {
		t.Errorf("status = %v, want SIGSEGV", status)
	}
}

func TestExitLastThread(t *testing.T) {
	steps := []step{func(t *testing.T, st *platform.State) platform.Event { return syscallStep(linux.SYS_EXIT, 7)(st) }}
	status, _, _ := runScript(t, steps)
	if status != (kernel.ExitStatus{Code: 7}) {
		t.Errorf("status = %v, want exit 7", status)
	}
}
