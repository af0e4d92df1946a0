package diagnose

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/wfbench/wfbench/bench"
	"github.com/wfbench/wfbench/system"
)

// wan is what a 50 ms link measures like (figures from a diagnose of one).
func wan() figures {
	return figures{
		rtt: 50600 * time.Microsecond, connect: 76700 * time.Microsecond, tcpConnect: 200 * time.Microsecond,
		push:  51 * time.Millisecond,
		batch: map[int]time.Duration{10: 51500 * time.Microsecond, 100: 56700 * time.Microsecond},
		fetch: 51200 * time.Microsecond, ack: 51200 * time.Microsecond,
	}
}

func TestBatchingRanksFirstOnAWAN(t *testing.T) {
	fs := findings(wan(), 1000, false)
	if len(fs) < 3 {
		t.Fatalf("findings %+v, want batching, workers, connections", fs)
	}
	if !strings.HasPrefix(fs[0].Title, "Batch enqueues: one PUSHB of 100") {
		t.Errorf("first finding %q", fs[0].Title)
	}
	// The gain is bench's model on the measured figures: 1000 × 51 ms vs 10 × 56.7 ms.
	want := bench.EnqueueFloor(1000, 1, 1, 51*time.Millisecond).Seconds() / bench.EnqueueFloor(1000, 100, 1, 56700*time.Microsecond).Seconds()
	if math.Abs(fs[0].Impact-want) > 0.01 {
		t.Errorf("batching impact %.2f, want %.2f", fs[0].Impact, want)
	}
	if !strings.Contains(fs[0].Figure, "~51 s") || !strings.Contains(fs[0].Figure, "~567 ms") {
		t.Errorf("batching figure %q", fs[0].Figure)
	}
	// Workers: fixed 50 slots at two ~51 ms round trips; tuned sized for the batched rate.
	rtt := 51200 * time.Microsecond
	fixed := bench.WorkerFloor(system.FixedSlots, system.AckSync, rtt)
	slots, _ := system.TunedSlots(100/0.0567, rtt, 0)
	tuned := bench.WorkerFloor(slots, system.AckPipelined, rtt)
	if !strings.HasPrefix(fs[1].Title, "Pipeline worker ACKs") || math.Abs(fs[1].Impact-tuned/fixed) > 0.01 {
		t.Errorf("second finding %+v, want workers with impact %.2f", fs[1], tuned/fixed)
	}
	for _, f := range fs {
		if f.Figure == "" || f.Knob == "" || f.ExpectedGain == "" || f.Impact <= 1 {
			t.Errorf("incomplete finding %+v", f)
		}
	}
}

func TestReadOnlyEstimatesFromRTT(t *testing.T) {
	f := figures{rtt: 100 * time.Millisecond, connect: 200 * time.Millisecond}
	fs := findings(f, 1000, true)
	if len(fs) == 0 || !strings.HasPrefix(fs[0].Title, "Batch enqueues") || fs[0].Impact != 100 {
		t.Fatalf("findings %+v, want batching first at 100x (one round trip per call)", fs)
	}
	if !strings.HasPrefix(fs[0].Figure, "estimated") {
		t.Errorf("figure %q does not say it is an estimate", fs[0].Figure)
	}
}

func TestCircuitAndPoolFindings(t *testing.T) {
	f := wan()
	f.api = &apiFigures{metrics: true, poolSize: 50, inUse: 50, waits: 500, waitMean: 80 * time.Millisecond, enqueue: 53 * time.Millisecond, circuitOpen: true}
	fs := findings(f, 1000, false)
	if fs[0].Impact != ImpactBlocking || !strings.Contains(fs[0].Title, "circuit") {
		t.Errorf("first finding %+v, want the open circuit", fs[0])
	}
	var pool *Finding
	for i := range fs {
		if strings.Contains(fs[i].Title, "pool") {
			pool = &fs[i]
		}
	}
	if pool == nil || pool.Impact != 2 || !strings.Contains(pool.Knob, "FAKTORY_POOL_SIZE=100") {
		t.Errorf("pool finding %+v, want FAKTORY_POOL_SIZE=100 for 2x", pool)
	}
}

func TestLANHasNoWorkerFinding(t *testing.T) {
	// At 0.1 ms the fixed slots' floor (250k jobs/s) is far above what one client enqueues.
	f := figures{rtt: 100 * time.Microsecond, push: 120 * time.Microsecond, batch: map[int]time.Duration{100: 2 * time.Millisecond},
		fetch: 100 * time.Microsecond, ack: 100 * time.Microsecond}
	for _, x := range findings(f, 1000, false) {
		if strings.HasPrefix(x.Title, "Pipeline worker") {
			t.Errorf("worker finding on a LAN: %+v", x)
		}
	}
}

func TestBacklog(t *testing.T) {
	f := figures{rtt: 100 * time.Microsecond, fetch: 100 * time.Microsecond, ack: 100 * time.Microsecond,
		queues: map[string]uint64{"default": 5000, "idle": 3}, latency: map[string]float64{"default": 1.5, "idle": 0}}
	fs := findings(f, 1000, false)
	if len(fs) != 1 || fs[0].Title != "Queue default is behind" || !strings.Contains(fs[0].Figure, "1.5 s") {
		t.Errorf("findings %+v, want the backlog", fs)
	}
	// 3 jobs waiting for minutes: fixed slots would need microseconds; nobody works it.
	f.queues, f.latency = map[string]uint64{"orphan": 3}, map[string]float64{"orphan": 143}
	fs = findings(f, 1000, false)
	if len(fs) != 1 || fs[0].Title != "Nobody seems to work queue orphan" || fs[0].Impact != 1 {
		t.Errorf("findings %+v, want the unworked queue", fs)
	}
}

func TestFmtDur(t *testing.T) {
	for d, want := range map[time.Duration]string{
		567 * time.Microsecond:   "567 µs",
		50300 * time.Microsecond: "50.3 ms",
		51 * time.Second:         "51 s",
		5030 * time.Second:       "5030 s",
	} {
		if got := fmtDur(d); got != want {
			t.Errorf("fmtDur(%s) = %q, want %q", d, got, want)
		}
	}
}
