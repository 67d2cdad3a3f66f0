package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/test/internal/testutil"
)

// hostRootSpec returns a spec whose root is the host's "/", read-only,
// running args as root with a small environment.
func hostRootSpec(args ...string) *specs.Spec {
	return &specs.Spec{
		Version: "1.0.2",
		Process: &specs.Process{
			Args: args,
			Env:  []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/root"},
			Cwd:  "/",
		},
		Root:     &specs.Root{Path: "/", Readonly: true},
		Hostname: "ctr",
	}
}

// newBundle writes spec as the config.json of a new bundle directory.
func newBundle(t *testing.T, spec *specs.Spec) string {
	t.Helper()
	dir := t.TempDir()
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runBundle runs `runsc --root=STATE run --bundle=DIR ID` with extra
// flags before the ID, and checks that no state is left under STATE.
func runBundle(t *testing.T, dir string, extra ...string) testutil.Result {
	t.Helper()
	runsc := testutil.Runsc(t)
	state := t.TempDir()
	argv := append([]string{runsc, "--root=" + state, "run", "--bundle=" + dir}, extra...)
	argv = append(argv, "test-"+strings.ReplaceAll(strings.ToLower(t.Name()), "/", "_"))
	res := testutil.Run(t, time.Minute, "", nil, argv...)
	if left, _ := os.ReadDir(state); len(left) != 0 {
		t.Errorf("state left under --root after exit: %v", left)
	}
	return res
}

// requireSandbox does what every sandboxed run test needs.
func requireSandbox(t *testing.T) {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.NoLeftovers(t, testutil.Runsc(t))
}

func wantRun(t *testing.T, res testutil.Result, code int, stdout string) {
	t.Helper()
	if res.ExitCode != code || res.Stdout != stdout {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, stdout %q", res.ExitCode, res.Stdout, res.Stderr, code, stdout)
	}
}

func TestRunEcho(t *testing.T) {
	requireSandbox(t)
	res := runBundle(t, newBundle(t, hostRootSpec("/bin/echo", "hello", "two words")))
	wantRun(t, res, 0, "hello two words\n")
	// --strace works as for runsc do.
	res = runBundle(t, newBundle(t, hostRootSpec("/bin/echo", "traced")), "--strace")
	wantRun(t, res, 0, "traced\n")
	if !strings.Contains(res.Stderr, `write(1, "traced\n", 7) = 7`) || !strings.Contains(res.Stderr, "exit_group(0") {
		t.Fatalf("strace output lacks the write or exit_group:\n%s", res.Stderr)
	}
}

// TestRunMinimalRootfs runs a bundle whose rootfs (relative to the
// bundle) holds one static program and nothing else: /dev and the mount
// point are made in the sandbox's own layer, not in the rootfs.
func TestRunMinimalRootfs(t *testing.T) {
	requireSandbox(t)
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	prog := staticProgram(t, "hello")
	b, err := os.ReadFile(prog)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "hello"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := hostRootSpec("/hello", "arg")
	spec.Root = &specs.Root{Path: "rootfs"}
	spec.Mounts = []specs.Mount{{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs"}}
	sb, _ := json.Marshal(spec)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), sb, 0o644); err != nil {
		t.Fatal(err)
	}
	wantRun(t, runBundle(t, dir), 0, "Hello from the sandbox!\narg 1: arg\n")
	entries, _ := os.ReadDir(rootfs)
	if len(entries) != 1 {
		t.Fatalf("the run changed the rootfs: %v", entries)
	}
}

// TestRunPathLookup runs a program named without a slash: it is found in
// the PATH of process.env, inside the sandbox.
func TestRunPathLookup(t *testing.T) {
	requireSandbox(t)
	wantRun(t, runBundle(t, newBundle(t, hostRootSpec("echo", "found"))), 0, "found\n")
	res := runBundle(t, newBundle(t, hostRootSpec("no-such-program-here")))
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "no-such-program-here: not found in $PATH") {
		t.Fatalf("missing program: exit %d, stderr %q", res.ExitCode, res.Stderr)
	}
}

