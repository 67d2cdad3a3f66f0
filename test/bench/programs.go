package main

// Program benchmarks: whole commands timed natively and under `runsc do`
// in the same run, fastest of -reps each. A benchmark whose command needs
// something the Sentry cannot do yet (fork and exec) prints a "skipped:"
// line with the reason instead of a number.

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/palisade-sandbox/palisade/test/internal/testutil"
)

// commandTimeout bounds one run of a benchmarked command.
const commandTimeout = 5 * time.Minute

// benchEnv is the environment of every benchmarked command.
var benchEnv = []string{"PATH=" + testutil.SearchPath, "LC_ALL=C", "HOME=/nonexistent-palisade-home"}

// runOnce runs argv in dir and returns its wall time; a non-zero exit or
// a run past commandTimeout is an error (with the command's stderr).
func runOnce(dir string, argv []string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Dir = dir
	cmd.Env = benchEnv
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if ctx.Err() != nil {
		return 0, fmt.Errorf("running %q: timed out after %v", argv, commandTimeout)
	}
	if err != nil {
		return 0, fmt.Errorf("running %q: %w (stderr %q)", argv, err, strings.TrimSpace(stderr.String()))
	}
	return d, nil
}

// pair is one command measured natively and in the sandbox.
type pair struct{ native, sandbox time.Duration }

// measurePair times argv natively and under runsc do, alternating so that
// both see the same machine load.
func measurePair(runsc, dir string, n int, argv []string) (pair, error) {
	p := pair{time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)}
	for range n {
		d, err := runOnce(dir, argv)
		if err != nil {
			return p, err
		}
		p.native = min(p.native, d)
		if d, err = runOnce(dir, append([]string{runsc, "do"}, argv...)); err != nil {
			return p, err
		}
		p.sandbox = min(p.sandbox, d)
	}
	return p, nil
}

