package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 250e6, time.UTC)

func TestCheckInterval(t *testing.T) {
	for d, ok := range map[time.Duration]bool{time.Second: true, 100 * time.Millisecond: true, time.Hour: true, 1500 * time.Millisecond: true,
		99 * time.Millisecond: false, time.Hour + time.Second: false, 0: false, 1234567 * time.Microsecond: false} {
		if err := CheckInterval(d); (err == nil) != ok {
			t.Errorf("CheckInterval(%s) = %v", d, err)
		}
	}
	if err := CheckInterval(50 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "from 100ms to 1h") {
		t.Errorf("error does not say the bounds: %v", err)
	}
}

// timedResult is one open-loop run with a 5 s series and a 300 ms latency phase at 2 s,
// in which the enqueue p99 of its interval rises.
func timedResult(t *testing.T) *Result {
	t.Helper()
	res := testResult(t)
	res.Runs = res.Runs[2:3]
	r := &res.Runs[0]
	applied, lifted := 2.0, 2.3
	r.Phases = []Phase{{Link: "client-api", Condition: "+300ms latency", AtS: 2, ForS: 0.3, AppliedAtS: &applied, LiftedAtS: &lifted}}
	r.Intervals = &Intervals{IntervalS: 1}
	for i := range 5 {
		iv := Interval{StartS: float64(i), LengthS: 1, Enqueued: 500, Completed: 480, EnqueuedPerS: 500, CompletedPerS: 480,
			LatencyMS: map[string]IntervalLatency{
				PointEnqueue:  {Count: 500, P50: 1.2, P99: 2.5, Max: 3},
				PointService:  {Count: 500, P50: 1.1, P99: 2.0, Max: 3},
				PointEndToEnd: {Count: 480, P50: 1.6, P99: 4, Max: 5},
			}}
		if i == 2 {
			iv.LatencyMS[PointEnqueue] = IntervalLatency{Count: 500, P50: 1.3, P99: 301, Max: 302}
			iv.LatencyMS[PointEndToEnd] = IntervalLatency{Count: 480, P50: 1.8, P99: 303, Max: 304}
		}
		if i == 4 {
			iv.LengthS, iv.EnqueuedPerS, iv.CompletedPerS, iv.Enqueued, iv.Completed = 0.5, 0, 960, 0, 480
			delete(iv.LatencyMS, PointEnqueue)
			delete(iv.LatencyMS, PointService)
		}
		r.Intervals.Series = append(r.Intervals.Series, iv)
	}
	r.Hlogs = map[string]string{PointEnqueue: "rtt_1ms_rate_500_s.enqueue.hlog"}
	return res
}

