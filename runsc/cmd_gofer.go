package main

import (
	"context"
	"flag"

	"github.com/google/subcommands"
	"github.com/palisade-sandbox/palisade/gofer"
)

// goferCmd is the hidden `runsc gofer` subcommand: the Gofer process of a
// sandbox, started by runsc itself (gofer.Start) in fresh namespaces with
// its connected sockets as inherited descriptors.
type goferCmd struct {
	opts gofer.Options
}

func init() {
	// Group "internal": not listed among the user-facing commands.
	subcommands.Register(&goferCmd{}, "internal")
}

// Name implements subcommands.Command.
func (*goferCmd) Name() string { return "gofer" }

// Synopsis implements subcommands.Command.
func (*goferCmd) Synopsis() string { return "serve a sandbox's files over 9P (internal)" }

// Usage implements subcommands.Command.
func (*goferCmd) Usage() string {
	return "gofer --root=DIR [--read-only] [--mount=HOSTDIR:ro|rw]... --io-fds=FD,...\n" +
		"  Internal: started by runsc, not by users.\n"
}

// SetFlags implements subcommands.Command.
func (c *goferCmd) SetFlags(f *flag.FlagSet) { c.opts.RegisterFlags(f) }

// Execute implements subcommands.Command.
func (c *goferCmd) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	if f.NArg() != 0 {
		return fatalf("gofer: unexpected argument %q", f.Arg(0))
	}
	if err := gofer.Run(c.opts); err != nil {
		return fatalf("gofer: %v", err)
	}
	return subcommands.ExitSuccess
}