func TestRunExitStatus(t *testing.T) {
	requireSandbox(t)
	wantRun(t, runBundle(t, newBundle(t, hostRootSpec("/bin/sh", "-c", "exit 7"))), 7, "")
	wantRun(t, runBundle(t, newBundle(t, hostRootSpec("/bin/false"))), 1, "")
	// A signal's death is 128+n.
	segv := staticProgram(t, "segv")
	wantRun(t, runBundle(t, newBundle(t, hostRootSpec(segv))), 128+11, "about to fault\n")
}

func TestRunEnvCwdHostname(t *testing.T) {
	requireSandbox(t)
	spec := hostRootSpec("/usr/bin/env")
	spec.Process.Env = []string{"A=1", "B=two words", "EMPTY="}
	wantRun(t, runBundle(t, newBundle(t, spec)), 0, "A=1\nB=two words\nEMPTY=\n")

	spec = hostRootSpec("/bin/pwd")
	spec.Process.Cwd = "/usr/share"
	wantRun(t, runBundle(t, newBundle(t, spec)), 0, "/usr/share\n")

	spec = hostRootSpec("/bin/uname", "-n")
	spec.Hostname = "my-container"
	wantRun(t, runBundle(t, newBundle(t, spec)), 0, "my-container\n")
}

func TestRunUser(t *testing.T) {
	requireSandbox(t)
	spec := hostRootSpec("/usr/bin/id", "-u")
	spec.Process.User = specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{5, 6}}
	wantRun(t, runBundle(t, newBundle(t, spec)), 0, "1000\n")
	spec.Process.Args = []string{"/usr/bin/id", "-g"}
	wantRun(t, runBundle(t, newBundle(t, spec)), 0, "1001\n")
	spec.Process.Args = []string{"/usr/bin/id", "-G"}
	wantRun(t, runBundle(t, newBundle(t, spec)), 0, "1001 5 6\n")
	// Without CAP_DAC_OVERRIDE, uid 1000 cannot read a root-only file.
	spec.Process.Args = []string{"/bin/cat", "/etc/shadow"}
	res := runBundle(t, newBundle(t, spec))
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "Permission denied") {
		t.Fatalf("cat /etc/shadow as uid 1000: exit %d, stdout %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
	// A umask given in the spec applies.
	spec = hostRootSpec("/bin/sh", "-c", "umask")
	umask := uint32(0o027)
	spec.Process.User.Umask = &umask
	wantRun(t, runBundle(t, newBundle(t, spec)), 0, "0027\n")
}

// TestRunRlimits checks process.rlimits through the shell's ulimit
// builtin (getrlimit, no fork).
func TestRunRlimits(t *testing.T) {
	requireSandbox(t)
	spec := hostRootSpec("/bin/sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c")
	spec.Process.Rlimits = []specs.POSIXRlimit{
		{Type: "RLIMIT_NOFILE", Soft: 100, Hard: 200},
		{Type: "RLIMIT_CORE", Soft: 0, Hard: 0},
	}
	wantRun(t, runBundle(t, newBundle(t, spec)), 0, "100\n200\n0\n")
}

// The tests create files with tee (open with O_CREAT, write), which
// needs fewer system calls than touch (utimensat).

// TestRunRootReadOnly checks root.readonly, and that without it writes
// stay in the sandbox.
func TestRunRootReadOnly(t *testing.T) {
	requireSandbox(t)
	name := filepath.Join(t.TempDir(), "created-in-sandbox")
	spec := hostRootSpec("/usr/bin/tee", name)
	res := runBundle(t, newBundle(t, spec))
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "Read-only file system") {
		t.Fatalf("tee on a read-only root: exit %d, stderr %q", res.ExitCode, res.Stderr)
	}
	spec.Root.Readonly = false
	spec.Process.Args = []string{"/bin/sh", "-c", "echo inside > " + name + " && /bin/cat " + name}
	wantRun(t, runBundle(t, newBundle(t, spec)), 0, "inside\n")
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Fatalf("a write in the sandbox reached the host (stat: %v)", err)
	}
}

