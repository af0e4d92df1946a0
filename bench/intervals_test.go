package bench

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/recording"
	"github.com/wfbench/wfbench/reports"
)

// A short real run's time series shows its phase: 2 s of open-loop load at 2 ms RTT with
// 300 ms added on client-api for 300 ms. The interval the phase is in has a higher
// enqueue p99 than every other; the intervals' counts add up to the run's histograms and
// job counts; the interval logs on disk hold the same intervals and read back with
// HdrHistogram's log reader.
func TestExecuteTimeSeriesShowsPhase(t *testing.T) {
	dir := t.TempDir()
	cfg := Default()
	cfg.RTT, cfg.Rate, cfg.Duration, cfg.Jobs, cfg.Concurrency = 2*time.Millisecond, 200, 2*time.Second, 0, 100
	cfg.WorkerConcurrency, cfg.PollInterval = 8, 50*time.Millisecond
	cfg.Phases = []Phase{{Link: netem.ClientAPI, At: 1200 * time.Millisecond, For: 300 * time.Millisecond, Condition: netem.Condition{Latency: 300 * time.Millisecond}}}
	var named string
	run, err := Execute(testCtx(t, 60*time.Second), cfg, Options{IntervalFiles: func(name string) (string, string) {
		named = name
		return dir, "phase_run"
	}})
	if err != nil {
		t.Fatal(err)
	}
	if named != run.Name {
		t.Errorf("interval files asked for run %q, the run is %q", named, run.Name)
	}
	iv := run.Intervals
	if iv == nil || iv.IntervalS != 1 || len(iv.Series) < 2 {
		t.Fatalf("time series %+v: want intervals of 1 s over the 2 s load and the drain", iv)
	}
	if len(run.Phases) != 1 || run.Phases[0].AppliedAtS == nil {
		t.Fatalf("phase did not apply: %+v", run.Phases)
	}
	phaseIdx := int(*run.Phases[0].AppliedAtS / iv.IntervalS)
	p99 := func(i int) float64 { return iv.Series[i].LatencyMS[reports.PointEnqueue].P99 }
	if p99(phaseIdx) < 250 {
		t.Errorf("interval %d (the phase, at %.3f s): enqueue p99 %.1f ms, want the 300 ms it added", phaseIdx, *run.Phases[0].AppliedAtS, p99(phaseIdx))
	}
	for i, s := range iv.Series {
		if i != phaseIdx && s.LatencyMS[reports.PointEnqueue].Count > 0 && p99(i) >= p99(phaseIdx) {
			t.Errorf("interval %d: enqueue p99 %.1f ms, not below the phase's interval %d (%.1f ms)", i, p99(i), phaseIdx, p99(phaseIdx))
		}
		if want := float64(i) * iv.IntervalS; math.Abs(s.StartS-want) > 1e-9 {
			t.Errorf("interval %d starts at %g s, want %g", i, s.StartS, want)
		}
	}

	// Counts: the series adds up to the run's histograms and job counts.
	var enqueued, completed int64
	counts := map[string]int64{}
	for _, s := range iv.Series {
		enqueued += s.Enqueued
		completed += s.Completed
		for p, l := range s.LatencyMS {
			counts[p] += l.Count
		}
	}
	if enqueued != int64(run.Jobs.Accepted) || completed != int64(run.Jobs.Completed+run.Jobs.Failed) || enqueued == 0 {
		t.Errorf("series: %d enqueued, %d completed; the run accepted %d, finished %d", enqueued, completed, run.Jobs.Accepted, run.Jobs.Completed+run.Jobs.Failed)
	}
	for _, p := range []string{reports.PointEnqueue, reports.PointService, reports.PointPickup, reports.PointEndToEnd} {
		if want := decodedCount(t, run, p); counts[p] != want {
			t.Errorf("%s: the intervals hold %d values, the run's histogram %d", p, counts[p], want)
		}
		name := run.Hlogs[p]
		if name != "phase_run."+p+".hlog" {
			t.Errorf("hlogs[%s] = %q", p, name)
			continue
		}
		back, err := recording.ReadHlogFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for i, b := range back {
			n += b.Hist.TotalCount()
			if i < len(iv.Series) && (math.Abs(b.StartS-iv.Series[i].StartS) > 0.002 || b.Hist.TotalCount() != iv.Series[i].LatencyMS[p].Count) {
				t.Errorf("%s interval %d: at %g s with %d values; the series says %g s, %d", name, i, b.StartS, b.Hist.TotalCount(), iv.Series[i].StartS, iv.Series[i].LatencyMS[p].Count)
			}
		}
		if len(back) != len(iv.Series) || n != counts[p] {
			t.Errorf("%s: %d intervals, %d values; the series has %d intervals, %d values", name, len(back), n, len(iv.Series), counts[p])
		}
	}
}

