package strace

import (
	"testing"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"golang.org/x/sys/unix"
)

// fakeMem is guest memory at a base address.
type fakeMem struct {
	base uintptr
	b    []byte
}

func (m *fakeMem) CopyIn(addr uintptr, dst []byte) (int, error) {
	if addr < m.base || addr-m.base >= uintptr(len(m.b)) {
		return 0, unix.EFAULT
	}
	n := copy(dst, m.b[addr-m.base:])
	if n < len(dst) {
		return n, unix.EFAULT
	}
	return n, nil
}

func (m *fakeMem) CopyInString(addr uintptr, maxLen int) (string, error) {
	if addr < m.base || addr-m.base >= uintptr(len(m.b)) {
		return "", unix.EFAULT
	}
	for i, c := range m.b[addr-m.base:] {
		if c == 0 {
			return string(m.b[addr-m.base : addr-m.base+uintptr(i)]), nil
		}
		if i >= maxLen {
			return "", unix.ENAMETOOLONG
		}
	}
	return "", unix.EFAULT
}

func format(mem Memory, nr uintptr, a [6]uintptr, rval uintptr, errno linux.Errno, exited bool) string {
	var args arch.SyscallArguments
	for i, v := range a {
		args[i].Value = v
	}
	return string(formatCall(nil, mem, linux.SyscallName(nr), nr, &args, rval, errno, exited, DefaultStringLimit))
}

func TestFormat(t *testing.T) {
	mem := &fakeMem{base: 0x1000, b: make([]byte, 256)}
	copy(mem.b, "hello, world\n\x00")
	copy(mem.b[64:], "\x1b[0m\x001\x00\xff\"\\\t")
	copy(mem.b[128:], "0123456789abcdefghijklmnopqrstuvwxyzABCDEF\x00")
	cases := []struct {
		nr     uintptr
		args   [6]uintptr
		rval   uintptr
		errno  linux.Errno
		exited bool
		want   string
	}{
		{linux.SYS_WRITE, [6]uintptr{1, 0x1000, 13}, 13, 0, false, `write(1, "hello, world\n", 13) = 13`},
		{linux.SYS_WRITE, [6]uintptr{1, 0x1040, 9}, 9, 0, false, `write(1, "\33[0m\0001\0\377\"", 9) = 9`},
		{linux.SYS_WRITE, [6]uintptr{1, 0x1080, 42}, 42, 0, false, `write(1, "0123456789abcdefghijklmnopqrstuv"..., 42) = 42`},
		{linux.SYS_WRITE, [6]uintptr{7, 0xdead0000, 5}, 0, unix.EBADF, false, `write(7, 0xdead0000, 5) = -1 EBADF (Bad file descriptor)`},
		{linux.SYS_READ, [6]uintptr{0, 0x1000, 100}, 5, 0, false, `read(0, "hello", 100) = 5`},
		{linux.SYS_MMAP, [6]uintptr{0, 8192, 3, 0x22, ^uintptr(0), 0}, 0x7f0000000000, 0, false,
			`mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0x0) = 0x7f0000000000`},
		{linux.SYS_MPROTECT, [6]uintptr{0x4a0000, 16384, 0}, 0, 0, false, `mprotect(0x4a0000, 16384, PROT_NONE) = 0`},
		{linux.SYS_ARCH_PRCTL, [6]uintptr{0x1002, 0x4c8380}, 0, 0, false, `arch_prctl(ARCH_SET_FS, 0x4c8380) = 0`},
		{linux.SYS_ARCH_PRCTL, [6]uintptr{0x3001, 0}, 0, unix.EINVAL, false, `arch_prctl(12289, NULL) = -1 EINVAL (Invalid argument)`},
		{linux.SYS_CLOCK_GETTIME, [6]uintptr{99, 0x1000}, 0, unix.EINVAL, false, `clock_gettime(99, 0x1000) = -1 EINVAL (Invalid argument)`},
		{linux.SYS_GETRANDOM, [6]uintptr{0x1000, 8, 1}, 0, unix.EFAULT, false, `getrandom(0x1000, 8, GRND_NONBLOCK) = -1 EFAULT (Bad address)`},
		{linux.SYS_RSEQ, [6]uintptr{0x4c97e0, 0x20, 0, 0x53053053}, 0, unix.ENOSYS, false, `rseq(0x4c97e0, 0x20, 0, 0x53053053) = -1 ENOSYS (Function not implemented)`},
		{linux.SYS_EXIT_GROUP, [6]uintptr{0}, 0, 0, true, `exit_group(0) = ?`},
		{linux.SYS_BRK, [6]uintptr{0}, 0x4c9000, 0, false, `brk(NULL) = 0x4c9000`},
		{linux.SYS_NEWFSTATAT, [6]uintptr{1, 0x100d, 0x2000, 0x1000}, 0, unix.ENOSYS, false, `newfstatat(1, "", 0x2000, AT_EMPTY_PATH) = -1 ENOSYS (Function not implemented)`},
		{linux.SYS_READLINK, [6]uintptr{0xbad, 0x2000, 4096}, 0, unix.ENOSYS, false, `readlink(0xbad, 0x2000, 4096) = -1 ENOSYS (Function not implemented)`},
		{9999, [6]uintptr{1, 2, 3, 4, 5, 6}, 0, unix.ENOSYS, false, `syscall_9999(0x1, 0x2, 0x3, 0x4, 0x5, 0x6) = -1 ENOSYS (Function not implemented)`},
	}
	for _, c := range cases {
		if got := format(mem, c.nr, c.args, c.rval, c.errno, c.exited); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
}

func TestFormatLine(t *testing.T) {
	var args arch.SyscallArguments
	got := string(Format(nil, nil, "getppid", linux.SYS_GETPPID, &args, 0, 0, false, 32))
	if got != "[pid 0] getppid() = 0\n" {
		t.Errorf("line = %q", got)
	}
}
