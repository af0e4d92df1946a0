package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/wfbench/wfbench/bench"
)

func TestProgressLine(t *testing.T) {
	p := bench.Progress{Stage: "load", Sent: 300, Accepted: 290, Completed: 250, Total: 1000, Elapsed: 10 * time.Second}
	got := progressLine(p)
	for _, want := range []string{"load", "300 sent", "290 accepted", "250 done", "25.0 jobs/s", "10s elapsed", "ETA 30s"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	// Duration-bound: time left instead of an ETA by count.
	p = bench.Progress{Stage: "load", Completed: 50, Duration: 30 * time.Second, Elapsed: 10 * time.Second}
	if got := progressLine(p); !strings.Contains(got, "20s to go") || strings.Contains(got, "ETA") {
		t.Errorf("duration-bound: %q", got)
	}
	p.Done = true
	if got := progressLine(p); !strings.HasSuffix(got, "(done)") || strings.Contains(got, "to go") {
		t.Errorf("done: %q", got)
	}
}

// Not a terminal: a line when a run starts, at most one per interval, and the last one.
func TestProgressLinesMode(t *testing.T) {
	var b bytes.Buffer
	v := newProgressView(&b, "auto") // a buffer is not a terminal
	if v.mode != "lines" {
		t.Fatalf("mode %q for a buffer, want lines", v.mode)
	}
	v.start("[1/2] rtt=1ms")
	for i := range 10 {
		v.update(bench.Progress{Stage: "load", Sent: i, Total: 10})
	}
	v.update(bench.Progress{Stage: "drain", Sent: 10, Completed: 10, Total: 10, Done: true})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], "starting") || !strings.Contains(lines[1], "(done)") {
		t.Errorf("lines:\n%s", b.String())
	}
	var none bytes.Buffer
	v = newProgressView(&none, "none")
	v.start("x")
	v.update(bench.Progress{Done: true})
	if none.Len() != 0 {
		t.Errorf("--progress none wrote %q", none.String())
	}
}
