package bench

import (
	"math"
	"time"

	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/system"
)

// model computes the network floor of the enqueue phase. A round trip takes at least
// RTT − jitter. With C clients in a closed loop each client makes ceil(calls/C) calls in
// sequence; in the open loop the schedule itself spans (calls-1) intervals plus one
// round trip.
func model(p Plan, accepted int, measured time.Duration) reports.Model {
	minRTT := max(p.EnqueueRTT-p.EnqueueJitter, 0)
	m := reports.Model{RoundTripsPerJob: 1 / float64(p.Batch), EnqueueRTTMS: ms(p.EnqueueRTT)}
	if accepted == 0 {
		return m
	}
	var floor time.Duration
	if p.OpenLoop() {
		calls := math.Ceil(float64(accepted) / float64(p.Batch))
		interval := float64(time.Second) * float64(p.Batch) / p.Rate
		floor = time.Duration((calls-1)*interval) + minRTT
	} else {
		floor = EnqueueFloor(accepted, p.Batch, p.Concurrency, minRTT)
	}
	m.NetworkFloorS = floor.Seconds()
	if minRTT > 0 {
		m.FloorJobsPerS = float64(p.Concurrency*p.Batch) / minRTT.Seconds()
		if p.OpenLoop() {
			m.FloorJobsPerS = math.Min(m.FloorJobsPerS, p.Rate)
		}
	}
	if measured > 0 && floor > 0 {
		m.Efficiency = floor.Seconds() / measured.Seconds()
		// 1% slack: the floor is computed from configured RTTs, the clock is not perfect.
		m.BeatsFloor = measured.Seconds() < floor.Seconds()*0.99
	}
	return m
}

// workerModel adds the worker side of the floor: with sync ACKs a job costs a slot two
// round trips, with pipelined ones one.
func workerModel(m *reports.Model, p Plan) {
	m.WorkerRoundTripsPerJob = WorkerRoundTrips(p.Ack)
	m.WorkerFloorJobsPerS = WorkerFloor(p.WorkerConcurrency, p.Ack, p.workerLink().RTT)
}

// EnqueueFloor is the least time a closed loop of clients takes to enqueue jobs in
// batches over round trips of rtt: each client makes ceil(calls/clients) calls in
// sequence, each at least one round trip. The model of every run, and of diagnose's
// findings.
func EnqueueFloor(jobs, batch, clients int, rtt time.Duration) time.Duration {
	calls := math.Ceil(float64(jobs) / float64(max(batch, 1)))
	return time.Duration(math.Ceil(calls/float64(max(clients, 1)))) * rtt
}

// WorkerFloor is the most jobs per second slots can complete at a worker-faktory round
// trip of rtt: a slot spends two round trips on a job with sync ACKs (FETCH, ACK), one
// with pipelined ACKs. 0 when rtt or slots is 0 (no network bound).
func WorkerFloor(slots int, ack string, rtt time.Duration) float64 {
	if rtt <= 0 || slots <= 0 {
		return 0
	}
	return float64(slots) / (WorkerRoundTrips(ack) * rtt.Seconds())
}

// WorkerRoundTrips is the round trips a slot spends per job with ACK mode ack.
func WorkerRoundTrips(ack string) float64 {
	if ack == system.AckPipelined {
		return 1
	}
	return 2
}

// ResultConfig is the configuration as result.json records it: the fields reports read,
// and every setting (config.settings).
func ResultConfig(c RunConfig) reports.Config {
	rc := reports.Config{
		RTTMS: ms(c.RTT), JitterMS: ms(c.Jitter), Topology: c.Topology, Target: c.Target,
		Batch: c.Batch, Jobs: c.Jobs, DurationS: c.Duration.Seconds(), Concurrency: c.Concurrency,
		RatePerS: c.Rate, Poll: c.Poll, WorkerConcurrency: c.WorkerConcurrency,
		EnqueueMode: c.EnqueueMode, Netem: c.Netem, PoolSize: c.PoolSize, FaktoryURL: redactURL(c.FaktoryURL),
		AckMode: system.AckFor(c.Poll), Burst: c.Burst, Compression: c.Compression,
		Settings: Record(c),
	}
	for _, l := range c.Links {
		rc.LinkOverrides = append(rc.LinkOverrides, l.String())
	}
	if w, err := system.ParseWork(c.Work); err == nil {
		rc.WorkMS = ms(w.D)
	}
	return rc
}
