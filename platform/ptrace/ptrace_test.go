package ptrace

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
)

func TestNewClose(t *testing.T) {
	p := newTestPlatform(t)
	if p.FPStateSize() < 576 {
		t.Errorf("FPStateSize = %d", p.FPStateSize())
	}
	if got := len(p.InitialFPState()); got != p.FPStateSize() {
		t.Errorf("InitialFPState has %d bytes, want %d", got, p.FPStateSize())
	}
	if p.MaxUserAddress() != stubBase || p.MinUserAddress() >= p.MaxUserAddress() {
		t.Errorf("user range [%#x, %#x)", p.MinUserAddress(), p.MaxUserAddress())
	}
}

func TestSyscallArgsAndResult(t *testing.T) {
	p := newTestPlatform(t)
	mf := newMemFile(t, 2*pageSize)
	code := cat(insSyscall, insMovRDIRAX, movEAX(99), insSyscall, insJmpSelf)
	as := newAS(t, p, mf, code, true)
	c, done := lockedContext(t, p)
	defer done()

	st := newState(p, codeAddr)
	st.Regs.Rax = 1234
	st.Regs.Rdi, st.Regs.Rsi, st.Regs.Rdx, st.Regs.R10, st.Regs.R8, st.Regs.R9 = 1, 2, 3, 4, 5, 6
	ev, err := c.Switch(as, st)
	if err != nil {
		t.Fatalf("Switch: %v", err)
	}
	if ev.Kind != platform.EventSyscall {
		t.Fatalf("event %v, want syscall", ev.Kind)
	}
	r := st.Regs
	if r.Orig_rax != 1234 || r.Rdi != 1 || r.Rsi != 2 || r.Rdx != 3 || r.R10 != 4 || r.R8 != 5 || r.R9 != 6 {
		t.Errorf("syscall %d (%d, %d, %d, %d, %d, %d), want 1234 (1, 2, 3, 4, 5, 6)", r.Orig_rax, r.Rdi, r.Rsi, r.Rdx, r.R10, r.R8, r.R9)
	}
	if r.Rip != codeAddr+2 {
		t.Errorf("rip %#x, want %#x", r.Rip, codeAddr+2)
	}
	// The result reaches the guest, which passes it to the next syscall.
	st.Regs.Rax = 0xabcdef
	if ev, err = c.Switch(as, st); err != nil || ev.Kind != platform.EventSyscall {
		t.Fatalf("second Switch: %v %v", ev.Kind, err)
	}
	if st.Regs.Orig_rax != 99 || st.Regs.Rdi != 0xabcdef {
		t.Errorf("second syscall %d(%#x), want 99(0xabcdef)", st.Regs.Orig_rax, st.Regs.Rdi)
	}
}

func TestMemorySharedBothWays(t *testing.T) {
	p := newTestPlatform(t)
	mf := newMemFile(t, 2*pageSize)
	code := cat(movabsRAX(dataAddr), insLoadECX, insStoreECX8, insMovRDIRCX, movEAX(1), insSyscall, insJmpSelf)
	as := newAS(t, p, mf, code, true)
	c, done := lockedContext(t, p)
	defer done()

	data := mf.mem[pageSize:]
	binary.LittleEndian.PutUint32(data, 0x11223344)
	st := newState(p, codeAddr)
	ev, err := c.Switch(as, st)
	if err != nil || ev.Kind != platform.EventSyscall {
		t.Fatalf("Switch: %v %v", ev.Kind, err)
	}
	if st.Regs.Rdi != 0x11223344 {
		t.Errorf("guest read %#x, want 0x11223344", st.Regs.Rdi)
	}
	if got := binary.LittleEndian.Uint32(data[8:]); got != 0x11223344 {
		t.Errorf("Sentry sees %#x at data+8, want 0x11223344", got)
	}
}

