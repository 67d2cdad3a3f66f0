package e2e

// Real programs that start other programs: shells, coreutils pipelines,
// tar, python, gcc, git, make, job control and a fork bomb. Each command
// runs natively first, in an empty directory, to get the expected output;
// then under `runsc do` and as an OCI bundle under `runsc run`, each in
// another empty host directory, where it must print the same and exit the
// same, and where its writes must stay in the sandbox's tmpfs layer (the
// host directory stays empty).
//
// Every command has a hard deadline (the process group is killed and the
// test fails), and every test checks that no runsc process (Sentry, Gofer
// or stub) outlives it.

import (
	"fmt"
	"github.com/opencontainers/runtime-spec/specs-go"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sandbox/palisade/test/internal/testutil"
)

// programEnv is the environment of every command here, native and
// sandboxed: a fixed PATH without wrappers, the C locale (stable sort
// order and messages) and a HOME that does not exist (no user config).
var programEnv = []string{
	"PATH=" + testutil.SearchPath,
	"LC_ALL=C",
	"HOME=/nonexistent-palisade-home",
	"TZ=UTC",
}

// programTimeout bounds one command; a hang fails the test.
const programTimeout = 3 * time.Minute

// program describes one comparison with native Linux.
type program struct {
	argv     []string
	needs    []string // programs that must be installed, else skip
	wantExit int      // the native exit status (checked, to catch a broken host)
	// wantOut, if set, is what native stdout must contain: it shows the
	// host ran the command as meant, so that equal output is meaningful.
	wantOut []string
	// sameStderr compares stderr too.
	sameStderr bool
	// fixSandbox, if set, rewrites the expected (native) stdout for a
	// documented difference of the sandbox (a feature known missing; the
	// test fails once the feature lands, to be updated).
	fixSandbox func(native string) string
}

// runProgram runs p natively and under runsc do, each in its own empty
// directory, checks the native run against p's expectations and returns
// both results.
// sandboxRun is one sandboxed run of a program: how it was run ("runsc
// do" or "runsc run") and what it did.
type sandboxRun struct {
	how string
	res testutil.Result
}

// runProgram runs p natively, then under runsc do and as an OCI bundle
// under runsc run (the host's / as the bundle's root, with the sandbox's
// /proc), each in an empty directory of its own that must stay empty.
func runProgram(t *testing.T, p program) (native testutil.Result, runs []sandboxRun) {
	t.Helper()
	testutil.RequireRoot(t)
	runsc := testutil.Runsc(t)
	testutil.NoLeftovers(t, runsc)
	testutil.RequirePrograms(t, p.needs...)
	nativeDir, doDir, runDir := t.TempDir(), t.TempDir(), t.TempDir()
	native = testutil.RunIn(t, nativeDir, programTimeout, "", programEnv, p.argv...)
	if native.ExitCode != p.wantExit {
		t.Fatalf("native %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", short(p.argv), native.ExitCode, p.wantExit, native.Stdout, native.Stderr)
	}
	for _, w := range p.wantOut {
		if !strings.Contains(native.Stdout, w) {
			t.Fatalf("native %s: stdout lacks %q:\n%s", short(p.argv), w, native.Stdout)
		}
	}
	do := testutil.RunIn(t, doDir, programTimeout, "", programEnv, append([]string{runsc, "do"}, p.argv...)...)
	runs = append(runs, sandboxRun{"runsc do", do})

	spec := &specs.Spec{
		Version: "1.0.2",
		Process: &specs.Process{Args: p.argv, Env: programEnv, Cwd: runDir},
		Root:    &specs.Root{Path: "/"},
		Mounts:  []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}},
	}
	bundle := newBundle(t, spec)
	state := t.TempDir()
	id := "prog-" + strings.NewReplacer("/", "_", " ", "_").Replace(strings.ToLower(t.Name()))
	if len(id) > 100 {
		id = id[:100]
	}
	run := testutil.RunIn(t, runDir, programTimeout, "", programEnv, runsc, "--root="+state, "run", "--bundle="+bundle, id)
	runs = append(runs, sandboxRun{"runsc run", run})
	for _, dir := range []string{doDir, runDir} {
		if names := testutil.DirEntries(t, dir); len(names) != 0 {
			t.Errorf("the sandbox's writes reached the host directory %s: %v", dir, names)
		}
	}
	if left, _ := os.ReadDir(state); len(left) != 0 {
		t.Errorf("runsc run left state behind: %v", left)
	}
	return native, runs
}

