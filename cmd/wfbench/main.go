package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/wfbench/wfbench/bench"
	"github.com/wfbench/wfbench/scenarios"
)

// Exit codes (DESIGN.md §6).
const (
	exitOK          = 0
	exitCheckFailed = 1 // the run finished but a check failed (lost jobs, ...)
	exitUsage       = 2 // bad flags or configuration
	exitEnvironment = 3 // redis-server missing, port taken, broker unreachable
	exitInterrupted = 130
)

// exitError gives an error its exit code outright; exitCode reads the outermost one.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(err error) error { return &exitError{exitUsage, err} }

// envError marks err as the machine's fault (bench.ErrEnvironment: exit code 3) and
// keeps its message as it is.
type envError struct{ err error }

func (e *envError) Error() string   { return e.err.Error() }
func (e *envError) Unwrap() []error { return []error{e.err, bench.ErrEnvironment} }

func envErr(err error) error { return &envError{err} }

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
	stopProfile := startProfile(os.Getenv("WFBENCH_CPUPROFILE"))
	err := root.ExecuteContext(ctx)
	stopProfile()
	stop()
	os.Exit(exitCode(err))
}

// startProfile writes a CPU profile of the whole command to path (WFBENCH_CPUPROFILE;
// "" = none), for `go tool pprof`: where a long run spends its time.
func startProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "wfbench: WFBENCH_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

// exitCode maps an error to the exit code by its type, never by its text, and prints it.
// Anything without a type, i.e. what cobra itself rejects (unknown command, wrong
// arguments), is usage.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) && ee.err == nil {
		return ee.code // nothing to say
	}
	fmt.Fprintln(os.Stderr, "wfbench:", err)
	if code, ok := typedExitCode(err); ok {
		return code
	}
	return exitUsage
}

// typedExitCode is the exit code an error's types decide, in this order: an exitError
// (the outermost) states it; the machine's failures (bench.ErrEnvironment) are 3; an
// interrupt (context.Canceled) is 130; a bad scenario file or name is 2. ok is false
// when no type decides.
func typedExitCode(err error) (code int, ok bool) {
	var ee *exitError
	var fe *scenarios.FileError
	switch {
	case errors.As(err, &ee):
		return ee.code, true
	case bench.IsEnvironment(err):
		return exitEnvironment, true
	case errors.Is(err, context.Canceled):
		return exitInterrupted, true
	case errors.As(err, &fe), errors.Is(err, scenarios.ErrNoScenario):
		return exitUsage, true
	}
	return 0, false
}

// runFailed gives the error that stopped a run its exit code. Execute marks the machine's
// failures with bench.ErrEnvironment and a bad scenario is a *scenarios.FileError; a run
// stops otherwise only when Faktory accepted none of its jobs, which is the environment's
// doing too.
func runFailed(err error) error {
	if _, typed := typedExitCode(err); typed {
		return err
	}
	return envErr(err)
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
  wfbench report wfbench-results/<timestamp>/result.json --format html
  wfbench compare base/result.json head/result.json --max-regression 10%
  wfbench run --rtt 100ms --batch 1 --jobs 100 --target faktory
  wfbench version`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr(fmt.Errorf("%w\nsee '%s --help'", err, c.CommandPath()))
	})
	root.AddCommand(newRunCmd(), newScenarioCmd(), newReportCmd(), newCompareCmd(), newServeCmd(), newUpCmd(), newDiagnoseCmd(), newVersionCmd())
	return root
}
