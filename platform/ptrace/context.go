package ptrace

import (
	"bytes"
	"errors"
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
)

// threadSigMask is the signal mask of a stub thread that runs guest code:
// everything but the interrupt signal is blocked, so host signals sent to
// the stub stay pending and never disturb the guest. Synchronous faults are
// delivered regardless (the kernel unblocks them).
const threadSigMask = ^uint64(0) &^ (1 << (interruptSignal - 1))

// context implements platform.Context. It is used from one locked OS
// thread, which traces one stub thread per address space it has entered.
type context struct {
	p *Platform

	// tracer is the id of the OS thread that uses this context, set by the
	// first Switch.
	tracer int

	// threads maps each address space this context has entered to the
	// stub thread it traces there.
	threads map[*addressSpace]*thread

	// seenGen is the Platform.releaseGen at the last reap.
	seenGen uint64

	released bool

	// suppressed counts host signals the context has kept from the guest.
	suppressed uint64

	// pending is set by Interrupt and consumed by Switch.
	pending atomic.Bool
	// running is the stub thread Switch is running (or about to run);
	// Interrupt kicks it with interruptSignal.
	running atomic.Pointer[thread]
}

var _ platform.Context = (*context)(nil)

// Switch implements platform.Context.Switch.
func (c *context) Switch(pas platform.AddressSpace, st *platform.State) (platform.Event, error) {
	if c.released {
		return platform.Event{}, platform.ErrContextClosed
	}
	as, ok := pas.(*addressSpace)
	if !ok || as.p != c.p {
		return platform.Event{}, errors.New("ptrace: Switch into an address space of another platform")
	}
	if len(st.FP) != c.p.fpSize {
		return platform.Event{}, fmt.Errorf("ptrace: FP state of %d bytes, want %d", len(st.FP), c.p.fpSize)
	}
	if g := c.p.releaseGen.Load(); g != c.seenGen {
		c.seenGen = g
		c.reapReleased()
	}
	if as.released.Load() {
		return platform.Event{}, errors.New("ptrace: Switch into a released address space")
	}
	t := c.threads[as]
	if t == nil {
		var err error
		if t, err = c.attach(as); err != nil {
			return platform.Event{}, fmt.Errorf("ptrace: new stub thread: %w", err)
		}
	}
	c.running.Store(t)
	ev, err := c.run(t, st)
	c.running.Store(nil)
	if err != nil && t.dead {
		as.unregister(c.tracer)
		delete(c.threads, as)
	}
	return ev, err
}

// attach creates a stub thread in as (through the creator) and takes it
// over: PTRACE_SEIZE, PTRACE_INTERRUPT, wait for the stop.
func (c *context) attach(as *addressSpace) (*thread, error) {
	if c.tracer == 0 {
		c.tracer = unix.Gettid()
	}
	tid, err := as.newThread()
	if err != nil {
		return nil, err
	}
	t := &thread{tgid: as.leader.tgid, tid: tid, fp: make([]byte, c.p.fpSize)}
	seized := false
	fail := func(err error) (*thread, error) {
		// SIGKILL takes the whole stub process: nothing else can stop a
		// thread spinning untraced in the park loop.
		unix.Tgkill(t.tgid, t.tid, unix.SIGKILL)
		if seized {
			t.reap()
		}
		return nil, err
	}
	opts := unix.PTRACE_O_EXITKILL | unix.PTRACE_O_TRACESYSGOOD
	if err := ptrace(unix.PTRACE_SEIZE, tid, 0, uintptr(opts)); err != nil {
		return fail(fmt.Errorf("PTRACE_SEIZE %d: %w", tid, err))
	}
	seized = true
	for {
		if err := ptrace(unix.PTRACE_INTERRUPT, tid, 0, 0); err != nil {
			return fail(fmt.Errorf("PTRACE_INTERRUPT %d: %w", tid, err))
		}
		status, err := wait4(tid)
		if err != nil {
			return fail(fmt.Errorf("wait4 %d: %w", tid, err))
		}
		if status.Exited() || status.Signaled() {
			t.dead = true
			return nil, &errStubDied{tid: tid, status: status}
		}
		if status.Stopped() && uint32(status)>>16 == unix.PTRACE_EVENT_STOP {
			break
		}
		ptrace(unix.PTRACE_CONT, tid, 0, 0)
	}
	if err := getRegs(tid, &t.template); err != nil {
		return fail(fmt.Errorf("PTRACE_GETREGS %d: %w", tid, err))
	}
	if rip := t.template.Rip; rip < stubBase+stubClone+2 || rip > stubBase+stubPark {
		return fail(fmt.Errorf("new stub thread %d stopped at %#x, not on its way to the park loop", tid, t.template.Rip))
	}
	if err := setSigMask(tid, threadSigMask); err != nil {
		return fail(fmt.Errorf("PTRACE_SETSIGMASK %d: %w", tid, err))
	}
	c.threads[as] = t
	as.register(c.tracer, t)
	return t, nil
}

