package recording

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/wfbench/wfbench/reports"
)

var tl0 = time.Date(2026, 11, 27, 10, 0, 0, 250e6, time.UTC)

// reports.Intervals written by a Timeline read back with HdrHistogram's HistogramLogReader: one
// line per interval and point, at the interval's start from the start of the load, and
// the counts add up to what was recorded (the run's histogram), interval by interval as
// the series says.
func TestHlogRoundTrip(t *testing.T) {
	dir := t.TempDir()
	tl, err := NewTimeline(TimelineOptions{Start: tl0, Every: time.Second, Dir: dir, Stem: "rtt_1ms", Run: "rtt=1ms",
		Points: []string{reports.PointEnqueue, reports.PointEndToEnd}})
	if err != nil {
		t.Fatal(err)
	}
	run := map[string]*hdrhistogram.Histogram{reports.PointEnqueue: reports.NewHistogram(), reports.PointEndToEnd: reports.NewHistogram()}
	at := func(s float64) time.Time { return tl0.Add(time.Duration(s * float64(time.Second))) }
	record := func(point string, us int64, s float64) {
		tl.Record(point, us, at(s))
		_ = run[point].RecordValue(us)
	}
	// 4.5 s: 100 enqueue samples a second (300 ms from 2.0 to 2.3 s), completions from 0.5 s.
	for i := range 450 {
		s := float64(i) / 100
		us := int64(1000 + i)
		if s >= 2 && s < 2.3 {
			us = 300000
		}
		record(reports.PointEnqueue, us, s)
		tl.Enqueued(1, at(s))
		if s >= 0.5 {
			record(reports.PointEndToEnd, us+5000, s)
			tl.Completed(at(s))
		}
		if i%25 == 0 {
			tl.Rotate(at(s)) // as the ticker would
		}
	}
	got, err := tl.Close(at(4.5))
	if err != nil {
		t.Fatal(err)
	}
	if got.IntervalS != 1 || len(got.Series) != 5 {
		t.Fatalf("series: %d intervals of %g s, want 5 of 1 s", len(got.Series), got.IntervalS)
	}
	for i, iv := range got.Series {
		wantLen := 1.0
		if i == 4 {
			wantLen = 0.5
		}
		if iv.StartS != float64(i) || math.Abs(iv.LengthS-wantLen) > 1e-9 {
			t.Errorf("interval %d: start %g s, length %g s; want %d, %g", i, iv.StartS, iv.LengthS, i, wantLen)
		}
		if iv.Enqueued != 100 && i < 4 || math.Abs(iv.EnqueuedPerS-100) > 1e-6 {
			t.Errorf("interval %d: %d enqueued, %g/s; want 100, 100/s", i, iv.Enqueued, iv.EnqueuedPerS)
		}
	}
	if p := got.Series[2].LatencyMS[reports.PointEnqueue].P99; p < 299 {
		t.Errorf("interval 2 (the 300 ms phase): enqueue p99 %g ms", p)
	}
	if p := got.Series[1].LatencyMS[reports.PointEnqueue].P99; p > 2 {
		t.Errorf("interval 1: enqueue p99 %g ms", p)
	}
	if want := map[string]string{reports.PointEnqueue: "rtt_1ms.enqueue.hlog", reports.PointEndToEnd: "rtt_1ms.end_to_end.hlog"}; fmt.Sprint(tl.Hlogs()) != fmt.Sprint(want) {
		t.Errorf("Hlogs() = %v, want %v", tl.Hlogs(), want)
	}

	for point, name := range tl.Hlogs() {
		path := filepath.Join(dir, name)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, head := range []string{"#[Histogram log format version 1.3]", fmt.Sprintf("#[StartTime: %.3f (seconds since epoch)", float64(tl0.UnixMilli())/1000),
			fmt.Sprintf("#[BaseTime: %.3f (seconds since epoch)]", float64(tl0.UnixMilli())/1000), `"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"`} {
			if !bytes.Contains(raw, []byte(head)) {
				t.Errorf("%s: no header line %q:\n%s", name, head, raw)
			}
		}
		back, err := ReadHlogFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(back) != 5 {
			t.Fatalf("%s: %d intervals read back, want 5", name, len(back))
		}
		sum := reports.NewHistogram()
		for i, iv := range back {
			if iv.StartS != float64(i) || iv.Hist.StartTimeMs() != tl0.UnixMilli()+int64(i)*1000 {
				t.Errorf("%s interval %d: starts at %g s (%d ms since epoch)", name, i, iv.StartS, iv.Hist.StartTimeMs())
			}
			if c, want := iv.Hist.TotalCount(), got.Series[i].LatencyMS[point].Count; c != want {
				t.Errorf("%s interval %d: %d values, the series says %d", name, i, c, want)
			}
			sum.Merge(iv.Hist)
		}
		if !sum.Equals(run[point]) {
			t.Errorf("%s: the intervals add up to %d values (max %d), the run's histogram has %d (max %d)",
				name, sum.TotalCount(), sum.Max(), run[point].TotalCount(), run[point].Max())
		}
	}
}

