package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sandbox/palisade/test/internal/testutil"
)

// dynamicEnv is the environment for dynamically linked programs: a C
// locale, so that glibc does not load gconv modules (whose setup needs
// futex, not served yet).
var dynamicEnv = []string{"PATH=/usr/bin:/bin"}

// runDynamic runs argv natively and under runsc do and returns both.
func runDynamic(t *testing.T, argv ...string) (native, sandboxed testutil.Result) {
	t.Helper()
	runsc := testutil.Runsc(t)
	native = testutil.Run(t, time.Minute, "", dynamicEnv, argv...)
	sandboxed = testutil.Run(t, time.Minute, "", dynamicEnv, append([]string{runsc, "do"}, argv...)...)
	return native, sandboxed
}

func TestDynamicTrue(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.NoLeftovers(t, testutil.Runsc(t))
	_, res := runDynamic(t, "/bin/true")
	if res.ExitCode != 0 {
		t.Fatalf("runsc do /bin/true: exit %d, stderr %q", res.ExitCode, res.Stderr)
	}
}

func TestDynamicCat(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.NoLeftovers(t, testutil.Runsc(t))
	want, err := os.ReadFile("/etc/os-release")
	if err != nil {
		t.Skipf("no /etc/os-release on the host: %v", err)
	}
	native, res := runDynamic(t, "/bin/cat", "/etc/os-release")
	if native.Stdout != string(want) {
		t.Fatalf("native cat differs from the file: %q", native.Stdout)
	}
	if res.ExitCode != 0 || res.Stdout != string(want) {
		t.Fatalf("runsc do cat: exit %d, stdout %q, stderr %q; want exit 0, stdout %q", res.ExitCode, res.Stdout, res.Stderr, want)
	}
}

func TestDynamicLs(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.NoLeftovers(t, testutil.Runsc(t))
	_, res := runDynamic(t, "/bin/ls", "/")
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "etc\n") {
		t.Fatalf("runsc do ls /: exit %d, stdout %q, stderr %q; want exit 0 and etc listed", res.ExitCode, res.Stdout, res.Stderr)
	}
}

func TestDynamicEnv(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.NoLeftovers(t, testutil.Runsc(t))
	native, res := runDynamic(t, "/usr/bin/env")
	if res.ExitCode != 0 || res.Stdout != native.Stdout {
		t.Fatalf("runsc do env: exit %d, stdout %q, stderr %q; want exit 0, stdout %q", res.ExitCode, res.Stdout, res.Stderr, native.Stdout)
	}
}

func TestDynamicHello(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.NoLeftovers(t, testutil.Runsc(t))
	prog := staticProgram(t, "hello", "-fPIE", "-pie")
	native, res := runDynamic(t, prog, "one", "two words")
	if native.ExitCode != 0 || !strings.HasPrefix(native.Stdout, "Hello") {
		t.Fatalf("native hello: exit %d, stdout %q", native.ExitCode, native.Stdout)
	}
	if res.ExitCode != native.ExitCode || res.Stdout != native.Stdout {
		t.Fatalf("runsc do dynamic hello: exit %d, stdout %q, stderr %q; want exit %d, stdout %q", res.ExitCode, res.Stdout, res.Stderr, native.ExitCode, native.Stdout)
	}
}

