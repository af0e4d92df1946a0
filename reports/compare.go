package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"golang.org/x/perf/benchmath"
)

// A comparison of two results: each run of the base matched with the candidate's run of
// the same name (or, failing that, the same configuration), and for each metric the
// change, a verdict, and — when both sides have repetitions — whether the change is
// significant (Mann-Whitney U test, as benchstat does) with a confidence interval.

// compareMetric is a figure compared between results.
type compareMetric struct {
	Name         string
	Unit         string
	HigherBetter bool
	get          func(r *Run) (float64, bool)
}

func latencyMetric(point, pct string, f func(Percentiles) float64) compareMetric {
	return compareMetric{Name: point + " " + pct, Unit: "ms", get: func(r *Run) (float64, bool) {
		p, ok := r.LatencyMS[point]
		return f(p), ok && p.Count > 0
	}}
}

// CompareMetrics are the metrics compare reports, in order.
var CompareMetrics = []compareMetric{
	{Name: "throughput", Unit: "jobs/s", HigherBetter: true, get: func(r *Run) (float64, bool) {
		return r.Throughput.EnqueueJobsPerS, r.Jobs.Accepted > 0
	}},
	{Name: "completed throughput", Unit: "jobs/s", HigherBetter: true, get: func(r *Run) (float64, bool) {
		return r.Throughput.CompletedJobsPerS, r.Jobs.Completed > 0
	}},
	latencyMetric(PointEnqueue, "p50", func(p Percentiles) float64 { return p.P50 }),
	latencyMetric(PointEnqueue, "p99", func(p Percentiles) float64 { return p.P99 }),
	latencyMetric(PointEnqueue, "p99.9", func(p Percentiles) float64 { return p.P999 }),
	latencyMetric(PointPickup, "p50", func(p Percentiles) float64 { return p.P50 }),
	latencyMetric(PointPickup, "p99", func(p Percentiles) float64 { return p.P99 }),
	latencyMetric(PointPickup, "p99.9", func(p Percentiles) float64 { return p.P999 }),
	latencyMetric(PointEndToEnd, "p50", func(p Percentiles) float64 { return p.P50 }),
	latencyMetric(PointEndToEnd, "p99", func(p Percentiles) float64 { return p.P99 }),
	latencyMetric(PointEndToEnd, "p99.9", func(p Percentiles) float64 { return p.P999 }),
	{Name: "lost", get: func(r *Run) (float64, bool) { return float64(r.Jobs.Lost), true }},
}

// CompareMetricNames lists the metric names thresholds may name.
func CompareMetricNames() []string {
	var out []string
	for _, m := range CompareMetrics {
		out = append(out, m.Name)
	}
	return out
}

// CompareOptions set what counts as a regression.
type CompareOptions struct {
	// MaxRegression is the largest change for the worse, as a fraction (0.10 = 10%), that
	// is not a regression; 0 means any significant change for the worse is one.
	MaxRegression float64
	// Thresholds override MaxRegression per metric name ("enqueue p99": 0.2). A prefix
	// names several: "enqueue" covers its p50, p99 and p99.9.
	Thresholds map[string]float64
	// Alpha is the significance level with repetitions (default 0.05).
	Alpha float64
	// MinDeltaMS: latency changes smaller than this are not changes (a sub-millisecond
	// pickup that moves from 0.02 to 0.12 ms is +500% and nothing).
	MinDeltaMS float64
}

// Verdicts.
const (
	VerdictBetter        = "better"
	VerdictWorse         = "worse"
	VerdictRegression    = "regression"
	VerdictSame          = "no change"
	VerdictNotSignficant = "no significant change"
	VerdictMissing       = "not measured"
)

// MetricDelta is one metric of one run, base against candidate.
type MetricDelta struct {
	Run    string  `json:"run"`
	Metric string  `json:"metric"`
	Unit   string  `json:"unit,omitempty"`
	Base   float64 `json:"base"`      // median over repetitions
	Cand   float64 `json:"candidate"` // median over repetitions
	// Delta is (candidate − base) / base; ±Inf when base is 0 and the candidate is not.
	Delta   float64   `json:"delta"`
	BaseN   int       `json:"base_n"`
	CandN   int       `json:"candidate_n"`
	BaseCI  []float64 `json:"base_ci,omitempty"` // 95% confidence interval of the median
	CandCI  []float64 `json:"candidate_ci,omitempty"`
	P       *float64  `json:"p,omitempty"` // U-test p-value, with repetitions on both sides
	Verdict string    `json:"verdict"`
	Note    string    `json:"note,omitempty"` // e.g. too few repetitions to tell
	Limit   float64   `json:"limit"`          // the regression threshold applied
}

