package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wfbench/wfbench/bench"
	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/scenarios"
)

func newScenarioCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scenario",
		Short: "Run, list, show and validate scenarios: sweeps of runs with expectations",
		Long: `A scenario is a YAML file: a base configuration, a matrix of settings to sweep,
explicit runs, timed link phases, a quick override for CI, and expectations that
decide the exit code. Built-ins ship inside the binary; 'scenario show NAME' prints
one as a starting point for your own file.

Expectations (each must hold for every run it selects):
  lost == 0
  p99(enqueue) < 150ms
  p50(pickup, poll=tuned) <= 200ms
  throughput(batch=100) >= 10x throughput(batch=1) where rtt=100ms
  throughput(rtt=1ms, batch=1) / throughput(rtt=100ms, batch=1) >= 10

Metrics: ` + strings.Join(scenarios.MetricNames(), ", ") + `
Settings: ` + strings.Join(bench.SettingKeys(), ", "),
	}
	cmd.AddCommand(newScenarioListCmd(), newScenarioShowCmd(), newScenarioRunCmd(), newScenarioValidateCmd())
	return cmd
}

func newScenarioListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the built-in scenarios",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			for _, name := range scenarios.Builtins() {
				sc, err := scenarios.Load(name)
				if err != nil {
					return envErr(fmt.Errorf("built-in %s: %w", name, err)) // a broken binary, not the user's input
				}
				full, _ := sc.Plan(false)
				quick, _ := sc.Plan(true)
				fmt.Fprintf(tw, "%s\t%d runs (quick %d)\t%s\n", name, len(full), len(quick), firstSentence(sc.Description))
			}
			return tw.Flush()
		},
	}
}

func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.IndexAny(s, ":.("); i > 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}

func newScenarioShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "show NAME",
		Short:   "Print a built-in scenario's YAML (a starting point for your own)",
		Example: "  wfbench scenario show seed > my-check.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, ok := scenarios.BuiltinSource(args[0])
			if !ok {
				return usageErr(fmt.Errorf("no built-in scenario %q; built-ins: %s", args[0], strings.Join(scenarios.Builtins(), ", ")))
			}
			_, err := cmd.OutOrStdout().Write(b)
			return err
		},
	}
}

func newScenarioValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE|NAME...",
		Short: "Check scenario files without running them: keys, values, every run's settings, expectations",
		Example: `  wfbench scenario validate my-check.yaml
  wfbench scenario validate seed`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var bad []error
			for _, a := range args {
				sc, err := scenarios.Load(a)
				if err != nil {
					bad = append(bad, err)
					continue
				}
				full, _ := sc.Plan(false)
				quick, _ := sc.Plan(true)
				fmt.Fprintf(cmd.OutOrStdout(), "%s: scenario %s is valid: %d runs (quick %d), %d expectations, %d estimates\n",
					a, sc.Name, len(full), len(quick), len(sc.Expectations), len(sc.Estimates))
			}
			if len(bad) > 0 {
				return usageErr(errors.Join(bad...))
			}
			return nil
		},
	}
}

// reportFlags are the output flags run and scenario run share.
type reportFlags struct {
	out      string
	verbose  bool
	progress string
	count    int
	created  bool // out did not exist before this invocation
}

// defaultOutRoot holds the output folders of runs without --out: a git-ignored folder of
// its own, apart from the source packages (the reports package among them).
const defaultOutRoot = "wfbench-results"

// defaultOut is the output folder of a result without --out:
// wfbench-results/<prefix><its start time>/, or the next free name.
func defaultOut(res *reports.Result, prefix string) string {
	return freeDir(filepath.Join(defaultOutRoot, prefix+res.StartedAt.Format("20060102-150405")))
}

// prepareOut settles the output folder before the first run and creates it: each run
// writes its interval logs there as it goes (a soak's are on disk before it ends).
func (f *reportFlags) prepareOut(res *reports.Result, prefix string) error {
	if f.out == "" {
		f.out = defaultOut(res, prefix)
	}
	if _, err := os.Stat(f.out); errors.Is(err, os.ErrNotExist) {
		f.created = true
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return envErr(fmt.Errorf("create the output folder: %w", err))
	}
	return nil
}

