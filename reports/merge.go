package reports

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Merge combines results of the same runs measured by several drivers at once (several
// machines loading one system): for each run name (and repetition), histograms add up,
// job counts add up, throughputs add up (the drivers ran side by side), durations take
// the longest, and percentiles are recomputed from the merged histograms. Runs found in
// only some results are kept as they are. names label the inputs in the notes.
func Merge(names []string, results ...*Result) (*Result, error) {
	if len(results) == 0 {
		return nil, errors.New("merge: no results")
	}
	for i, r := range results {
		if r.Schema != Schema {
			return nil, fmt.Errorf("merge %s: schema %q, this wfbench reads %q", names[i], r.Schema, Schema)
		}
	}
	out := *results[0]
	out.Runs = nil
	out.Expectations, out.Estimates = nil, nil // measured on the parts, not the whole
	type key struct {
		name string
		rep  int
	}
	index := map[key]int{}
	from := map[key][]string{}
	for i, res := range results {
		if res.StartedAt.Before(out.StartedAt) {
			out.StartedAt = res.StartedAt
		}
		for _, r := range res.Runs {
			k := key{r.Name, r.Repetition}
			from[k] = append(from[k], names[i])
			j, seen := index[k]
			if !seen {
				index[k] = len(out.Runs)
				out.Runs = append(out.Runs, cloneRun(r))
				continue
			}
			if err := mergeRun(&out.Runs[j], &r); err != nil {
				return nil, fmt.Errorf("merge run %q of %s: %w", r.Name, names[i], err)
			}
		}
	}
	for k, j := range index {
		if n := len(from[k]); n > 1 {
			out.Runs[j].Notes = append(out.Runs[j].Notes, fmt.Sprintf("merged from %d drivers' results (%v): counts, histograms and throughputs added; the model and link figures are the first one's", n, from[k]))
		} else if len(results) > 1 {
			out.Runs[j].Notes = append(out.Runs[j].Notes, fmt.Sprintf("found only in %s: not merged", from[k][0]))
		}
	}
	return &out, nil
}

func cloneRun(r Run) Run {
	r.Histograms = cloneMap(r.Histograms)
	r.LatencyMS = cloneMap(r.LatencyMS)
	r.Notes = slices.Clone(r.Notes)
	return r
}

func cloneMap[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func mergeRun(dst, src *Run) error {
	for pt, enc := range src.Histograms {
		h, err := DecodeHistogram(enc)
		if err != nil {
			return fmt.Errorf("%s histogram: %w", pt, err)
		}
		if cur, ok := dst.Histograms[pt]; ok {
			d, err := DecodeHistogram(cur)
			if err != nil {
				return fmt.Errorf("%s histogram: %w", pt, err)
			}
			if dropped := d.Merge(h); dropped > 0 {
				return fmt.Errorf("%s histogram: %d values out of range", pt, dropped)
			}
			h = d
		}
		if dst.Histograms[pt], err = EncodeHistogram(h); err != nil {
			return err
		}
		dst.LatencyMS[pt] = PercentilesOf(h)
	}
	j, s := &dst.Jobs, src.Jobs
	j.Requested += s.Requested
	j.Accepted += s.Accepted
	j.Completed += s.Completed
	j.Failed += s.Failed
	j.Lost += s.Lost
	j.Duplicated += s.Duplicated
	j.Errors += s.Errors
	dst.Throughput.EnqueueJobsPerS += src.Throughput.EnqueueJobsPerS
	dst.Throughput.CompletedJobsPerS += src.Throughput.CompletedJobsPerS
	dst.Throughput.DrainJobsPerS += src.Throughput.DrainJobsPerS
	dst.DurationS.Enqueue = math.Max(dst.DurationS.Enqueue, src.DurationS.Enqueue)
	dst.DurationS.Total = math.Max(dst.DurationS.Total, src.DurationS.Total)
	dst.Interrupted = dst.Interrupted || src.Interrupted
	dst.Config.Concurrency += src.Config.Concurrency
	dst.Config.Jobs += src.Config.Jobs
	return nil
}
