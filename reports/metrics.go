package reports

import (
	"fmt"
	"slices"
	"strings"
)

// The metric catalogue: every figure read from a measured run, declared once. Scenario
// expectations and estimates, compare's rows and its --threshold all name metrics by it.

// What a metric's argument names.
const (
	ArgPoint = "point" // a timing point: p99(enqueue)
	ArgLink  = "link"  // a link: link_rtt(client-api)
)

// TimingPoints are the points a latency metric reads, in order.
var TimingPoints = []string{PointEnqueue, PointPickup, PointEndToEnd, PointService}

// Metric is a figure read from one measured run.
type Metric struct {
	Name    string   // the one spelling results, reports and messages use
	Aliases []string // older spellings, still accepted so that older files and flags load
	Unit    string   // ms, s, jobs/s, B, "" (a count or a fraction)
	Arg     string   // ArgPoint, ArgLink, or "" (it takes none)
	// Counter: an exact count of jobs. An absolute expectation holds in every repetition
	// and compare takes the worst repetition: one that lost jobs is not outvoted by four.
	Counter      bool
	HigherBetter bool // false: lower is better (or, for requested, neither)
	CallCost     bool // it follows from what one enqueue call costs, which explains an estimate of it
	Doc          string
	Get          func(r *Run, arg string) (float64, bool) // at a point or a link; false: not measured
}

// Metrics is the catalogue, in the order help and errors list it.
var Metrics = []*Metric{
	{Name: "throughput", Unit: "jobs/s", HigherBetter: true, CallCost: true, Doc: "enqueue throughput (accepted jobs per second of the enqueue phase)",
		Get: func(r *Run, _ string) (float64, bool) { return r.Throughput.EnqueueJobsPerS, r.Jobs.Accepted > 0 }},
	{Name: "completed_throughput", Aliases: []string{"completed throughput"}, Unit: "jobs/s", HigherBetter: true, Doc: "completed jobs per second, first call to last completion",
		Get: func(r *Run, _ string) (float64, bool) { return r.Throughput.CompletedJobsPerS, r.Jobs.Completed > 0 }},
	{Name: "drain_throughput", Unit: "jobs/s", HigherBetter: true, Doc: "burst runs: the workers' drain rate",
		Get: func(r *Run, _ string) (float64, bool) {
			return r.Throughput.DrainJobsPerS, r.Throughput.DrainJobsPerS > 0
		}},
	latency("min", func(p Percentiles) float64 { return p.Min }),
	latency("mean", func(p Percentiles) float64 { return p.Mean }),
	latency("p50", func(p Percentiles) float64 { return p.P50 }),
	latency("p90", func(p Percentiles) float64 { return p.P90 }),
	latency("p99", func(p Percentiles) float64 { return p.P99 }),
	latency("p999", func(p Percentiles) float64 { return p.P999 }, "p99.9"),
	latency("max", func(p Percentiles) float64 { return p.Max }),
	jobCount("requested", false, func(j Jobs) int { return j.Requested }),
	jobCount("accepted", true, func(j Jobs) int { return j.Accepted }),
	jobCount("completed", true, func(j Jobs) int { return j.Completed }),
	jobCount("failed", false, func(j Jobs) int { return j.Failed }),
	jobCount("pending", false, func(j Jobs) int { return j.Pending }),
	jobCount("unreported", false, func(j Jobs) int { return j.Unreported }),
	jobCount("lost", false, func(j Jobs) int { return j.Lost }),
	jobCount("duplicated", false, func(j Jobs) int { return j.Duplicated }),
	jobCount("errors", false, func(j Jobs) int { return j.Errors }),
	{Name: "ended_by_kill", Counter: true, Doc: "1 when the run's own phase killed redis-server and that ended the run (the end a redis kill phase expects), else 0",
		Get: func(r *Run, _ string) (float64, bool) {
			if r.Ended == EndedRedisKill {
				return 1, true
			}
			return 0, true
		}},
	{Name: "efficiency", HigherBetter: true, CallCost: true, Doc: "network floor / measured enqueue time (1 = the network is the only cost)",
		Get: func(r *Run, _ string) (float64, bool) { return r.Model.Efficiency, r.Model.Efficiency > 0 }},
	{Name: "enqueue_duration", Unit: "s", CallCost: true, Doc: "first call to last answer",
		Get: func(r *Run, _ string) (float64, bool) { return r.DurationS.Enqueue, r.Jobs.Accepted > 0 }},
	{Name: "total_duration", Unit: "s", Doc: "first call to last completion",
		Get: func(r *Run, _ string) (float64, bool) { return r.DurationS.Total, r.Jobs.Accepted > 0 }},
	{Name: "link_rtt", Unit: "ms", Arg: ArgLink, Doc: "a link's measured RTT, e.g. link_rtt(client-api)",
		Get: func(r *Run, link string) (float64, bool) { l, ok := findLink(r, link); return l.MeasuredRTTMS, ok }},
	{Name: "bytes_per_job", Unit: "B", Arg: ArgLink, Doc: "bytes both ways on a link per accepted job, e.g. bytes_per_job(client-api)",
		Get: func(r *Run, link string) (float64, bool) {
			l, ok := findLink(r, link)
			return float64(l.BytesUp+l.BytesDown) / float64(max(r.Jobs.Accepted, 1)), ok && r.Jobs.Accepted > 0
		}},
}

func latency(name string, f func(Percentiles) float64, aliases ...string) *Metric {
	return &Metric{Name: name, Aliases: aliases, Unit: "ms", Arg: ArgPoint, Doc: name + " latency of a timing point, e.g. " + name + "(enqueue)",
		Get: func(r *Run, point string) (float64, bool) {
			p, ok := r.LatencyMS[point]
			return f(p), ok && p.Count > 0
		}}
}

func jobCount(name string, higherBetter bool, f func(Jobs) int) *Metric {
	return &Metric{Name: name, Counter: true, HigherBetter: higherBetter, Doc: "jobs " + name + " (checked in every repetition)",
		Get: func(r *Run, _ string) (float64, bool) { return float64(f(r.Jobs)), true }}
}

func findLink(r *Run, name string) (Link, bool) {
	i := slices.IndexFunc(r.Links, func(l Link) bool { return l.Name == name })
	if i < 0 {
		return Link{}, false
	}
	return r.Links[i], true
}

// MetricNames lists the catalogue's names.
func MetricNames() []string {
	out := make([]string, len(Metrics))
	for i, m := range Metrics {
		out[i] = m.Name
	}
	return out
}

// LookupMetric finds a metric by its name or an alias; the error is an *UnknownMetricError.
func LookupMetric(name string) (*Metric, error) {
	for _, m := range Metrics {
		if m.Name == name || slices.Contains(m.Aliases, name) {
			return m, nil
		}
	}
	return nil, &UnknownMetricError{Name: name}
}

// UnknownMetricError is a name the catalogue lacks; its message lists the names it has.
type UnknownMetricError struct{ Name string }

func (e *UnknownMetricError) Error() string {
	return fmt.Sprintf("unknown metric %q; metrics: %s", e.Name, strings.Join(MetricNames(), ", "))
}
