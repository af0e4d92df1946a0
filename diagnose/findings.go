package diagnose

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/wfbench/wfbench/bench"
	"github.com/wfbench/wfbench/system"
)

// findings turns the figures into findings ranked by impact, each computed with
// bench's model from what was measured. In read-only mode nothing was pushed, so the
// model charges one command round trip per call.
func findings(f figures, jobs int, readOnly bool) []Finding {
	if readOnly && f.rtt > 0 {
		f = estimated(f)
	}
	var out []Finding
	for _, fn := range []func(figures, int) (Finding, bool){
		circuitFinding, batchFinding, workerFinding, connectFinding, poolFinding, asyncFinding, backlogFinding,
	} {
		if x, ok := fn(f, jobs); ok {
			x.Impact = math.Round(x.Impact*100) / 100
			out = append(out, x)
		}
	}
	slices.SortStableFunc(out, func(a, b Finding) int { return cmp.Compare(b.Impact, a.Impact) })
	if out == nil {
		out = []Finding{}
	}
	return out
}

// estimated fills what read-only could not measure with the model's charge: one
// command round trip per PUSH, PUSHB, FETCH and ACK.
func estimated(f figures) figures {
	f.push, f.fetch, f.ack = f.rtt, f.rtt, f.rtt
	f.batch = map[int]time.Duration{100: f.rtt}
	f.estimated = true
	return f
}

// estimate prefixes a figure the model estimated rather than measured.
const estimate = "estimated (read-only: nothing was pushed; one command round trip per call): "

// refBatch is the batch a finding recommends: the most effective measured size.
func refBatch(f figures, jobs int) (b int, call time.Duration) {
	best := math.Inf(1)
	for size, d := range f.batch {
		if t := bench.EnqueueFloor(jobs, size, 1, d).Seconds(); t < best || (t == best && size < b) {
			best, b, call = t, size, d
		}
	}
	return b, call
}

// batchFinding: a PUSH per job pays a round trip per job; a PUSHB of b pays one per b.
func batchFinding(f figures, jobs int) (Finding, bool) {
	b, call := refBatch(f, jobs)
	if f.push <= 0 || b == 0 {
		return Finding{}, false
	}
	single := bench.EnqueueFloor(jobs, 1, 1, f.push)
	batched := bench.EnqueueFloor(jobs, b, 1, call)
	gain := single.Seconds() / batched.Seconds()
	if gain <= 1.05 {
		return Finding{}, false
	}
	fig := fmt.Sprintf("each PUSH costs %s (%s): %d single jobs take ~%s; a PUSHB of %d costs %s, so in batches of %d they would take ~%s",
		fmtDur(f.push), roundTrips(f.push, f.rtt), jobs, fmtDur(single), b, fmtDur(call), b, fmtDur(batched))
	if f.estimated {
		fig = estimate + fig
	}
	if a := f.api; a != nil && a.enqueue > 0 {
		// A batch request costs what a single one does plus Faktory's extra PUSHB work.
		req := a.enqueue + max(call-f.push, 0)
		one, many := bench.EnqueueFloor(jobs, 1, 1, a.enqueue), bench.EnqueueFloor(jobs, b, 1, req)
		fig += fmt.Sprintf("; through the API, POST /jobs/add took %s: %d requests ~%s, POST /jobs/batch of %d ~%s (%s)",
			fmtDur(a.enqueue), jobs, fmtDur(one), b, fmtDur(many), fmtGain(one.Seconds()/many.Seconds()))
	}
	return Finding{
		Title:        fmt.Sprintf("Batch enqueues: one PUSHB of %d instead of %d PUSHes", b, b),
		Impact:       gain,
		Figure:       fig,
		Knob:         fmt.Sprintf("POST /jobs/batch (the API sends one PUSHB per request) or client.PushBulk; FAKTORY_MAX_BATCH_SIZE ≥ %d", b),
		ExpectedGain: fmt.Sprintf("%s faster enqueue: %d jobs in ~%s instead of ~%s (bench.EnqueueFloor, one client)", fmtGain(gain), jobs, fmtDur(batched), fmtDur(single)),
	}, true
}

// workerRTT is a worker command's round trip: the mean of FETCH (a job waiting) and
// ACK, so that two of them are what a job costs a fixed slot.
func workerRTT(f figures) time.Duration {
	if f.fetch > 0 && f.ack > 0 {
		return (f.fetch + f.ack) / 2
	}
	return f.rtt
}

// enqueueRate is the rate one client reaches with the recommended batches: the rate
// the workers should keep up with.
func enqueueRate(f figures, jobs int) float64 {
	b, call := refBatch(f, jobs)
	if b == 0 || call <= 0 {
		return 0
	}
	return float64(b) / call.Seconds()
}

