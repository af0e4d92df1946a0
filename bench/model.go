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
	calls := math.Ceil(float64(accepted) / float64(p.Batch))
	var floor time.Duration
	if p.OpenLoop() {
		interval := float64(time.Second) * float64(p.Batch) / p.Rate
		floor = time.Duration((calls-1)*interval) + minRTT
	} else {
		perClient := math.Ceil(calls / float64(p.Concurrency))
		floor = time.Duration(perClient) * minRTT
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
	m.WorkerRoundTripsPerJob = 2
	if p.Ack == system.AckPipelined {
		m.WorkerRoundTripsPerJob = 1
	}
	if rtt := p.workerLink().RTT; rtt > 0 && p.WorkerConcurrency > 0 {
		m.WorkerFloorJobsPerS = float64(p.WorkerConcurrency) / (m.WorkerRoundTripsPerJob * rtt.Seconds())
	}
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
