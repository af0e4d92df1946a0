package scenarios

import (
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/wfbench/wfbench/bench"
	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/reports"
)

func TestParseExpectationValid(t *testing.T) {
	type want struct {
		metric, arg string
		sel         map[string]string
		op          string
		value       float64
		factor      float64 // relative when > 0
		right       string  // the right side's metric
		rightSel    map[string]string
		denom       string // a ratio's denominator metric
		denomSel    map[string]string
		where       map[string]string
	}
	tests := []struct {
		text string
		want want
	}{
		{"lost == 0", want{metric: "lost", op: "==", value: 0}},
		{"  errors != 3  ", want{metric: "errors", op: "!=", value: 3}},
		{"accepted >= 50", want{metric: "accepted", op: ">=", value: 50}},
		{"p99(enqueue) < 150ms", want{metric: "p99", arg: "enqueue", op: "<", value: 150}},
		{"p99(enqueue)<150ms", want{metric: "p99", arg: "enqueue", op: "<", value: 150}},
		{"p99(enqueue) <= 1.5s", want{metric: "p99", arg: "enqueue", op: "<=", value: 1500}},
		{"p50(pickup) > 250us", want{metric: "p50", arg: "pickup", op: ">", value: 0.25}},
		{"max(end_to_end) < 2m", want{metric: "max", arg: "end_to_end", op: "<", value: 120000}},
		{"p999(enqueue_service) < 1s", want{metric: "p999", arg: "enqueue_service", op: "<", value: 1000}},
		// p99.9 is compare's older spelling of p999: an alias.
		{"p99.9(enqueue) < 1s", want{metric: "p999", arg: "enqueue", op: "<", value: 1000}},
		{"p99.9(enqueue) <= 3x p50(enqueue)", want{metric: "p999", arg: "enqueue", op: "<=", factor: 3, right: "p50"}},
		{"mean(enqueue, rtt=0.1s) <= 105ms", want{metric: "mean", arg: "enqueue", sel: map[string]string{"rtt": "100ms"}, op: "<=", value: 105}},
		{"p50(rtt=100ms, enqueue, batch=1) < 1s", want{metric: "p50", arg: "enqueue", sel: map[string]string{"rtt": "100ms", "batch": "1"}, op: "<", value: 1000}},
		{"enqueue_duration < 2s", want{metric: "enqueue_duration", op: "<", value: 2}},
		{"total_duration < 500ms", want{metric: "total_duration", op: "<", value: 0.5}},
		{"efficiency >= 80%", want{metric: "efficiency", op: ">=", value: 0.8}},
		{"efficiency >= 0.8", want{metric: "efficiency", op: ">=", value: 0.8}},
		{"throughput >= 9", want{metric: "throughput", op: ">=", value: 9}},
		{"throughput(run=drain) > 1e3", want{metric: "throughput", sel: map[string]string{"run": "drain"}, op: ">", value: 1000}},
		{"drain_throughput(burst=true) > 0", want{metric: "drain_throughput", sel: map[string]string{"burst": "true"}, op: ">", value: 0}},
		{"link_rtt(worker-faktory) < 5ms", want{metric: "link_rtt", arg: "worker-faktory", op: "<", value: 5}},
		{"bytes_per_job(client-api) <= 1KB", want{metric: "bytes_per_job", arg: "client-api", op: "<=", value: 1000}},
		{"bytes_per_job(api-faktory) <= 2KiB", want{metric: "bytes_per_job", arg: "api-faktory", op: "<=", value: 2048}},
		{"bytes_per_job(api-faktory) <= 300", want{metric: "bytes_per_job", arg: "api-faktory", op: "<=", value: 300}},
		{"throughput(batch=100) >= 10x throughput(batch=1)", want{metric: "throughput", sel: map[string]string{"batch": "100"}, op: ">=",
			factor: 10, right: "throughput", rightSel: map[string]string{"batch": "1"}}},
		{"throughput(batch=100) >= 10 x throughput(batch=1) where rtt=0.1s", want{metric: "throughput", sel: map[string]string{"batch": "100"}, op: ">=",
			factor: 10, right: "throughput", rightSel: map[string]string{"batch": "1"}, where: map[string]string{"rtt": "100ms"}}},
		{"throughput(batch=100) >= 10×throughput(batch=1)", want{metric: "throughput", sel: map[string]string{"batch": "100"}, op: ">=",
			factor: 10, right: "throughput", rightSel: map[string]string{"batch": "1"}}},
		{"throughput(batch=100) >= 2.5 × throughput(batch=1)", want{metric: "throughput", sel: map[string]string{"batch": "100"}, op: ">=",
			factor: 2.5, right: "throughput", rightSel: map[string]string{"batch": "1"}}},
		{"p50(enqueue, enqueue_mode=async) <= 0.6x p50(enqueue, enqueue_mode=sync)", want{metric: "p50", arg: "enqueue", sel: map[string]string{"enqueue_mode": "async"},
			op: "<=", factor: 0.6, right: "p50", rightSel: map[string]string{"enqueue_mode": "sync"}}},
		{"p50(enqueue) <= 2x mean(pickup)", want{metric: "p50", arg: "enqueue", op: "<=", factor: 2, right: "mean"}},
		{"throughput(rtt=1ms, batch=1) / throughput(rtt=100ms, batch=1) >= 10", want{metric: "throughput", sel: map[string]string{"rtt": "1ms", "batch": "1"},
			op: ">=", value: 10, denom: "throughput", denomSel: map[string]string{"rtt": "100ms", "batch": "1"}}},
		// A ratio against "2x" is the plain number 2, as in an estimate's value.
		{"throughput(batch=100) / throughput(batch=1) >= 2x", want{metric: "throughput", sel: map[string]string{"batch": "100"},
			op: ">=", value: 2, denom: "throughput", denomSel: map[string]string{"batch": "1"}}},
		{"p99(enqueue) / p50(enqueue) < 300%", want{metric: "p99", arg: "enqueue", op: "<", value: 3, denom: "p50"}},
		{"p50(enqueue) < 1s where rtt=100ms, batch=1", want{metric: "p50", arg: "enqueue", op: "<", value: 1000,
			where: map[string]string{"rtt": "100ms", "batch": "1"}}},
		{"p50(enqueue) < 1s where rtt=100ms and batch=1 and poll=tuned", want{metric: "p50", arg: "enqueue", op: "<", value: 1000,
			where: map[string]string{"rtt": "100ms", "batch": "1", "poll": "tuned"}}},
		{"lost == 0 where run=sparse", want{metric: "lost", op: "==", value: 0, where: map[string]string{"run": "sparse"}}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			e, err := ParseExpectation(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			w := tt.want
			if e.Text != strings.TrimSpace(tt.text) {
				t.Errorf("text %q", e.Text)
			}
			if e.left.m.Name != w.metric || e.left.arg != w.arg || e.op != w.op {
				t.Errorf("left %s(%s) op %q, want %s(%s) %q", e.left.m.Name, e.left.arg, e.op, w.metric, w.arg, w.op)
			}
			if !maps.Equal(e.left.sel.eq, w.sel) && len(e.left.sel.eq)+len(w.sel) > 0 {
				t.Errorf("selectors %v, want %v", e.left.sel, w.sel)
			}
			if !maps.Equal(e.where.eq, w.where) && len(e.where.eq)+len(w.where) > 0 {
				t.Errorf("where %v, want %v", e.where, w.where)
			}
			if w.factor > 0 {
				if e.right == nil || e.factor != w.factor || e.right.m.Name != w.right {
					t.Fatalf("relative: right %+v factor %g, want %gx %s", e.right, e.factor, w.factor, w.right)
				}
				if !maps.Equal(e.right.sel.eq, w.rightSel) && len(e.right.sel.eq)+len(w.rightSel) > 0 {
					t.Errorf("right selectors %v, want %v", e.right.sel, w.rightSel)
				}
			} else {
				if e.right != nil {
					t.Errorf("absolute expectation with a right side %+v", e.right)
				}
				if math.Abs(e.value-w.value) > 1e-9 {
					t.Errorf("value %g, want %g", e.value, w.value)
				}
			}
			switch {
			case w.denom == "" && e.left.denom != nil:
				t.Errorf("unexpected ratio over %s", e.left.denom.m.Name)
			case w.denom != "" && (e.left.denom == nil || e.left.denom.m.Name != w.denom):
				t.Errorf("denominator %+v, want %s", e.left.denom, w.denom)
			case w.denom != "" && len(w.denomSel) > 0 && !maps.Equal(e.left.denom.sel.eq, w.denomSel):
				t.Errorf("denominator selectors %v, want %v", e.left.denom.sel, w.denomSel)
			}
		})
	}
}