// compareProgram runs p and fails unless each sandboxed run printed and
// exited as native Linux did.
func compareProgram(t *testing.T, p program) {
	t.Helper()
	native, runs := runProgram(t, p)
	want := native.Stdout
	if p.fixSandbox != nil {
		want = p.fixSandbox(want)
	}
	for _, r := range runs {
		res := r.res
		if res.ExitCode != native.ExitCode || res.Stdout != want {
			t.Fatalf("%s %s: exit %d (native %d), stderr %q\nstdout:\n%s\nwant (native):\n%s", r.how, short(p.argv), res.ExitCode, native.ExitCode, res.Stderr, res.Stdout, want)
		}
		if p.sameStderr && res.Stderr != native.Stderr {
			t.Fatalf("%s %s: stderr %q, native %q", r.how, short(p.argv), res.Stderr, native.Stderr)
		}
	}
}

// short describes argv in one line for failure messages: each argument
// cut to its first line and at most 40 bytes.
func short(argv []string) string {
	var parts []string
	for _, a := range argv {
		cut := false
		if i := strings.IndexByte(a, '\n'); i >= 0 {
			a, cut = a[:i], true
		}
		if len(a) > 40 {
			a, cut = a[:40], true
		}
		if cut {
			a += "..."
		}
		parts = append(parts, a)
	}
	return fmt.Sprintf("%q", parts)
}

// bashScript is a bash -c program with pipes, every kind of redirection,
// subshells, command substitution, here-documents, loops and traps.
const bashScript = `printf '%s\n' banana apple cherry apple > fruits
sort < fruits | uniq -c | sort -k1,1nr -k2
echo first > out; echo second >> out; cat out
ls /nonexistent-palisade 2>&1 | sed 's/^[^:]*: //'
{ echo to-stdout; echo to-stderr >&2; } > both 2>&1; sort both
x=$(echo nested $(echo deep)); echo "$x"
(cd /etc && pwd); [ "$(pwd)" = "$PWD" ] && echo cwd-kept
(exit 7); echo "subshell status $?"
echo "pipeline status $(false | true; echo $?)"
set -o pipefail; false | true; echo "pipefail status $?"; set +o pipefail
cat <<EOF
here $((6 * 7)) ${x}
EOF
cat <<'EOF'
literal $x
EOF
for i in 1 2 3; do printf '%s,' "$i"; done; echo
n=0; while [ $n -lt 5 ]; do n=$((n + 1)); done; echo "n=$n"
while read -r a b; do echo "$b $a"; done <<EOF
one 1
two 2
EOF
exec 3> fd3; echo via-fd3 >&3; exec 3>&-; cat fd3
seq 1 100 | while read -r v; do s=$((${s:-0} + v)); echo $s; done | tail -n 1
echo "$(seq 3 | tr '\n' ' ')"
wc -l < fruits
echo to-real-stderr >&2
trap 'echo trapped exit' EXIT
exit 5
`

func TestProgramBash(t *testing.T) {
	compareProgram(t, program{
		argv:       []string{"/bin/bash", "-c", bashScript},
		needs:      []string{"bash", "sort", "uniq", "sed", "seq", "tail", "tr", "wc"},
		wantExit:   5,
		wantOut:    []string{"      2 apple\n", "to-stderr\nto-stdout\n", "here 42 nested deep\n", "literal $x\n", "5050\n", "trapped exit\n"},
		sameStderr: true,
	})
}