func TestRunTmpfsMount(t *testing.T) {
	requireSandbox(t)
	// The mount point does not exist on the host: it is created in the
	// sandbox (in the root's tmpfs layer, even with a read-only root).
	spec := hostRootSpec("/usr/bin/stat", "-c", "%a %u %g", "/palisade-test/scratch")
	spec.Mounts = []specs.Mount{{
		Destination: "/palisade-test/scratch", Type: "tmpfs", Source: "tmpfs",
		Options: []string{"nosuid", "nodev", "mode=1750", "uid=12", "gid=34", "size=1m"},
	}}
	wantRun(t, runBundle(t, newBundle(t, spec)), 0, "1750 12 34\n")
	if _, err := os.Stat("/palisade-test"); !os.IsNotExist(err) {
		t.Fatalf("mount point created on the host (stat: %v)", err)
	}
	// The tmpfs is writable although the root is not.
	spec.Mounts[0].Options = []string{"size=1m"}
	spec.Process.Args = []string{"/usr/bin/tee", "/palisade-test/scratch/f"}
	wantRun(t, runBundle(t, newBundle(t, spec)), 0, "")
	// ro applies.
	spec.Mounts[0].Options = []string{"ro"}
	res := runBundle(t, newBundle(t, spec))
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "Read-only file system") {
		t.Fatalf("tee in a ro tmpfs: exit %d, stderr %q", res.ExitCode, res.Stderr)
	}
}

func TestRunBindMounts(t *testing.T) {
	requireSandbox(t)
	roDir, rwDir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(roDir, "file"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mounts := []specs.Mount{
		{Destination: "/palisade-ro", Type: "bind", Source: roDir, Options: []string{"rbind", "ro"}},
		{Destination: "/palisade-rw", Type: "none", Source: rwDir, Options: []string{"bind"}},
	}
	spec := hostRootSpec("/bin/cat", "/palisade-ro/file")
	spec.Mounts = mounts
	wantRun(t, runBundle(t, newBundle(t, spec)), 0, "from the host\n")

	spec.Process.Args = []string{"/usr/bin/tee", "/palisade-ro/new"}
	res := runBundle(t, newBundle(t, spec))
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "Read-only file system") {
		t.Fatalf("tee in a ro bind mount: exit %d, stderr %q", res.ExitCode, res.Stderr)
	}
	if _, err := os.Stat(filepath.Join(roDir, "new")); !os.IsNotExist(err) {
		t.Fatalf("write through a ro bind reached the host (stat: %v)", err)
	}

	// A rw bind mount writes through to the host.
	spec.Process.Args = []string{"/usr/bin/tee", "/palisade-rw/new"}
	wantRun(t, runBundle(t, newBundle(t, spec)), 0, "")
	if _, err := os.Stat(filepath.Join(rwDir, "new")); err != nil {
		t.Fatalf("write through a rw bind mount did not reach the host: %v", err)
	}

	// A relative source is relative to the bundle.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "x"), []byte("rel\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec = hostRootSpec("/bin/cat", "/palisade-rel/x")
	spec.Mounts = []specs.Mount{{Destination: "/palisade-rel", Type: "bind", Source: "data", Options: []string{"ro"}}}
	b, _ := json.Marshal(spec)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	wantRun(t, runBundle(t, dir), 0, "rel\n")
}

