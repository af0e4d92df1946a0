package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wfbench/wfbench/reports"
)

// run writes each run's time series: intervals in result.json, one interval log per run
// and timing point named as its .hgrm (two repetitions of one name: two stems), and the
// plot over time per run; report -o elsewhere regenerates the plots from result.json
// and copies the logs.
func TestRunWritesTimeSeries(t *testing.T) {
	dir := t.TempDir()
	code, out, msg := wfbench(t, "run", "--rtt", "2ms", "--batch", "5", "--jobs", "40", "--count", "2", "--interval", "200ms",
		"--worker-concurrency", "4", "--poll-interval", "50ms", "--progress", "none", "-o", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, msg, out)
	}
	res, err := reports.ReadJSON(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	stems := reports.RunSlugs(res.Runs)
	if len(stems) != 2 || stems[0] == stems[1] {
		t.Fatalf("stems %v", stems)
	}
	for i, r := range res.Runs {
		if r.Intervals == nil || r.Intervals.IntervalS != 0.2 || len(r.Intervals.Series) == 0 {
			t.Fatalf("run %d: time series %+v", i, r.Intervals)
		}
		for _, p := range reports.Points {
			want := stems[i] + "." + p + ".hlog"
			if r.Hlogs[p] != want {
				t.Errorf("run %d: hlogs[%s] = %q, want %q (the .hgrm's stem)", i, p, r.Hlogs[p], want)
			}
			for _, f := range []string{want, stems[i] + "." + p + ".hgrm"} {
				if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
					t.Errorf("%s: missing or empty (%v)", f, err)
				}
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "over-time-"+stems[i]+".png")); err != nil {
			t.Errorf("run %d: no plot over time: %v", i, err)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "result.json"))
	var doc struct {
		Runs []map[string]json.RawMessage `json:"runs"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"intervals", "hlogs"} {
		if _, ok := doc.Runs[0][k]; !ok {
			t.Errorf("result.json run lacks %q", k)
		}
	}

	other := filepath.Join(t.TempDir(), "share")
	if code, out, msg := wfbench(t, "report", filepath.Join(dir, "result.json"), "-o", other); code != 0 {
		t.Fatalf("report: exit %d: %s\n%s", code, msg, out)
	}
	for _, f := range []string{"over-time-" + stems[0] + ".svg", "over-time-" + stems[1] + ".png", res.Runs[1].Hlogs["enqueue"]} {
		if _, err := os.Stat(filepath.Join(other, f)); err != nil {
			t.Errorf("report -o: %s not written: %v", f, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(other, "report.md"))
	if !strings.Contains(string(md), "### Over time") {
		t.Error("report.md regenerated without the plot over time")
	}
}

// --interval is bounded, with an error that says so; nothing is left behind.
func TestIntervalFlagBounds(t *testing.T) {
	for _, v := range []string{"50ms", "2h", "abc"} {
		dir := filepath.Join(t.TempDir(), "out")
		code, _, msg := wfbench(t, "run", "--interval", v, "-o", dir)
		if code != exitUsage || !strings.Contains(msg, "--interval") {
			t.Errorf("--interval %s: exit %d, %q", v, code, msg)
		}
		if v != "abc" && !strings.Contains(msg, "from 100ms to 1h") {
			t.Errorf("--interval %s: %q does not say the bounds", v, msg)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("--interval %s: %s created", v, dir)
		}
	}
}
