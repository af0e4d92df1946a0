package reports

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

func renderMarkdown(t *testing.T, res *Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteMarkdown(&b, res); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// sections splits the report at "## Run: " headings, keyed by run name.
func sections(md string) map[string]string {
	out := map[string]string{}
	parts := strings.Split(md, "\n## Run: ")
	for _, p := range parts[1:] {
		name, body, _ := strings.Cut(p, "\n")
		if i := strings.Index(body, "\n## "); i >= 0 {
			body = body[:i]
		}
		out[name] = body
	}
	return out
}

func TestWriteMarkdown(t *testing.T) {
	res := testResult(t)
	md := renderMarkdown(t, res)

	if !strings.Contains(md, "| "+strings.Join(summaryHeader(false), " | ")+" |\n|---|---:|") {
		t.Errorf("summary table header missing:\n%s", md)
	}
	secs := sections(md)
	if len(secs) != len(res.Runs) {
		t.Fatalf("got %d run sections, want %d", len(secs), len(res.Runs))
	}
	const warn = "**Warning: faster than the network floor: a measurement error, not a win.**"
	const lag = "schedule lag max"
	for _, r := range res.Runs {
		sec, ok := secs[r.Name]
		if !ok {
			t.Fatalf("no section for run %q", r.Name)
		}
		if got := strings.Contains(sec, warn); got != r.Model.BeatsFloor {
			t.Errorf("run %q: floor warning present=%v, BeatsFloor=%v", r.Name, got, r.Model.BeatsFloor)
		}
		if got := strings.Contains(sec, lag); got != (r.Schedule != nil) {
			t.Errorf("run %q: schedule lag line present=%v, open loop=%v", r.Name, got, r.Schedule != nil)
		}
		if got := strings.Contains(sec, "| "+PointService+" |"); got != (r.Schedule != nil) {
			t.Errorf("run %q: %s row present=%v", r.Name, PointService, got)
		}
		// The percentile row carries the histogram's own p99.
		p := r.LatencyMS[PointEndToEnd]
		if !strings.Contains(sec, "| end_to_end | 1000 | "+fmtMS(p.Min)+" |") ||
			!strings.Contains(sec, " | "+fmtMS(p.P99)+" | ") {
			t.Errorf("run %q: end_to_end row lacks min %s / p99 %s", r.Name, fmtMS(p.Min), fmtMS(p.P99))
		}
	}
	if !strings.Contains(secs["rtt=1ms batch=1"], "`rtt_ms=1` · `topology=central`") ||
		strings.Contains(secs["rtt=1ms batch=1"], "rate_per_s") {
		t.Errorf("configuration should list exactly the non-zero fields:\n%s", secs["rtt=1ms batch=1"])
	}
	if !strings.Contains(md, "only rtt_ms differs: 100 vs 1") {
		t.Errorf("findings lack the single-setting comparison")
	}

	// Clearing the flag removes the warning everywhere.
	res.Runs[1].Model.BeatsFloor = false
	if strings.Contains(renderMarkdown(t, res), "faster than the network floor") {
		t.Errorf("floor warning shown with BeatsFloor unset")
	}
}

func TestMarkdownGolden(t *testing.T) {
	checkGolden(t, renderMarkdown(t, testResult(t)), filepath.Join("testdata", "report.golden.md"))
}

// A scenario's report: its description, the analysis' estimates beside the measurement,
// expectations, repetitions, link bytes, phases and the coordinated-omission finding.
func TestMarkdownScenarioGolden(t *testing.T) {
	checkGolden(t, renderMarkdown(t, scenarioResult(t)), filepath.Join("testdata", "scenario.golden.md"))
}

func checkGolden(t *testing.T, got, path string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run: go test ./reports -run Golden -update)", err)
	}
	if got != string(want) {
		t.Errorf("report.md differs from %s (rerun with -update if intended):\n%s", path, firstDiff(string(want), got))
	}
}

// firstDiff shows the first differing line, enough to see what changed.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + itoa(i+1) + ":\n want: " + w + "\n  got: " + g
		}
	}
	return ""
}

func itoa(i int) string { return strconv.Itoa(i) }

// Runs of a scenario compare by the settings the scenario varies: tuned against fixed
// differs in poll alone, although tuned also sizes its slots and pipelines its ACKs.
func TestRunDifferenceByParams(t *testing.T) {
	fixed := Run{Config: Config{Poll: "fixed", WorkerConcurrency: 50, AckMode: "sync"}, Params: map[string]string{"rtt": "100ms", "poll": "fixed"}}
	tuned := Run{Config: Config{Poll: "tuned", WorkerConcurrency: 127, AckMode: "pipelined"}, Params: map[string]string{"rtt": "100ms", "poll": "tuned"}}
	if f, a, b, ok := runDifference(&fixed, &tuned); !ok || f != "poll" || a != "fixed" || b != "tuned" {
		t.Errorf("runDifference = %s %s %s %v, want poll fixed tuned", f, a, b, ok)
	}
	if _, _, _, ok := singleDifference(&fixed.Config, &tuned.Config); ok {
		t.Error("by configuration alone they differ in three fields")
	}
	tuned.Params["rtt"] = "1ms"
	if _, _, _, ok := runDifference(&fixed, &tuned); ok {
		t.Error("two parameters differ: no single difference")
	}
}
