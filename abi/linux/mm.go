package linux

import "golang.org/x/sys/unix"

// Page geometry on amd64.
const (
	PageShift = 12
	PageSize  = 1 << PageShift
)

// Memory protection and mapping flags.
const (
	PROT_NONE      = unix.PROT_NONE
	PROT_READ      = unix.PROT_READ
	PROT_WRITE     = unix.PROT_WRITE
	PROT_EXEC      = unix.PROT_EXEC
	PROT_GROWSDOWN = unix.PROT_GROWSDOWN
	PROT_GROWSUP   = unix.PROT_GROWSUP

	MAP_SHARED          = unix.MAP_SHARED
	MAP_PRIVATE         = unix.MAP_PRIVATE
	MAP_SHARED_VALIDATE = unix.MAP_SHARED_VALIDATE
	MAP_TYPE            = 0xf
	MAP_FIXED           = unix.MAP_FIXED
	MAP_ANONYMOUS       = unix.MAP_ANONYMOUS
	MAP_32BIT           = unix.MAP_32BIT
	MAP_GROWSDOWN       = unix.MAP_GROWSDOWN
	MAP_DENYWRITE       = unix.MAP_DENYWRITE
	MAP_EXECUTABLE      = unix.MAP_EXECUTABLE
	MAP_LOCKED          = unix.MAP_LOCKED
	MAP_NORESERVE       = unix.MAP_NORESERVE
	MAP_POPULATE        = unix.MAP_POPULATE
	MAP_NONBLOCK        = unix.MAP_NONBLOCK
	MAP_STACK           = unix.MAP_STACK
	MAP_HUGETLB         = unix.MAP_HUGETLB
	MAP_SYNC            = unix.MAP_SYNC
	MAP_FIXED_NOREPLACE = unix.MAP_FIXED_NOREPLACE
)