// TestRunDockerDefaultMounts runs a bundle with the mounts Docker adds
// by default, minus /proc (not served yet): /dev is the Sentry's, /sys
// an empty read-only tmpfs (said in an Info log), devpts, mqueue and
// cgroup skipped, /dev/shm a tmpfs.
func TestRunDockerDefaultMounts(t *testing.T) {
	requireSandbox(t)
	spec := hostRootSpec("/bin/ls", "-A", "/sys", "/dev/shm")
	spec.Mounts = dockerDefaultMounts(false)
	res := runBundle(t, newBundle(t, spec))
	wantRun(t, res, 0, "/dev/shm:\n\n/sys:\n")
	if !strings.Contains(res.Stderr, "sysfs is not served yet") {
		t.Errorf("no log about the /sys stand-in: stderr %q", res.Stderr)
	}
	spec.Process.Args = []string{"/usr/bin/stat", "-c", "%a", "/dev/shm"}
	wantRun(t, runBundle(t, newBundle(t, spec)), 0, "1777\n")
	spec.Process.Args = []string{"/usr/bin/tee", "/sys/x"}
	if res := runBundle(t, newBundle(t, spec)); res.ExitCode == 0 || !strings.Contains(res.Stderr, "Read-only file system") {
		t.Fatalf("tee /sys/x: exit %d, stderr %q", res.ExitCode, res.Stderr)
	}
}

