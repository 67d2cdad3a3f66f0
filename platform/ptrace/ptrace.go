package ptrace

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
	"github.com/palisade-sandbox/palisade/seccomp"
)

// interruptSignal is the signal Context.Interrupt sends to a running stub
// thread. It is the only signal left unblocked in stub threads (synchronous
// faults are always delivered).
const interruptSignal = unix.SIGUSR2

// maxXstateSize bounds the probe for the XSAVE area size.
const maxXstateSize = 64 << 10

// Platform is the ptrace platform. It implements platform.Platform.
type Platform struct {
	// pid is the Sentry's pid: signals from it are trusted.
	pid int

	// fpSize is the size of the NT_X86_XSTATE regset.
	fpSize int
	// initFP is the default FP state.
	initFP []byte

	// reqs carries work to the creator goroutine, which is locked to the
	// OS thread that traces the master stub and every stub process leader.
	reqs chan func()
	// exited is closed when the creator goroutine ends.
	exited chan struct{}

	// master is the master stub; only the creator touches it.
	master *thread

	// releaseGen counts address-space releases, so that a Context notices
	// with one atomic load that it may hold threads to reap.
	releaseGen atomic.Uint64

	// mu guards closed and spaces.
	mu     sync.Mutex
	closed bool
	spaces map[*addressSpace]struct{}
}

var _ platform.Platform = (*Platform)(nil)

// New starts the master stub and returns the platform.
func New() (*Platform, error) {
	p := &Platform{
		pid:    unix.Getpid(),
		reqs:   make(chan func()),
		exited: make(chan struct{}),
		spaces: make(map[*addressSpace]struct{}),
	}
	if err := suppressStopSIGCHLD(); err != nil {
		return nil, fmt.Errorf("ptrace platform: SIGCHLD: %w", err)
	}
	filter, err := seccomp.StubFilter().BPF()
	if err != nil {
		return nil, fmt.Errorf("ptrace platform: %w", err)
	}
	prog, err := seccomp.NewProgram(filter)
	if err != nil {
		return nil, fmt.Errorf("ptrace platform: %w", err)
	}
	ready := make(chan error, 1)
	go p.creator(prog, ready)
	if err := <-ready; err != nil {
		<-p.exited
		return nil, fmt.Errorf("ptrace platform: %w", err)
	}
	return p, nil
}

// creator is the goroutine that owns the master stub and the leaders of
// all stub processes. It never unlocks its OS thread: when it returns the
// thread exits, and PTRACE_O_EXITKILL takes its tracees with it.
func (p *Platform) creator(prog *seccomp.Program, ready chan<- error) {
	runtime.LockOSThread()
	defer close(p.exited)
	if err := p.startMaster(prog); err != nil {
		ready <- err
		return
	}
	ready <- nil
	for f := range p.reqs {
		f()
	}
	// Close: kill and reap the master.
	unix.Kill(p.master.tgid, unix.SIGKILL)
	p.master.reap()
}

// do runs f on the creator thread and waits for it.
func (p *Platform) do(f func()) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errors.New("ptrace platform: closed")
	}
	done := make(chan struct{})
	p.reqs <- func() { f(); close(done) }
	p.mu.Unlock()
	<-done
	return nil
}

