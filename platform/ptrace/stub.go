package ptrace

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

// Stub address-space layout. The stub code is one page at the very top of
// the user address space; everything below stubBase belongs to the guest.
const (
	// userTop is TASK_SIZE on amd64 with 4-level paging: one page below
	// 1<<47.
	userTop = 0x7fff_ffff_f000

	stubSize = linux.PageSize
	stubBase = userTop - stubSize

	// minUserAddress is the default vm.mmap_min_addr: the host refuses
	// lower fixed mappings anyway.
	minUserAddress = 0x10000
	// maxUserAddress is one past the highest guest address.
	maxUserAddress = stubBase
)

// Offsets of the code snippets in the stub page. The stub has no stack and
// no data: none of its code touches memory.
const (
	// stubEntry is where the freshly cloned master jumps, with the stub
	// filter installed: munmap(0, stubBase) drops the copy of the Sentry's
	// memory, then int3 hands control to the tracer.
	stubEntry = 0x00
	// stubSyscall is "syscall; int3": the tracer sets the registers of a
	// stopped stub thread to make one system call and regains control at
	// the int3 (one ptrace stop per injected call).
	stubSyscall = 0x20
	// stubSyscallTrap is the Rip reported after the int3 of stubSyscall.
	stubSyscallTrap = stubSyscall + 3
	// stubClone is "syscall; test rax,rax; jz park; int3; park: jmp park":
	// the caller of an injected clone gets the int3 stop, while the child
	// (rax == 0) spins in park without touching memory or making system
	// calls until its tracer takes it over.
	stubClone = 0x30
	// stubCloneTrap is the Rip reported after the int3 of stubClone.
	stubCloneTrap = stubClone + 8
	// stubPark is the park loop of stubClone.
	stubPark = stubClone + 8
)

// stubCode returns the contents of the stub page.
func stubCode() []byte {
	code := make([]byte, stubSize)
	// Fill with int3 so that a stray jump traps.
	for i := range code {
		code[i] = 0xcc
	}
	entry := []byte{
		0xb8, byte(unix.SYS_MUNMAP), 0, 0, 0, // mov eax, SYS_munmap
		0x31, 0xff, // xor edi, edi
		0x48, 0xbe, 0, 0, 0, 0, 0, 0, 0, 0, // movabs rsi, stubBase
		0x0f, 0x05, // syscall
		0xcc, // int3
	}
	binary.LittleEndian.PutUint64(entry[9:], stubBase)
	copy(code[stubEntry:], entry)
	copy(code[stubSyscall:], []byte{
		0x0f, 0x05, // syscall
		0xcc, // int3
	})
	copy(code[stubClone:], []byte{
		0x0f, 0x05, // syscall
		0x48, 0x85, 0xc0, // test rax, rax
		0x74, 0x01, // jz park
		0xcc,       // int3
		0xeb, 0xfe, // park: jmp park
	})
	return code
}

// stubCodeFile returns a sealed memfd holding stubCode.
func stubCodeFile() (int, error) {
	fd, err := unix.MemfdCreate("palisade-stub", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, fmt.Errorf("stub code memfd: %w", err)
	}
	code := stubCode()
	for off := 0; off < len(code); {
		n, err := unix.Pwrite(fd, code[off:], int64(off))
		if err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("writing stub code: %w", err)
		}
		off += n
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("sealing stub code: %w", err)
	}
	return fd, nil
}