// TestProgramLsRoot runs ls -la / (one process, no fork). The root, /dev,
// /proc and /sys are the sandbox's own, as is any directory the host
// mounts something on; every other line must equal the host's.
func TestProgramLsRoot(t *testing.T) {
	native, runs := runProgram(t, program{
		argv:    []string{"/bin/ls", "-la", "--time-style=+%F", "/"},
		wantOut: []string{" etc\n", " usr\n"},
	})
	// The sandbox's own mounts differ by design; /tmp's line changes as
	// tests running at the same time create and remove entries in it.
	own := map[string]bool{".": true, "..": true, "dev": true, "proc": true, "sys": true, "tmp": true}
	for _, m := range hostTopMounts(t) {
		own[m] = true
	}
	for _, r := range runs {
		res := r.res
		if res.ExitCode != 0 || res.Stderr != "" {
			t.Fatalf("%s ls -la /: exit %d, stderr %q", r.how, res.ExitCode, res.Stderr)
		}
		nl, sl := lsLines(native.Stdout), lsLines(res.Stdout)
		if strings.Join(nl.names, " ") != strings.Join(sl.names, " ") {
			t.Fatalf("%s ls -la / names differ\nsandbox: %v\nnative:  %v", r.how, sl.names, nl.names)
		}
		for _, name := range nl.names {
			if !own[name] && nl.lines[name] != sl.lines[name] {
				t.Errorf("%s ls -la / line for %s:\nsandbox: %s\nnative:  %s", r.how, name, sl.lines[name], nl.lines[name])
			}
		}
	}
}

type lsListing struct {
	names []string
	lines map[string]string
}

// lsLines splits ls -l output into entry names (in order) and their
// lines with runs of blanks made one, dropping the "total" line. The name is the ninth field, before
// any " -> " of a symlink.
func lsLines(out string) lsListing {
	l := lsListing{lines: map[string]string{}}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		f := strings.Fields(line)
		if len(f) < 7 || strings.HasPrefix(line, "total ") {
			continue
		}
		// mode links owner group size date name [-> target]
		name := f[6]
		l.names = append(l.names, name)
		// Column widths follow the widest entry, which may be one of
		// the sandbox's own (the host's /proc has one link per process):
		// compare fields, not padding.
		l.lines[name] = strings.Join(f, " ")
	}
	return l
}

// hostTopMounts lists the host's mount points directly under /.
func hostTopMounts(t *testing.T) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatalf("reading mountinfo: %v", err)
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := f[4]
		if strings.Count(mp, "/") == 1 && mp != "/" {
			names = append(names, strings.TrimPrefix(mp, "/"))
		}
	}
	return names
}

// TestProgramCoreutilsTree copies, moves and removes a tree in the
// sandbox's writable layer.
func TestProgramCoreutilsTree(t *testing.T) {
	compareProgram(t, program{
		argv: []string{"/bin/sh", "-c", `set -e
mkdir -p src/a/b src/c
printf 'hello\n' > src/a/b/f1
seq 1 5000 > src/c/numbers
ln -s a/b/f1 src/link
cp -r src copy
cp -a src archive
mv copy moved
mv moved/c/numbers moved/numbers
rm -r src/a
rm -rf archive/c
rmdir moved/c
find . | sort
cat moved/link archive/link
readlink moved/link
wc -l < moved/numbers
[ ! -e copy ] && echo copy-gone
rm -r moved
ls -A
`},
		needs:   []string{"mkdir", "seq", "ln", "cp", "mv", "rm", "rmdir", "find", "sort", "cat", "readlink", "wc", "ls"},
		wantOut: []string{"./moved/numbers\n", "hello\nhello\na/b/f1\n5000\ncopy-gone\narchive\nsrc\n"},
	})
}

