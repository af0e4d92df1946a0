package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// rttRun is a run at rtt ms: enqueue latency ~rtt, throughput 1000/rtt; jitter (0..1)
// shifts it a little, as repetitions differ.
func rttRun(t *testing.T, name string, rtt, jitter float64, rep int) Run {
	t.Helper()
	lo := int64((rtt + jitter) * 1000)
	r := Run{Name: name, Repetition: rep, Config: Config{RTTMS: rtt, Batch: 1, Topology: "central", Target: "api"},
		Jobs:       Jobs{Requested: 100, Accepted: 100, Completed: 100},
		Throughput: Throughput{EnqueueJobsPerS: 1000 / (rtt + jitter), CompletedJobsPerS: 1000 / (rtt + jitter)}}
	withHist(t, &r, PointEnqueue, uniform(t, lo, 10, 100))
	withHist(t, &r, PointPickup, uniform(t, 100, 1, 100))
	withHist(t, &r, PointEndToEnd, uniform(t, lo+100, 10, 100))
	return r
}

func resultOf(runs ...Run) *Result { return &Result{Schema: Schema, Runs: runs} }

func verdicts(c *Comparison) map[string]string {
	out := map[string]string{}
	for _, d := range c.Deltas {
		out[d.Metric] = d.Verdict
	}
	return out
}

