package reports

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"
)

// WriteMarkdown writes report.md: summary, one section per run (configuration, links,
// job accounting, percentiles, model vs measured, notes) and findings in plain words.
// Every sentence is generated from the result's numbers, so the report can be diffed
// between runs and trusted as much as result.json.
//
// plots, when given, are referenced as PNG files beside report.md (NAME.png).
func WriteMarkdown(w io.Writer, res *Result, plots ...*Plot) error {
	if res == nil {
		return errors.New("write markdown: nil result")
	}
	// A bufio.Writer keeps its first error, so the many small writes below need no
	// checks of their own; Flush reports it.
	res = mdSafe(res)
	bw := bufio.NewWriter(w)
	m := &mdWriter{w: bw}
	m.header(res)
	m.summary(res)
	var shared []*Plot
	perRun := map[int]*Plot{}
	for _, p := range plots {
		if i := p.RunIndex(); i >= 0 {
			perRun[i] = p
		} else {
			shared = append(shared, p)
		}
	}
	m.plots(shared)
	m.scenario(res)
	for i := range res.Runs {
		m.run(&res.Runs[i], perRun[i])
	}
	m.findings(res)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write markdown: %w", err)
	}
	return nil
}

type mdWriter struct{ w *bufio.Writer }

// mdEscaper escapes what would turn text into markup: an image or link (the HTML report
// must fetch nothing), raw HTML, emphasis, a code span.
var mdEscaper = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`, "!", `\!`)

// mdSafe returns a copy of res whose free text (run names and notes, which come from
// scenario files, and the scenario's own texts) is escaped for markdown; text shown in
// code spans loses its backticks instead.
func mdSafe(res *Result) *Result {
	out := *res
	esc := mdEscaper.Replace
	code := func(s string) string { return strings.ReplaceAll(s, "`", "'") }
	if sc := res.Scenario; sc != nil {
		c := *sc
		c.Name, c.Description, c.Source = esc(c.Name), esc(c.Description), esc(c.Source)
		out.Scenario = &c
	}
	out.Runs = make([]Run, len(res.Runs))
	for i, r := range res.Runs {
		r.Name = esc(r.Name)
		r.Notes = make([]string, len(res.Runs[i].Notes))
		for j, n := range res.Runs[i].Notes {
			r.Notes[j] = esc(n)
		}
		r.Phases = slices.Clone(r.Phases)
		for j := range r.Phases {
			r.Phases[j].Condition, r.Phases[j].Error = esc(r.Phases[j].Condition), esc(r.Phases[j].Error)
		}
		out.Runs[i] = r
	}
	out.Estimates = slices.Clone(res.Estimates)
	for i := range out.Estimates {
		e := &out.Estimates[i]
		e.Of, e.Says, e.Why, e.Basis = code(e.Of), esc(e.Says), esc(e.Why), esc(e.Basis)
	}
	out.Expectations = slices.Clone(res.Expectations)
	for i := range out.Expectations {
		e := &out.Expectations[i]
		e.Text, e.Measured, e.Error = code(e.Text), esc(e.Measured), esc(e.Error)
	}
	return &out
}

func (m *mdWriter) p(format string, args ...any) { fmt.Fprintf(m.w, format, args...) }

// table writes a GitHub pipe table; align holds one of "l", "r" per column.
func (m *mdWriter) table(header []string, align string, rows [][]string) {
	m.p("%s", mdTable(header, align, rows))
}

