package linux

import (
	"encoding/binary"
	"sync/atomic"
	"time"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

func init() {
	registrars = append(registrars, registerSysinfo)
	// The host is asked once, at start-up, before any seccomp filter
	// could forbid it.
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err == nil {
		totalRAM.Store(si.Totalram * uint64(max(si.Unit, 1)))
	}
}

// registerSysinfo registers sysinfo.
func registerSysinfo(b *tableBuilder) {
	b.partial(linux.SYS_SYSINFO, Sysinfo, "load averages are 0 (none are kept); no swap, shared or buffer memory")
}

// totalRAM is the memory sysinfo(2) reports as total: the host's, unless
// SetTotalRAM set another.
var totalRAM atomic.Uint64

// SetTotalRAM sets the total memory sysinfo(2) reports (for example the
// container's memory limit); 0 keeps the host's total.
func SetTotalRAM(bytes uint64) {
	if bytes != 0 {
		totalRAM.Store(bytes)
	}
}

// sysinfoSize is sizeof(struct sysinfo) on amd64; the fields used are at
// the offsets below (uptime 0, loads 8, totalram 32, freeram 40, ...,
// procs 80, mem_unit 104).
const sysinfoSize = 112

// Sysinfo implements sysinfo(2): uptime is the kernel's monotonic clock in
// seconds (rounded up, as Linux does), total memory is the configured
// total and free memory what the memory file has not allocated of it, in
// bytes (mem_unit 1); procs is the number of tasks.
func Sysinfo(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	k := t.Kernel()
	up := time.Duration(k.MonotonicNanos())
	secs := int64(up / time.Second)
	if up%time.Second != 0 {
		secs++
	}
	total := totalRAM.Load()
	if total == 0 {
		total = k.MemoryFile().Size()
	}
	used := k.MemoryFile().Usage()
	free := uint64(0)
	if used < total {
		free = total - used
	}
	var b [sysinfoSize]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(secs))
	binary.LittleEndian.PutUint64(b[32:], total)
	binary.LittleEndian.PutUint64(b[40:], free)
	// procs is a u16 in the ABI; Linux truncates the thread count too.
	binary.LittleEndian.PutUint16(b[80:], uint16(k.NumTasks()))
	binary.LittleEndian.PutUint32(b[104:], 1)
	if _, err := t.MemoryManager().CopyOut(args[0].Pointer(), b[:]); err != nil {
		return 0, unix.EFAULT
	}
	return 0, 0
}