// A soak's logs are on disk as it goes: every interval that ended is in the file before
// the timeline is closed (an interrupted run keeps them).
func TestTimelineWritesAsItGoes(t *testing.T) {
	dir := t.TempDir()
	tl, err := NewTimeline(TimelineOptions{Start: tl0, Every: 100 * time.Millisecond, Dir: dir, Stem: "soak", Points: []string{reports.PointEnqueue}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		at := tl0.Add(time.Duration(i) * 10 * time.Millisecond)
		tl.Record(reports.PointEnqueue, 500, at)
		tl.Rotate(at)
	}
	back, err := ReadHlogFile(filepath.Join(dir, "soak.enqueue.hlog"))
	if err != nil {
		t.Fatal(err)
	}
	// At 290 ms, with a 10 ms grace, intervals 0 and 1 have ended.
	if len(back) != 2 || back[0].Hist.TotalCount() != 10 || back[1].StartS != 0.1 {
		t.Fatalf("read %d intervals before the end (first %d values): want the 2 finished ones", len(back), back[0].Hist.TotalCount())
	}
	series, err := tl.Close(tl0.Add(295 * time.Millisecond))
	if err != nil || len(series.Series) != 3 || math.Abs(series.Series[2].LengthS-0.095) > 1e-9 {
		t.Fatalf("closed: %+v, %v", series, err)
	}
}

// A sample noted after its interval was written counts in the oldest open one (never
// lost); one ahead of a late rotation in the newest. Points first seen mid-run get their
// own log; a timeline without a folder keeps the series only.
func TestTimelineLateSamples(t *testing.T) {
	tl, err := NewTimeline(TimelineOptions{Start: tl0, Every: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tl.Rotate(tl0.Add(1500 * time.Millisecond)) // interval 0 written
	tl.Record(reports.PointPickup, 100, tl0.Add(200*time.Millisecond))
	tl.Record(reports.PointPickup, 100, tl0.Add(5*time.Second)) // interval 5: the rotation is late
	tl.Completed(tl0.Add(300 * time.Millisecond))
	got, err := tl.Close(tl0.Add(1800 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Series) != 3 {
		t.Fatalf("%d intervals: %+v", len(got.Series), got.Series)
	}
	if got.Series[1].LatencyMS[reports.PointPickup].Count != 1 || got.Series[1].Completed != 1 || got.Series[2].LatencyMS[reports.PointPickup].Count != 1 {
		t.Errorf("late samples: %+v", got.Series)
	}
	if tl.Hlogs() != nil {
		t.Errorf("no folder, yet logs %v", tl.Hlogs())
	}
	tl.Record(reports.PointPickup, 100, tl0) // after Close: ignored
	if again, _ := tl.Close(tl0.Add(time.Hour)); len(again.Series) != 3 {
		t.Errorf("a second Close changed the series: %+v", again.Series)
	}
}

// With its own ticker (Start), a timeline written to concurrently rotates on time and
// loses no sample.
func TestTimelineTicker(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	tl, err := NewTimeline(TimelineOptions{Start: start, Every: 100 * time.Millisecond, Dir: dir, Stem: "tick", Points: []string{reports.PointEnqueue}})
	if err != nil {
		t.Fatal(err)
	}
	tl.Start()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for time.Since(start) < 450*time.Millisecond {
				tl.Record(reports.PointEnqueue, 1000, time.Now())
				time.Sleep(time.Millisecond)
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	if back, err := ReadHlogFile(filepath.Join(dir, "tick.enqueue.hlog")); err != nil || len(back) < 2 {
		t.Errorf("at 300 ms, %d intervals on disk (%v): the ticker does not rotate", len(back), err)
	}
	wg.Wait()
	series, err := tl.Close(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadHlogFile(filepath.Join(dir, "tick.enqueue.hlog"))
	if err != nil {
		t.Fatal(err)
	}
	var inLog, inSeries int64
	for i, iv := range back {
		inLog += iv.Hist.TotalCount()
		inSeries += series.Series[i].LatencyMS[reports.PointEnqueue].Count
	}
	if len(back) != len(series.Series) || len(back) < 5 || inLog != inSeries || inLog == 0 {
		t.Errorf("%d intervals in the log (%d values), %d in the series (%d values)", len(back), inLog, len(series.Series), inSeries)
	}
}

// Stop ends the series at the end of the measurement: the run's shutdown adds no empty
// intervals, and a sample noted after it counts in the last interval.
func TestTimelineStop(t *testing.T) {
	tl, err := NewTimeline(TimelineOptions{Start: tl0, Every: time.Second, Points: []string{reports.PointEnqueue}})
	if err != nil {
		t.Fatal(err)
	}
	tl.Record(reports.PointEnqueue, 100, tl0.Add(500*time.Millisecond))
	tl.Rotate(tl0.Add(1200 * time.Millisecond))
	tl.Stop(tl0.Add(1500 * time.Millisecond))
	tl.Record(reports.PointEndToEnd, 100, tl0.Add(4*time.Second)) // during the shutdown
	tl.Completed(tl0.Add(4 * time.Second))
	got, err := tl.Close(tl0.Add(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Series) != 2 || got.Series[1].LengthS != 0.5 || got.Series[1].Completed != 1 || got.Series[1].LatencyMS[reports.PointEndToEnd].Count != 1 {
		t.Errorf("series after Stop at 1.5 s: %+v", got.Series)
	}
}