// run is the per-switch path: load state, PTRACE_SYSEMU, wait, classify.
func (c *context) run(t *thread, st *platform.State) (platform.Event, error) {
	if c.pending.Swap(false) {
		return platform.Event{Kind: platform.EventInterrupted}, nil
	}
	regs := st.Regs
	// Never let the kernel apply its syscall-restart logic to guest
	// state: the Sentry handles restarts.
	regs.Orig_rax = ^uint64(0)
	if !t.kregsValid || regs != t.kregs {
		if err := setRegs(t.tid, &regs); err != nil {
			return platform.Event{}, c.stubError(t, "PTRACE_SETREGS", err)
		}
		t.kregs, t.kregsValid = regs, true
	}
	if !t.fpValid || !bytes.Equal(st.FP, t.fp) {
		if err := setRegSet(t.tid, linux.NT_X86_XSTATE, st.FP); err != nil {
			return platform.Event{}, c.stubError(t, "PTRACE_SETREGSET", err)
		}
		copy(t.fp, st.FP)
		t.fpValid = true
	}
	for {
		if err := ptrace(unix.PTRACE_SYSEMU, t.tid, 0, 0); err != nil {
			return platform.Event{}, c.stubError(t, "PTRACE_SYSEMU", err)
		}
		status, err := wait4(t.tid)
		if err != nil {
			return platform.Event{}, c.stubError(t, "wait4", err)
		}
		if status.Exited() || status.Signaled() {
			t.dead = true
			return platform.Event{}, &errStubDied{tid: t.tid, status: status}
		}
		if !status.Stopped() {
			continue
		}
		sig := status.StopSignal()
		if sig == unix.SIGTRAP|0x80 {
			if err := c.readState(t, st); err != nil {
				return platform.Event{}, err
			}
			r := &st.Regs
			if r.Rcx != r.Rip || r.R11 != r.Eflags {
				// The syscall instruction sets rcx = rip and r11 =
				// rflags; a 32-bit entry (int 0x80, sysenter) does
				// not. Report it as the #GP it is when 32-bit
				// emulation is off.
				r.Rip -= 2
				ev := platform.Event{Kind: platform.EventFault, Signal: linux.SIGSEGV}
				ev.Info.Signo = int32(linux.SIGSEGV)
				ev.Info.Code = linux.SI_KERNEL
				return ev, nil
			}
			return platform.Event{Kind: platform.EventSyscall}, nil
		}
		if uint32(status)>>16 != 0 {
			// A ptrace event stop (PTRACE_EVENT_STOP): nothing to
			// report, resume.
			if c.pending.Swap(false) {
				return c.interrupted(t, st)
			}
			continue
		}
		// A signal-delivery-stop. Whatever it is, it is suppressed: the
		// next resume passes no signal.
		var si linux.SignalInfo
		if err := getSigInfo(t.tid, &si); err != nil {
			return platform.Event{}, c.stubError(t, "PTRACE_GETSIGINFO", err)
		}
		switch sig {
		case unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE, unix.SIGILL, unix.SIGTRAP:
			if si.Code > 0 {
				// Generated by the kernel: a synchronous fault.
				if err := c.readState(t, st); err != nil {
					return platform.Event{}, err
				}
				return faultEvent(linux.Signal(sig), &si, &st.Regs), nil
			}
		case interruptSignal:
			if si.Code == linux.SI_TKILL && si.PID() == int32(c.p.pid) && c.pending.Swap(false) {
				return c.interrupted(t, st)
			}
		}
		// A signal from anyone but the kernel or the Sentry (or a stale
		// interrupt): not trusted, never delivered to the guest.
		c.suppressed++
		if c.pending.Swap(false) {
			return c.interrupted(t, st)
		}
	}
}

// interrupted reads back the state and reports EventInterrupted.
func (c *context) interrupted(t *thread, st *platform.State) (platform.Event, error) {
	if err := c.readState(t, st); err != nil {
		return platform.Event{}, err
	}
	return platform.Event{Kind: platform.EventInterrupted}, nil
}

