// Package syscalls_test runs the syscall conformance suite: C programs, one
// per area (process, signal, memory, ...), each holding many small cases
// written against native Linux behaviour. The test builds every program
// statically with gcc, runs it natively (where every case must pass: a
// native failure is a bug in the case), and then, when a runsc binary is
// present, runs it again under `runsc do` and compares each case with the
// checked-in list of expected sandbox failures (runsc_expected_failures.txt).
// A case that fails under runsc and is not listed is a regression; a listed
// case that now passes is only logged, so the list can be shrunk.
//
// When a program crashes or hangs under runsc part-way through, the cases it
// did not report are run again one at a time, so one crash does not hide the
// results of the cases after it.
package syscalls_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var updateExpected = flag.Bool("update-expected", false,
	"rewrite runsc_expected_failures.txt from the current runsc results (all cases when runsc is absent)")

const (
	srcDir            = "src"
	buildDir          = "build"
	expectedFile      = "runsc_expected_failures.txt"
	programTimeout    = 60 * time.Second
	singleCaseTimeout = 20 * time.Second
	// rerunBudget bounds the time spent rerunning one program's cases one
	// by one after it crashed or hung.
	rerunBudget = 3 * time.Minute
)

// status is one case's outcome in one run.
type status string

const (
	pass    status = "PASS"
	fail    status = "FAIL"
	skip    status = "SKIP"
	missing status = "MISSING" // the program ended without reporting the case
)

// result is one case's outcome and the message that came with it.
type result struct {
	status status
	detail string
}

// programs returns the area programs: every src/*.c file. (The C sources
// live in src/ because the go tool refuses .c files in a package directory
// that does not use cgo.)
func programs(t *testing.T) []string {
	t.Helper()
	srcs, err := filepath.Glob(filepath.Join(srcDir, "*.c"))
	if err != nil {
		t.Fatalf("listing programs: %v", err)
	}
	var names []string
	for _, s := range srcs {
		names = append(names, strings.TrimSuffix(filepath.Base(s), ".c"))
	}
	sort.Strings(names)
	if len(names) == 0 {
		t.Fatal("no src/*.c programs found")
	}
	return names
}

