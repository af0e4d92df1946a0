package reports

import (
	"errors"
	"strings"
	"testing"
)

// Every metric of the catalogue reads its own field of a run, and says when the run did
// not measure it.
func TestMetricsReadARun(t *testing.T) {
	r := &Run{
		Jobs:       Jobs{Requested: 11, Accepted: 10, Completed: 7, Failed: 1, Pending: 1, Unreported: 4, Lost: 1, Duplicated: 2, Errors: 3},
		Throughput: Throughput{EnqueueJobsPerS: 100, CompletedJobsPerS: 90, DrainJobsPerS: 80},
		DurationS:  Durations{Enqueue: 4, Total: 5},
		Model:      Model{Efficiency: 0.75},
		LatencyMS:  map[string]Percentiles{PointPickup: {Count: 10, Min: 1, Mean: 2, P50: 3, P90: 4, P99: 5, P999: 6, Max: 7}},
		Links:      []Link{{Name: "api-faktory"}, {Name: "client-api", MeasuredRTTMS: 20, BytesUp: 300, BytesDown: 700}},
		Ended:      EndedRedisKill,
	}
	want := map[string]float64{
		"throughput": 100, "completed_throughput": 90, "drain_throughput": 80,
		"min": 1, "mean": 2, "p50": 3, "p90": 4, "p99": 5, "p999": 6, "max": 7,
		"requested": 11, "accepted": 10, "completed": 7, "failed": 1, "pending": 1, "unreported": 4, "lost": 1, "duplicated": 2, "errors": 3, "ended_by_kill": 1,
		"efficiency": 0.75, "enqueue_duration": 4, "total_duration": 5, "link_rtt": 20, "bytes_per_job": 100,
	}
	args := map[string]string{ArgPoint: PointPickup, ArgLink: "client-api"}
	for _, m := range Metrics {
		w, ok := want[m.Name]
		if !ok {
			t.Errorf("%s: no expected value in this test", m.Name)
			continue
		}
		if v, ok := m.Get(r, args[m.Arg]); !ok || v != w {
			t.Errorf("%s(%s) = %g, %v; want %g", m.Name, args[m.Arg], v, ok, w)
		}
		if m.Doc == "" || m.Arg != "" && m.Arg != ArgPoint && m.Arg != ArgLink {
			t.Errorf("%s: doc %q, arg %q", m.Name, m.Doc, m.Arg)
		}
	}
	if len(want) != len(Metrics) {
		t.Errorf("%d expected values for %d metrics", len(want), len(Metrics))
	}
	// Not measured: a point without samples, a link that is not there, nothing accepted.
	empty := &Run{LatencyMS: map[string]Percentiles{PointEnqueue: {}}, Links: r.Links}
	for name, arg := range map[string]string{"p99": PointEnqueue, "p50": PointEndToEnd, "link_rtt": "worker-faktory", "bytes_per_job": "client-api", "throughput": "", "efficiency": ""} {
		m, _ := LookupMetric(name)
		if v, ok := m.Get(empty, arg); ok {
			t.Errorf("%s(%s) of an empty run = %g, want not measured", name, arg, v)
		}
	}
}

// Each name is its metric's one spelling; older ones are aliases of it.
func TestLookupMetric(t *testing.T) {
	seen := map[string]string{}
	for _, m := range Metrics {
		for _, n := range append([]string{m.Name}, m.Aliases...) {
			if other, dup := seen[n]; dup {
				t.Errorf("%q names both %s and %s", n, other, m.Name)
			}
			seen[n] = m.Name
			if got, err := LookupMetric(n); err != nil || got != m {
				t.Errorf("LookupMetric(%q) = %v, %v; want %s", n, got, err, m.Name)
			}
		}
	}
	for alias, name := range map[string]string{"p99.9": "p999", "completed throughput": "completed_throughput"} {
		if m, err := LookupMetric(alias); err != nil || m.Name != name {
			t.Errorf("LookupMetric(%q) = %v, %v; want %s", alias, m, err, name)
		}
	}
	_, err := LookupMetric("latency")
	var ue *UnknownMetricError
	if !errors.As(err, &ue) || ue.Name != "latency" {
		t.Fatalf("LookupMetric(latency): %v, want an *UnknownMetricError", err)
	}
	if want := `unknown metric "latency"; metrics: ` + strings.Join(MetricNames(), ", "); err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if strings.Contains(err.Error(), "p99.9") || !strings.Contains(err.Error(), "completed_throughput, drain_throughput") {
		t.Errorf("the error lists aliases or lacks names: %q", err)
	}
}
