package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Plot is one chart of a result, ready to be written as SVG or PNG.
type Plot struct {
	Name    string // file stem, e.g. "percentiles-enqueue"
	Title   string
	plot    *plot.Plot
	w, h    vg.Length
	legendW vg.Length // the column right of the chart that holds the legend
	// lower, when set, is a second chart drawn below the first on the same x axis (the
	// plot over time: throughput above, latency below); the legend holds both's entries.
	lower *plot.Plot
	run   int // 1 + the index of the run the plot is of; 0: the whole result
}

// RunIndex is the index of the run a plot is of (a plot over time), or -1 for a plot of
// the whole result.
func (p *Plot) RunIndex() int { return p.run - 1 }

// The legend sits in a column right of each plot: inside the plot a legend of several
// runs covers the very lines it names. The column is as wide as its widest entry (whole,
// never cut); entries wider than maxLegendText wrap at spaces; the chart keeps at least
// minChartWidth and the canvas grows instead.
const (
	plotWidth     = 10 * vg.Inch
	minChartWidth = 6.5 * vg.Inch
	maxLegendText = 4.2 * vg.Inch
	maxTickText   = 3.6 * vg.Inch // a run name on the throughput plot's y axis
	minBarsWidth  = 5 * vg.Inch   // the throughput plot's bars
	legendGap     = 6             // points: chart to legend, and legend to the edge
)

// plotFont is Liberation Sans, metrically compatible with Arial and Helvetica: an SVG
// viewed where Liberation Sans is not installed still gets glyphs of the widths the
// layout measured (and every text element says its width, see fitSVGText).
var plotFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

// chart is a plot being built, with the texts of its legend (gonum keeps them private)
// to size the legend's column by.
type chart struct {
	*plot.Plot
	legend []string
}

// newPlot is plot.New in the reports' fonts.
func newPlot(title string) *chart {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(plotFont, 12)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(plotFont, 11)
		a.Tick.Label.Font = font.From(plotFont, 10)
	}
	p.Legend.TextStyle.Font = font.From(plotFont, 11)
	p.Legend.Padding = vg.Points(3)
	return &chart{Plot: p}
}

// wrapText breaks s at spaces into lines no wider than max in sty; a word wider than
// max keeps a line of its own, whole.
func wrapText(sty text.Style, s string, max vg.Length) string {
	if sty.Width(s) <= max {
		return s
	}
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case sty.Width(line+" "+word) <= max:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	return strings.Join(append(lines, line), "\n")
}

// addLegend adds a legend entry, its label wrapped to the legend column's width.
func (c *chart) addLegend(label string, thumbs ...plot.Thumbnailer) {
	label = wrapText(c.Legend.TextStyle, label, maxLegendText)
	c.Legend.Add(label, thumbs...)
	c.legend = append(c.legend, label)
}

// sizePlot wraps p into a Plot at least w × h, wider when its legend needs more than
// plotWidth-minChartWidth, taller when its legend needs more than h.
func sizePlot(name string, c *chart, w, h vg.Length) *Plot {
	p := c.Plot
	sty := p.Legend.TextStyle
	var textW, entryH vg.Length
	for _, label := range c.legend {
		textW = max(textW, sty.Width(" "+label))
		entryH = max(entryH, sty.Rectangle(label).Max.Y)
	}
	n := len(c.legend)
	legendW := p.Legend.ThumbnailWidth + textW + 2*vg.Points(legendGap)
	w = max(w, minChartWidth+legendW)
	legendH := vg.Length(n)*entryH + vg.Length(max(n-1, 0))*p.Legend.Padding
	h = max(h, legendH+p.Title.TextStyle.Height(p.Title.Text)+vg.Points(24))
	return &Plot{Name: name, Title: p.Title.Text, plot: p, w: w, h: h, legendW: legendW}
}

