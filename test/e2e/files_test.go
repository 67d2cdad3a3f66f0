package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sandbox/palisade/test/internal/testutil"
)

// TestFilesThroughGofer runs a static program that reads a host file,
// creates one, lists /dev and reports its cwd: the host's / is the root,
// read-only under an overlay, and /dev is the Sentry's.
func TestFilesThroughGofer(t *testing.T) {
	testutil.RequireRoot(t)
	runsc := testutil.Runsc(t)
	testutil.NoLeftovers(t, runsc)
	dir := t.TempDir()
	prog := staticProgram(t, "files")
	hostFile := filepath.Join(dir, "input.txt")
	if err := os.WriteFile(hostFile, []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	newFile := filepath.Join(dir, "created.txt")
	res := testutil.RunIn(t, dir, time.Minute, "", nil, runsc, "do", prog, hostFile, newFile)
	want := strings.Join([]string{
		"read: from the host",
		"size: 14",
		"new file: written inside",
		"mode: 640",
		"missing: No such file or directory",
		"mkdir over a file: File exists",
		"/dev/null listed: 1",
		"write /dev/null: 1",
		"cwd: " + dir,
	}, "\n") + "\n"
	if res.ExitCode != 0 || res.Stdout != want {
		t.Fatalf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr: %s", res.ExitCode, res.Stdout, want, res.Stderr)
	}
	if _, err := os.Stat(newFile); !os.IsNotExist(err) {
		t.Fatalf("the file created in the sandbox reached the host (stat: %v)", err)
	}
}

// TestFilesRootWritable shows --root-writable letting writes through.
func TestFilesRootWritable(t *testing.T) {
	testutil.RequireRoot(t)
	runsc := testutil.Runsc(t)
	testutil.NoLeftovers(t, runsc)
	dir := t.TempDir()
	prog := staticProgram(t, "files")
	hostFile := filepath.Join(dir, "input.txt")
	if err := os.WriteFile(hostFile, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	newFile := filepath.Join(dir, "created.txt")
	res := testutil.RunIn(t, dir, time.Minute, "", nil, runsc, "do", "--root-writable", prog, hostFile, newFile)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d, stdout %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
	if b, err := os.ReadFile(newFile); err != nil || string(b) != "written inside\n" {
		t.Fatalf("host sees %q, %v; want the sandbox's write", b, err)
	}
}

// TestBusyboxStatic runs the static busybox from the host's root.
func TestBusyboxStatic(t *testing.T) {
	testutil.RequireRoot(t)
	runsc := testutil.Runsc(t)
	testutil.NoLeftovers(t, runsc)
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox-static not installed (make deps installs it)")
	}
	native, err := exec.Command(busybox, "sha256sum", "/etc/os-release").Output()
	if err != nil {
		t.Fatal(err)
	}
	res := testutil.Run(t, time.Minute, "", nil, runsc, "do", busybox, "sha256sum", "/etc/os-release")
	if res.ExitCode != 0 || res.Stdout != string(native) {
		t.Fatalf("sha256sum: exit %d, %q, stderr %q; native %q", res.ExitCode, res.Stdout, res.Stderr, native)
	}
	res = testutil.Run(t, time.Minute, "", nil, runsc, "do", busybox, "ls", "/")
	for _, want := range []string{"etc\n", "usr\n", "tmp\n"} {
		if !strings.Contains(res.Stdout, want) {
			t.Fatalf("ls /: exit %d, %q lacks %q (stderr %q)", res.ExitCode, res.Stdout, want, res.Stderr)
		}
	}
}

// TestHostMountsNotServed checks that the host's /proc and /sys (mounts
// below the served root) do not reach the sandbox through the Gofer: /sys
// is empty and /proc is the sandbox's own, showing only its processes.
func TestHostMountsNotServed(t *testing.T) {
	testutil.RequireRoot(t)
	runsc := testutil.Runsc(t)
	testutil.NoLeftovers(t, runsc)
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox-static not installed (make deps installs it)")
	}
	res := testutil.Run(t, time.Minute, "", nil, runsc, "do", busybox, "ls", "/sys")
	if res.ExitCode != 0 || strings.TrimSpace(res.Stdout) != "" {
		t.Fatalf("host /sys visible: exit %d, %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
	// The sandbox's only process is busybox, PID 1.
	res = testutil.Run(t, time.Minute, "", nil, runsc, "do", busybox, "ls", "/proc")
	var pids []string
	for _, name := range strings.Fields(res.Stdout) {
		if name[0] >= '0' && name[0] <= '9' {
			pids = append(pids, name)
		}
	}
	if res.ExitCode != 0 || len(pids) != 1 || pids[0] != "1" || !strings.Contains(res.Stdout, "self") {
		t.Fatalf("sandbox /proc: exit %d, processes %v, %q, stderr %q", res.ExitCode, pids, res.Stdout, res.Stderr)
	}
}

// TestUnameFlags checks that runsc do's flags set what uname reports.
func TestUnameFlags(t *testing.T) {
	testutil.RequireRoot(t)
	runsc := testutil.Runsc(t)
	testutil.NoLeftovers(t, runsc)
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox-static not installed (make deps installs it)")
	}
	res := testutil.Run(t, time.Minute, "", nil, runsc, "do", "--kernel-release=5.15.0-test", "--hostname=box", busybox, "uname", "-nr")
	if res.ExitCode != 0 || res.Stdout != "box 5.15.0-test\n" {
		t.Fatalf("uname -nr: exit %d, %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
	res = testutil.Run(t, time.Minute, "", nil, runsc, "do", "--kernel-release="+strings.Repeat("x", 65), busybox, "true")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "--kernel-release") || strings.Count(strings.TrimSpace(res.Stderr), "\n") != 0 {
		t.Fatalf("over-long release: exit %d, stderr %q; want one error line naming the flag", res.ExitCode, res.Stderr)
	}
}
