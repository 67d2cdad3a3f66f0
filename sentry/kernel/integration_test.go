package kernel_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/palisade-sandbox/palisade/platform/ptrace"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/pgalloc"
	"github.com/palisade-sandbox/palisade/sentry/strace"
	sys "github.com/palisade-sandbox/palisade/sentry/syscalls/linux"
)

// These tests run real static programs, built with gcc, on the ptrace
// platform. They need root (ptrace of the stubs, seccomp) and gcc.

func needIntegration(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("needs gcc")
	}
}

// buildC compiles src with gcc and extra flags into a temp dir.
func buildC(t testing.TB, name, src string, flags ...string) string {
	t.Helper()
	dir := t.TempDir()
	c := filepath.Join(dir, name+".c")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, name)
	args := append([]string{"-O1", "-o", bin, c}, flags...)
	if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", name, err, out)
	}
	return bin
}

type runResult struct {
	status kernel.ExitStatus
	stdout string
	trace  string
}

// run runs bin under the Sentry with argv and envv, capturing stdout.
func run(t testing.TB, bin string, argv, envv []string, trace bool) runResult {
	t.Helper()
	return runWithInput(t, bin, argv, envv, trace, "")
}

// runWithInput is run with stdin connected to a pipe holding input.
func runWithInput(t testing.TB, bin string, argv, envv []string, trace bool, input string) runResult {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inR.Close()
	if _, err := inW.WriteString(input); err != nil {
		t.Fatal(err)
	}
	inW.Close()
	f, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	mf, err := pgalloc.New("palisade-test", 4<<30)
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	p, err := ptrace.New()
	if err != nil {
		t.Fatalf("ptrace.New: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outc := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		r.Close()
		outc <- string(b)
	}()
	var traceBuf bytes.Buffer
	cfg := kernel.Config{
		Platform: p, MemoryFile: mf, SyscallTable: sys.AMD64,
		Stdio:     [3]int{int(inR.Fd()), int(w.Fd()), int(os.Stderr.Fd())},
		Randomize: true,
	}
	if trace {
		cfg.Tracer = strace.New(&traceBuf, sys.AMD64)
	}
	k, err := kernel.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := k.CreateProcess(kernel.CreateProcessArgs{File: f, Size: fi.Size(), Filename: bin, Argv: argv, Envv: envv})
	if err != nil {
		w.Close()
		<-outc
		p.Close()
		t.Fatalf("CreateProcess: %v", err)
	}
	tg.Start()
	status := tg.Wait()
	w.Close()
	out := <-outc
	if err := p.Close(); err != nil {
		t.Errorf("platform Close: %v", err)
	}
	if u := mf.Usage(); u != 0 {
		t.Errorf("memory file usage %d after exit", u)
	}
	checkNoStubs(t)
	return runResult{status: status, stdout: out, trace: traceBuf.String()}
}

// checkNoStubs fails if any process traced by or parented to this one is
// left.
func checkNoStubs(t testing.TB) {
	t.Helper()
	me := strconv.Itoa(os.Getpid())
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		var name, ppid, tracer string
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			v = strings.TrimSpace(v)
			switch k {
			case "Name":
				name = v
			case "PPid":
				ppid = v
			case "TracerPid":
				tracer = v
			}
		}
		if (ppid == me || tracer == me) && name != "gcc" {
			t.Errorf("process %s (%s) left behind (ppid %s, tracer %s)", e.Name(), name, ppid, tracer)
		}
	}
}

const helloC = `#include <stdio.h>
int main(void) { printf("hello, world\n"); return 0; }
`

func TestHello(t *testing.T) {
	needIntegration(t)
	bin := buildC(t, "hello", helloC, "-static")
	res := run(t, bin, []string{"hello"}, nil, true)
	if res.status != (kernel.ExitStatus{}) || res.stdout != "hello, world\n" {
		t.Errorf("status %v, stdout %q\ntrace:\n%s", res.status, res.stdout, res.trace)
	}
	if !strings.Contains(res.trace, `write(1, "hello, world\n", 13) = 13`) || !strings.Contains(res.trace, "exit_group(0) = ?") {
		t.Errorf("trace lacks the write or exit_group:\n%s", res.trace)
	}
}