// build compiles every program in parallel into build/.
func build(t *testing.T, names []string) {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skipf("gcc not found: %v", err)
	}
	if err := os.MkdirAll(buildDir, 0o755); err != nil {
		t.Fatalf("creating %s: %v", buildDir, err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("gcc", "-static", "-O1", "-Wall", "-Werror",
				"-o", filepath.Join(buildDir, n), filepath.Join(srcDir, n+".c"))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("building %s: %w\n%s", n, err, out)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// run runs argv in its own process group, killing the group on timeout.
// It returns stdout, stderr and whether the program timed out.
func run(argv []string, timeout time.Duration) (stdout, stderr []byte, timedOut bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var so, se bytes.Buffer
	cmd.Stdout = &so
	cmd.Stderr = &se
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	timedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
	if cmd.Process != nil {
		// Whatever is left of the group (a stray grandchild) goes too.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	return so.Bytes(), se.Bytes(), timedOut, err
}

// listCases asks a built program for its case names.
func listCases(t *testing.T, name string) []string {
	t.Helper()
	out, _, _, err := run([]string{filepath.Join(buildDir, name), "--list"}, programTimeout)
	if err != nil {
		t.Fatalf("%s --list: %v", name, err)
	}
	var cases []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			cases = append(cases, l)
		}
	}
	return cases
}

// parse reads "PASS x", "FAIL x: msg" and "SKIP x: msg" lines.
func parse(out []byte) map[string]result {
	res := map[string]result{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		st, rest, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		name, detail, _ := strings.Cut(rest, ": ")
		switch status(st) {
		case pass, fail, skip:
			res[name] = result{status(st), detail}
		}
	}
	return res
}

// runProgram runs all cases of a program with prefix (nil natively, or the
// runsc command), then reruns one by one any case the full run did not
// report. Cases are "area.name". Nothing new is started after stopBy (so
// the test ends before go test's own timeout); such cases are MISSING.
func runProgram(prefix []string, name string, cases []string, stopBy time.Time) map[string]result {
	res := map[string]result{}
	if time.Now().After(stopBy) {
		for _, c := range cases {
			res[c] = result{missing, "not run: close to the test timeout (raise -timeout)"}
		}
		return res
	}
	bin := "./" + filepath.Join(buildDir, name)
	argv := append(append([]string{}, prefix...), bin)
	out, _, timedOut, _ := run(argv, programTimeout)
	res = parse(out)
	var rest []string
	for _, c := range cases {
		if _, ok := res[c]; !ok {
			rest = append(rest, c)
		}
	}
	if len(rest) == 0 {
		return res
	}
	why := "program exited early"
	if timedOut {
		why = "program timed out"
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	budgetEnd := time.Now().Add(rerunBudget)
	if stopBy.Before(budgetEnd) {
		budgetEnd = stopBy
	}
	for _, c := range rest {
		if time.Now().After(budgetEnd) {
			// A sandbox that hangs on every case would otherwise take
			// hours; what is left is reported as not run.
			mu.Lock()
			res[c] = result{missing, why + "; not rerun: out of time for reruns"}
			mu.Unlock()
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out, se, to, err := run(append(append([]string{}, argv...), c), singleCaseTimeout)
			r, ok := parse(out)[c]
			if !ok {
				d := fmt.Sprintf("%s; alone: no result (err %v", why, err)
				if to {
					d += ", timed out"
				}
				if s := strings.TrimSpace(string(se)); s != "" {
					if len(s) > 200 {
						s = s[:200]
					}
					d += ", stderr: " + strings.ReplaceAll(s, "\n", " | ")
				}
				r = result{missing, d + ")"}
			}
			mu.Lock()
			res[c] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	return res
}

// readExpected reads the expected-failure list: one case per line, "#"
// starts a comment.
func readExpected(t *testing.T) map[string]bool {
	t.Helper()
	exp := map[string]bool{}
	data, err := os.ReadFile(expectedFile)
	if errors.Is(err, os.ErrNotExist) {
		return exp
	}
	if err != nil {
		t.Fatalf("reading %s: %v", expectedFile, err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		if l = strings.TrimSpace(l); l != "" {
			exp[l] = true
		}
	}
	return exp
}

// expectedReasons returns the comment after each case name in the
// current expected-failures file, so a regeneration keeps the reasons
// written there.
func expectedReasons() map[string]string {
	reasons := map[string]string{}
	data, err := os.ReadFile(expectedFile)
	if err != nil {
		return reasons
	}
	for _, l := range strings.Split(string(data), "\n") {
		name, comment, ok := strings.Cut(l, "#")
		if name = strings.TrimSpace(name); ok && name != "" {
			reasons[name] = strings.TrimSpace(comment)
		}
	}
	return reasons
}

func writeExpected(t *testing.T, failing []string, runscRan bool) {
	t.Helper()
	sort.Strings(failing)
	reasons := expectedReasons()
	var b strings.Builder
	b.WriteString("# Cases of test/syscalls that are expected to fail under `runsc do`.\n")
	b.WriteString("# One case name per line; '#' starts a comment. A case failing under\n")
	b.WriteString("# runsc that is not listed fails the test; a listed case that passes is\n")
	b.WriteString("# logged so it can be removed. Regenerate with:\n")
	b.WriteString("#   go test ./test/syscalls/ -update-expected\n")
	if !runscRan {
		b.WriteString("# Generated without a runsc binary: lists every case.\n")
	}
	for _, c := range failing {
		if r := reasons[c]; r != "" {
			c += "  # " + r
		}
		b.WriteString(c + "\n")
	}
	if err := os.WriteFile(expectedFile, []byte(b.String()), 0o644); err != nil {
		t.Fatalf("writing %s: %v", expectedFile, err)
	}
}

// runscPath returns the runsc binary to use, or "" when there is none or
// SYSCALLS_RUNSC=0.
func runscPath() string {
	if os.Getenv("SYSCALLS_RUNSC") == "0" {
		return ""
	}
	p := os.Getenv("RUNSC")
	if p == "" {
		p = filepath.Join("..", "..", "bin", "runsc")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return ""
	}
	if fi, err := os.Stat(abs); err != nil || fi.IsDir() {
		return ""
	}
	return abs
}

func TestSyscalls(t *testing.T) {
	names := programs(t)
	build(t, names)
	// Stop starting programs early enough that one more full run (and
	// the report) fits before go test's -timeout.
	stopBy := time.Now().Add(24 * time.Hour)
	if d, ok := t.Deadline(); ok {
		stopBy = d.Add(-programTimeout - 30*time.Second)
	}

	type prog struct {
		name   string
		cases  []string
		native map[string]result
		runsc  map[string]result
	}
	progs := make([]*prog, len(names))
	for i, n := range names {
		progs[i] = &prog{name: n, cases: listCases(t, n)}
	}

	// Native runs: every case must pass (or skip, when the host lacks a
	// feature). Programs run one after another: several cases measure
	// elapsed time, and they stay honest on a quiet machine.
	total, nativePass, nativeSkip := 0, 0, 0
	for _, p := range progs {
		p.native = runProgram(nil, p.name, p.cases, stopBy)
		for _, c := range p.cases {
			total++
			r := p.native[c]
			switch r.status {
			case pass:
				nativePass++
			case skip:
				nativeSkip++
				t.Logf("native: %s skipped: %s", c, r.detail)
			default:
				t.Errorf("native: %s %s: %s", c, r.status, r.detail)
			}
		}
	}

	runsc := runscPath()
	expected := readExpected(t)
	known := map[string]bool{}
	for _, p := range progs {
		for _, c := range p.cases {
			known[c] = true
		}
	}
	for c := range expected {
		if !known[c] {
			t.Logf("%s lists %s, which is not a case (renamed or removed?)", expectedFile, c)
		}
	}
	runscPass, runscFailExpected, runscFailNew := 0, 0, 0
	var failing []string
	if runsc != "" {
		for _, p := range progs {
			p.runsc = runProgram([]string{runsc, "do"}, p.name, p.cases, stopBy)
			for _, c := range p.cases {
				n, r := p.native[c], p.runsc[c]
				if n.status == skip {
					continue // nothing to compare against
				}
				if r.status == pass {
					runscPass++
					if expected[c] && !*updateExpected {
						t.Logf("runsc: %s now passes; remove it from %s", c, expectedFile)
					}
					continue
				}
				failing = append(failing, c)
				if expected[c] || *updateExpected {
					runscFailExpected++
					continue
				}
				runscFailNew++
				t.Errorf("runsc: %s %s (not in %s): %s", c, r.status, expectedFile, r.detail)
			}
		}
	}

	summary := fmt.Sprintf("syscalls: %d cases, native %d passed", total, nativePass)
	if nativeSkip > 0 {
		summary += fmt.Sprintf(" (%d skipped)", nativeSkip)
	}
	if runsc != "" {
		summary += fmt.Sprintf("; runsc %d passed, %d failed (expected)", runscPass, runscFailExpected)
		if runscFailNew > 0 {
			summary += fmt.Sprintf(", %d failed (unexpected)", runscFailNew)
		}
	} else {
		summary += "; runsc not run"
	}
	t.Log(summary)

	var b strings.Builder
	b.WriteString(summary + "\n")
	for _, p := range progs {
		for _, c := range p.cases {
			line := fmt.Sprintf("%-48s native=%s", c, p.native[c].status)
			if p.runsc != nil {
				r := p.runsc[c]
				line += " runsc=" + string(r.status)
				if r.status != pass && expected[c] {
					line += "(expected)"
				}
				if r.status != pass && r.detail != "" {
					line += "  " + r.detail
				}
			} else if d := p.native[c].detail; d != "" {
				line += "  " + d
			}
			b.WriteString(line + "\n")
		}
	}
	if err := os.WriteFile(filepath.Join(buildDir, "results.txt"), []byte(b.String()), 0o644); err != nil {
		t.Errorf("writing results: %v", err)
	}

	if *updateExpected {
		if runsc == "" {
			failing = nil
			for _, p := range progs {
				failing = append(failing, p.cases...)
			}
		}
		writeExpected(t, failing, runsc != "")
		t.Logf("wrote %s with %d cases", expectedFile, len(failing))
	}
}
