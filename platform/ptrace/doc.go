// Package ptrace implements platform.Platform with PTRACE_SYSEMU and stub
// processes: guest code runs in tiny host processes that hold nothing but
// the guest's memory and one page of stub code, and every system call or
// fault they make stops them and comes back to the Sentry.
//
// # Stub processes
//
// New creates the master stub with a raw clone(CLONE_FILES|SIGCHLD) on a
// dedicated, locked "creator" goroutine (CLONE_FILES: stubs share the
// Sentry's fd table, so they can map its memory file by number). The child
// runs only nosplit Go code and raw system calls: PR_SET_PDEATHSIG(SIGKILL),
// a getppid check (the parent may have died before the prctl),
// PTRACE_TRACEME, SIGCHLD ignored (so that stubs forked from it are reaped
// by the kernel), the stub page mapped at stubBase, a SIGSTOP to itself, the
// stub seccomp filter (seccomp.StubFilter, installed with
// Program.InstallRaw), and a jump into the stub page, which unmaps
// everything below it and traps with int3. At the SIGSTOP the creator sets
// PTRACE_O_EXITKILL|TRACESYSGOOD|TRACEFORK and unregisters the rseq area the
// C library registered for the cloning thread (its memory is about to be
// unmapped). The clone's exit signal is SIGCHLD, not SIGKILL: a SIGKILL exit
// signal would kill the Sentry whenever the master dies, including at Close.
//
// The stub page (one page just below 0x7fff_ffff_f000; MaxUserAddress is
// its start) holds three snippets and no data; nothing in it uses a stack:
// the entry above; "syscall; int3", which runs one injected system call
// (the tracer sets the registers, PTRACE_CONTs, and regains control at the
// int3: one ptrace stop per injected call); and "syscall; test rax,rax;
// jz park; int3; park: jmp park", used for clone, where the child spins in
// park until its tracer takes it over.
//
// Each address space is a stub process forked from the master by an
// injected clone(CLONE_FILES|SIGCHLD); PTRACE_O_TRACEFORK makes it traced
// by the creator from birth, with every signal blocked and only the stub
// page mapped. Its first thread (the leader) never runs guest code: it
// makes injected calls for callers that trace no thread of the process,
// and clones the threads that do.
//
// # Threads
//
// ptrace binds a tracee to one tracer thread, so each Context lives on one
// locked OS thread and owns one stub thread per address space it enters.
// On the first Switch into an address space, the context asks the creator
// (over a channel) to inject clone(CLONE_VM|CLONE_FS|CLONE_FILES|
// CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM) into the leader; the new thread
// is not auto-traced and spins in park (all signals blocked; if the Sentry
// dies meanwhile, EXITKILL on the leader kills the whole process). The
// context's OS thread then PTRACE_SEIZEs it (EXITKILL|TRACESYSGOOD),
// PTRACE_INTERRUPTs it, waits for the stop and unblocks the interrupt
// signal with PTRACE_SETSIGMASK. Later Switches look the thread up in a
// map owned by the context: no channel, no lock. MapFile and Unmap inject
// mmap/munmap through the thread the calling OS thread traces in that
// process, or through the creator and the leader.
//
// # Switch
//
// Switch writes the registers (PTRACE_SETREGS, skipped when they equal what
// the kernel already holds; Orig_rax is forced to -1 so the kernel never
// applies its syscall-restart logic to guest state) and the XSAVE area
// (PTRACE_SETREGSET NT_X86_XSTATE, skipped when the bytes equal the last
// ones read or written), resumes with PTRACE_SYSEMU, waits with wait4, and
// classifies the stop: a syscall-stop is EventSyscall (a 32-bit entry, int
// 0x80 or sysenter, is told apart because only the syscall instruction
// sets rcx = rip and r11 = rflags, and is reported as a SIGSEGV fault at
// the instruction); a kernel-generated SIGSEGV, SIGBUS, SIGFPE, SIGILL or
// SIGTRAP (si_code > 0) is EventFault with si_addr; SIGUSR2 sent by the
// Sentry with tgkill while an interrupt is pending is EventInterrupted;
// anything else is a host signal that is not trusted and is suppressed
// (every resume passes signal 0, so no host signal ever reaches guest
// code). Registers are read back on every event; the FP state is not: it
// stays in the stub thread (each guest thread has its own) until the
// Sentry asks for it with PullFPState, because PTRACE_GETREGSET of the
// XSAVE area costs about 3 us here, more than the rest of the round trip.
//
// Host system calls per guest system call (steady state): PTRACE_SETREGS,
// PTRACE_SYSEMU, wait4, PTRACE_GETREGS = 4, the same as a minimal C
// tracer, plus PTRACE_SETREGSET only when the Sentry changed the FP state.
// A fault adds PTRACE_GETSIGINFO.
//
// New also adds SA_NOCLDSTOP to the Sentry's (the Go runtime's) SIGCHLD
// handler, so that the stops of stubs do not raise SIGCHLD in the Sentry:
// wait4 is woken regardless, and a signal handler run per guest syscall
// (often waking an idle thread) would cost more than the syscalls above.
//
// Interrupt sets a pending flag and, if a Switch is running (or about to),
// tgkills its stub thread with SIGUSR2; Switch publishes its thread before
// checking the flag, so an interrupt is never lost, and a Switch that
// starts with the flag set returns at once.
//
// Fault access types are a guess (a tracer never sees the page-fault error
// code): Execute if si_addr == rip, Write for SEGV_ACCERR, else Read.
//
// # Cleanup
//
// AddressSpace.Release detaches the leader with SIGKILL and kills the
// process; the kernel reaps the leader (its parent, the master, ignores
// SIGCHLD) once the threads traced by contexts are reaped by their tracers,
// which notice the release (one atomic load per Switch) on their next Switch
// or at Context.Release. Context.Release makes each of its threads exit
// (an injected exit) and reaps it. Leaders are traced with
// PTRACE_O_TRACEEXIT: if a stub process is killed from outside, its leader
// stops at its exit and the creator lets it go (PTRACE_DETACH) rather than
// waiting for a zombie that cannot be reaped while other tracers hold its
// threads. Close releases every address space and kills and reaps the
// master; if the creator's OS thread ever exits, all its tracees die with it
// (PTRACE_O_EXITKILL), and likewise for a context's OS thread.
package ptrace
