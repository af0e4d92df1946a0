package reports

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// bandColors shade a run's phases on its plot over time (translucent, so the lines show
// through; distinct from the lines' colours).
var bandColors = []color.NRGBA{
	{R: 0xff, G: 0x99, B: 0x00, A: 0x48},
	{R: 0x99, G: 0x44, B: 0xcc, A: 0x40},
	{R: 0x33, G: 0xaa, B: 0x66, A: 0x40},
	{R: 0x88, G: 0x88, B: 0x88, A: 0x48},
}

// BandColor is the shade of a run's i-th phase.
func BandColor(i int) color.NRGBA { return bandColors[i%len(bandColors)] }

// band is a phase's span on the time axis.
type band struct {
	from, to float64
	color    color.Color
}

// bandsPlotter shades spans of the x axis over the whole height of the chart.
type bandsPlotter struct{ bands []band }

func (b bandsPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	for _, s := range b.bands {
		from, to := math.Max(s.from, p.X.Min), math.Min(s.to, p.X.Max)
		if to < from {
			continue
		}
		x0, x1 := trX(from), trX(to)
		if x1-x0 < vg.Points(1) { // a phase shorter than the axis can show: still seen
			x1 = x0 + vg.Points(1)
		}
		c.FillPolygon(s.color, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
	}
}

// bandThumb is a phase's legend entry: a swatch of its shade.
type bandThumb struct{ color color.Color }

func (b bandThumb) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(b.color, []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}})
}

// phaseSpans are the run's phases that took effect, as spans from the start of the load
// (a phase not lifted lasts to end).
func phaseSpans(r *Run, end float64) []band {
	var out []band
	for i, ph := range r.Phases {
		if ph.AppliedAtS == nil {
			continue
		}
		to := end
		if ph.LiftedAtS != nil {
			to = *ph.LiftedAtS
		}
		out = append(out, band{from: *ph.AppliedAtS, to: to, color: BandColor(i)})
	}
	return out
}

// stepSegments turns a per-interval value into step lines (each interval's value held
// from its start to its end), broken where an interval has no value.
func stepSegments(series []Interval, value func(Interval) (float64, bool)) []plotter.XYs {
	var segs []plotter.XYs
	var cur plotter.XYs
	flush := func() {
		if len(cur) > 0 {
			segs = append(segs, cur)
			cur = nil
		}
	}
	for _, iv := range series {
		v, ok := value(iv)
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			flush()
			continue
		}
		end := iv.StartS + iv.LengthS
		if len(cur) > 0 && math.Abs(cur[len(cur)-1].X-iv.StartS) > 1e-9 {
			flush() // not contiguous
		}
		if len(cur) > 0 {
			cur = cur[:len(cur)-1] // the previous interval's end: where this one starts
		}
		cur = append(cur, plotter.XY{X: iv.StartS, Y: v}, plotter.XY{X: end, Y: v})
	}
	flush()
	return segs
}

// timeLine adds a value's step segments to c as one series with one legend entry (none
// when legend is nil), and returns the range of its values.
func timeLine(c *plot.Plot, legend *chart, label string, segs []plotter.XYs, col color.Color, dashes []vg.Length) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	var first *plotter.Line
	for _, xys := range segs {
		l, err := plotter.NewLine(xys)
		if err != nil {
			continue
		}
		l.StepStyle = plotter.PostStep
		l.Color = col
		l.Width = vg.Points(1.5)
		l.Dashes = dashes
		c.Add(l)
		if first == nil {
			first = l
		}
		for _, xy := range xys {
			lo, hi = math.Min(lo, xy.Y), math.Max(hi, xy.Y)
		}
	}
	if first != nil && legend != nil {
		legend.addLegend(label, first)
	}
	return lo, hi, first != nil
}

