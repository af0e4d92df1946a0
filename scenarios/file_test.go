package scenarios

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wfbench/wfbench/bench"
	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/reports"
)

// fileErrors flattens an error returned by ParseScenario or Plan into its FileErrors,
// failing the test on any other kind of error.
func fileErrors(t *testing.T, err error) []*FileError {
	t.Helper()
	var out []*FileError
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var fe *FileError
		if !errors.As(err, &fe) {
			t.Errorf("error %q (%T) is not a *FileError", err, err)
			return
		}
		out = append(out, fe)
	}
	if err != nil {
		walk(err)
	}
	return out
}

func mustParse(t *testing.T, src string) *Scenario {
	t.Helper()
	sc, err := ParseScenario("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("ParseScenario: %v", err)
	}
	return sc
}

func mustPlan(t *testing.T, sc *Scenario, quick bool) []PlannedRun {
	t.Helper()
	plan, err := sc.Plan(quick)
	if err != nil {
		t.Fatalf("Plan(%v): %v", quick, err)
	}
	return plan
}

func runNames(plan []PlannedRun) []string {
	var out []string
	for _, p := range plan {
		out = append(out, p.Config.Name)
	}
	return out
}

// yml turns a Go raw string indented with tabs for readability into YAML (two spaces).
func yml(s string) string { return strings.ReplaceAll(s, "\t", "  ") }

// fileErrorCase is a scenario file with a mistake and what its error must say.
type fileErrorCase struct {
	name string
	src  string
	line int      // of the first error
	want []string // substrings of the whole message
}

// Keys and settings: misspelled, duplicated, badly valued, each error at its line.
func TestParseScenarioErrorsCarryFileAndLine(t *testing.T) {
	validSettings := strings.Join(bench.SettingKeys(), ", ")
	checkFileErrors(t, []fileErrorCase{
		{"misspelled top-level key", "name: x\nbase:\n  jobs: 10\nexpcet:\n  - lost == 0\n", 4,
			[]string{`test.yaml:4:`, `unknown key "expcet" (did you mean "expect"?)`, "valid keys: " + strings.Join(topKeys, ", ")}},
		{"misspelled top-level key on line 3", "name: x\ndescription: d\nbsae:\n  jobs: 10\n", 3,
			[]string{`test.yaml:3:`, `unknown key "bsae"`, "name, description, count, base, matrix, runs, phases, quick, expect, estimates"}},
		{"misspelled setting in base", "name: x\nbase:\n  jobs: 10\n  bach: 10\n", 4,
			[]string{`test.yaml:4:`, `unknown setting "bach"`, "valid settings: " + validSettings}},
		{"misspelled setting in matrix", "name: x\nmatrix:\n  rtts: [1ms]\n", 3,
			[]string{`test.yaml:3:`, `unknown setting "rtts" (did you mean "rtt"?)`, "valid settings: rtt, jitter"}},
		{"misspelled setting in a run", "name: x\nruns:\n  - name: a\n    bach: 1\n", 4,
			[]string{`test.yaml:4:`, `unknown key "bach" (did you mean "batch"?)`, "name, phases"}},
		{"bad rtt", "name: x\nbase:\n  rtt: abc\n", 3,
			[]string{`test.yaml:3:`, `rtt "abc": not a duration`, "accepted: a duration, e.g. 100ms"}},
		{"bad batch", "name: x\nbase:\n  jobs: 5\n  batch: x\n", 4,
			[]string{`test.yaml:4:`, `batch "x": not an integer`, "accepted: an integer"}},
		{"bad poll", "name: x\nbase:\n  poll: eager\n", 3,
			[]string{`test.yaml:3:`, `poll "eager"`, "accepted: one of fixed, tuned, library"}},
		{"bad topology", "name: x\nbase:\n  topology: ring\n", 3,
			[]string{`test.yaml:3:`, `topology "ring"`, "accepted: one of central, split"}},
		{"bad burst", "name: x\nbase:\n  burst: maybe\n", 3,
			[]string{`test.yaml:3:`, `burst "maybe": not a boolean`, "true or false"}},
		{"bad rate", "name: x\nbase:\n  rate: fast\n", 3,
			[]string{`test.yaml:3:`, `rate "fast"`, "jobs per second"}},
		{"bad link", "name: x\nbase:\n  link: moon=5ms\n", 3,
			[]string{`test.yaml:3:`, `unknown link "moon"`}},
		{"bad work", "name: x\nbase:\n  work: fast\n", 3,
			[]string{`test.yaml:3:`, `work "fast"`, "DURATION[:sleep|:spin]"}},
		{"bad matrix value on its own line", "name: x\nmatrix:\n  batch:\n    - 1\n    - two\n", 5,
			[]string{`test.yaml:5:`, `batch "two"`}},
		{"setting given a mapping", "name: x\nbase:\n  rtt:\n    a: 1\n", 4,
			[]string{`test.yaml:4:`, "rtt: expected a single value"}},
		{"duplicate top-level key", "name: x\nbase:\n  jobs: 1\nname: y\n", 4,
			[]string{`test.yaml:4:`, `key "name" given twice in the scenario`}},
		{"duplicate setting in base", "name: x\nbase:\n  jobs: 1\n  jobs: 2\n", 4,
			[]string{`test.yaml:4:`, `setting "jobs" given twice in base`}},
		{"duplicate matrix key", "name: x\nmatrix:\n  batch: [1]\n  batch: [2]\n", 4,
			[]string{`test.yaml:4:`, `setting "batch" given twice in matrix`}},
		{"duplicate setting in a run", "name: x\nruns:\n  - batch: 1\n    batch: 2\n", 4,
			[]string{`test.yaml:4:`, `"batch" given twice in this run`}},
		{"duplicate name in a run", "name: x\nruns:\n  - name: a\n    batch: 1\n    name: b\n", 5,
			[]string{`test.yaml:5:`, `key "name" given twice in this run`}},
		{"matrix empty list", "name: x\nmatrix:\n  batch: []\n", 3,
			[]string{`test.yaml:3:`, "matrix batch: no values"}},
		{"matrix not a mapping", "name: x\nmatrix: [1, 2]\n", 2,
			[]string{`test.yaml:2:`, "matrix: expected settings with a list of values each"}},
		{"count out of range", "name: x\ncount: 0\n", 2,
			[]string{`test.yaml:2:`, `count "0": accepted is an integer from 1 to 100`}},
		{"count not a number", "name: x\ncount: many\n", 2,
			[]string{`test.yaml:2:`, `count "many"`}},
		{"missing name", "base:\n  jobs: 10\n", 1,
			[]string{`test.yaml:1:`, "name: missing"}},
		{"runs not a list", "name: x\nruns:\n  batch: 1\n", 3,
			[]string{`test.yaml:3:`, "runs: expected a list"}},
	})
}

