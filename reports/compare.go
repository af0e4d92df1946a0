package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/perf/benchmath"
)

// A comparison of two results: each run of the base matched with the candidate's run of
// the same name (or, failing that, the same configuration; a result of one run against
// another of one run: those two, whatever their settings), and for each metric the
// change, a verdict, and — when both sides have repetitions — whether the change is
// significant (Mann-Whitney U test, as benchstat does) with a confidence interval.

// figure is a metric at a timing point (p99(enqueue)) or alone (lost): a row of compare.
// A threshold may also name a point alone (m nil): its every row.
type figure struct {
	m     *Metric
	point string
}

func (f figure) name() string {
	switch {
	case f.m == nil:
		return f.point
	case f.point == "":
		return f.m.Name
	}
	return f.m.Name + "(" + f.point + ")"
}

// compared are the figures compare reports, in order. Pending appearing is a regression
// too: the candidate did not drain its backlog, and its end-to-end percentiles leave out
// the jobs that waited longest.
var compared = []figure{
	{m: metric("throughput")}, {m: metric("completed_throughput")},
	{metric("p50"), PointEnqueue}, {metric("p99"), PointEnqueue}, {metric("p999"), PointEnqueue},
	{metric("p50"), PointPickup}, {metric("p99"), PointPickup}, {metric("p999"), PointPickup},
	{metric("p50"), PointEndToEnd}, {metric("p99"), PointEndToEnd}, {metric("p999"), PointEndToEnd},
	{m: metric("lost")}, {m: metric("pending")}, {m: metric("failed")}, {m: metric("errors")}, {m: metric("duplicated")},
}

func metric(name string) *Metric {
	m, err := LookupMetric(name)
	if err != nil {
		panic(err) // compare's own list names a metric the catalogue lacks
	}
	return m
}

// CompareMetricNames lists the figures compare reports, as thresholds name them.
func CompareMetricNames() []string {
	var out []string
	for _, f := range compared {
		out = append(out, f.name())
	}
	return out
}

// thresholdNames maps each name a threshold may use to what it names: a figure, in its
// one spelling, its metric's aliases, or compare's older POINT METRIC with a blank, _, .
// or - between them ("enqueue p99", "enqueue_p99.9"); or a timing point alone.
var thresholdNames = func() map[string]figure {
	out := map[string]figure{}
	for _, f := range compared {
		for _, n := range append([]string{f.m.Name}, f.m.Aliases...) {
			if f.point == "" {
				first, _, _ := strings.Cut(n, " ") // "completed", as "completed throughput" began
				out[n], out[first] = f, f
				continue
			}
			out[n+"("+f.point+")"], out[f.point] = f, figure{point: f.point}
			for _, sep := range " _.-" {
				out[f.point+string(sep)+n] = f
			}
		}
	}
	return out
}()

// thresholdOf is what a threshold names; its error lists the names.
func thresholdOf(name string) (figure, error) {
	if f, ok := thresholdNames[strings.TrimSpace(name)]; ok {
		return f, nil
	}
	why := "compare reports no such figure"
	if m, err := LookupMetric(strings.TrimSpace(name)); err == nil && m.Arg == ArgPoint {
		why = fmt.Sprintf("%s needs a timing point, e.g. %s(enqueue)", m.Name, m.Name)
	}
	return figure{}, thresholdHelp(why)
}

func thresholdHelp(why string) error {
	return fmt.Errorf("%s; metrics: %s (or a timing point alone: enqueue, pickup, end_to_end)", why, strings.Join(CompareMetricNames(), ", "))
}

// CompareOptions set what counts as a regression.
type CompareOptions struct {
	// MaxRegression is the largest change for the worse, as a fraction (0.10 = 10%), that
	// is not a regression; 0 means any significant change for the worse is one.
	MaxRegression float64
	// Thresholds override MaxRegression per figure ("p99(enqueue)": 0.2), in any
	// spelling ParseThreshold accepts. A timing point alone names its percentiles:
	// "enqueue" covers p50, p99 and p999 at enqueue.
	Thresholds map[string]float64
	// Alpha is the significance level with repetitions (default 0.05).
	Alpha float64
	// MinDeltaMS: latency changes smaller than this are not changes (a sub-millisecond
	// pickup that moves from 0.02 to 0.12 ms is +500% and nothing).
	MinDeltaMS float64
	// PairInOrder pairs the runs in order when none matches by name or configuration
	// (compare --run: one scenario measured under two settings).
	PairInOrder bool
}

