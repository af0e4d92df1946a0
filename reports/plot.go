package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Plot is one chart of a result, ready to be written as SVG or PNG.
type Plot struct {
	Name  string // file stem, e.g. "percentiles-enqueue"
	Title string
	plot  *plot.Plot
	w, h  vg.Length
}

// legendWidth is the column right of each plot that holds its legend: inside the plot
// a legend of several runs covers the very lines it names.
const legendWidth = 2.6 * vg.Inch

// Render writes the plot in format "svg" or "png": the chart, its legend beside it.
func (p *Plot) Render(format string) ([]byte, error) {
	c, err := draw.NewFormattedCanvas(p.w, p.h, format)
	if err != nil {
		return nil, fmt.Errorf("plot %s: %w", p.Name, err)
	}
	dc := draw.New(c)
	legend := p.plot.Legend
	chart := *p.plot
	chart.Legend = plot.NewLegend()
	chart.Draw(draw.Crop(dc, vg.Points(8), -legendWidth, 0, 0)) // 8 pt: the first tick label is not cut at the edge
	legend.Top, legend.Left = true, true
	legend.YOffs = -p.plot.Title.TextStyle.Height(p.plot.Title.Text) - vg.Points(8)
	legend.Draw(draw.Crop(dc, p.w-legendWidth+vg.Points(6), 0, 0, 0))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("plot %s as %s: %w", p.Name, format, err)
	}
	return b.Bytes(), nil
}

// maxNines is the deepest percentile the spectrum shows: 99.9999%.
const maxNines = 6

// Plots builds the result's charts: the percentile spectrum of each timing point (one
// line per run; the classic HdrHistogram picture, latency against percentile on a
// "nines" axis), and enqueue (and completion) throughput by run.
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
	if p := throughputPlot(res); p != nil {
		out = append(out, p)
	}
	return out, nil
}

// ninesX maps a percentile to the spectrum's x axis: 0 → 0, 90 → 1, 99 → 2, 99.9 → 3.
func ninesX(pct float64) float64 { return -math.Log10(1 - pct/100) }

func spectrum(res *Result, point string) (*Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s latency by percentile", point)
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (ms)"
	var ticks []plot.Tick
	for n := 0; n <= maxNines; n++ {
		ticks = append(ticks, plot.Tick{Value: float64(n), Label: nineLabel(n)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = 0, 1
	lo, hi := math.Inf(1), 0.0
	lines := 0
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
			xys := spectrumXYs(h)
			for _, xy := range xys {
				lo, hi = math.Min(lo, xy.Y), math.Max(hi, xy.Y)
				p.X.Max = math.Max(p.X.Max, xy.X)
			}
			l, err := plotter.NewLine(xys)
			if err != nil {
				return nil, fmt.Errorf("plot %s of %q: %w", pt, r.Name, err)
			}
			l.Color = plotutil.Color(i)
			l.Width = vg.Points(1.5)
			label := shortLabel(runLabel(r))
			if pt == PointService {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
				label += " (service time)"
			}
			p.Add(l)
			p.Legend.Add(label, l)
			lines++
		}
	}
	if lines == 0 {
		return nil, nil
	}
	p.X.Max = math.Min(math.Ceil(p.X.Max), maxNines)
	// Latencies often span decades (µs pickups, second-long stalls): log scale then.
	if lo > 0 && hi/lo > 20 {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Min, p.Y.Max = lo, hi
	} else {
		p.Y.Min = 0
	}
	p.Add(plotter.NewGrid())
	return &Plot{Name: "percentiles-" + strings.ReplaceAll(point, "_", "-"), Title: p.Title.Text, plot: p, w: 10 * vg.Inch, h: 5 * vg.Inch}, nil
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
	p := plot.New()
	p.Title.Text = "throughput by run"
	p.X.Label.Text = "jobs/s"
	n := len(res.Runs)
	enq, done := make(plotter.Values, n), make(plotter.Values, n)
	names := make([]string, n)
	for i := range res.Runs {
		r := &res.Runs[n-1-i] // first run on top
		names[i] = shortLabel(runLabel(r))
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
	p.Legend.Add("enqueue", a)
	p.Legend.Add("completed (drain, for burst runs)", b)
	p.NominalY(names...)
	p.X.Min = 0
	p.Add(&plotter.Grid{Vertical: draw.LineStyle{Color: color.Gray{Y: 200}, Width: vg.Points(0.5)}})
	h := vg.Length(math.Max(3, 0.35*float64(n)+1.5)) * vg.Inch
	return &Plot{Name: "throughput", Title: p.Title.Text, plot: p, w: 10 * vg.Inch, h: h}
}

// shortLabel keeps a plot's labels from crowding out the chart: long run names are cut
// (the reports' tables have them whole).
func shortLabel(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:39]) + "…"
	}
	return s
}
