package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/google/subcommands"

	sys "github.com/palisade-sandbox/palisade/sentry/syscalls/linux"
)

// syscallsCmd prints which system calls the Sentry supports.
type syscallsCmd struct {
	markdown bool
}

func init() { subcommands.Register(&syscallsCmd{}, "") }

func (*syscallsCmd) Name() string     { return "syscalls" }
func (*syscallsCmd) Synopsis() string { return "list the system calls the Sentry supports" }
func (*syscallsCmd) Usage() string {
	return "syscalls [--markdown]\n\tPrints every amd64 syscall with its support level and note.\n"
}

func (c *syscallsCmd) SetFlags(f *flag.FlagSet) {
	f.BoolVar(&c.markdown, "markdown", false, "print the Markdown page docs/compatibility.md")
}

func (c *syscallsCmd) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	if f.NArg() != 0 {
		return fatalf("syscalls: unexpected argument %q", f.Arg(0))
	}
	if c.markdown {
		fmt.Print(sys.CompatibilityMarkdown())
		return subcommands.ExitSuccess
	}
	for nr := range sys.AMD64.Table {
		e := &sys.AMD64.Table[nr]
		if e.Name == "" {
			continue
		}
		fmt.Printf("%3d %-24s %-11s %s\n", nr, e.Name, e.Support, e.Note)
	}
	return subcommands.ExitSuccess
}
