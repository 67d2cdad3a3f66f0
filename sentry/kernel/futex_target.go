package kernel

import (
	"github.com/palisade-sandbox/palisade/sentry/kernel/futex"
	"github.com/palisade-sandbox/palisade/sentry/mm"
)

// futexTarget is a task's address space as the futex manager sees it.
// It is safe for use from any goroutine.
type futexTarget struct {
	mm *mm.MemoryManager
}

// LoadUint32 implements futex.Target.LoadUint32.
func (f futexTarget) LoadUint32(addr uintptr) (uint32, error) {
	var v uint32
	var lerr error
	if err := f.mm.WithWord(addr, false, func(b []byte) { v, lerr = futex.LoadUint32Bytes(b) }); err != nil {
		return 0, err
	}
	return v, lerr
}

// CompareAndSwapUint32 implements futex.Target.CompareAndSwapUint32.
func (f futexTarget) CompareAndSwapUint32(addr uintptr, old, new uint32) (uint32, error) {
	var prev uint32
	var cerr error
	if err := f.mm.WithWord(addr, true, func(b []byte) { prev, cerr = futex.CompareAndSwapUint32Bytes(b, old, new) }); err != nil {
		return 0, err
	}
	return prev, cerr
}

// AddressSpaceIdentity implements futex.Target.AddressSpaceIdentity.
func (f futexTarget) AddressSpaceIdentity() any { return f.mm }

// GetSharedKey implements futex.Target.GetSharedKey.
func (f futexTarget) GetSharedKey(addr uintptr) (futex.Key, error) {
	off, shared, err := f.mm.SharedWordOffset(addr)
	if err != nil {
		return futex.Key{}, err
	}
	if shared {
		return futex.MemoryFileKey(off), nil
	}
	return futex.AddressSpaceKey(f.mm, addr), nil
}

// FutexTarget returns the task's address space for futex operations.
func (t *Task) FutexTarget() futex.Target { return futexTarget{mm: t.mm} }

// FutexWaiter returns the task's reusable futex waiter.
func (t *Task) FutexWaiter() *futex.Waiter {
	if t.futexWaiter == nil {
		t.futexWaiter = futex.NewWaiter()
	}
	return t.futexWaiter
}

// Futexes returns the kernel's futex manager.
func (k *Kernel) Futexes() *futex.Manager { return k.futexes }

// piFutexTarget adds thread lookup for PI futexes.
type piFutexTarget struct {
	futexTarget
	k *Kernel
}

// TaskExists implements futex.PITarget.TaskExists: a live task that has
// not begun its futex exit work.
func (p piFutexTarget) TaskExists(tid int32) bool {
	t := p.k.TaskByTID(tid)
	return t != nil && !t.futexExited.Load()
}

// PIFutexTarget returns the task's address space for PI futex operations.
func (t *Task) PIFutexTarget() futex.PITarget {
	return piFutexTarget{futexTarget{mm: t.mm}, t.k}
}
