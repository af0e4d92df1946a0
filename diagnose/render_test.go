package diagnose

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sample() *Diagnosis {
	return &Diagnosis{
		Schema: Schema,
		Target: Target{FaktoryURL: "tcp://:xxxxx@f:7419", FaktoryVersion: "1.10.0", DurationS: 12.3,
			QueuesBefore: []string{"default"}, QueuesAfter: []string{"default"}, QueuesUnchanged: true},
		Measurements: []Measurement{{"command_rtt_p50", 50.6, "ms", 148}, {"queue_size:my_queue", 3, "jobs", 1}},
		Findings:     findings(wan(), 1000, false),
		Notes:        []string{"a | note"},
	}
}

func TestWriteFormats(t *testing.T) {
	d := sample()
	var text, md strings.Builder
	if err := Write(&text, d, "text"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"MEASUREMENT", "command_rtt_p50", "1. Batch enqueues", "knob:", "identical, 1 queues", "note: a | note"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if err := Write(&md, d, "md"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| measurement | value | unit | samples |", "| `queue_size:my_queue` | 3 | jobs | 1 |", "1. **Batch enqueues", "a \\| note"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	if err := Write(&md, d, "xml"); err == nil {
		t.Error("format xml accepted")
	}
}

func TestWriteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	if err := WriteFiles(dir, sample()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "diagnosis.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Diagnosis
	if err := json.Unmarshal(data, &back); err != nil || back.Schema != Schema || len(back.Findings) == 0 {
		t.Fatalf("diagnosis.json: %v, %+v", err, back)
	}
	if _, err := os.Stat(filepath.Join(dir, "diagnosis.md")); err != nil {
		t.Fatal(err)
	}
}

func TestParseProm(t *testing.T) {
	m := parseProm(strings.NewReader(`# HELP wfbench_faktory_pool_size Faktory connection pool capacity.
# TYPE wfbench_faktory_pool_size gauge
wfbench_faktory_pool_size 50
wfbench_faktory_pool_wait_seconds_sum 0.25
wfbench_faktory_pool_wait_seconds_count 10
wfbench_api_enqueue_duration_seconds_count{command="PUSH"} 7 1700000000
wfbench_api_jobs_total{outcome="a b"} 3
`))
	want := map[string]float64{
		"wfbench_faktory_pool_size": 50, "wfbench_faktory_pool_wait_seconds_sum": 0.25, "wfbench_faktory_pool_wait_seconds_count": 10,
		`wfbench_api_enqueue_duration_seconds_count{command="PUSH"}`: 7, `wfbench_api_jobs_total{outcome="a b"}`: 3,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, m[k], v, m)
		}
	}
}

func TestValidate(t *testing.T) {
	o := DefaultOptions()
	o.FaktoryURL, o.Duration, o.Batches, o.APIURL = "tcp://:pw@h", 0, []int{1}, "ftp://x"
	err := o.Validate()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Validate: %v", err)
	}
	for _, want := range []string{"no port", "--duration", "--batches", "--api-url", "xxxxx"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "pw@") {
		t.Errorf("error %q shows the password", err)
	}
	o = DefaultOptions()
	o.FaktoryURL = "tcp://127.0.0.1:7419"
	if err := o.Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestSizePlanFitsTheBudget(t *testing.T) {
	for _, rtt := range []time.Duration{100 * time.Microsecond, time.Millisecond, 20 * time.Millisecond, 100 * time.Millisecond, 300 * time.Millisecond} {
		p := sizePlan(rtt, 30*time.Second, 0)
		// Round trips the stages take (connect ~2.5, FETCH and pickup 2 each, batches 2 sizes).
		rounds := 2.5*float64(p.connect) + float64(p.rtt+p.push+2*p.batch) + 2*float64(p.fetch+p.pickup)
		if took := time.Duration(rounds * float64(rtt)); took > 30*time.Second && rtt <= 100*time.Millisecond {
			t.Errorf("at %s the plan %+v takes ~%s", rtt, p, took)
		}
		if p.rtt < 20 || p.push < 5 || p.batch < 3 {
			t.Errorf("at %s the plan %+v has too few samples", rtt, p)
		}
	}
}