func TestProgramSortUniqWc(t *testing.T) {
	compareProgram(t, program{
		argv: []string{"/bin/sh", "-c", `set -e
seq 0 19999 | awk '{ print ($1 * 7919) % 1000 }' > gen
sort -n gen | uniq -c | sort -k1,1nr -k2,2n | head -n 5
sort -u gen | wc -l
sort -rn gen | head -n 3
sort gen | uniq -d | wc -l
wc gen
wc -c < gen
`},
		needs:   []string{"seq", "awk", "sort", "uniq", "head", "wc"},
		wantOut: []string{"1000\n999\n999\n999\n"},
	})
}

func TestProgramFind(t *testing.T) {
	compareProgram(t, program{
		argv: []string{"/bin/sh", "-c", `set -e
mkdir -p t/x/y t/z
touch t/x/a.c t/x/y/b.c t/z/c.h t/top.txt
printf 1234567 > t/z/big
find t | sort
echo --; find t -name '*.c' | sort
echo --; find t -type d | sort
echo --; find t -type f -size +5c
echo --; find t -name '*.h' -exec echo found {} \;
echo --; find t -name '*.c' -print0 | xargs -0 -n1 basename | sort
echo --; find t -mindepth 2 -type f | wc -l
echo --; find /etc -maxdepth 1 -name os-release
`},
		needs:   []string{"mkdir", "touch", "find", "sort", "xargs", "basename", "wc"},
		wantOut: []string{"found t/z/c.h\n", "t/z/big\n", "/etc/os-release\n"},
	})
}

// TestProgramTarRoundTrip packs a tree with tar czf (tar runs gzip) and
// unpacks it, comparing sha256sums of every file.
func TestProgramTarRoundTrip(t *testing.T) {
	compareProgram(t, program{
		argv: []string{"/bin/sh", "-c", `set -e
mkdir -p data/sub
seq 1 20000 > data/numbers
head -c 300000 /bin/ls > data/sub/bin
printf 'x\n' > data/sub/small
ln -s numbers data/link
(cd data && find . -type f | sort | xargs sha256sum) > before
tar czf data.tgz data
mkdir out
tar xzf data.tgz -C out
(cd out/data && find . -type f | sort | xargs sha256sum) > after
cmp before after && echo same
cat after
readlink out/data/link
tar tzf data.tgz | sort
gzip -t data.tgz && echo gzip-ok
`},
		needs:   []string{"tar", "gzip", "sha256sum", "find", "sort", "xargs", "cmp", "head", "seq", "readlink"},
		wantOut: []string{"same\n", "  ./numbers\n", "gzip-ok\n"},
	})
}

// TestProgramSha256sum is one process reading files through the Gofer.
func TestProgramSha256sum(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	compareProgram(t, program{
		argv:       []string{"/usr/bin/sha256sum", "/etc/os-release", "/bin/ls", exe},
		needs:      []string{"sha256sum"},
		wantOut:    []string{"  /etc/os-release\n"},
		sameStderr: true,
	})
}

func TestProgramGrepSedAwk(t *testing.T) {
	compareProgram(t, program{
		argv: []string{"/bin/sh", "-c", `set -e
printf 'alpha 1\nbeta 2\ngamma 3\ndelta 4\nalphabet 5\n' > words
grep -n '^alpha' words
grep -c a words
grep -v -E 'bet|^d' words
grep -o 'a[lm]' words | sort | uniq -c
grep -q zeta words || echo "no zeta: $?"
sed -n '2,3p' words
sed -e 's/\([a-z]*\) \([0-9]\)/\2:\1/' words
sed -i 's/beta/BETA/' words
cat words
awk '{ s += $2 } END { print s, NR }' words
awk 'length($1) > 4 { printf "%s=%d\n", toupper($1), $2 * 10 }' words
awk -F: '$1 == "root" { print $1, $3, $6 }' /etc/passwd
mkdir d; echo needle > d/a.txt; echo hay > d/b.txt; echo needle > d/c.log
grep -rl --include='*.txt' needle d
`},
		needs:   []string{"grep", "sed", "awk", "sort", "uniq", "cat", "mkdir"},
		wantOut: []string{"1:alpha 1\n", "no zeta: 1\n", "BETA 2\n", "15 5\n", "root 0 /root\n", "d/a.txt\n"},
	})
}

