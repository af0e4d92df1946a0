package scenarios

import (
	"context"
	"os"
	"path/filepath"

	"github.com/wfbench/wfbench/bench"
	"github.com/wfbench/wfbench/reports"
)

// PairOptions control MeasurePair.
type PairOptions struct {
	Quick bool
	Count int // repetitions; 0: the larger of the two scenarios' own
	// Options are the runs' options; MeasurePair sets IntervalFiles.
	bench.Options
	// Dir receives A's result in Dir/a and B's in Dir/b; each run writes its interval logs
	// there as it is measured.
	Dir string
	// NewResult starts a side's result (the tool's version, the environment).
	NewResult func() *reports.Result
	// RunStarting is called before each run with its side (0 A, 1 B).
	RunStarting func(side, i, n int, cfg bench.RunConfig, rep int)
}

// MeasurePair measures two scenarios interleaved (RunPair) and writes each side's result
// into Dir/a and Dir/b; when neither side measured a run, it leaves no folder behind.
// Measured runs stay in the results when an error or an interrupt stops it; the error
// of a run or of writing a result is the machine's.
func MeasurePair(ctx context.Context, scs [2]*Scenario, opts PairOptions) ([2]*reports.Result, error) {
	res := [2]*reports.Result{opts.NewResult(), opts.NewResult()}
	dirs := [2]string{filepath.Join(opts.Dir, "a"), filepath.Join(opts.Dir, "b")}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return res, err
		}
	}
	var slugs [2]reports.Slugs
	side := 0
	bo := opts.Options
	bo.IntervalFiles = func(run string) (string, string) { return dirs[side], slugs[side].Next(run) }
	measured, err := RunPair(ctx, scs, opts.Quick, opts.Count, bo, func(s, i, n int, cfg bench.RunConfig, rep int) {
		side = s
		if opts.RunStarting != nil {
			opts.RunStarting(s, i, n, cfg, rep)
		}
	})
	for s, m := range measured {
		res[s].Runs, res[s].Scenario, res[s].Expectations, res[s].Estimates = m.Runs, m.Scenario, m.Expectations, m.Estimates
	}
	if len(res[0].Runs)+len(res[1].Runs) == 0 {
		for _, d := range dirs {
			_ = os.Remove(d) // only if empty
		}
		return res, err
	}
	for s := range res {
		if len(res[s].Runs) == 0 {
			continue
		}
		if _, werr := reports.WriteAll(dirs[s], res[s]); werr != nil {
			return res, werr
		}
	}
	return res, err
}
