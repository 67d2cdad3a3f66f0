package strace

import (
	"encoding/binary"
	"strconv"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

// argKind says how to show one argument.
type argKind int

const (
	hexArg         argKind = iota // 0x...
	intArg                        // signed decimal (C int)
	longArg                       // signed decimal (C long)
	uintArg                       // unsigned decimal (size_t)
	ptrArg                        // NULL or hex
	fdArg                         // an fd, AT_FDCWD by name
	pathArg                       // NUL-terminated string
	inBufArg                      // buffer whose length is the next argument
	outBufArg                     // buffer filled by the call; length is the return value
	iovecArg                      // iovec array; count is the next argument
	protArg                       // PROT_* flags
	mapFlagsArg                   // MAP_* flags
	archPrctlArg                  // arch_prctl code
	archPrctlAddr                 // arch_prctl address (pointer to the value for GET codes)
	clockIDArg                    // clock id
	timespecOutArg                // struct timespec written by the call
	grndFlagsArg                  // GRND_* flags
	utsnameOutArg                 // struct utsname written by the call
	atFlagsArg                    // AT_* flags
	octalArg                      // mode
)

// retKind says how to show the return value.
type retKind int

const (
	retInt retKind = iota
	retHex
)

type spec struct {
	args []argKind
	ret  retKind
}

// table is indexed by syscall number for lock-free lookups.
var table [linux.MaxSyscall]*spec

func init() {
	s := func(nr int, ret retKind, args ...argKind) {
		table[nr] = &spec{args: args, ret: ret}
	}
	s(linux.SYS_READ, retInt, fdArg, outBufArg, uintArg)
	s(linux.SYS_WRITE, retInt, fdArg, inBufArg, uintArg)
	s(linux.SYS_READV, retInt, fdArg, ptrArg, intArg)
	s(linux.SYS_WRITEV, retInt, fdArg, iovecArg, intArg)
	s(linux.SYS_OPEN, retInt, pathArg, hexArg, octalArg)
	s(linux.SYS_OPENAT, retInt, fdArg, pathArg, hexArg, octalArg)
	s(linux.SYS_CLOSE, retInt, fdArg)
	s(linux.SYS_FSTAT, retInt, fdArg, ptrArg)
	s(linux.SYS_NEWFSTATAT, retInt, fdArg, pathArg, ptrArg, atFlagsArg)
	s(linux.SYS_LSEEK, retInt, fdArg, longArg, intArg)
	s(linux.SYS_MMAP, retHex, ptrArg, uintArg, protArg, mapFlagsArg, fdArg, hexArg)
	s(linux.SYS_MPROTECT, retInt, ptrArg, uintArg, protArg)
	s(linux.SYS_MUNMAP, retInt, ptrArg, uintArg)
	s(linux.SYS_BRK, retHex, ptrArg)
	s(linux.SYS_IOCTL, retInt, fdArg, hexArg, hexArg)
	s(linux.SYS_ACCESS, retInt, pathArg, intArg)
	s(linux.SYS_GETPID, retInt)
	s(linux.SYS_GETPPID, retInt)
	s(linux.SYS_GETTID, retInt)
	s(linux.SYS_GETUID, retInt)
	s(linux.SYS_GETEUID, retInt)
	s(linux.SYS_GETGID, retInt)
	s(linux.SYS_GETEGID, retInt)
	s(linux.SYS_EXIT, retInt, intArg)
	s(linux.SYS_EXIT_GROUP, retInt, intArg)
	s(linux.SYS_UNAME, retInt, utsnameOutArg)
	s(linux.SYS_ARCH_PRCTL, retInt, archPrctlArg, archPrctlAddr)
	s(linux.SYS_SET_TID_ADDRESS, retInt, ptrArg)
	s(linux.SYS_SET_ROBUST_LIST, retInt, ptrArg, uintArg)
	s(linux.SYS_RSEQ, retInt, ptrArg, hexArg, intArg, hexArg)
	s(linux.SYS_PRLIMIT64, retInt, intArg, intArg, ptrArg, ptrArg)
	s(linux.SYS_READLINK, retInt, pathArg, ptrArg, uintArg)
	s(linux.SYS_READLINKAT, retInt, fdArg, pathArg, ptrArg, uintArg)
	s(linux.SYS_CLOCK_GETTIME, retInt, clockIDArg, timespecOutArg)
	s(linux.SYS_CLOCK_GETRES, retInt, clockIDArg, timespecOutArg)
	s(linux.SYS_GETTIMEOFDAY, retInt, ptrArg, ptrArg)
	s(linux.SYS_TIME, retInt, ptrArg)
	s(linux.SYS_GETRANDOM, retInt, outBufArg, uintArg, grndFlagsArg)
	s(linux.SYS_RT_SIGACTION, retInt, intArg, ptrArg, ptrArg, uintArg)
	s(linux.SYS_RT_SIGPROCMASK, retInt, intArg, ptrArg, ptrArg, uintArg)
	s(linux.SYS_FUTEX, retInt, ptrArg, intArg, intArg, ptrArg, ptrArg, intArg)
	s(linux.SYS_CLONE, retInt, hexArg, ptrArg, ptrArg, ptrArg, hexArg)
	s(linux.SYS_EXECVE, retInt, pathArg, ptrArg, ptrArg)
	s(linux.SYS_WAIT4, retInt, intArg, ptrArg, intArg, ptrArg)
	s(linux.SYS_KILL, retInt, intArg, intArg)
	s(linux.SYS_NANOSLEEP, retInt, ptrArg, ptrArg)
	s(linux.SYS_CLOCK_NANOSLEEP, retInt, clockIDArg, intArg, ptrArg, ptrArg)
	s(linux.SYS_SCHED_YIELD, retInt)
	s(linux.SYS_MADVISE, retInt, ptrArg, uintArg, intArg)
	s(linux.SYS_MREMAP, retHex, ptrArg, uintArg, uintArg, hexArg, ptrArg)
	s(linux.SYS_PREAD64, retInt, fdArg, outBufArg, uintArg, longArg)
	s(linux.SYS_PWRITE64, retInt, fdArg, inBufArg, uintArg, longArg)
	s(linux.SYS_DUP, retInt, fdArg)
	s(linux.SYS_DUP2, retInt, fdArg, fdArg)
	s(linux.SYS_DUP3, retInt, fdArg, fdArg, hexArg)
	s(linux.SYS_PIPE2, retInt, ptrArg, hexArg)
	s(linux.SYS_FCNTL, retInt, fdArg, intArg, hexArg)
	s(linux.SYS_GETCWD, retInt, ptrArg, uintArg)
	s(linux.SYS_CHDIR, retInt, pathArg)
	s(linux.SYS_MKDIR, retInt, pathArg, octalArg)
	s(linux.SYS_UNLINK, retInt, pathArg)
	s(linux.SYS_STATX, retInt, fdArg, pathArg, atFlagsArg, hexArg, ptrArg)
}

// defaultSpec shows all six arguments in hex.
var defaultSpec = spec{args: []argKind{hexArg, hexArg, hexArg, hexArg, hexArg, hexArg}}

func specFor(nr uintptr) *spec {
	if nr < uintptr(len(table)) && table[nr] != nil {
		return table[nr]
	}
	return &defaultSpec
}

var protNames = []flagName{
	{linux.PROT_READ, "PROT_READ"},
	{linux.PROT_WRITE, "PROT_WRITE"},
	{linux.PROT_EXEC, "PROT_EXEC"},
	{0x8, "PROT_SEM"},
	{linux.PROT_GROWSDOWN, "PROT_GROWSDOWN"},
	{linux.PROT_GROWSUP, "PROT_GROWSUP"},
}

var mapTypeNames = []flagName{
	{linux.MAP_SHARED, "MAP_SHARED"},
	{linux.MAP_PRIVATE, "MAP_PRIVATE"},
	{linux.MAP_SHARED_VALIDATE, "MAP_SHARED_VALIDATE"},
}

var mapFlagNames = []flagName{
	{linux.MAP_FIXED, "MAP_FIXED"},
	{linux.MAP_ANONYMOUS, "MAP_ANONYMOUS"},
	{linux.MAP_32BIT, "MAP_32BIT"},
	{linux.MAP_GROWSDOWN, "MAP_GROWSDOWN"},
	{linux.MAP_DENYWRITE, "MAP_DENYWRITE"},
	{linux.MAP_EXECUTABLE, "MAP_EXECUTABLE"},
	{linux.MAP_LOCKED, "MAP_LOCKED"},
	{linux.MAP_NORESERVE, "MAP_NORESERVE"},
	{linux.MAP_POPULATE, "MAP_POPULATE"},
	{linux.MAP_NONBLOCK, "MAP_NONBLOCK"},
	{linux.MAP_STACK, "MAP_STACK"},
	{linux.MAP_HUGETLB, "MAP_HUGETLB"},
	{linux.MAP_SYNC, "MAP_SYNC"},
	{linux.MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"},
}

var archPrctlNames = []flagName{
	{linux.ARCH_SET_GS, "ARCH_SET_GS"},
	{linux.ARCH_SET_FS, "ARCH_SET_FS"},
	{linux.ARCH_GET_FS, "ARCH_GET_FS"},
	{linux.ARCH_GET_GS, "ARCH_GET_GS"},
	{linux.ARCH_GET_CPUID, "ARCH_GET_CPUID"},
	{linux.ARCH_SET_CPUID, "ARCH_SET_CPUID"},
	{linux.ARCH_GET_XCOMP_SUPP, "ARCH_GET_XCOMP_SUPP"},
	{linux.ARCH_GET_XCOMP_PERM, "ARCH_GET_XCOMP_PERM"},
	{linux.ARCH_REQ_XCOMP_PERM, "ARCH_REQ_XCOMP_PERM"},
	{linux.ARCH_MAP_VDSO_X32, "ARCH_MAP_VDSO_X32"},
	{linux.ARCH_MAP_VDSO_32, "ARCH_MAP_VDSO_32"},
	{linux.ARCH_MAP_VDSO_64, "ARCH_MAP_VDSO_64"},
	{linux.ARCH_SHSTK_ENABLE, "ARCH_SHSTK_ENABLE"},
	{linux.ARCH_SHSTK_DISABLE, "ARCH_SHSTK_DISABLE"},
	{linux.ARCH_SHSTK_LOCK, "ARCH_SHSTK_LOCK"},
	{linux.ARCH_SHSTK_UNLOCK, "ARCH_SHSTK_UNLOCK"},
	{linux.ARCH_SHSTK_STATUS, "ARCH_SHSTK_STATUS"},
}

var clockNames = []flagName{
	{linux.CLOCK_REALTIME, "CLOCK_REALTIME"},
	{linux.CLOCK_MONOTONIC, "CLOCK_MONOTONIC"},
	{linux.CLOCK_PROCESS_CPUTIME_ID, "CLOCK_PROCESS_CPUTIME_ID"},
	{linux.CLOCK_THREAD_CPUTIME_ID, "CLOCK_THREAD_CPUTIME_ID"},
	{linux.CLOCK_MONOTONIC_RAW, "CLOCK_MONOTONIC_RAW"},
	{linux.CLOCK_REALTIME_COARSE, "CLOCK_REALTIME_COARSE"},
	{linux.CLOCK_MONOTONIC_COARSE, "CLOCK_MONOTONIC_COARSE"},
	{linux.CLOCK_BOOTTIME, "CLOCK_BOOTTIME"},
	{linux.CLOCK_REALTIME_ALARM, "CLOCK_REALTIME_ALARM"},
	{linux.CLOCK_BOOTTIME_ALARM, "CLOCK_BOOTTIME_ALARM"},
	{linux.CLOCK_TAI, "CLOCK_TAI"},
}

var grndNames = []flagName{
	{linux.GRND_NONBLOCK, "GRND_NONBLOCK"},
	{linux.GRND_RANDOM, "GRND_RANDOM"},
	{linux.GRND_INSECURE, "GRND_INSECURE"},
}

var atFlagNames = []flagName{
	{linux.AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"},
	{linux.AT_REMOVEDIR, "AT_REMOVEDIR"},
	{linux.AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"},
	{linux.AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT"},
	{linux.AT_EMPTY_PATH, "AT_EMPTY_PATH"},
}

// formatArg appends argument i of kind k.
func (c *call) formatArg(b []byte, i int, k argKind) []byte {
	a := c.args[i].Value
	next := func() uint64 {
		if i+1 < len(c.args) {
			return uint64(c.args[i+1].Value)
		}
		return 0
	}
	ok := c.errno == 0
	switch k {
	case intArg:
		return strconv.AppendInt(b, int64(int32(a)), 10)
	case longArg:
		return strconv.AppendInt(b, int64(a), 10)
	case uintArg:
		return strconv.AppendUint(b, uint64(a), 10)
	case ptrArg:
		return appendPointer(b, a)
	case fdArg:
		if int32(a) == linux.AT_FDCWD {
			return append(b, "AT_FDCWD"...)
		}
		return strconv.AppendInt(b, int64(int32(a)), 10)
	case pathArg:
		return c.appendString(b, a)
	case inBufArg:
		return c.appendBuffer(b, a, next())
	case outBufArg:
		if !ok {
			return appendPointer(b, a)
		}
		return c.appendBuffer(b, a, uint64(c.rval))
	case iovecArg:
		return c.appendIovecs(b, a, int(int32(next())))
	case protArg:
		return appendFlags(b, uint64(uint32(a)), protNames, "PROT_NONE")
	case mapFlagsArg:
		v := uint64(uint32(a))
		b = appendValue(b, int64(v&linux.MAP_TYPE), mapTypeNames)
		if rest := v &^ linux.MAP_TYPE; rest != 0 {
			b = append(b, '|')
			b = appendFlags(b, rest, mapFlagNames, "")
		}
		return b
	case archPrctlArg:
		return appendValue(b, int64(int32(a)), archPrctlNames)
	case archPrctlAddr:
		code := int32(c.args[0].Value)
		if (code == linux.ARCH_GET_FS || code == linux.ARCH_GET_GS) && ok && c.mem != nil {
			var v [8]byte
			if n, err := c.mem.CopyIn(a, v[:]); err == nil && n == 8 {
				b = append(b, '[')
				b = appendHex(b, binary.LittleEndian.Uint64(v[:]))
				return append(b, ']')
			}
		}
		return appendPointer(b, a)
	case clockIDArg:
		return appendValue(b, int64(int32(a)), clockNames)
	case timespecOutArg:
		return c.appendTimespec(b, a)
	case grndFlagsArg:
		return appendFlags(b, uint64(uint32(a)), grndNames, "")
	case utsnameOutArg:
		return c.appendUtsname(b, a)
	case atFlagsArg:
		return appendFlags(b, uint64(uint32(a)), atFlagNames, "")
	case octalArg:
		b = append(b, '0')
		return strconv.AppendUint(b, uint64(uint32(a)), 8)
	}
	return appendHex(b, uint64(a))
}

// formatReturn appends a successful return value.
func (c *call) formatReturn(b []byte, k retKind) []byte {
	if k == retHex {
		return appendHex(b, uint64(c.rval))
	}
	return strconv.AppendInt(b, int64(c.rval), 10)
}

func (c *call) appendTimespec(b []byte, addr uintptr) []byte {
	if c.errno != 0 || c.mem == nil || addr == 0 {
		return appendPointer(b, addr)
	}
	var raw [linux.TimespecSize]byte
	if n, err := c.mem.CopyIn(addr, raw[:]); err != nil || n != len(raw) {
		return appendPointer(b, addr)
	}
	var ts linux.Timespec
	ts.Decode(raw[:])
	b = append(b, "{tv_sec="...)
	b = strconv.AppendInt(b, ts.Sec, 10)
	b = append(b, ", tv_nsec="...)
	b = strconv.AppendInt(b, ts.Nsec, 10)
	return append(b, '}')
}

func (c *call) appendUtsname(b []byte, addr uintptr) []byte {
	if c.errno != 0 || c.mem == nil {
		return appendPointer(b, addr)
	}
	var raw [linux.UtsnameSize]byte
	if n, err := c.mem.CopyIn(addr, raw[:]); err != nil || n != len(raw) {
		return appendPointer(b, addr)
	}
	field := func(i int) []byte {
		f := raw[i*linux.UTSLen : (i+1)*linux.UTSLen]
		for j, ch := range f {
			if ch == 0 {
				return f[:j]
			}
		}
		return f
	}
	b = append(b, "{sysname="...)
	b = appendQuoted(b, field(0), false)
	b = append(b, ", nodename="...)
	b = appendQuoted(b, field(1), false)
	b = append(b, ", ...}"...)
	return b
}

// maxIovecsShown bounds how many iovecs a line shows.
const maxIovecsShown = 32

func (c *call) appendIovecs(b []byte, addr uintptr, cnt int) []byte {
	if c.mem == nil || cnt <= 0 || cnt > linux.UIO_MAXIOV {
		return appendPointer(b, addr)
	}
	shown := min(cnt, maxIovecsShown)
	raw := make([]byte, shown*linux.IovecSize)
	if n, err := c.mem.CopyIn(addr, raw); err != nil || n != len(raw) {
		return appendPointer(b, addr)
	}
	b = append(b, '[')
	for i := 0; i < shown; i++ {
		var iov linux.Iovec
		iov.Decode(raw[i*linux.IovecSize:])
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, "{iov_base="...)
		b = c.appendBuffer(b, uintptr(iov.Base), iov.Len)
		b = append(b, ", iov_len="...)
		b = strconv.AppendUint(b, iov.Len, 10)
		b = append(b, '}')
	}
	if shown < cnt {
		b = append(b, ", ..."...)
	}
	return append(b, ']')
}
