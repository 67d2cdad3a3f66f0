#!/usr/bin/env bash
# make demo: runs familiar programs in the sandbox and shows that they are
# sandboxed: the kernel they see is the Sentry's, not the host's.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "host kernel:    $(uname -sr)"
echo
script='uname -a; echo "processes: $(ls /proc | grep -c "^[0-9]")"; echo / has: $(ls /); python3 -c "print(42)"'
echo "\$ bin/runsc do bash -c '$script'"
bin/runsc do bash -c "$script"
echo
echo "bash, ls and python3 are the host's own programs, unchanged: files come from"
echo "the host's / through the Gofer, read-only under an in-sandbox layer, and the"
echo "sandbox has its own processes (its bash is PID 1) and its own /proc."
echo
echo "Every system call is served by the Sentry; see them with --strace:"
echo "\$ bin/runsc do --strace uname -r"
trace=$(bin/runsc do --strace uname -r 2>&1 >/dev/null)
printf '%s\n' "$trace" | tail -n 8
