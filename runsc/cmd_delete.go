package main

import (
	"context"
	"flag"

	"github.com/google/subcommands"

	"github.com/palisade-sandbox/palisade/runsc/container"
	"github.com/palisade-sandbox/palisade/runsc/specutils"
)

func init() {
	subcommands.Register(&deleteCmd{}, "")
}

// deleteCmd removes the state of a container whose runsc is gone (one
// that was killed before it could clean up). A foreground `runsc run`
// removes its own state when the container ends.
type deleteCmd struct {
	force bool
}

// Name implements subcommands.Command.
func (*deleteCmd) Name() string { return "delete" }

// Synopsis implements subcommands.Command.
func (*deleteCmd) Synopsis() string { return "remove the state of a stopped container" }

// Usage implements subcommands.Command.
func (*deleteCmd) Usage() string {
	return "delete [--force] CONTAINER-ID:\n  Remove the container's state from --root. A running container is refused.\n"
}

// SetFlags implements subcommands.Command.
func (c *deleteCmd) SetFlags(f *flag.FlagSet) {
	f.BoolVar(&c.force, "force", false, "also remove state that cannot be read")
}

// Execute implements subcommands.Command.
func (c *deleteCmd) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	if f.NArg() != 1 {
		f.Usage()
		return subcommands.ExitUsageError
	}
	id := f.Arg(0)
	if err := specutils.ValidateID(id); err != nil {
		return fatalf("%v", err)
	}
	if err := container.Delete(*stateRoot, id, c.force); err != nil {
		return fatalf("%v", err)
	}
	return subcommands.ExitSuccess
}
