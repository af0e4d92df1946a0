package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wfbench/wfbench/reports"
)

// runTo measures a small run into dir and returns its result.json path.
func runTo(t *testing.T, dir string, args ...string) string {
	t.Helper()
	args = append([]string{"run", "--jobs", "20", "--progress", "none", "-o", dir}, args...)
	if code, out, msg := wfbench(t, args...); code != 0 {
		t.Fatalf("%v: exit %d: %s\n%s", args, code, msg, out)
	}
	return filepath.Join(dir, "result.json")
}

// Measured at 2 ms and at 20 ms under one name: compare a result with itself exits 0,
// the slower one against the faster exits 1 naming the regressed metrics; merge adds
// the two; report regenerates every format from result.json alone.
func TestCompareMergeReport(t *testing.T) {
	tmp := t.TempDir()
	fast := runTo(t, filepath.Join(tmp, "fast"), "--rtt", "2ms", "--name", "enqueue")
	slow := runTo(t, filepath.Join(tmp, "slow"), "--rtt", "20ms", "--name", "enqueue")

	if code, out, msg := wfbench(t, "compare", fast, fast); code != 0 || !strings.Contains(out, "No regression") {
		t.Errorf("compare with itself: exit %d %s\n%s", code, msg, out)
	}
	code, out, msg := wfbench(t, "compare", fast, slow, "--max-regression", "10%", "--format", "md")
	if code != exitCheckFailed || !strings.Contains(msg, "regressions beyond the limit") {
		t.Fatalf("20 ms against 2 ms: exit %d (%s), want 1\n%s", code, msg, out)
	}
	for _, want := range []string{"enqueue throughput -", "enqueue p50(enqueue) +", "| enqueue | throughput |", "REGRESSION (limit 10.0%)", "the configurations differ (rtt 2ms → 20ms)"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	// --github appends the same markdown to the step summary.
	summary := filepath.Join(tmp, "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	if code, _, _ := wfbench(t, "compare", fast, slow, "--max-regression", "10%", "--github"); code != exitCheckFailed {
		t.Errorf("--github: exit %d", code)
	}
	if b, err := os.ReadFile(summary); err != nil || !strings.Contains(string(b), "## wfbench compare") {
		t.Errorf("step summary: %v %q", err, b)
	}
	// A limit wide enough for the whole change: no regression. What the change cannot
	// move must not decide it either. Pickup is ~0 at any RTT (the answer and the job
	// cross equal link halves; the worker often wins and pickup is clamped to 0), so its
	// ratio is noise over noise, +Inf when the base's p50 is 0: --min-delta 10ms leaves
	// out sub-10 ms moves (pickup noise; the enqueue p50 change is ~18 ms). And every
	// latency of the base is at least its 2 ms RTT, so a regression beyond 1000x would
	// take a single 20 ms call stretched past 2 s, not a scheduling hiccup (10000% left
	// that at ~200 ms).
	if code, out, msg := wfbench(t, "compare", fast, slow, "--max-regression", "100000%", "--min-delta", "10ms"); code != 0 {
		t.Errorf("--max-regression 100000%%: exit %d %s\n%s", code, msg, out)
	}
	// A threshold in the metrics' own spelling or in compare's older one: the same limit.
	for _, th := range []string{"p50(enqueue)=10%", "enqueue p50=10%", "enqueue_p50=0.1"} {
		code, out, msg := wfbench(t, "compare", fast, slow, "--max-regression", "100000%", "--min-delta", "10ms", "--threshold", th)
		if code != exitCheckFailed || !strings.Contains(out, "p50(enqueue)") || !strings.Contains(out, "REGRESSION (limit 10.0%)") {
			t.Errorf("--threshold %s: exit %d (%s), want 1\n%s", th, code, msg, out)
		}
	}
	if code, _, msg := wfbench(t, "compare", fast, slow, "--threshold", "p99=5%"); code != exitUsage || !strings.Contains(msg, "p99 needs a timing point") || !strings.Contains(msg, "metrics: throughput, completed_throughput, p50(enqueue)") {
		t.Errorf("--threshold p99=5%%: exit %d %s", code, msg)
	}
	for _, bad := range [][]string{
		{"compare", fast, slow, "--max-regression", "ten"},
		{"compare", fast, slow, "--threshold", "latency=5%"},
		{"compare", fast, slow, "--format", "xml"},
		{"compare", fast, filepath.Join(tmp, "missing.json")},
		{"compare", fast, slow, "--set-b", "rtt=1ms"},
		{"compare", fast, slow, "--max-regression", "10"},
		{"compare", fast, slow, "--threshold", "en=5%"},
	} {
		if code, _, msg := wfbench(t, bad...); code != exitUsage {
			t.Errorf("%v: exit %d (%s), want 2", bad[3:], code, msg)
		}
	}

	// Merge: the same run from two drivers adds up; different configurations do not merge,
	// nor does a result with itself, nor may -o overwrite an input.
	fast2 := runTo(t, filepath.Join(tmp, "fast2"), "--rtt", "2ms", "--name", "enqueue")
	merged := filepath.Join(tmp, "merged", "result.json")
	for _, bad := range [][]string{{fast, slow}, {fast, fast}, {fast, fast2, "-o", fast}} {
		args := append([]string{"report", "merge"}, bad...)
		if len(bad) == 2 {
			args = append(args, "-o", merged)
		}
		if code, _, msg := wfbench(t, args...); code != exitUsage {
			t.Errorf("merge %v: exit %d (%s), want 2", bad, code, msg)
		}
	}
	if code, _, msg := wfbench(t, "report", "merge", fast, fast2, "-o", merged, "--reports"); code != 0 {
		t.Fatalf("merge: exit %d %s", code, msg)
	}
	m, err := reports.ReadJSON(merged)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Runs) != 1 || m.Runs[0].Jobs.Accepted != 40 || m.Runs[0].LatencyMS["enqueue"].Count != 40 {
		t.Errorf("merged: %d runs, jobs %+v", len(m.Runs), m.Runs[0].Jobs)
	}
	if _, err := os.Stat(filepath.Join(tmp, "merged", "report.html")); err != nil {
		t.Errorf("merge --reports: %v", err)
	}

	out2 := filepath.Join(tmp, "again")
	if code, _, msg := wfbench(t, "report", slow, "-o", out2, "--format", "html,hgrm"); code != 0 {
		t.Fatalf("report: exit %d %s", code, msg)
	}
	entries, _ := os.ReadDir(out2)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "enqueue.end_to_end.hgrm enqueue.enqueue.hgrm enqueue.pickup.hgrm report.html" {
		t.Errorf("report --format html,hgrm wrote %s", got)
	}
	if code, _, msg := wfbench(t, "report", slow, "--format", "pdf"); code != exitUsage || !strings.Contains(msg, "md, html") {
		t.Errorf("--format pdf: exit %d %s", code, msg)
	}
}