// timePlot draws a run's time series: throughput (enqueued and completed jobs/s) above,
// p50 and p99 latency of enqueue and end_to_end (and the open loop's service time p99)
// below, on one time axis from the start of the load, with the run's phases shaded in
// both. nil when the run has no series.
func timePlot(r *Run, name string) *Plot {
	if r.Intervals == nil || len(r.Intervals.Series) == 0 {
		return nil
	}
	series := r.Intervals.Series
	last := series[len(series)-1]
	end := last.StartS + last.LengthS

	top := newPlot("")
	top.Title.Text = wrapText(top.Title.TextStyle, "over time: "+runLabel(r), plotWidth-2*vg.Inch)
	top.Y.Label.Text = "jobs/s"
	bottom := newPlot("")
	bottom.Y.Label.Text = "latency (ms)"
	bottom.X.Label.Text = fmt.Sprintf("seconds since the load started (intervals of %s s)", fmtNum(r.Intervals.IntervalS))
	spans := phaseSpans(r, end)
	for _, c := range []*chart{top, bottom} {
		c.X.Min, c.X.Max = 0, math.Max(end, 1e-3)
		c.X.Tick.Marker = linearTicks{}
		c.Add(bandsPlotter{spans})
		c.Add(plotter.NewGrid())
	}

	// Throughput.
	rate := func(f func(Interval) float64) func(Interval) (float64, bool) {
		return func(iv Interval) (float64, bool) { return f(iv), iv.LengthS > 0 }
	}
	_, hiE, _ := timeLine(top.Plot, top, "enqueued jobs/s", stepSegments(series, rate(func(iv Interval) float64 { return iv.EnqueuedPerS })), plotutil.Color(0), nil)
	_, hiC, _ := timeLine(top.Plot, top, "completed jobs/s", stepSegments(series, rate(func(iv Interval) float64 { return iv.CompletedPerS })), plotutil.Color(2), nil)
	top.Y.Min, top.Y.Max = 0, math.Max(math.Max(hiE, hiC), 1)*1.05 // the highest step clear of the frame
	top.Y.Tick.Marker = linearTicks{}

	// Latency: p50 solid, p99 dashed, per point.
	dashed := []vg.Length{vg.Points(5), vg.Points(3)}
	dotted := []vg.Length{vg.Points(1.5), vg.Points(2.5)}
	lo, hi := math.Inf(1), math.Inf(-1)
	type latencyLine struct {
		point, stat string
		col         color.Color
		dashes      []vg.Length
	}
	// end_to_end first: enqueue, usually the lower and the one a phase on the enqueue
	// path moves first, is drawn over it where they meet.
	lines := []latencyLine{
		{PointEndToEnd, "p50", plotutil.Color(2), nil},
		{PointEndToEnd, "p99", plotutil.Color(2), dashed},
		{PointEnqueue, "p50", plotutil.Color(0), nil},
		{PointEnqueue, "p99", plotutil.Color(0), dashed},
		{PointService, "p99", plotutil.Color(4), dotted},
	}
	for _, ll := range lines {
		segs := stepSegments(series, func(iv Interval) (float64, bool) {
			l, ok := iv.LatencyMS[ll.point]
			if !ok || l.Count == 0 {
				return 0, false
			}
			v := l.P50
			if ll.stat == "p99" {
				v = l.P99
			}
			return math.Max(v, 0.001), true // a log axis never meets 0
		})
		label := ll.point + " " + ll.stat
		if ll.point == PointEnqueue && hasService(r) {
			label = "enqueue " + ll.stat + " (corrected)"
		}
		if ll.point == PointService {
			label = "enqueue " + ll.stat + " (service time)"
		}
		if l, h, ok := timeLine(bottom.Plot, top, label, segs, ll.col, ll.dashes); ok {
			lo, hi = math.Min(lo, l), math.Max(hi, h)
		}
	}
	switch {
	case math.IsInf(lo, 1):
		bottom.Y.Min, bottom.Y.Max = 0, 1
		bottom.Y.Tick.Marker = linearTicks{}
	case lo > 0 && hi/lo > 20:
		bottom.Y.Scale = plot.LogScale{}
		bottom.Y.Tick.Marker = logTicks{}
		bottom.Y.Min, bottom.Y.Max = lo, hi*1.15
	default:
		bottom.Y.Min, bottom.Y.Max = 0, hi*1.05
		bottom.Y.Tick.Marker = linearTicks{}
	}
	for i, s := range spans {
		ph := r.Phases[phaseIndex(r, i)]
		top.addLegend(fmt.Sprintf("%s on %s, %s to %s s", ph.Condition, ph.Link, fmtNum(round3(s.from)), fmtNum(round3(s.to))), bandThumb{s.color})
	}
	p := sizePlot(name, top, plotWidth, 6.5*vg.Inch)
	p.lower = bottom.Plot
	return p
}

// phaseIndex is the index in r.Phases of the i-th phase that took effect.
func phaseIndex(r *Run, i int) int {
	for j, ph := range r.Phases {
		if ph.AppliedAtS == nil {
			continue
		}
		if i == 0 {
			return j
		}
		i--
	}
	return 0
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// timePlots are the plots over time of the runs that have a series: "over-time" for a
// result of one run, "over-time-<run slug>" for each of several.
func timePlots(res *Result) []*Plot {
	slugs := RunSlugs(res.Runs)
	var out []*Plot
	for i := range res.Runs {
		name := "over-time"
		if len(res.Runs) > 1 {
			name += "-" + slugs[i]
		}
		if p := timePlot(&res.Runs[i], name); p != nil {
			p.run = i + 1
			out = append(out, p)
		}
	}
	return out
}