func TestStaticPIE(t *testing.T) {
	needIntegration(t)
	bin := buildC(t, "hellopie", helloC, "-static-pie", "-fPIE")
	res := run(t, bin, []string{"hellopie"}, nil, false)
	if res.status != (kernel.ExitStatus{}) || res.stdout != "hello, world\n" {
		t.Errorf("status %v, stdout %q", res.status, res.stdout)
	}
}

func TestExit42(t *testing.T) {
	needIntegration(t)
	bin := buildC(t, "exit42", "int main(void) { return 42; }\n", "-static")
	res := run(t, bin, []string{"exit42"}, nil, false)
	if res.status != (kernel.ExitStatus{Code: 42}) {
		t.Errorf("status %v, want exit 42", res.status)
	}
}

func TestSyscallLoop(t *testing.T) {
	needIntegration(t)
	src := `#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
int main(void) {
	long sum = 0;
	for (int i = 0; i < 2000; i++) sum += syscall(SYS_getppid) + syscall(SYS_getpid);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_MONOTONIC, &b);
	int mono_ok = (b.tv_sec > a.tv_sec) || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec);
	struct timespec rt;
	int rt_ok = clock_gettime(CLOCK_REALTIME, &rt) == 0 && rt.tv_sec > 1600000000;
	int bad = clock_gettime(12345, &a);
	struct utsname u;
	uname(&u);
	unsigned char r[64];
	long n = getrandom(r, sizeof r, 0);
	long bad_flags = syscall(SYS_getrandom, r, 8, 0x100);
	long enosys = syscall(400);
	printf("sum=%ld mono=%d rt=%d bad=%d sys=%s node=%s mach=%s n=%ld badflags=%ld enosys=%ld tid=%ld\n",
		sum, mono_ok, rt_ok, bad, u.sysname, u.nodename, u.machine, n, bad_flags, enosys, syscall(SYS_gettid));
	return 0;
}
`
	bin := buildC(t, "loop", src, "-static")
	res := run(t, bin, []string{"loop"}, nil, false)
	want := "sum=2000 mono=1 rt=1 bad=-1 sys=Linux node=palisade mach=x86_64 n=64 badflags=-1 enosys=-1 tid=1\n"
	if res.status != (kernel.ExitStatus{}) || res.stdout != want {
		t.Errorf("status %v\nstdout %q\nwant   %q", res.status, res.stdout, want)
	}
}

func TestAuxvArgvEnv(t *testing.T) {
	needIntegration(t)
	src := `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
int main(int argc, char **argv) {
	unsigned char *r = (unsigned char *)getauxval(AT_RANDOM);
	int nz = 0;
	for (int i = 0; r && i < 16; i++) nz |= r[i];
	printf("argc=%d argv1=%s env=%s pagesz=%lu random=%d platform=%s execfn_ok=%d uid=%lu\n",
		argc, argv[1], getenv("FOO"), getauxval(AT_PAGESZ), nz != 0,
		(char *)getauxval(AT_PLATFORM), strcmp((char *)getauxval(AT_EXECFN), argv[2]) == 0,
		getauxval(AT_UID));
	return 0;
}
`
	bin := buildC(t, "auxv", src, "-static")
	res := run(t, bin, []string{"auxv", "one", bin}, []string{"FOO=bar baz", "X=1"}, false)
	want := "argc=3 argv1=one env=bar baz pagesz=4096 random=1 platform=x86_64 execfn_ok=1 uid=0\n"
	if res.status != (kernel.ExitStatus{}) || res.stdout != want {
		t.Errorf("status %v\nstdout %q\nwant   %q", res.status, res.stdout, want)
	}
}

