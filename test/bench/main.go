// Command bench measures Palisade against baselines run in the same
// process, and prints each result as a ratio. It is run by `make bench`
// after bin/runsc is built.
//
// The syscall round trip is measured with a libc-free guest that makes N
// getppid calls: the per-call cost is the difference between a long and a
// short run divided by the difference in N, which cancels start-up. The same
// guest runs natively, under a minimal C PTRACE_SYSEMU tracer (the ptrace
// floor on this machine) and under `runsc do`.
//
// The program benchmarks (programs.go) time whole commands natively and
// under `runsc do`: start-up, a fork+exec loop, python3 start-up, dd reads
// of a host file through the Gofer, and gcc. -bench selects which run.
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	runscPath = flag.String("runsc", "bin/runsc", "path to the runsc binary")
	buildDir  = flag.String("build", "test/bench/build", "directory for compiled helpers")
	srcDir    = flag.String("src", "test/bench/csrc", "directory holding the C sources")
	reps      = flag.Int("reps", 5, "repetitions of each measurement (the fastest counts)")
	benches   = flag.String("bench", strings.Join(benchNames, ","), "comma-separated benchmarks to run, from: "+strings.Join(benchNames, ","))
)

// benchNames lists the benchmarks in the order they run.
var benchNames = []string{"syscall", "startup", "forkexec", "python", "dd", "gcc"}

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	selected := strings.Split(*benches, ",")
	for _, b := range selected {
		if !slices.Contains(benchNames, b) {
			return fmt.Errorf("unknown benchmark %q (have %s)", b, strings.Join(benchNames, ","))
		}
	}
	if *reps < 1 {
		return fmt.Errorf("-reps %d: must be at least 1", *reps)
	}
	if err := os.MkdirAll(*buildDir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", *buildDir, err)
	}
	guest := filepath.Join(*buildDir, "getppid_loop")
	tracer := filepath.Join(*buildDir, "sysemu_tracer")
	if err := gcc(guest, filepath.Join(*srcDir, "getppid_loop.c"), "-O2", "-static", "-nostdlib", "-fno-stack-protector"); err != nil {
		return err
	}
	if err := gcc(tracer, filepath.Join(*srcDir, "sysemu_tracer.c"), "-O2"); err != nil {
		return err
	}
	runsc, err := filepath.Abs(*runscPath)
	if err != nil {
		return err
	}
	if _, err := os.Stat(runsc); err != nil {
		return fmt.Errorf("runsc binary: %w (run make first)", err)
	}
	if slices.Contains(selected, "syscall") {
		if err := syscallRoundTrip(guest, tracer, runsc); err != nil {
			return err
		}
	}
	// A host directory outside the repository for the programs' files:
	// the sandbox sees it read-only through the Gofer, and its writes
	// there stay in the sandbox's tmpfs layer.
	dir, err := os.MkdirTemp("", "palisade-bench-")
	if err != nil {
		return fmt.Errorf("creating a temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	var failed []string
	for _, b := range []struct {
		name string
		fn   func(runsc, dir string) error
	}{
		{"startup", benchStartup},
		{"forkexec", benchForkExec},
		{"python", benchPython},
		{"dd", benchDD},
		{"gcc", benchGcc},
	} {
		if !slices.Contains(selected, b.name) {
			continue
		}
		// A command that fails is reported and the others still run.
		if err := b.fn(runsc, dir); err != nil {
			fmt.Printf("  FAILED: %v\n", err)
			failed = append(failed, b.name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("benchmarks failed: %s", strings.Join(failed, ", "))
	}
	return nil
}

func gcc(out, src string, flags ...string) error {
	args := append(append([]string{}, flags...), "-o", out, src)
	cmd := exec.Command("gcc", args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("compiling %s: %w", src, err)
	}
	return nil
}

// perCall returns the per-iteration cost of prefix+[guest N]: the fastest
// of reps runs with nLong iterations minus the fastest with nShort, divided
// by the difference. Noise on a shared machine only ever adds time, so the
// fastest run is the best estimate of the cost itself.
func perCall(prefix []string, guest string, nShort, nLong int) (time.Duration, error) {
	short, long := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
	for range *reps {
		d, err := timeRun(prefix, guest, nShort)
		if err != nil {
			return 0, err
		}
		short = min(short, d)
		if d, err = timeRun(prefix, guest, nLong); err != nil {
			return 0, err
		}
		long = min(long, d)
	}
	return (long - short) / time.Duration(nLong-nShort), nil
}

func timeRun(prefix []string, guest string, n int) (time.Duration, error) {
	argv := append(append([]string{}, prefix...), guest, strconv.Itoa(n))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("running %v: %w", argv, err)
	}
	return d, nil
}

func syscallRoundTrip(guest, tracer, runsc string) error {
	fmt.Println("syscall round trip: getppid in a loop, per call (fastest of", *reps, "runs each, long minus short run)")
	// Unpinned is what a user gets; pinned to one CPU, tracer and guest
	// share the core, so the ratio shows CPU work rather than cross-CPU
	// wake-up latency.
	for _, mode := range []struct {
		name   string
		prefix []string
	}{{"any CPU", nil}, {"pinned to CPU 0", []string{"taskset", "-c", "0"}}} {
		with := func(argv ...string) []string { return append(append([]string{}, mode.prefix...), argv...) }
		native, err := perCall(with(), guest, 100000, 2100000)
		if err != nil {
			return err
		}
		floor, err := perCall(with(tracer), guest, 10000, 110000)
		if err != nil {
			return err
		}
		sandbox, err := perCall(with(runsc, "do"), guest, 10000, 110000)
		if err != nil {
			return err
		}
		fmt.Printf(" %s:\n", mode.name)
		fmt.Printf("  %-26s %10s\n", "native", fmtDur(native))
		fmt.Printf("  %-26s %10s\n", "C PTRACE_SYSEMU tracer", fmtDur(floor))
		fmt.Printf("  %-26s %10s\n", "runsc do", fmtDur(sandbox))
		fmt.Printf("  ratio runsc/C-tracer: %.2fx (target <= 1.30x); runsc/native: %.0fx\n",
			float64(sandbox)/float64(floor), float64(sandbox)/float64(native))
	}
	return nil
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.2f us", float64(d)/float64(time.Microsecond))
}
