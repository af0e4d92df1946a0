package reports

import (
	"fmt"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// uniform records n values lo, lo+step, ... (µs): a distribution whose percentiles are
// known without the histogram.
func uniform(t *testing.T, lo, step int64, n int) *hdrhistogram.Histogram {
	t.Helper()
	h := NewHistogram()
	for i := 0; i < n; i++ {
		if err := h.RecordValue(lo + int64(i)*step); err != nil {
			t.Fatalf("record: %v", err)
		}
	}
	return h
}

// withHist stores h under point in r, as the runner does: summary and encoding.
func withHist(t *testing.T, r *Run, point string, h *hdrhistogram.Histogram) {
	t.Helper()
	s, err := EncodeHistogram(h)
	if err != nil {
		t.Fatal(err)
	}
	if r.LatencyMS == nil {
		r.LatencyMS = map[string]Percentiles{}
		r.Histograms = map[string]string{}
	}
	r.LatencyMS[point] = PercentilesOf(h)
	r.Histograms[point] = s
}

// testResult is a deterministic result: a clean 1 ms run, a 100 ms batch run that beats
// the floor and lost a job, an open-loop run with a schedule, and a 100 ms single run.
func testResult(t *testing.T) *Result {
	t.Helper()
	res := &Result{
		Schema:      Schema,
		ToolVersion: "0.1.0-test",
		StartedAt:   time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC),
		Environment: Environment{OS: "linux", Arch: "amd64", CPUs: 2, Go: "go1.26.8", Faktory: "1.10.0"},
	}

	fast := Run{
		Name: "rtt=1ms batch=1",
		Config: Config{RTTMS: 1, Topology: "central", Target: "api", Batch: 1, Jobs: 1000,
			Concurrency: 1, Poll: "fixed", WorkerConcurrency: 50, EnqueueMode: "sync", Netem: "toxiproxy"},
		Links:      []Link{{Name: "client-api", ConfiguredRTTMS: 1, MeasuredRTTMS: 1.08, Samples: 20}},
		Jobs:       Jobs{Requested: 1000, Accepted: 1000, Completed: 1000},
		DurationS:  Durations{Enqueue: 1.25, Total: 1.5},
		Throughput: Throughput{EnqueueJobsPerS: 800, CompletedJobsPerS: 666.7},
		Model: Model{RoundTripsPerJob: 1, NetworkFloorS: 1, Efficiency: 0.8, FloorJobsPerS: 1000,
			EnqueueRTTMS: 1, MeasuredEnqueueRTTMS: 1.08},
	}
	withHist(t, &fast, PointEnqueue, uniform(t, 1100, 1, 1000))
	withHist(t, &fast, PointPickup, uniform(t, 200, 2, 1000))
	withHist(t, &fast, PointEndToEnd, uniform(t, 1500, 3, 1000))

	slow := fast
	slow.Name = "rtt=100ms batch=100"
	slow.Config.RTTMS = 100
	slow.Config.Batch = 100
	slow.Links = []Link{{Name: "client-api", ConfiguredRTTMS: 100, MeasuredRTTMS: 100.4, Samples: 20}}
	slow.Jobs = Jobs{Requested: 1000, Accepted: 1000, Completed: 999, Lost: 1}
	slow.DurationS = Durations{Enqueue: 0.9, Total: 1.2}
	slow.Throughput = Throughput{EnqueueJobsPerS: 1111.1, CompletedJobsPerS: 832.5}
	slow.Model = Model{RoundTripsPerJob: 0.01, NetworkFloorS: 1, Efficiency: 1.11, FloorJobsPerS: 1000,
		EnqueueRTTMS: 100, MeasuredEnqueueRTTMS: 100.4, BeatsFloor: true}
	slow.LatencyMS, slow.Histograms = nil, nil
	withHist(t, &slow, PointEnqueue, uniform(t, 100000, 1, 1000))
	withHist(t, &slow, PointPickup, uniform(t, 300, 1, 1000))
	withHist(t, &slow, PointEndToEnd, uniform(t, 100500, 5, 1000))
	slow.Notes = []string{"toxiproxy latency toxic on client-api"}

	open := fast
	open.Name = "rtt=1ms rate=500/s"
	open.Config.Concurrency = 0
	open.Config.RatePerS = 500
	open.Schedule = &Schedule{IntendedCalls: 1000, SentCalls: 998, MaxLagMS: 12.5, MeanLagMS: 0.4}
	open.LatencyMS, open.Histograms = nil, nil
	withHist(t, &open, PointEnqueue, uniform(t, 1200, 4, 1000))
	withHist(t, &open, PointPickup, uniform(t, 250, 1, 1000))
	withHist(t, &open, PointEndToEnd, uniform(t, 1600, 4, 1000))
	withHist(t, &open, PointService, uniform(t, 1100, 2, 1000))

	// Differs from fast only in RTT: the pair the findings compare.
	far := fast
	far.Name = "rtt=100ms batch=1"
	far.Config.RTTMS = 100
	far.Links = []Link{{Name: "client-api", ConfiguredRTTMS: 100, MeasuredRTTMS: 101.2, Samples: 20}}
	far.DurationS = Durations{Enqueue: 101, Total: 101.3}
	far.Throughput = Throughput{EnqueueJobsPerS: 9.9, CompletedJobsPerS: 9.87}
	far.Model = Model{RoundTripsPerJob: 1, NetworkFloorS: 100, Efficiency: 0.99, FloorJobsPerS: 10,
		EnqueueRTTMS: 100, MeasuredEnqueueRTTMS: 101.2}
	far.LatencyMS, far.Histograms = nil, nil
	withHist(t, &far, PointEnqueue, uniform(t, 100500, 1, 1000))
	withHist(t, &far, PointPickup, uniform(t, 200, 2, 1000))
	withHist(t, &far, PointEndToEnd, uniform(t, 101000, 3, 1000))

	res.Runs = []Run{fast, slow, open, far}
	return res
}