// workerFinding: fixed polling (50 slots, FETCH then a synchronous ACK) completes at
// most WorkerFloor jobs/s; tuned (pipelined ACKs, slots by Little's law) more.
func workerFinding(f figures, jobs int) (Finding, bool) {
	rtt, target := workerRTT(f), enqueueRate(f, jobs)
	fixed := bench.WorkerFloor(system.FixedSlots, system.AckFor(system.PollFixed), rtt)
	if rtt <= 0 || target <= 0 || fixed >= target {
		return Finding{}, false
	}
	slots, _ := system.TunedSlots(target, rtt, 0)
	tuned := bench.WorkerFloor(slots, system.AckFor(system.PollTuned), rtt)
	gain := tuned / fixed
	fig := fmt.Sprintf("a job costs a worker slot a FETCH (%s) and a synchronous ACK (%s): fixed polling with %d slots caps completion at ~%.0f jobs/s at this RTT, below the ~%.0f jobs/s one client enqueues in batches",
		fmtDur(f.fetch), fmtDur(f.ack), system.FixedSlots, fixed, target)
	if f.estimated {
		fig = estimate + fig
	}
	return Finding{
		Title:  "Pipeline worker ACKs and size the slots by Little's law",
		Impact: gain,
		Figure: fig,
		Knob:   fmt.Sprintf("WORKER_POLL=tuned (ACKs pipelined: WORKER_ACK=pipelined) with WORKER_CONCURRENCY=%d (system.TunedSlots for %.0f jobs/s)", slots, target),
		ExpectedGain: fmt.Sprintf("%s: ~%.0f jobs/s with %d slots at one round trip per job (bench.WorkerFloor), instead of ~%.0f",
			fmtGain(gain), tuned, slots, fixed),
	}, true
}

// connectFinding: a client that connects per job pays the connect on top of the PUSH.
func connectFinding(f figures, jobs int) (Finding, bool) {
	per := cmp.Or(f.push, f.rtt)
	if f.connect <= 0 || per <= 0 {
		return Finding{}, false
	}
	fresh := bench.EnqueueFloor(jobs, 1, 1, f.connect+per)
	pooled := bench.EnqueueFloor(jobs, 1, 1, per)
	gain := fresh.Seconds() / pooled.Seconds()
	if gain < 1.2 {
		return Finding{}, false
	}
	return Finding{
		Title:  "Keep Faktory connections open and pooled",
		Impact: gain,
		Figure: fmt.Sprintf("a new connection costs %s (%s; TCP alone %s, then Faktory's HI/HELLO): a client that connects per job pays %s per job instead of %s",
			fmtDur(f.connect), roundTrips(f.connect, f.rtt), fmtDur(f.tcpConnect), fmtDur(f.connect+per), fmtDur(per)),
		Knob:         "FAKTORY_POOL_SIZE (the API's pool keeps connections open); one long-lived connection per worker slot; never dial per job",
		ExpectedGain: fmt.Sprintf("%s per single job: %d jobs in ~%s instead of ~%s", fmtGain(gain), jobs, fmtDur(pooled), fmtDur(fresh)),
	}, true
}

// circuitFinding: an open circuit fails every enqueue: nothing else matters first.
func circuitFinding(f figures, _ int) (Finding, bool) {
	if f.api == nil || !f.api.circuitOpen {
		return Finding{}, false
	}
	return Finding{
		Title:        "The API's circuit breaker is open: it cannot reach Faktory",
		Impact:       ImpactBlocking,
		Figure:       "wfbench_faktory_circuit_open = 1: the API answers every enqueue 503 at once",
		Knob:         "the API's path to Faktory: FAKTORY_URL, FAKTORY_PASSWORD, FAKTORY_CONNECT_TIMEOUT",
		ExpectedGain: "enqueues through the API succeed again (none do now)",
	}, true
}

// poolFinding: requests waiting for one of the API's pooled connections are limited to
// size concurrent enqueues; twice the pool allows twice as many.
func poolFinding(f figures, jobs int) (Finding, bool) {
	a := f.api
	if a == nil || !a.metrics || a.poolSize <= 0 {
		return Finding{}, false
	}
	per := cmp.Or(a.enqueue, f.push, f.rtt)
	// A pool's first use of each connection waits for its dial: only a mean wait
	// above a connect and over many requests says the pool ran dry.
	waiting := a.waits >= 20 && a.waitMean > max(f.connect, per)
	if per <= 0 || !(a.inUse >= a.poolSize || waiting) {
		return Finding{}, false
	}
	size := int(a.poolSize)
	now, bigger := bench.EnqueueFloor(jobs, 1, size, per), bench.EnqueueFloor(jobs, 1, 2*size, per)
	gain := now.Seconds() / bigger.Seconds()
	return Finding{
		Title:        "The API's Faktory pool runs dry",
		Impact:       gain,
		Figure:       fmt.Sprintf("%.0f of %d pooled connections in use; requests waited %s on average for one (%d waits)", a.inUse, size, fmtDur(a.waitMean), a.waits),
		Knob:         fmt.Sprintf("FAKTORY_POOL_SIZE=%d (Faktory's own connection limit permitting)", 2*size),
		ExpectedGain: fmt.Sprintf("%s more concurrent enqueues: %d single jobs in ~%s instead of ~%s at %s each", fmtGain(gain), jobs, fmtDur(bigger), fmtDur(now), fmtDur(per)),
	}, true
}