// mdTable formats a GitHub pipe table, followed by a blank line.
func mdTable(header []string, align string, rows [][]string) string {
	var b strings.Builder
	b.WriteString("|")
	for _, h := range header {
		fmt.Fprintf(&b, " %s |", mdCell(h))
	}
	b.WriteString("\n|")
	for i := range header {
		if i < len(align) && align[i] == 'r' {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for _, row := range rows {
		b.WriteString("|")
		for _, c := range row {
			fmt.Fprintf(&b, " %s |", mdCell(c))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	return b.String()
}

func (m *mdWriter) header(res *Result) {
	if sc := res.Scenario; sc != nil {
		m.p("# wfbench report: scenario %s\n\n", sc.Name)
		if sc.Description != "" {
			m.p("%s\n\n", strings.TrimSpace(sc.Description))
		}
		var how []string
		if sc.Source != "" {
			how = append(how, "from "+sc.Source)
		}
		if sc.Quick {
			how = append(how, "quick (its CI-sized override)")
		}
		if sc.Count > 1 {
			how = append(how, fmt.Sprintf("each run measured %d times, in rounds", sc.Count))
		}
		if len(how) > 0 {
			m.p("- Scenario: %s\n", strings.Join(how, "; "))
		}
	} else {
		m.p("# wfbench report\n\n")
	}
	m.p("- Started: %s\n", res.StartedAt.UTC().Format(time.RFC3339))
	m.p("- Environment: %s\n", environmentLine(&res.Environment))
	if p := res.Process; p != nil {
		m.p("- wfbench's own use: peak RSS %s MB, CPU %s s user + %s s system\n", fmtRate(p.PeakRSSMB), fmtRate(p.CPUUserS), fmtRate(p.CPUSysS))
	}
	if res.ToolVersion != "" {
		m.p("- Tool: wfbench %s (%s)\n", res.ToolVersion, res.Schema)
	}
	m.p("\n")
}

// environmentLine is the one-line description of the machine: what a reader needs to
// judge whether two reports are comparable.
func environmentLine(e *Environment) string {
	osArch := e.OS
	if e.Arch != "" {
		osArch += "/" + e.Arch
	}
	parts := []string{osArch, plural(e.CPUs, "CPU"), e.Go}
	if e.Hostname != "" {
		parts = append(parts, "host "+e.Hostname)
	}
	if e.Faktory != "" {
		parts = append(parts, "Faktory "+e.Faktory)
	}
	if e.Redis != "" {
		parts = append(parts, "Redis "+e.Redis)
	}
	return strings.Join(parts, ", ")
}

func (m *mdWriter) summary(res *Result) {
	m.p("## Summary\n\n")
	rows := make([][]string, len(res.Runs))
	for i := range res.Runs {
		rows[i] = summaryRow(&res.Runs[i])
	}
	m.table(summaryHeader(false), "lrrrrrrrrrr", rows)
	var warned bool
	for i := range res.Runs {
		if line := warningLine(&res.Runs[i]); line != "" {
			m.p("- **%s**\n", line)
			warned = true
		}
	}
	if warned {
		m.p("\n")
	}
}

func (m *mdWriter) plots(plots []*Plot) {
	if len(plots) == 0 {
		return
	}
	m.p("## Plots\n\n")
	for _, p := range plots {
		m.p("![%s](%s.png)\n\n", p.Title, p.Name)
	}
}

func (m *mdWriter) run(r *Run, overTime *Plot) {
	if r.Repetition > 0 {
		m.p("## Run: %s (repetition %d)\n\n", r.Name, r.Repetition)
	} else {
		m.p("## Run: %s\n\n", r.Name)
	}
	switch {
	case r.Ended == EndedRedisKill:
		m.p("**Ended by its own phase, which killed redis-server: the figures below cover the run until then, and the jobs Redis held (without persistence) are lost.**\n\n")
	case r.Interrupted:
		m.p("**Interrupted before it finished: the figures below cover only what was measured until then.**\n\n")
	}

	m.p("### Configuration\n\n%s\n\n", configLine(&r.Config))

	m.links(r)
	if d := r.DelayLine; d != nil {
		m.p("The links' delay line delivered %d times during the run, late by p50 %s ms and p99 %s ms beyond the configured delay (its own error, included in every figure above).\n\n",
			d.Deliveries, fmtMS(d.LatenessP50MS), fmtMS(d.LatenessP99MS))
	}
	if len(r.Phases) > 0 {
		m.p("### Phases\n\n")
		rows := make([][]string, len(r.Phases))
		for i, ph := range r.Phases {
			at := func(p *float64) string {
				if p == nil {
					return "-"
				}
				return fmtSeconds(*p)
			}
			rows[i] = []string{ph.Link, ph.Condition, fmtNum(ph.AtS), fmtNum(ph.ForS), at(ph.AppliedAtS), at(ph.LiftedAtS), ph.Error}
		}
		m.table([]string{"link", "condition", "at s", "for s", "applied at s", "lifted at s", "error"}, "llrrrrl", rows)
	}

	m.p("### Jobs\n\n")
	j := r.Jobs
	heads := []string{"requested", "accepted", "completed", "failed", "pending", "lost", "duplicated", "errors"}
	row := []string{fmt.Sprint(j.Requested), fmt.Sprint(j.Accepted), fmt.Sprint(j.Completed), fmt.Sprint(j.Failed),
		fmt.Sprint(j.Pending), fmt.Sprint(j.Lost), fmt.Sprint(j.Duplicated), fmt.Sprint(j.Errors)}
	if j.Unreported > 0 { // a worker host killed with reports in flight: done, not timed
		heads = slices.Insert(heads, 5, "unreported")
		row = slices.Insert(row, 5, fmt.Sprint(j.Unreported))
	}
	m.table(heads, strings.Repeat("r", len(heads)), [][]string{row})

	m.p("### Latency (ms)\n\n")
	points := append([]string(nil), Points...)
	if _, ok := r.LatencyMS[PointService]; ok {
		points = append(points, PointService)
	}
	var rows [][]string
	for _, pt := range points {
		pc, ok := r.LatencyMS[pt]
		if !ok {
			rows = append(rows, []string{pt, "-", "-", "-", "-", "-", "-", "-", "-"})
			continue
		}
		rows = append(rows, []string{pt, fmt.Sprint(pc.Count), fmtMS(pc.Min), fmtMS(pc.Mean), fmtMS(pc.P50),
			fmtMS(pc.P90), fmtMS(pc.P99), fmtMS(pc.P999), fmtMS(pc.Max)})
	}
	m.table([]string{"point", "count", "min", "mean", "p50", "p90", "p99", "p99.9", "max"}, "lrrrrrrrr", rows)

	if s := r.Schedule; s != nil {
		m.p("Open loop at %s jobs/s: %d of %d intended calls sent; schedule lag max %s ms, mean %s ms.\n",
			fmtNum(r.Config.RatePerS), s.SentCalls, s.IntendedCalls, fmtMS(s.MaxLagMS), fmtMS(s.MeanLagMS))
		m.p("Enqueue latency is measured from the intended send time (coordinated-omission corrected); "+
			"%s is the plain service time, from the actual send.\n\n", PointService)
	}

	m.model(r)
	m.overTime(r, overTime)

	if len(r.Notes) > 0 {
		m.p("### Notes\n\n")
		for _, n := range r.Notes {
			m.p("- %s\n", strings.ReplaceAll(n, "\n", " "))
		}
		m.p("\n")
	}
}

// overTime shows the run's plot over time and says what its time series holds.
func (m *mdWriter) overTime(r *Run, p *Plot) {
	iv := r.Intervals
	if iv == nil || len(iv.Series) == 0 {
		return
	}
	m.p("### Over time\n\n")
	if p != nil {
		m.p("![%s](%s.png)\n\n", p.Title, p.Name)
	}
	peak := struct {
		at, p99 float64
		found   bool
	}{}
	for _, s := range iv.Series {
		if l, ok := s.LatencyMS[PointEnqueue]; ok && l.Count > 0 && (!peak.found || l.P99 > peak.p99) {
			peak.at, peak.p99, peak.found = s.StartS, l.P99, true
		}
	}
	m.p("%d intervals of %s s from the start of the load to the end of the run", len(iv.Series), fmtNum(iv.IntervalS))
	if peak.found {
		m.p("; the highest enqueue p99 of an interval, %s ms, was at %s s", fmtMS(peak.p99), fmtNum(round3(peak.at)))
	}
	m.p(".")
	if len(r.Hlogs) > 0 {
		var files []string
		for _, pt := range histogramPoints(r.Hlogs) {
			files = append(files, "`"+strings.ReplaceAll(r.Hlogs[pt], "`", "'")+"`")
		}
		m.p(" Each interval's full histograms are in HdrHistogram interval logs (HistogramLogReader, HistogramLogAnalyzer): %s.", strings.Join(files, ", "))
	}
	m.p("\n\n")
}

func (m *mdWriter) model(r *Run) {
	md := r.Model
	floorRate := "-"
	if md.FloorJobsPerS > 0 {
		floorRate = fmtRate(md.FloorJobsPerS)
	}
	measRTT := "-"
	if md.MeasuredEnqueueRTTMS > 0 {
		measRTT = fmtMS(md.MeasuredEnqueueRTTMS)
	}
	m.p("### Model vs measured\n\n")
	rows := [][]string{
		{"round trips per job", fmtRatio(md.RoundTripsPerJob), ""},
		{"enqueue RTT (ms)", confRTT(r), measRTT},
		{"enqueue duration (s)", fmtSeconds(md.NetworkFloorS), fmtSeconds(r.DurationS.Enqueue)},
		{"enqueue throughput (jobs/s)", floorRate, fmtRate(r.Throughput.EnqueueJobsPerS)},
		{"efficiency (floor / measured duration)", "", efficiency(r)},
	}
	if md.WorkerRoundTripsPerJob > 0 {
		workerRate := fmtRate(r.Throughput.CompletedJobsPerS)
		if r.Throughput.DrainJobsPerS > 0 {
			workerRate = fmtRate(r.Throughput.DrainJobsPerS) + " (drain)"
		}
		workerFloor := "-"
		if md.WorkerFloorJobsPerS > 0 {
			workerFloor = fmtRate(md.WorkerFloorJobsPerS)
		}
		rows = append(rows,
			[]string{fmt.Sprintf("worker round trips per job (%s, %d slots)", r.Config.Poll, r.Config.WorkerConcurrency), fmtRatio(md.WorkerRoundTripsPerJob), ""},
			[]string{"worker completion rate (jobs/s)", workerFloor, workerRate})
	}
	m.table([]string{"", "network floor (model)", "measured"}, "lrr", rows)
	if md.BeatsFloor {
		m.p("**Warning: faster than the network floor: a measurement error, not a win.**\n\n")
	}
}

// bytesPerJob is a link's traffic both ways per accepted job.
func bytesPerJob(l Link, accepted int) string {
	if accepted == 0 || l.BytesUp+l.BytesDown == 0 {
		return "-"
	}
	return fmtNum(math.Round(float64(l.BytesUp+l.BytesDown)/float64(accepted)*10) / 10)
}

// enqueueRTT is the RTT one enqueue call pays: the model's figure (sum of the links
// crossed) when set, else the configured RTT.
func enqueueRTT(r *Run) float64 {
	if remoteAPI(r) {
		return 0 // the running API's own path: nothing configured
	}
	if r.Model.EnqueueRTTMS > 0 {
		return r.Model.EnqueueRTTMS
	}
	return r.Config.RTTMS
}

// remoteAPI says the run sent to a running API (--api-url): its client-api link is
// that API's real path, measured, not emulated.
func remoteAPI(r *Run) bool {
	for _, l := range r.Links {
		if l.Name == "client-api" && l.Remote {
			return true
		}
	}
	return false
}

// confRTT is the configured enqueue RTT as the tables show it: "real" for a running
// API's path, which nothing configured.
func confRTT(r *Run) string {
	if remoteAPI(r) {
		return "real"
	}
	return fmtMS(enqueueRTT(r))
}

// deviation is how far a link's measured RTT is from its configured one; "-" with no
// configured RTT, where a percentage has no base.
func deviation(l Link) string {
	if l.ConfiguredRTTMS <= 0 {
		return "-"
	}
	return fmt.Sprintf("%+.1f%%", (l.MeasuredRTTMS-l.ConfiguredRTTMS)/l.ConfiguredRTTMS*100)
}

// configLine lists every non-zero Config field by its JSON name. It walks the struct so
// fields added to the contract later show up without touching this writer.
func configLine(c *Config) string {
	var parts []string
	forEachConfigField(c, func(name, value string) {
		parts = append(parts, "`"+name+"="+value+"`")
	})
	if len(parts) == 0 {
		return "(defaults)"
	}
	return strings.Join(parts, " · ")
}

// forEachConfigField calls fn with the JSON name and formatted value of every non-zero
// field of c, in declaration order.
// A result that records every setting (config.settings) is listed by its settings
// (given or default, zero ones left out), then the fields derived from them.
func forEachConfigField(c *Config, fn func(name, value string)) {
	if len(c.Settings) > 0 {
		for _, k := range slices.Sorted(maps.Keys(c.Settings)) {
			if v := c.Settings[k]; v != "" && v != "0" && v != "0ms" && v != "false" {
				fn(k, v)
			}
		}
		if c.AckMode != "" {
			fn("ack_mode", c.AckMode)
		}
		if c.WorkerConcurrency > 0 {
			fn("worker_slots", fmt.Sprint(c.WorkerConcurrency))
		}
		return
	}
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := v.Field(i)
		if f.IsZero() || !t.Field(i).IsExported() {
			continue
		}
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			name = t.Field(i).Name
		}
		var s string
		switch f.Kind() {
		case reflect.Float32, reflect.Float64:
			s = fmtNum(f.Float())
		default:
			s = fmt.Sprint(f.Interface())
		}
		fn(name, s)
	}
}

func (m *mdWriter) findings(res *Result) {
	m.p("## Findings\n\n")
	if len(res.Runs) == 0 {
		m.p("No runs.\n")
		return
	}
	for i := range res.Runs {
		m.p("- %s\n", runFinding(&res.Runs[i]))
		if f := omissionFinding(&res.Runs[i]); f != "" {
			m.p("- %s\n", f)
		}
	}
	for _, c := range comparisons(res.Runs) {
		m.p("- %s\n", c)
	}
}

// runFinding states what one enqueue call cost at the run's RTT, in milliseconds and in
// round trips, and how many jobs each round trip carried.
func runFinding(r *Run) string {
	var b strings.Builder
	enq, ok := r.LatencyMS[PointEnqueue]
	rtt := enqueueRTT(r)
	switch {
	case !ok || enq.Count == 0:
		fmt.Fprintf(&b, "%s: no enqueue call was measured", r.Name)
	case rtt > 0:
		fmt.Fprintf(&b, "%s: at %s ms enqueue RTT, one enqueue call costs %s ms (p50; %.2f round trips of %s ms)",
			r.Name, fmtNum(rtt), fmtMS(enq.P50), enq.P50/rtt, fmtNum(rtt))
	default:
		fmt.Fprintf(&b, "%s: with no added RTT, one enqueue call costs %s ms (p50)", r.Name, fmtMS(enq.P50))
	}
	if batch := r.Config.Batch; batch > 0 {
		perRT := float64(batch)
		if r.Model.RoundTripsPerJob > 0 {
			perRT = 1 / r.Model.RoundTripsPerJob
		}
		fmt.Fprintf(&b, "; batch %d moves %s per round trip", batch, jobsWord(perRT))
	}
	b.WriteString(".")
	if w := runWarnings(r); len(w) > 0 {
		fmt.Fprintf(&b, " Caution: %s.", strings.Join(w, "; "))
	}
	return b.String()
}

func jobsWord(n float64) string {
	if n == 1 {
		return "1 job"
	}
	return fmtRatio(n) + " jobs"
}

// comparisons states the ratio between every pair of runs whose configurations differ
// in exactly one setting: the only pairs where the ratio is attributable to that
// setting (e.g. "100 ms single is 34x slower than 1 ms single").
func comparisons(all []Run) []string {
	var out []string
	// Repetitions of a configuration compare alike: the first of each stands for it.
	var runs []Run
	for _, r := range all {
		if r.Repetition <= 1 {
			runs = append(runs, r)
		}
	}
	for i := range runs {
		for j := i + 1; j < len(runs); j++ {
			a, b := &runs[i], &runs[j]
			field, av, bv, ok := runDifference(a, b)
			if !ok {
				continue
			}
			ea, okA := a.LatencyMS[PointEnqueue]
			eb, okB := b.LatencyMS[PointEnqueue]
			var parts []string
			if okA && okB && ea.P50 > 0 && eb.P50 > 0 {
				parts = append(parts, fmt.Sprintf("enqueue p50 %s ms vs %s ms (%s)", fmtMS(eb.P50), fmtMS(ea.P50), times(eb.P50/ea.P50, "higher", "lower")))
			}
			ta, tb := a.Throughput.EnqueueJobsPerS, b.Throughput.EnqueueJobsPerS
			if ta > 0 && tb > 0 {
				parts = append(parts, fmt.Sprintf("enqueue throughput %s vs %s jobs/s (%s)", fmtRate(tb), fmtRate(ta), times(tb/ta, "higher", "lower")))
			}
			if da, db := a.Throughput.DrainJobsPerS, b.Throughput.DrainJobsPerS; da > 0 && db > 0 {
				parts = append(parts, fmt.Sprintf("drain throughput %s vs %s jobs/s (%s)", fmtRate(db), fmtRate(da), times(db/da, "higher", "lower")))
			}
			pa, okA := a.LatencyMS[PointPickup]
			pb, okB := b.LatencyMS[PointPickup]
			if okA && okB && pa.P50 > 0 && pb.P50 > 0 && a.Throughput.DrainJobsPerS == 0 {
				parts = append(parts, fmt.Sprintf("pickup p50 %s ms vs %s ms (%s)", fmtMS(pb.P50), fmtMS(pa.P50), times(pb.P50/pa.P50, "higher", "lower")))
			}
			if len(parts) == 0 {
				continue
			}
			out = append(out, fmt.Sprintf("%s vs %s (only %s differs: %s vs %s): %s.",
				b.Name, a.Name, field, bv, av, strings.Join(parts, "; ")))
		}
	}
	return out
}

// times formats a ratio as "63x higher" / "112x lower": a ratio below 1 is inverted,
// since "0.01x" hides the size of the difference.
func times(r float64, up, down string) string {
	word := up
	if r < 1 {
		r, word = 1/r, down
	}
	if r < 1.005 {
		return "about the same"
	}
	if r >= 10 {
		return fmt.Sprintf("%.0fx %s", r, word)
	}
	return fmt.Sprintf("%.2fx %s", r, word)
}

// runDifference is the one setting two runs differ in: by their scenario parameters
// when both have them (the settings the scenario varies; derived ones such as tuned's
// slot count or its ACK mode follow from those), else by their configurations.
func runDifference(a, b *Run) (field, av, bv string, ok bool) {
	if len(a.Params) == 0 || len(b.Params) == 0 {
		return singleDifference(&a.Config, &b.Config)
	}
	n := 0
	for k := range a.Params {
		if _, shared := b.Params[k]; !shared {
			return "", "", "", false
		}
	}
	for k, v := range a.Params {
		if b.Params[k] != v {
			n++
			field, av, bv = k, v, b.Params[k]
		}
	}
	return field, av, bv, n == 1 && len(a.Params) == len(b.Params)
}

// singleDifference reports the one Config field where a and b differ, with both values
// formatted, or ok=false when they differ in none or in several.
func singleDifference(a, b *Config) (field, av, bv string, ok bool) {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	t := va.Type()
	n := 0
	for i := 0; i < t.NumField(); i++ {
		if !t.Field(i).IsExported() || reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			continue
		}
		n++
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		field = name
		av, bv = fieldString(va.Field(i)), fieldString(vb.Field(i))
	}
	return field, av, bv, n == 1
}

func fieldString(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		return fmtNum(v.Float())
	case reflect.String:
		if v.String() == "" {
			return `""`
		}
	}
	return fmt.Sprint(v.Interface())
}

// links writes a run's links table: configured vs measured RTT, and the bytes that
// crossed each where the run counted them.
func (m *mdWriter) links(r *Run) {
	m.p("### Links\n\n")
	if len(r.Links) == 0 {
		m.p("No links measured.\n\n")
	} else {
		// Byte counts are shown when the run recorded them (results before they were
		// counted have none).
		counted := false
		for _, l := range r.Links {
			counted = counted || l.BytesUp+l.BytesDown > 0
		}
		header, align := []string{"link", "configured RTT ms", "measured RTT ms", "deviation"}, "lrrr"
		if counted {
			header, align = append(header, "bytes up", "bytes down", "bytes per job"), align+"rrr"
		}
		rows := make([][]string, len(r.Links))
		for i, l := range r.Links {
			name := l.Name
			if l.Remote {
				name += " (remote: measured, not emulated)"
			}
			rows[i] = []string{name, fmtMS(l.ConfiguredRTTMS), fmtMS(l.MeasuredRTTMS), deviation(l)}
			if counted {
				rows[i] = append(rows[i], fmt.Sprint(l.BytesUp), fmt.Sprint(l.BytesDown), bytesPerJob(l, r.Jobs.Accepted))
			}
		}
		m.table(header, align, rows)
	}
}
