package linux

// User segment selectors on x86-64 (arch/x86/include/asm/segment.h):
// __USER_CS and __USER_DS.
const (
	UserCS = 0x33
	UserDS = 0x2b
)

// Initial RFLAGS of a new process: IF set plus the always-one bit 1.
const InitialEflags = 0x202