func TestParseExpectationErrors(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"latency < 10ms", []string{`unknown metric "latency"`, "metrics: " + strings.Join(MetricNames(), ", ")}},
		{"", []string{`unknown metric ""`}},
		{"p99 < 150ms", []string{"p99 needs a timing point, e.g. p99(enqueue)", "points: enqueue, pickup, end_to_end, enqueue_service"}},
		{"p99(rtt=1ms) < 150ms", []string{"p99 needs a timing point"}},
		{"p99.9 < 150ms", []string{"p999 needs a timing point, e.g. p999(enqueue)"}},
		{"p99(queue) < 150ms", []string{"p99(queue): unknown timing point", "points: enqueue, pickup"}},
		{"link_rtt < 5ms", []string{"link_rtt needs a link", "links: " + strings.Join(netem.LinkNames, ", ")}},
		{"link_rtt(moon) < 5ms", []string{"link_rtt(moon): unknown link"}},
		{"throughput(enqueue) > 1", []string{"throughput takes only KEY=VALUE or KEY!=VALUE selectors, e.g. throughput(batch=100) or throughput(run!=redis-kill)"}},
		{"throughput(colour=red) > 1", []string{`unknown setting "colour"`, "valid settings: rtt, jitter"}},
		{"throughput(batch=many) > 1", []string{`throughput(...): batch "many": not an integer; accepted: an integer`}},
		{"throughput(rtt=fast) > 1", []string{`rtt "fast": not a duration`}},
		{"throughput(batch=1 > 1", []string{"takes only KEY=VALUE"}},
		{"throughput( > 1", []string{"throughput takes only KEY=VALUE"}},
		{"throughput(batch=1,", []string{"unclosed or empty argument"}},
		{"p50(enqueue) < 150", []string{"p50 < 150: give a duration with its unit, e.g. 150ms or 2s"}},
		{"p50(enqueue) < 150jobs", []string{`p50 < 150jobs`}},
		{"enqueue_duration < 2", []string{"give a duration with its unit"}},
		{"efficiency >= 80ms", []string{`unit "ms" does not fit a value in plain numbers`}},
		{"lost == 3%x", []string{`unit "%x"`}},
		{"throughput >= fast", []string{"not a number with a unit"}},
		{"bytes_per_job(client-api) < 1Kb", []string{`unit "Kb": accepted are B, KB, MB, KiB, MiB`}},
		{"p50(enqueue) < 2x throughput", []string{"p50 (ms) and throughput (jobs/s) are not in the same unit"}},
		{"lost <= 2x p50(enqueue)", []string{"lost (plain numbers) and p50 (ms) are not in the same unit"}},
		{"throughput >= 2x", []string{`unknown metric ""`}},
		{"throughput >= twox throughput", []string{"not a number with a unit"}},
		{"lost == 0 extra", []string{`unexpected "extra"; the form is METRIC[(ARGS)] OP VALUE`}},
		{"lost == 0 0", []string{`unexpected "0"`}},
		{"lost", []string{`expected a comparison (<= >= == != < >) after lost, got ""`}},
		{"lost = 0", []string{`expected a comparison`, `got "="`}},
		{"lost ==", []string{"expected a value after =="}},
		{"lost == 0 where", []string{"where: expected KEY=VALUE or KEY!=VALUE, e.g. where rtt=100ms or where run!=redis-kill"}},
		{"lost == 0 where rtt", []string{"where: expected KEY=VALUE"}},
		{"lost == 0 where rtt=fast", []string{`where: rtt "fast": not a duration`}},
		{"lost == 0 where colour=red", []string{`where: unknown setting "colour"`}},
		{"lost == 0 where rtt=1ms or batch=1", []string{`unexpected "or"`}},
		// A ratio is one number: it compares with a plain value, never with Nx a metric.
		{"throughput(batch=100) / throughput(batch=1) >= 2x throughput(batch=10)", []string{"a ratio compares against a plain number"}},
		{"throughput(batch=100) >= 2x throughput(batch=1) / throughput(batch=10)", []string{"a ratio compares against a plain number"}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			e, err := ParseExpectation(tt.text)
			if err == nil {
				t.Fatalf("no error; parsed %+v", e)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}

// measuredRun is a measured run with the given settings (canonical in its params, and in its
// recorded configuration) and figures f sets on top of plausible ones.
func measuredRun(t *testing.T, name string, params map[string]string, f func(r *reports.Run)) reports.Run {
	t.Helper()
	cfg := bench.Default()
	canon := map[string]string{}
	for k, v := range params {
		c, err := canonical(k, v)
		if err != nil {
			t.Fatal(err)
		}
		canon[k] = c
		if k == "run" {
			continue
		}
		s, _ := bench.LookupSetting(k)
		if err := s.Set(&cfg, v); err != nil {
			t.Fatal(err)
		}
	}
	if name == "" {
		name = selString(selectors{eq: canon})
	}
	r := reports.Run{
		Name: name, Params: canon, Config: bench.ResultConfig(cfg),
		Jobs:       reports.Jobs{Requested: 100, Accepted: 100, Completed: 100},
		Throughput: reports.Throughput{EnqueueJobsPerS: 10, CompletedJobsPerS: 10},
		LatencyMS:  map[string]reports.Percentiles{},
		Model:      reports.Model{Efficiency: 0.9},
	}
	for _, p := range points {
		r.LatencyMS[p] = reports.Percentiles{Count: 100, Min: 1, Mean: 2, P50: 2, P90: 3, P99: 4, P999: 5, Max: 6}
	}
	if f != nil {
		f(&r)
	}
	return r
}

func p99(ms float64) func(r *reports.Run) {
	return func(r *reports.Run) {
		p := r.LatencyMS[reports.PointEnqueue]
		p.P99 = ms
		r.LatencyMS[reports.PointEnqueue] = p
	}
}

func throughputOf(v float64) func(r *reports.Run) {
	return func(r *reports.Run) { r.Throughput.EnqueueJobsPerS = v }
}

func check(t *testing.T, text string, runs []reports.Run) reports.Expectation {
	t.Helper()
	e, err := ParseExpectation(text)
	if err != nil {
		t.Fatal(err)
	}
	got := e.Check(runs)
	if got.Text != text {
		t.Errorf("text %q, want %q", got.Text, text)
	}
	return got
}

func checkRuns(cs []reports.Check) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Run)
	}
	return out
}