// asyncFinding: a sync API answers only after its own round trip to Faktory; async
// answers once the job is buffered.
func asyncFinding(f figures, jobs int) (Finding, bool) {
	a := f.api
	if a == nil || a.enqueue <= 0 || a.faktoryRTT < time.Millisecond || a.faktoryRTT*10 < a.enqueue || a.faktoryRTT >= a.enqueue {
		return Finding{}, false
	}
	sync := bench.EnqueueFloor(jobs, 1, 1, a.enqueue)
	async := bench.EnqueueFloor(jobs, 1, 1, a.enqueue-a.faktoryRTT)
	gain := sync.Seconds() / async.Seconds()
	return Finding{
		Title:        "The API waits for Faktory before it answers",
		Impact:       gain,
		Figure:       fmt.Sprintf("POST /jobs/add takes %s, of which %s is the API's own round trip to Faktory (its /healthz)", fmtDur(a.enqueue), fmtDur(a.faktoryRTT)),
		Knob:         "API_ENQUEUE_MODE=async (answers once the job is buffered; PUSHB every FLUSH_INTERVAL; not durable until flushed)",
		ExpectedGain: fmt.Sprintf("%s faster answers: %d single requests in ~%s instead of ~%s", fmtGain(gain), jobs, fmtDur(async), fmtDur(sync)),
	}, true
}

// backlogFinding: a queue whose oldest job has waited a second or more. If it waited
// far longer than fixed polling's floor needs for the queue's size, nobody is working
// it (no workers on it, or paused); else the workers fall behind. The model has no
// speed-up to offer for either: it ranks last.
func backlogFinding(f figures, _ int) (Finding, bool) {
	q, n, lat := oldestQueue(f)
	if q == "" || lat < 1 {
		return Finding{}, false
	}
	fixed := bench.WorkerFloor(system.FixedSlots, system.AckFor(system.PollFixed), workerRTT(f))
	need := 0.0
	if fixed > 0 {
		need = float64(n) / fixed
	}
	fig := fmt.Sprintf("queue %s holds %d jobs; the oldest has waited %.1f s (QUEUE LATENCY)", q, n, lat)
	if need > 0 && lat > 10*need+10 {
		return Finding{
			Title:  fmt.Sprintf("Nobody seems to work queue %s", q),
			Impact: 1,
			Figure: fig + fmt.Sprintf(", while %d fixed slots at this RTT would clear it in ~%s (bench.WorkerFloor: ~%.0f jobs/s)",
				system.FixedSlots, fmtDur(time.Duration(need*float64(time.Second))), fixed),
			Knob:         fmt.Sprintf("workers fetching %s (are any running for it? is it paused?)", q),
			ExpectedGain: "its jobs run at all; not a speed-up the model can state",
		}, true
	}
	return Finding{
		Title:        fmt.Sprintf("Queue %s is behind", q),
		Impact:       1,
		Figure:       fig,
		Knob:         "WORKER_CONCURRENCY, more worker processes, or WORKER_POLL=tuned",
		ExpectedGain: "the backlog drains once completion outpaces enqueue (see the worker finding, if any, for the rate)",
	}, true
}

// oldestQueue is the queue whose oldest job has waited longest.
func oldestQueue(f figures) (name string, size uint64, latency float64) {
	for q, l := range f.latency {
		if l > latency || (l == latency && q < name) {
			name, latency = q, l
		}
	}
	return name, f.queues[name], latency
}

// fmtDur prints a duration for a sentence: µs, ms or s with three significant digits.
func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < time.Second:
		return trimZero(fmt.Sprintf("%.3g", float64(d)/float64(time.Millisecond))) + " ms"
	}
	return trimZero(fmt.Sprintf("%.3g", d.Seconds())) + " s"
}

func trimZero(s string) string {
	if strings.Contains(s, "e") {
		f := 0.0
		_, _ = fmt.Sscan(s, &f)
		return fmt.Sprintf("%.0f", f)
	}
	return s
}

func fmtGain(g float64) string {
	if g >= 10 {
		return fmt.Sprintf("%.0fx", g)
	}
	return fmt.Sprintf("%.1fx", g)
}

// roundTrips states d in command round trips.
func roundTrips(d, rtt time.Duration) string {
	if rtt <= 0 {
		return "round trips not measured"
	}
	k := d.Seconds() / rtt.Seconds()
	if math.Abs(k-1) < 0.05 {
		return "one round trip of " + fmtDur(rtt)
	}
	return fmt.Sprintf("%.1f round trips of %s", k, fmtDur(rtt))
}