// Comparison is a whole compare.
type Comparison struct {
	Base      string        `json:"base"`
	Candidate string        `json:"candidate"`
	Deltas    []MetricDelta `json:"deltas"`
	// Unmatched lists runs found on one side only.
	Unmatched []string `json:"unmatched,omitempty"`
	// Warnings: matched runs whose configurations differ (the change may be theirs).
	Warnings    []string `json:"warnings,omitempty"`
	Regressions int      `json:"regressions"`
	Alpha       float64  `json:"alpha"`
}

// Compare compares candidate against base.
func Compare(base, cand *Result, baseName, candName string, opt CompareOptions) (*Comparison, error) {
	if opt.Alpha == 0 {
		opt.Alpha = 0.05
	}
	for name := range opt.Thresholds {
		if !slices.ContainsFunc(CompareMetrics, func(m compareMetric) bool { return strings.HasPrefix(m.Name, name) }) {
			return nil, fmt.Errorf("threshold for %q: no such metric; metrics: %s", name, strings.Join(CompareMetricNames(), ", "))
		}
	}
	c := &Comparison{Base: baseName, Candidate: candName, Alpha: opt.Alpha}
	bg, cg := runGroups(base.Runs), runGroups(cand.Runs)
	// Two sides with the same number of runs none of which match by name or
	// configuration (one scenario measured under two settings) pair up in order.
	byPosition := len(bg) == len(cg) && !slices.ContainsFunc(bg, func(b *runGroup) bool { return findGroup(cg, b) != nil })
	if byPosition {
		c.Warnings = append(c.Warnings, "no run matches by name or configuration: runs are paired in order")
	}
	used := map[string]bool{}
	for k, b := range bg {
		other := findGroup(cg, b)
		if byPosition {
			other = cg[k]
		}
		if other == nil {
			c.Unmatched = append(c.Unmatched, "only in "+baseName+": "+b.name)
			continue
		}
		used[other.name] = true
		label := b.name
		if other.name != b.name {
			label = b.name + " vs " + other.name
		}
		if diff := configDiff(&b.runs[0].Config, &other.runs[0].Config); diff != "" {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s: the configurations differ (%s): the change may be theirs", label, diff))
		}
		for _, m := range CompareMetrics {
			d := compareOne(b, other, m, opt)
			d.Run = label
			c.Deltas = append(c.Deltas, d)
		}
	}
	for _, g := range cg {
		if !used[g.name] {
			c.Unmatched = append(c.Unmatched, "only in "+candName+": "+g.name)
		}
	}
	if len(c.Deltas) == 0 {
		return c, fmt.Errorf("no run of %s matches a run of %s by name or configuration", candName, baseName)
	}
	for _, d := range c.Deltas {
		if d.Verdict == VerdictRegression {
			c.Regressions++
		}
	}
	return c, nil
}

type runGroup struct {
	name string
	runs []*Run
}

func runGroups(runs []Run) []*runGroup {
	var out []*runGroup
	for i := range runs {
		r := &runs[i]
		j := slices.IndexFunc(out, func(g *runGroup) bool { return g.name == r.Name })
		if j < 0 {
			out = append(out, &runGroup{name: r.Name})
			j = len(out) - 1
		}
		out[j].runs = append(out[j].runs, r)
	}
	return out
}

// findGroup matches by name, else by identical configuration.
func findGroup(gs []*runGroup, b *runGroup) *runGroup {
	for _, g := range gs {
		if g.name == b.name {
			return g
		}
	}
	for _, g := range gs {
		if configKey(g.runs[0]) == configKey(b.runs[0]) {
			return g
		}
	}
	return nil
}

func configKey(r *Run) string {
	c := r.Config
	c.WorkerConcurrency = 0 // derived (tuned sizes itself from the measured RTT)
	b, _ := json.Marshal(c)
	return string(b)
}

func (o CompareOptions) limit(metric string) float64 {
	best, lim := -1, o.MaxRegression
	for name, v := range o.Thresholds {
		if strings.HasPrefix(metric, name) && len(name) > best {
			best, lim = len(name), v
		}
	}
	return lim
}