func TestFaults(t *testing.T) {
	p := newTestPlatform(t)
	for _, tc := range []struct {
		name     string
		code     []byte
		readOnly bool
		sig      linux.Signal
		addr     uint64 // 0: the faulting instruction
		access   platform.AccessType
	}{
		{name: "unmapped write", code: cat(movabsRAX(0x600000), insStoreECX), sig: linux.SIGSEGV, addr: 0x600000, access: platform.Read},
		{name: "read-only write", code: cat(movabsRAX(dataAddr+16), insStoreECX), readOnly: true, sig: linux.SIGSEGV, addr: dataAddr + 16, access: platform.AccessType{Write: true}},
		{name: "exec unmapped", code: cat(movabsRAX(0x700000), []byte{0xff, 0xe0}), sig: linux.SIGSEGV, addr: 0x700000, access: platform.AccessType{Execute: true}},
		{name: "ud2", code: insUD2, sig: linux.SIGILL},
		{name: "int3", code: insInt3, sig: linux.SIGTRAP},
		{name: "divide by zero", code: insDivZero, sig: linux.SIGFPE, addr: codeAddr + 9},
		{name: "int 0x80", code: insInt80, sig: linux.SIGSEGV},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mf := newMemFile(t, 2*pageSize)
			as := newAS(t, p, mf, tc.code, !tc.readOnly)
			if tc.readOnly {
				if err := as.MapFile(dataAddr, mf.fd, pageSize, pageSize, platform.Read); err != nil {
					t.Fatalf("MapFile: %v", err)
				}
			}
			c, done := lockedContext(t, p)
			defer done()
			st := newState(p, codeAddr)
			ev, err := c.Switch(as, st)
			if err != nil {
				t.Fatalf("Switch: %v", err)
			}
			if ev.Kind != platform.EventFault || ev.Signal != tc.sig {
				t.Fatalf("event %v %v, want fault %v", ev.Kind, ev.Signal, tc.sig)
			}
			switch tc.name {
			case "int3":
				// Rip is after the trap; si_addr is not meaningful.
				if st.Regs.Rip != codeAddr+1 {
					t.Errorf("rip %#x after int3, want %#x", st.Regs.Rip, codeAddr+1)
				}
				return
			case "int 0x80":
				if st.Regs.Rip != codeAddr || ev.Info.Code != linux.SI_KERNEL {
					t.Errorf("int 0x80: rip %#x code %d, want %#x, SI_KERNEL", st.Regs.Rip, ev.Info.Code, codeAddr)
				}
				return
			}
			want := tc.addr
			if want == 0 {
				want = codeAddr
			}
			if uint64(ev.FaultAddr) != want || ev.Info.Addr() != want {
				t.Errorf("fault address %#x (si_addr %#x), want %#x", ev.FaultAddr, ev.Info.Addr(), want)
			}
			if ev.Info.Code <= 0 {
				t.Errorf("si_code %d, want a kernel code", ev.Info.Code)
			}
			if tc.access != (platform.AccessType{}) && ev.Access != tc.access {
				t.Errorf("access %+v, want %+v", ev.Access, tc.access)
			}
		})
	}
}

// xmmOffset is the offset of XMM register n in the XSAVE legacy area.
func xmmOffset(n int) int { return 160 + 16*n }

