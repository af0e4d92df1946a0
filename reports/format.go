package reports

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// fmtMS formats a latency in milliseconds: two decimals below 10 ms, where the
// hundredths still matter (LAN RTTs), one decimal above, where they are noise.
func fmtMS(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	if math.Abs(v) < 10 {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// fmtRate formats a throughput in jobs/s.
func fmtRate(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// fmtNum formats a plain quantity with no more digits than it has (100, 0.01, 2.5).
func fmtNum(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// fmtRatio formats a model ratio such as round trips per job, which can be small
// (0.01 for batch 100) and must not round to zero.
func fmtRatio(v float64) string {
	if v == 0 {
		return "0"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// fmtPct formats a fraction as a percentage.
func fmtPct(frac float64) string {
	if math.IsNaN(frac) || math.IsInf(frac, 0) {
		return "-"
	}
	return strconv.FormatFloat(frac*100, 'f', 1, 64) + "%"
}

// fmtSeconds formats a duration in seconds with millisecond resolution.
func fmtSeconds(v float64) string {
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// plural returns "1 job" / "2 jobs".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// mdCell escapes what would break a GitHub pipe table cell: a '|' ends the cell and a
// newline ends the row.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\r", "")
	return strings.ReplaceAll(s, "\n", " ")
}
