// Package mm implements guest address spaces. A MemoryManager records the
// guest's virtual memory areas (VMAs: address range, permissions, private or
// shared, and the file and offset backing them) and, separately,
// which ranges of the memory file (package pgalloc) currently back which
// guest pages (PMAs). VMAs change only through mmap, munmap, mprotect, brk
// and exec; PMAs are created lazily.
//
// Demand paging: a new VMA has no pages. When the guest touches one, the
// platform reports a fault; HandleFault checks the address against the
// VMAs (an address outside any VMA, or an access the VMA does not allow, is
// a guest SIGSEGV), allocates memory-file pages for an aligned chunk around
// the address (fault-around: one ptrace stop costs tens of microseconds, so
// each fault maps up to faultAroundSize, or all of a small VMA) and maps them
// into the platform AddressSpace. The Sentry itself reads and writes guest
// memory (CopyIn, CopyOut, ...) through its own mapping of the memory file,
// allocating pages the same way when a valid address has none yet, and
// returns EFAULT for anything the guest could not access itself.
//
// File mappings: a VMA may be backed by a Mappable (a file, adapted by the
// syscall layer) and a file offset. Its pages are then allocated the same
// way but filled by reading the file, one read per fault-around chunk, with
// zeroes past the end of the file in its last page; pages wholly beyond the
// end get no backing, so touching them is SIGBUS (EFAULT for the Sentry's
// own copies), as in Linux. MAP_PRIVATE pages are private copies: writes
// never reach the file. Each VMA holds a reference on its file until it is
// unmapped or the address space is released.
//
// Shared file mappings: a MAP_SHARED mapping of a SharedMappable refers to
// the file's sharedMemory object (one per file and memory file, found by
// the file's key), so every shared mapping of the file, in any address
// space, uses the same pages. Those pages start clean: mapped without write
// access, so that the first write to each faults and marks it dirty in the
// object (a Sentry write marks it too). Dirty pages are written back to
// the file (never past the end the file had when the page was read) on
// msync, munmap and when the address space or the object goes away. There
// is no coherence with read(2)/write(2) in between: the file does not see
// mapped writes before write-back, and pages already in the object do not
// see later writes to the file.
//
// Fork and copy-on-write: Fork copies the VMAs and gives the child its own
// references on the parent's memory-file ranges (pgalloc counts references
// per page range). For every area except shared memory the pmas
// of both sides are marked needsCopy, and the parent's writable platform
// mappings of them are re-mapped read-only. Pages marked needsCopy are
// always mapped without write access; a write fault (or a Sentry write such
// as CopyOut) on them runs breakCOW, which copies each page whose reference
// count is above one into a fresh page and merely unmarks a page whose
// count is one (the other side has already copied or gone away).
//
// Shared anonymous memory: a MAP_SHARED anonymous VMA refers to its own
// sharedMemory object (refcounted, one reference per VMA piece) that owns a
// memory-file page per object offset, allocated on first touch. A fault
// takes the object's page (and a reference on it) instead of allocating a
// private one, so every address space mapping the object, including
// children forked before the page was first touched, sees the same page.
// MADV_DONTNEED there only drops this address space's pmas; the object
// keeps the contents until its last VMA goes.
//
// Other mechanisms: a fault just below a MAP_GROWSDOWN area grows it (with
// Linux's stack guard gap); mremap moves pmas with the VMA instead of
// copying; MADV_DONTNEED/MADV_FREE drop pmas, so the next touch gets zero
// pages or re-reads the file; mincore reports pages that have pmas whose
// memory-file pages the host has actually backed (touched pages); mlock
// is bookkeeping (VM_LOCKED) plus prefaulting; mappings are never reserved
// up front, so MAP_NORESERVE changes nothing and a huge mapping costs
// nothing until touched.
package mm

import (
	"sync"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
	"github.com/palisade-sandbox/palisade/sentry/pgalloc"
)

// Layout constants (x86-64 Linux values).
const (
	// DefaultStackSize is RLIMIT_STACK's default soft limit.
	DefaultStackSize = 8 << 20
	// StackGuardGap is the gap Linux keeps below a stack (256 pages).
	StackGuardGap = 256 * linux.PageSize
	// minMmapGap is the least room mmap_base leaves for the stack.
	minMmapGap = 128 << 20
	// faultAroundSize is how much a single fault maps, aligned.
	faultAroundSize = 64 << 10
	// smallVMASize: a VMA this small is mapped whole on its first fault.
	smallVMASize = 128 << 10
	// maxMapCount is vm.max_map_count's default.
	maxMapCount = 65530
)