// Phases, estimates, expectations, the quick override and every run's settings together.
func TestParseScenarioSectionErrorsCarryFileAndLine(t *testing.T) {
	checkFileErrors(t, []fileErrorCase{
		{"phase bad fault", "name: x\nphases:\n  - link: client-api\n    at: 1s\n    fault: melt\n", 3,
			[]string{`test.yaml:3:`, `unknown fault "melt"`, "reset, blackhole, down"}},
		{"phase missing link", "name: x\nphases:\n  - at: 1s\n    latency: 1s\n", 3,
			[]string{`test.yaml:3:`, "phase: link missing; one of " + strings.Join(netem.LinkNames, ", ")}},
		{"phase unknown link", "name: x\nphases:\n  - link: moon\n    latency: 1s\n", 3,
			[]string{`test.yaml:3:`, `phase link "moon": accepted values are client-api, api-faktory`}},
		{"phase bad bandwidth", "name: x\nphases:\n  - link: client-api\n    bandwidth: fast\n", 4,
			[]string{`test.yaml:4:`, `phase bandwidth "fast"`, "e.g. 64KB/s"}},
		{"phase bad bandwidth unit", "name: x\nphases:\n  - link: client-api\n    bandwidth: 64Kb/s\n", 4,
			[]string{`test.yaml:4:`, `unit "Kb/s"`}},
		{"phase bad duration", "name: x\nphases:\n  - link: client-api\n    latency: 1s\n    at: soon\n", 5,
			[]string{`test.yaml:5:`, `phase at "soon": accepted is a duration`}},
		{"phase changes nothing", "name: x\nphases:\n  - link: client-api\n    at: 1s\n", 3,
			[]string{`test.yaml:3:`, "it changes nothing"}},
		{"phase unknown key", "name: x\nphases:\n  - link: client-api\n    latency: 1s\n    delay: 1s\n", 5,
			[]string{`test.yaml:5:`, `unknown key "delay"`, "valid keys: link, at, for"}},
		{"run phase bad fault", "name: x\nruns:\n  - name: a\n    phases:\n      - link: client-api\n        fault: melt\n", 5,
			[]string{`test.yaml:5:`, `unknown fault "melt"`}},
		{"estimate without value", "name: x\nestimates:\n  - of: throughput\n    says: fast\n", 3,
			[]string{`test.yaml:3:`, "estimate: needs of", "and value"}},
		{"estimate bad metric", "name: x\nestimates:\n  - of: speed\n    value: 1\n", 3,
			[]string{`test.yaml:3:`, `estimate of "speed"`, `unknown metric "speed"`}},
		{"estimate trailing garbage", "name: x\nestimates:\n  - of: throughput extra\n    value: 1\n", 3,
			[]string{`test.yaml:3:`, `unexpected "extra"`}},
		{"estimate bad value", "name: x\nestimates:\n  - of: p50(enqueue)\n    value: 150\n", 4,
			[]string{`test.yaml:4:`, `estimate value "150"`, "give a duration with its unit"}},
		{"estimate bad tolerance", "name: x\nestimates:\n  - of: throughput\n    value: 1\n    tolerance: lots\n", 5,
			[]string{`test.yaml:5:`, `estimate tolerance "lots"`}},
		{"estimate unknown key", "name: x\nestimates:\n  - of: throughput\n    value: 1\n    source: me\n", 5,
			[]string{`test.yaml:5:`, `unknown key "source"`}},
		{"expectation that does not parse", "name: x\nbase:\n  jobs: 5\nexpect:\n  - lost == 0\n  - p99(enqueue) < 150\n", 6,
			[]string{`test.yaml:6:`, `expect "p99(enqueue) < 150"`, "give a duration with its unit"}},
		{"expectation not a string", "name: x\nexpect:\n  - lost: 0\n", 3,
			[]string{`test.yaml:3:`, "expect: expected a single value"}},
		{"quick unknown key", "name: x\nquick:\n  jobs: 10\n", 3,
			[]string{`test.yaml:3:`, `unknown key "jobs"`, "valid keys: base, matrix, count"}},
		{"quick base bad value", "name: x\nquick:\n  base:\n    batch: x\n", 4,
			[]string{`test.yaml:4:`, `batch "x"`}},
		{"validate: batch beyond max_batch in matrix", "name: x\nbase:\n  jobs: 10\nmatrix:\n  batch: [1, 2000]\n", 5,
			[]string{`test.yaml:5:`, `run "batch=2000"`, "batch 2000: accepted is an integer from 1 to 1000"}},
		{"validate: batch beyond max_batch in base", "name: x\nbase:\n  jobs: 10\n  batch: 2000\n", 2,
			[]string{`test.yaml:2:`, `run "rtt=0ms batch=2000"`, "batch 2000"}},
		{"validate: batch beyond max_batch in a run", "name: x\nruns:\n  - name: ok\n  - name: big\n    batch: 2000\n", 4,
			[]string{`test.yaml:4:`, `run "big"`, "batch 2000"}},
		{"validate: quick only", "name: x\nbase:\n  jobs: 10\nquick:\n  base:\n    rtt: 5s\n", 2,
			[]string{`test.yaml:2:`, `(quick)`, "rtt 5s"}},
		{"validate: jobs 0 without duration", "name: x\nruns:\n  - name: a\n    jobs: 0\n", 3,
			[]string{`test.yaml:3:`, `run "a"`, "jobs 0 needs duration"}},
		{"two explicit runs with the same name", "name: x\nruns:\n  - name: a\n    batch: 1\n  - name: a\n    batch: 10\n", 5,
			[]string{`test.yaml:5:`, `two runs are both named "a" (the other at line 3)`}},
	})
}