// scenarioResult is testResult as a scenario measured it twice, with estimates,
// expectations, link bytes and a stall phase on the open-loop run.
func scenarioResult(t *testing.T) *Result {
	t.Helper()
	res := testResult(t)
	res.Scenario = &Scenario{Name: "seed", Description: "The analysis' table, measured.", Source: "built-in seed", Quick: true, Count: 2}
	var runs []Run
	for rep := 1; rep <= 2; rep++ {
		for _, r := range res.Runs {
			r.Repetition = rep
			r.Params = map[string]string{"rtt": fmtNum(r.Config.RTTMS) + "ms", "batch": fmt.Sprint(r.Config.Batch), "rate": fmtNum(r.Config.RatePerS)}
			r.Links = append([]Link(nil), r.Links...)
			r.Links[0].BytesUp, r.Links[0].BytesDown = 180000, 95000
			runs = append(runs, r)
		}
	}
	applied, lifted := 3.001, 4.002
	open := &runs[2]
	open.Phases = []Phase{{Link: "client-api", Condition: "+1s latency", AtS: 3, ForS: 1, AppliedAtS: &applied, LiftedAtS: &lifted}}
	open.LatencyMS, open.Histograms = nil, nil
	withHist(t, open, PointEnqueue, uniform(t, 1200, 1000, 1000))
	withHist(t, open, PointService, uniform(t, 1100, 2, 1000))
	res.Runs = runs
	res.Estimates = []Estimate{
		{Of: "throughput(rtt=100ms, batch=1)", Unit: "jobs/s", Low: 9.8, High: 9.8, Measured: 9.9, Found: true, Agrees: true,
			Says: "1000 × 100 ms + 2 s = 102 s", Basis: "rtt=100ms batch=1: enqueue p50 101.00 ms per call of 1 job = 100.40 ms measured RTT + 0.60 ms local work"},
		{Of: "throughput(rtt=100ms, batch=100)", Unit: "jobs/s", Low: 250, High: 500, Measured: 1111.1, Found: true,
			Says: "1000 jobs in 2-4 s", Why: "A batch pays the local work once per call."},
		{Of: "throughput(rtt=1ms, batch=1) / throughput(rtt=100ms, batch=1)", Unit: "x", Low: 34, High: 34, Measured: 80.8, Found: true},
		{Of: "throughput(rtt=10ms, batch=1)", Unit: "jobs/s", Low: 90, High: 90},
	}
	res.Expectations = []Expectation{
		{Text: "lost == 0", Pass: false, Measured: "worst of 4: 2 (rtt=100ms batch=100)"},
		{Text: "throughput(batch=100) >= 10x throughput(batch=1) where rtt=100ms", Pass: true, Measured: "112.23x (rtt=100ms batch=100 vs rtt=100ms batch=1)"},
		{Text: "p99(pickup, rtt=5ms) < 10ms", Pass: false, Measured: "—", Error: "no measured run matches rtt=5ms"},
	}
	return res
}