// MemoryManager is one guest address space.
type MemoryManager struct {
	mf      *pgalloc.MemoryFile
	as      platform.AddressSpace
	minAddr uintptr
	maxAddr uintptr

	// mu guards everything below, and orders changes to as.
	mu sync.Mutex
	// vmas are the mapped areas, sorted by address, non-overlapping.
	vmas []vma
	// pmas are the memory-file ranges backing guest pages, sorted,
	// non-overlapping, each inside one VMA.
	pmas []pma
	// brkStart is the start of the heap; brk is the current break.
	brkStart uintptr
	brk      uintptr
	// mmapBase is the top of the top-down mmap area.
	mmapBase uintptr
	// stackTop is the top of the initial stack.
	stackTop uintptr
	// stackLimit bounds how far a MAP_GROWSDOWN area may grow
	// (RLIMIT_STACK).
	stackLimit uintptr
	// argvStart..argvEnd and envStart..envEnd hold the initial process's
	// argument and environment strings (for /proc/PID/cmdline, environ).
	argvStart, argvEnd uintptr
	envStart, envEnd   uintptr
	// lockFuture is mlockall(MCL_FUTURE): new areas are locked.
	lockFuture bool
	// users counts the tasks sharing this address space.
	users int
	// released is set when the last user went away.
	released bool
}

// New returns an empty address space whose pages come from mf and are made
// visible to the guest through as. Mappings are confined to
// [minAddr, maxAddr).
func New(mf *pgalloc.MemoryFile, as platform.AddressSpace, minAddr, maxAddr uintptr) *MemoryManager {
	minAddr = pageRoundUp(minAddr)
	maxAddr = pageRoundDown(maxAddr)
	return &MemoryManager{
		mf:         mf,
		as:         as,
		minAddr:    minAddr,
		maxAddr:    maxAddr,
		mmapBase:   maxAddr,
		stackTop:   maxAddr,
		stackLimit: DefaultStackSize,
		users:      1,
	}
}

// AddressSpace returns the platform address space.
func (mm *MemoryManager) AddressSpace() platform.AddressSpace { return mm.as }

// MinAddress returns the lowest address a mapping may use.
func (mm *MemoryManager) MinAddress() uintptr { return mm.minAddr }

// MaxAddress returns one past the highest user address.
func (mm *MemoryManager) MaxAddress() uintptr { return mm.maxAddr }

// SetLayout sets the stack top and derives mmap_base below it the way
// Linux's mmap_base() does: a gap of the stack limit plus the guard gap,
// at least 128 MiB, plus randomPad.
func (mm *MemoryManager) SetLayout(stackTop, stackLimit, randomPad uintptr) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	gap := stackLimit + StackGuardGap + randomPad
	if gap < stackLimit {
		// An unlimited stack limit: the largest gap allowed below.
		gap = ^uintptr(0)
	}
	if gap < minMmapGap {
		gap = minMmapGap
	}
	if maxGap := (mm.maxAddr - mm.minAddr) / 6 * 5; gap > maxGap {
		gap = maxGap
	}
	mm.stackTop = stackTop
	mm.stackLimit = stackLimit
	if stackTop-mm.minAddr > gap {
		mm.mmapBase = pageRoundDown(stackTop - gap)
	} else {
		mm.mmapBase = stackTop
	}
}

// MmapBase returns the top of the top-down mmap area.
func (mm *MemoryManager) MmapBase() uintptr {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	return mm.mmapBase
}

// IncUsers adds a task sharing the address space.
func (mm *MemoryManager) IncUsers() {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	mm.users++
}

// DecUsers drops a user; the last one releases all memory and the
// platform address space.
func (mm *MemoryManager) DecUsers() {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	mm.users--
	if mm.users > 0 || mm.released {
		return
	}
	mm.released = true
	_ = mm.writeback(mm.minAddr, mm.maxAddr)
	for _, p := range mm.pmas {
		mm.mf.DecRef(p.fr)
	}
	mm.pmas = nil
	for i := range mm.vmas {
		mm.vmas[i].release()
	}
	mm.vmas = nil
	if mm.as != nil {
		mm.as.Release()
	}
}

func pageRoundDown(a uintptr) uintptr { return a &^ (linux.PageSize - 1) }
func pageRoundUp(a uintptr) uintptr   { return (a + linux.PageSize - 1) &^ (linux.PageSize - 1) }

// pageRoundUpChecked rounds a length up to pages, reporting overflow.
func pageRoundUpChecked(n uintptr) (uintptr, bool) {
	r := (n + linux.PageSize - 1) &^ (linux.PageSize - 1)
	return r, r >= n
}