func TestExpectationCheckAbsolute(t *testing.T) {
	runs := []reports.Run{
		measuredRun(t, "", map[string]string{"rtt": "1ms"}, p99(100)),
		measuredRun(t, "", map[string]string{"rtt": "10ms"}, p99(200)),
		measuredRun(t, "", map[string]string{"rtt": "100ms"}, p99(300)),
	}
	tests := []struct {
		text     string
		pass     bool
		measured string
		checks   []bool
	}{
		{"p99(enqueue) < 250ms", false, "worst of 3: 300 ms (rtt=100ms)", []bool{true, true, false}},
		{"p99(enqueue) < 350ms", true, "worst of 3: 300 ms (rtt=100ms)", []bool{true, true, true}},
		{"p99(enqueue) <= 0.3s", true, "worst of 3: 300 ms (rtt=100ms)", []bool{true, true, true}},
		{"p99(enqueue) >= 150ms", false, "worst of 3: 100 ms (rtt=1ms)", []bool{false, true, true}},
		{"p99(enqueue) > 50ms", true, "worst of 3: 100 ms (rtt=1ms)", []bool{true, true, true}},
		{"p99(enqueue) < 150ms", false, "worst of 3: 300 ms (rtt=100ms)", []bool{true, false, false}},
		{"p99(enqueue) == 200ms", false, "worst of 3: 100 ms (rtt=1ms)", []bool{false, true, false}},
		{"lost == 0", true, "worst of 3: 0 (rtt=1ms)", []bool{true, true, true}},
		{"accepted >= 100", true, "worst of 3: 100 (rtt=1ms)", []bool{true, true, true}},
		// Selectors and where restrict the runs checked.
		{"p99(enqueue, rtt=0.1s) < 350ms", true, "300 ms (rtt=100ms)", []bool{true}},
		{"p99(enqueue, rtt=100ms) < 250ms", false, "300 ms (rtt=100ms)", []bool{false}},
		{"p99(enqueue) < 250ms where rtt=1ms", true, "100 ms (rtt=1ms)", []bool{true}},
		// A setting the runs share but no param names: read from the recorded config.
		{"p99(enqueue, jobs=1000, batch=1) < 350ms", true, "worst of 3: 300 ms (rtt=100ms)", []bool{true, true, true}},
		{"efficiency >= 90%", true, "worst of 3: 0.90 (rtt=1ms)", []bool{true, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got := check(t, tt.text, runs)
			if got.Error != "" {
				t.Fatalf("error %q", got.Error)
			}
			if got.Pass != tt.pass || got.Measured != tt.measured {
				t.Errorf("pass %v measured %q, want %v %q", got.Pass, got.Measured, tt.pass, tt.measured)
			}
			var passes []bool
			for _, c := range got.Checks {
				passes = append(passes, c.Pass)
			}
			if !slices.Equal(passes, tt.checks) {
				t.Errorf("checks %+v, want passes %v", got.Checks, tt.checks)
			}
		})
	}
	got := check(t, "p99(enqueue) < 250ms", runs)
	want := []reports.Check{{Run: "rtt=1ms", Value: 100, Unit: "ms", Pass: true}, {Run: "rtt=10ms", Value: 200, Unit: "ms", Pass: true}, {Run: "rtt=100ms", Value: 300, Unit: "ms", Pass: false}}
	if !slices.Equal(got.Checks, want) {
		t.Errorf("checks %+v, want %+v", got.Checks, want)
	}
}