func compareOne(b, c *runGroup, m compareMetric, opt CompareOptions) MetricDelta {
	d := MetricDelta{Run: b.name, Metric: m.Name, Unit: m.Unit, Limit: opt.limit(m.Name)}
	bv, cv := values(b, m), values(c, m)
	d.BaseN, d.CandN = len(bv), len(cv)
	if len(bv) == 0 || len(cv) == 0 {
		d.Verdict = VerdictMissing
		return d
	}
	th := &benchmath.Thresholds{CompareAlpha: opt.Alpha}
	bs, cs := benchmath.NewSample(bv, th), benchmath.NewSample(cv, th)
	bsum, csum := benchmath.AssumeNothing.Summary(bs, 0.95), benchmath.AssumeNothing.Summary(cs, 0.95)
	d.Base, d.Cand = bsum.Center, csum.Center
	if len(bv) > 1 && !math.IsInf(bsum.Lo, 0) && !math.IsInf(bsum.Hi, 0) {
		d.BaseCI = []float64{bsum.Lo, bsum.Hi}
	}
	if len(cv) > 1 && !math.IsInf(csum.Lo, 0) && !math.IsInf(csum.Hi, 0) {
		d.CandCI = []float64{csum.Lo, csum.Hi}
	}
	switch {
	case d.Base == d.Cand:
		d.Delta = 0
	case d.Base == 0:
		d.Delta = math.Inf(1)
		if d.Cand < 0 {
			d.Delta = math.Inf(-1)
		}
	default:
		d.Delta = (d.Cand - d.Base) / math.Abs(d.Base)
	}
	worse := d.Delta > 0 && !m.HigherBetter || d.Delta < 0 && m.HigherBetter
	switch {
	case d.Delta == 0:
		d.Verdict = VerdictSame
		return d
	case m.Unit == "ms" && math.Abs(d.Cand-d.Base) < opt.MinDeltaMS:
		d.Verdict = VerdictNotSignficant
		return d
	case len(bv) > 1 && len(cv) > 1:
		cmp := benchmath.AssumeNothing.Compare(bs, cs)
		p := cmp.P
		d.P = &p
		if len(cmp.Warnings) > 0 {
			d.Note = cmp.Warnings[0].Error()
		}
		if math.IsNaN(p) || p > opt.Alpha {
			d.Verdict = VerdictNotSignficant
			return d
		}
	}
	switch {
	case !worse:
		d.Verdict = VerdictBetter
	case math.Abs(d.Delta) > d.Limit:
		d.Verdict = VerdictRegression
	default:
		d.Verdict = VerdictWorse
	}
	return d
}

func values(g *runGroup, m compareMetric) []float64 {
	var out []float64
	for _, r := range g.runs {
		if v, ok := m.get(r); ok {
			out = append(out, v)
		}
	}
	return out
}

// FormatDelta is "+12.3%", "−4.0%", "0%", or "new" when the base was 0.
func FormatDelta(d float64) string {
	switch {
	case math.IsInf(d, 0):
		return "from 0"
	case d == 0:
		return "0%"
	}
	return fmt.Sprintf("%+.1f%%", d*100)
}

func fmtCompareValue(v float64, ci []float64, unit string) string {
	s := fmtQuantity(v, unit)
	if len(ci) == 2 {
		lo, hi := 0.0, 0.0
		if v != 0 {
			lo, hi = (ci[0]-v)/math.Abs(v)*100, (ci[1]-v)/math.Abs(v)*100
		}
		s += fmt.Sprintf(" (%.0f%%..%+.0f%%)", lo, hi)
	}
	return s
}

// rows renders the deltas: only the interesting ones unless all is set.
func (c *Comparison) rows(all bool) [][]string {
	var rows [][]string
	for _, d := range c.Deltas {
		if !all && (d.Verdict == VerdictSame || d.Verdict == VerdictMissing) {
			continue
		}
		p := "-"
		if d.P != nil {
			p = fmt.Sprintf("p=%.3f n=%d+%d", *d.P, d.BaseN, d.CandN)
		}
		verdict := d.Verdict
		if d.Verdict == VerdictRegression {
			verdict = fmt.Sprintf("REGRESSION (limit %s)", fmtPct(d.Limit))
		}
		if d.Note != "" {
			verdict += " (" + d.Note + ")"
		}
		rows = append(rows, []string{d.Run, d.Metric, fmtCompareValue(d.Base, d.BaseCI, d.Unit), fmtCompareValue(d.Cand, d.CandCI, d.Unit), FormatDelta(d.Delta), p, verdict})
	}
	return rows
}