// limit is a figure's regression limit: its own threshold, else its point's, else
// MaxRegression.
func (o CompareOptions) limit(f figure, ths map[figure]float64) float64 {
	for _, t := range []figure{f, {point: f.point}} {
		if v, ok := ths[t]; ok {
			return v
		}
	}
	return o.MaxRegression
}

// OptionError is a compare option that does not parse, or a threshold that names no
// figure compare reports.
type OptionError struct {
	Option string // its flag: "threshold"
	Value  string // as written
	Err    error  // what is wrong, and what is accepted
}

func (e *OptionError) Error() string { return fmt.Sprintf("--%s %q: %v", e.Option, e.Value, e.Err) }
func (e *OptionError) Unwrap() error { return e.Err }

// ParseThreshold reads "METRIC=LIMIT", e.g. "p99(enqueue)=20%" (or compare's older
// "enqueue p99=20%"), into the figure's one name and its limit; an error is an *OptionError.
func ParseThreshold(s string) (string, float64, error) {
	name, limit, ok := strings.Cut(s, "=")
	t, err := thresholdOf(name)
	var v float64
	switch {
	case !ok || name == "":
		err = thresholdHelp(`accepted form is METRIC=LIMIT, e.g. "p99(enqueue)=20%"`)
	case err == nil:
		v, err = parseFraction(limit)
	}
	if err != nil {
		return "", 0, &OptionError{"threshold", s, err}
	}
	return t.name(), v, nil
}

// parseFraction reads "10%" or "0.1" as 0.1.
func parseFraction(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
	if pct {
		v /= 100
	}
	if err != nil || v < 0 || v != v {
		return 0, errors.New("accepted is a percentage or a fraction of 0 or more, e.g. 10% or 0.1")
	}
	if !pct && v > 1 {
		return 0, fmt.Errorf("a fraction above 1 is over 100%%; write the percentage with its sign, e.g. %s%%", t)
	}
	return v, nil
}

// CompareFlags are compare's options as written on its command line.
type CompareFlags struct {
	MaxRegression string   // "10%" or "0.1"
	Thresholds    []string // METRIC=LIMIT; of two for one figure, the last holds
	MinDelta      string   // a duration, e.g. "500us"
	Alpha         float64
}

// Options parses the flags; the error joins one *OptionError per flag that does not.
func (f CompareFlags) Options() (CompareOptions, error) {
	opt := CompareOptions{Alpha: f.Alpha, Thresholds: map[string]float64{}}
	var errs []error
	var err error
	if opt.MaxRegression, err = parseFraction(f.MaxRegression); err != nil {
		errs = append(errs, &OptionError{"max-regression", f.MaxRegression, err})
	}
	d, err := time.ParseDuration(f.MinDelta)
	if opt.MinDeltaMS = float64(d) / 1e6; err != nil || d < 0 {
		errs = append(errs, &OptionError{"min-delta", f.MinDelta, errors.New("accepted is a duration, e.g. 500us or 2ms")})
	}
	for _, t := range f.Thresholds {
		name, v, err := ParseThreshold(t)
		errs = append(errs, err)
		opt.Thresholds[name] = v
	}
	delete(opt.Thresholds, "") // those that did not parse
	if f.Alpha <= 0 || f.Alpha >= 1 {
		errs = append(errs, &OptionError{"alpha", fmt.Sprint(f.Alpha), errors.New("accepted is a significance level between 0 and 1, e.g. 0.05")})
	}
	return opt, errors.Join(errs...)
}

// Verdicts.
const (
	VerdictBetter         = "better"
	VerdictWorse          = "worse"
	VerdictRegression     = "regression"
	VerdictSame           = "no change"
	VerdictNotSignificant = "no significant change"
	VerdictMissing        = "not measured"
	VerdictBelowMinDelta  = "below --min-delta"
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
	// Missing counts base runs the candidate lacks: a failure (a run that could not be
	// measured must not pass the gate).
	Missing int `json:"missing,omitempty"`
	// Warnings: matched runs whose configurations differ (the change may be theirs),
	// interrupted runs, pairing in order.
	Warnings    []string `json:"warnings,omitempty"`
	Regressions int      `json:"regressions"`
	Alpha       float64  `json:"alpha"`
}

