package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/scenarios"
)

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A misspelled key is a usage error naming the file, its line and the valid keys.
func TestScenarioValidateMisspelledKey(t *testing.T) {
	p := writeFile(t, "bad.yaml", "name: mine\nbase:\n  bacth: 10\n  rtt: 5ms\n")
	code, _, msg := wfbench(t, "scenario", "validate", p)
	if code != exitUsage {
		t.Fatalf("exit %d, want 2: %s", code, msg)
	}
	for _, want := range []string{p + ":3:", `"bacth"`, "batch", "rtt", "concurrency", "poll"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}

	p = writeFile(t, "top.yaml", "name: mine\nbase:\n  rtt: 5ms\nexpects:\n  - lost == 0\n")
	code, _, msg = wfbench(t, "scenario", "validate", p)
	if code != exitUsage || !strings.Contains(msg, p+":4:") || !strings.Contains(msg, "expect") {
		t.Errorf("exit %d, message %q: want 2 naming line 4 and the valid keys", code, msg)
	}
}

// Every built-in is listed, shown as YAML that validates as a file of its own.
func TestScenarioListShowValidate(t *testing.T) {
	code, out, msg := wfbench(t, "scenario", "list")
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, msg)
	}
	builtins := scenarios.Builtins()
	for _, want := range []string{"seed", "polling", "pool", "async-enqueue", "compression", "wan-sweep", "faults", "stall"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %s:\n%s", want, out)
		}
	}
	for _, name := range builtins {
		code, yaml, msg := wfbench(t, "scenario", "show", name)
		if code != 0 || !strings.Contains(yaml, "name: "+name) {
			t.Errorf("show %s: exit %d %s", name, code, msg)
			continue
		}
		p := writeFile(t, name+".yaml", yaml)
		if code, out, msg := wfbench(t, "scenario", "validate", p); code != 0 || !strings.Contains(out, "is valid") {
			t.Errorf("validate shown %s: exit %d %s %s", name, code, msg, out)
		}
	}
	if code, _, msg := wfbench(t, "scenario", "show", "nope"); code != exitUsage || !strings.Contains(msg, "seed") {
		t.Errorf("show nope: exit %d, %q: want 2 listing the built-ins", code, msg)
	}
	if code, _, msg := wfbench(t, "scenario", "run", "nope"); code != exitUsage || !strings.Contains(msg, "seed") {
		t.Errorf("run nope: exit %d, %q: want 2 listing the built-ins", code, msg)
	}
}

// A scenario whose expectation fails exits 1; its report still holds every run and
// says which expectation failed and what was measured.
func TestScenarioRunExpectationDecidesExitCode(t *testing.T) {
	p := writeFile(t, "mine.yaml", `name: mine
base:
  rtt: 2ms
  jobs: 20
matrix:
  batch: [1, 10]
expect:
  - lost == 0
  - p50(enqueue) < 1us
`)
	dir := t.TempDir()
	code, out, msg := wfbench(t, "scenario", "run", p, "-o", dir, "--progress", "lines", "--set", "jobs=10")
	if code != exitCheckFailed || !strings.Contains(msg, "1 of 2 expectations failed") {
		t.Fatalf("exit %d (%s), want 1 with one failed expectation\n%s", code, msg, out)
	}
	for _, want := range []string{"[1/2] batch=1", "[2/2] batch=10", "(done)", "FAIL  p50(enqueue) < 1us", "PASS  lost == 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	res, err := reports.ReadJSON(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 2 || res.Scenario == nil || res.Scenario.Name != "mine" || len(res.Expectations) != 2 {
		t.Fatalf("result: %d runs, scenario %+v, %d expectations", len(res.Runs), res.Scenario, len(res.Expectations))
	}
	if res.Runs[1].Params["batch"] != "10" {
		t.Errorf("run params %v", res.Runs[1].Params)
	}
	for _, r := range res.Runs {
		if r.Jobs.Requested != 10 {
			t.Errorf("run %s requested %d jobs, want the --set 10", r.Name, r.Jobs.Requested)
		}
	}
	// --set on a swept setting leaves one run per remaining combination; bad ones are
	// usage errors naming the setting.
	for _, c := range []struct{ set, want string }{{"bacth=1", `did you mean "batch"`}, {"batch", "KEY=VALUE"}, {"batch=x", "not an integer"}, {"batch=5000", "from 1 to 1000"}} {
		if code, _, msg := wfbench(t, "scenario", "run", p, "--set", c.set); code != exitUsage || !strings.Contains(msg, c.want) {
			t.Errorf("--set %s: exit %d %q, want 2 with %q", c.set, code, msg, c.want)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	if !strings.Contains(string(md), "## Expectations: 1 of 2 hold") || !strings.Contains(string(md), "| FAIL | `p50(enqueue) < 1us` |") {
		t.Errorf("report.md lacks the expectations")
	}
}

// --count repeats a run and keeps every repetition.
func TestRunCount(t *testing.T) {
	dir := t.TempDir()
	code, out, msg := wfbench(t, "run", "--rtt", "1ms", "--jobs", "10", "--count", "2", "-o", dir, "--progress", "none")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, msg, out)
	}
	res, err := reports.ReadJSON(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 2 || res.Runs[0].Repetition != 1 || res.Runs[1].Repetition != 2 {
		t.Fatalf("runs %d, repetitions %d %d", len(res.Runs), res.Runs[0].Repetition, res.Runs[len(res.Runs)-1].Repetition)
	}
	if !strings.Contains(out, "rtt=1ms batch=1 #2") {
		t.Errorf("table does not number the repetitions:\n%s", out)
	}
	for _, args := range [][]string{{"run", "--count", "-1"}, {"run", "--progress", "loud"}} {
		if code, _, msg := wfbench(t, args...); code != exitUsage || !strings.Contains(msg, args[1]) {
			t.Errorf("%v: exit %d %q, want 2 naming the flag", args, code, msg)
		}
	}
}
