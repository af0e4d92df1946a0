package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wfbench/wfbench/bench"
	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/scenarios"
)

var compareFormats = []string{"text", "md", "json"}

// compareFlags are compare's flags; the options that decide verdicts are reports'.
type compareFlags struct {
	reports.CompareFlags
	format                            string
	github, runMode, allowMiss, quick bool
	setA, setB                        []string
	rf                                reportFlags
}

func newCompareCmd() *cobra.Command {
	var f compareFlags
	cmd := &cobra.Command{
		Use:   "compare BASE.json CANDIDATE.json | compare --run A B",
		Short: "Compare two results (or measure two configurations) metric by metric, and gate on regressions",
		Long: `compare matches the runs of two results by name (else by configuration) and reports,
per metric (throughput, completed_throughput, p50, p99 and p999 of enqueue, pickup
and end_to_end, lost, pending, failed, errors, duplicated: named as in scenario
expectations, e.g. p99(enqueue)), the change and a verdict: better, worse, regression
(worse beyond the limit), no change, or — with repetitions on both sides (--count) —
"no significant change" when the Mann-Whitney U test (golang.org/x/perf's benchmath,
as benchstat) cannot tell the two apart. A lost job appearing is always a regression,
and so is a pending one (the candidate did not drain its backlog).

Two results of one run each (with its repetitions) are always paired, whatever their
names and settings, with a warning naming each setting that differs, e.g. "the
configurations differ (batch 1 → 6, rtt_ms 23 → 47)": comparing two configurations
measured apart. With several runs on a side, a run matching none by name or by
configuration is left unpaired (--run pairs such runs in order).

With --run, A and B are scenario files or built-ins, measured here interleaved
(A B A B ...) so that the machine's drift lands on both: comparing configurations
before deployment. --set-a/--set-b change one side's settings, so one scenario can be
compared with itself under a different setting.

A base run the candidate lacks fails the comparison too (--allow-missing to accept it).

Exit codes: 0 no regression, 1 a regression or a missing run, 2 bad input,
3 environment, 130 interrupted (compare --run).`,
		Example: `  wfbench compare base/result.json head/result.json --max-regression 10%
  wfbench run --rtt 23ms -o /tmp/a && wfbench run --rtt 47ms -o /tmp/b
  wfbench compare /tmp/a/result.json /tmp/b/result.json  # warns "rtt_ms 23 → 47"
  wfbench compare base.json head.json --threshold "p99(enqueue)=25%" --format md --github
  wfbench compare --run seed seed --quick --set-b enqueue_mode=async --set-a topology=split --set-b topology=split
  wfbench compare --run old.yaml new.yaml --count 5`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error { return f.run(cmd, args) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.MaxRegression, "max-regression", "10%", "largest change for the worse that is not a regression, e.g. 5% (0%: any significant worsening)")
	fs.StringArrayVar(&f.Thresholds, "threshold", nil, `per-metric limit METRIC=LIMIT, e.g. "p99(enqueue)=25%" or lost=0 (a point alone covers its percentiles; repeatable)`)
	fs.StringVar(&f.MinDelta, "min-delta", "500us", "latency changes smaller than this are no change (noise at the timer's resolution)")
	fs.StringVar(&f.format, "format", "text", "output: text | md | json")
	fs.BoolVar(&f.github, "github", false, "also append the markdown to $GITHUB_STEP_SUMMARY")
	fs.Float64Var(&f.Alpha, "alpha", 0.05, "significance level with repetitions")
	fs.BoolVar(&f.allowMiss, "allow-missing", false, "do not fail when base runs are missing from the candidate")
	fs.BoolVar(&f.runMode, "run", false, "A and B are scenarios (files or built-ins) to measure now, interleaved")
	fs.StringArrayVar(&f.setA, "set-a", nil, "with --run: KEY=VALUE for every run of A (repeatable)")
	fs.StringArrayVar(&f.setB, "set-b", nil, "with --run: KEY=VALUE for every run of B (repeatable)")
	fs.BoolVar(&f.quick, "quick", false, "with --run: the scenarios' quick overrides")
	f.rf.add(cmd)
	return cmd
}

// run compares: the options, the two sides (read, or measured with --run), the report,
// and the gate's verdict as the exit code.
func (f *compareFlags) run(cmd *cobra.Command, args []string) error {
	opt, err := f.Options()
	errs := []error{err}
	if !slices.Contains(compareFormats, f.format) {
		errs = append(errs, fmt.Errorf("--format %q: accepted values are %s", f.format, strings.Join(compareFormats, ", ")))
	}
	if !f.runMode && (len(f.setA)+len(f.setB) > 0 || f.quick || f.rf.count > 0) {
		errs = append(errs, errors.New("--set-a, --set-b, --quick and --count go with --run"))
	}
	errs = append(errs, f.rf.validate())
	if err := errors.Join(errs...); err != nil {
		return usageErr(err)
	}
	opt.PairInOrder = f.runMode
	base, cand, names, err := f.sides(cmd, args)
	if err != nil {
		return err
	}
	c, err := reports.Compare(base, cand, names[0], names[1], opt)
	if err != nil {
		return usageErr(err)
	}
	if err := writeComparison(cmd.OutOrStdout(), f.format, c); err != nil {
		return envErr(err)
	}
	verdict := c.Gate(f.allowMiss)
	if f.github {
		if err := appendStepSummary(cmd, c); err != nil {
			// The summary is a courtesy: a regression still decides the exit code.
			if verdict == nil {
				return envErr(err)
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "wfbench:", err)
		}
	}
	var gate *reports.GateError
	if errors.As(verdict, &gate) {
		return &exitError{exitCheckFailed, gate}
	}
	return verdict
}

func writeComparison(w io.Writer, format string, c *reports.Comparison) error {
	switch format {
	case "md":
		return reports.WriteCompareMarkdown(w, c)
	case "json":
		return reports.WriteCompareJSON(w, c)
	}
	return reports.WriteCompareText(w, c)
}

// sides are the base and the candidate with their names: two result files, or with --run
// two scenarios measured now.
func (f *compareFlags) sides(cmd *cobra.Command, args []string) (base, cand *reports.Result, names []string, err error) {
	if !f.runMode {
		if base, err = reports.ReadJSON(args[0]); err == nil {
			cand, err = reports.ReadJSON(args[1])
		}
		if err != nil {
			return nil, nil, nil, usageErr(err)
		}
		return base, cand, args, nil
	}
	var scs [2]*scenarios.Scenario
	names = []string{"A " + args[0], "B " + args[1]}
	for i, sets := range [][]string{f.setA, f.setB} {
		if scs[i], err = scenarios.Load(args[i]); err != nil {
			return nil, nil, nil, usageErr(err)
		}
		if err := applySets(cmd, scs[i], sets, f.quick); err != nil {
			return nil, nil, nil, err
		}
		if len(sets) > 0 {
			names[i] += " (" + strings.Join(sets, " ") + ")"
		}
	}
	opts, view := f.rf.options(cmd)
	// A's runs write their interval logs into --out/a as they go, B's into --out/b.
	if err := f.rf.prepareOut(newResult(), "compare-"); err != nil {
		return nil, nil, nil, err
	}
	res, err := scenarios.MeasurePair(cmd.Context(), scs, scenarios.PairOptions{
		Quick: f.quick, Count: f.rf.count, Options: opts, Dir: f.rf.out, NewResult: newResult,
		RunStarting: func(s, i, n int, cfg bench.RunConfig, rep int) {
			view.start(fmt.Sprintf("[%d/%d] %s: %s #%d", i, n, string("AB"[s]), cfg.Name, rep))
		},
	})
	if len(res[0].Runs)+len(res[1].Runs) > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "wrote A's result to %s/a and B's to %s/b\n", f.rf.out, f.rf.out)
	} else {
		f.rf.dropOut()
	}
	switch {
	case err != nil && cmd.Context().Err() != nil: // whatever the run's error says, the user stopped it
		return nil, nil, nil, &exitError{exitInterrupted, err}
	case err != nil:
		return nil, nil, nil, runFailed(err)
	}
	return res[0], res[1], names, nil
}

// appendStepSummary appends the markdown to the file GitHub Actions shows as the job's
// summary.
func appendStepSummary(cmd *cobra.Command, c *reports.Comparison) error {
	path := os.Getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		fmt.Fprintln(cmd.ErrOrStderr(), "wfbench: --github: GITHUB_STEP_SUMMARY is not set (not in GitHub Actions?): nothing appended")
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("--github: %w", err)
	}
	if err := reports.WriteCompareMarkdown(f, c); err != nil {
		f.Close()
		return fmt.Errorf("--github: %w", err)
	}
	return f.Close()
}
