// Command runsc is Palisade's OCI runtime: it runs programs in a sandbox
// whose system calls are served by the Sentry, a Linux kernel in user space.
//
// Each subcommand lives in its own file (cmd_*.go) and registers itself in
// an init function; hidden subcommands (boot, gofer) are the other
// processes of a sandbox, started by runsc re-executing itself.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/google/subcommands"

	"github.com/palisade-sandbox/palisade/runsc/boot"
	"github.com/palisade-sandbox/palisade/runsc/container"
)

// Global flags, shared by every subcommand.
var (
	logFormat = flag.String("log-format", "text", "log format: text or json")
	logFile   = flag.String("log", "", "file to append logs to (default stderr)")
	debug     = flag.Bool("debug", false, "log debug messages")
	stateRoot = flag.String("root", container.DefaultRoot, "directory holding the state of containers")
	network   = flag.String("network", boot.NetworkNone, "network mode: none (loopback only; the only mode served yet)")
)

func main() {
	subcommands.Register(subcommands.HelpCommand(), "")
	subcommands.Register(subcommands.FlagsCommand(), "")
	flag.Parse()
	if err := setupLogging(); err != nil {
		fmt.Fprintf(os.Stderr, "runsc: %v\n", err)
		os.Exit(2)
	}
	os.Exit(int(subcommands.Execute(context.Background())))
}

// setupLogging installs the one process-wide slog logger.
func setupLogging() error {
	var w io.Writer = os.Stderr
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("opening log file %s: %w", *logFile, err)
		}
		w = f
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	switch *logFormat {
	case "json":
		slog.SetDefault(slog.New(slog.NewJSONHandler(w, opts)))
	case "text":
		slog.SetDefault(slog.New(slog.NewTextHandler(w, opts)))
	default:
		return fmt.Errorf("--log-format: unknown format %q (want text or json)", *logFormat)
	}
	return nil
}

// fatalf prints one error line and returns the failure status.
func fatalf(format string, args ...any) subcommands.ExitStatus {
	fmt.Fprintf(os.Stderr, "runsc: "+format+"\n", args...)
	return subcommands.ExitFailure
}

// registerNetworkFlag defines --network on a subcommand's flags too, so
// that it may come before or after the subcommand name.
func registerNetworkFlag(f *flag.FlagSet) {
	f.StringVar(network, "network", *network, "network mode: none (the only mode served yet)")
}

// checkNetwork validates --network.
func checkNetwork() error {
	switch *network {
	case boot.NetworkNone:
		return nil
	case "sandbox", "host":
		return fmt.Errorf("--network=%s: not supported yet (only none)", *network)
	}
	return fmt.Errorf("--network=%s: unknown network mode (only none is supported)", *network)
}
