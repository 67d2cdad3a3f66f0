// Package linux holds facts about the Linux amd64 ABI that the Sentry, the
// platform and the Gofer share: syscall numbers and names, errnos, signals,
// memory-protection flags and the layouts of the structures that cross the
// user/kernel boundary, each with explicit byte encoding so that no guest
// memory is ever reinterpreted in place. It has no behaviour.
//
// Where golang.org/x/sys/unix already defines a constant it is reused; the
// syscall table is generated from x/sys (go generate).
package linux

//go:generate go run gen_sysnum.go

import "strconv"

// SyscallName returns the name of amd64 syscall nr ("read"), or
// "syscall_NNN" for a number with no known name.
func SyscallName(nr uintptr) string {
	if nr < MaxSyscall {
		if n := syscallNames[nr]; n != "" {
			return n
		}
	}
	return "syscall_" + strconv.FormatUint(uint64(nr), 10)
}
