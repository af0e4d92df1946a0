package reports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// hgrmTicksPerHalfDistance is the resolution HdrHistogram's own tools use by default.
const hgrmTicksPerHalfDistance = 5

// WriteHgrm writes h as HdrHistogram's standard percentile distribution (the .hgrm text
// of Java's outputPercentileDistribution), values divided by unitScale (1000: µs -> ms),
// so the existing HdrHistogram plotters read it.
//
// hdrhistogram-go's PercentilesPrint is close but not that format (tab-separated header,
// 6-decimal percentiles, "inf" on the 100% line), which the plotters' parsers reject or
// misread; the rows are therefore formatted here from the library's own percentile
// iterator, which steps exactly as Java's does.
func WriteHgrm(w io.Writer, h *hdrhistogram.Histogram, unitScale float64) error {
	if h == nil {
		return errors.New("write hgrm: nil histogram")
	}
	if unitScale <= 0 {
		return fmt.Errorf("write hgrm: unit scale %v, want > 0", unitScale)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)")
	// Java prints no rows for an empty histogram; the Go iterator would still yield
	// one 100% row.
	if h.TotalCount() > 0 {
		for _, br := range h.CumulativeDistributionWithTicks(hgrmTicksPerHalfDistance) {
			p := br.Quantile / 100
			v := float64(br.ValueAt) / unitScale
			if br.Quantile == 100 {
				// As Java: 1/(1-p) is infinite on the last line, so that column is left off.
				fmt.Fprintf(&b, "%12.3f %2.12f %10d\n", v, p, br.Count)
				continue
			}
			fmt.Fprintf(&b, "%12.3f %2.12f %10d %14.2f\n", v, p, br.Count, 1/(1-p))
		}
	}
	footer, err := hgrmFooter(h, unitScale)
	if err != nil {
		return err
	}
	b.WriteString(footer)
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write hgrm: %w", err)
	}
	return nil
}

// hgrmFooter returns the three "#[...]" lines. PercentilesPrint formats them exactly as
// Java does (for 3 significant digits), and it is the only way to read the histogram's
// bucket and sub-bucket counts, which the library does not export.
func hgrmFooter(h *hdrhistogram.Histogram, unitScale float64) (string, error) {
	var lib bytes.Buffer
	if _, err := h.PercentilesPrint(&lib, hgrmTicksPerHalfDistance, unitScale); err != nil {
		return "", fmt.Errorf("write hgrm footer: %w", err)
	}
	var footer strings.Builder
	for _, line := range strings.SplitAfter(lib.String(), "\n") {
		if strings.HasPrefix(line, "#[") {
			footer.WriteString(line)
		}
	}
	if strings.Count(footer.String(), "\n") != 3 {
		return "", errors.New("write hgrm footer: unexpected PercentilesPrint output")
	}
	return footer.String(), nil
}