// dropOut removes the output folder prepareOut created when nothing was written to it.
func (f *reportFlags) dropOut() {
	if f.created {
		_ = os.Remove(f.out) // only if empty
	}
}

// intervalFiles names each run's interval logs in dir as its .hgrm files will be named:
// runs in the order they are measured, stems from slugs.
func intervalFiles(dir func() string, slugs func() *reports.Slugs) func(string) (string, string) {
	return func(run string) (string, string) { return dir(), slugs().Next(run) }
}

func (f *reportFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVarP(&f.out, "out", "o", "", "output folder (default "+defaultOutRoot+"/<timestamp>/)")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "log what the run is doing to stderr")
	fs.StringVar(&f.progress, "progress", "auto", "progress on stderr: auto (a bar on a terminal, a line every 5 s otherwise) | bar | lines | none")
	fs.IntVar(&f.count, "count", 0, fmt.Sprintf("measure each run N times (1 to %d), in rounds; every repetition is kept in the result", scenarios.MaxCount))
}

func (f *reportFlags) validate() error {
	if !slices.Contains(progressModes, f.progress) {
		return fmt.Errorf("--progress %q: accepted values are %s", f.progress, strings.Join(progressModes, ", "))
	}
	if f.count < 0 || f.count > scenarios.MaxCount {
		return fmt.Errorf("--count %d: accepted is an integer from 1 to %d", f.count, scenarios.MaxCount)
	}
	return nil
}

func (f *reportFlags) options(cmd *cobra.Command) (bench.Options, *progressView) {
	log := slog.New(slog.DiscardHandler)
	if f.verbose {
		log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	view := newProgressView(cmd.ErrOrStderr(), f.progress)
	return bench.Options{Log: log, Progress: view.update}, view
}

func newScenarioRunCmd() *cobra.Command {
	var rf reportFlags
	var quick bool
	var sets []string
	cmd := &cobra.Command{
		Use:   "run NAME|FILE",
		Short: "Measure every run of a scenario and check its expectations",
		Long: `run measures each run of the scenario in turn (each on a fresh stack), checks the
expectations against the measurements, prints a table, the analysis' estimates and
the expectations, and writes result.json, report.md and the .hgrm files into --out.

Exit codes: 0 every expectation holds and no job was lost, 1 an expectation failed or
jobs were lost, 2 a bad file or flag, 3 environment, 130 interrupted. A run ended by its
own redis kill phase (redis@AT=kill) is the outcome it is for: it is recorded, the
scenario goes on, and its expectations alone judge its lost jobs.`,
		Example: `  # the analysis' table, measured (about 2 minutes)
  wfbench scenario run seed

  # the same, CI-sized (under a minute)
  wfbench scenario run seed --quick

  # your own file, each run 5 times
  wfbench scenario run ./my-check.yaml --count 5

  # a built-in against a running Faktory
  wfbench scenario run polling --quick --set faktory_url=tcp://127.0.0.1:7419

  # every run at 20 ms (expectations that select other RTTs are dropped, with a warning)
  wfbench scenario run wan-sweep --quick --set rtt=20ms`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := rf.validate(); err != nil {
				return usageErr(err)
			}
			sc, err := scenarios.Load(args[0])
			if err != nil {
				return usageErr(err)
			}
			if err := applySets(cmd, sc, sets, quick); err != nil {
				return err
			}
			opts, view := rf.options(cmd)
			res := newResult()
			if err := rf.prepareOut(res, ""); err != nil {
				return err
			}
			var slugs reports.Slugs
			opts.IntervalFiles = intervalFiles(func() string { return rf.out }, func() *reports.Slugs { return &slugs })
			suite := scenarios.SuiteOptions{
				Quick: quick, Count: rf.count, Options: opts,
				RunStarting: func(i, n int, cfg bench.RunConfig, rep int) {
					label := fmt.Sprintf("[%d/%d] %s", i, n, cfg.Name)
					if rep > 1 || rf.count > 1 {
						label += fmt.Sprintf(" #%d", rep)
					}
					view.start(label)
				},
			}
			runErr := scenarios.RunScenario(cmd.Context(), sc, res, suite)
			return finish(cmd, res, &rf, runErr)
		},
	}
	rf.add(cmd)
	cmd.Flags().BoolVar(&quick, "quick", false, "use the scenario's quick override (CI-sized)")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "set a run setting in every run, over the file: KEY=VALUE, e.g. rtt=20ms (repeatable)")
	return cmd
}