// pythonCases are python3 -c programs and what they print.
var pythonCases = []struct {
	name, src string
	want      string // native stdout must contain this
	fix       func(string) string
}{
	{name: "json", src: `import json
d = json.loads('{"b": [1, 2.5, null, true], "a": "\\u00e9", "n": {"x": -1e3}}')
print(json.dumps(d, sort_keys=True))
print(json.dumps(d, ensure_ascii=False, indent=1, sort_keys=True))
print(json.loads(json.dumps(list(range(5)))))`, want: `"n": {"x": -1000.0}`},
	{name: "tempfile", src: `import os, tempfile
with tempfile.TemporaryDirectory() as d:
    with tempfile.NamedTemporaryFile("w+", dir=d, suffix=".txt", delete=False) as f:
        f.write("hello")
        name = f.name
    print(open(name).read(), os.path.dirname(name) == d, name.endswith(".txt"))
    with tempfile.SpooledTemporaryFile(max_size=10) as s:
        s.write(b"x" * 100)
        s.seek(0)
        print(len(s.read()))
print(os.path.exists(d))`, want: "hello True True\n100\nFalse\n"},
	{name: "mmap", src: `import mmap, os, tempfile
m = mmap.mmap(-1, 1 << 20)
m[0:5] = b"hello"
m[-1:] = b"!"
print("anon", m[0:5], m[-1:], len(m))
with tempfile.TemporaryFile() as f:
    f.write(b"abcdefgh" * 1024)
    f.flush()
    r = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    print("read", r[0:8], r.find(b"hab"), len(r))
    c = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    c[0:3] = b"XYZ"
    print("copy", c[0:8], os.pread(f.fileno(), 3, 0))
    try:
        w = mmap.mmap(f.fileno(), 4096)
        w[0:4] = b"WXYZ"
        w.flush()
        print("shared", os.pread(f.fileno(), 4, 0))
    except OSError as e:
        print("shared", e.strerror)`,
		want: "shared b'WXYZ'\n"},
	{name: "threading", src: `import threading
lock = threading.Lock()
total = [0]
names = set()
def work(i):
    with lock:
        total[0] += i
        names.add(threading.current_thread().name)
ts = [threading.Thread(target=work, args=(i,), name="t%d" % i) for i in range(100)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(total[0], len(names), threading.active_count())`, want: "4950 100 1\n"},
	{name: "subprocess", src: `import subprocess, sys
r = subprocess.run(["echo", "hi", "there"], capture_output=True, text=True)
print(repr(r.stdout), r.returncode)
r = subprocess.run(["sh", "-c", "echo err >&2; exit 4"], capture_output=True, text=True)
print(repr(r.stderr), r.returncode)
r = subprocess.run([sys.executable, "-c", "print(input()[::-1])"], input="olleh\n", capture_output=True, text=True)
print(r.stdout.strip())
print(subprocess.check_output("seq 3 | wc -l", shell=True).decode().strip())`, want: "'hi there\\n' 0\n'err\\n' 4\nhello\n3\n"},
	{name: "multiprocessing", src: `import multiprocessing, os
def square(x):
    return x * x, os.getpid() != parent
parent = os.getpid()
if __name__ == "__main__":
    with multiprocessing.Pool(4) as pool:
        out = pool.map(square, range(100))
    print(sum(v for v, _ in out), all(child for _, child in out))`, want: "328350 True\n"},
	{name: "signal_alarm", src: `import signal, time
fired = []
def handler(signum, frame):
    fired.append(signum)
    raise TimeoutError("alarm")
signal.signal(signal.SIGALRM, handler)
signal.alarm(1)
try:
    time.sleep(60)
    print("slept through")
except TimeoutError as e:
    print("interrupted:", e, fired == [signal.SIGALRM])
print("remaining", signal.alarm(0))`, want: "interrupted: alarm True\nremaining 0\n"},
}