func TestFPRoundTrip(t *testing.T) {
	p := newTestPlatform(t)
	mf := newMemFile(t, 2*pageSize)
	code := cat(insMovqRDIX0, insSyscall, movabsRDI(0x8877665544332211), insMovqX1RDI, insSyscall,
		insMovqRDIX0, insSyscall, insMovqRDIX0, insSyscall, insJmpSelf)
	as := newAS(t, p, mf, code, true)
	c, done := lockedContext(t, p)
	defer done()

	st := newState(p, codeAddr)
	binary.LittleEndian.PutUint64(st.FP[xmmOffset(0):], 0x1122334455667788)
	ev, err := c.Switch(as, st)
	if err != nil || ev.Kind != platform.EventSyscall {
		t.Fatalf("Switch: %v %v", ev.Kind, err)
	}
	if st.Regs.Rdi != 0x1122334455667788 {
		t.Errorf("guest read xmm0 = %#x, want 0x1122334455667788", st.Regs.Rdi)
	}
	if ev, err = c.Switch(as, st); err != nil || ev.Kind != platform.EventSyscall {
		t.Fatalf("second Switch: %v %v", ev.Kind, err)
	}
	// Switch leaves the FP state in the stub thread: st.FP still holds
	// what the Sentry loaded until it pulls.
	if got := binary.LittleEndian.Uint64(st.FP[xmmOffset(1):]); got != 0 {
		t.Errorf("st.FP changed without PullFPState: xmm1 = %#x", got)
	}
	if err := c.PullFPState(as, st); err != nil {
		t.Fatalf("PullFPState: %v", err)
	}
	if got := binary.LittleEndian.Uint64(st.FP[xmmOffset(1):]); got != 0x8877665544332211 {
		t.Errorf("xmm1 read back as %#x, want 0x8877665544332211", got)
	}
	if got := binary.LittleEndian.Uint64(st.FP[xmmOffset(0):]); got != 0x1122334455667788 {
		t.Errorf("xmm0 read back as %#x", got)
	}
	// The Sentry changes the FP state between two switches: the guest
	// sees the change; then an unchanged state (no PTRACE_SETREGSET) keeps it.
	binary.LittleEndian.PutUint64(st.FP[xmmOffset(0):], 0xdeadbeefcafe)
	for i := 0; i < 2; i++ {
		if ev, err = c.Switch(as, st); err != nil || ev.Kind != platform.EventSyscall {
			t.Fatalf("Switch: %v %v", ev.Kind, err)
		}
		if st.Regs.Rdi != 0xdeadbeefcafe {
			t.Errorf("#%d: guest read xmm0 = %#x, want 0xdeadbeefcafe", i, st.Regs.Rdi)
		}
	}
}

func TestAddressSpacesIsolated(t *testing.T) {
	p := newTestPlatform(t)
	code := cat(movabsRAX(dataAddr), insLoadECX, insMovRDIRCX, insSyscall, insJmpSelf)
	mf1 := newMemFile(t, 2*pageSize)
	mf2 := newMemFile(t, 2*pageSize)
	binary.LittleEndian.PutUint32(mf1.mem[pageSize:], 111)
	binary.LittleEndian.PutUint32(mf2.mem[pageSize:], 222)
	as1 := newAS(t, p, mf1, code, true)
	as2 := newAS(t, p, mf2, code, true)
	c, done := lockedContext(t, p)
	defer done()
	for i, tc := range []struct {
		as   platform.AddressSpace
		want uint64
	}{{as1, 111}, {as2, 222}, {as1, 111}} {
		st := newState(p, codeAddr)
		ev, err := c.Switch(tc.as, st)
		if err != nil || ev.Kind != platform.EventSyscall {
			t.Fatalf("#%d Switch: %v %v", i, ev.Kind, err)
		}
		if st.Regs.Rdi != tc.want {
			t.Errorf("#%d: guest read %d, want %d", i, st.Regs.Rdi, tc.want)
		}
	}
	// Unmapping in one space leaves the other alone.
	if err := as1.Unmap(dataAddr, pageSize); err != nil {
		t.Fatalf("Unmap: %v", err)
	}
	st := newState(p, codeAddr)
	if ev, err := c.Switch(as1, st); err != nil || ev.Kind != platform.EventFault || ev.FaultAddr != dataAddr {
		t.Errorf("after Unmap: %v %v addr %#x, want fault at %#x", ev.Kind, err, ev.FaultAddr, dataAddr)
	}
	st = newState(p, codeAddr)
	if ev, err := c.Switch(as2, st); err != nil || ev.Kind != platform.EventSyscall || st.Regs.Rdi != 222 {
		t.Errorf("other space after Unmap: %v %v rdi %d", ev.Kind, err, st.Regs.Rdi)
	}
}

