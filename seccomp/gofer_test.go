package seccomp

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// goferFilterCaseEnv selects the case TestGoferFilterHelper runs in a
// re-executed test binary.
const goferFilterCaseEnv = "PALISADE_SECCOMP_GOFER_CASE"

// TestGoferFilterHelper is not a test of its own: run by
// runGoferFilterCase in a child process, it installs the Gofer filter and
// then makes the system call its case names.
func TestGoferFilterHelper(t *testing.T) {
	c := os.Getenv(goferFilterCaseEnv)
	if c == "" {
		t.Skip("helper for TestGoferFilterKills")
	}
	insns, err := GoferFilter().BPF()
	if err != nil {
		t.Fatal(err)
	}
	prog, err := NewProgram(insns)
	if err != nil {
		t.Fatal(err)
	}
	if err := prog.Install(); err != nil {
		t.Fatal(err)
	}
	switch c {
	case "allowed":
		// What the Gofer does all day: walk with O_NOFOLLOW, stat, close.
		fd, err := unix.Openat(unix.AT_FDCWD, "/", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			os.Exit(3)
		}
		var st unix.Stat_t
		if unix.Fstatat(fd, "", &st, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW) != nil {
			os.Exit(4)
		}
		unix.Close(fd)
	case "socket":
		unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	case "execve":
		syscall.Exec("/bin/true", []string{"true"}, nil)
	case "openat-follow":
		unix.Openat(unix.AT_FDCWD, "/", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	case "fork":
		unix.RawSyscall(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0)
	case "ptrace":
		unix.PtraceAttach(1)
	case "mount":
		unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND, "")
	case "mmap-exec":
		unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	default:
		os.Exit(5)
	}
	// Still alive: the call was allowed.
	os.Exit(0)
}

// runGoferFilterCase runs case c in a child and returns how it ended.
func runGoferFilterCase(t *testing.T, c string) (syscall.WaitStatus, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestGoferFilterHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), goferFilterCaseEnv+"="+c)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s: %v", c, err)
	}
	return cmd.ProcessState.Sys().(syscall.WaitStatus), string(out)
}

func TestGoferFilterKills(t *testing.T) {
	ws, out := runGoferFilterCase(t, "allowed")
	if !ws.Exited() || ws.ExitStatus() != 0 {
		t.Fatalf("allowed operations under the gofer filter: %v\n%s", ws, out)
	}
	for _, c := range []string{"socket", "execve", "openat-follow", "fork", "ptrace", "mount", "mmap-exec"} {
		ws, out := runGoferFilterCase(t, c)
		if !ws.Signaled() || ws.Signal() != unix.SIGSYS {
			t.Errorf("%s under the gofer filter: %v, want killed by SIGSYS\n%s", c, ws, out)
		}
	}
}

func TestGoferFilterRules(t *testing.T) {
	f := GoferFilter()
	if _, err := f.BPF(); err != nil {
		t.Fatal(err)
	}
	forbidden := map[uintptr]string{
		unix.SYS_EXECVE: "execve", unix.SYS_EXECVEAT: "execveat", unix.SYS_SOCKET: "socket",
		unix.SYS_CONNECT: "connect", unix.SYS_BIND: "bind", unix.SYS_LISTEN: "listen",
		unix.SYS_ACCEPT: "accept", unix.SYS_ACCEPT4: "accept4", unix.SYS_PTRACE: "ptrace",
		unix.SYS_MOUNT: "mount", unix.SYS_UMOUNT2: "umount2", unix.SYS_PIVOT_ROOT: "pivot_root",
		unix.SYS_OPEN: "open", unix.SYS_OPENAT2: "openat2", unix.SYS_CHDIR: "chdir",
		unix.SYS_FORK: "fork", unix.SYS_VFORK: "vfork", unix.SYS_SETNS: "setns",
		unix.SYS_UNSHARE: "unshare", unix.SYS_OPEN_TREE: "open_tree", unix.SYS_MOVE_MOUNT: "move_mount",
	}
	for _, r := range f.Rules {
		if strings.TrimSpace(r.Reason) == "" {
			t.Errorf("rule for %d has no reason", r.Syscall)
		}
		if name, bad := forbidden[r.Syscall]; bad {
			t.Errorf("gofer filter allows %s", name)
		}
		if r.Syscall == unix.SYS_CLONE3 && r.Action.kind == actAllow {
			t.Error("gofer filter allows clone3 (flags not checkable)")
		}
	}
	if f.Default.kind != actKillProcess {
		t.Error("gofer filter default is not kill")
	}
}
