// Command wfbench measures what network latency does to a real job system (HTTP API →
// Faktory → workers) and which configuration wins it back.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes (DESIGN.md §6).
const (
	exitOK          = 0
	exitCheckFailed = 1 // the run finished but a check failed (lost jobs, ...)
	exitUsage       = 2 // bad flags or configuration
	exitEnvironment = 3 // redis-server missing, port taken, broker unreachable
	exitInterrupted = 130
)

// exitError carries an exit code up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(err error) error { return &exitError{exitUsage, err} }

// DefaultMemoryLimit is the Go heap's soft limit unless GOMEMLIMIT says otherwise. A run
// whose enqueue outpaces its workers keeps state for every job in flight (600k jobs in
// a 1M-job run at RTT 0); with the default GOGC the heap would grow to twice that before
// a collection. The limit makes the collector work harder only when the heap nears it,
// so an ordinary run is untouched, and the runtime caps the collector's CPU if the live
// heap ever exceeds it.
const DefaultMemoryLimit = 128 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(DefaultMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		// A second Ctrl-C kills at once; the first one lets the run clean up.
		stop()
	}()
	root := newRoot()
	err := root.ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err))
}

func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "wfbench:", ee.err)
		}
		return ee.code
	}
	// Anything cobra itself rejects (unknown flag or command, bad value) is usage.
	fmt.Fprintln(os.Stderr, "wfbench:", err)
	return exitUsage
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "wfbench",
		Short: "Measure what network latency does to a job system, and what wins it back",
		Long: `wfbench brings up a complete reference job system — HTTP API → Faktory broker
(real server, Redis storage) → workers — puts emulated network links (toxiproxy)
between its parts, drives load, and reports HDR-histogram latencies beside the
network floor that physics allows.`,
		Example: `  wfbench run --rtt 100ms --batch 100 --jobs 1000
  wfbench scenario run seed --quick
  wfbench report reports/<timestamp>/result.json --format html
  wfbench compare base/result.json head/result.json --max-regression 10%
  wfbench run --rtt 100ms --batch 1 --jobs 100 --target faktory
  wfbench version`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr(fmt.Errorf("%w\nsee '%s --help'", err, c.CommandPath()))
	})
	root.AddCommand(newRunCmd(), newScenarioCmd(), newReportCmd(), newCompareCmd(), newServeCmd(), newUpCmd(), newVersionCmd())
	return root
}
