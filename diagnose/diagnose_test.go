package diagnose

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wfbench/wfbench/bench"
	"github.com/wfbench/wfbench/system"
)

// linkRTT is the emulated round trip of the link tests: long enough that the network
// dominates a command (Faktory answers in ~0.1 ms here), short enough for a quick test.
const linkRTT = 20 * time.Millisecond

// rttBounds are what a measured command round trip across the link may be. Below: the
// link delays each direction by half the RTT, so nothing is faster than it (2% for the
// clock's rounding). Above: on this 2-core VM a timer wakes ~1 ms late per direction
// and Faktory and the proxy take their turn on a busy CPU; 25% of 20 ms (5 ms) covers
// that twice over, while a link not applied (0 ms) or applied twice (40 ms) fails.
func rttBounds(rtt time.Duration) (lo, hi float64) {
	ms := float64(rtt) / float64(time.Millisecond)
	return 0.98 * ms, 1.25 * ms
}

var readVerbs = []string{"END", "HELLO", "INFO", "NOOP", "QUEUE LATENCY"}

// TestDiagnoseThroughLink runs diagnose against a real Faktory behind a 20 ms link and
// the reference API: the figures, the ranking, the cleanup and the JSON contract.
func TestDiagnoseThroughLink(t *testing.T) {
	b, addr := startFaktory(t, system.BrokerOptions{}, linkRTT)
	seed(t, b, map[string]int{"app-default": 3, "app-critical": 1})
	api := startAPI(t, b, "app-default")
	before := state(t, b)
	rec := startRecorder(t, addr)

	o := DefaultOptions()
	o.FaktoryURL, o.APIURL, o.Duration = "tcp://"+rec.addr(), "http://"+api.Addr(), 8*time.Second
	start := time.Now()
	d, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("diagnose took %s with an 8 s budget", took)
	}

	p50, ok := measurement(d, "command_rtt_p50")
	lo, hi := rttBounds(linkRTT)
	if !ok || p50.Value < lo || p50.Value > hi || p50.Samples < 20 {
		t.Errorf("command_rtt_p50 = %+v, want %.1f..%.1f ms over ≥ 20 samples", p50, lo, hi)
	}
	if len(d.Findings) == 0 || !strings.HasPrefix(d.Findings[0].Title, "Batch enqueues") || d.Findings[0].Impact <= 1 {
		t.Fatalf("first finding %+v, want batching with a gain > 1", d.Findings)
	}
	t.Logf("command_rtt_p50 %.3f ms over %d samples; first finding %q, impact %.1f; %.1f s",
		p50.Value, p50.Samples, d.Findings[0].Title, d.Findings[0].Impact, d.Target.DurationS)
	for i := 1; i < len(d.Findings); i++ {
		if d.Findings[i].Impact > d.Findings[i-1].Impact {
			t.Errorf("findings not ranked by impact: %+v", d.Findings)
		}
	}
	for _, name := range []string{"tcp_connect", "faktory_connect", "push_per_job", "pushb_10_per_job", "pushb_100_per_job",
		"pickup", "fetch", "ack", "queue_size:app-default", "queue_latency:app-default", "api_enqueue_p50", "api_pool_size", "api_healthz"} {
		if _, ok := measurement(d, name); !ok {
			t.Errorf("no measurement %s in %+v", name, d.Measurements)
		}
	}

	// Faktory is as it was: the same queues, the others' jobs untouched, nothing reserved.
	after := state(t, b)
	if !d.Target.QueuesUnchanged || !slices.Equal(queueNames(before), queueNames(after)) {
		t.Errorf("queues before %v, after %v (diagnosis says unchanged=%v)", queueNames(before), queueNames(after), d.Target.QueuesUnchanged)
	}
	if got, want := after.Data.Queues["app-critical"], before.Data.Queues["app-critical"]; got != want {
		t.Errorf("app-critical holds %d jobs, held %d", got, want)
	}
	// The API's enqueues asked for the private queue (X-Wfbench-Queue), drained with it.
	if got, want := after.Data.Queues["app-default"], before.Data.Queues["app-default"]; got != want {
		t.Errorf("app-default holds %d jobs, held %d: the API's %d enqueues belong on the private queue", got, want, o.APIJobs)
	}
	if w := after.Data.Sets["working"]; w != 0 {
		t.Errorf("%d jobs left reserved", w)
	}
	for _, v := range []string{"PUSH", "PUSHB", "FETCH", "ACK", "QUEUE REMOVE"} {
		if !slices.Contains(rec.seen(), v) {
			t.Errorf("the recorder saw %v, not %s: is it recording?", rec.seen(), v)
		}
	}
	checkJSONContract(t, d)
}

