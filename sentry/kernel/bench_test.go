package kernel_test

import (
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/palisade-sandbox/palisade/sentry/kernel"
)

// getppidLoopC is a libc-free static program that makes argv[1] getppid
// calls and exits, so that the only syscalls are the ones measured.
const getppidLoopC = `
__asm__(".globl _start\n_start:\n\tmov %rsp, %rdi\n\tcall cmain\n\thlt\n");
static long sys(long nr, long a) {
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a) : "rcx", "r11", "memory");
	return r;
}
void cmain(long *sp) {
	long n = 0;
	if (sp[0] > 1)
		for (char *p = (char *)sp[2]; *p >= '0' && *p <= '9'; p++) n = n * 10 + (*p - '0');
	for (long i = 0; i < n; i++) sys(110, 0); /* getppid */
	sys(231, 0); /* exit_group */
}
`

// minimalTracerC is the ptrace floor: a tracer that serves every syscall
// of its child with PTRACE_SYSEMU and nothing else.
const minimalTracerC = `#include <signal.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
	pid_t pid = fork();
	if (pid == 0) { ptrace(PTRACE_TRACEME, 0, 0, 0); raise(SIGSTOP); execv(argv[1], argv + 1); _exit(127); }
	int st;
	waitpid(pid, &st, 0);
	ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_EXITKILL);
	/* Let execve run natively: entry and exit stops. */
	ptrace(PTRACE_SYSCALL, pid, 0, 0); waitpid(pid, &st, 0);
	ptrace(PTRACE_SYSCALL, pid, 0, 0); waitpid(pid, &st, 0);
	for (;;) {
		ptrace(31 /* PTRACE_SYSEMU */, pid, 0, 0);
		if (waitpid(pid, &st, 0) < 0 || !WIFSTOPPED(st)) return 1;
		struct user_regs_struct r;
		ptrace(PTRACE_GETREGS, pid, 0, &r);
		if (r.orig_rax == 231) { kill(pid, SIGKILL); waitpid(pid, &st, 0); return 0; }
		r.rax = r.orig_rax == 110 ? 0 : -38;
		ptrace(PTRACE_SETREGS, pid, 0, &r);
	}
}
`

// BenchmarkGetppid measures one getppid round trip through the Sentry on
// the ptrace platform, through a minimal C PTRACE_SYSEMU tracer, and
// natively, all in the same run. Each side runs the loop with b.N calls and
// with none; the difference divided by b.N excludes startup. It reports
// ns per call for each and the ratios of the Sentry to the tracer (the
// target is at most 1.3) and to native.
func BenchmarkGetppid(b *testing.B) {
	needIntegration(b)
	loop := buildC(b, "getppid", getppidLoopC, "-static", "-nostdlib", "-fno-stack-protector")
	tracer := buildC(b, "tracer", minimalTracerC)
	n := strconv.Itoa(b.N)

	timeIt := func(f func(arg string)) float64 {
		start := time.Now()
		f(n)
		d := time.Since(start)
		start = time.Now()
		f("0")
		d -= time.Since(start)
		return float64(d.Nanoseconds()) / float64(b.N)
	}
	command := func(name string, args ...string) func(string) {
		return func(arg string) {
			if out, err := exec.Command(name, append(args, arg)...).CombinedOutput(); err != nil {
				b.Fatalf("%s: %v\n%s", name, err, out)
			}
		}
	}
	b.ResetTimer()
	sentry := timeIt(func(arg string) {
		if res := run(b, loop, []string{"getppid", arg}, nil, false); res.status != (kernel.ExitStatus{}) {
			b.Fatalf("status %v", res.status)
		}
	})
	floor := timeIt(command(tracer, loop))
	native := timeIt(command(loop))
	b.StopTimer()
	b.ReportMetric(sentry, "sentry-ns/call")
	b.ReportMetric(floor, "tracer-ns/call")
	b.ReportMetric(native, "native-ns/call")
	if floor > 0 {
		b.ReportMetric(sentry/floor, "x-tracer")
	}
	if native > 0 {
		b.ReportMetric(sentry/native, "x-native")
	}
}
