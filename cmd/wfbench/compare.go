package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wfbench/wfbench/bench"
	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/scenarios"
)

var compareFormats = []string{"text", "md", "json"}

func newCompareCmd() *cobra.Command {
	var (
		maxReg     string
		minDelta   string
		thresholds []string
		format     string
		github     bool
		alpha      float64
		runMode    bool
		allowMiss  bool
		setA, setB []string
		quick      bool
		rf         reportFlags
	)
	cmd := &cobra.Command{
		Use:   "compare BASE.json CANDIDATE.json | compare --run A B",
		Short: "Compare two results (or measure two configurations) metric by metric, and gate on regressions",
		Long: `compare matches the runs of two results by name (else by configuration) and reports,
per metric (throughput, completed throughput, enqueue/pickup/end-to-end p50, p99,
p99.9, lost, pending, failed, errors, duplicated), the change and a verdict: better,
worse, regression (worse beyond the limit), no change, or — with repetitions on both sides (--count) — "no significant
change" when the Mann-Whitney U test (golang.org/x/perf's benchmath, as benchstat)
cannot tell the two apart. A lost job appearing is always a regression, and so is a
pending one (the candidate did not drain its backlog).

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
  wfbench compare base.json head.json --threshold "enqueue p99=25%" --format md --github
  wfbench compare --run seed seed --quick --set-b enqueue_mode=async --set-a topology=split --set-b topology=split
  wfbench compare --run old.yaml new.yaml --count 5`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opt := reports.CompareOptions{Alpha: alpha, Thresholds: map[string]float64{}}
			var errs []error
			var err error
			if opt.MaxRegression, err = parseFraction("--max-regression", maxReg); err != nil {
				errs = append(errs, err)
			}
			if d, err := netem.ParseDuration(minDelta); err != nil {
				errs = append(errs, fmt.Errorf("--min-delta %q: accepted is a duration, e.g. 500us or 2ms", minDelta))
			} else {
				opt.MinDeltaMS = float64(d) / 1e6
			}
			for _, t := range thresholds {
				name, v, err := parseThreshold(t)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				opt.Thresholds[name] = v
			}
			if _, err := reports.Compare(&reports.Result{}, &reports.Result{}, "", "", opt); err != nil && strings.Contains(err.Error(), "threshold") {
				errs = append(errs, fmt.Errorf("--%w", err))
			}
			if !slices.Contains(compareFormats, format) {
				errs = append(errs, fmt.Errorf("--format %q: accepted values are %s", format, strings.Join(compareFormats, ", ")))
			}
			if alpha <= 0 || alpha >= 1 {
				errs = append(errs, fmt.Errorf("--alpha %g: accepted is a significance level between 0 and 1, e.g. 0.05", alpha))
			}
			if !runMode && (len(setA)+len(setB) > 0 || quick || rf.count > 0) {
				errs = append(errs, errors.New("--set-a, --set-b, --quick and --count go with --run"))
			}
			if err := rf.validate(); err != nil {
				errs = append(errs, err)
			}
			if len(errs) > 0 {
				return usageErr(errors.Join(errs...))
			}
			var base, cand *reports.Result
			names := args
			opt.PairInOrder = runMode
			if runMode {
				var runErr error
				base, cand, names, runErr = measurePair(cmd, args, setA, setB, quick, &rf)
				if runErr != nil {
					return runErr
				}
			} else {
				if base, err = reports.ReadJSON(args[0]); err != nil {
					return usageErr(err)
				}
				if cand, err = reports.ReadJSON(args[1]); err != nil {
					return usageErr(err)
				}
			}
			c, err := reports.Compare(base, cand, names[0], names[1], opt)
			if err != nil {
				return usageErr(err)
			}
			w := cmd.OutOrStdout()
			switch format {
			case "md":
				err = reports.WriteCompareMarkdown(w, c)
			case "json":
				err = reports.WriteCompareJSON(w, c)
			default:
				err = reports.WriteCompareText(w, c)
			}
			if err != nil {
				return &exitError{exitEnvironment, err}
			}
			var fails []string
			if c.Regressions > 0 {
				fails = append(fails, fmt.Sprintf("%d regressions beyond the limit", c.Regressions))
			}
			if c.Missing > 0 && !allowMiss {
				fails = append(fails, fmt.Sprintf("%d runs of %s missing from %s (--allow-missing to accept)", c.Missing, names[0], names[1]))
			}
			if github {
				if err := appendStepSummary(cmd, c); err != nil {
					// The summary is a courtesy: a regression still decides the exit code.
					if len(fails) == 0 {
						return &exitError{exitEnvironment, err}
					}
					fmt.Fprintln(cmd.ErrOrStderr(), "wfbench:", err)
				}
			}
			if len(fails) > 0 {
				return &exitError{exitCheckFailed, errors.New(strings.Join(fails, "; "))}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&maxReg, "max-regression", "10%", "largest change for the worse that is not a regression, e.g. 5% (0%: any significant worsening)")
	fs.StringArrayVar(&thresholds, "threshold", nil, `per-metric limit METRIC=LIMIT, e.g. "enqueue p99=25%" or lost=0 (a point alone covers its percentiles; repeatable)`)
	fs.StringVar(&minDelta, "min-delta", "500us", "latency changes smaller than this are no change (noise at the timer's resolution)")
	fs.StringVar(&format, "format", "text", "output: text | md | json")
	fs.BoolVar(&github, "github", false, "also append the markdown to $GITHUB_STEP_SUMMARY")
	fs.Float64Var(&alpha, "alpha", 0.05, "significance level with repetitions")
	fs.BoolVar(&allowMiss, "allow-missing", false, "do not fail when base runs are missing from the candidate")
	fs.BoolVar(&runMode, "run", false, "A and B are scenarios (files or built-ins) to measure now, interleaved")
	fs.StringArrayVar(&setA, "set-a", nil, "with --run: KEY=VALUE for every run of A (repeatable)")
	fs.StringArrayVar(&setB, "set-b", nil, "with --run: KEY=VALUE for every run of B (repeatable)")
	fs.BoolVar(&quick, "quick", false, "with --run: the scenarios' quick overrides")
	rf.add(cmd)
	return cmd
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

// measurePair measures scenarios A and B interleaved and writes each side's result
// into --out/a and --out/b.
func measurePair(cmd *cobra.Command, args, setA, setB []string, quick bool, rf *reportFlags) (*reports.Result, *reports.Result, []string, error) {
	var scs [2]*scenarios.Scenario
	for i, sets := range [][]string{setA, setB} {
		sc, err := scenarios.Load(args[i])
		if err != nil {
			return nil, nil, nil, usageErr(err)
		}
		if err := applySets(cmd, sc, sets, quick); err != nil {
			return nil, nil, nil, err
		}
		scs[i] = sc
	}
	labels := []string{"A " + args[0], "B " + args[1]}
	if len(setA) > 0 {
		labels[0] += " (" + strings.Join(setA, " ") + ")"
	}
	if len(setB) > 0 {
		labels[1] += " (" + strings.Join(setB, " ") + ")"
	}
	opts, view := rf.options(cmd)
	// A's runs write their interval logs into --out/a as they go, B's into --out/b.
	if err := rf.prepareOut(newResult(), "compare-"); err != nil {
		return nil, nil, nil, err
	}
	out := rf.out
	for _, side := range []string{"a", "b"} {
		if err := os.MkdirAll(filepath.Join(out, side), 0o755); err != nil {
			return nil, nil, nil, &exitError{exitEnvironment, err}
		}
	}
	var slugs [2]reports.Slugs
	side := 0
	opts.IntervalFiles = intervalFiles(func() string { return filepath.Join(out, string("ab"[side])) }, func() *reports.Slugs { return &slugs[side] })
	results, err := scenarios.RunPair(cmd.Context(), scs, quick, rf.count, opts, func(s, i, n int, cfg bench.RunConfig, rep int) {
		side = s
		view.start(fmt.Sprintf("[%d/%d] %s: %s #%d", i, n, string("AB"[s]), cfg.Name, rep))
	})
	var res [2]*reports.Result
	for i := range res {
		res[i] = newResult()
		if results[i] == nil {
			continue
		}
		res[i].Runs = results[i].Runs
		res[i].Scenario, res[i].Expectations, res[i].Estimates = results[i].Scenario, results[i].Expectations, results[i].Estimates
		if len(res[i].Runs) > 0 {
			if _, werr := reports.WriteAll(filepath.Join(out, string("ab"[i])), res[i]); werr != nil {
				return nil, nil, nil, &exitError{exitEnvironment, werr}
			}
		}
	}
	if len(res[0].Runs)+len(res[1].Runs) > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "wrote A's result to %s/a and B's to %s/b\n", out, out)
	} else {
		for _, side := range []string{"a", "b"} {
			_ = os.Remove(filepath.Join(out, side)) // only if empty
		}
		rf.dropOut()
	}
	if err != nil {
		code := exitEnvironment
		if cmd.Context().Err() != nil {
			code = exitInterrupted
		}
		return nil, nil, nil, &exitError{code, err}
	}
	return res[0], res[1], labels, nil
}