// faultEvent builds the event for a synchronous fault.
//
// The page-fault error code is not available to a tracer, so Access is a
// guess: Execute when the fault address is the instruction pointer, Write
// for a protection fault (SEGV_ACCERR: the page is mapped, and the Sentry
// maps guest pages readable unless they have no access at all), Read for a
// missing page (SEGV_MAPERR). The Sentry must check the guess against its
// VMAs; a wrong Read guess on a write costs one more fault.
func faultEvent(sig linux.Signal, si *linux.SignalInfo, r *linux.PtraceRegs) platform.Event {
	ev := platform.Event{Kind: platform.EventFault, Signal: sig, Info: *si, FaultAddr: uintptr(si.Addr())}
	switch sig {
	case linux.SIGSEGV:
		switch {
		case si.Addr() == r.Rip:
			ev.Access = platform.AccessType{Execute: true}
		case si.Code == linux.SEGV_ACCERR:
			ev.Access = platform.AccessType{Write: true}
		default:
			ev.Access = platform.AccessType{Read: true}
		}
	case linux.SIGBUS:
		ev.Access = platform.AccessType{Read: true}
	}
	return ev
}

// readState reads the thread's registers into st. The FP state stays in
// the thread until PullFPState asks for it: PTRACE_GETREGSET of the XSAVE
// area costs about 3 us here, more than the rest of a round trip.
func (c *context) readState(t *thread, st *platform.State) error {
	if err := getRegs(t.tid, &st.Regs); err != nil {
		return c.stubError(t, "PTRACE_GETREGS", err)
	}
	t.kregs, t.kregsValid = st.Regs, true
	return nil
}

// PullFPState implements platform.Context.PullFPState.
func (c *context) PullFPState(pas platform.AddressSpace, st *platform.State) error {
	if c.released {
		return platform.ErrContextClosed
	}
	as, ok := pas.(*addressSpace)
	if !ok || as.p != c.p {
		return errors.New("ptrace: PullFPState from an address space of another platform")
	}
	if len(st.FP) != c.p.fpSize {
		return fmt.Errorf("ptrace: FP state of %d bytes, want %d", len(st.FP), c.p.fpSize)
	}
	t := c.threads[as]
	if t == nil || t.dead {
		return nil
	}
	return c.readFP(t, st)
}

// readFP reads the thread's FP state into st.FP and remembers it as what
// the kernel holds.
func (c *context) readFP(t *thread, st *platform.State) error {
	n, err := getRegSet(t.tid, linux.NT_X86_XSTATE, t.fp)
	if err != nil {
		t.fpValid = false
		return c.stubError(t, "PTRACE_GETREGSET", err)
	}
	if n != len(t.fp) {
		t.fpValid = false
		return fmt.Errorf("ptrace: stub thread %d: XSTATE of %d bytes, want %d", t.tid, n, len(t.fp))
	}
	copy(st.FP, t.fp)
	t.fpValid = true
	return nil
}

// stubError wraps a failed ptrace operation. ESRCH means the thread is no
// longer stopped for us (killed, or the wrong OS thread): if it is dead,
// reap it and say so.
func (c *context) stubError(t *thread, op string, err error) error {
	if err == unix.ESRCH {
		if pid, status, werr := wait4opts(t.tid, unix.WNOHANG); werr == nil && pid == t.tid && (status.Exited() || status.Signaled()) {
			t.dead = true
			return &errStubDied{tid: t.tid, status: status}
		}
	}
	return fmt.Errorf("ptrace: stub thread %d: %s: %w", t.tid, op, err)
}

// reapReleased reaps the threads this context holds in released address
// spaces (their stub processes were killed).
func (c *context) reapReleased() {
	for as, t := range c.threads {
		if as.released.Load() {
			as.unregister(c.tracer)
			t.reap()
			delete(c.threads, as)
		}
	}
}

// Interrupt implements platform.Context.Interrupt.
func (c *context) Interrupt() {
	c.pending.Store(true)
	if t := c.running.Load(); t != nil {
		unix.Tgkill(t.tgid, t.tid, interruptSignal)
	}
}

// Release implements platform.Context.Release: each stub thread of the
// context is made to exit (or, if its process was killed, reaped).
func (c *context) Release() {
	if c.released {
		return
	}
	c.released = true
	for as, t := range c.threads {
		as.unregister(c.tracer)
		if as.released.Load() {
			t.reap()
		} else {
			t.exit()
		}
	}
	c.threads = nil
}