func TestCompareSameIsNoChange(t *testing.T) {
	r := resultOf(rttRun(t, "a", 20, 0, 0))
	c, err := Compare(r, r, "r.json", "r.json", CompareOptions{MaxRegression: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	if c.Regressions != 0 {
		t.Errorf("%d regressions comparing a result with itself", c.Regressions)
	}
	for m, v := range verdicts(c) {
		if v != VerdictSame {
			t.Errorf("%s: %s, want %s", m, v, VerdictSame)
		}
	}
}

// 20 ms against 40 ms: throughput halves, enqueue latency doubles, pickup is unchanged.
func TestCompareRegressionBeyondLimit(t *testing.T) {
	base, cand := resultOf(rttRun(t, "a", 20, 0, 0)), resultOf(rttRun(t, "a", 40, 0, 0))
	c, err := Compare(base, cand, "20ms.json", "40ms.json", CompareOptions{MaxRegression: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	v := verdicts(c)
	for _, m := range []string{"throughput", "p50(enqueue)", "p99(enqueue)", "p50(end_to_end)"} {
		if v[m] != VerdictRegression {
			t.Errorf("%s: %s, want regression", m, v[m])
		}
	}
	if v["p50(pickup)"] != VerdictSame || v["lost"] != VerdictSame {
		t.Errorf("pickup p50 %s, lost %s: want no change", v["p50(pickup)"], v["lost"])
	}
	for _, d := range c.Deltas {
		if d.Metric == "throughput" && math.Abs(d.Delta+0.5) > 1e-9 {
			t.Errorf("throughput delta %g, want -50%%", d.Delta)
		}
	}
	var md bytes.Buffer
	if err := WriteCompareMarkdown(&md, c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"regressions", "a throughput -50.0%", "a p50(enqueue) +", "| a | p99(enqueue) |", "REGRESSION (limit 10.0%)"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	// The same change read the other way is better, not a regression.
	c, _ = Compare(cand, base, "40ms.json", "20ms.json", CompareOptions{MaxRegression: 0.1})
	if c.Regressions != 0 || verdicts(c)["throughput"] != VerdictBetter {
		t.Errorf("reversed: %d regressions, throughput %s", c.Regressions, verdicts(c)["throughput"])
	}
	// Within a wide enough limit it is worse, not a regression; a per-metric limit wins.
	c, _ = Compare(base, cand, "", "", CompareOptions{MaxRegression: 2, Thresholds: map[string]float64{"enqueue p99": 0.1}})
	if v := verdicts(c); v["throughput"] != VerdictWorse || v["p99(enqueue)"] != VerdictRegression || v["p50(enqueue)"] != VerdictWorse {
		t.Errorf("limits: throughput %s, enqueue p99 %s, p50 %s", v["throughput"], v["p99(enqueue)"], v["p50(enqueue)"])
	}
	// A prefix names a point's every percentile.
	c, _ = Compare(base, cand, "", "", CompareOptions{MaxRegression: 2, Thresholds: map[string]float64{"enqueue": 0.1}})
	if v := verdicts(c); v["p50(enqueue)"] != VerdictRegression || v["p50(end_to_end)"] != VerdictWorse {
		t.Errorf("prefix limit: enqueue p50 %s, end_to_end p50 %s", v["p50(enqueue)"], v["p50(end_to_end)"])
	}
}

// Lost jobs appearing is a regression whatever the percentage limit.
func TestCompareLostFromZero(t *testing.T) {
	base := resultOf(rttRun(t, "a", 20, 0, 0))
	bad := rttRun(t, "a", 20, 0, 0)
	bad.Jobs.Lost = 1
	c, _ := Compare(base, resultOf(bad), "", "", CompareOptions{MaxRegression: 10})
	if v := verdicts(c)["lost"]; v != VerdictRegression {
		t.Errorf("lost 0 → 1: %s", v)
	}
	var js bytes.Buffer
	if err := WriteCompareJSON(&js, c); err != nil {
		t.Fatalf("JSON with an infinite delta: %v", err)
	}
	var back Comparison
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Regressions != 1 {
		t.Errorf("JSON round trip: %v, %d regressions", err, back.Regressions)
	}
}

// A candidate that left jobs pending (it did not drain its backlog) regresses, even though
// none is lost: its end-to-end figures leave out the jobs that waited longest.
func TestComparePendingFromZero(t *testing.T) {
	base := resultOf(rttRun(t, "a", 20, 0, 0))
	slow := rttRun(t, "a", 20, 0, 0)
	slow.Jobs.Completed, slow.Jobs.Pending = slow.Jobs.Completed-40, 40
	c, _ := Compare(base, resultOf(slow), "", "", CompareOptions{MaxRegression: 10})
	if v := verdicts(c)["pending"]; v != VerdictRegression {
		t.Errorf("pending 0 → 40: %s", v)
	}
	if v := verdicts(c)["lost"]; v != VerdictSame {
		t.Errorf("lost 0 → 0: %s", v)
	}
}

// With 5 repetitions a side: noise is "no significant change"; a 2x change is
// significant and a regression.
func TestCompareRepetitionsSignificance(t *testing.T) {
	reps := func(name string, rtt float64, jitters ...float64) *Result {
		var runs []Run
		for i, j := range jitters {
			runs = append(runs, rttRun(t, name, rtt, j, i+1))
		}
		return resultOf(runs...)
	}
	base := reps("a", 20, 0.1, 0.5, 0.3, 0.9, 0.2)
	noise := reps("a", 20, 0.4, 0.0, 0.8, 0.6, 0.7)
	c, err := Compare(base, noise, "", "", CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Regressions != 0 {
		t.Errorf("noise: %d regressions", c.Regressions)
	}
	for _, d := range c.Deltas {
		// (A median's 95% interval needs 6 values: with 5 there is none, as in benchstat.)
		if d.Metric == "throughput" && (d.Verdict != VerdictNotSignificant || d.P == nil || *d.P < 0.05 || d.BaseCI != nil) {
			t.Errorf("noise throughput: %+v", d)
		}
	}
	double := reps("a", 40, 0.1, 0.5, 0.3, 0.9, 0.2)
	c, _ = Compare(base, double, "", "", CompareOptions{MaxRegression: 0.1})
	for _, d := range c.Deltas {
		if d.Metric == "throughput" && (d.Verdict != VerdictRegression || d.P == nil || *d.P > 0.05) {
			t.Errorf("2x: %+v", d)
		}
	}
	six := reps("a", 20, 0.1, 0.5, 0.3, 0.9, 0.2, 0.4)
	c6, _ := Compare(six, six, "", "", CompareOptions{})
	if d := c6.Deltas[0]; len(d.BaseCI) != 2 || d.BaseCI[0] > d.Base || d.BaseCI[1] < d.Base {
		t.Errorf("6 repetitions: interval %v around %g", d.BaseCI, d.Base)
	}
	var text bytes.Buffer
	_ = WriteCompareText(&text, c)
	if !strings.Contains(text.String(), "p=0.008 n=5+5") {
		t.Errorf("text lacks the significance:\n%s", text.String())
	}
}

// Runs match by name, else by configuration; the rest is listed as unmatched.
func TestCompareMatching(t *testing.T) {
	a, b := rttRun(t, "a", 20, 0, 0), rttRun(t, "b", 50, 0, 0)
	renamed := rttRun(t, "renamed a", 20, 0, 0)
	c, err := Compare(resultOf(a, b), resultOf(renamed), "base", "cand", CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Deltas[0].Run != "a vs renamed a" || len(c.Unmatched) != 1 || !strings.Contains(c.Unmatched[0], "only in base: b") {
		t.Errorf("deltas for %q, unmatched %v", c.Deltas[0].Run, c.Unmatched)
	}
	if _, err := Compare(resultOf(a, b), resultOf(renamed, renamed), "base", "cand", CompareOptions{}); err != nil {
		t.Errorf("a partial match: %v", err)
	}
	// No match at all among several runs a side, and no pairing in order: an error.
	// (One run a side is always paired: TestCompareSingleRunsDifferentSettings.)
	c9 := rttRun(t, "c", 9, 0, 0)
	if _, err := Compare(resultOf(b, c9), resultOf(renamed, rttRun(t, "d", 7, 0, 0)), "base", "cand", CompareOptions{}); err == nil {
		t.Error("no match and no pairing in order: want an error")
	}
	// No match at all but as many runs on each side: paired in order, and said so.
	c, err = Compare(resultOf(b), resultOf(renamed), "base", "cand", CompareOptions{PairInOrder: true})
	if err != nil || c.Deltas[0].Run != "b vs renamed a" || !strings.Contains(strings.Join(c.Warnings, " "), "paired in order") {
		t.Errorf("paired by position: %v %+v", err, c)
	}
	if _, err := Compare(resultOf(b), resultOf(renamed, c9), "base", "cand", CompareOptions{PairInOrder: true}); err == nil {
		t.Error("no matching run and different counts: want an error")
	}
	if _, err := Compare(resultOf(a), resultOf(a), "", "", CompareOptions{Thresholds: map[string]float64{"p99": 1}}); err == nil || !strings.Contains(err.Error(), "throughput") {
		t.Errorf("unknown metric threshold: %v", err)
	}
}

func TestMerge(t *testing.T) {
	// The same run measured by two drivers: one saw ~20 ms calls, the other ~40 ms.
	a1, a2 := rttRun(t, "a", 20, 0, 0), rttRun(t, "a", 20, 20, 0)
	only := rttRun(t, "b", 5, 0, 0)
	m, err := Merge([]string{"one.json", "two.json"}, resultOf(a1), resultOf(a2, only))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Runs) != 2 {
		t.Fatalf("%d runs, want a and b", len(m.Runs))
	}
	r := m.Runs[0]
	h, err := r.Histogram(PointEnqueue)
	if err != nil {
		t.Fatal(err)
	}
	if h.TotalCount() != 200 || r.LatencyMS[PointEnqueue].Count != 200 {
		t.Errorf("merged enqueue count %d / %d, want 200", h.TotalCount(), r.LatencyMS[PointEnqueue].Count)
	}
	// Half the values are ~20 ms, half ~40 ms: the median is at the border.
	if p := r.LatencyMS[PointEnqueue]; p.Min > 20.1 || p.Max < 40.9 || p.P50 > 21.1 || p.P90 < 40 {
		t.Errorf("merged percentiles %+v", p)
	}
	if r.Jobs.Accepted != 200 || math.Abs(r.Throughput.EnqueueJobsPerS-75) > 1e-9 {
		t.Errorf("merged jobs %+v, throughput %g (want 50+25)", r.Jobs, r.Throughput.EnqueueJobsPerS)
	}
	if r.Model.Efficiency != 0 || r.Config.Concurrency != a1.Config.Concurrency*2 {
		t.Errorf("merged model %+v (one driver's floor left in), concurrency %d", r.Model, r.Config.Concurrency)
	}
	if !strings.Contains(strings.Join(r.Notes, " "), "merged from 2") || !strings.Contains(strings.Join(m.Runs[1].Notes, " "), "only in two.json") {
		t.Errorf("notes %v / %v", r.Notes, m.Runs[1].Notes)
	}
	if a1.Jobs.Accepted != 100 || a1.LatencyMS[PointEnqueue].Count != 100 {
		t.Error("Merge changed its input")
	}
	if _, err := Merge([]string{"x"}, &Result{Schema: "other/v9"}); err == nil {
		t.Error("merging another schema: want an error")
	}
	if _, err := Merge([]string{"20.json", "40.json"}, resultOf(a1), resultOf(rttRun(t, "a", 40, 0, 0))); err == nil || !strings.Contains(err.Error(), "rtt_ms 20 → 40") {
		t.Errorf("merging different configurations: %v", err)
	}
	one := resultOf(a1)
	one.StartedAt, one.Environment.Hostname = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), "vm"
	if _, err := Merge([]string{"a.json", "copy.json"}, one, one); err == nil || !strings.Contains(err.Error(), "same measurement") {
		t.Errorf("merging a result with itself: %v", err)
	}
}

// A metric the base measured and the candidate did not is a regression (a candidate
// that accepted nothing must not pass); one the base lacks is "not measured".
func TestCompareNotMeasured(t *testing.T) {
	full, partial := rttRun(t, "a", 20, 0, 0), rttRun(t, "a", 20, 0, 0)
	delete(partial.LatencyMS, PointPickup)
	delete(partial.Histograms, PointPickup)
	c, err := Compare(resultOf(full), resultOf(partial), "", "", CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v := verdicts(c); v["p50(pickup)"] != VerdictRegression || v["p50(enqueue)"] != VerdictSame || c.Regressions != 3 {
		t.Errorf("candidate without pickup: verdicts %v, %d regressions", v, c.Regressions)
	}
	c, _ = Compare(resultOf(partial), resultOf(full), "", "", CompareOptions{})
	if v := verdicts(c); v["p50(pickup)"] != VerdictMissing || c.Regressions != 0 {
		t.Errorf("base without pickup: verdicts %v", v)
	}
	// A base run the candidate lacks is counted as missing.
	c, _ = Compare(resultOf(full, rttRun(t, "b", 5, 0, 0)), resultOf(full), "base", "cand", CompareOptions{})
	if c.Missing != 1 || !strings.Contains(c.headline(), "1 run of base missing from cand") {
		t.Errorf("missing %d, headline %q", c.Missing, c.headline())
	}
}

// Job counts take the worst repetition: lost jobs in 2 of 5 repetitions are a
// regression, however the medians look.
func TestCompareCountsWorstRepetition(t *testing.T) {
	var base, cand []Run
	for i := range 5 {
		b, c := rttRun(t, "a", 20, 0, i+1), rttRun(t, "a", 20, 0, i+1)
		if i%2 == 1 {
			c.Jobs.Lost = 3
		}
		base, cand = append(base, b), append(cand, c)
	}
	c, _ := Compare(resultOf(base...), resultOf(cand...), "", "", CompareOptions{MaxRegression: 0.5})
	for _, d := range c.Deltas {
		if d.Metric == "lost" && (d.Verdict != VerdictRegression || d.Cand != 3 || d.P != nil) {
			t.Errorf("lost: %+v", d)
		}
	}
}

// A threshold names a figure, in its canonical spelling or an older one, or a timing
// point: "pickup p99" is not "pickup p99.9", "en" is nothing.
func TestCompareThresholdNames(t *testing.T) {
	base, cand := resultOf(rttRun(t, "a", 20, 0, 0)), resultOf(rttRun(t, "a", 40, 0, 0))
	for name, figure := range map[string]string{
		"p99(enqueue)": "p99(enqueue)", "enqueue p99": "p99(enqueue)", "enqueue_p99": "p99(enqueue)", "enqueue.p99": "p99(enqueue)",
		"pickup p99.9": "p999(pickup)", "p99.9(pickup)": "p999(pickup)", "end_to_end-p999": "p999(end_to_end)",
		"completed throughput": "completed_throughput", "completed_throughput": "completed_throughput", " lost ": "lost",
	} {
		c, err := Compare(base, cand, "", "", CompareOptions{MaxRegression: 0.05, Thresholds: map[string]float64{name: 5}})
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		for _, d := range c.Deltas {
			want := 0.05
			if d.Metric == figure {
				want = 5
			}
			if d.Limit != want {
				t.Errorf("threshold %q: %s: limit %g, want %g", name, d.Metric, d.Limit, want)
			}
		}
	}
	// A figure's own limit wins over its point's, whichever is longer to write.
	c, _ := Compare(base, cand, "", "", CompareOptions{MaxRegression: 0.5, Thresholds: map[string]float64{"enqueue": 1, "p99(enqueue)": 2}})
	limits := map[string]float64{}
	for _, d := range c.Deltas {
		limits[d.Metric] = d.Limit
	}
	if limits["p99(enqueue)"] != 2 || limits["p50(enqueue)"] != 1 || limits["p50(pickup)"] != 0.5 {
		t.Errorf("limits %v", limits)
	}
	for _, bad := range []string{"en", "", "enqueue p9", "p99", "accepted", "enqueue_service p99", "p99(queue)", "lost(enqueue)"} {
		_, err := Compare(base, cand, "", "", CompareOptions{Thresholds: map[string]float64{bad: 1}})
		var oe *OptionError
		if !errors.As(err, &oe) || !strings.Contains(err.Error(), "metrics: throughput, completed_throughput, p50(enqueue)") {
			t.Errorf("threshold %q: %v, want an *OptionError listing the figures", bad, err)
		}
	}
	if _, err := Compare(base, cand, "", "", CompareOptions{Thresholds: map[string]float64{"enqueue p99": 1, "p99(enqueue)": 2}}); err == nil {
		t.Error("one figure's threshold in two spellings: accepted")
	}
}

func TestParseThreshold(t *testing.T) {
	for in, want := range map[string]struct {
		name  string
		limit float64
	}{
		"p99(enqueue)=25%": {"p99(enqueue)", 0.25}, "enqueue p99=25%": {"p99(enqueue)", 0.25}, "enqueue_p99.9=0.1": {"p999(enqueue)", 0.1},
		"enqueue=5%": {"enqueue", 0.05}, "lost=0": {"lost", 0}, "completed throughput=10%": {"completed_throughput", 0.1},
		// "completed" named "completed throughput" by its first word, as "enqueue" names "enqueue p99".
		"completed=10%": {"completed_throughput", 0.1},
	} {
		name, limit, err := ParseThreshold(in)
		if err != nil || name != want.name || limit != want.limit {
			t.Errorf("ParseThreshold(%q) = %q, %g, %v; want %q, %g", in, name, limit, err, want.name, want.limit)
		}
	}
	for in, want := range map[string]string{
		"latency=5%":    `--threshold "latency=5%": compare reports no such figure; metrics: throughput, completed_throughput, p50(enqueue)`,
		"p99=5%":        "p99 needs a timing point, e.g. p99(enqueue)",
		"accepted=5%":   "compare reports no such figure",
		"enqueue p99":   "accepted form is METRIC=LIMIT",
		"lost=ten":      `--threshold "lost=ten": accepted is a percentage or a fraction`,
		"lost=10":       "a fraction above 1 is over 100%; write the percentage with its sign, e.g. 10%",
		"pickup p9=10%": "compare reports no such figure",
	} {
		_, _, err := ParseThreshold(in)
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Option != "threshold" || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseThreshold(%q): %v, want an *OptionError with %q", in, err, want)
		}
	}
}

func TestCompareFlagsOptions(t *testing.T) {
	opt, err := CompareFlags{MaxRegression: "10%", MinDelta: "2ms", Alpha: 0.01,
		Thresholds: []string{"enqueue p99=1%", "p99(enqueue)=30%", "lost=0"}}.Options()
	if err != nil || opt.MaxRegression != 0.1 || opt.MinDeltaMS != 2 || opt.Alpha != 0.01 ||
		len(opt.Thresholds) != 2 || opt.Thresholds["p99(enqueue)"] != 0.3 || opt.Thresholds["lost"] != 0 {
		t.Errorf("options %+v, %v", opt, err)
	}
	if opt, err := (CompareFlags{MaxRegression: "0", MinDelta: "0", Alpha: 0.05}).Options(); err != nil || opt.MinDeltaMS != 0 {
		t.Errorf("zero limits: %+v, %v", opt, err)
	}
	_, err = CompareFlags{MaxRegression: "ten", MinDelta: "soon", Alpha: 1, Thresholds: []string{"en=5%"}}.Options()
	for _, want := range []string{`--max-regression "ten"`, `--min-delta "soon": accepted is a duration`, `--alpha "1": accepted is a significance level`, `--threshold "en=5%"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	var oe *OptionError
	if !errors.As(err, &oe) {
		t.Errorf("%v: not an *OptionError", err)
	}
}

func TestCompareGate(t *testing.T) {
	c := &Comparison{Base: "base", Candidate: "cand"}
	if err := c.Gate(false); err != nil {
		t.Errorf("nothing wrong: %v", err)
	}
	c.Missing = 1
	if err := c.Gate(true); err != nil {
		t.Errorf("missing, allowed: %v", err)
	}
	c.Regressions = 2
	var ge *GateError
	if err := c.Gate(false); !errors.As(err, &ge) || err.Error() != "2 regressions beyond the limit; 1 runs of base missing from cand (--allow-missing to accept)" {
		t.Errorf("gate: %v", err)
	}
}

// Compare's figures come from the catalogue, under the names expectations use.
func TestCompareMetricNames(t *testing.T) {
	got := strings.Join(CompareMetricNames(), ", ")
	want := "throughput, completed_throughput, p50(enqueue), p99(enqueue), p999(enqueue), p50(pickup), p99(pickup), p999(pickup), " +
		"p50(end_to_end), p99(end_to_end), p999(end_to_end), lost, pending, failed, errors, duplicated"
	if got != want {
		t.Errorf("compare reports %s\nwant %s", got, want)
	}
}

// Uneven repetitions that cannot reach significance say so.
func TestCompareTooFewRepetitionsNote(t *testing.T) {
	if p := uTestMinP(5, 5); math.Abs(p-2.0/252) > 1e-12 {
		t.Errorf("uTestMinP(5,5) = %g, want 2/252", p)
	}
	var two, five []Run
	for i := range 5 {
		if i < 2 {
			two = append(two, rttRun(t, "a", 20, float64(i)/10, i+1))
		}
		five = append(five, rttRun(t, "a", 40, float64(i)/10, i+1))
	}
	c, _ := Compare(resultOf(two...), resultOf(five...), "", "", CompareOptions{})
	if d := c.Deltas[0]; d.Verdict != VerdictNotSignificant || !strings.Contains(d.Note, "n=2+5 cannot reach") {
		t.Errorf("2+5: %+v", d)
	}
}

// One run on each side is paired whatever its name and settings (comparing two
// configurations is what compare is for), with the settings that differ named.
func TestCompareSingleRunsDifferentSettings(t *testing.T) {
	base := rttRun(t, "rtt=23ms batch=1", 23, 0, 0)
	cand := rttRun(t, "rtt=47ms batch=6", 47, 0, 0)
	cand.Config.Batch = 6
	c, err := Compare(resultOf(base), resultOf(cand), "a.json", "b.json", CompareOptions{MaxRegression: 0.1})
	if err != nil {
		t.Fatalf("one run each side, different settings: %v", err)
	}
	if len(c.Deltas) != len(CompareMetricNames()) || c.Deltas[0].Run != "rtt=23ms batch=1 vs rtt=47ms batch=6" || len(c.Unmatched) != 0 || c.Missing != 0 {
		t.Errorf("deltas %d for %q, unmatched %v, missing %d", len(c.Deltas), c.Deltas[0].Run, c.Unmatched, c.Missing)
	}
	warn := strings.Join(c.Warnings, "\n")
	for _, want := range []string{"batch 1 → 6", "rtt_ms 23 → 47", "the configurations differ"} {
		if !strings.Contains(warn, want) {
			t.Errorf("warnings lack %q: %q", want, warn)
		}
	}
	if v := verdicts(c); v["throughput"] != VerdictRegression || v["p50(enqueue)"] != VerdictRegression || v["p50(pickup)"] != VerdictSame || c.Regressions == 0 {
		t.Errorf("verdicts %v, %d regressions", v, c.Regressions)
	}
	var text bytes.Buffer
	_ = WriteCompareText(&text, c)
	if !strings.Contains(text.String(), "batch 1 → 6") {
		t.Errorf("text lacks the differing setting:\n%s", text.String())
	}
	// Repetitions of one run are still one run a side.
	reps := func(r Run) *Result {
		var runs []Run
		for i := range 3 {
			r.Repetition = i + 1
			runs = append(runs, r)
		}
		return resultOf(runs...)
	}
	c, err = Compare(reps(base), reps(cand), "a.json", "b.json", CompareOptions{MaxRegression: 0.1})
	if err != nil || len(c.Deltas) != len(CompareMetricNames()) || c.Deltas[0].BaseN != 3 || c.Deltas[0].CandN != 3 || !strings.Contains(strings.Join(c.Warnings, " "), "batch 1 → 6") {
		t.Errorf("3 repetitions a side: %v %+v", err, c)
	}
	// Several runs on a side: matched by name or configuration, as before.
	other := rttRun(t, "other", 5, 0, 0)
	other.Config.Batch = 9
	if _, err := Compare(resultOf(base, other), resultOf(cand), "a.json", "b.json", CompareOptions{}); err == nil {
		t.Error("two runs against one, none matching: want an error")
	}
}
