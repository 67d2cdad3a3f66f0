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

// addressSpace is one stub process. It implements platform.AddressSpace.
type addressSpace struct {
	p *Platform

	// leader is the stub process's first thread, traced by the creator
	// thread; only the creator touches it. It runs no guest code: it makes
	// injected calls for callers that trace no thread of this process,
	// and clones the threads that run guest code.
	leader *thread

	// released is set once Release has killed the stub process.
	released atomic.Bool

	// mu serialises MapFile, Unmap and Release, and guards byTracer.
	mu sync.Mutex
	// byTracer maps the id of an OS thread that traces a thread of this
	// stub process to that thread.
	byTracer map[int]*thread
}

var _ platform.AddressSpace = (*addressSpace)(nil)

// checkRange validates a guest range.
func checkRange(addr, length uintptr) error {
	if addr%linux.PageSize != 0 || length%linux.PageSize != 0 {
		return fmt.Errorf("range [%#x, +%#x) is not page aligned: %w", addr, length, unix.EINVAL)
	}
	if length == 0 {
		return fmt.Errorf("empty range at %#x: %w", addr, unix.EINVAL)
	}
	end := addr + length
	if end < addr || addr < minUserAddress || end > maxUserAddress {
		return fmt.Errorf("range [%#x, %#x) is outside [%#x, %#x): %w", addr, end, uintptr(minUserAddress), uintptr(maxUserAddress), unix.EINVAL)
	}
	return nil
}

// inject runs f on a stub thread of this address space that the calling
// OS thread may use: its own, if it traces one, else the leader through the
// creator. Called with a.mu held.
func (a *addressSpace) inject(f func(t *thread) error) error {
	if a.released.Load() {
		return errors.New("address space released")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if t := a.byTracer[unix.Gettid()]; t != nil {
		if t.dead {
			return errors.New("stub process died")
		}
		return f(t)
	}
	var err error
	if derr := a.p.do(func() { err = f(a.leader) }); derr != nil {
		return derr
	}
	return err
}

// MapFile implements platform.AddressSpace.MapFile with an injected
// mmap(addr, length, prot, MAP_SHARED|MAP_FIXED, fd, offset).
func (a *addressSpace) MapFile(addr uintptr, fd int, offset int64, length uintptr, at platform.AccessType) error {
	if err := checkRange(addr, length); err != nil {
		return fmt.Errorf("MapFile: %w", err)
	}
	if fd < 0 || offset < 0 || offset%linux.PageSize != 0 {
		return fmt.Errorf("MapFile: fd %d offset %#x: %w", fd, offset, unix.EINVAL)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.inject(func(t *thread) error { return t.mmap(addr, length, at.Prot(), fd, offset) }); err != nil {
		return fmt.Errorf("MapFile [%#x, +%#x): %w", addr, length, err)
	}
	return nil
}

// Unmap implements platform.AddressSpace.Unmap with an injected munmap.
func (a *addressSpace) Unmap(addr uintptr, length uintptr) error {
	if err := checkRange(addr, length); err != nil {
		return fmt.Errorf("Unmap: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.inject(func(t *thread) error { return t.munmap(addr, length) }); err != nil {
		return fmt.Errorf("Unmap [%#x, +%#x): %w", addr, length, err)
	}
	return nil
}

// newThread asks the creator to clone a thread in this stub process and
// returns its id. The thread spins in the stub's park loop, with every
// signal blocked, until its new tracer seizes it.
func (a *addressSpace) newThread() (int, error) {
	if a.released.Load() {
		return 0, errors.New("address space released")
	}
	var tid int
	var err error
	if derr := a.p.do(func() { tid, err = a.leader.clone(seccomp.StubCloneThreadFlags) }); derr != nil {
		return 0, derr
	}
	return tid, err
}

// register records that the calling OS thread (tracer) traces t.
func (a *addressSpace) register(tracer int, t *thread) {
	a.mu.Lock()
	a.byTracer[tracer] = t
	a.mu.Unlock()
}

// unregister forgets the thread traced by tracer.
func (a *addressSpace) unregister(tracer int) {
	a.mu.Lock()
	delete(a.byTracer, tracer)
	a.mu.Unlock()
}

// Release implements platform.AddressSpace.Release. The creator detaches
// the leader with SIGKILL and the whole stub process is killed. The leader
// is then reaped by the kernel (the master ignores SIGCHLD); threads traced
// by Contexts are reaped by their tracers, which notice the release on
// their next Switch or Release.
func (a *addressSpace) Release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.released.Load() {
		return
	}
	kill := func() {
		l := a.leader
		if l.dead {
			return
		}
		// The leader rests in a signal-delivery-stop: detaching it with
		// SIGKILL kills the whole process, and the kernel reaps the
		// untraced leader once its threads are gone.
		if err := ptrace(unix.PTRACE_DETACH, l.tid, 0, uintptr(unix.SIGKILL)); err != nil {
			// Not stopped for us: it is dying. It is still traced and
			// unreaped, so its pid cannot have been reused. It stops at
			// its exit (PTRACE_O_TRACEEXIT), where reap lets it go.
			unix.Kill(l.tgid, unix.SIGKILL)
			l.reap()
		}
		l.dead = true
	}
	// If the platform is closed, the creator's thread is gone, and with it
	// (PTRACE_O_EXITKILL) the stub process.
	a.p.do(kill)
	a.released.Store(true)
	a.p.releaseGen.Add(1)
	a.p.mu.Lock()
	delete(a.p.spaces, a)
	a.p.mu.Unlock()
}
