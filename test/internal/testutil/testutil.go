// Package testutil holds helpers shared by Palisade's test tiers: finding
// the repository and the runsc binary, compiling C test programs, running
// commands with a deadline, and proving that no sandbox process outlived a
// test.
package testutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RepoRoot returns the repository root (the directory holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test directory")
		}
		dir = parent
	}
}

// Runsc returns the absolute path of the runsc binary: $RUNSC, or
// bin/runsc in the repository. It skips the test when neither exists, so
// that `go test ./...` before `make` says what is missing.
func Runsc(t testing.TB) string {
	t.Helper()
	p := os.Getenv("RUNSC")
	if p == "" {
		p = filepath.Join(RepoRoot(t), "bin", "runsc")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatalf("runsc path: %v", err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Skipf("runsc binary not built (%v); run make", err)
	}
	return abs
}

// RequireRoot skips the test unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (ptrace, namespaces)")
	}
}

// CompileC compiles src into dir/name with gcc and the given flags and
// returns the binary's path.
func CompileC(t testing.TB, dir, name, src string, flags ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	args := append(append([]string{}, flags...), "-o", out, src)
	cmd := exec.Command("gcc", args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", src, err, b)
	}
	return out
}

// Result is what a finished command left behind.
type Result struct {
	Stdout, Stderr string
	ExitCode       int // -1 if it did not exit normally
}

// Run runs argv with stdin, failing the test if it does not finish within
// timeout (the whole process group is killed then).
func Run(t testing.TB, timeout time.Duration, stdin string, env []string, argv ...string) Result {
	t.Helper()
	return RunIn(t, "", timeout, stdin, env, argv...)
}

// RunIn is Run in directory dir ("" for the test's own).
func RunIn(t testing.TB, dir string, timeout time.Duration, stdin string, env []string, argv ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	if env != nil {
		cmd.Env = env
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%v: timed out after %v\nstdout: %s\nstderr: %s", argv, timeout, stdout.String(), stderr.String())
	}
	res := Result{Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: cmd.ProcessState.ExitCode()}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("%v: %v", argv, err)
	}
	return res
}

// ProcessesOf lists the pids of live processes whose executable is exe and
// that belong to this test binary: descendants of it, or orphans (a
// leaked stub or Gofer is reparented to init). Processes that another
// test binary running at the same time is still using are not listed.
// Stub processes are clones of runsc that never exec, so they show up
// here too.
func ProcessesOf(exe string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		target, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil {
			continue
		}
		if strings.TrimSuffix(target, " (deleted)") == exe && oursOrOrphan(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// oursOrOrphan reports whether pid descends from this process or has
// been reparented to init.
func oursOrOrphan(pid int) bool {
	self := os.Getpid()
	ppid := parentOf(pid)
	if ppid == 1 {
		// Reparented to init: a leaked stub or Gofer.
		return true
	}
	// Otherwise it is ours only if this process is an ancestor; every
	// chain ends at init, so reaching it means someone else's (another
	// test binary's runsc, running at the same time).
	for i := 0; i < 64 && ppid > 1; i++ {
		if ppid == self {
			return true
		}
		ppid = parentOf(ppid)
	}
	return false
}

// parentOf returns pid's parent from /proc/PID/stat (-1 if gone).
func parentOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name is in parentheses and may hold spaces: the
	// fields after the last ')' are state, ppid, ...
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return -1
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return -1
	}
	return ppid
}

// NoLeftovers fails the test if any process running exe is alive once the
// test ends, after a short grace period for the kernel to reap them.
func NoLeftovers(t testing.TB, exe string) {
	t.Helper()
	t.Cleanup(func() {
		var pids []int
		for range 50 {
			if pids = ProcessesOf(exe); len(pids) == 0 {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("processes of %s left behind: %v", exe, describe(pids))
		for _, p := range pids {
			syscall.Kill(p, syscall.SIGKILL)
		}
	})
}

func describe(pids []int) string {
	var parts []string
	for _, p := range pids {
		stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		parts = append(parts, strings.TrimSpace(string(stat)))
	}
	return strings.Join(parts, "; ")
}