func TestExpectationCheckErrors(t *testing.T) {
	runs := []reports.Run{
		measuredRun(t, "", map[string]string{"rtt": "1ms"}, nil),
		measuredRun(t, "", map[string]string{"rtt": "100ms"}, func(r *reports.Run) { delete(r.LatencyMS, reports.PointService) }),
	}
	tests := []struct{ text, err string }{
		{"lost == 0 where rtt=5ms", "no measured run matches rtt=5ms"},
		{"p99(enqueue, batch=10) < 1s", "no measured run matches batch=10"},
		{"lost == 0 where run=drain", "no measured run matches run=drain"},
		{"drain_throughput > 1", `run "rtt=1ms" has no drain_throughput measurement`},
		{"p99(enqueue_service) < 1s where rtt=100ms", `run "rtt=100ms" has no p99 measurement`},
		{"link_rtt(client-api) < 1s", `has no link_rtt measurement`},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got := check(t, tt.text, runs)
			if got.Pass || !strings.Contains(got.Error, tt.err) || got.Measured != "—" {
				t.Errorf("pass %v measured %q error %q, want an error with %q", got.Pass, got.Measured, got.Error, tt.err)
			}
		})
	}
	if got := check(t, "lost == 0", nil); got.Pass || !strings.Contains(got.Error, "no measured run matches (no selector)") {
		t.Errorf("no runs: %+v", got)
	}
}

// wanRuns: rtt × batch, the seed's matrix, with the given enqueue throughputs.
func wanRuns(t *testing.T, tp map[string]float64) []reports.Run {
	var runs []reports.Run
	for _, rtt := range []string{"1ms", "100ms"} {
		for _, batch := range []string{"1", "100"} {
			name := "rtt=" + rtt + " batch=" + batch
			v, ok := tp[name]
			if !ok {
				continue
			}
			runs = append(runs, measuredRun(t, name, map[string]string{"rtt": rtt, "batch": batch}, throughputOf(v)))
		}
	}
	return runs
}