// compare --run measures two configurations interleaved and compares them.
func TestCompareRun(t *testing.T) {
	p := writeFile(t, "a.yaml", "name: a\nbase:\n  rtt: 2ms\n  jobs: 20\n")
	dir := t.TempDir()
	// Two repetitions a side cannot make any change significant (the U test needs 4),
	// and compare says so rather than calling it a regression.
	code, out, msg := wfbench(t, "compare", "--run", p, p, "--set-b", "rtt=20ms", "--count", "2", "-o", dir, "--progress", "lines", "--max-regression", "10%")
	if code != 0 {
		t.Fatalf("exit %d (%s), want 0\n%s", code, msg, out)
	}
	for _, want := range []string{"[1/4] A: rtt=2ms batch=1 #1", "[2/4] B: rtt=20ms batch=1 #1", "[3/4] A:", "[4/4] B:",
		"rtt=2ms batch=1 vs rtt=20ms batch=1", "no significant change (n=2+2 cannot reach α=0.05", "paired in order"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, side := range []string{"a", "b"} {
		r, err := reports.ReadJSON(filepath.Join(dir, side, "result.json"))
		if err != nil || len(r.Runs) != 2 {
			t.Errorf("side %s: %v", side, err)
		}
	}
}

// Two results of one run each, measured under different settings (and so under
// different default names), are compared, not refused: the settings that differ are
// named and the exit code follows the verdicts.
func TestCompareSingleRunsDifferentSettings(t *testing.T) {
	tmp := t.TempDir()
	a := runTo(t, filepath.Join(tmp, "a"), "--rtt", "2ms", "--batch", "1")
	b := runTo(t, filepath.Join(tmp, "b"), "--rtt", "20ms", "--batch", "6")
	code, out, msg := wfbench(t, "compare", a, b, "--max-regression", "10%")
	if code != 0 && code != exitCheckFailed {
		t.Fatalf("exit %d (%s), want 0 or 1\n%s", code, msg, out)
	}
	for _, want := range []string{"rtt=2ms batch=1 vs rtt=20ms batch=6", "batch 1 → 6", "rtt 2ms → 20ms", "throughput"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
