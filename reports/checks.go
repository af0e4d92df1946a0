package reports

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Expectations and estimates, as the terminal and report.md show them.

// Failed counts the expectations that did not hold.
func (res *Result) Failed() int {
	n := 0
	for _, e := range res.Expectations {
		if !e.Pass {
			n++
		}
	}
	return n
}

func passWord(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// expectationLine is "PASS  lost == 0  (measured: worst of 4: 0 (rtt=1ms batch=1))".
func expectationLine(e Expectation) string {
	s := fmt.Sprintf("%s  %s  (measured: %s)", passWord(e.Pass), e.Text, e.Measured)
	if e.Error != "" {
		s += ": " + e.Error
	}
	return s
}

// FormatQuantity formats a measured value in its unit ("9.84 jobs/s", "37.7x", "102 ms"):
// three significant digits or so, whole numbers from 100 on.
func FormatQuantity(v float64, unit string) string {
	var s string
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "-"
	case math.Abs(v) >= 100 || v == math.Trunc(v): // counts stay whole
		s = strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	case v == 0 || math.Abs(v) >= 0.01:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	default:
		s = strconv.FormatFloat(v, 'g', 3, 64)
	}
	switch unit {
	case "":
		return s
	case "x":
		return s + "x"
	}
	return s + " " + unit
}

// estimateValue is "9.8 jobs/s" or "250..500 jobs/s".
func estimateValue(e Estimate) string {
	if e.Low == e.High {
		return FormatQuantity(e.Low, e.Unit)
	}
	return strings.TrimSpace(FormatQuantity(e.Low, "")+".."+FormatQuantity(e.High, "")) + unitSuffix(e.Unit)
}

func unitSuffix(u string) string {
	switch u {
	case "":
		return ""
	case "x":
		return "x"
	}
	return " " + u
}

// estimateVerdict is "agrees", "1.6x the estimate" or "not measured".
func estimateVerdict(e Estimate) string {
	switch {
	case !e.Found:
		return "not measured"
	case e.Agrees:
		return "agrees"
	}
	// Against the nearest end of a range: "2x higher" means twice its high end.
	ref := e.High
	if e.Measured < e.Low {
		ref = e.Low
	}
	if ref == 0 {
		return "differs"
	}
	return "differs: " + times(e.Measured/ref, "higher", "lower")
}

// estimateSentence says where the measurement and the estimate differ, and why.
func estimateSentence(e Estimate) string {
	switch {
	case !e.Found:
		return fmt.Sprintf("%s: the analysis estimated %s; the runs it needs were not measured.", e.Of, estimateValue(e))
	case e.Agrees:
		s := fmt.Sprintf("%s: measured %s, within the analysis' %s.", e.Of, FormatQuantity(e.Measured, e.Unit), estimateValue(e))
		if e.Basis != "" {
			s += " Measured: " + e.Basis + "."
		}
		return s
	}
	s := fmt.Sprintf("%s: measured %s against the analysis' %s (%s).", e.Of, FormatQuantity(e.Measured, e.Unit), estimateValue(e), estimateVerdict(e))
	if e.Why != "" {
		s += " " + e.Why
	}
	if e.Basis != "" {
		s += " Measured: " + e.Basis + "."
	}
	return s
}

// WriteChecks writes the expectations and estimates for the terminal, after the table.
func WriteChecks(w io.Writer, res *Result) error {
	var b strings.Builder
	if len(res.Estimates) > 0 {
		b.WriteString("\nThe analysis' estimates beside the measurement:\n")
		for _, e := range res.Estimates {
			word := "differs"
			switch {
			case !e.Found:
				word = "missing"
			case e.Agrees:
				word = "agrees"
			}
			fmt.Fprintf(&b, "  %-8s %s\n", word, estimateSentence(e))
		}
	}
	if len(res.Expectations) > 0 {
		fmt.Fprintf(&b, "\nExpectations: %d of %d hold%s\n", len(res.Expectations)-res.Failed(), len(res.Expectations), partialNote(res))
		for _, e := range res.Expectations {
			fmt.Fprintf(&b, "  %s\n", expectationLine(e))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (m *mdWriter) scenario(res *Result) {
	if len(res.Estimates) > 0 {
		m.p("## The analysis' estimates beside the measurement\n\n")
		rows := make([][]string, len(res.Estimates))
		for i, e := range res.Estimates {
			measured := "-"
			if e.Found {
				measured = FormatQuantity(e.Measured, e.Unit)
			}
			rows[i] = []string{"`" + e.Of + "`", estimateValue(e), measured, estimateVerdict(e)}
		}
		m.table([]string{"figure", "analysis", "measured", "verdict"}, "lrrl", rows)
		for _, e := range res.Estimates {
			m.p("- %s", estimateSentence(e))
			if e.Says != "" {
				m.p(" (The analysis: \"%s\")", strings.TrimSuffix(e.Says, "."))
			}
			m.p("\n")
		}
		m.p("\n")
	}
	if len(res.Expectations) > 0 {
		m.p("## Expectations: %d of %d hold%s\n\n", len(res.Expectations)-res.Failed(), len(res.Expectations), partialNote(res))
		rows := make([][]string, len(res.Expectations))
		for i, e := range res.Expectations {
			measured := e.Measured
			if e.Error != "" {
				measured += ": " + e.Error
			}
			rows[i] = []string{passWord(e.Pass), "`" + e.Text + "`", measured}
		}
		m.table([]string{"result", "expectation", "measured"}, "lll", rows)
	}
}

// omissionFinding says how much of the latency an open-loop run's service time alone
// would hide (coordinated omission), when it hides much.
func omissionFinding(r *Run) string {
	corr, ok1 := r.LatencyMS[PointEnqueue]
	serv, ok2 := r.LatencyMS[PointService]
	if !ok1 || !ok2 || serv.P99 <= 0 || corr.P99 < 2*serv.P99 || corr.P99-serv.P99 < 10 {
		return ""
	}
	return fmt.Sprintf("%s: coordinated omission. Measured from each call's intended send time, enqueue p99 is %s ms (p99.9 %s ms, max %s ms); "+
		"measured from the actual send (the service time, what a load tool that waits for answers would report) p99 is %s ms: "+
		"the service time alone hides %s of the p99, because the calls held back while the system stalled were not sent, so never timed.",
		r.Name, fmtMS(corr.P99), fmtMS(corr.P999), fmtMS(corr.Max), fmtMS(serv.P99), fmtPct(1-serv.P99/corr.P99))
}

// partialNote marks checks made over an interrupted scenario's runs.
func partialNote(res *Result) string {
	for _, r := range res.Runs {
		if r.Interrupted && r.Ended == "" {
			return " (interrupted: over the runs measured until then, not the whole scenario)"
		}
	}
	return ""
}
