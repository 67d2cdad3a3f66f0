package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/google/subcommands"
	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/runsc/boot"
	"github.com/palisade-sandbox/palisade/runsc/container"
	"github.com/palisade-sandbox/palisade/runsc/sandbox"
	"github.com/palisade-sandbox/palisade/runsc/specutils"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
)

func init() {
	subcommands.Register(&runCmd{}, "")
}

// runCmd runs an OCI bundle's container in the foreground: it checks the
// bundle's config.json, claims the container ID under --root, assembles
// the sandbox with boot.Run (root filesystem and mounts from the spec,
// the process's arguments, environment, working directory, user, groups
// and resource limits) with runsc's own stdio as the container's, and
// exits with the container's status. The state directory is removed when
// the container ends. A bad bundle is refused before anything starts.
type runCmd struct {
	bundle        string
	consoleSocket string
	strace        bool
	kernelRelease string
	kernelVersion string
}

// Name implements subcommands.Command.
func (*runCmd) Name() string { return "run" }

// Synopsis implements subcommands.Command.
func (*runCmd) Synopsis() string { return "run an OCI bundle's container in the foreground" }

// Usage implements subcommands.Command.
func (*runCmd) Usage() string {
	return `run [--bundle DIR] [--console-socket PATH] [--strace] CONTAINER-ID:
  Run the container described by DIR/config.json (an OCI runtime-spec
  bundle; DIR defaults to the current directory) in a sandbox, with
  runsc's stdin, stdout and stderr as its own, or with a new terminal
  whose master is sent to the --console-socket if process.terminal is
  true. The container's state is
  kept under --root while it runs. Exits with the container's exit
  status, or 128+N if signal N killed it.
`
}

// SetFlags implements subcommands.Command.
func (c *runCmd) SetFlags(f *flag.FlagSet) {
	f.StringVar(&c.bundle, "bundle", ".", "bundle directory (holding config.json)")
	f.StringVar(&c.consoleSocket, "console-socket", "", "unix socket to send the master of the container's new pseudo-terminal to (with process.terminal)")
	f.BoolVar(&c.strace, "strace", false, "print every system call to stderr, strace style")
	f.StringVar(&c.kernelRelease, "kernel-release", "", "kernel release uname reports (default "+kernel.DefaultRelease+")")
	f.StringVar(&c.kernelVersion, "kernel-version", "", "kernel version uname reports (default \""+kernel.DefaultVersion+"\")")
	registerNetworkFlag(f)
}

// Execute implements subcommands.Command.
func (c *runCmd) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	if f.NArg() != 1 {
		f.Usage()
		return subcommands.ExitUsageError
	}
	id := f.Arg(0)
	if err := specutils.ValidateID(id); err != nil {
		return fatalf("%v", err)
	}
	if err := checkNetwork(); err != nil {
		return fatalf("%v", err)
	}
	for _, fl := range []struct{ name, value string }{
		{"kernel-release", c.kernelRelease}, {"kernel-version", c.kernelVersion},
	} {
		if len(fl.value) >= linux.UTSLen {
			return fatalf("--%s: longer than %d bytes", fl.name, linux.UTSLen-1)
		}
	}
	bundle, err := filepath.Abs(c.bundle)
	if err != nil {
		return fatalf("--bundle: %v", err)
	}
	spec, err := specutils.LoadSpec(bundle)
	if err != nil {
		return fatalf("%v", err)
	}
	cfg, err := specutils.BootConfig(spec, bundle)
	if err != nil {
		return fatalf("%s: %v", specutils.ConfigName, err)
	}
	if c.consoleSocket != "" {
		if !spec.Process.Terminal {
			return fatalf("--console-socket: %s has process.terminal false", specutils.ConfigName)
		}
	} else if err := specutils.CheckTerminal(spec, isTerminal(0) && isTerminal(1)); err != nil {
		return fatalf("%s: %v", specutils.ConfigName, err)
	}
	cfg.KernelRelease = c.kernelRelease
	cfg.KernelVersion = c.kernelVersion
	cfg.Network = *network
	cfg.Strace = c.strace
	cfg.Stdio = [3]int{0, 1, 2}
	cfg.Stderr = os.Stderr

	ctr, err := container.Create(*stateRoot, id, bundle, spec.Version)
	if err != nil {
		return fatalf("%v", err)
	}
	defer func() {
		if err := ctr.Destroy(); err != nil {
			slog.Warn("cleaning up container state", "id", id, "err", err)
		}
	}()
	if c.consoleSocket != "" {
		var rows, cols uint16
		if sz := spec.Process.ConsoleSize; sz != nil {
			rows, cols = uint16(min(sz.Height, 0xffff)), uint16(min(sz.Width, 0xffff))
		}
		console, err := sandbox.NewConsole(c.consoleSocket, rows, cols)
		if err != nil {
			return fatalf("%v", err)
		}
		defer console.Close()
		fd := int(console.Fd())
		cfg.Stdio = [3]int{fd, fd, fd}
	}
	cfg.Started = func() {
		if err := ctr.SetStatus(container.Running); err != nil {
			slog.Warn("recording container state", "id", id, "err", err)
		}
	}
	status, err := boot.Run(cfg)
	if err != nil {
		return fatalf("%v", err)
	}
	return subcommands.ExitStatus(status.ShellStatus())
}

// isTerminal reports whether host fd is a terminal.
func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}