func TestMallocAndBrk(t *testing.T) {
	needIntegration(t)
	src := `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
int main(void) {
	size_t big = 64 << 20;
	unsigned char *p = malloc(big);          /* mmap path */
	if (!p) return 1;
	memset(p, 1, big);
	long sum = 0;
	for (size_t i = 0; i < big; i += 4096) sum += p[i];
	free(p);
	char *b0 = sbrk(0);
	char *b1 = sbrk(1 << 20);                /* brk growth */
	if (b1 == (void *)-1) return 2;
	memset(b1, 2, 1 << 20);
	char *m = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	m[8191] = 3;
	int unmapped = munmap(m, 8192);
	void *bad = mmap(0, 4096, PROT_READ, MAP_PRIVATE, 99, 0);
	printf("sum=%ld grew=%d last=%d unmap=%d badfd=%d\n", sum, (int)((char *)sbrk(0) - b0) >= (1 << 20), b1[(1 << 20) - 1], unmapped, bad == MAP_FAILED);
	return 0;
}
`
	bin := buildC(t, "malloc", src, "-static")
	res := run(t, bin, []string{"malloc"}, nil, false)
	want := fmt.Sprintf("sum=%d grew=1 last=2 unmap=0 badfd=1\n", (64<<20)/4096)
	if res.status != (kernel.ExitStatus{}) || res.stdout != want {
		t.Errorf("status %v\nstdout %q\nwant   %q", res.status, res.stdout, want)
	}
}

func TestNullDereference(t *testing.T) {
	needIntegration(t)
	src := `#include <stdio.h>
int main(void) { volatile int *p = 0; printf("before\n"); fflush(stdout); return *p; }
`
	bin := buildC(t, "null", src, "-static")
	res := run(t, bin, []string{"null"}, nil, false)
	if res.status.ShellStatus() != 139 || res.stdout != "before\n" {
		t.Errorf("status %v (%d), stdout %q; want SIGSEGV (139)", res.status, res.status.ShellStatus(), res.stdout)
	}
}

func TestWriteToReadOnly(t *testing.T) {
	needIntegration(t)
	src := `#include <sys/mman.h>
int main(void) {
	char *m = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	m[0] = 1;
	mprotect(m, 4096, PROT_READ);
	if (m[0] != 1) return 3;
	m[0] = 2;
	return 0;
}
`
	bin := buildC(t, "rofault", src, "-static")
	res := run(t, bin, []string{"rofault"}, nil, false)
	if res.status.ShellStatus() != 139 {
		t.Errorf("status %v, want SIGSEGV", res.status)
	}
}

func TestReadWritevErrors(t *testing.T) {
	needIntegration(t)
	src := `#include <stdio.h>
#include <errno.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/uio.h>
int main(void) {
	char buf[100];
	char *ro = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	errno = 0; ssize_t rofault = read(0, ro, 10); int e4 = errno;
	ssize_t n = read(0, buf, sizeof buf);
	ssize_t eof = read(0, buf, sizeof buf);
	struct iovec iov[2] = {{"got: ", 5}, {buf, n > 0 ? n : 0}};
	ssize_t w = writev(1, iov, 2);
	errno = 0; ssize_t ebadf = read(5, buf, 1); int e1 = errno;
	volatile char *bad = (char *)1;
	errno = 0; ssize_t efault = write(1, (const void *)bad, 10); int e2 = errno;
	errno = 0; ssize_t einval = writev(1, iov, 1025); int e3 = errno;
	printf("n=%zd eof=%zd w=%zd ebadf=%zd/%d efault=%zd/%d einval=%zd/%d ro=%zd/%d\n",
		n, eof, w, ebadf, e1, efault, e2, einval, e3, rofault, e4);
	return 0;
}
`
	bin := buildC(t, "rw", src, "-static", "-Wno-stringop-overread")
	res := runWithInput(t, bin, []string{"rw"}, nil, false, "hello\n")
	// A read into a read-only page fails without consuming the input,
	// which the next read then gets.
	want := "got: hello\nn=6 eof=0 w=11 ebadf=-1/9 efault=-1/14 einval=-1/22 ro=-1/14\n"
	if res.status != (kernel.ExitStatus{}) || res.stdout != want {
		t.Errorf("status %v\nstdout %q\nwant   %q", res.status, res.stdout, want)
	}
}