// Render writes the plot in format "svg" or "png": the chart, its legend beside it.
func (p *Plot) Render(format string) ([]byte, error) {
	var c vg.CanvasWriterTo
	var svg *measuredSVG
	if format == "svg" {
		svg = &measuredSVG{Canvas: vgsvg.New(p.w, p.h)}
		c = svg
	} else {
		var err error
		if c, err = draw.NewFormattedCanvas(p.w, p.h, format); err != nil {
			return nil, fmt.Errorf("plot %s: %w", p.Name, err)
		}
	}
	dc := draw.New(c)
	legend := p.plot.Legend
	chart := *p.plot
	chart.Legend = plot.NewLegend()
	area := draw.Crop(dc, vg.Points(8), -p.legendW, 0, 0) // 8 pt: the first tick label is not cut at the edge
	if p.lower == nil {
		chart.Draw(area)
	} else {
		// Two charts, one above the other, their data areas aligned on the shared x axis.
		lower := *p.lower
		tiles := plot.Align([][]*plot.Plot{{&chart}, {&lower}}, draw.Tiles{Rows: 2, Cols: 1, PadY: vg.Points(10), PadTop: vg.Points(3)}, area)
		chart.Draw(tiles[0][0])
		lower.Draw(tiles[1][0])
	}
	legend.Top, legend.Left = true, true
	legend.YOffs = -p.plot.Title.TextStyle.Height(p.plot.Title.Text) - vg.Points(8)
	legend.Draw(draw.Crop(dc, p.w-p.legendW+vg.Points(legendGap), 0, 0, 0))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("plot %s as %s: %w", p.Name, format, err)
	}
	if svg != nil {
		return fitSVGText(b.Bytes(), svg.widths), nil
	}
	return b.Bytes(), nil
}

// measuredSVG is an SVG canvas that notes the width of each text it writes, as measured
// with the font the layout used.
type measuredSVG struct {
	*vgsvg.Canvas
	widths []vg.Length
}

func (c *measuredSVG) FillString(f font.Face, pt vg.Point, s string) {
	c.widths = append(c.widths, f.Width(s))
	c.Canvas.FillString(f, pt, s)
}

var svgFontFamily = regexp.MustCompile(`font-family:([^;"']+);`)

// fitSVGText gives the i-th <text> of svg the i-th measured width as its textLength, so
// a browser draws it exactly as wide as the layout measured whatever font it falls back
// to (a wider font would otherwise run past the legend column or into the chart), and
// names fallback fonts of the same metrics after the one the layout used.
func fitSVGText(svg []byte, widths []vg.Length) []byte {
	parts := bytes.Split(svg, []byte("<text "))
	if len(parts)-1 != len(widths) {
		return svg // not the one-<text>-per-string SVG measured: leave it as written
	}
	var b bytes.Buffer
	b.Write(parts[0])
	for i, part := range parts[1:] {
		b.WriteString("<text ")
		if w := widths[i].Points(); w > 0 {
			fmt.Fprintf(&b, `textLength="%.2f" lengthAdjust="spacingAndGlyphs" `, w)
		}
		b.Write(part)
	}
	return svgFontFamily.ReplaceAll(b.Bytes(), []byte("font-family:'$1',Arimo,Arial,Helvetica,sans-serif;"))
}

// maxNines is the deepest percentile the spectrum shows: 99.9999%.
const maxNines = 6

// Plots builds the result's charts: the percentile spectrum of each timing point (one
// line per run; the classic HdrHistogram picture, latency against percentile on a
// "nines" axis), enqueue (and completion) throughput by run, and each run's plot over
// time (when it has a time series).
func Plots(res *Result) ([]*Plot, error) {
	var out []*Plot
	for _, pt := range []string{PointEnqueue, PointPickup, PointEndToEnd} {
		p, err := spectrum(res, pt)
		if err != nil {
			return out, err
		}
		if p != nil {
			out = append(out, p)
		}
	}
	// One legend column for the spectra: their charts, one above the other on a page,
	// line up.
	var legendW vg.Length
	for _, p := range out {
		legendW = max(legendW, p.legendW)
	}
	for _, p := range out {
		p.legendW, p.w = legendW, max(plotWidth, minChartWidth+legendW)
	}
	if p := throughputPlot(res); p != nil {
		out = append(out, p)
	}
	return append(out, timePlots(res)...), nil
}

// ninesX maps a percentile to the spectrum's x axis: 0 → 0, 90 → 1, 99 → 2, 99.9 → 3.
func ninesX(pct float64) float64 { return -math.Log10(1 - pct/100) }

// Labels of the two lines of an open-loop run's enqueue latency.
const (
	correctedLabel = "corrected (from intended start)"
	serviceLabel   = "service time (from actual send)"
)