// startMaster creates the master stub on the creator thread.
func (p *Platform) startMaster(prog *seccomp.Program) error {
	codeFD, err := stubCodeFile()
	if err != nil {
		return err
	}
	defer unix.Close(codeFD)
	a := &masterArgs{
		ppid:    uintptr(p.pid),
		codeFD:  uintptr(codeFD),
		prog:    prog,
		allSigs: ^uint64(0),
		ignChld: [4]uint64{1 /* SIG_IGN */, 0, 0, 0},
	}
	pid, errno := cloneMaster(a)
	runtime.KeepAlive(a)
	runtime.KeepAlive(prog)
	if errno != 0 {
		return fmt.Errorf("cloning master stub: %w", errno)
	}
	m := &thread{tgid: pid, tid: pid}
	fail := func(err error) error {
		unix.Kill(pid, unix.SIGKILL)
		m.reap()
		return err
	}
	// First stop: the SIGSTOP the child sends itself once the stub code
	// is mapped.
	status, err := wait4(pid)
	if err != nil {
		unix.Kill(pid, unix.SIGKILL)
		return fmt.Errorf("waiting for master stub: %w", err)
	}
	if status.Exited() {
		return fmt.Errorf("master stub exited: %s", masterExitReason(status.ExitStatus()))
	}
	if !status.Stopped() || status.StopSignal() != unix.SIGSTOP {
		return fail(fmt.Errorf("master stub: unexpected first stop %#x", uint32(status)))
	}
	// TRACEFORK: stubs forked from the master are traced from birth.
	// TRACEEXIT (inherited by them): a killed stub process leader stops
	// before it becomes a zombie, so the creator can let it go instead of
	// waiting for threads that other tracers hold.
	opts := unix.PTRACE_O_EXITKILL | unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEEXIT
	if err := ptrace(unix.PTRACE_SETOPTIONS, pid, 0, uintptr(opts)); err != nil {
		return fail(fmt.Errorf("master stub: PTRACE_SETOPTIONS: %w", err))
	}
	if err := unregisterRseq(m); err != nil {
		return fail(fmt.Errorf("master stub: %w", err))
	}
	// Second stop: the int3 of the stub entry, after the filter is
	// installed and the copy of the Sentry's memory is unmapped.
	if err := ptrace(unix.PTRACE_CONT, pid, 0, 0); err != nil {
		return fail(fmt.Errorf("master stub: PTRACE_CONT: %w", err))
	}
	status, err = wait4(pid)
	if err != nil {
		return fail(fmt.Errorf("waiting for master stub: %w", err))
	}
	if status.Exited() {
		return fmt.Errorf("master stub exited: %s", masterExitReason(status.ExitStatus()))
	}
	if status.Signaled() || !status.Stopped() || status.StopSignal() != unix.SIGTRAP {
		var r linux.PtraceRegs
		getRegs(pid, &r)
		return fail(fmt.Errorf("master stub: unexpected stop %#x at %#x", uint32(status), r.Rip))
	}
	if err := getRegs(pid, &m.template); err != nil {
		return fail(fmt.Errorf("master stub: PTRACE_GETREGS: %w", err))
	}
	if m.template.Rip != stubBase+stubEntry+20 {
		return fail(fmt.Errorf("master stub stopped at %#x, not in the stub entry", m.template.Rip))
	}
	if r := m.template.Rax; r != 0 {
		return fail(fmt.Errorf("master stub: unmapping the Sentry's memory: %w", syscallErr(uintptr(r))))
	}
	// Size the XSAVE area by asking for more than any CPU has.
	buf := make([]byte, maxXstateSize)
	n, err := getRegSet(pid, linux.NT_X86_XSTATE, buf)
	if err != nil {
		return fail(fmt.Errorf("master stub: reading XSTATE: %w", err))
	}
	if n < 576 {
		return fail(fmt.Errorf("master stub: XSTATE of %d bytes is too small", n))
	}
	p.fpSize = n
	p.initFP = initialFPState(buf[:n])
	// Check that the kernel accepts the default state.
	if err := setRegSet(pid, linux.NT_X86_XSTATE, p.initFP); err != nil {
		return fail(fmt.Errorf("master stub: setting the default XSTATE: %w", err))
	}
	p.master = m
	return nil
}

// unregisterRseq unregisters the restartable sequence (rseq(2)) area that
// the stopped master inherited from the cloning thread, if any: the C
// library registers one per thread, and once its memory is unmapped the
// kernel would kill the stub with SIGSEGV on its next preemption. The
// master is stopped in its Go code with the stub page mapped; its
// registers are restored afterwards.
func unregisterRseq(m *thread) error {
	var cfg ptraceRseqConfiguration
	if err := getRseqConfiguration(m.tid, &cfg); err != nil {
		return fmt.Errorf("PTRACE_GET_RSEQ_CONFIGURATION: %w", err)
	}
	if cfg.Pointer == 0 {
		return nil
	}
	var saved linux.PtraceRegs
	if err := getRegs(m.tid, &saved); err != nil {
		return fmt.Errorf("PTRACE_GETREGS: %w", err)
	}
	m.template = saved
	ret, err := m.syscall(stubBase+stubSyscall, stubBase+stubSyscallTrap, unix.SYS_RSEQ,
		uintptr(cfg.Pointer), uintptr(cfg.Size), linuxRseqFlagUnregister, uintptr(cfg.Signature))
	if err != nil {
		return fmt.Errorf("unregistering rseq: %w", err)
	}
	if err := syscallErr(ret); err != nil {
		return fmt.Errorf("unregistering rseq: %w", err)
	}
	if err := setRegs(m.tid, &saved); err != nil {
		return fmt.Errorf("PTRACE_SETREGS: %w", err)
	}
	return nil
}

