package reports

import (
	"fmt"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Interval bounds: a run's time series is recorded in intervals of this length
// (--interval, the scenario setting interval).
const (
	DefaultInterval = time.Second
	MinInterval     = 100 * time.Millisecond
	MaxInterval     = time.Hour
)

// CheckInterval says whether d is an interval length wfbench records in.
func CheckInterval(d time.Duration) error {
	if d < MinInterval || d > MaxInterval {
		return fmt.Errorf("interval %s: accepted is a duration from 100ms to 1h, e.g. 1s", d)
	}
	if d%time.Millisecond != 0 {
		return fmt.Errorf("interval %s: accepted is a whole number of milliseconds (the interval logs keep ms)", d)
	}
	return nil
}

// Intervals is a run's time series: what happened in each interval of IntervalS seconds
// from the start of the load to the end of the run (the drain included).
type Intervals struct {
	IntervalS float64    `json:"interval_s"`
	Series    []Interval `json:"series"`
}

// Interval is one interval of a run's time series. A sample lands in the interval of its
// wall time: an enqueue call's answer, a job's pickup (the worker started it) and its
// completion (the worker finished it).
type Interval struct {
	// StartS is from the start of the load; LengthS is IntervalS except for the last
	// interval, which ends with the run.
	StartS  float64 `json:"start_s"`
	LengthS float64 `json:"length_s"`
	// Enqueued: jobs an enqueue call's answer accepted in the interval; Completed: jobs a
	// worker finished (completed or failed, as throughput.completed_jobs_per_s counts).
	Enqueued      int64   `json:"enqueued"`
	Completed     int64   `json:"completed"`
	EnqueuedPerS  float64 `json:"enqueued_per_s"`
	CompletedPerS float64 `json:"completed_per_s"`
	// LatencyMS per timing point that had a sample in the interval.
	LatencyMS map[string]IntervalLatency `json:"latency_ms,omitempty"`
}

// IntervalLatency summarises one timing point's samples in one interval, in ms (the
// interval logs hold the whole histograms).
type IntervalLatency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// IntervalLatencyOf summarises a microsecond histogram in milliseconds.
func IntervalLatencyOf(h *hdrhistogram.Histogram) IntervalLatency {
	p := PercentilesOf(h) // the run's own summary, cut to what a series needs
	return IntervalLatency{Count: p.Count, P50: p.P50, P99: p.P99, Max: p.Max}
}

// HlogName is the file name of a run's interval log for one timing point, beside its
// .hgrm: <stem>.<point>.hlog.
func HlogName(stem, point string) string { return stem + "." + slug(point) + ".hlog" }
