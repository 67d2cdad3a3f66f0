package testutil

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// NoGateEnv names the environment variable that, when set to a non-empty
// value, turns the fork gate off: tests that need fork, execve and wait
// then run (and fail) even if the probe says the Sentry cannot do them.
const NoGateEnv = "PALISADE_E2E_NOGATE"

// ForkProbe is the program (run after `runsc do`) that shows whether the
// Sentry can fork, execve and wait: the outer shell must fork and exec an
// inner shell, wait for it and pass its status 3 on. `sh -c 'exit 3'` alone
// would not do, since exit is a shell builtin and a failed fork makes dash
// exit with 2.
var ForkProbe = []string{"/bin/sh", "-c", `/bin/sh -c "exit 3"; exit $?`}

// ForkProbeTimeout bounds one run of ForkProbe.
const ForkProbeTimeout = 30 * time.Second

var (
	probeMu sync.Mutex
	// probed caches ForkWorks per runsc path; guarded by probeMu.
	probed = map[string]probeResult{}
)

type probeResult struct {
	ok     bool
	detail string
}

// ForkWorks runs ForkProbe under `runsc do` (once per runsc path and
// process) and reports whether it exited with status 3, with a line
// describing what happened.
func ForkWorks(runsc string) (bool, string) {
	probeMu.Lock()
	defer probeMu.Unlock()
	if r, ok := probed[runsc]; ok {
		return r.ok, r.detail
	}
	argv := append([]string{runsc, "do"}, ForkProbe...)
	code, stderr, err := runBounded(ForkProbeTimeout, argv)
	r := probeResult{ok: err == nil && code == 3}
	switch {
	case err != nil:
		r.detail = fmt.Sprintf("probe %q: %v", ForkProbe[2], err)
	default:
		r.detail = fmt.Sprintf("probe %q exited %d, want 3 (stderr %q)", ForkProbe[2], code, strings.TrimSpace(stderr))
	}
	probed[runsc] = r
	return r.ok, r.detail
}

// runBounded runs argv in its own process group with a deadline and
// returns its exit code and stderr; the group is killed at the deadline.
func runBounded(timeout time.Duration, argv []string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return -1, stderr.String(), fmt.Errorf("timed out after %v", timeout)
	}
	if cmd.ProcessState == nil {
		return -1, stderr.String(), fmt.Errorf("running %v: %w", argv, err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String(), nil
}

// RequireFork skips the test unless the Sentry can fork, execve and wait
// (see ForkProbe), or NoGateEnv is set.
func RequireFork(t testing.TB, runsc string) {
	t.Helper()
	if os.Getenv(NoGateEnv) != "" {
		return
	}
	if ok, detail := ForkWorks(runsc); !ok {
		t.Skipf("fork/exec not supported yet (%s); set %s=1 to run anyway", detail, NoGateEnv)
	}
}

// SearchPath is the PATH the program tests give their commands, native
// and sandboxed alike.
const SearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// LookPath finds name in SearchPath (not the test's own PATH, which may
// hold wrappers such as pyenv shims) and returns its absolute path.
func LookPath(name string) (string, bool) {
	for _, dir := range filepath.SplitList(SearchPath) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// RequirePrograms skips the test unless every name is in SearchPath.
func RequirePrograms(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, ok := LookPath(n); !ok {
			t.Skipf("%s not installed (not in %s)", n, SearchPath)
		}
	}
}

// DirEntries returns the names in dir, failing the test if it cannot be
// read.
func DirEntries(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}