// pathBox is the x extent of an SVG path's points.
func pathBox(d string) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, m := range regexp.MustCompile(`[ML]\s*([-0-9.e]+)[ ,]+([-0-9.e]+)`).FindAllStringSubmatch(d, -1) {
		x, _ := strconv.ParseFloat(m[1], 64)
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// The plot over time: throughput above, latency below, the phase shaded in both where it
// was (its band spans 2.0 .. 2.3 s of the time axis), named in the legend; the run's
// lines are all in the legend. report.md shows it in the run's section, report.html
// inline.
func TestTimePlotPhaseShaded(t *testing.T) {
	res := timedResult(t)
	plots, err := Plots(res)
	if err != nil {
		t.Fatal(err)
	}
	var p *Plot
	for _, q := range plots {
		if q.Name == "over-time" {
			p = q
		}
	}
	if p == nil || p.RunIndex() != 0 {
		t.Fatalf("no over-time plot of run 0 among %d plots", len(plots))
	}
	svg, err := p.Render("svg")
	if err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("WFBENCH_PLOT_DIR"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "over-time.svg"), svg, 0o644)
		png, _ := p.Render("png")
		_ = os.WriteFile(filepath.Join(dir, "over-time.png"), png, 0o644)
	}
	_, texts := svgTexts(t, svg)
	for _, s := range []string{"enqueued jobs/s", "completed jobs/s", "enqueue p50 (corrected)", "enqueue p99 (corrected)",
		"enqueue p99 (service time)", "end_to_end p50", "end_to_end p99", "+300ms latency on client-api, 2 to 2.3 s", "jobs/s", "latency (ms)"} {
		if !whole(texts, s) {
			t.Errorf("%q is not in the plot; texts %v", s, textSet(texts))
		}
	}
	// The band: a path filled with the phase's shade in each chart, spanning 0.3/4.5 of the
	// time axis from 2/4.5 of it; the throughput line spans the axis (0 .. 4.5 s).
	r, g, b, a := BandColor(0).RGBA() // as the SVG canvas writes it
	un := func(v uint32) int { return int(float64(v) * 255 / float64(a)) }
	fill := fmt.Sprintf("fill:#%02X%02X%02X", un(r), un(g), un(b))
	paths := regexp.MustCompile(`<path d="([^"]+)"[^>]*style="([^"]*)"`).FindAllStringSubmatch(string(svg), -1)
	var bands [][2]float64
	axis := [2]float64{math.Inf(1), math.Inf(-1)}
	lineColor := regexp.MustCompile(`stroke:#([0-9A-Fa-f]{6})`)
	for _, m := range paths {
		lo, hi := pathBox(m[1])
		if strings.Contains(strings.ToUpper(m[2]), strings.ToUpper(fill)) && hi-lo < 400 {
			bands = append(bands, [2]float64{lo, hi})
		}
		if lc := lineColor.FindStringSubmatch(m[2]); lc != nil && strings.Contains(m[2], "stroke-width:1.5") && strings.Contains(m[2], "fill:none") && hi-lo > 100 { // not a legend thumbnail
			axis[0], axis[1] = math.Min(axis[0], lo), math.Max(axis[1], hi)
		}
	}
	// The legend's swatch is a band too (small); the two in the charts span the phase.
	var inCharts int
	for _, b := range bands {
		from := (b[0] - axis[0]) / (axis[1] - axis[0]) * 4.5
		to := (b[1] - axis[0]) / (axis[1] - axis[0]) * 4.5
		if math.Abs(from-2) < 0.02 && math.Abs(to-2.3) < 0.02 {
			inCharts++
		}
	}
	if inCharts != 2 {
		t.Errorf("%d shaded bands at 2.0 .. 2.3 s (want one per chart); bands %v, axis %v", inCharts, bands, axis)
	}

	var md bytes.Buffer
	if err := WriteMarkdown(&md, res, plots...); err != nil {
		t.Fatal(err)
	}
	runSection := md.String()[strings.Index(md.String(), "## Run:"):]
	for _, s := range []string{"### Over time", "![over time: rtt=1ms rate=500/s](over-time.png)", "5 intervals of 1 s",
		"the highest enqueue p99 of an interval, 301.0 ms, was at 2 s", "`rtt_1ms_rate_500_s.enqueue.hlog`"} {
		if !strings.Contains(runSection, s) {
			t.Errorf("report.md's run section lacks %q:\n%s", s, runSection)
		}
	}
	if strings.Count(md.String(), "over-time.png") != 1 {
		t.Errorf("the plot over time is shown %d times in report.md", strings.Count(md.String(), "over-time.png"))
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, res, plots); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(page.String(), "over-time.png") || !strings.Contains(page.String(), "+300ms latency on client-api") {
		t.Error("report.html does not inline the plot over time")
	}
}

// A result of several runs has one plot over time per run that has a series, named after
// the run's files; runs without one (older results) have none.
func TestTimePlotsPerRun(t *testing.T) {
	res := timedResult(t)
	second := res.Runs[0]
	second.Name = "rtt=100ms rate=500/s"
	older := res.Runs[0]
	older.Name, older.Intervals = "older", nil
	res.Runs = append(res.Runs, second, older)
	var names []string
	for _, p := range timePlots(res) {
		names = append(names, fmt.Sprintf("%s@%d", p.Name, p.RunIndex()))
	}
	if got := strings.Join(names, " "); got != "over-time-rtt_1ms_rate_500_s@0 over-time-rtt_100ms_rate_500_s@1" {
		t.Errorf("plots over time: %s", got)
	}
}

// The fields a run's time series adds to result.json, by name.
func TestIntervalsJSON(t *testing.T) {
	res := timedResult(t)
	b, err := json.Marshal(res.Runs[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	iv := m["intervals"].(map[string]any)
	first := iv["series"].([]any)[0].(map[string]any)
	for _, k := range []string{"start_s", "length_s", "enqueued", "completed", "enqueued_per_s", "completed_per_s", "latency_ms"} {
		if _, ok := first[k]; !ok {
			t.Errorf("series entry lacks %q: %v", k, first)
		}
	}
	lat := first["latency_ms"].(map[string]any)["enqueue"].(map[string]any)
	for _, k := range []string{"count", "p50", "p99", "max"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency entry lacks %q: %v", k, lat)
		}
	}
	if iv["interval_s"] != 1.0 || m["hlogs"].(map[string]any)["enqueue"] != "rtt_1ms_rate_500_s.enqueue.hlog" {
		t.Errorf("intervals %v, hlogs %v", iv["interval_s"], m["hlogs"])
	}
}
