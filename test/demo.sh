#!/usr/bin/env bash
# make demo: runs a program in the sandbox and shows that it is sandboxed:
# the kernel it reports is the Sentry's, not the host's.
set -euo pipefail
cd "$(dirname "$0")/.."
build=test/e2e/build
mkdir -p "$build"
cat > "$build/demo.c" <<'C'
#include <stdio.h>
#include <sys/utsname.h>
#include <unistd.h>
int main(void) {
	struct utsname u;
	uname(&u);
	printf("Hello from inside Palisade!\n");
	printf("  uname: %s %s %s %s %s\n", u.sysname, u.nodename, u.release, u.version, u.machine);
	printf("  pid %d, parent %d\n", getpid(), getppid());
	return 0;
}
C
gcc -O2 -static -o "$build/demo" "$build/demo.c"
echo "host kernel:    $(uname -sr)"
echo "\$ bin/runsc do $build/demo"
bin/runsc do "$build/demo"
echo
echo "Files come from the host's / through the Gofer, read-only under an in-sandbox layer;"
echo "dynamically linked Debian programs run unchanged:"
echo "\$ bin/runsc do ls /"
bin/runsc do ls / | tr '\n' ' '
echo
echo "\$ bin/runsc do uname -a"
bin/runsc do uname -a
echo
echo "Every system call above was served by the Sentry; see them with --strace:"
echo "\$ bin/runsc do --strace $build/demo"
trace=$(bin/runsc do --strace "$build/demo" 2>&1 >/dev/null)
printf '%s\n' "$trace" | head -n 12
