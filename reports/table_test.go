package reports

import (
	"bytes"
	"strings"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

func TestWriteTable(t *testing.T) {
	res := testResult(t)
	var b bytes.Buffer
	if err := WriteTable(&b, res); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	for i := range res.Runs {
		r := &res.Runs[i]
		h, err := r.Histogram(PointEnqueue)
		if err != nil {
			t.Fatal(err)
		}
		// Expected figures come from the histogram itself, not from literals.
		p := PercentilesOf(h)
		want := fmtMS(p.P50) + " / " + fmtMS(p.P99)
		row := lineWith(lines, "│ "+r.Name+" ")
		if row == "" {
			t.Fatalf("no row for run %q in:\n%s", r.Name, out)
		}
		if !strings.Contains(row, want) {
			t.Errorf("run %q row %q lacks enqueue p50/p99 %q", r.Name, row, want)
		}
		if !strings.Contains(row, fmtMS(PercentilesOf(mustHist(t, r, PointPickup)).P50)) {
			t.Errorf("run %q row lacks pickup p50", r.Name)
		}
	}
	// Only the run that lost a job and beat the floor gets a warning line.
	if !strings.Contains(out, "rtt=100ms batch=100: 1 job lost") ||
		!strings.Contains(out, "faster than the network floor") {
		t.Errorf("missing warning line:\n%s", out)
	}
	if strings.Contains(out, "rtt=1ms batch=1:") {
		t.Errorf("clean run got a warning line:\n%s", out)
	}
	if !strings.Contains(out, "111.0%") {
		t.Errorf("efficiency not shown as percent:\n%s", out)
	}
}

func lineWith(lines []string, s string) string {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

func mustHist(t *testing.T, r *Run, point string) *hdrhistogram.Histogram {
	t.Helper()
	h, err := r.Histogram(point)
	if err != nil || h == nil {
		t.Fatalf("run %q %s: %v", r.Name, point, err)
	}
	return h
}

// Pending jobs are not called lost: the table says how many Faktory still held and how
// long they would take at the run's measured completion rate.
func TestTablePendingLine(t *testing.T) {
	res := testResult(t)
	res.Runs = res.Runs[:1]
	r := &res.Runs[0]
	r.Jobs = Jobs{Requested: 20000, Accepted: 20000, Completed: 16750, Pending: 3250}
	r.Throughput.CompletedJobsPerS = 250
	var out strings.Builder
	if err := WriteTable(&out, res); err != nil {
		t.Fatal(err)
	}
	want := "3250 jobs still queued or reserved in Faktory when the drain ended (at the measured 250.0 jobs/s they need ~13s more)"
	if !strings.Contains(out.String(), want) {
		t.Errorf("table does not say %q:\n%s", want, out.String())
	}
	if strings.Contains(out.String(), "lost (") {
		t.Errorf("pending jobs reported as lost:\n%s", out.String())
	}
}

// A run against a running API (--api-url) shows its enqueue RTT as the API's real path,
// measured, not the --rtt it was not given.
func TestWriteTableRemoteAPI(t *testing.T) {
	res := testResult(t)
	r := &res.Runs[0]
	r.Links = append(r.Links, Link{Name: "client-api", MeasuredRTTMS: 0.14, Remote: true})
	var b bytes.Buffer
	if err := WriteTable(&b, res); err != nil {
		t.Fatal(err)
	}
	row := lineWith(strings.Split(b.String(), "\n"), "│ "+r.Name+" ")
	if !strings.Contains(row, "real / ") || strings.Contains(row, fmtMS(r.Config.RTTMS)+" / ") {
		t.Errorf("row %q: want the enqueue RTT shown as real, not the configured %v ms", row, r.Config.RTTMS)
	}
}
