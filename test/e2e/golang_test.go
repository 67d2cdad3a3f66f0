package e2e

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/palisade-sandbox/palisade/test/internal/testutil"
)

// TestProgramGoRuntime builds a static Go program that leans on what the
// Go runtime needs from a kernel (threads, futexes, SIGSEGV recovery,
// os/signal, timers, epoll, fork/exec) and compares its output in the
// sandbox with native.
func TestProgramGoRuntime(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go toolchain not on PATH")
	}
	src := filepath.Join(testutil.RepoRoot(t), "test", "e2e", "testdata", "goruntime", "main.go")
	prog := filepath.Join(t.TempDir(), "goruntime")
	build := exec.Command(goBin, "build", "-o", prog, src)
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", src, err, out)
	}
	compareProgram(t, program{
		argv:    []string{prog},
		wantOut: []string{"recovered: runtime error: invalid memory address or nil pointer dereference\n", "signal user defined signal 1\n", "exec \"from a child\\n\" <nil>\n", "slept at least 20ms: true\n"},
	})
}