func TestExpectationCheckRelative(t *testing.T) {
	runs := wanRuns(t, map[string]float64{
		"rtt=1ms batch=1": 300, "rtt=1ms batch=100": 2000,
		"rtt=100ms batch=1": 9.5, "rtt=100ms batch=100": 400,
	})
	got := check(t, "throughput(batch=100) >= 10x throughput(batch=1)", runs)
	if got.Error != "" || got.Pass {
		t.Fatalf("got %+v", got)
	}
	wantRuns := []string{"rtt=1ms batch=100 vs rtt=1ms batch=1", "rtt=100ms batch=100 vs rtt=100ms batch=1"}
	if !slices.Equal(checkRuns(got.Checks), wantRuns) {
		t.Errorf("pairs %q, want %q", checkRuns(got.Checks), wantRuns)
	}
	if c := got.Checks[0]; c.Pass || c.Unit != "x" || math.Abs(c.Value-2000.0/300) > 1e-9 {
		t.Errorf("first check %+v", c)
	}
	if c := got.Checks[1]; !c.Pass || math.Abs(c.Value-400/9.5) > 1e-9 {
		t.Errorf("second check %+v", c)
	}
	if got.Measured != "worst of 2: 6.67x (rtt=1ms batch=100 vs rtt=1ms batch=1)" {
		t.Errorf("measured %q", got.Measured)
	}

	got = check(t, "throughput(batch=100) >= 10x throughput(batch=1) where rtt=100ms", runs)
	if got.Error != "" || !got.Pass || len(got.Checks) != 1 || got.Measured != "42.1x (rtt=100ms batch=100 vs rtt=100ms batch=1)" {
		t.Errorf("where rtt=100ms: %+v", got)
	}
	// The factor applies to the right side: 2000 <= 7 × 300 and 400 <= 7 × 9.5 is false.
	got = check(t, "throughput(batch=100) <= 7x throughput(batch=1)", runs)
	if got.Error != "" || got.Pass || !got.Checks[0].Pass || got.Checks[1].Pass {
		t.Errorf("<= 7x: %+v", got)
	}
	// Naming rtt on both sides pairs across it: the batch must then agree.
	got = check(t, "throughput(rtt=1ms) >= 20x throughput(rtt=100ms)", runs)
	wantRuns = []string{"rtt=1ms batch=1 vs rtt=100ms batch=1", "rtt=1ms batch=100 vs rtt=100ms batch=100"}
	if got.Error != "" || !slices.Equal(checkRuns(got.Checks), wantRuns) || !got.Checks[0].Pass || got.Checks[1].Pass {
		t.Errorf("across rtt: %+v", got)
	}

	// No partner: the rtt=1ms batch=1 run is missing.
	partial := wanRuns(t, map[string]float64{"rtt=1ms batch=100": 2000, "rtt=100ms batch=1": 9.5, "rtt=100ms batch=100": 400})
	got = check(t, "throughput(batch=100) >= 10x throughput(batch=1)", partial)
	if got.Pass || !strings.Contains(got.Error, `no run to compare "rtt=1ms batch=100" with: none matches batch=1 with its other settings`) {
		t.Errorf("no partner: %+v", got)
	}
	// where keeps to the runs that have partners.
	got = check(t, "throughput(batch=100) >= 10x throughput(batch=1) where rtt=100ms", partial)
	if got.Error != "" || !got.Pass {
		t.Errorf("no partner outside where: %+v", got)
	}
	// A partner with no measurement.
	zero := wanRuns(t, map[string]float64{"rtt=1ms batch=1": 0, "rtt=1ms batch=100": 2000})
	zero[0].Jobs.Accepted = 0
	got = check(t, "throughput(batch=100) >= 10x throughput(batch=1)", zero)
	if got.Pass || !strings.Contains(got.Error, `run "rtt=1ms batch=1" has no usable throughput measurement`) {
		t.Errorf("unmeasured partner: %+v", got)
	}
}

func TestExpectationCheckRelativeTwoPartners(t *testing.T) {
	// The left run's params name only batch; two runs with batch=1 differ in a setting the
	// left run does not have as a param, so both are its partner.
	runs := []reports.Run{
		measuredRun(t, "big", map[string]string{"batch": "100"}, throughputOf(1000)),
		measuredRun(t, "one near", map[string]string{"batch": "1", "rtt": "1ms"}, throughputOf(100)),
		measuredRun(t, "one far", map[string]string{"batch": "1", "rtt": "100ms"}, throughputOf(10)),
	}
	got := check(t, "throughput(batch=100) >= 2x throughput(batch=1)", runs)
	if got.Pass || !strings.Contains(got.Error, `2 runs match batch=1 for "big"; add selectors to pick one`) {
		t.Errorf("two partners: %+v", got)
	}
	got = check(t, "throughput(batch=100) >= 2x throughput(batch=1, rtt=100ms)", runs)
	if got.Error != "" || !got.Pass || got.Checks[0].Run != "big vs one far" || got.Checks[0].Value != 100 {
		t.Errorf("one partner picked: %+v", got)
	}
}