// checkFileErrors parses each case's file: it must fail with nothing returned beside the
// error, the first error at the case's line, every error a *FileError of the file.
func checkFileErrors(t *testing.T, tests []fileErrorCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := ParseScenario("test.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("no error; plan %v", sc)
			}
			if sc != nil {
				t.Errorf("a scenario returned beside the error")
			}
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %q is not a *FileError", err)
			}
			if fe.File != "test.yaml" || fe.Line != tt.line {
				t.Errorf("first error at %s:%d, want test.yaml:%d (%v)", fe.File, fe.Line, tt.line, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
			for _, fe := range fileErrors(t, err) {
				if fe.File != "test.yaml" {
					t.Errorf("error %q names file %q", fe, fe.File)
				}
			}
		})
	}
}

func TestParseScenarioReportsEveryError(t *testing.T) {
	src := `name: several
base:
  rtt: abc
  bach: 10
matrix:
  batch: []
phases:
  - link: moon
    latency: 1s
expect:
  - lost == 0
  - latency < 5ms
estimates:
  - of: throughput
bogus: 1
`
	_, err := ParseScenario("s.yaml", []byte(src))
	if err == nil {
		t.Fatal("no error")
	}
	var got []string
	for _, fe := range fileErrors(t, err) {
		got = append(got, fmt.Sprintf("%d", fe.Line))
	}
	want := []string{"15", "3", "4", "6", "8", "12", "14"}
	if !slices.Equal(got, want) {
		t.Errorf("error lines %v, want %v:\n%v", got, want, err)
	}
	for _, w := range []string{`s.yaml:15: unknown key "bogus"`, `s.yaml:3: rtt "abc"`, `s.yaml:4: unknown setting "bach"`,
		`s.yaml:6: matrix batch: no values`, `s.yaml:8: phase link "moon"`, `s.yaml:12: expect "latency < 5ms"`, `s.yaml:14: estimate: needs`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
}

func TestParseScenarioEmptyAndNotYAML(t *testing.T) {
	tests := []struct {
		name, src string
		want      string
	}{
		{"empty", "", "t.yaml: empty file"},
		{"only a comment", "# nothing here\n", "t.yaml: empty file"},
		{"not YAML", "name: [x\n", "t.yaml:1: not valid YAML: did not find"},
		{"tab indentation", "name: x\nbase:\n\tjobs: 1\n", "t.yaml:3: not valid YAML"},
		{"a list, not a mapping", "- a\n- b\n", "t.yaml:1: the scenario: expected a mapping of keys (name, description"},
		{"a bare word", "hello\n", "t.yaml:1: the scenario: expected a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScenario("t.yaml", []byte(tt.src))
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FileError", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %q, want it to start with %q", err, tt.want)
			}
		})
	}
}

func TestParseScenarioFields(t *testing.T) {
	sc := mustParse(t, yml(`# a comment
name: fields
description: >-
	two
	lines
count: 3
base:
	jobs: 10
expect:
	- lost == 0
	- p99(enqueue) < 1s
estimates:
	- of: throughput
	  value: 9.8
	  says: s
	  why: w
	  tolerance: 5%
`))
	if sc.Name != "fields" || sc.Description != "two lines" || sc.Count != 3 || sc.Source != "test.yaml" {
		t.Errorf("got name %q description %q count %d source %q", sc.Name, sc.Description, sc.Count, sc.Source)
	}
	if len(sc.Expectations) != 2 || sc.Expectations[1].Text != "p99(enqueue) < 1s" {
		t.Errorf("expectations %+v", sc.Expectations)
	}
	if len(sc.Estimates) != 1 {
		t.Fatalf("estimates %+v", sc.Estimates)
	}
	e := sc.Estimates[0]
	if e.Of != "throughput" || e.Low != 9.8 || e.High != 9.8 || e.Says != "s" || e.Why != "w" || e.Tolerance != 0.05 {
		t.Errorf("estimate %+v", e)
	}
	info := sc.Info(true, 2)
	if *info != (reports.Scenario{Name: "fields", Description: "two lines", Source: "test.yaml", Quick: true, Count: 2}) {
		t.Errorf("Info: %+v", info)
	}
}

