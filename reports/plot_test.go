package reports

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot"
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

// svgText is one <text> of a rendered plot: where it starts, how wide it says it is, and
// whether it is rotated (the y axis' title).
type svgText struct {
	s          string
	x, width   float64
	hasWidth   bool
	rotated    bool
	translateX float64
}

// svgTexts reads the viewBox width and every <text> of an SVG plot.
func svgTexts(t *testing.T, svg []byte) (float64, []svgText) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	type group struct {
		dx      float64
		rotated bool
	}
	stack := []group{{}}
	var vbW float64
	var texts []svgText
	var cur *svgText
	attr := func(e xml.StartElement, name string) (string, bool) {
		for _, a := range e.Attr {
			if a.Name.Local == name {
				return a.Value, true
			}
		}
		return "", false
	}
	translate := regexp.MustCompile(`translate\(\s*([-0-9.e]+)`)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			top := stack[len(stack)-1]
			switch e.Name.Local {
			case "svg":
				vb, _ := attr(e, "viewBox")
				f := strings.Fields(vb)
				if len(f) != 4 {
					t.Fatalf("svg viewBox %q", vb)
				}
				vbW, _ = strconv.ParseFloat(f[2], 64)
			case "text":
				x, _ := attr(e, "x")
				cur = &svgText{rotated: top.rotated, translateX: top.dx}
				cur.x, _ = strconv.ParseFloat(x, 64)
				cur.x += top.dx
				if w, ok := attr(e, "textLength"); ok {
					cur.width, _ = strconv.ParseFloat(w, 64)
					cur.hasWidth = true
				}
			}
			g := top
			if tr, ok := attr(e, "transform"); ok && e.Name.Local == "g" {
				if m := translate.FindStringSubmatch(tr); m != nil {
					dx, _ := strconv.ParseFloat(m[1], 64)
					g.dx += dx
				}
				g.rotated = g.rotated || strings.Contains(tr, "rotate")
			}
			stack = append(stack, g)
		case xml.CharData:
			if cur != nil {
				cur.s += string(e)
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
			if e.Name.Local == "text" && cur != nil {
				texts = append(texts, *cur)
				cur = nil
			}
		}
	}
	return vbW, texts
}

// whole says whether s is in texts whole: as one text, or wrapped, as consecutive texts
// that are its words' lines.
func whole(texts []svgText, s string) bool {
	for i := range texts {
		joined := ""
		for _, x := range texts[i:] {
			if joined != "" {
				joined += " "
			}
			joined += x.s
			if joined == s {
				return true
			}
			if !strings.HasPrefix(s, joined+" ") {
				break
			}
		}
	}
	return false
}

func textSet(texts []svgText) map[string]bool {
	m := map[string]bool{}
	for _, x := range texts {
		m[x.s] = true
	}
	return m
}

// longNamesResult has runs named as a sweep over four parameters names them, and one
// over eight: longer than a legend's or an axis' default room.
func longNamesResult(t *testing.T) *Result {
	t.Helper()
	res := testResult(t)
	for i, name := range []string{
		"rtt=1ms batch=1 concurrency=64 poll=tuned",
		"rtt=100ms batch=100 concurrency=64 poll=tuned",
		"rtt=1ms rate=500/s concurrency=2 poll=fixed",
		"rtt=100ms batch=1 concurrency=64 poll=tuned target=faktory topology=edge compression=gzip pool=8",
	} {
		res.Runs[i].Name = name
	}
	return res
}