// The polling built-in's form: explicit runs in a matrix, paired across poll by name.
func TestExpectationCheckRelativeExplicitRuns(t *testing.T) {
	sc := mustParse(t, yml(`name: p
matrix:
	rtt: [1ms, 100ms]
	poll: [fixed, tuned]
runs:
	- name: drain
	  burst: true
	  batch: 100
	- name: other
	  batch: 1
expect:
	- drain_throughput(run=drain, poll=tuned) >= 2x drain_throughput(run=drain, poll=fixed) where rtt=100ms
`))
	runs := synthRuns(mustPlan(t, sc, false), 1)
	for i := range runs {
		switch runs[i].Name {
		case "drain rtt=100ms poll=fixed":
			runs[i].Throughput.DrainJobsPerS = 100
		case "drain rtt=100ms poll=tuned":
			runs[i].Throughput.DrainJobsPerS = 250
		}
	}
	exps, _ := sc.Check(runs)
	got := exps[0]
	if got.Error != "" || !got.Pass || len(got.Checks) != 1 ||
		got.Checks[0].Run != "drain rtt=100ms poll=tuned vs drain rtt=100ms poll=fixed" || got.Checks[0].Value != 2.5 {
		t.Errorf("%+v", got)
	}
}

func TestExpectationCheckRatio(t *testing.T) {
	runs := wanRuns(t, map[string]float64{
		"rtt=1ms batch=1": 300, "rtt=1ms batch=100": 2000,
		"rtt=100ms batch=1": 9.5, "rtt=100ms batch=100": 400,
	})
	got := check(t, "throughput(rtt=1ms, batch=1) / throughput(rtt=100ms, batch=1) >= 10", runs)
	want := reports.Check{Run: "rtt=1ms batch=1 / rtt=100ms batch=1", Value: 300 / 9.5, Unit: "x", Pass: true}
	if got.Error != "" || !got.Pass || !slices.Equal(got.Checks, []reports.Check{want}) ||
		got.Measured != "31.6x (rtt=1ms batch=1 / rtt=100ms batch=1)" {
		t.Errorf("ratio: %+v", got)
	}
	if got := check(t, "throughput(rtt=1ms, batch=1) / throughput(rtt=100ms, batch=1) >= 40", runs); got.Error != "" || got.Pass {
		t.Errorf("ratio >= 40: %+v", got)
	}
	// where applies to both sides.
	if got := check(t, "throughput(batch=100) / throughput(batch=1) >= 10 where rtt=1ms", runs); got.Error != "" || got.Pass || got.Checks[0].Value != 2000.0/300 {
		t.Errorf("ratio where: %+v", got)
	}
	// Each side must pick one run.
	got = check(t, "throughput(batch=100) / throughput(batch=1) >= 10", runs)
	if got.Pass || !strings.Contains(got.Error, "throughput: 2 runs match batch=100 (rtt=1ms batch=100; rtt=100ms batch=100); add selectors to pick one") {
		t.Errorf("ambiguous ratio: %+v", got)
	}
	got = check(t, "throughput(rtt=1ms, batch=1) / throughput(rtt=50ms, batch=1) >= 10", runs)
	if got.Pass || !strings.Contains(got.Error, "throughput: no measured run matches batch=1 rtt=50ms") {
		t.Errorf("missing denominator: %+v", got)
	}
	zero := wanRuns(t, map[string]float64{"rtt=1ms batch=1": 300, "rtt=100ms batch=1": 0})
	got = check(t, "throughput(rtt=1ms, batch=1) / throughput(rtt=100ms, batch=1) >= 10", zero)
	if got.Pass || !strings.Contains(got.Error, `throughput of "rtt=100ms batch=1" is 0: no ratio`) {
		t.Errorf("zero denominator: %+v", got)
	}
}

func TestExpectationCheckRepetitions(t *testing.T) {
	rep := func(name string, n int, p50 float64, lost int, tp float64) reports.Run {
		return measuredRun(t, name, map[string]string{"rtt": "1ms"}, func(r *reports.Run) {
			r.Repetition = n
			p := r.LatencyMS[reports.PointEnqueue]
			p.P50 = p50
			r.LatencyMS[reports.PointEnqueue] = p
			r.Jobs.Lost = lost
			r.Throughput.EnqueueJobsPerS = tp
		})
	}
	odd := []reports.Run{rep("a", 1, 10, 1, 100), rep("a", 2, 30, 0, 300), rep("a", 3, 20, 2, 200)}
	even := append(slices.Clone(odd), rep("a", 4, 40, 0, 400))
	tests := []struct {
		name  string
		runs  []reports.Run
		text  string
		pass  bool
		value float64
	}{
		{"median of 3", odd, "p50(enqueue) <= 20ms", true, 20},
		{"median of 3 fails", odd, "p50(enqueue) < 20ms", false, 20},
		{"median of 4", even, "p50(enqueue) <= 25ms", true, 25},
		{"throughput median", even, "throughput >= 250", true, 250},
		// Counts hold in every repetition; the check shows the worst one.
		{"lost in every repetition", odd, "lost <= 2", true, 2},
		{"lost in one repetition fails", odd, "lost == 0", false, 1},
		{"accepted in every repetition", even, "accepted >= 100", true, 100},
		{"accepted fails in one", even, "accepted >= 150", false, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := check(t, tt.text, tt.runs)
			if got.Error != "" || got.Pass != tt.pass || len(got.Checks) != 1 || got.Checks[0].Value != tt.value || got.Checks[0].Run != "a" {
				t.Errorf("got %+v, want pass %v value %g over one group", got, tt.pass, tt.value)
			}
		})
	}
	// A repetition without the measurement does not count toward the median.
	gap := slices.Clone(odd)
	gap[1].LatencyMS = map[string]reports.Percentiles{}
	if got := check(t, "p50(enqueue) <= 15ms", gap); got.Error != "" || got.Checks[0].Value != 15 {
		t.Errorf("median over the measured repetitions: %+v", got)
	}
	// Relative over repetitions: medians on both sides.
	both := append(slices.Clone(odd), measuredRun(t, "b", map[string]string{"rtt": "100ms"}, func(r *reports.Run) { r.Repetition, r.Throughput.EnqueueJobsPerS = 1, 10 }),
		measuredRun(t, "b", map[string]string{"rtt": "100ms"}, func(r *reports.Run) { r.Repetition, r.Throughput.EnqueueJobsPerS = 2, 30 }))
	got := check(t, "throughput(rtt=1ms) >= 10x throughput(rtt=100ms)", both)
	if got.Error != "" || !got.Pass || got.Checks[0].Value != 10 || got.Checks[0].Run != "a vs b" {
		t.Errorf("relative over repetitions: %+v", got)
	}
}