// checkJSONContract checks the wfbench.diagnosis/v1 fields in the encoded document.
func checkJSONContract(t *testing.T, d *Diagnosis) {
	t.Helper()
	var buf strings.Builder
	if err := WriteJSON(&buf, d); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(buf.String()), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["schema"] != "wfbench.diagnosis/v1" {
		t.Errorf("schema %v", doc["schema"])
	}
	if _, ok := doc["target"].(map[string]any); !ok {
		t.Errorf("no target object")
	}
	want := map[string][]string{
		"measurements": {"name", "value", "unit", "samples"},
		"findings":     {"title", "impact", "figure", "knob", "expected_gain"},
	}
	for key, fields := range want {
		list, ok := doc[key].([]any)
		if !ok || len(list) == 0 {
			t.Errorf("%s: %v, want a non-empty list", key, doc[key])
			continue
		}
		for _, item := range list {
			obj := item.(map[string]any)
			for _, f := range fields {
				if _, ok := obj[f]; !ok {
					t.Errorf("%s item %v lacks %q", key, obj, f)
				}
			}
		}
	}
}

// TestReadOnlySendsNoWrite records every command verb diagnose --read-only sends to
// Faktory and checks each is one that writes nothing; the API gets GETs only (its job
// counter stays at 0).
func TestReadOnlySendsNoWrite(t *testing.T) {
	b, addr := startFaktory(t, system.BrokerOptions{}, linkRTT)
	seed(t, b, map[string]int{"app-default": 2})
	api := startAPI(t, b, "app-default")
	before := state(t, b)
	rec := startRecorder(t, addr)

	o := DefaultOptions()
	o.FaktoryURL, o.APIURL, o.ReadOnly, o.Duration = "tcp://"+rec.addr(), "http://"+api.Addr(), true, 5*time.Second
	d, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	seen := rec.seen()
	for _, v := range seen {
		if !slices.Contains(readVerbs, v) {
			t.Errorf("read-only sent %s (all verbs: %v); allowed are %v", v, seen, readVerbs)
		}
	}
	if !slices.Contains(seen, "NOOP") || !slices.Contains(seen, "INFO") {
		t.Errorf("the recorder saw %v: no NOOP or INFO, is it recording?", seen)
	}
	after := state(t, b)
	if !slices.Equal(queueNames(before), queueNames(after)) || after.Data.Queues["app-default"] != 2 || d.Target.Queue != "" {
		t.Errorf("queues before %v, after %v (target queue %q)", before.Data.Queues, after.Data.Queues, d.Target.Queue)
	}
	if _, ok := measurement(d, "api_enqueue_p50"); ok {
		t.Errorf("read-only POSTed to the API")
	}
	if m, ok := measurement(d, "api_pool_size"); !ok || m.Value != 4 {
		t.Errorf("api_pool_size %+v, want 4 (from GET /metrics)", m)
	}
	if len(d.Findings) == 0 || !strings.Contains(d.Findings[0].Figure, "estimated") {
		t.Errorf("read-only findings %+v, want the model's estimates, batching first", d.Findings)
	}
}

// TestCancelCleansUp cancels diagnose once its queue holds jobs: it returns the
// cancellation, and Faktory's queues are as they were.
func TestCancelCleansUp(t *testing.T) {
	b, addr := startFaktory(t, system.BrokerOptions{}, 5*time.Millisecond)
	seed(t, b, map[string]int{"app-default": 1})
	before := state(t, b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := DefaultOptions()
	o.FaktoryURL, o.Duration = "tcp://"+addr, 5*time.Second
	o.stage = func(name string) {
		if name == "fetch" { // after PUSH and PUSHB: the queue is full
			cancel()
		}
	}
	d, err := Run(ctx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v, want context.Canceled", err)
	}
	if _, ok := measurement(d, "pushb_100_per_job"); !ok {
		t.Errorf("cancelled before the PUSHBs: %+v", d.Measurements)
	}
	after := state(t, b)
	if !slices.Equal(queueNames(before), queueNames(after)) || after.Data.Sets["working"] != 0 {
		t.Errorf("queues before %v, after %v; working %d", before.Data.Queues, after.Data.Queues, after.Data.Sets["working"])
	}
}

// TestUnreachableIsEnvironment: a Faktory nobody listens for is the environment's
// failure, named by its URL without the password.
func TestUnreachableIsEnvironment(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	o := DefaultOptions()
	o.FaktoryURL = "tcp://:s3cret@" + addr
	_, err = Run(context.Background(), o)
	if !bench.IsEnvironment(err) || !strings.Contains(err.Error(), "tcp://:xxxxx@"+addr) || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %v: want an environment error naming tcp://:xxxxx@%s", err, addr)
	}
}

// TestPasswordRefused: a wrong or missing password is the caller's input (ErrInvalid).
func TestPasswordRefused(t *testing.T) {
	_, addr := startFaktory(t, system.BrokerOptions{Password: "right"}, 0)
	for _, u := range []string{"tcp://:wrong@" + addr, "tcp://" + addr} {
		t.Setenv("FAKTORY_PASSWORD", "")
		o := DefaultOptions()
		o.FaktoryURL = u
		_, err := Run(context.Background(), o)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "password") {
			t.Errorf("%s: %v, want ErrInvalid about the password", system.RedactURL(u), err)
		}
	}
	o := DefaultOptions()
	o.FaktoryURL, o.ReadOnly, o.Duration = "tcp://:right@"+addr, true, 2*time.Second
	if _, err := Run(context.Background(), o); err != nil {
		t.Errorf("the right password: %v", err)
	}
}
