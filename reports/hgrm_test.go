package reports

import (
	"bufio"
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"
)

type hgrmRow struct {
	value, percentile float64
	count             int64
	hasInverse        bool
}

type hgrm struct {
	header     string
	rows       []hgrmRow
	totalCount int64
	maxValue   float64
}

// parseHgrm reads the text the way HdrHistogram's plotters do: whitespace-separated
// rows after the header, "#[" footer lines.
func parseHgrm(t *testing.T, text string) hgrm {
	t.Helper()
	var out hgrm
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 0; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case n == 0:
			out.header = line
		case line == "":
		case strings.HasPrefix(line, "#[Max"):
			// #[Max     =      101.055, Total count    =         1000]
			f := strings.FieldsFunc(line, func(r rune) bool { return r == '=' || r == ',' || r == ']' })
			v, err1 := strconv.ParseFloat(strings.TrimSpace(f[1]), 64)
			c, err2 := strconv.ParseInt(strings.TrimSpace(f[3]), 10, 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("bad footer %q", line)
			}
			out.maxValue, out.totalCount = v, c
		case strings.HasPrefix(line, "#"):
		default:
			f := strings.Fields(line)
			if len(f) != 3 && len(f) != 4 {
				t.Fatalf("bad row %q", line)
			}
			v, err1 := strconv.ParseFloat(f[0], 64)
			p, err2 := strconv.ParseFloat(f[1], 64)
			c, err3 := strconv.ParseInt(f[2], 10, 64)
			if err1 != nil || err2 != nil || err3 != nil {
				t.Fatalf("bad row %q", line)
			}
			out.rows = append(out.rows, hgrmRow{v, p, c, len(f) == 4})
		}
	}
	return out
}

// rowAt is the first row at or above percentile p (0..1): the value the plotters read.
func (g hgrm) rowAt(t *testing.T, p float64) hgrmRow {
	t.Helper()
	for _, r := range g.rows {
		if r.percentile >= p {
			return r
		}
	}
	t.Fatalf("no row at percentile %v", p)
	return hgrmRow{}
}

func TestWriteHgrm(t *testing.T) {
	h := uniform(t, 100000, 1, 1000) // 100.000 .. 100.999 ms
	var b bytes.Buffer
	if err := WriteHgrm(&b, h, 1000); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	g := parseHgrm(t, text)

	if g.header != "       Value     Percentile TotalCount 1/(1-Percentile)" {
		t.Errorf("header %q", g.header)
	}
	if !strings.HasPrefix(text, g.header+"\n\n") {
		t.Errorf("header not followed by a blank line")
	}
	for _, q := range []float64{50, 99} {
		row := g.rowAt(t, q/100)
		want := float64(h.ValueAtQuantile(q)) / 1000
		// Rows sit on tick percentiles (99.06 rather than 99), so allow the histogram's
		// resolution (3 significant digits) plus the 0.001 ms print rounding.
		if tol := want*2e-3 + 0.001; math.Abs(row.value-want) > tol {
			t.Errorf("p%v row value %v, histogram %v (tolerance %v)", q, row.value, want, tol)
		}
	}
	if g.totalCount != h.TotalCount() {
		t.Errorf("footer total count %d, want %d", g.totalCount, h.TotalCount())
	}
	if want := float64(h.Max()) / 1000; math.Abs(g.maxValue-want) > 0.0005 {
		t.Errorf("footer max %v, want %v", g.maxValue, want)
	}
	last := g.rows[len(g.rows)-1]
	if last.percentile != 1 || last.hasInverse || last.count != h.TotalCount() {
		t.Errorf("last row %+v, want percentile 1, no 1/(1-p) column, count %d", last, h.TotalCount())
	}
	for _, r := range g.rows[:len(g.rows)-1] {
		if !r.hasInverse {
			t.Errorf("row %+v lacks the 1/(1-p) column", r)
		}
	}
	// Exact row format, as Java prints it.
	if !strings.Contains(text, "\n     100.031 0.000000000000         32           1.00\n") {
		t.Errorf("first row not in Java's format:\n%s", text[:200])
	}
	if !strings.Contains(text, "#[Buckets =           22, SubBuckets     =         2048]\n") {
		t.Errorf("bucket footer line missing:\n%s", text)
	}
}

func TestWriteHgrmEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHgrm(&b, NewHistogram(), 1000); err != nil {
		t.Fatal(err)
	}
	g := parseHgrm(t, b.String())
	if len(g.rows) != 0 || g.totalCount != 0 {
		t.Errorf("empty histogram: %d rows, total %d; want none", len(g.rows), g.totalCount)
	}
}

func TestEncodeDecodeHistogram(t *testing.T) {
	h := uniform(t, 100000, 7, 1000)
	s, err := EncodeHistogram(h)
	if err != nil {
		t.Fatal(err)
	}
	d, err := DecodeHistogram(s)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got, want int64) {
		if got != want {
			t.Errorf("%s after round trip: %d, want %d", what, got, want)
		}
	}
	check("total count", d.TotalCount(), h.TotalCount())
	check("p50", d.ValueAtQuantile(50), h.ValueAtQuantile(50))
	check("p99", d.ValueAtQuantile(99), h.ValueAtQuantile(99))
	check("max", d.Max(), h.Max())
}