func TestManyThreads(t *testing.T) {
	p := newTestPlatform(t)
	mf := newMemFile(t, 2*pageSize)
	// loop: mov rdi, rax; syscall; jmp loop
	code := cat(insMovRDIRAX, insSyscall, []byte{0xeb, 0xf9})
	as := newAS(t, p, mf, code, true)
	const threads, rounds = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, threads)
	for i := 0; i < threads; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, done := lockedContext(t, p)
			defer done()
			st := newState(p, codeAddr)
			for r := 0; r < rounds; r++ {
				want := uint64(i*1000 + r)
				st.Regs.Rax = want
				ev, err := c.Switch(as, st)
				if err != nil || ev.Kind != platform.EventSyscall {
					errs <- fmt.Errorf("thread %d round %d: %v %v", i, r, ev.Kind, err)
					return
				}
				if r > 0 && st.Regs.Rdi != want {
					errs <- fmt.Errorf("thread %d round %d: rdi %d, want %d", i, r, st.Regs.Rdi, want)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestInterrupt(t *testing.T) {
	p := newTestPlatform(t)
	mf := newMemFile(t, 2*pageSize)
	as := newAS(t, p, mf, cat(insJmpSelf), true)
	c, done := lockedContext(t, p)
	defer done()

	// An interrupt before Switch makes it return at once.
	c.Interrupt()
	st := newState(p, codeAddr)
	if ev, err := c.Switch(as, st); err != nil || ev.Kind != platform.EventInterrupted {
		t.Fatalf("Switch after Interrupt: %v %v", ev.Kind, err)
	}
	// An interrupt while the guest spins.
	for i := 0; i < 3; i++ {
		stop := make(chan struct{})
		go func() {
			time.Sleep(20 * time.Millisecond)
			c.Interrupt()
			close(stop)
		}()
		ev, err := c.Switch(as, st)
		<-stop
		if err != nil || ev.Kind != platform.EventInterrupted {
			t.Fatalf("#%d: Switch: %v %v", i, ev.Kind, err)
		}
		if st.Regs.Rip != codeAddr {
			t.Errorf("#%d: rip %#x, want %#x", i, st.Regs.Rip, codeAddr)
		}
	}
}

func TestExternalSignalNotDelivered(t *testing.T) {
	p := newTestPlatform(t)
	mf := newMemFile(t, 2*pageSize)
	as := newAS(t, p, mf, cat(insSyscall, insJmpSelf), true)
	c, done := lockedContext(t, p)
	defer done()
	st := newState(p, codeAddr)
	if ev, err := c.Switch(as, st); err != nil || ev.Kind != platform.EventSyscall {
		t.Fatalf("Switch: %v %v", ev.Kind, err)
	}
	tgid := as.(*addressSpace).leader.tgid
	// Another host process signals the stub process.
	for _, sig := range []string{"USR1", "USR2"} {
		if out, err := exec.Command("kill", "-s", sig, strconv.Itoa(tgid)).CombinedOutput(); err != nil {
			t.Fatalf("kill -s %s: %v %s", sig, err, out)
		}
	}
	for i := 0; ; i++ {
		stop := make(chan struct{})
		go func() {
			time.Sleep(20 * time.Millisecond)
			c.Interrupt()
			close(stop)
		}()
		ev, err := c.Switch(as, st)
		<-stop
		if err != nil || ev.Kind != platform.EventInterrupted {
			t.Fatalf("Switch: %v %v (the signal reached the guest?)", ev.Kind, err)
		}
		if st.Regs.Rip != codeAddr+2 {
			t.Fatalf("rip %#x, want %#x", st.Regs.Rip, codeAddr+2)
		}
		if st, err := readProcStatus(tgid); err != nil || st == "" {
			t.Fatalf("stub process gone: %v", err)
		}
		if c.(*context).suppressed > 0 || i == 20 {
			break
		}
	}
	if c.(*context).suppressed == 0 {
		t.Errorf("the external SIGUSR2 never reached the platform")
	}
}

func readProcStatus(pid int) (string, error) {
	m := readStatus("/proc/" + strconv.Itoa(pid) + "/status")
	if m == nil {
		return "", errors.New("no such process")
	}
	return m["State"], nil
}

func TestMapFileRanges(t *testing.T) {
	p := newTestPlatform(t)
	mf := newMemFile(t, 2*pageSize)
	as := newAS(t, p, mf, insJmpSelf, false)
	for _, r := range []struct{ addr, length uintptr }{
		{0, pageSize},
		{minUserAddress - pageSize, pageSize},
		{maxUserAddress, pageSize},
		{maxUserAddress - pageSize, 2 * pageSize},
		{dataAddr + 1, pageSize},
		{dataAddr, 100},
		{dataAddr, 0},
		{^uintptr(0) &^ (pageSize - 1), 2 * pageSize},
	} {
		if err := as.MapFile(r.addr, mf.fd, 0, r.length, platform.ReadWrite); !errors.Is(err, unix.EINVAL) {
			t.Errorf("MapFile(%#x, %#x) = %v, want EINVAL", r.addr, r.length, err)
		}
		if err := as.Unmap(r.addr, r.length); !errors.Is(err, unix.EINVAL) {
			t.Errorf("Unmap(%#x, %#x) = %v, want EINVAL", r.addr, r.length, err)
		}
	}
	if err := as.MapFile(dataAddr, -1, 0, pageSize, platform.ReadWrite); err == nil {
		t.Errorf("MapFile with fd -1 succeeded")
	}
	if err := as.MapFile(dataAddr, mf.fd, 1, pageSize, platform.ReadWrite); err == nil {
		t.Errorf("MapFile with unaligned offset succeeded")
	}
	// The highest page works.
	if err := as.MapFile(maxUserAddress-pageSize, mf.fd, 0, pageSize, platform.Read); err != nil {
		t.Errorf("MapFile of the last user page: %v", err)
	}
}

// TestStubFilterKillsForbiddenSyscall injects a syscall the stub filter
// does not allow into a stub process: the kernel kills it with SIGSYS.
func TestStubFilterKillsForbiddenSyscall(t *testing.T) {
	p := newTestPlatform(t)
	pas, err := p.NewAddressSpace()
	if err != nil {
		t.Fatalf("NewAddressSpace: %v", err)
	}
	as := pas.(*addressSpace)
	defer as.Release()
	// An allowed one first.
	var injErr error
	p.do(func() {
		_, injErr = as.leader.syscall(stubBase+stubSyscall, stubBase+stubSyscallTrap, unix.SYS_MUNMAP, dataAddr, pageSize)
	})
	if injErr != nil {
		t.Fatalf("injected munmap: %v", injErr)
	}
	p.do(func() {
		_, injErr = as.leader.syscall(stubBase+stubSyscall, stubBase+stubSyscallTrap, unix.SYS_GETPID)
	})
	var died *errStubDied
	if !errors.As(injErr, &died) {
		t.Fatalf("injected getpid: %v, want the stub killed", injErr)
	}
	if !died.status.Signaled() || died.status.Signal() != unix.SIGSYS {
		t.Errorf("stub ended with %v, want killed by SIGSYS", died)
	}
	// A Switch into the dead space fails cleanly.
	c, done := lockedContext(t, p)
	defer done()
	if _, err := c.Switch(as, newState(p, codeAddr)); err == nil {
		t.Errorf("Switch into a dead stub succeeded")
	}
}

func TestStubKilledFromOutside(t *testing.T) {
	p := newTestPlatform(t)
	mf := newMemFile(t, 2*pageSize)
	as := newAS(t, p, mf, cat(insSyscall, insJmpSelf), true)
	c, done := lockedContext(t, p)
	defer done()
	st := newState(p, codeAddr)
	if ev, err := c.Switch(as, st); err != nil || ev.Kind != platform.EventSyscall {
		t.Fatalf("Switch: %v %v", ev.Kind, err)
	}
	unix.Kill(as.(*addressSpace).leader.tgid, unix.SIGKILL)
	if _, err := c.Switch(as, st); err == nil {
		t.Fatalf("Switch into a killed stub succeeded")
	}
}

func TestReleaseAndReuse(t *testing.T) {
	p := newTestPlatform(t)
	mf := newMemFile(t, 2*pageSize)
	code := cat(insSyscall, insJmpSelf)
	c, done := lockedContext(t, p)
	defer done()
	// A context outlives several address spaces (execve).
	for i := 0; i < 5; i++ {
		as := newAS(t, p, mf, code, true)
		st := newState(p, codeAddr)
		if ev, err := c.Switch(as, st); err != nil || ev.Kind != platform.EventSyscall {
			t.Fatalf("#%d Switch: %v %v", i, ev.Kind, err)
		}
		// MapFile from the context's own thread uses its stub thread.
		if err := as.MapFile(dataAddr+pageSize, mf.fd, 0, pageSize, platform.Read); err != nil {
			t.Fatalf("#%d MapFile: %v", i, err)
		}
		as.Release()
		if _, err := c.Switch(as, st); err == nil {
			t.Fatalf("#%d Switch into a released space succeeded", i)
		}
	}
	c.Release()
	if _, err := c.Switch(newAS(t, p, mf, code, false), newState(p, codeAddr)); !errors.Is(err, platform.ErrContextClosed) {
		t.Errorf("Switch after Release: %v, want ErrContextClosed", err)
	}
}

// TestInterruptNeverLost interrupts a guest that makes syscalls as fast as
// it can, from another goroutine, many times: every interrupt must end in
// an EventInterrupted.
func TestInterruptNeverLost(t *testing.T) {
	p := newTestPlatform(t)
	mf := newMemFile(t, 2*pageSize)
	as := newAS(t, p, mf, loopCode, true)
	c, done := lockedContext(t, p)
	defer done()
	st := newState(p, codeAddr)
	const rounds = 200
	ack := make(chan struct{})
	go func() {
		for i := 0; i < rounds; i++ {
			// Vary the moment: before, during or between Switches.
			for j := 0; j < i%7*20; j++ {
				runtime.Gosched()
			}
			c.Interrupt()
			<-ack
		}
	}()
	for i := 0; i < rounds; i++ {
		for n := 0; ; n++ {
			ev, err := c.Switch(as, st)
			if err != nil {
				t.Fatalf("#%d: Switch: %v", i, err)
			}
			if ev.Kind == platform.EventInterrupted {
				break
			}
			if ev.Kind != platform.EventSyscall {
				t.Fatalf("#%d: event %v", i, ev.Kind)
			}
			if n == 1_000_000 {
				t.Fatalf("#%d: interrupt lost", i)
			}
		}
		ack <- struct{}{}
	}
}

// TestTracerExitKillsStub ends the OS thread that traces a stub thread
// without releasing its context: PTRACE_O_EXITKILL kills the stub process.
func TestTracerExitKillsStub(t *testing.T) {
	p := newTestPlatform(t)
	mf := newMemFile(t, 2*pageSize)
	as := newAS(t, p, mf, cat(insSyscall, insJmpSelf), true)
	tidc := make(chan int)
	go func() {
		// Never unlocked: the OS thread exits with the goroutine.
		runtime.LockOSThread()
		c, err := p.NewContext()
		if err == nil {
			_, err = c.Switch(as, newState(p, codeAddr))
		}
		if err != nil {
			t.Errorf("Switch: %v", err)
			tidc <- 0
			return
		}
		tidc <- c.(*context).threads[as.(*addressSpace)].tid
	}()
	tid := <-tidc
	if tid == 0 {
		return
	}
	tgid := as.(*addressSpace).leader.tgid
	// The stub thread is killed and gone; the leader, traced by the
	// creator, is held at its exit stop until Release.
	path := fmt.Sprintf("/proc/%d/task/%d/status", tgid, tid)
	for i := 0; readStatus(path) != nil; i++ {
		if i == 1000 {
			t.Fatalf("stub thread %d still alive after its tracer thread exited", tid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := 0; ; i++ {
		state, err := readProcStatus(tgid)
		if err != nil || strings.HasPrefix(state, "t") || strings.HasPrefix(state, "Z") {
			break
		}
		if i == 1000 {
			t.Fatalf("stub leader in state %s, want exiting", state)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A new context cannot use the dead space, and says so.
	c, done := lockedContext(t, p)
	defer done()
	if _, err := c.Switch(as, newState(p, codeAddr)); err == nil {
		t.Errorf("Switch into a killed stub process succeeded")
	}
}