func fmtMs(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// printPair prints a native/sandbox pair and their ratio; target, if not
// empty, is printed beside it.
func printPair(p pair, target string) {
	fmt.Printf("  %-26s %10s\n", "native", fmtMs(p.native))
	fmt.Printf("  %-26s %10s\n", "runsc do", fmtMs(p.sandbox))
	fmt.Printf("  ratio runsc/native: %.2fx%s\n", float64(p.sandbox)/float64(p.native), target)
}

// benchStartup times runsc do /bin/true against /bin/true.
func benchStartup(runsc, dir string) error {
	n := 2 * *reps
	fmt.Printf("start-up: /bin/true (fastest of %d runs)\n", n)
	p, err := measurePair(runsc, dir, n, []string{"/bin/true"})
	if err != nil {
		return err
	}
	printPair(p, fmt.Sprintf(" (target: runsc do /bin/true < 60 ms: %s)", verdict(p.sandbox < 60*time.Millisecond)))
	return nil
}

// benchForkExec times a shell loop that forks and execs /bin/true 200
// times.
func benchForkExec(runsc, dir string) error {
	argv := []string{"/bin/sh", "-c", "for i in $(seq 200); do /bin/true; done"}
	fmt.Printf("fork+exec: sh -c 'for i in $(seq 200); do /bin/true; done' (fastest of %d runs)\n", *reps)
	p, err := measurePair(runsc, dir, *reps, argv)
	if err != nil {
		return err
	}
	printPair(p, "")
	fmt.Printf("  per fork+exec+wait: native %s, runsc do %s\n", fmtMs((p.native)/200), fmtMs((p.sandbox)/200))
	return nil
}

// benchPython times python3 -c pass (interpreter start-up: many mmaps and
// file reads, one process).
func benchPython(runsc, dir string) error {
	fmt.Printf("python3 -c pass (fastest of %d runs)\n", *reps)
	python, ok := testutil.LookPath("python3")
	if !ok {
		fmt.Println("  skipped: python3 not installed")
		return nil
	}
	p, err := measurePair(runsc, dir, *reps, []string{python, "-c", "pass"})
	if err != nil {
		return err
	}
	printPair(p, "")
	return nil
}

// ddSize is the size of the file the dd benchmark reads.
const ddSize = 64 << 20

// benchDD reads a 64 MiB host file with dd at two block sizes. The file
// lives in a host temporary directory, so the sandbox reads it through the
// Gofer. Throughput is the size over the difference between the full read
// and a dd that reads nothing (count=0), which cancels start-up.
func benchDD(runsc, dir string) error {
	file := filepath.Join(dir, "dd-input")
	if err := writeRandomFile(file, ddSize); err != nil {
		return err
	}
	fmt.Printf("dd: read a 64 MiB host file through the Gofer (fastest of %d runs, full read minus count=0 run)\n", *reps)
	for _, bs := range []string{"1M", "4k"} {
		full := []string{"/bin/dd", "if=" + file, "of=/dev/null", "bs=" + bs}
		empty := []string{"/bin/dd", "if=" + file, "of=/dev/null", "bs=" + bs, "count=0"}
		pf, err := measurePair(runsc, dir, *reps, full)
		if err != nil {
			return err
		}
		pe, err := measurePair(runsc, dir, *reps, empty)
		if err != nil {
			return err
		}
		nat, sb := throughput(pf.native, pe.native), throughput(pf.sandbox, pe.sandbox)
		fmt.Printf(" bs=%s:\n", bs)
		if nat <= 0 || sb <= 0 {
			fmt.Printf("  skipped: the read is lost in start-up noise (full %s/%s, empty %s/%s native/runsc)\n",
				fmtMs(pf.native), fmtMs(pf.sandbox), fmtMs(pe.native), fmtMs(pe.sandbox))
			continue
		}
		fmt.Printf("  %-26s %10.0f MiB/s (whole command %s)\n", "native", nat, fmtMs(pf.native))
		fmt.Printf("  %-26s %10.0f MiB/s (whole command %s)\n", "runsc do", sb, fmtMs(pf.sandbox))
		fmt.Printf("  runsc/native throughput: %.0f%% (target >= 50%%: %s)\n", 100*sb/nat, verdict(sb >= nat/2))
	}
	return nil
}

// throughput is ddSize over full minus empty, in MiB/s (0 if not
// positive).
func throughput(full, empty time.Duration) float64 {
	d := full - empty
	if d <= 0 {
		return 0
	}
	return float64(ddSize) / (1 << 20) / d.Seconds()
}

// writeRandomFile writes size pseudo-random bytes to path (random so that
// no layer can compress or share pages) and syncs it.
func writeRandomFile(path string, size int) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	buf := make([]byte, 1<<20)
	x := uint64(0x9e3779b97f4a7c15)
	for written := 0; written < size; written += len(buf) {
		for i := 0; i+8 <= len(buf); i += 8 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			for j := range 8 {
				buf[i+j] = byte(x >> (8 * j))
			}
		}
		if _, err := f.Write(buf); err != nil {
			f.Close()
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	return f.Close()
}

// benchGcc compiles a generated 2,000-line C file with gcc -O2 -c (gcc
// runs cc1 and as, so it needs fork and exec).
func benchGcc(runsc, dir string) error {
	fmt.Printf("gcc -O2 -c of a generated 2,000-line C file (fastest of %d runs)\n", *reps)
	if _, ok := testutil.LookPath("gcc"); !ok {
		fmt.Println("  skipped: gcc not installed")
		return nil
	}
	src := filepath.Join(dir, "gen.c")
	if err := os.WriteFile(src, []byte(generatedC(2000)), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", src, err)
	}
	// The object goes to the working directory: on the host natively,
	// into the sandbox's tmpfs layer under runsc.
	p, err := measurePair(runsc, dir, *reps, []string{"gcc", "-O2", "-c", "-o", "gen.o", src})
	if err != nil {
		return err
	}
	printPair(p, fmt.Sprintf(" (target <= 3x: %s)", verdict(p.sandbox <= 3*p.native)))
	return nil
}

// generatedC returns a C file of about lines lines: small functions with
// loops, arithmetic and branches, so that the optimiser has work to do,
// and a main that calls them all.
func generatedC(lines int) string {
	var b strings.Builder
	b.WriteString("#include <stdio.h>\n\n")
	// Each function is 10 lines and one more in main; the rest is 7.
	n := (lines - 7) / 11
	for i := range n {
		fmt.Fprintf(&b, "static long f%d(long x) {\n", i)
		fmt.Fprintf(&b, "\tlong s = %d;\n", i)
		b.WriteString("\tfor (long k = 0; k < x; k++) {\n")
		fmt.Fprintf(&b, "\t\tif ((k ^ %d) %% 3 == 0)\n", i)
		fmt.Fprintf(&b, "\t\t\ts += k * %d;\n", i%17+1)
		b.WriteString("\t\telse\n")
		fmt.Fprintf(&b, "\t\t\ts ^= s >> %d;\n", i%13+1)
		b.WriteString("\t}\n\treturn s;\n}\n")
	}
	b.WriteString("\nint main(int argc, char **argv) {\n\tlong t = 0;\n")
	for i := range n {
		fmt.Fprintf(&b, "\tt += f%d(argc + %d);\n", i, i%7)
	}
	b.WriteString("\tprintf(\"%ld\\n\", t);\n\treturn 0;\n}\n")
	return b.String()
}