// Compare compares candidate against base.
func Compare(base, cand *Result, baseName, candName string, opt CompareOptions) (*Comparison, error) {
	if opt.Alpha == 0 {
		opt.Alpha = 0.05
	}
	ths := map[figure]float64{}
	for name, v := range opt.Thresholds {
		t, err := thresholdOf(name)
		if _, dup := ths[t]; dup && err == nil {
			err = errors.New("given twice, in two spellings")
		}
		if err != nil {
			return nil, &OptionError{"threshold", name, err}
		}
		ths[t] = v
	}
	c := &Comparison{Base: baseName, Candidate: candName, Alpha: opt.Alpha}
	bg, cg := runGroups(base.Runs), runGroups(cand.Runs)
	used := map[*runGroup]bool{}
	pairs := map[*runGroup]*runGroup{}
	for _, b := range bg {
		if o := findGroup(cg, b, used); o != nil {
			pairs[b], used[o] = o, true
		}
	}
	switch {
	case len(pairs) > 0:
	case opt.PairInOrder && len(bg) == len(cg):
		c.Warnings = append(c.Warnings, "no run matches by name or configuration: runs are paired in order")
		for k, b := range bg {
			pairs[b], used[cg[k]] = cg[k], true
		}
	case len(bg) == 1 && len(cg) == 1:
		// One run (with its repetitions) on each side: comparing two configurations is
		// what compare is for, so they are paired whatever their names and settings; the
		// configuration-difference warning below names the settings that differ.
		pairs[bg[0]], used[cg[0]] = cg[0], true
	}
	for _, b := range bg {
		other := pairs[b]
		if other == nil {
			c.Unmatched = append(c.Unmatched, "only in "+baseName+": "+b.name)
			c.Missing++
			continue
		}
		label := b.name
		if other.name != b.name {
			label = b.name + " vs " + other.name
		}
		if diff := configDiff(&b.runs[0].Config, &other.runs[0].Config); diff != "" {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s: the configurations differ (%s): the change may be theirs", label, diff))
		}
		for side, g := range []*runGroup{b, other} {
			for _, r := range g.runs {
				if r.Interrupted {
					c.Warnings = append(c.Warnings, fmt.Sprintf("%s: %s's repetition %d was interrupted: its figures cover only part of the run", label, []string{baseName, candName}[side], max(r.Repetition, 1)))
				}
			}
		}
		for _, f := range compared {
			d := compareOne(b, other, f, opt, opt.limit(f, ths))
			d.Run = label
			c.Deltas = append(c.Deltas, d)
		}
	}
	for _, g := range cg {
		if !used[g] {
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

// GateError is a comparison that fails: regressions beyond the limit, or base runs
// the candidate lacks.
type GateError struct{ Reasons []string }

func (e *GateError) Error() string { return strings.Join(e.Reasons, "; ") }

// Gate is the comparison's verdict: nil when it passes, else a *GateError. allowMissing
// passes base runs the candidate lacks.
func (c *Comparison) Gate(allowMissing bool) error {
	var fails []string
	if c.Regressions > 0 {
		fails = append(fails, fmt.Sprintf("%d regressions beyond the limit", c.Regressions))
	}
	if c.Missing > 0 && !allowMissing {
		fails = append(fails, fmt.Sprintf("%d runs of %s missing from %s (--allow-missing to accept)", c.Missing, c.Base, c.Candidate))
	}
	if len(fails) == 0 {
		return nil
	}
	return &GateError{fails}
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

// findGroup matches by name, else by identical configuration, among groups not used yet.
func findGroup(gs []*runGroup, b *runGroup, used map[*runGroup]bool) *runGroup {
	for _, g := range gs {
		if g.name == b.name && !used[g] {
			return g
		}
	}
	for _, g := range gs {
		if !used[g] && configKey(g.runs[0]) == configKey(b.runs[0]) {
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

func compareOne(b, c *runGroup, f figure, opt CompareOptions, limit float64) MetricDelta {
	m := f.m
	d := MetricDelta{Run: b.name, Metric: f.name(), Unit: m.Unit, Limit: limit}
	bv, cv := values(b, f), values(c, f)
	d.BaseN, d.CandN = len(bv), len(cv)
	switch {
	case len(bv) == 0:
		d.Verdict = VerdictMissing
		return d
	case len(cv) == 0:
		// The base measured it and the candidate did not (nothing accepted, nothing
		// completed): the worst regression there is.
		d.Verdict, d.Note = VerdictRegression, "the candidate did not measure it"
		return d
	}
	if m.Counter {
		worst := slices.Max[[]float64]
		if m.HigherBetter {
			worst = slices.Min[[]float64]
		}
		d.Base, d.Cand = worst(bv), worst(cv)
	} else {
		th := &benchmath.Thresholds{CompareAlpha: opt.Alpha}
		bsum := benchmath.AssumeNothing.Summary(benchmath.NewSample(bv, th), 0.95)
		csum := benchmath.AssumeNothing.Summary(benchmath.NewSample(cv, th), 0.95)
		d.Base, d.Cand = bsum.Center, csum.Center
		d.BaseCI, d.CandCI = finiteCI(bsum), finiteCI(csum)
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
		d.Verdict = VerdictBelowMinDelta
		return d
	case m.Counter:
		// Counts are exact: no test; the worst repetition decides.
	case len(bv) > 1 && len(cv) > 1:
		th := &benchmath.Thresholds{CompareAlpha: opt.Alpha}
		cmp := benchmath.AssumeNothing.Compare(benchmath.NewSample(bv, th), benchmath.NewSample(cv, th))
		p := cmp.P
		d.P = &p
		if minP := uTestMinP(len(bv), len(cv)); minP > opt.Alpha {
			d.Note = fmt.Sprintf("n=%d+%d cannot reach α=%g: the U test's smallest p is %.3f; measure more repetitions", len(bv), len(cv), opt.Alpha, minP)
		}
		if math.IsNaN(p) || p > opt.Alpha {
			d.Verdict = VerdictNotSignificant
			return d
		}
	default:
		d.Note = "single runs: no significance test"
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

// uTestMinP is the smallest two-sided p-value the Mann-Whitney U test can give for
// samples of n1 and n2 values (no ties): 2 / C(n1+n2, n1).
func uTestMinP(n1, n2 int) float64 {
	c := 1.0
	for i := 1; i <= n1; i++ {
		c = c * float64(n2+i) / float64(i)
	}
	return math.Min(1, 2/c)
}

func finiteCI(s benchmath.Summary) []float64 {
	if math.IsInf(s.Lo, 0) || math.IsInf(s.Hi, 0) || math.IsNaN(s.Lo) {
		return nil
	}
	return []float64{s.Lo, s.Hi}
}

func values(g *runGroup, f figure) []float64 {
	var out []float64
	for _, r := range g.runs {
		if v, ok := f.m.Get(r, f.point); ok {
			out = append(out, v)
		}
	}
	return out
}

// FormatDelta is "+12.3%", "-4.0%", "0%", or "from 0" when the base was 0.
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
	s := FormatQuantity(v, unit)
	if len(ci) == 2 && v != 0 {
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
		if !all && d.Verdict == VerdictSame {
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
	missing := ""
	if c.Missing > 0 {
		missing = fmt.Sprintf(" %s of %s missing from %s.", plural(c.Missing, "run"), c.Base, c.Candidate)
	}
	if c.Regressions == 0 {
		return fmt.Sprintf("No regression: %s against %s.%s", c.Candidate, c.Base, missing)
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
	return fmt.Sprintf("%s: %s against %s: %s.%s", plural(c.Regressions, "regression"), c.Candidate, c.Base, strings.Join(names, "; "), missing)
}

// configDiff lists the configuration fields that differ, "jobs 200 → 1000, ...".
func configDiff(a, b *Config) string {
	derived := "worker_slots" // tuned sizes itself
	if len(a.Settings) == 0 || len(b.Settings) == 0 {
		// A result from before settings were recorded: compare the fields both have.
		ca, cb := *a, *b
		ca.Settings, cb.Settings = nil, nil
		a, b, derived = &ca, &cb, "worker_concurrency"
	}
	fa, fb := map[string]string{}, map[string]string{}
	forEachConfigField(a, func(n, v string) { fa[n] = v })
	forEachConfigField(b, func(n, v string) { fb[n] = v })
	var parts []string
	seen := map[string]bool{}
	forEach := func(m map[string]string) {
		for n := range m {
			if seen[n] || n == derived {
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
	fmt.Fprintf(&b, "Base `%s`, candidate `%s`. Medians over repetitions (job counts: the worst repetition); with repetitions on both sides, a change counts only when the Mann-Whitney U test finds it significant at α=%g. A percentage range after a value is its median's 95%% confidence interval (6 repetitions or more).\n\n", c.Base, c.Candidate, c.Alpha)
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