func newResult() *reports.Result {
	return &reports.Result{
		Schema: reports.Schema, ToolVersion: version, StartedAt: time.Now().UTC(), Environment: environment(),
	}
}

// finish writes what was measured, prints it, and turns the outcome into an exit code:
// an interrupted or failed scenario still leaves its measured runs on disk.
func finish(cmd *cobra.Command, res *reports.Result, rf *reportFlags, runErr error) error {
	ctx := cmd.Context()
	out := rf.out
	if len(res.Runs) == 0 && runErr != nil {
		rf.dropOut()
		if ctx.Err() != nil { // whatever the run's error says, the user stopped it
			return &exitError{exitInterrupted, runErr}
		}
		return runFailed(runErr)
	}
	if out == "" {
		out = defaultOut(res, "")
	}
	res.Process = processUse()
	files, werr := reports.WriteAll(out, res)
	if werr != nil {
		return envErr(werr)
	}
	w := cmd.OutOrStdout()
	if err := reports.WriteTable(w, res); err != nil {
		return envErr(err)
	}
	if err := reports.WriteChecks(w, res); err != nil {
		return envErr(err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d files to %s (result.json, report.md, report.html, plots, .hgrm)\n", len(files), out)
	lost, accepted := 0, 0
	interrupted := false
	for _, r := range res.Runs {
		if r.Ended != "" {
			continue // ended by its own phase with its losses stated: its expectations judge it
		}
		lost += r.Jobs.Lost
		accepted += r.Jobs.Accepted
		interrupted = interrupted || r.Interrupted
	}
	switch {
	case ctx.Err() != nil:
		return &exitError{exitInterrupted, errors.New("interrupted: the report holds what was measured until then")}
	case runErr != nil: // a run stopped by the environment is not the user's interrupt
		return runFailed(fmt.Errorf("%w (what was measured until then is in %s)", runErr, out))
	case interrupted:
		return &exitError{exitInterrupted, errors.New("interrupted: the report holds what was measured until then")}
	}
	var fails []string
	if lost > 0 {
		fails = append(fails, fmt.Sprintf("%d of %d accepted jobs were lost", lost, accepted))
	}
	if n := res.Failed(); n > 0 {
		fails = append(fails, fmt.Sprintf("%d of %d expectations failed", n, len(res.Expectations)))
	}
	if len(fails) > 0 {
		return &exitError{exitCheckFailed, errors.New(strings.Join(fails, "; "))}
	}
	return nil
}

// applySets applies --set overrides to a scenario; expectations and estimates that no
// longer select any run are dropped with a warning rather than failed after the runs.
func applySets(cmd *cobra.Command, sc *scenarios.Scenario, sets []string, quick bool) error {
	for _, kv := range sets {
		if err := sc.Override(kv); err != nil {
			return usageErr(err)
		}
	}
	if len(sets) == 0 {
		return nil
	}
	dropped, err := sc.DropInapplicable(quick)
	if err != nil {
		return usageErr(fmt.Errorf("%w\n(with --set %s)", err, strings.Join(sets, " --set ")))
	}
	for _, d := range dropped {
		fmt.Fprintf(cmd.ErrOrStderr(), "wfbench: not checked, --set %s leaves it no run: %s\n", strings.Join(sets, " --set "), d)
	}
	return nil
}
