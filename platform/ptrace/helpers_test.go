package ptrace

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
)

// Guest layout used by the tests.
const (
	codeAddr = 0x400000
	dataAddr = 0x500000
	pageSize = linux.PageSize
)

func requireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("ptrace platform tests need root")
	}
}

// newTestPlatform starts a platform that is closed, and checked for
// leftover stub processes, when the test ends.
func newTestPlatform(tb testing.TB) *Platform {
	tb.Helper()
	requireRoot(tb)
	p, err := New()
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() {
		if err := p.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
		checkNoStubs(tb)
	})
	return p
}

// memFile is a memfd standing in for the Sentry's memory file, with the
// Sentry's own mapping of it.
type memFile struct {
	fd  int
	mem []byte
}

func newMemFile(tb testing.TB, size int) *memFile {
	tb.Helper()
	fd, err := unix.MemfdCreate("ptrace-test", unix.MFD_CLOEXEC)
	if err != nil {
		tb.Fatalf("memfd_create: %v", err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		tb.Fatalf("ftruncate: %v", err)
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		tb.Fatalf("mmap: %v", err)
	}
	tb.Cleanup(func() {
		unix.Munmap(mem)
		unix.Close(fd)
	})
	return &memFile{fd: fd, mem: mem}
}

// newAS returns an address space with code at codeAddr (read/exec, from
// page 0 of mf) and, if data, a read/write page at dataAddr (page 1).
func newAS(tb testing.TB, p *Platform, mf *memFile, code []byte, data bool) platform.AddressSpace {
	tb.Helper()
	as, err := p.NewAddressSpace()
	if err != nil {
		tb.Fatalf("NewAddressSpace: %v", err)
	}
	tb.Cleanup(as.Release)
	copy(mf.mem, code)
	if err := as.MapFile(codeAddr, mf.fd, 0, pageSize, platform.ReadExec); err != nil {
		tb.Fatalf("MapFile code: %v", err)
	}
	if data {
		if err := as.MapFile(dataAddr, mf.fd, pageSize, pageSize, platform.ReadWrite); err != nil {
			tb.Fatalf("MapFile data: %v", err)
		}
	}
	return as
}

func newState(p *Platform, rip uint64) *platform.State {
	return &platform.State{
		Regs: linux.PtraceRegs{Rip: rip, Rsp: dataAddr + pageSize - 64, Cs: 0x33, Ss: 0x2b, Eflags: 0x202},
		FP:   p.InitialFPState(),
	}
}

// lockedContext locks the calling goroutine to its OS thread and returns a
// new context; the returned func releases both (call it deferred).
func lockedContext(tb testing.TB, p *Platform) (platform.Context, func()) {
	tb.Helper()
	runtime.LockOSThread()
	c, err := p.NewContext()
	if err != nil {
		runtime.UnlockOSThread()
		tb.Fatalf("NewContext: %v", err)
	}
	return c, func() {
		c.Release()
		runtime.UnlockOSThread()
	}
}

// Machine code helpers (amd64).
func movabsRAX(v uint64) []byte { return append([]byte{0x48, 0xb8}, le64(v)...) }
func movabsRDI(v uint64) []byte { return append([]byte{0x48, 0xbf}, le64(v)...) }
func movEAX(v uint32) []byte    { return append([]byte{0xb8}, le32(v)...) }

var (
	insSyscall   = []byte{0x0f, 0x05}
	insMovRDIRAX = []byte{0x48, 0x89, 0xc7} // mov rdi, rax
	insMovRDIRCX = []byte{0x48, 0x89, 0xcf} // mov rdi, rcx
	insLoadECX   = []byte{0x8b, 0x08}       // mov ecx, [rax]
	insStoreECX8 = []byte{0x89, 0x48, 0x08} // mov [rax+8], ecx
	insStoreECX  = []byte{0x89, 0x08}       // mov [rax], ecx
	insJmpSelf   = []byte{0xeb, 0xfe}       // jmp .
	insUD2       = []byte{0x0f, 0x0b}
	insInt3      = []byte{0xcc}
	insInt80     = []byte{0xcd, 0x80}
	insMovqRDIX0 = []byte{0x66, 0x48, 0x0f, 0x7e, 0xc7} // movq rdi, xmm0
	insMovqX1RDI = []byte{0x66, 0x48, 0x0f, 0x6e, 0xcf} // movq xmm1, rdi
	// xor edx, edx; xor ecx, ecx; mov eax, 1; div ecx
	insDivZero = []byte{0x31, 0xd2, 0x31, 0xc9, 0xb8, 0x01, 0, 0, 0, 0xf7, 0xf1}
)

func le64(v uint64) []byte { b := make([]byte, 8); binary.LittleEndian.PutUint64(b, v); return b }
func le32(v uint32) []byte { b := make([]byte, 4); binary.LittleEndian.PutUint32(b, v); return b }

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// checkNoStubs fails the test if a stub process of this test binary is
// still alive (or a zombie): any process that is our child, is traced by
// one of our threads, or runs our executable. Stubs die asynchronously
// after SIGKILL, so it waits a little for them to go.
func checkNoStubs(tb testing.TB) {
	tb.Helper()
	var left []string
	for i := 0; i < 200; i++ {
		left = stubProcesses()
		if len(left) == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	tb.Errorf("stub processes left behind: %s", strings.Join(left, "; "))
}

func stubProcesses() []string {
	self := os.Getpid()
	selfComm := readComm(self)
	ours := map[string]bool{}
	if tasks, err := os.ReadDir("/proc/self/task"); err == nil {
		for _, t := range tasks {
			ours[t.Name()] = true
		}
	}
	var left []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == self {
			continue
		}
		// Stubs are clones of this binary: same name, or our children.
		st := readStatus(d + "/status")
		if st == nil || (st["Name"] != selfComm && st["PPid"] != strconv.Itoa(self)) {
			continue
		}
		tasks, _ := filepath.Glob(d + "/task/[0-9]*")
		for _, td := range tasks {
			if st := readStatus(td + "/status"); st != nil {
				left = append(left, fmt.Sprintf("%s (%s, state %s, ppid %s, tracer %s, traced by us %v)",
					td, st["Name"], st["State"], st["PPid"], st["TracerPid"], ours[st["TracerPid"]]))
			}
		}
	}
	return left
}

func readComm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

func readStatus(path string) map[string]string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}
