// Package e2e runs real programs under bin/runsc and checks what they print
// and how they exit. The static tests need only the platform and the first
// slice of the Sentry; later files add dynamically linked programs.
package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sandbox/palisade/test/internal/testutil"
)

// staticProgram compiles the C program csrc/name.c into a temporary
// directory with -O2 and flags (-static unless flags say otherwise).
func staticProgram(t *testing.T, name string, flags ...string) string {
	t.Helper()
	src := filepath.Join(testutil.RepoRoot(t), "test", "e2e", "csrc", name+".c")
	if len(flags) == 0 {
		flags = []string{"-static"}
	}
	return testutil.CompileC(t, t.TempDir(), name, src, append([]string{"-O2"}, flags...)...)
}

func TestStaticHello(t *testing.T) {
	testutil.RequireRoot(t)
	runsc := testutil.Runsc(t)
	testutil.NoLeftovers(t, runsc)
	prog := staticProgram(t, "hello")
	res := testutil.Run(t, time.Minute, "", nil, runsc, "do", prog, "one", "two words")
	want := "Hello from the sandbox!\narg 1: one\narg 2: two words\n"
	if res.ExitCode != 0 || res.Stdout != want {
		t.Fatalf("runsc do hello: exit %d, stdout %q, stderr %q; want exit 0, stdout %q", res.ExitCode, res.Stdout, res.Stderr, want)
	}
}

func TestStaticPIEHello(t *testing.T) {
	testutil.RequireRoot(t)
	runsc := testutil.Runsc(t)
	testutil.NoLeftovers(t, runsc)
	prog := staticProgram(t, "hello", "-static-pie", "-fPIE")
	res := testutil.Run(t, time.Minute, "", nil, runsc, "do", prog)
	if res.ExitCode != 0 || res.Stdout != "Hello from the sandbox!\n" {
		t.Fatalf("runsc do static-pie hello: exit %d, stdout %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
}

func TestStaticExitCode(t *testing.T) {
	testutil.RequireRoot(t)
	runsc := testutil.Runsc(t)
	testutil.NoLeftovers(t, runsc)
	prog := staticProgram(t, "exit42")
	res := testutil.Run(t, time.Minute, "", nil, runsc, "do", prog)
	if res.ExitCode != 42 {
		t.Fatalf("runsc do exit42: exit %d, stderr %q; want 42", res.ExitCode, res.Stderr)
	}
}

func TestStaticSyscallLoop(t *testing.T) {
	testutil.RequireRoot(t)
	runsc := testutil.Runsc(t)
	testutil.NoLeftovers(t, runsc)
	prog := staticProgram(t, "syscall_loop")
	res := testutil.Run(t, time.Minute, "", nil, runsc, "do", prog)
	if res.ExitCode != 0 || !strings.HasSuffix(res.Stdout, "done\n") || !strings.Contains(res.Stdout, "heap ok; pid 1; Linux x86_64") {
		t.Fatalf("runsc do syscall_loop: exit %d, stdout %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
}

func TestStraceNamesCalls(t *testing.T) {
	testutil.RequireRoot(t)
	runsc := testutil.Runsc(t)
	testutil.NoLeftovers(t, runsc)
	prog := staticProgram(t, "exit42")
	res := testutil.Run(t, time.Minute, "", nil, runsc, "do", "--strace", prog)
	if res.ExitCode != 42 {
		t.Fatalf("exit %d, stderr %q", res.ExitCode, res.Stderr)
	}
	for _, want := range []string{"exit_group(42", "brk(", "arch_prctl("} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("strace output lacks %q:\n%s", want, res.Stderr)
		}
	}
}

func TestMissingProgram(t *testing.T) {
	runsc := testutil.Runsc(t)
	res := testutil.Run(t, time.Minute, "", nil, runsc, "do", "/nonexistent/program")
	lines := strings.Split(strings.TrimSpace(res.Stderr), "\n")
	if res.ExitCode == 0 || len(lines) != 1 || !strings.Contains(lines[0], "/nonexistent/program") {
		t.Fatalf("runsc do of a missing file: exit %d, stderr %q; want one error line naming the file", res.ExitCode, res.Stderr)
	}
}

func TestNotAnELF(t *testing.T) {
	runsc := testutil.Runsc(t)
	res := testutil.Run(t, time.Minute, "", nil, runsc, "do", "/etc/passwd")
	if res.ExitCode == 0 || strings.Count(strings.TrimSpace(res.Stderr), "\n") != 0 {
		t.Fatalf("runsc do of a non-ELF file: exit %d, stderr %q; want one error line", res.ExitCode, res.Stderr)
	}
}

func TestStaticSegfaultExitStatus(t *testing.T) {
	testutil.RequireRoot(t)
	runsc := testutil.Runsc(t)
	testutil.NoLeftovers(t, runsc)
	prog := staticProgram(t, "segv")
	res := testutil.Run(t, time.Minute, "", nil, runsc, "do", prog)
	if res.ExitCode != 128+11 || res.Stdout != "about to fault\n" {
		t.Fatalf("runsc do segv: exit %d, stdout %q, stderr %q; want exit 139", res.ExitCode, res.Stdout, res.Stderr)
	}
}