// --interval is bounded, and a scenario file may set it.
func TestIntervalSetting(t *testing.T) {
	for _, d := range []time.Duration{50 * time.Millisecond, 2 * time.Hour} {
		cfg := Default()
		cfg.Interval = d
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "--interval "+d.String()) || !strings.Contains(err.Error(), "from 100ms to 1h") {
			t.Errorf("interval %s: %v", d, err)
		}
	}
	if got, err := Canonical("interval", "0.5s"); err != nil || got != "500ms" {
		t.Errorf("Canonical(interval, 0.5s) = %q, %v", got, err)
	}
	// Read back from a result: from its settings, or from the series' interval in a
	// result written before settings were recorded.
	cfg := Default()
	cfg.Interval = 250 * time.Millisecond
	if got := SettingsOf(&reports.Run{Config: ResultConfig(cfg)}); got["interval"] != "250ms" {
		t.Errorf("interval read back as %q", got["interval"])
	}
	old := ResultConfig(cfg)
	old.Settings = nil
	if got := SettingsOf(&reports.Run{Config: old, Intervals: &reports.Intervals{IntervalS: 0.25}}); got["interval"] != "250ms" {
		t.Errorf("interval read back from the series as %q", got["interval"])
	}
}

// An interrupted soak keeps every finished interval: the logs on disk hold each interval
// up to the interrupt (the last one cut short), as the run's series says, and add up to
// its histograms.
func TestExecuteInterruptedKeepsIntervals(t *testing.T) {
	dir := t.TempDir()
	cfg := Default()
	cfg.RTT, cfg.Rate, cfg.Duration, cfg.Jobs, cfg.Concurrency = 2*time.Millisecond, 100, time.Hour, 0, 50
	cfg.Interval, cfg.WorkerConcurrency, cfg.PollInterval = 200*time.Millisecond, 4, 50*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	opts := Options{
		IntervalFiles: func(string) (string, string) { return dir, "soak" },
		Progress: func(p Progress) { // interrupted a second into the load, whatever the start took
			if p.Stage == "load" && p.Elapsed > time.Second {
				once.Do(cancel)
			}
		},
	}
	run, err := Execute(ctx, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !run.Interrupted || run.Intervals == nil {
		t.Fatalf("interrupted %v, series %+v", run.Interrupted, run.Intervals)
	}
	series := run.Intervals.Series
	if len(series) < 5 {
		t.Fatalf("%d intervals of 200 ms after more than a second of load", len(series))
	}
	back, err := recording.ReadHlogFile(filepath.Join(dir, run.Hlogs[reports.PointEnqueue]))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for i, b := range back {
		n += b.Hist.TotalCount()
		if i < len(series) && b.Hist.TotalCount() != series[i].LatencyMS[reports.PointEnqueue].Count {
			t.Errorf("interval %d: %d values in the log, %d in the series", i, b.Hist.TotalCount(), series[i].LatencyMS[reports.PointEnqueue].Count)
		}
	}
	if len(back) != len(series) || n != decodedCount(t, run, reports.PointEnqueue) || n == 0 {
		t.Errorf("log: %d intervals, %d values; series %d intervals; histogram %d values", len(back), n, len(series), decodedCount(t, run, reports.PointEnqueue))
	}
	if last := series[len(series)-1]; last.LengthS > 0.2+1e-9 || last.StartS+last.LengthS > run.DurationS.Total+InterruptDrain.Seconds()+1 {
		t.Errorf("last interval %+v (run total %g s)", last, run.DurationS.Total)
	}
}