// mmapErrorsSource exercises file mmap: content, offsets, zero fill past
// EOF, private writes, and the errors for each kind of descriptor.
const mmapErrorsSource = `#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void try(const char *what, void *p) {
	if (p == MAP_FAILED)
		printf("%s: %s\n", what, strerror(errno));
	else
		printf("%s: ok\n", what);
}

int main(void) {
	char path[] = "/tmp/mmaperr-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) { perror("mkstemp"); return 1; }
	unlink(path);
	char buf[6000];
	for (int i = 0; i < (int)sizeof buf; i++) buf[i] = 'a' + i % 26;
	if (write(fd, buf, sizeof buf) != sizeof buf) { perror("write"); return 1; }

	char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	try("private rw", p);
	if (p != MAP_FAILED) {
		printf("content matches: %d\n", memcmp(p, buf, sizeof buf) == 0);
		printf("tail zero: %d %d\n", p[6000] == 0, p[8191] == 0);
		p[0] = 'Z';
		char c;
		pread(fd, &c, 1, 0);
		printf("file after private write: %c\n", c);
		printf("munmap: %d\n", munmap(p, 3 * 4096));
	}
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
	try("offset 4096", p);
	if (p != MAP_FAILED) printf("offset content: %d\n", memcmp(p, buf + 4096, 6000 - 4096) == 0);
	try("unaligned offset", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 100));
	try("bad fd", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 999, 0));
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	try("shared ro", p);
	if (p != MAP_FAILED) printf("shared content: %d\n", memcmp(p, buf, 4096) == 0);

	int ro = open("/etc/os-release", O_RDONLY);
	try("shared write of O_RDONLY", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0));
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, 0);
	try("shared read of O_RDONLY", p);
	if (p != MAP_FAILED) printf("mprotect write: %s\n", mprotect(p, 4096, PROT_READ | PROT_WRITE) ? strerror(errno) : "ok");
	try("private write of O_RDONLY", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0));

	char wpath[] = "/tmp/mmaperr-w-XXXXXX";
	int w = mkstemp(wpath);
	write(w, buf, 100);
	int wonly = open(wpath, O_WRONLY);
	unlink(wpath);
	try("O_WRONLY file", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, wonly, 0));
	try("O_WRONLY shared write", mmap(NULL, 4096, PROT_WRITE, MAP_SHARED, wonly, 0));
	try("O_RDWR shared write", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, w, 0));
	int d = open("/", O_RDONLY | O_DIRECTORY);
	try("directory", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, d, 0));
	int pp[2];
	pipe(pp);
	try("pipe", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, pp[0], 0));
	try("pipe write end", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, pp[1], 0));
	int op = open("/etc/os-release", O_PATH);
	try("O_PATH", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, op, 0));
	return 0;
}
`

// TestDynamicMmapFiles compares file mmap results with the host kernel's.
func TestDynamicMmapFiles(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.NoLeftovers(t, testutil.Runsc(t))
	dir := t.TempDir()
	src := filepath.Join(dir, "mmaperr.c")
	if err := os.WriteFile(src, []byte(mmapErrorsSource), 0o644); err != nil {
		t.Fatal(err)
	}
	prog := testutil.CompileC(t, dir, "mmaperr", src, "-O2")
	native, res := runDynamic(t, prog)
	if native.ExitCode != 0 || !strings.Contains(native.Stdout, "O_RDWR shared write: ok\n") {
		t.Fatalf("native mmaperr: exit %d, stdout %q, stderr %q", native.ExitCode, native.Stdout, native.Stderr)
	}
	want := native.Stdout
	if res.ExitCode != 0 || res.Stdout != want {
		t.Fatalf("runsc do mmaperr: exit %d, stderr %q\nstdout:\n%s\nwant:\n%s", res.ExitCode, res.Stderr, res.Stdout, want)
	}
}

// TestDynamicLsUTF8 runs ls -la in a UTF-8 locale: glibc loads its
// charset modules under a lock (futex) and ls asks for ACL xattrs; the
// output must equal native ls, with nothing on stderr.
func TestDynamicLsUTF8(t *testing.T) {
	testutil.RequireRoot(t)
	runsc := testutil.Runsc(t)
	testutil.NoLeftovers(t, runsc)
	env := []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	argv := []string{"/bin/ls", "-la", "--time-style=+%F", "/etc/apt"}
	native := testutil.Run(t, time.Minute, "", env, argv...)
	res := testutil.Run(t, time.Minute, "", env, append([]string{runsc, "do"}, argv...)...)
	if res.ExitCode != 0 || res.Stderr != "" || res.Stdout != native.Stdout {
		t.Fatalf("runsc do ls -la: exit %d, stderr %q\nstdout:\n%s\nnative:\n%s", res.ExitCode, res.Stderr, res.Stdout, native.Stdout)
	}
}