var compareHeader = []string{"run", "metric", "base", "candidate", "delta", "significance", "verdict"}

func (c *Comparison) headline() string {
	if c.Regressions == 0 {
		return fmt.Sprintf("No regression: %s against %s.", c.Candidate, c.Base)
	}
	var names []string
	for _, d := range c.Deltas {
		if d.Verdict == VerdictRegression {
			names = append(names, fmt.Sprintf("%s %s %s", d.Run, d.Metric, FormatDelta(d.Delta)))
		}
	}
	if len(names) > 6 {
		names = append(names[:6], fmt.Sprintf("and %d more", len(names)-6))
	}
	return fmt.Sprintf("%s: %s against %s: %s.", plural(c.Regressions, "regression"), c.Candidate, c.Base, strings.Join(names, "; "))
}

// configDiff lists the configuration fields that differ, "jobs 200 → 1000, ...".
func configDiff(a, b *Config) string {
	fa, fb := map[string]string{}, map[string]string{}
	forEachConfigField(a, func(n, v string) { fa[n] = v })
	forEachConfigField(b, func(n, v string) { fb[n] = v })
	var parts []string
	seen := map[string]bool{}
	forEach := func(m map[string]string) {
		for n := range m {
			if seen[n] || n == "worker_concurrency" { // derived: tuned sizes itself
				continue
			}
			seen[n] = true
			if fa[n] != fb[n] {
				parts = append(parts, fmt.Sprintf("%s %s → %s", n, orDash(fa[n]), orDash(fb[n])))
			}
		}
	}
	forEach(fa)
	forEach(fb)
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteCompareMarkdown writes the comparison as GitHub markdown (for a pull request or
// $GITHUB_STEP_SUMMARY).
func WriteCompareMarkdown(w io.Writer, c *Comparison) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## wfbench compare\n\n**%s**\n\n", c.headline())
	fmt.Fprintf(&b, "Base `%s`, candidate `%s`. Medians over repetitions; with repetitions on both sides, a change counts only when the Mann-Whitney U test finds it significant at α=%g (the interval is the median's 95%% confidence interval).\n\n", c.Base, c.Candidate, c.Alpha)
	rows := c.rows(false)
	if len(rows) == 0 {
		b.WriteString("Every metric is the same on both sides.\n\n")
	} else {
		b.WriteString(mdTable(compareHeader, "llrrrll", rows))
	}
	for _, u := range append(slices.Clone(c.Warnings), c.Unmatched...) {
		fmt.Fprintf(&b, "- %s\n", u)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteCompareText writes the comparison for a terminal.
func WriteCompareText(w io.Writer, c *Comparison) error {
	var b strings.Builder
	fmt.Fprintln(&b, c.headline())
	rows := c.rows(false)
	if len(rows) == 0 {
		b.WriteString("Every metric is the same on both sides.\n")
	}
	widths := make([]int, len(compareHeader))
	for _, r := range append([][]string{compareHeader}, rows...) {
		for i, cell := range r {
			widths[i] = max(widths[i], len([]rune(cell)))
		}
	}
	for k, r := range append([][]string{compareHeader}, rows...) {
		if k == 0 && len(rows) == 0 {
			continue
		}
		var line strings.Builder
		for i, cell := range r {
			fmt.Fprintf(&line, "%-*s  ", widths[i], cell)
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	for _, u := range append(slices.Clone(c.Warnings), c.Unmatched...) {
		fmt.Fprintf(&b, "%s\n", u)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteCompareJSON writes the comparison as JSON.
func WriteCompareJSON(w io.Writer, c *Comparison) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(jsonSafe(c))
}

// jsonSafe replaces infinite deltas (a base of 0), which JSON cannot hold, by ±1e308.
func jsonSafe(c *Comparison) *Comparison {
	out := *c
	out.Deltas = slices.Clone(c.Deltas)
	for i := range out.Deltas {
		if d := out.Deltas[i].Delta; math.IsInf(d, 0) {
			out.Deltas[i].Delta = math.Copysign(math.MaxFloat64, d)
		}
	}
	return &out
}
