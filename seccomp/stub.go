package seccomp

import "golang.org/x/sys/unix"

// Flags the ptrace platform passes to the syscalls it injects into its stub
// processes. The stub filter allows these exact values and nothing else, so
// platform/ptrace must use these constants.
const (
	// StubCloneThreadFlags creates one more stub thread in an existing stub
	// process (one per guest thread).
	StubCloneThreadFlags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES |
		unix.CLONE_SIGHAND | unix.CLONE_THREAD | unix.CLONE_SYSVSEM
	// StubCloneProcessFlags creates a new stub process (a new guest address
	// space) from the master stub. CLONE_FILES keeps the Sentry's fd table
	// shared, so the new stub can map the Sentry's memory file by number.
	StubCloneProcessFlags = unix.CLONE_FILES | uintptr(unix.SIGCHLD)
	// StubMmapFlags are the only mmap flags a stub may use: the Sentry's
	// memory file, shared, at a fixed address.
	StubMmapFlags = unix.MAP_SHARED | unix.MAP_FIXED
)

// StubFilter returns the filter installed in every ptrace stub process.
//
// Guest system calls never reach it: under PTRACE_SYSEMU the kernel skips
// them before seccomp runs. The filter confines the system calls the
// platform itself injects into a stub (and anything a stub could be tricked
// into making outside SYSEMU), so it allows exactly those and kills the
// process for anything else.
func StubFilter() *Filter {
	return &Filter{
		Name:    "stub",
		Default: KillProcess,
		Rules: []Rule{
			AllowRule(unix.SYS_MMAP, "map a range of the Sentry's memory file into the guest address space",
				ArgMatch{Index: 3, Op: Equal, Value: StubMmapFlags}),
			AllowRule(unix.SYS_MUNMAP, "unmap guest memory; also drops the copy of the Sentry's memory when the master stub starts"),
			AllowRule(unix.SYS_CLONE, "create a stub thread for a new guest thread",
				ArgMatch{Index: 0, Op: Equal, Value: StubCloneThreadFlags}),
			AllowRule(unix.SYS_CLONE, "create a stub process for a new guest address space (from the master stub)",
				ArgMatch{Index: 0, Op: Equal, Value: uint64(StubCloneProcessFlags)}),
			AllowRule(unix.SYS_EXIT, "end one stub thread when its platform context is released"),
		},
	}
}