// linuxRseqFlagUnregister is RSEQ_FLAG_UNREGISTER.
const linuxRseqFlagUnregister = 1

// Offsets in the XSAVE area (legacy FXSAVE region and XSAVE header).
const (
	xsaveFCW       = 0
	xsaveMXCSR     = 24
	xsaveMXCSRMask = 28
	xsaveXstateBV  = 512
	xsaveXcompBV   = 520
	xsaveHdrEnd    = 576
)

// initialFPState builds the FP state of a new process: x87 control word
// 0x37f, MXCSR 0x1f80, every register zero, x87 and SSE marked present,
// everything else in its init state. probe supplies the MXCSR mask.
func initialFPState(probe []byte) []byte {
	fp := make([]byte, len(probe))
	fp[xsaveFCW] = 0x7f
	fp[xsaveFCW+1] = 0x03
	putU32(fp[xsaveMXCSR:], 0x1f80)
	copy(fp[xsaveMXCSRMask:xsaveMXCSRMask+4], probe[xsaveMXCSRMask:])
	fp[xsaveXstateBV] = 0x3
	_ = fp[xsaveXcompBV]
	return fp
}

func putU32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// NewAddressSpace implements platform.Platform.NewAddressSpace: it forks a
// stub process from the master. The child is traced from birth by the
// creator thread (PTRACE_O_TRACEFORK) and holds only the stub page.
func (p *Platform) NewAddressSpace() (platform.AddressSpace, error) {
	var leader *thread
	var err error
	if derr := p.do(func() { leader, err = p.forkStub() }); derr != nil {
		return nil, derr
	}
	if err != nil {
		return nil, fmt.Errorf("new address space: %w", err)
	}
	as := &addressSpace{p: p, leader: leader, byTracer: make(map[int]*thread)}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		as.Release()
		return nil, errors.New("ptrace platform: closed")
	}
	p.spaces[as] = struct{}{}
	p.mu.Unlock()
	return as, nil
}

// forkStub runs on the creator thread.
func (p *Platform) forkStub() (*thread, error) {
	pid, err := p.master.clone(seccomp.StubCloneProcessFlags)
	if err != nil {
		return nil, err
	}
	t := &thread{tgid: pid, tid: pid, forked: true}
	status, err := wait4(pid)
	if err != nil {
		unix.Kill(pid, unix.SIGKILL)
		return nil, fmt.Errorf("waiting for new stub %d: %w", pid, err)
	}
	if !status.Stopped() {
		t.dead = true
		return nil, &errStubDied{tid: pid, status: status}
	}
	if err := getRegs(pid, &t.template); err != nil {
		unix.Kill(pid, unix.SIGKILL)
		t.reap()
		return nil, fmt.Errorf("new stub %d: PTRACE_GETREGS: %w", pid, err)
	}
	return t, nil
}

// NewContext implements platform.Platform.NewContext.
func (p *Platform) NewContext() (platform.Context, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errors.New("ptrace platform: closed")
	}
	return &context{p: p, threads: make(map[*addressSpace]*thread)}, nil
}

// MinUserAddress implements platform.Platform.MinUserAddress.
func (p *Platform) MinUserAddress() uintptr { return minUserAddress }

// MaxUserAddress implements platform.Platform.MaxUserAddress. The stub page
// lies above it.
func (p *Platform) MaxUserAddress() uintptr { return maxUserAddress }

// FPStateSize implements platform.Platform.FPStateSize.
func (p *Platform) FPStateSize() int { return p.fpSize }

// InitialFPState implements platform.Platform.InitialFPState.
func (p *Platform) InitialFPState() []byte {
	return append([]byte(nil), p.initFP...)
}

// Close implements platform.Platform.Close: it kills every stub process
// still alive and the master, and reaps them. Contexts should be released
// first: a stub thread traced by a Context's OS thread is reaped by that
// thread (on its next Switch or Release, or when the OS thread exits).
func (p *Platform) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	spaces := make([]*addressSpace, 0, len(p.spaces))
	for as := range p.spaces {
		spaces = append(spaces, as)
	}
	p.mu.Unlock()
	for _, as := range spaces {
		as.Release()
	}
	p.mu.Lock()
	p.closed = true
	close(p.reqs)
	p.mu.Unlock()
	<-p.exited
	return nil
}