// parseEstimates parses estimates in a scenario of defaults.
func parseEstimates(t *testing.T, src string) []*EstimateDef {
	t.Helper()
	return mustParse(t, "name: e\nmatrix:\n  rtt: [1ms, 50ms, 100ms]\n  batch: [1, 100]\nestimates:\n"+yml(src)).Estimates
}

func TestEstimateAgreement(t *testing.T) {
	ests := parseEstimates(t, `	- of: throughput(rtt=100ms, batch=1)
	  value: 9.8
	- of: throughput(rtt=100ms, batch=1)
	  value: 9.8
	  tolerance: 5%
	- of: throughput(rtt=100ms, batch=100)
	  value: 250..500
	- of: throughput(rtt=1ms, batch=1) / throughput(rtt=100ms, batch=1)
	  value: 34x
	  says: 333 / 9.8
	- of: throughput(rtt=50ms, batch=1)
	  value: 20
	- of: enqueue_duration(rtt=100ms, batch=1)
	  value: 2s..4s
	- of: p50(enqueue, rtt=100ms, batch=1)
	  value: 0.1s
	  tolerance: 0.1
`)
	if len(ests) != 7 {
		t.Fatalf("%d estimates", len(ests))
	}
	if e := ests[0]; e.Low != 9.8 || e.High != 9.8 || e.Tolerance != 0.15 {
		t.Errorf("point estimate %+v", e)
	}
	if e := ests[3]; e.Low != 34 || e.High != 34 || e.Says != "333 / 9.8" {
		t.Errorf("ratio estimate %+v", e)
	}
	if e := ests[5]; e.Low != 2 || e.High != 4 {
		t.Errorf("duration range %+v", e)
	}
	if e := ests[6]; e.Low != 100 || e.Tolerance != 0.1 {
		t.Errorf("p50 estimate %+v", e)
	}
	measure := func(tp1, tp100, tpFast, enqS, p50 float64) []reports.Run {
		runs := wanRuns(t, map[string]float64{"rtt=1ms batch=1": tpFast, "rtt=100ms batch=1": tp1, "rtt=100ms batch=100": tp100})
		for i := range runs {
			if runs[i].Name == "rtt=100ms batch=1" {
				runs[i].DurationS.Enqueue = enqS
				p := runs[i].LatencyMS[reports.PointEnqueue]
				p.P50 = p50
				runs[i].LatencyMS[reports.PointEnqueue] = p
			}
		}
		return runs
	}
	type want struct {
		found, agrees bool
		measured      float64
		unit          string
	}
	tests := []struct {
		name string
		runs []reports.Run
		want []want
	}{
		{"all agree", measure(9.5, 400, 323, 3, 105), []want{
			{true, true, 9.5, "jobs/s"}, {true, true, 9.5, "jobs/s"}, {true, true, 400, "jobs/s"},
			{true, true, 34, "x"}, {false, false, 0, "jobs/s"}, {true, true, 3, "s"}, {true, true, 105, "ms"}}},
		{"all differ", measure(7, 600, 700, 5, 120), []want{
			{true, false, 7, "jobs/s"}, {true, false, 7, "jobs/s"}, {true, false, 600, "jobs/s"},
			{true, false, 100, "x"}, {false, false, 0, "jobs/s"}, {true, false, 5, "s"}, {true, false, 120, "ms"}}},
		// 9.0 is within 15% of 9.8, not within 5%; a range's bounds are exact.
		{"edges", measure(9.0, 500, 9.0*34*1.14, 2, 91), []want{
			{true, true, 9, "jobs/s"}, {true, false, 9, "jobs/s"}, {true, true, 500, "jobs/s"},
			{true, true, 34 * 1.14, "x"}, {false, false, 0, "jobs/s"}, {true, true, 2, "s"}, {true, true, 91, "ms"}}},
		{"just outside", measure(8.3, 501, 9.8*34*1.16, 1.99, 89), []want{
			{true, false, 8.3, "jobs/s"}, {true, false, 8.3, "jobs/s"}, {true, false, 501, "jobs/s"},
			{true, false, 34 * 1.16 * 9.8 / 8.3, "x"}, {false, false, 0, "jobs/s"}, {true, false, 1.99, "s"}, {true, false, 89, "ms"}}},
		{"nothing measured", nil, []want{
			{false, false, 0, "jobs/s"}, {false, false, 0, "jobs/s"}, {false, false, 0, "jobs/s"},
			{false, false, 0, "x"}, {false, false, 0, "jobs/s"}, {false, false, 0, "s"}, {false, false, 0, "ms"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, e := range ests {
				got, w := e.Estimate(tt.runs), tt.want[i]
				if got.Found != w.found || got.Agrees != w.agrees || math.Abs(got.Measured-w.measured) > 1e-9 || got.Unit != w.unit {
					t.Errorf("estimate %d (%s): found %v agrees %v measured %g unit %q; want %+v", i, e.Of, got.Found, got.Agrees, got.Measured, got.Unit, w)
				}
				if got.Of != e.Of || got.Low != e.Low || got.High != e.High {
					t.Errorf("estimate %d: %+v does not carry its definition", i, got)
				}
			}
		})
	}
}

// KEY!=VALUE selectors leave runs out: in an operand, in where, several on one key, on
// either side of a relative expectation; one that leaves out no run is refused when the
// file is read.
func TestExpectationNegatedSelectors(t *testing.T) {
	e, err := ParseExpectation("p50(enqueue, rtt!=0.001s, batch=1) < 1s where run!=a and run!=b")
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(e.left.sel.eq, map[string]string{"batch": "1"}) || !slices.Equal(e.left.sel.ne["rtt"], []string{"1ms"}) ||
		!slices.Equal(e.where.ne["run"], []string{"a", "b"}) || len(e.where.eq) != 0 {
		t.Errorf("selectors %+v where %+v", e.left.sel, e.where)
	}
	lost := func(n int) func(r *reports.Run) {
		return func(r *reports.Run) { r.Jobs.Lost, r.Jobs.Completed = n, r.Jobs.Completed-n }
	}
	runs := []reports.Run{
		measuredRun(t, "a", map[string]string{"run": "a"}, nil),
		measuredRun(t, "b", map[string]string{"run": "b"}, lost(5)),
		measuredRun(t, "c", map[string]string{"run": "c"}, nil),
	}
	for _, tt := range []struct {
		text   string
		pass   bool
		checks []string
	}{
		{"lost(run!=b) == 0", true, []string{"a", "c"}},
		{"lost == 0 where run!=b", true, []string{"a", "c"}},
		{"lost(run!=a) == 0", false, []string{"b", "c"}},
		{"lost(run!=a, run!=c) == 0", false, []string{"b"}},
		{"lost(run!=a) == 0 where run!=b", true, []string{"c"}},
	} {
		got := check(t, tt.text, runs)
		if got.Error != "" || got.Pass != tt.pass || !slices.Equal(checkRuns(got.Checks), tt.checks) {
			t.Errorf("%s: pass %v checks %v error %q, want pass %v over %v", tt.text, got.Pass, checkRuns(got.Checks), got.Error, tt.pass, tt.checks)
		}
	}
	if got := check(t, "lost(run!=a, run!=b, run!=c) == 0", runs); got.Pass || !strings.Contains(got.Error, "no measured run matches run!=a run!=b run!=c") {
		t.Errorf("every run left out: %+v", got)
	}
	// Relative: each run with rtt!=1ms is paired with the 1 ms run of its batch.
	wan := wanRuns(t, map[string]float64{
		"rtt=1ms batch=1": 300, "rtt=1ms batch=100": 2000,
		"rtt=100ms batch=1": 9.5, "rtt=100ms batch=100": 400,
	})
	got := check(t, "throughput(rtt!=1ms) <= 0.5x throughput(rtt=1ms)", wan)
	if want := []string{"rtt=100ms batch=1 vs rtt=1ms batch=1", "rtt=100ms batch=100 vs rtt=1ms batch=100"}; got.Error != "" || !got.Pass || !slices.Equal(checkRuns(got.Checks), want) {
		t.Errorf("relative with a negated selector: %+v, want checks %v", got, want)
	}
	for text, want := range map[string]string{
		"lost(run!) == 0":              "lost takes only KEY=VALUE or KEY!=VALUE selectors",
		"lost(rtt!=fast) == 0":         `rtt "fast": not a duration`,
		"lost == 0 where run":          "where: expected KEY=VALUE or KEY!=VALUE",
		"lost == 0 where run ! a":      "where: expected KEY=VALUE or KEY!=VALUE",
		"lost == 0 where colour!=blue": `where: unknown setting "colour"`,
	} {
		if _, err := ParseExpectation(text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", text, err, want)
		}
	}
	_, err = ParseScenario("test.yaml", []byte(yml(`name: n
runs:
	- name: one
	- name: two
expect:
	- lost(run!=tow) == 0
`)))
	if err == nil || !strings.Contains(err.Error(), "run!=tow leaves out no run: no run of the scenario has run=tow") {
		t.Errorf("a negated selector that leaves out nothing: %v, want refused", err)
	}
}
