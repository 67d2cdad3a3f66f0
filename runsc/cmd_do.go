package main

import (
	"context"
	"flag"
	"os"

	"github.com/google/subcommands"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/runsc/boot"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
)

func init() {
	subcommands.Register(&doCmd{}, "")
}

// doCmd runs one program in a sandbox without an OCI bundle: the host's
// "/" is the container's root, served by a Gofer process under a tmpfs
// overlay (so writes stay in the sandbox unless --root-writable), the
// working directory and environment are carried in, and the program's
// stdio are runsc's. It runs as root in the sandbox, with Linux's
// default resource limits. The sandbox is assembled by boot.Run, as for
// `runsc run`.
type doCmd struct {
	strace        bool
	rootWritable  bool
	kernelRelease string
	kernelVersion string
	hostname      string
}

func (*doCmd) Name() string     { return "do" }
func (*doCmd) Synopsis() string { return "run a program in a sandbox" }
func (*doCmd) Usage() string {
	return `do [--strace] [--root-writable] PROGRAM [ARGS...]:
  Run PROGRAM (looked up in $PATH if it has no slash) with ARGS and this
  environment in a sandbox whose root is the host's "/" (read-only, writes
  go to an in-sandbox tmpfs), its system calls served by the Sentry.
  Exits with the program's exit status, or 128+N if signal N killed it.
`
}

func (c *doCmd) SetFlags(f *flag.FlagSet) {
	f.BoolVar(&c.strace, "strace", false, "print every system call to stderr, strace style")
	f.BoolVar(&c.rootWritable, "root-writable", false, "let writes reach the host's root instead of an in-sandbox tmpfs layer")
	f.StringVar(&c.kernelRelease, "kernel-release", "", "kernel release uname reports (default "+kernel.DefaultRelease+")")
	f.StringVar(&c.kernelVersion, "kernel-version", "", "kernel version uname reports (default \""+kernel.DefaultVersion+"\")")
	f.StringVar(&c.hostname, "hostname", "", "host name in the sandbox (default "+kernel.DefaultNodename+")")
	registerNetworkFlag(f)
}

func (c *doCmd) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	if f.NArg() < 1 {
		f.Usage()
		return subcommands.ExitUsageError
	}
	if err := checkNetwork(); err != nil {
		return fatalf("%v", err)
	}
	for _, fl := range []struct{ name, value string }{
		{"kernel-release", c.kernelRelease}, {"kernel-version", c.kernelVersion}, {"hostname", c.hostname},
	} {
		if len(fl.value) >= linux.UTSLen {
			return fatalf("--%s: longer than %d bytes", fl.name, linux.UTSLen-1)
		}
	}
	cwd, err := os.Getwd()
	if err != nil {
		return fatalf("getting the working directory: %v", err)
	}
	status, err := boot.Run(&boot.Config{
		RootPath:      "/",
		RootWritable:  c.rootWritable,
		Argv:          f.Args(),
		Env:           os.Environ(),
		Cwd:           cwd,
		Umask:         0o022,
		Hostname:      c.hostname,
		KernelRelease: c.kernelRelease,
		KernelVersion: c.kernelVersion,
		Network:       *network,
		Strace:        c.strace,
		Stdio:         [3]int{0, 1, 2},
		Stderr:        os.Stderr,
		// The host's /proc is not served (the Gofer serves one
		// filesystem); the sandbox gets its own.
		Mounts: []boot.Mount{{Kind: boot.MountProc, Destination: "/proc"}},
	})
	if err != nil {
		return fatalf("%v", err)
	}
	return subcommands.ExitStatus(status.ShellStatus())
}