func TestProgramPython(t *testing.T) {
	python, ok := testutil.LookPath("python3")
	if !ok {
		t.Skip("python3 not installed")
	}
	for _, c := range pythonCases {
		t.Run(c.name, func(t *testing.T) {
			compareProgram(t, program{
				argv:       []string{python, "-c", c.src},
				wantOut:    []string{c.want},
				sameStderr: true,
				fixSandbox: c.fix,
			})
		})
	}
}

// TestProgramGcc compiles and runs a C program inside the sandbox (gcc
// runs cc1, as and ld).
func TestProgramGcc(t *testing.T) {
	compareProgram(t, program{
		argv: []string{"/bin/sh", "-c", `set -e
cat > hello.c <<'EOF'
#include <stdio.h>
int main(int argc, char **argv) {
	printf("hello from gcc, argc=%d, last=%s\n", argc, argv[argc - 1]);
	return 3;
}
EOF
gcc hello.c
./a.out one two || echo "status $?"
gcc -O2 -Wall -static -o hello-static hello.c
./hello-static || echo "status $?"
ls
`},
		needs:   []string{"gcc"},
		wantOut: []string{"hello from gcc, argc=3, last=two\nstatus 3\n", "a.out\nhello-static\nhello.c\n"},
	})
}

// TestProgramGit makes a repository with two commits. Fixed dates and
// identity make the commit ids equal to the host's.
func TestProgramGit(t *testing.T) {
	compareProgram(t, program{
		argv: []string{"/bin/sh", "-c", `set -e
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_DATE='2020-01-02T03:04:05Z' GIT_COMMITTER_DATE='2020-01-02T03:04:05Z'
g() { git -c user.name=Palisade -c user.email=test@palisade.invalid -c init.defaultBranch=main "$@"; }
g init -q repo
cd repo
printf 'one\n' > f
mkdir sub; printf 'two\n' > sub/g
g add f sub
g commit -q -m first
printf 'more\n' >> f
g status --short
g diff --stat
g commit -q -am second
g log --format='%H %an <%ae> %s'
g rev-list --count HEAD
g cat-file -p HEAD^{tree}
g show --stat --format=%s HEAD~1
`},
		needs:   []string{"git"},
		wantOut: []string{" M f\n", "Palisade <test@palisade.invalid> second\n", "2\n"},
	})
}

// TestProgramMake builds from a small Makefile with a pattern rule, a
// shell function and a phony target, then checks make sees it up to date.
func TestProgramMake(t *testing.T) {
	compareProgram(t, program{
		argv: []string{"/bin/sh", "-c", `set -e
printf 'PARTS := a b c\n' > Makefile
printf 'COUNT = $(shell echo $(PARTS) | wc -w)\n' >> Makefile
printf 'all: out.txt\n\t@echo built $(COUNT) parts\n' >> Makefile
printf 'out.txt: $(PARTS:%%=%%.part)\n\tcat $^ > $@\n' >> Makefile
printf '%%.part:\n\techo part $* > $@\n' >> Makefile
printf '.PHONY: all clean\nclean:\n\trm -f *.part out.txt\n' >> Makefile
make
cat out.txt
make out.txt
make clean
make -j2 all | sort
make -q out.txt && echo up-to-date
`},
		needs:   []string{"make"},
		wantOut: []string{"built 3 parts\n", "part a\npart b\npart c\n", "is up to date", "up-to-date\n"},
	})
}