func TestRunProcMount(t *testing.T) {
	t.Skip("needs fsimpl/proc")
	requireSandbox(t)
	spec := hostRootSpec("/bin/cat", "/proc/self/stat")
	spec.Mounts = dockerDefaultMounts(true)
	res := runBundle(t, newBundle(t, spec))
	if res.ExitCode != 0 || !strings.HasPrefix(res.Stdout, "1 (cat) R ") {
		t.Fatalf("cat /proc/self/stat: exit %d, stdout %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
}

// dockerDefaultMounts are the mounts `docker run` puts in every spec.
func dockerDefaultMounts(withProc bool) []specs.Mount {
	var ms []specs.Mount
	if withProc {
		ms = append(ms, specs.Mount{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}})
	}
	return append(ms,
		specs.Mount{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		specs.Mount{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}},
		specs.Mount{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=67108864"}},
	)
}

// TestRunBadBundles checks that a malformed bundle gets one error line
// naming the field and a non-zero exit, and leaves no process or state.
func TestRunBadBundles(t *testing.T) {
	requireSandbox(t)
	for _, tc := range []struct {
		name   string
		modify func(*specs.Spec)
		want   string
	}{
		{"missing args", func(s *specs.Spec) { s.Process.Args = nil }, "process.args: missing"},
		{"relative cwd", func(s *specs.Spec) { s.Process.Cwd = "tmp" }, "process.cwd"},
		{"missing root", func(s *specs.Spec) { s.Root.Path = "no-such-rootfs" }, "root.path"},
		{"unknown mount type", func(s *specs.Spec) {
			s.Mounts = []specs.Mount{{Destination: "/x", Type: "9p", Source: "x"}}
		}, `mounts[0] (/x): type: unknown mount type "9p"`},
		{"relative destination", func(s *specs.Spec) {
			s.Mounts = []specs.Mount{{Destination: "x", Type: "tmpfs"}}
		}, "mounts[0] (x): destination"},
		{"dotdot destination", func(s *specs.Spec) {
			s.Mounts = []specs.Mount{{Destination: "/tmp/../etc", Type: "tmpfs"}}
		}, "mounts[0] (/tmp/../etc): destination"},
		{"bad rlimit", func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 10, Hard: 5}}
		}, "process.rlimits[0]"},
		{"terminal without a tty", func(s *specs.Spec) { s.Process.Terminal = true }, "process.terminal"},
		// These fail after the Gofer has started.
		{"missing cwd", func(s *specs.Spec) { s.Process.Cwd = "/no/such/dir" }, "working directory /no/such/dir"},
		{"missing program", func(s *specs.Spec) { s.Process.Args = []string{"/no/such/program"} }, "/no/such/program"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := hostRootSpec("/bin/true")
			tc.modify(spec)
			res := runBundle(t, newBundle(t, spec))
			wantOneError(t, res, tc.want)
		})
	}
	t.Run("missing config.json", func(t *testing.T) {
		wantOneError(t, runBundle(t, t.TempDir()), "config.json: no such file or directory")
	})
	t.Run("bad JSON", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"process": {"args": ["/bin/true"],}}`), 0o644); err != nil {
			t.Fatal(err)
		}
		wantOneError(t, runBundle(t, dir), "bad JSON at line 1")
	})
}

func wantOneError(t *testing.T, res testutil.Result, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(res.Stderr), "\n")
	if res.ExitCode == 0 || len(lines) != 1 || !strings.Contains(lines[0], want) {
		t.Fatalf("exit %d, stderr %q; want a non-zero exit and one line containing %q", res.ExitCode, res.Stderr, want)
	}
}

func TestRunBadFlags(t *testing.T) {
	requireSandbox(t)
	runsc := testutil.Runsc(t)
	dir := newBundle(t, hostRootSpec("/bin/echo", "ok"))
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"run", "--bundle=" + dir, "a/b"}, "container ID"},
		{[]string{"run", "--bundle=" + dir, ".."}, "container ID"},
		{[]string{"run", "--bundle=" + dir, strings.Repeat("x", 129)}, "container ID"},
		{[]string{"--network=host", "run", "--bundle=" + dir, "c"}, "--network=host"},
		{[]string{"run", "--network=bridge", "--bundle=" + dir, "c"}, "--network=bridge"},
		{[]string{"do", "--network=sandbox", "/bin/true"}, "--network=sandbox"},
		{[]string{"run", "--kernel-release=" + strings.Repeat("r", 65), "--bundle=" + dir, "c"}, "--kernel-release"},
	} {
		state := t.TempDir()
		res := testutil.Run(t, time.Minute, "", nil, append([]string{runsc, "--root=" + state}, tc.argv...)...)
		wantOneError(t, res, tc.want)
		if left, _ := os.ReadDir(state); len(left) != 0 {
			t.Errorf("%v: state left behind: %v", tc.argv, left)
		}
	}
	// --network=none is accepted, before or after the subcommand.
	state := t.TempDir()
	res := testutil.Run(t, time.Minute, "", nil, runsc, "--root="+state, "--network=none", "run", "--bundle="+dir, "c1")
	wantRun(t, res, 0, "ok\n")
	res = testutil.Run(t, time.Minute, "", nil, runsc, "--root="+state, "run", "--network=none", "--bundle="+dir, "c1")
	wantRun(t, res, 0, "ok\n")
	res = testutil.Run(t, time.Minute, "", nil, runsc, "do", "--network=none", "/bin/echo", "do ok")
	wantRun(t, res, 0, "do ok\n")
}

// startCatContainer starts `runsc run` of /bin/cat with a pipe as its stdin and
// waits until the container's state says running. The caller closes the
// returned writer to let it finish.
func startCatContainer(t *testing.T, state, id string) (*exec.Cmd, io.WriteCloser, *strings.Builder) {
	t.Helper()
	runsc := testutil.Runsc(t)
	cmd := exec.Command(runsc, "--root="+state, "run", "--bundle="+newBundle(t, hostRootSpec("/bin/cat")), id)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		}
	})
	stateFile := filepath.Join(state, id, "state.json")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(stateFile)
		var st struct {
			Status string `json:"status"`
			Pid    int    `json:"pid"`
		}
		if json.Unmarshal(b, &st) == nil && st.Status == "running" {
			if st.Pid != cmd.Process.Pid {
				t.Fatalf("state pid %d, runsc is %d", st.Pid, cmd.Process.Pid)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("container never recorded as running; output %q", out.String())
		}
	}
	return cmd, stdin, &out
}

// TestRunDuplicateID checks that an ID in use is refused and released
// when its container ends.
func TestRunDuplicateID(t *testing.T) {
	requireSandbox(t)
	runsc := testutil.Runsc(t)
	state := t.TempDir()
	cmd, stdin, out := startCatContainer(t, state, "dup")
	dir := newBundle(t, hostRootSpec("/bin/echo", "second"))
	res := testutil.Run(t, time.Minute, "", nil, runsc, "--root="+state, "run", "--bundle="+dir, "dup")
	wantOneError(t, res, `container "dup" already exists`)
	if _, err := os.Stat(filepath.Join(state, "dup")); err != nil {
		t.Fatalf("the refused run removed the first one's state: %v", err)
	}
	// runsc state shows it; runsc delete refuses a running container.
	res = testutil.Run(t, time.Minute, "", nil, runsc, "--root="+state, "state", "dup")
	var st struct {
		ID, Status, Bundle string
		Pid                int
	}
	if err := json.Unmarshal([]byte(res.Stdout), &st); err != nil || res.ExitCode != 0 || st.ID != "dup" || st.Status != "running" || st.Pid != cmd.Process.Pid {
		t.Fatalf("runsc state: exit %d, %q (%v), stderr %q", res.ExitCode, res.Stdout, err, res.Stderr)
	}
	res = testutil.Run(t, time.Minute, "", nil, runsc, "--root="+state, "delete", "dup")
	wantOneError(t, res, "end it before deleting it")
	fmt.Fprintln(stdin, "through cat")
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("first run: %v; output %q", err, out.String())
	}
	if out.String() != "through cat\n" {
		t.Fatalf("first run printed %q", out.String())
	}
	if left, _ := os.ReadDir(state); len(left) != 0 {
		t.Fatalf("state left behind: %v", left)
	}
	wantRun(t, testutil.Run(t, time.Minute, "", nil, runsc, "--root="+state, "run", "--bundle="+dir, "dup"), 0, "second\n")
	wantOneError(t, testutil.Run(t, time.Minute, "", nil, runsc, "--root="+state, "state", "dup"), `container "dup": no such container`)
}

// TestRunKilledRunsc kills runsc itself: the sandbox's processes die with
// it, the state it leaves says stopped, the ID stays taken until
// `runsc delete` releases it.
func TestRunKilledRunsc(t *testing.T) {
	requireSandbox(t)
	runsc := testutil.Runsc(t)
	state := t.TempDir()
	cmd, stdin, _ := startCatContainer(t, state, "killed")
	defer stdin.Close()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	res := testutil.Run(t, time.Minute, "", nil, runsc, "--root="+state, "state", "killed")
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, `"status": "stopped"`) {
		t.Fatalf("runsc state after kill: exit %d, %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
	dir := newBundle(t, hostRootSpec("/bin/echo", "again"))
	wantOneError(t, testutil.Run(t, time.Minute, "", nil, runsc, "--root="+state, "run", "--bundle="+dir, "killed"), "runsc delete killed")
	wantRun(t, testutil.Run(t, time.Minute, "", nil, runsc, "--root="+state, "delete", "killed"), 0, "")
	wantRun(t, testutil.Run(t, time.Minute, "", nil, runsc, "--root="+state, "run", "--bundle="+dir, "killed"), 0, "again\n")
	if left, _ := os.ReadDir(state); len(left) != 0 {
		t.Fatalf("state left behind: %v", left)
	}
}

// TestRunSignal checks that SIGTERM to runsc ends the container with
// that signal (exit 143) and cleans up.
func TestRunSignal(t *testing.T) {
	requireSandbox(t)
	state := t.TempDir()
	cmd, stdin, out := startCatContainer(t, state, "sig")
	defer stdin.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 128+int(syscall.SIGTERM) {
		t.Fatalf("exit %d after SIGTERM, want %d; output %q", code, 128+int(syscall.SIGTERM), out.String())
	}
	if left, _ := os.ReadDir(state); len(left) != 0 {
		t.Fatalf("state left behind: %v", left)
	}
}

// TestRunTerminal runs a process.terminal container from a terminal
// (script(1) provides one): runsc's terminal is passed through as the
// container's stdio.
func TestRunTerminal(t *testing.T) {
	requireSandbox(t)
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) not installed")
	}
	spec := hostRootSpec("/bin/sh", "-c", "[ -t 0 ] && [ -t 1 ] && echo is-a-terminal")
	spec.Process.Terminal = true
	state := t.TempDir()
	cmdline := fmt.Sprintf("%s --root=%s run --bundle=%s term", testutil.Runsc(t), state, newBundle(t, spec))
	res := testutil.Run(t, time.Minute, "", nil, script, "-qec", cmdline, "/dev/null")
	if res.ExitCode != 0 || strings.TrimSpace(res.Stdout) != "is-a-terminal" {
		t.Fatalf("exit %d, stdout %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
	if left, _ := os.ReadDir(state); len(left) != 0 {
		t.Errorf("state left behind: %v", left)
	}
}

// TestRunConsoleSocket runs a process.terminal container with
// --console-socket: runsc sends the master of a new pseudo-terminal, with
// the spec's console size, and the container's stdio is the terminal.
func TestRunConsoleSocket(t *testing.T) {
	requireSandbox(t)
	runsc := testutil.Runsc(t)
	sock := filepath.Join(t.TempDir(), "console.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type received struct {
		out string
		err error
	}
	got := make(chan received, 1)
	go func() {
		conn, err := ln.AcceptUnix()
		if err != nil {
			got <- received{err: err}
			return
		}
		defer conn.Close()
		buf, oob := make([]byte, 256), make([]byte, unix.CmsgSpace(4))
		_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil {
			got <- received{err: err}
			return
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			got <- received{err: fmt.Errorf("control messages %v, %v", msgs, err)}
			return
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			got <- received{err: fmt.Errorf("rights %v, %v", fds, err)}
			return
		}
		master := os.NewFile(uintptr(fds[0]), "pty-master")
		defer master.Close()
		// Reading the master ends with EIO once every replica is closed.
		out, _ := io.ReadAll(master)
		got <- received{out: string(out)}
	}()
	spec := hostRootSpec("/usr/bin/stty", "size")
	spec.Process.Terminal = true
	spec.Process.ConsoleSize = &specs.Box{Height: 31, Width: 101}
	state := t.TempDir()
	res := testutil.Run(t, time.Minute, "", nil, runsc, "--root="+state, "run", "--bundle="+newBundle(t, spec), "--console-socket="+sock, "console")
	if res.ExitCode != 0 {
		t.Fatalf("exit %d, stdout %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
	select {
	case r := <-got:
		if r.err != nil || strings.TrimSpace(r.out) != "31 101" {
			t.Fatalf("terminal output %q, %v; want \"31 101\"", r.out, r.err)
		}
	case <-time.After(time.Minute):
		t.Fatal("nothing received on the console socket")
	}
	if left, _ := os.ReadDir(state); len(left) != 0 {
		t.Errorf("state left behind: %v", left)
	}
	// A console socket for a process without a terminal is refused.
	spec.Process.Terminal = false
	res = testutil.Run(t, time.Minute, "", nil, runsc, "--root="+state, "run", "--bundle="+newBundle(t, spec), "--console-socket="+sock, "console")
	wantOneError(t, res, "--console-socket")
}

// TestRunShellPipeline runs a shell pipeline as a non-root user.
func TestRunShellPipeline(t *testing.T) {
	requireSandbox(t)
	spec := hostRootSpec("/bin/sh", "-c", "echo $HOME | /bin/cat; /usr/bin/id -u")
	spec.Process.User.UID = 1000
	wantRun(t, runBundle(t, newBundle(t, spec)), 0, "/root\n1000\n")
}
