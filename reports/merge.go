package reports

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
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
		for j := range i {
			if !r.StartedAt.IsZero() && results[j].StartedAt.Equal(r.StartedAt) && results[j].Environment.Hostname == r.Environment.Hostname {
				return nil, fmt.Errorf("merge: %s and %s are the same measurement (started %s on %q): merging it with itself would double it", names[j], names[i], r.StartedAt.Format(time.RFC3339Nano), r.Environment.Hostname)
			}
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
			if a, b := mergeKey(out.Runs[j].Config), mergeKey(r.Config); a != b {
				return nil, fmt.Errorf("merge run %q of %s: its configuration differs from %s's (%s): only the same run measured by several drivers merges", r.Name, names[i], from[k][0], configDiff(&out.Runs[j].Config, &r.Config))
			}
			if err := mergeRun(&out.Runs[j], &r); err != nil {
				return nil, fmt.Errorf("merge run %q of %s: %w", r.Name, names[i], err)
			}
		}
	}
	for k, j := range index {
		if n := len(from[k]); n > 1 {
			out.Runs[j].Notes = append(out.Runs[j].Notes, fmt.Sprintf("merged from %d drivers' results (%v): histograms, job counts, link bytes and throughputs added, which assumes the drivers loaded the system at the same time; the model's floor is not recomputed for the merged load (left out), link RTTs are the first driver's; the drivers' time series are left out (their intervals start at each driver's own load start)", n, from[k]))
		} else if len(results) > 1 {
			out.Runs[j].Notes = append(out.Runs[j].Notes, fmt.Sprintf("found only in %s: not merged", from[k][0]))
		}
	}
	return &out, nil
}

// mergeKey is the configuration that must agree for runs to merge: every driver's own
// share of the load (jobs, clients, rate) may differ.
func mergeKey(c Config) string {
	c.Jobs, c.Concurrency, c.RatePerS, c.DurationS = 0, 0, 0, 0
	return fmt.Sprintf("%+v", c)
}

func cloneRun(r Run) Run {
	r.Links = slices.Clone(r.Links)
	r.Histograms = cloneMap(r.Histograms)
	r.LatencyMS = cloneMap(r.LatencyMS)
	r.Notes = slices.Clone(r.Notes)
	if r.Hlogs != nil {
		r.Hlogs = cloneMap(r.Hlogs)
	}
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
	j.Pending += s.Pending
	j.Unreported += s.Unreported
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
	dst.Config.RatePerS += src.Config.RatePerS
	for i := range dst.Links {
		for _, l := range src.Links {
			if l.Name == dst.Links[i].Name {
				dst.Links[i].BytesUp += l.BytesUp
				dst.Links[i].BytesDown += l.BytesDown
			}
		}
	}
	if s := src.Schedule; s != nil && dst.Schedule != nil {
		d := *dst.Schedule
		d.IntendedCalls += s.IntendedCalls
		d.SentCalls += s.SentCalls
		d.MaxLagMS = math.Max(d.MaxLagMS, s.MaxLagMS)
		d.MeanLagMS = math.Max(d.MeanLagMS, s.MeanLagMS) // the worse driver's
		dst.Schedule = &d
	}
	// Each driver's intervals count from its own load start: they do not add up.
	dst.Intervals, dst.Hlogs = nil, nil
	// The floor belongs to one driver's load; for the sum it would be wrong.
	dst.Model.NetworkFloorS, dst.Model.Efficiency, dst.Model.FloorJobsPerS, dst.Model.BeatsFloor = 0, 0, 0, false
	return nil
}