// TestProgramKillBackgroundJob kills a background sleep. The sleep is far
// longer than the command's deadline, so a kill that does not work fails
// the test by timing out, with no timing assertion.
func TestProgramKillBackgroundJob(t *testing.T) {
	t.Run("sh", func(t *testing.T) {
		// dash has no job control when not interactive: %1 is not a
		// job there, so the pid is used.
		compareProgram(t, program{
			argv:    []string{"/bin/sh", "-c", `sleep 1000 & kill $!; wait $!; echo "wait=$?"`},
			needs:   []string{"sleep"},
			wantOut: []string{"wait=143\n"},
		})
	})
	t.Run("bash", func(t *testing.T) {
		compareProgram(t, program{
			// (What a later `wait %1` says depends on whether bash has
			// noticed the job's end yet, natively too: not compared.)
			argv:    []string{"/bin/bash", "-c", `sleep 1000 & kill %1; wait; echo "wait=$?"`},
			needs:   []string{"bash", "sleep"},
			wantOut: []string{"wait=0\n"},
		})
	})
}

// TestProgramForkBomb runs a fork bomb under RLIMIT_NPROC 50 (see
// testdata/forkbomb.c): fork must fail with EAGAIN, every process must be
// reaped, and the sandbox must exit cleanly with nothing left behind.
func TestProgramForkBomb(t *testing.T) {
	src := filepath.Join(testutil.RepoRoot(t), "test", "e2e", "testdata", "forkbomb.c")
	prog := testutil.CompileC(t, t.TempDir(), "forkbomb", src, "-O2", "-static")
	const want = "fork failed: Resource temporarily unavailable\nreaped: yes\nfork after cleanup: exit 7\n"
	native, runs := runProgram(t, program{
		argv:    []string{prog},
		wantOut: []string{want},
	})
	if native.Stdout != want {
		t.Fatalf("native fork bomb: %q, want %q", native.Stdout, want)
	}
	for _, r := range runs {
		if res := r.res; res.ExitCode != 0 || res.Stdout != want {
			t.Fatalf("%s forkbomb: exit %d, stdout %q, stderr %q; want exit 0, stdout %q", r.how, res.ExitCode, res.Stdout, res.Stderr, want)
		}
	}
}

// TestProgramOrphansDieWithInit leaves background processes running,
// one of them orphaned, and exits. The program is the sandbox's init (pid
// 1 of its PID namespace), so, as on Linux, its exit kills the rest:
// runsc do must return at once with the program's status and leave
// nothing behind. Natively the same runs as init of a new PID namespace
// (unshare --pid --fork). The sleeps outlast the deadline, so a sandbox
// that waits for them fails by timing out.
func TestProgramOrphansDieWithInit(t *testing.T) {
	testutil.RequireRoot(t)
	runsc := testutil.Runsc(t)
	testutil.NoLeftovers(t, runsc)
	unshare, ok := testutil.LookPath("unshare")
	if !ok {
		t.Skip("unshare (util-linux) not installed")
	}
	testutil.RequirePrograms(t, "sleep")
	argv := []string{"/bin/sh", "-c", `sleep 1000 & (sleep 1000 &); trap '' TERM HUP; echo started; exit 4`}
	native := testutil.Run(t, programTimeout, "", programEnv, append([]string{unshare, "--pid", "--fork"}, argv...)...)
	if native.ExitCode != 4 || native.Stdout != "started\n" {
		t.Fatalf("native (unshare --pid --fork): exit %d, stdout %q, stderr %q; want exit 4, stdout %q", native.ExitCode, native.Stdout, native.Stderr, "started\n")
	}
	res := testutil.Run(t, programTimeout, "", programEnv, append([]string{runsc, "do"}, argv...)...)
	if res.ExitCode != native.ExitCode || res.Stdout != native.Stdout {
		t.Fatalf("runsc do: exit %d, stdout %q, stderr %q; want exit %d, stdout %q", res.ExitCode, res.Stdout, res.Stderr, native.ExitCode, native.Stdout)
	}
}
