package reports

import (
	"bytes"
	"image/png"
	"math"
	"strings"
	"testing"
)

// The nines axis: 0 → 0%, 1 → 90%, 2 → 99%, 3 → 99.9%.
func TestNinesX(t *testing.T) {
	for pct, want := range map[float64]float64{0: 0, 90: 1, 99: 2, 99.9: 3, 99.99: 4} {
		if got := ninesX(pct); math.Abs(got-want) > 1e-9 {
			t.Errorf("ninesX(%g) = %g, want %g", pct, got, want)
		}
	}
}

// The spectrum follows the histogram: at x it is the value at the percentile x maps to,
// in ms, and it ends at the maximum.
func TestSpectrumXYs(t *testing.T) {
	h := uniform(t, 1000, 1, 10000) // 1000..10999 µs
	xys := spectrumXYs(h)
	if xys[0].X != 0 || math.Abs(xys[0].Y-1.0) > 0.01 {
		t.Errorf("first point %+v, want x 0, ~1 ms", xys[0])
	}
	for _, xy := range xys[1 : len(xys)-1] { // after the minimum, before the maximum
		pct := 100 * (1 - math.Pow(10, -xy.X))
		if want := float64(h.ValueAtQuantile(pct)) / 1000; math.Abs(xy.Y-want) > 1e-9 {
			t.Fatalf("at x %.2f (p%.4f): %g ms, want %g", xy.X, pct, xy.Y, want)
		}
	}
	last := xys[len(xys)-1]
	if last.Y != float64(h.Max())/1000 || last.X > math.Log10(10000)+0.31 {
		t.Errorf("last point %+v, want the max %d µs at about 4.3 nines", last, h.Max())
	}
}

// Every plot of a result renders as SVG and as a PNG that decodes; the spectrum has a
// legend entry per run (and per service-time line of an open-loop run).
func TestPlotsRender(t *testing.T) {
	res := scenarioResult(t)
	plots, err := Plots(res)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range plots {
		names = append(names, p.Name)
		svg, err := p.Render("svg")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(bytes.TrimSpace(svg), []byte("<?xml")) || !bytes.Contains(svg, []byte("<svg")) {
			t.Errorf("%s: not an SVG document", p.Name)
		}
		if p.Name == "percentiles-enqueue" && !bytes.Contains(svg, []byte("service time")) {
			t.Errorf("%s: the open-loop run's service-time line is not in the legend", p.Name)
		}
		pngData, err := p.Render("png")
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(pngData))
		if err != nil || img.Bounds().Dx() < 400 {
			t.Errorf("%s: PNG does not decode (%v)", p.Name, err)
		}
	}
	if got := strings.Join(names, " "); got != "percentiles-enqueue percentiles-pickup percentiles-end-to-end throughput" {
		t.Errorf("plots %s", got)
	}
	if plots, _ := Plots(&Result{}); len(plots) != 0 {
		t.Errorf("a result without runs has %d plots", len(plots))
	}
}
