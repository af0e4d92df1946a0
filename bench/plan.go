package bench

import (
	"fmt"
	"time"

	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/system"
)

// Plan is a run's configuration resolved once: validated, its links laid out by the
// topology, its work parsed, its ACK mode chosen and its enqueue path summed. The engine
// reads it and re-derives nothing; only the worker's slots wait for the measured link
// (SizeWorkers).
type Plan struct {
	RunConfig
	Links map[string]netem.Spec // every link by name, as the topology and overrides make it
	Work  system.Work
	Ack   string // the worker's ACK mode: system.AckFor(Poll)
	// EnqueueLinks are the links one enqueue call waits on; EnqueueRTT and EnqueueJitter
	// their sums.
	EnqueueLinks              []string
	EnqueueRTT, EnqueueJitter time.Duration
}

// Resolve validates cfg and resolves it into a Plan.
func Resolve(cfg RunConfig) (Plan, error) {
	if err := cfg.Validate(); err != nil {
		return Plan{}, err
	}
	links, err := netem.Plan(cfg.Topology, cfg.RTT, cfg.Jitter, cfg.Links)
	if err != nil { // Validate checked it; kept for the error's sake
		return Plan{}, err
	}
	work, err := system.ParseWork(cfg.Work)
	if err != nil {
		return Plan{}, err
	}
	if cfg.APIURL != "" { // the running API's own paths: measured, not emulated
		links[netem.ClientAPI] = netem.Spec{Name: netem.ClientAPI}
		links[netem.APIFaktory] = netem.Spec{Name: netem.APIFaktory}
	}
	p := Plan{RunConfig: cfg, Links: links, Work: work, Ack: system.AckFor(cfg.Poll), EnqueueLinks: enqueueLinks(cfg)}
	for _, n := range p.EnqueueLinks {
		p.EnqueueRTT += links[n].RTT
		p.EnqueueJitter += links[n].Jitter
	}
	return p, nil
}

// enqueueLinks are the links one enqueue call waits on: an async API answers before its
// PUSHB crosses api-faktory.
func enqueueLinks(cfg RunConfig) []string {
	switch {
	case cfg.Target == TargetFaktory:
		return []string{netem.ClientFaktory}
	case cfg.EnqueueMode == system.EnqueueAsync:
		return []string{netem.ClientAPI}
	}
	return []string{netem.ClientAPI, netem.APIFaktory}
}

// workerLink is the configured worker-faktory link.
func (p Plan) workerLink() netem.Spec { return p.Links[netem.WorkerFaktory] }

// OfferedRate is the rate jobs can arrive at, for sizing tuned workers: the open loop's
// rate, or what the closed loop's clients can send at one enqueue RTT per call.
func (p Plan) OfferedRate() float64 {
	if p.OpenLoop() {
		return p.Rate
	}
	return float64(p.Concurrency*p.Batch) / max(p.EnqueueRTT, time.Millisecond).Seconds()
}

// DrainIdle is how long a drain waits without a completion before it gives up: at least
// MinDrainIdle, and long enough for a slot to fetch, run and ACK one job twice over plus
// a fixed slot's sleep after an empty FETCH (and an async API's flush interval), so slow
// jobs, long links or a slow flusher are not taken for a stall.
func (p Plan) DrainIdle() time.Duration {
	wf := p.workerLink()
	idle := max(MinDrainIdle, 2*(p.Work.D+2*(wf.RTT+wf.Jitter))+p.PollInterval)
	if p.EnqueueMode == system.EnqueueAsync && p.Target == TargetAPI {
		idle += p.FlushInterval // the API's buffer may hold the last jobs that long
	}
	return idle
}

// intervalGrace is how long an interval of the time series waits for samples noted late:
// a completion is noted a worker round trip (its ACK) after the worker finished, a pickup
// also a job's work later.
func (p Plan) intervalGrace() time.Duration {
	wf := p.workerLink()
	return max(100*time.Millisecond, 2*(wf.RTT+wf.Jitter)+p.Work.D+50*time.Millisecond)
}

// SizeWorkers resolves the worker's slots, given the worker link's measured RTT (0: not
// measured, the configured one stands in), and returns the reasoning for the report ("":
// nothing to say). It is the same rule a standing system uses (system.SizeWorker); a
// batch raises tuned slots to the batch, so a batch is picked up in one round trip.
func (p *Plan) SizeWorkers(measured time.Duration) string {
	rtt := measured
	if rtt == 0 {
		rtt = p.workerLink().RTT
	}
	n, why := system.SizeWorker(p.Poll, p.WorkerConcurrency, p.OfferedRate(), rtt, p.Work.D)
	if p.WorkerConcurrency == 0 && p.Poll == system.PollTuned {
		if b := min(p.Batch, system.MaxTunedSlots); n < b {
			n, why = b, why+fmt.Sprintf("; raised to %d, one batch, so a batch is picked up in one round trip", b)
		}
	}
	p.WorkerConcurrency = n
	return why
}
