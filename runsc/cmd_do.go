package main

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"

	"github.com/google/subcommands"
	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform/ptrace"
	"github.com/palisade-sandbox/palisade/runsc/sandbox"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/pgalloc"
	"github.com/palisade-sandbox/palisade/sentry/strace"
	sys "github.com/palisade-sandbox/palisade/sentry/syscalls/linux"
)

func init() {
	subcommands.Register(&doCmd{}, "")
}

// doCmd runs one program in a sandbox without an OCI bundle: the host's
// "/" is the container's root, served by a Gofer process under a tmpfs
// overlay (so writes stay in the sandbox unless --root-writable), the
// working directory and environment are carried in, and the program's
// stdio are runsc's. For now the Sentry runs inside the runsc process
// itself rather than as a separate "runsc boot".
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
	return `do [--strace] PROGRAM [ARGS...]:
  Run PROGRAM (looked up in $PATH if it has no slash) with ARGS and this
  environment in a sandbox whose root is the host's "/" (read-only, writes
  go to an in-sandbox tmpfs), its system calls served by the Sentry.
  Dynamically linked programs need file mmap, which is not there yet. Exits with the program's exit status, or 128+N if signal N
  killed it.
`
}

func (c *doCmd) SetFlags(f *flag.FlagSet) {
	f.BoolVar(&c.strace, "strace", false, "print every system call to stderr, strace style")
	f.BoolVar(&c.rootWritable, "root-writable", false, "let writes reach the host's root instead of an in-sandbox tmpfs layer")
	f.StringVar(&c.kernelRelease, "kernel-release", "", "kernel release uname reports (default "+kernel.DefaultRelease+")")
	f.StringVar(&c.kernelVersion, "kernel-version", "", "kernel version uname reports (default \""+kernel.DefaultVersion+"\")")
	f.StringVar(&c.hostname, "hostname", "", "host name in the sandbox (default "+kernel.DefaultNodename+")")
}

func (c *doCmd) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	if f.NArg() < 1 {
		f.Usage()
		return subcommands.ExitUsageError
	}
	argv := f.Args()
	path := argv[0]
	if !strings.Contains(path, "/") {
		p, err := exec.LookPath(path)
		if err != nil {
			return fatalf("loading %s: not found in $PATH", path)
		}
		path = p
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
	// The Gofer dies with the thread that started it (PR_SET_PDEATHSIG):
	// keep this goroutine on one thread for the sandbox's whole life.
	runtime.LockOSThread()
	root, err := sandbox.StartRoot(sandbox.RootOptions{HostRoot: "/", Writable: c.rootWritable, Stderr: os.Stderr})
	if err != nil {
		return fatalf("%v", err)
	}
	defer root.Close()
	mf, err := pgalloc.New("palisade-memory", pgalloc.DefaultSize)
	if err != nil {
		return fatalf("%v", err)
	}
	defer mf.Close()
	p, err := ptrace.New()
	if err != nil {
		return fatalf("%v", err)
	}
	defer p.Close()

	cfg := kernel.Config{
		Platform:     p,
		MemoryFile:   mf,
		SyscallTable: sys.AMD64,
		Stdio:        [3]int{0, 1, 2},
		Randomize:    true,
		VFS:          root.VFS,
		Root:         root.Root,
		Release:      c.kernelRelease,
		Version:      c.kernelVersion,
		Hostname:     c.hostname,
	}
	if c.strace {
		cfg.Tracer = strace.New(os.Stderr, sys.AMD64)
	}
	k, err := kernel.New(cfg)
	if err != nil {
		return fatalf("%v", err)
	}
	tg, err := k.CreateProcess(kernel.CreateProcessArgs{
		Filename:         path,
		Argv:             argv,
		Envv:             os.Environ(),
		WorkingDirectory: cwd,
		Umask:            0o022,
	})
	if err != nil {
		return fatalf("loading %s: %v", path, err)
	}

	// A signal that would end runsc ends the guest the same way: it has
	// no handlers yet, so the default action applies.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	defer func() {
		signal.Stop(sigs)
		close(sigs)
	}()
	go func() {
		for s := range sigs {
			if us, ok := s.(unix.Signal); ok {
				tg.ExitGroup(kernel.ExitStatus{Signal: linux.Signal(us)})
			}
		}
	}()

	tg.Start()
	status := tg.Wait()
	return subcommands.ExitStatus(status.ShellStatus())
}