// Every label of every plot is in the SVG whole (no "…", no cut name): each run's name,
// the legend's entries; an open-loop run's two enqueue lines are told apart by their
// labels, which start with what distinguishes them.
func TestPlotLabelsWhole(t *testing.T) {
	res := longNamesResult(t)
	plots, err := Plots(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plots {
		svg, err := p.Render("svg")
		if err != nil {
			t.Fatal(err)
		}
		if dir := os.Getenv("WFBENCH_PLOT_DIR"); dir != "" { // to look at them
			if err := os.WriteFile(filepath.Join(dir, "long-names-"+p.Name+".svg"), svg, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, texts := svgTexts(t, svg)
		have := textSet(texts)
		for s := range have {
			if strings.Contains(s, "…") {
				t.Errorf("%s: label %q is cut", p.Name, s)
			}
		}
		want := []string{"completed (drain, for burst runs)", "enqueue"}
		if p.Name != "throughput" {
			want = nil
		}
		for _, r := range res.Runs {
			if p.Name == "percentiles-enqueue" && r.Schedule != nil {
				want = append(want, "corrected: "+r.Name, "service time: "+r.Name)
			} else {
				want = append(want, r.Name)
			}
		}
		for _, s := range want {
			if !whole(texts, s) {
				t.Errorf("%s: %q is not in the SVG whole; texts: %q", p.Name, s, slices.Sorted(maps.Keys(have)))
			}
		}
	}
}

// The stall scenario's one open-loop run: its enqueue plot has two lines whose labels say
// which is which (the run's name, the same for both, is not needed in a one-run plot).
func TestPlotOpenLoopLabels(t *testing.T) {
	res := testResult(t)
	res.Runs = res.Runs[2:3]
	res.Runs[0].Name = "rtt=5ms batch=1 concurrency=2 rate=100"
	plots, err := Plots(res)
	if err != nil {
		t.Fatal(err)
	}
	svg, err := plots[0].Render("svg")
	if err != nil {
		t.Fatal(err)
	}
	_, texts := svgTexts(t, svg)
	have := textSet(texts)
	for _, s := range []string{"corrected (from intended start)", "service time (from actual send)"} {
		if !have[s] {
			t.Errorf("%s: no legend entry %q; texts: %q", plots[0].Name, s, slices.Sorted(maps.Keys(have)))
		}
	}
}

// Every text of every plot says its width (textLength: a browser without the layout's font
// draws it that wide, not wider) and fits in the viewBox; no text overlaps the next on the
// same baseline.
func TestPlotTextFits(t *testing.T) {
	for _, res := range []*Result{longNamesResult(t), scenarioResult(t)} {
		plots, err := Plots(res)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range plots {
			svg, err := p.Render("svg")
			if err != nil {
				t.Fatal(err)
			}
			vbW, texts := svgTexts(t, svg)
			for _, x := range texts {
				if x.rotated || x.s == "" {
					continue
				}
				if !x.hasWidth || x.width <= 0 {
					t.Errorf("%s: text %q has no textLength: a fallback font may draw it wider than laid out", p.Name, x.s)
					continue
				}
				if x.x < 0 || x.x+x.width > vbW+0.5 {
					t.Errorf("%s: text %q spans x %.1f..%.1f, outside the viewBox 0..%.1f", p.Name, x.s, x.x, x.x+x.width, vbW)
				}
			}
		}
	}
}

// A log latency axis has labels a reader can use at any range: at least 3, one per decade
// when the range spans decades; the labels are in the SVG.
func TestPlotLogAxisLabels(t *testing.T) {
	res := testResult(t)
	res.Runs = res.Runs[:2]
	withHist(t, &res.Runs[0], PointEndToEnd, uniform(t, 1000, 3000, 1000))   // 1 ms .. 3 s
	withHist(t, &res.Runs[1], PointEndToEnd, uniform(t, 120000, 2400, 1000)) // 120 ms .. 2.5 s
	plots, err := Plots(res)
	if err != nil {
		t.Fatal(err)
	}
	var p *Plot
	for _, q := range plots {
		if q.Name == "percentiles-end-to-end" {
			p = q
		}
	}
	if p == nil {
		t.Fatal("no end-to-end plot")
	}
	if _, ok := p.plot.Y.Scale.(plot.LogScale); !ok {
		t.Fatalf("1 ms .. 3 s on a linear axis")
	}
	// The labels an axis draws: gonum's axis leaves out a tick outside its range.
	labelsOf := func(marker plot.Ticker, lo, hi float64) []string {
		var out []string
		for _, tk := range marker.Ticks(lo, hi) {
			if tk.Label != "" && tk.Value >= lo && tk.Value <= hi {
				out = append(out, tk.Label)
			}
		}
		return out
	}
	labels := func(lo, hi float64) []string { return labelsOf(p.plot.Y.Tick.Marker, lo, hi) }
	svg, err := p.Render("svg")
	if err != nil {
		t.Fatal(err)
	}
	_, texts := svgTexts(t, svg)
	have := textSet(texts)
	got := labels(p.plot.Y.Min, p.plot.Y.Max)
	for _, decade := range []string{"1", "10", "100", "1000"} {
		if !slices.Contains(got, decade) {
			t.Errorf("log axis %g..%g ms: labels %q lack the decade %s", p.plot.Y.Min, p.plot.Y.Max, got, decade)
		}
	}
	for _, l := range got {
		if !have[l] {
			t.Errorf("tick label %q is not in the SVG", l)
		}
	}
	for _, r := range [][2]float64{{1, 3000}, {120, 2500}, {150, 3000}, {90, 130}, {0.001, 10000}, {0.02, 0.9}, {5, 2000}} {
		got := labels(r[0], r[1])
		if len(got) < 3 {
			t.Errorf("log axis %g..%g ms: %d labels %q, want at least 3", r[0], r[1], len(got), got)
		}
		for _, l := range got {
			if len(l) > 6 {
				t.Errorf("log axis %g..%g ms: label %q", r[0], r[1], l)
			}
		}
	}
	// A narrow range is drawn on a linear axis from 0: it has labels too.
	res.Runs = res.Runs[:1]
	for _, pt := range Points {
		withHist(t, &res.Runs[0], pt, uniform(t, 90000, 40, 1000)) // 90 .. 130 ms
	}
	plots, err = Plots(res)
	if err != nil {
		t.Fatal(err)
	}
	y := plots[0].plot.Y
	if got := labelsOf(y.Tick.Marker, y.Min, y.Max); len(got) < 3 {
		t.Errorf("linear axis %g..%g ms: labels %q, want at least 3", y.Min, y.Max, got)
	}
}