func spectrum(res *Result, point string) (*Plot, error) {
	p := newPlot(fmt.Sprintf("%s latency by percentile", point))
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (ms)"
	var ticks []plot.Tick
	for n := 0; n <= maxNines; n++ {
		ticks = append(ticks, plot.Tick{Value: float64(n), Label: nineLabel(n)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = 0, 1
	type series struct {
		i     int // the run's index: its colour
		run   *Run
		point string
		h     *hdrhistogram.Histogram
	}
	var lines []series
	runs := map[*Run]bool{}
	for i := range res.Runs {
		r := &res.Runs[i]
		points := []string{point}
		if point == PointEnqueue {
			points = append(points, PointService)
		}
		for _, pt := range points {
			h, err := r.Histogram(pt)
			if err != nil {
				return nil, err
			}
			if h == nil || h.TotalCount() == 0 {
				continue
			}
			lines = append(lines, series{i, r, pt, h})
			runs[r] = true
		}
	}
	if len(lines) == 0 {
		return nil, nil
	}
	lo, hi := math.Inf(1), 0.0
	for _, s := range lines {
		xys := spectrumXYs(s.h)
		for _, xy := range xys {
			lo, hi = math.Min(lo, xy.Y), math.Max(hi, xy.Y)
			p.X.Max = math.Max(p.X.Max, xy.X)
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("plot %s of %q: %w", s.point, s.run.Name, err)
		}
		l.Color = plotutil.Color(s.i)
		l.Width = vg.Points(1.5)
		if s.point == PointService {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l)
		p.addLegend(seriesLabel(s.run, s.point, point, len(runs) > 1), l)
	}
	p.X.Max = math.Min(math.Ceil(p.X.Max), maxNines)
	// Latencies often span decades (µs pickups, second-long stalls): log scale then.
	if lo > 0 && hi/lo > 20 {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
		p.Y.Min, p.Y.Max = lo, hi
	} else {
		p.Y.Min = 0
		p.Y.Tick.Marker = linearTicks{}
	}
	p.Add(plotter.NewGrid())
	return sizePlot("percentiles-"+strings.ReplaceAll(point, "_", "-"), p, plotWidth, 5*vg.Inch), nil
}

// seriesLabel names a spectrum line so that no two lines of a plot share a label: the
// run's name alone for a closed-loop run; for an open-loop run's enqueue, which of its two
// lines (corrected or service time) first, then the run's name if several runs share the
// plot.
func seriesLabel(r *Run, pt, plotted string, severalRuns bool) string {
	name := runLabel(r)
	if plotted != PointEnqueue || !hasService(r) {
		return name
	}
	kind := correctedLabel
	if pt == PointService {
		kind = serviceLabel
	}
	if !severalRuns {
		return kind
	}
	return strings.SplitN(kind, " (", 2)[0] + ": " + name
}

// hasService says whether r measured the service time beside the corrected enqueue.
func hasService(r *Run) bool {
	h, err := r.Histogram(PointService)
	return err == nil && h != nil && h.TotalCount() > 0
}

var nineLabels = []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"}

func nineLabel(n int) string { return nineLabels[n] }

// spectrumXYs samples a µs histogram at percentiles evenly spaced on the nines axis, up to
// the deepest percentile its count supports, in milliseconds (the smallest shown value is
// 1 µs, so a log axis never meets 0).
func spectrumXYs(h *hdrhistogram.Histogram) plotter.XYs {
	deepest := math.Min(math.Log10(float64(h.TotalCount()))+0.3, maxNines)
	var xys plotter.XYs
	for x := 0.0; x <= deepest+1e-9; x += 0.02 {
		pct := 100 * (1 - math.Pow(10, -x))
		// ValueAtQuantile reads 0 below the first recorded value's share (at 0% always):
		// no recorded value is below the minimum.
		v := float64(max(h.ValueAtQuantile(pct), h.Min())) / 1000
		xys = append(xys, plotter.XY{X: x, Y: math.Max(v, 0.001)})
	}
	xys = append(xys, plotter.XY{X: deepest, Y: math.Max(float64(h.Max())/1000, 0.001)})
	return xys
}

// throughputPlot draws each run's enqueue throughput and, where the workers were
// measured alone, the drain throughput, as horizontal bars (run names are long).
func throughputPlot(res *Result) *Plot {
	if len(res.Runs) == 0 {
		return nil
	}
	p := newPlot("throughput by run")
	p.X.Label.Text = "jobs/s"
	n := len(res.Runs)
	enq, done := make(plotter.Values, n), make(plotter.Values, n)
	names := make([]string, n)
	h := 1.5 * vg.Inch // title, x axis, margins
	var namesW vg.Length
	for i := range res.Runs {
		r := &res.Runs[n-1-i] // first run on top
		// Whole names, wrapped: the axis makes room for the widest line.
		names[i] = wrapText(p.Y.Tick.Label, runLabel(r), maxTickText)
		h += max(0.35*vg.Inch, p.Y.Tick.Label.Height(names[i])+vg.Points(12))
		namesW = max(namesW, p.Y.Tick.Label.Width(names[i]))
		enq[i] = r.Throughput.EnqueueJobsPerS
		done[i] = r.Throughput.CompletedJobsPerS
		if r.Throughput.DrainJobsPerS > 0 {
			done[i] = r.Throughput.DrainJobsPerS
		}
	}
	bw := vg.Points(7)
	a, errA := plotter.NewBarChart(enq, bw)
	b, errB := plotter.NewBarChart(done, bw)
	if errA != nil || errB != nil {
		return nil
	}
	for _, bar := range []*plotter.BarChart{a, b} {
		bar.Horizontal = true
		bar.LineStyle.Width = 0
	}
	a.Color, b.Color = plotutil.Color(0), plotutil.Color(2)
	a.Offset, b.Offset = bw/2, -bw/2
	p.Add(a, b)
	p.addLegend("enqueue", a)
	p.addLegend("completed (drain, for burst runs)", b)
	p.NominalY(names...)
	p.X.Min = 0
	p.Add(&plotter.Grid{Vertical: draw.LineStyle{Color: color.Gray{Y: 200}, Width: vg.Points(0.5)}})
	pl := sizePlot("throughput", p, plotWidth, max(3*vg.Inch, h))
	pl.w = max(pl.w, namesW+minBarsWidth+pl.legendW) // the bars keep their room beside long names
	return pl
}

// logTicks labels a log axis so it reads at every range: one label per decade (1, 10,
// 100 …) when that gives at least 3, else 1-2-5 per decade, else 1-2-3-5-7, else (a range
// well under a decade) evenly spaced values; the other integer multiples of each decade
// are unlabelled minor ticks.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) {
		return linearTicks{}.Ticks(lo, hi)
	}
	for _, marks := range [][]int{{1}, {1, 2, 5}, {1, 2, 3, 5, 7}} {
		if ticks := decadeTicks(lo, hi, marks); labelled(ticks) >= 3 {
			return ticks
		}
	}
	return linearTicks{}.Ticks(lo, hi)
}

// decadeTicks has a tick at each m × 10^k in [lo, hi] for m in 1..9, labelled where m is
// one of marks.
func decadeTicks(lo, hi float64, marks []int) []plot.Tick {
	var ticks []plot.Tick
	for k := int(math.Floor(math.Log10(lo))); k <= int(math.Ceil(math.Log10(hi))); k++ {
		for m := 1; m <= 9; m++ {
			v := decimal(m, k)
			if !within(v, lo, hi) {
				continue
			}
			t := plot.Tick{Value: v}
			if slices.Contains(marks, m) {
				t.Label = strconv.FormatFloat(v, 'f', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// linearTicks labels a linear axis at the widest step of 1, 2, 2.5 or 5 × 10^k that
// gives at least 3 labels in [lo, hi] (gonum's default aims at fewer).
type linearTicks struct{}

func (linearTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 4, 64)}}
	}
	var ticks []plot.Tick
	for k := int(math.Floor(math.Log10(hi-lo))) + 1; k > -12; k-- {
		for _, m := range []int{50, 25, 20, 10} { // × 10^(k-1): 5, 2.5, 2, 1 × 10^k
			step := decimal(m, k-1)
			ticks = ticks[:0]
			for i := math.Ceil(lo/step - 1e-9); i*step <= hi*(1+1e-12); i++ {
				v := decimal(int(i)*m, k-1)
				ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
			}
			if len(ticks) >= 3 {
				return ticks
			}
		}
	}
	return ticks
}

// decimal is m × 10^k as the float64 nearest to it (m / 10^-k for k < 0: 10^-k is exact,
// its inverse is not), so that its shortest decimal form is m's digits: 0.3, not
// 0.30000000000000004.
func decimal(m, k int) float64 {
	if k < 0 {
		return float64(m) / math.Pow10(-k)
	}
	return float64(m) * math.Pow10(k)
}

// within allows for lo and hi read back from a float computation (1000 as 999.9999999).
func within(v, lo, hi float64) bool { return v >= lo*(1-1e-9) && v <= hi*(1+1e-9) }

func labelled(ticks []plot.Tick) int {
	n := 0
	for _, t := range ticks {
		if t.Label != "" {
			n++
		}
	}
	return n
}
