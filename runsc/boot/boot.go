// Package boot assembles and runs a sandbox's kernel: it starts the Gofer
// for the container's root and bind mounts (through runsc/sandbox), builds
// the mount tree the configuration asks for (tmpfs, bind, proc and the
// stand-in for sysfs), creates the kernel on the ptrace platform with its
// memory file and syscall table, loads the first process with its
// arguments, environment, working directory, credentials and resource
// limits, and runs it to the end. `runsc do` and `runsc run` both describe
// what they want as a Config and call Run, so the two behave alike.
//
// For now the Sentry runs inside the calling runsc process rather than as
// a separate `runsc boot`.
package boot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/gofer"
	"github.com/palisade-sandbox/palisade/platform/ptrace"
	"github.com/palisade-sandbox/palisade/runsc/sandbox"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/pgalloc"
	"github.com/palisade-sandbox/palisade/sentry/strace"
	sys "github.com/palisade-sandbox/palisade/sentry/syscalls/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// NetworkNone is the only network mode served today: no interfaces
// (sockets other than those the Sentry serves itself do not exist).
const NetworkNone = "none"

// Config is everything Run needs to start a sandbox. Callers validate
// untrusted input (flags, OCI bundles) before filling it; Run still
// refuses values it cannot honour with an error.
type Config struct {
	// RootPath is the host directory served as "/". It and every bind
	// source must contain no symlinks (the Gofer refuses them): resolve
	// them first.
	RootPath string
	// RootWritable lets the container's writes reach RootPath; otherwise
	// they go to a tmpfs upper layer and are lost at exit.
	RootWritable bool
	// RootReadOnly makes "/" a read-only mount in the sandbox (OCI
	// root.readonly): writes fail with EROFS.
	RootReadOnly bool
	// Mounts are mounted in order over the root, after /dev.
	Mounts []Mount

	// Argv is the program and its arguments. A program name without a
	// slash is looked up in the PATH of Env, inside the sandbox.
	Argv []string
	Env  []string
	// Cwd is the absolute working directory in the sandbox ("" for "/").
	Cwd string
	// Credentials are the process's user and groups; nil is root with
	// every capability.
	Credentials *vfs.Credentials
	// Limits are the resource limits; nil is kernel.DefaultLimits.
	Limits *kernel.LimitSet
	// Umask is the initial file mode creation mask.
	Umask uint32
	// NoNewPrivileges is OCI process.noNewPrivileges (prctl
	// PR_GET_NO_NEW_PRIVS reports it).
	NoNewPrivileges bool

	// Hostname, KernelRelease and KernelVersion override what uname
	// reports ("" keeps the kernel's defaults); each must be shorter
	// than linux.UTSLen.
	Hostname      string
	KernelRelease string
	KernelVersion string
	// Network is the network mode; only NetworkNone ("" means the same)
	// is served.
	Network string

	// Strace prints every system call to Stderr.
	Strace bool
	// Stdio are the host descriptors behind the guest's fds 0, 1 and 2.
	Stdio [3]int
	// Stderr receives the Gofer's diagnostics and the strace output.
	Stderr io.Writer
	// Started, if set, is called once the process is loaded, just before
	// it starts running (runsc run records the container as running).
	Started func()
}

// Validate checks what Run can check without starting anything.
func (c *Config) Validate() error {
	if c.RootPath == "" {
		return errors.New("no root directory")
	}
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return errors.New("no program to run")
	}
	for _, f := range []struct{ name, value string }{
		{"hostname", c.Hostname}, {"kernel release", c.KernelRelease}, {"kernel version", c.KernelVersion},
	} {
		if len(f.value) >= linux.UTSLen {
			return fmt.Errorf("%s: longer than %d bytes", f.name, linux.UTSLen-1)
		}
	}
	switch c.Network {
	case "", NetworkNone:
	default:
		return fmt.Errorf("network mode %q is not supported (only %q)", c.Network, NetworkNone)
	}
	for i := range c.Mounts {
		if err := c.Mounts[i].validate(); err != nil {
			return fmt.Errorf("mount %d (%s): %w", i, c.Mounts[i].Destination, err)
		}
	}
	return nil
}

// Run starts the sandbox described by cfg, runs its process to the end
// and returns how it ended. The Gofer and every other host resource of
// the sandbox are gone when Run returns. SIGINT, SIGTERM, SIGHUP and
// SIGQUIT sent to runsc end the guest the same way while it runs.
//
// Run locks the calling goroutine to its OS thread for the sandbox's
// whole life: the Gofer dies with the thread that started it
// (PR_SET_PDEATHSIG).
func Run(cfg *Config) (kernel.ExitStatus, error) {
	if err := cfg.Validate(); err != nil {
		return kernel.ExitStatus{}, err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	signals := newSignalForwarder()
	defer signals.stop()
	ctx := context.Background()
	stderr := cfg.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}

	var binds []gofer.Mount
	for _, m := range cfg.Mounts {
		if m.Kind == MountBind {
			binds = append(binds, gofer.Mount{Path: m.Source, ReadOnly: m.Flags.ReadOnly})
		}
	}
	root, err := sandbox.StartRoot(sandbox.RootOptions{HostRoot: cfg.RootPath, Writable: cfg.RootWritable, Binds: binds, Stderr: stderr})
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	defer root.Close()
	mf, err := pgalloc.New("palisade-memory", pgalloc.DefaultSize)
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	defer mf.Close()
	p, err := ptrace.New()
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	defer p.Close()

	kcfg := kernel.Config{
		Platform:     p,
		MemoryFile:   mf,
		SyscallTable: sys.AMD64,
		Stdio:        cfg.Stdio,
		Randomize:    true,
		VFS:          root.VFS,
		Root:         root.Root,
		Release:      cfg.KernelRelease,
		Version:      cfg.KernelVersion,
		Hostname:     cfg.Hostname,
	}
	if cfg.Strace {
		kcfg.Tracer = strace.New(stderr, sys.AMD64)
	}
	k, err := kernel.New(kcfg)
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	if err := mountAll(ctx, k, root, cfg.Mounts); err != nil {
		return kernel.ExitStatus{}, err
	}
	if cfg.RootReadOnly {
		f := root.Root.Mount.Flags()
		f.ReadOnly = true
		root.Root.Mount.SetFlags(f)
	}

	creds := cfg.Credentials
	if creds == nil {
		creds = vfs.RootCredentials()
	}
	if err := checkCwd(ctx, root, creds, cfg.Cwd); err != nil {
		return kernel.ExitStatus{}, err
	}
	filename, err := lookPath(ctx, root, creds, cfg.Argv[0], cfg.Env)
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	tg, err := k.CreateProcess(kernel.CreateProcessArgs{
		Filename:         filename,
		Argv:             cfg.Argv,
		Envv:             cfg.Env,
		WorkingDirectory: cfg.Cwd,
		Umask:            cfg.Umask,
		Credentials:      cfg.Credentials,
		Limits:           cfg.Limits,
	})
	if err != nil {
		return kernel.ExitStatus{}, fmt.Errorf("loading %s: %w", filename, err)
	}
	if cfg.NoNewPrivileges {
		tg.SetNoNewPrivs()
	}

	if sig := signals.setTarget(tg); sig != 0 {
		// runsc was asked to end before the process started: it ends
		// before running a guest instruction, and the status says which
		// signal ended it.
		tg.ExitGroup(kernel.ExitStatus{Signal: sig})
		tg.Start()
		return tg.Wait(), nil
	}
	if cfg.Started != nil {
		cfg.Started()
	}
	tg.Start()
	return tg.Wait(), nil
}
