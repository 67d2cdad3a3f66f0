package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/google/subcommands"

	"github.com/palisade-sandbox/palisade/runsc/container"
	"github.com/palisade-sandbox/palisade/runsc/specutils"
)

func init() {
	subcommands.Register(&stateCmd{}, "")
}

// stateCmd prints a container's OCI state as JSON. A container whose
// runsc is gone is reported as stopped.
type stateCmd struct{}

// Name implements subcommands.Command.
func (*stateCmd) Name() string { return "state" }

// Synopsis implements subcommands.Command.
func (*stateCmd) Synopsis() string { return "print the state of a container" }

// Usage implements subcommands.Command.
func (*stateCmd) Usage() string {
	return "state CONTAINER-ID:\n  Print the container's state (OCI runtime-spec JSON) from --root.\n"
}

// SetFlags implements subcommands.Command.
func (*stateCmd) SetFlags(*flag.FlagSet) {}

// Execute implements subcommands.Command.
func (*stateCmd) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	if f.NArg() != 1 {
		f.Usage()
		return subcommands.ExitUsageError
	}
	id := f.Arg(0)
	if err := specutils.ValidateID(id); err != nil {
		return fatalf("%v", err)
	}
	st, err := container.Load(*stateRoot, id)
	if err != nil {
		return fatalf("%v", err)
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fatalf("encoding state: %v", err)
	}
	fmt.Println(string(b))
	return subcommands.ExitSuccess
}