func TestParseBandwidth(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  string
	}{
		{"64KB/s", 64000, ""},
		{"64kB/s", 64000, ""},
		{"1MB/s", 1000000, ""},
		{"1MiB/s", 1 << 20, ""},
		{"2KiB/s", 2048, ""},
		{"500000", 500000, ""},
		{"100B/s", 100, ""},
		{" 1.5MB/s ", 1500000, ""},
		{"0", 0, "positive rate"},
		{"-5KB/s", 0, "positive rate"},
		{"fast", 0, "positive rate"},
		{"64Kbit/s", 0, `unit "Kbit/s"`},
	}
	for _, tt := range tests {
		got, err := ParseBandwidth(tt.in)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("ParseBandwidth(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseBandwidth(%q) error %v, want %q", tt.in, err, tt.err)
		}
	}
}

func TestPlanMatrixOrderNamesAndParams(t *testing.T) {
	sc := mustParse(t, yml(`name: m
base:
	jobs: 10
	concurrency: 2
matrix:
	rtt: [1ms, 0.1s]
	batch: [1, 10]
	target: [api]
`))
	plan := mustPlan(t, sc, false)
	want := []string{
		"rtt=1ms batch=1 target=api", "rtt=1ms batch=10 target=api",
		"rtt=100ms batch=1 target=api", "rtt=100ms batch=10 target=api",
	}
	if got := runNames(plan); !slices.Equal(got, want) {
		t.Fatalf("names %q, want %q", got, want)
	}
	last := plan[3]
	if !maps.Equal(last.Params, map[string]string{"rtt": "100ms", "batch": "10", "target": "api"}) {
		t.Errorf("params %v", last.Params)
	}
	c := last.Config
	if c.RTT != 100*time.Millisecond || c.Batch != 10 || c.Jobs != 10 || c.Concurrency != 2 || c.Target != bench.TargetAPI {
		t.Errorf("config %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("planned config does not validate: %v", err)
	}
	// A single value need not be a list.
	sc = mustParse(t, "name: s\nmatrix:\n  batch: 5\n")
	if got := runNames(mustPlan(t, sc, false)); !slices.Equal(got, []string{"batch=5"}) {
		t.Errorf("scalar axis: %q", got)
	}
}

func TestPlanBaseOnly(t *testing.T) {
	sc := mustParse(t, "name: b\nbase:\n  rtt: 20ms\n  batch: 10\n  poll: tuned\n")
	plan := mustPlan(t, sc, false)
	if len(plan) != 1 {
		t.Fatalf("%d runs, want 1", len(plan))
	}
	if plan[0].Config.Name != "rtt=20ms batch=10 poll=tuned" || len(plan[0].Params) != 0 {
		t.Errorf("name %q params %v", plan[0].Config.Name, plan[0].Params)
	}
	// A file with a name alone is the defaults, once.
	plan = mustPlan(t, mustParse(t, "name: bare\n"), false)
	if len(plan) != 1 || plan[0].Config.Name != "rtt=0ms batch=1" || plan[0].Config.Jobs != bench.Default().Jobs {
		t.Errorf("bare plan %+v", plan)
	}
}

func TestPlanExplicitRunsWithMatrix(t *testing.T) {
	sc := mustParse(t, yml(`name: r
base:
	jobs: 10
	batch: 5
matrix:
	rtt: [1ms, 100ms]
runs:
	- name: small
	  batch: 1
	- name: big
	  jobs: 200
	  batch: 100
`))
	plan := mustPlan(t, sc, false)
	want := []string{"small rtt=1ms", "big rtt=1ms", "small rtt=100ms", "big rtt=100ms"}
	if got := runNames(plan); !slices.Equal(got, want) {
		t.Fatalf("names %q, want %q", got, want)
	}
	big := plan[3]
	if !maps.Equal(big.Params, map[string]string{"run": "big", "rtt": "100ms", "jobs": "200", "batch": "100"}) {
		t.Errorf("params %v", big.Params)
	}
	if big.Config.Jobs != 200 || big.Config.Batch != 100 || big.Config.RTT != 100*time.Millisecond {
		t.Errorf("config %+v", big.Config)
	}
	small := plan[0]
	if !maps.Equal(small.Params, map[string]string{"run": "small", "rtt": "1ms", "batch": "1"}) {
		t.Errorf("params %v", small.Params)
	}
	if small.Config.Jobs != 10 || small.Config.Batch != 1 {
		t.Errorf("config %+v", small.Config)
	}
}

func TestPlanExplicitRunsWithoutNames(t *testing.T) {
	sc := mustParse(t, yml(`name: r
runs:
	- batch: 1
	- batch: 10
	  concurrency: 2
`))
	plan := mustPlan(t, sc, false)
	if got := runNames(plan); !slices.Equal(got, []string{"batch=1", "batch=10 concurrency=2"}) {
		t.Errorf("names %q", got)
	}
	if !maps.Equal(plan[1].Params, map[string]string{"batch": "10", "concurrency": "2"}) {
		t.Errorf("params %v", plan[1].Params)
	}
	if _, ok := plan[0].Params["run"]; ok {
		t.Errorf("unnamed run has a run param: %v", plan[0].Params)
	}
	// Two runs that differ in nothing have the same name.
	_, err := ParseScenario("d.yaml", []byte("name: d\nruns:\n  - batch: 1\n  - batch: 1\n"))
	if err == nil || !strings.Contains(err.Error(), `two runs are both named "batch=1"`) {
		t.Errorf("error %v", err)
	}
}

func TestPlanQuickOverride(t *testing.T) {
	sc := mustParse(t, yml(`name: q
count: 3
base:
	jobs: 1000
	rtt: 10ms
matrix:
	rtt: [1ms, 100ms]
	batch: [1, 10]
quick:
	count: 1
	base:
		jobs: 50
	matrix:
		rtt: [5ms]
		concurrency: [1, 2]
`))
	full := mustPlan(t, sc, false)
	if got := runNames(full); !slices.Equal(got, []string{"rtt=1ms batch=1", "rtt=1ms batch=10", "rtt=100ms batch=1", "rtt=100ms batch=10"}) {
		t.Errorf("full names %q", got)
	}
	for _, p := range full {
		if p.Config.Jobs != 1000 {
			t.Errorf("full %s: jobs %d", p.Config.Name, p.Config.Jobs)
		}
	}
	quick := mustPlan(t, sc, true)
	want := []string{
		"rtt=5ms batch=1 concurrency=1", "rtt=5ms batch=1 concurrency=2",
		"rtt=5ms batch=10 concurrency=1", "rtt=5ms batch=10 concurrency=2",
	}
	if got := runNames(quick); !slices.Equal(got, want) {
		t.Errorf("quick names %q, want %q", got, want)
	}
	for _, p := range quick {
		if p.Config.Jobs != 50 || p.Config.RTT != 5*time.Millisecond {
			t.Errorf("quick %s: jobs %d rtt %s", p.Config.Name, p.Config.Jobs, p.Config.RTT)
		}
	}
	// The full plan is not changed by planning the quick one.
	if got := runNames(mustPlan(t, sc, false)); !slices.Equal(got, runNames(full)) {
		t.Errorf("full plan changed after quick: %q", got)
	}
}

func TestPlanQuickBaseOverridesRunSettings(t *testing.T) {
	sc := mustParse(t, yml(`name: qr
base:
	jobs: 300
runs:
	- name: a
	  jobs: 2000
	  batch: 10
	- name: b
	  jobs: 0
	  duration: 10s
quick:
	base:
		jobs: 100
		duration: 2s
`))
	full := mustPlan(t, sc, false)
	if full[0].Config.Jobs != 2000 || full[1].Config.Jobs != 0 || full[1].Config.Duration != 10*time.Second {
		t.Errorf("full: a jobs %d, b jobs %d duration %s", full[0].Config.Jobs, full[1].Config.Jobs, full[1].Config.Duration)
	}
	if full[0].Params["jobs"] != "2000" {
		t.Errorf("full params %v", full[0].Params)
	}
	quick := mustPlan(t, sc, true)
	a, b := quick[0], quick[1]
	if a.Config.Jobs != 100 || a.Config.Batch != 10 || a.Config.Duration != 2*time.Second {
		t.Errorf("quick a: %+v", a.Config)
	}
	if b.Config.Jobs != 100 || b.Config.Duration != 2*time.Second {
		t.Errorf("quick b: %+v", b.Config)
	}
	// The params are what the run measures.
	if a.Params["jobs"] != "100" || b.Params["duration"] != "2s" {
		t.Errorf("quick params %v %v", a.Params, b.Params)
	}
	if a.Config.Name != "a" || b.Config.Name != "b" {
		t.Errorf("names %q %q", a.Config.Name, b.Config.Name)
	}
}

func TestPlanRepetitions(t *testing.T) {
	withQuick := mustParse(t, "name: r\ncount: 3\nquick:\n  count: 2\n")
	noQuickCount := mustParse(t, "name: r\ncount: 3\nquick:\n  base:\n    jobs: 5\n")
	noQuick := mustParse(t, "name: r\n")
	tests := []struct {
		sc    *Scenario
		quick bool
		flag  int
		want  int
	}{
		{withQuick, false, 0, 3},
		{withQuick, true, 0, 2},
		{withQuick, true, 5, 5},
		{withQuick, false, 7, 7},
		{noQuickCount, true, 0, 3},
		{noQuick, false, 0, 1},
		{noQuick, true, 0, 1},
		{noQuick, true, 4, 4},
	}
	for i, tt := range tests {
		if got := tt.sc.Repetitions(tt.quick, tt.flag); got != tt.want {
			t.Errorf("case %d: Repetitions(%v, %d) = %d, want %d", i, tt.quick, tt.flag, got, tt.want)
		}
	}
}

func TestPlanOpenLoopDefaultConcurrency(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		quick bool
		want  []int
	}{
		{"rate without concurrency", "name: o\nbase:\n  rate: 50\n", false, []int{bench.OpenLoopInFlight}},
		{"rate with concurrency", "name: o\nbase:\n  rate: 50\n  concurrency: 3\n", false, []int{3}},
		{"closed loop", "name: o\nbase:\n  jobs: 10\n", false, []int{1}},
		{"rate in matrix", "name: o\nmatrix:\n  rate: [0, 20]\n", false, []int{1, bench.OpenLoopInFlight}},
		{"run sets concurrency", "name: o\nbase:\n  rate: 50\nruns:\n  - name: a\n    concurrency: 4\n  - name: b\n", false, []int{4, bench.OpenLoopInFlight}},
		{"matrix sets concurrency", "name: o\nbase:\n  rate: 50\nmatrix:\n  concurrency: [1, 7]\n", false, []int{1, 7}},
		{"quick base sets concurrency", "name: o\nbase:\n  rate: 50\nquick:\n  base:\n    concurrency: 5\n", true, []int{5}},
		{"quick base sets rate", "name: o\nquick:\n  base:\n    rate: 20\n", true, []int{bench.OpenLoopInFlight}},
		{"quick base sets rate, full closed", "name: o\nquick:\n  base:\n    rate: 20\n", false, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			for _, p := range mustPlan(t, mustParse(t, tt.src), tt.quick) {
				got = append(got, p.Config.Concurrency)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("concurrency %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPlanPhases(t *testing.T) {
	sc := mustParse(t, yml(`name: ph
base:
	topology: split
	rtt: 10ms
phases:
	- link: client-api
	  at: 1s
	  for: 2s
	  latency: 1s
	  jitter: 5ms
runs:
	- name: a
	- name: b
	  phases:
		- link: api-faktory
		  at: 500ms
		  for: 1s
		  fault: down
		- link: worker-faktory
		  bandwidth: 1MiB/s
`))
	plan := mustPlan(t, sc, false)
	if len(plan) != 2 {
		t.Fatalf("%d runs", len(plan))
	}
	scenarioPhase := bench.Phase{Link: netem.ClientAPI, At: time.Second, For: 2 * time.Second,
		Condition: netem.Condition{Latency: time.Second, Jitter: 5 * time.Millisecond}}
	a, b := plan[0].Config.Phases, plan[1].Config.Phases
	if !slices.Equal(a, []bench.Phase{scenarioPhase}) {
		t.Errorf("a phases %+v", a)
	}
	wantB := []bench.Phase{
		scenarioPhase,
		{Link: netem.APIFaktory, At: 500 * time.Millisecond, For: time.Second, Condition: netem.Condition{Fault: netem.FaultDown}},
		{Link: netem.WorkerFaktory, Condition: netem.Condition{Bandwidth: 1 << 20}},
	}
	if !slices.Equal(b, wantB) {
		t.Errorf("b phases %+v, want %+v", b, wantB)
	}
	// Each run has its own slice.
	a[0].Link = "changed"
	if plan[1].Config.Phases[0].Link != netem.ClientAPI {
		t.Error("runs share their phases' backing array")
	}
	if again := mustPlan(t, sc, false); again[0].Config.Phases[0].Link != netem.ClientAPI {
		t.Error("a plan shares phases with the scenario")
	}
}

func TestPlanLinks(t *testing.T) {
	sc := mustParse(t, yml(`name: l
base:
	link:
		- client-api=20ms
		- api-faktory=0.03s,jitter=3ms
runs:
	- name: inherit
	- name: replace
	  link: worker-faktory=5ms
`))
	plan := mustPlan(t, sc, false)
	wantInherit := []netem.Spec{{Name: netem.ClientAPI, RTT: 20 * time.Millisecond}, {Name: netem.APIFaktory, RTT: 30 * time.Millisecond, Jitter: 3 * time.Millisecond}}
	if got := plan[0].Config.Links; !slices.Equal(got, wantInherit) {
		t.Errorf("inherit links %+v", got)
	}
	if got := plan[1].Config.Links; !slices.Equal(got, []netem.Spec{{Name: netem.WorkerFaktory, RTT: 5 * time.Millisecond}}) {
		t.Errorf("replace links %+v", got)
	}
	if got := plan[1].Params["link"]; got != "worker-faktory=5ms" {
		t.Errorf("replace link param %q", got)
	}
	// A matrix over links, one of them a list of two.
	sc = mustParse(t, yml(`name: lm
matrix:
	link:
		- client-api=1ms
		- [client-api=100ms, "worker-faktory=50ms,jitter=1ms"]
`))
	plan = mustPlan(t, sc, false)
	if got := runNames(plan); !slices.Equal(got, []string{"link=client-api=1ms", "link=client-api=100ms worker-faktory=50ms,jitter=1ms"}) {
		t.Errorf("names %q", got)
	}
	if len(plan[1].Config.Links) != 2 {
		t.Errorf("links %+v", plan[1].Config.Links)
	}
}

// Every built-in parses, plans in full and quick mode, and its name is its file's.
func TestBuiltinsParseAndPlan(t *testing.T) {
	names := Builtins()
	if len(names) < 8 {
		t.Fatalf("built-ins %v", names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			src, ok := BuiltinSource(name)
			if !ok {
				t.Fatal("no source")
			}
			sc := mustParse(t, string(src))
			if sc.Name != name {
				t.Errorf("name %q in file %s.yaml", sc.Name, name)
			}
			if sc.Description == "" {
				t.Error("no description")
			}
			if len(sc.Expectations) == 0 {
				t.Error("no expectations")
			}
			full, quick := mustPlan(t, sc, false), mustPlan(t, sc, true)
			if len(quick) == 0 || len(quick) > len(full) {
				t.Errorf("%d quick runs, %d full", len(quick), len(full))
			}
			for _, p := range append(slices.Clone(full), quick...) {
				if err := p.Config.Validate(); err != nil {
					t.Errorf("%s: %v", p.Config.Name, err)
				}
			}
			loaded, err := Load(name)
			if err != nil || loaded.Source != "built-in "+name {
				t.Errorf("Load(%q): %v, source %q", name, err, loaded.Source)
			}
		})
	}
	if _, err := Load("no-such-scenario"); !errors.Is(err, ErrNoScenario) {
		t.Errorf("Load(no-such-scenario): %v", err)
	}
}

// A directory named like a built-in (an earlier run's output, say) is not a scenario
// file: the name still loads the built-in.
func TestLoadBuiltinBesideDirectoryOfItsName(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.Mkdir("stall", 0o755); err != nil {
		t.Fatal(err)
	}
	sc, err := Load("stall")
	if err != nil || sc.Source != "built-in stall" {
		t.Fatalf("Load(stall) beside a directory stall: %v", err)
	}
}

// synthRuns fakes measured runs for a plan: plausible, non-zero figures everywhere, so that
// an expectation can only fail to be checked if it selects runs that do not exist.
func synthRuns(plan []PlannedRun, reps int) []reports.Run {
	var out []reports.Run
	for rep := 1; rep <= reps; rep++ {
		for i, p := range plan {
			f := float64(i + 1)
			r := reports.Run{
				Name: p.Config.Name, Params: p.Params, Config: bench.ResultConfig(p.Config),
				Jobs:       reports.Jobs{Requested: 100, Accepted: 100, Completed: 100},
				DurationS:  reports.Durations{Enqueue: 1 + f, Total: 2 + f},
				Throughput: reports.Throughput{EnqueueJobsPerS: 100 * f, CompletedJobsPerS: 90 * f},
				LatencyMS:  map[string]reports.Percentiles{},
				Model:      reports.Model{Efficiency: 0.9, MeasuredEnqueueRTTMS: 1},
			}
			if p.Config.Burst {
				r.Throughput.DrainJobsPerS = 80 * f
			}
			for _, pt := range points {
				r.LatencyMS[pt] = reports.Percentiles{Count: 100, Min: f, Mean: 2 * f, P50: 2 * f, P90: 3 * f, P99: 4 * f, P999: 5 * f, Max: 6 * f}
			}
			for _, l := range netem.LinkNames {
				r.Links = append(r.Links, reports.Link{Name: l, MeasuredRTTMS: f, BytesUp: 1000 * int64(i+1), BytesDown: 500})
			}
			if reps > 1 {
				r.Repetition = rep
			}
			out = append(out, r)
		}
	}
	return out
}

// Every expectation and estimate of every built-in selects runs its plan has: a typo in a
// selector would leave it with nothing (or too much) to check.
func TestBuiltinSelectorsMatchPlannedRuns(t *testing.T) {
	for _, name := range Builtins() {
		for _, quick := range []bool{false, true} {
			for _, reps := range []int{1, 2} {
				t.Run(fmt.Sprintf("%s/quick=%v/reps=%d", name, quick, reps), func(t *testing.T) {
					src, _ := BuiltinSource(name)
					sc := mustParse(t, string(src))
					runs := synthRuns(mustPlan(t, sc, quick), reps)
					exps, ests := sc.Check(runs)
					if len(exps) != len(sc.Expectations) || len(ests) != len(sc.Estimates) {
						t.Fatalf("%d expectations, %d estimates checked", len(exps), len(ests))
					}
					for _, e := range exps {
						if e.Error != "" || len(e.Checks) == 0 {
							t.Errorf("expect %q: error %q, %d checks", e.Text, e.Error, len(e.Checks))
						}
					}
					for _, e := range ests {
						if !e.Found {
							t.Errorf("estimate of %q: not found", e.Of)
						}
					}
				})
			}
		}
	}
}

func TestCanonicalForms(t *testing.T) {
	tests := []struct {
		key, in, want string
		err           string
	}{
		{"rtt", "0.1s", "100ms", ""},
		{"rtt", "100ms", "100ms", ""},
		{"rtt", "100000us", "100ms", ""},
		{"rtt", "0", "0ms", ""},
		{"rtt", "1.5s", "1.5s", ""},
		{"jitter", "1000us", "1ms", ""},
		{"duration", "90s", "1m30s", ""},
		{"batch", "100", "100", ""},
		{"batch", "1e2", "", `batch "1e2": not an integer; accepted: an integer, e.g. 100`},
		{"rate", "200/s", "200", ""},
		{"rate", "2.50", "2.5", ""},
		{"burst", "1", "true", ""},
		{"burst", "False", "false", ""},
		{"poll", "tuned", "tuned", ""},
		{"poll", "eager", "", `poll "eager": not a known value; accepted: one of fixed, tuned, library`},
		{"link", "api-faktory=0.02s,jitter=2000us", "api-faktory=20ms,jitter=2ms", ""},
		{"work", "2000us", "2ms", ""},
		{"work", "2ms:sleep", "2ms", ""},
		{"work", "0.5ms:spin", "500µs:spin", ""},
		{"work", "0", "0ms", ""},
		{"faktory_url", "tcp://:secret@host:7419", "tcp://@host:7419", ""},
		{"faktory_url", "tcp://host:7419", "tcp://host:7419", ""},
		{"run", "drain", "drain", ""},
		{"colour", "red", "", `unknown setting "colour"; valid settings: rtt, jitter,`},
	}
	for _, tt := range tests {
		got, err := canonical(tt.key, tt.in)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("canonical(%s, %q) = %q, %v; want %q", tt.key, tt.in, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("canonical(%s, %q) error %v, want %q", tt.key, tt.in, err, tt.err)
		}
	}
}

// The settings read back from a result's recorded configuration are those the plan
// gave, in the same canonical form: expectations select runs from result.json alone.
func TestCanonicalRoundTripThroughResult(t *testing.T) {
	// Settings a result does not record: they can select runs only through the params.
	var plans []PlannedRun
	for _, name := range Builtins() {
		src, _ := BuiltinSource(name)
		sc := mustParse(t, string(src))
		plans = append(plans, mustPlan(t, sc, false)...)
		plans = append(plans, mustPlan(t, sc, true)...)
	}
	odd := mustParse(t, yml(`name: odd
base:
	jobs: 0
	topology: split
matrix:
	rtt: [0.1s, 1001us]
	duration: [1.001s, 4.35s]
runs:
	- jitter: 1000us
	  rate: 200/s
	  work: 2000us
	  link: client-api=0.02s,jitter=2ms
	  burst: "1"
	  faktory_url: tcp://:secret@localhost:7419
	  pool_size: 7
	  worker_concurrency: 3
	  poll: tuned
	  enqueue_mode: async
	  max_batch: 500
	  flush_interval: 0.023s
	  poll_interval: 310000us
	  drain_timeout: 2m
	  interval: 0.5s
	- target: faktory
	  compression: none
	  concurrency: 4
`))
	plans = append(plans, mustPlan(t, odd, false)...)
	checked := map[string]bool{}
	for _, p := range plans {
		got := bench.SettingsOf(&reports.Run{Config: bench.ResultConfig(p.Config)}) // no params: the config alone
		for k, v := range p.Params {
			if k == "run" {
				continue
			}
			checked[k] = true
			if got[k] != v {
				t.Errorf("%s: %s read back as %q, planned %q", p.Config.Name, k, got[k], v)
			}
		}
		// Every setting, given or default, reads back as the plan's configuration has it.
		for _, s := range bench.Settings() {
			if want := s.Get(p.Config); got[s.Key] != want {
				t.Errorf("%s: %s read back as %q, configured %q", p.Config.Name, s.Key, got[s.Key], want)
			}
		}
		// With the params recorded, they win.
		withParams := bench.SettingsOf(&reports.Run{Config: bench.ResultConfig(p.Config), Params: p.Params})
		for k, v := range p.Params {
			if withParams[k] != v {
				t.Errorf("%s: param %s = %q, read back %q", p.Config.Name, k, v, withParams[k])
			}
		}
	}
	for _, k := range []string{"rtt", "jitter", "duration", "rate", "work", "link", "burst", "faktory_url", "target", "poll", "enqueue_mode", "batch", "concurrency", "pool_size"} {
		if !checked[k] {
			t.Errorf("no planned run has param %s", k)
		}
	}
	// Nothing secret in names or params.
	for _, p := range plans {
		if strings.Contains(p.Config.Name, "secret") || strings.Contains(fmt.Sprint(p.Params), "secret") {
			t.Errorf("password in %q %v", p.Config.Name, p.Params)
		}
	}
}

// --set overrides every run's setting; on a swept setting it leaves one value on the axis.
func TestPlanOverride(t *testing.T) {
	sc, err := ParseScenario("o.yaml", []byte("name: o\nbase:\n  jobs: 100\nmatrix:\n  rtt: [1ms, 100ms]\n  batch: [1, 100]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range []string{"rtt=20ms", "jobs=7", "link=api-faktory=5ms", "link=worker-faktory=3ms"} {
		if err := sc.Override(kv); err != nil {
			t.Fatalf("Override(%s): %v", kv, err)
		}
	}
	plan, err := sc.Plan(false)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range plan {
		names = append(names, p.Config.Name)
		if p.Config.RTT != 20*time.Millisecond || p.Config.Jobs != 7 || len(p.Config.Links) != 2 || p.Params["rtt"] != "20ms" {
			t.Errorf("%s: rtt %s jobs %d links %v params %v", p.Config.Name, p.Config.RTT, p.Config.Jobs, p.Config.Links, p.Params)
		}
	}
	if want := []string{"rtt=20ms batch=1", "rtt=20ms batch=100"}; !slices.Equal(names, want) {
		t.Errorf("runs %v, want %v", names, want)
	}
	for _, bad := range []string{"rtt", "=5ms", "rttt=5ms", "rtt=abc"} {
		if err := sc.Override(bad); err == nil {
			t.Errorf("Override(%q) accepted", bad)
		}
	}
}

func TestIntervalPlanned(t *testing.T) {
	sc := mustParse(t, yml(`name: iv
base:
	jobs: 10
	interval: 250ms
`))
	plan := mustPlan(t, sc, false)
	if plan[0].Config.Interval != 250*time.Millisecond {
		t.Errorf("planned interval %s", plan[0].Config.Interval)
	}
}

// A matrix whose product is too large is refused before it is expanded: 10^5 runs from
// a few lines once took a minute and 3 GB to plan.
func TestMatrixTooLarge(t *testing.T) {
	ten := "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"
	src := yml(`name: x
base:
	jobs: 10
matrix:
	batch: ` + ten + `
	concurrency: ` + ten + `
	jobs: ` + ten + `
	worker_concurrency: ` + ten + `
	pool_size: ` + ten + `
`)
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := ParseScenario("test.yaml", []byte(src))
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "test.yaml:5: the matrix expands to 100000 runs") || !strings.Contains(err.Error(), "at most 1000") {
		t.Errorf("Plan: %v, want the product named and the limit", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 || time.Since(start) > time.Second {
		t.Errorf("refusing took %s and %d bytes: the matrix was expanded", time.Since(start), alloc)
	}
}
