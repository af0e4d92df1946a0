package scenarios

import (
	"context"
	"errors"
	"fmt"

	"github.com/wfbench/wfbench/bench"
	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/system"
)

// SuiteOptions control a scenario's execution.
type SuiteOptions struct {
	Quick bool
	Count int // repetitions of each run; 0: the scenario's own
	bench.Options
	// RunStarting is called before each run (i from 1 of n, rep from 1 of the count).
	RunStarting func(i, n int, cfg bench.RunConfig, rep int)
	RunDone     func(run reports.Run)
}

// RunScenario measures every run of the scenario into res (res.Runs, res.Scenario), then
// checks its expectations and estimates against them. With several repetitions, rounds
// go through every run once each (A B A B ...), so that drift of the machine spreads over
// all configurations instead of landing on one.
//
// It stops at the first run that cannot be measured and returns that error; the runs
// measured until then stay in res, and expectations are checked over them (those that
// need a missing run fail). A run ended by its own redis kill phase (endedAsPlanned) is
// recorded and the suite goes on: that ending is what the run is for.
func RunScenario(ctx context.Context, sc *Scenario, res *reports.Result, opts SuiteOptions) error {
	plan, err := sc.Plan(opts.Quick)
	if err != nil {
		return err
	}
	count := sc.Repetitions(opts.Quick, opts.Count)
	res.Scenario = sc.Info(opts.Quick, count)
	defer func() {
		res.Expectations, res.Estimates = sc.Check(res.Runs)
	}()
	n := len(plan) * count
	i := 0
	for rep := 1; rep <= count; rep++ {
		for _, pr := range plan {
			i++
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if opts.RunStarting != nil {
				opts.RunStarting(i, n, pr.Config, rep)
			}
			run, err := bench.Execute(ctx, pr.Config, opts.Options)
			if err != nil && !run.Interrupted {
				return fmt.Errorf("run %q: %w", pr.Config.Name, err)
			}
			run.Params = pr.Params
			if count > 1 {
				run.Repetition = rep
			}
			res.Runs = append(res.Runs, run)
			if err != nil && !endedAsPlanned(run, err) { // the environment failed mid-run: keep what it measured
				return fmt.Errorf("run %q: %w", pr.Config.Name, err)
			}
			if opts.RunDone != nil {
				opts.RunDone(run)
			}
			if run.Interrupted && !endedAsPlanned(run, err) {
				return ctx.Err()
			}
		}
	}
	return nil
}

// endedAsPlanned reports whether a run that stopped early (err, possibly nil) was ended
// by its own redis kill phase, and by nothing else: its broker died of that kill, not of
// an interrupt.
func endedAsPlanned(run reports.Run, err error) bool {
	return run.Ended == reports.EndedRedisKill && (err == nil || errors.Is(err, system.ErrBrokerDied))
}

// Check evaluates the scenario's expectations and estimates over measured runs.
func (sc *Scenario) Check(runs []reports.Run) ([]reports.Expectation, []reports.Estimate) {
	var exps []reports.Expectation
	for _, e := range sc.Expectations {
		exps = append(exps, e.Check(runs))
	}
	var ests []reports.Estimate
	for _, e := range sc.Estimates {
		ests = append(ests, e.Estimate(runs))
	}
	return exps, ests
}

// RunPair measures two scenarios interleaved, run by run (A1 B1 A2 B2 ..., each round of
// repetitions through both), so that drift of the machine lands on both sides alike.
// starting is called before each run with its side (0 A, 1 B). Measured runs stay in
// the results when an error or an interrupt stops it.
func RunPair(ctx context.Context, scs [2]*Scenario, quick bool, count int, opts bench.Options, starting func(side, i, n int, cfg bench.RunConfig, rep int)) ([2]*reports.Result, error) {
	var res [2]*reports.Result
	for s := range res {
		res[s] = &reports.Result{}
	}
	var plans [2][]PlannedRun
	// --count, else the larger of the two scenarios' own counts: both sides measured as often.
	reps := max(scs[0].Repetitions(quick, count), scs[1].Repetitions(quick, count))
	for s, sc := range scs {
		p, err := sc.Plan(quick)
		if err != nil {
			return res, err
		}
		plans[s] = p
		res[s] = &reports.Result{Scenario: sc.Info(quick, reps)}
	}
	defer func() {
		for s, sc := range scs {
			res[s].Expectations, res[s].Estimates = sc.Check(res[s].Runs)
		}
	}()
	n := (len(plans[0]) + len(plans[1])) * reps
	i := 0
	for rep := 1; rep <= reps; rep++ {
		for k := 0; k < max(len(plans[0]), len(plans[1])); k++ {
			for s := range 2 {
				if k >= len(plans[s]) {
					continue
				}
				pr := plans[s][k]
				if ctx.Err() != nil {
					return res, ctx.Err()
				}
				i++
				if starting != nil {
					starting(s, i, n, pr.Config, rep)
				}
				run, err := bench.Execute(ctx, pr.Config, opts)
				if err != nil && !run.Interrupted {
					return res, fmt.Errorf("run %q of %s: %w", pr.Config.Name, scs[s].Name, err)
				}
				run.Params = pr.Params
				if reps > 1 {
					run.Repetition = rep
				}
				res[s].Runs = append(res[s].Runs, run)
				if err != nil && !endedAsPlanned(run, err) { // the environment failed mid-run: keep what it measured
					return res, fmt.Errorf("run %q of %s: %w", pr.Config.Name, scs[s].Name, err)
				}
				if run.Interrupted && !endedAsPlanned(run, err) {
					return res, ctx.Err()
				}
			}
		}
	}
	return res, nil
}
