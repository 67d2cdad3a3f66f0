package main

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"os/signal"
	"strings"

	"github.com/google/subcommands"
	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform/ptrace"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/loader"
	"github.com/palisade-sandbox/palisade/sentry/pgalloc"
	"github.com/palisade-sandbox/palisade/sentry/strace"
	sys "github.com/palisade-sandbox/palisade/sentry/syscalls/linux"
)

func init() {
	subcommands.Register(&doCmd{}, "")
}

// doCmd runs one program in a sandbox without an OCI bundle. For now the
// Sentry runs inside the runsc process itself and the program is a single
// static ELF file that runsc opens (the Gofer and a root filesystem come
// later); the program's stdio are runsc's.
type doCmd struct {
	strace bool
}

func (*doCmd) Name() string     { return "do" }
func (*doCmd) Synopsis() string { return "run a program in a sandbox" }
func (*doCmd) Usage() string {
	return `do [--strace] PROGRAM [ARGS...]:
  Run PROGRAM (a static ELF executable; looked up in $PATH if it has no
  slash) with ARGS and this environment, its system calls served by the
  Sentry. Exits with the program's exit status, or 128+N if signal N
  killed it.
`
}

func (c *doCmd) SetFlags(f *flag.FlagSet) {
	f.BoolVar(&c.strace, "strace", false, "print every system call to stderr, strace style")
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
	file, err := os.Open(path)
	if err != nil {
		return fatalf("loading %s: %v", path, unwrapPathError(err))
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return fatalf("loading %s: %v", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fatalf("loading %s: not a regular file", path)
	}

	// Reject a bad file before starting anything.
	if _, err := loader.ParseELF(file, fi.Size()); err != nil {
		return fatalf("loading %s: %v", path, err)
	}

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
	}
	if c.strace {
		cfg.Tracer = strace.New(os.Stderr, sys.AMD64)
	}
	k, err := kernel.New(cfg)
	if err != nil {
		return fatalf("%v", err)
	}
	tg, err := k.CreateProcess(kernel.CreateProcessArgs{
		File:     file,
		Size:     fi.Size(),
		Filename: path,
		Argv:     argv,
		Envv:     os.Environ(),
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

// unwrapPathError drops the *PathError's repetition of op and path.
func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
