package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wfbench/wfbench/recording"
	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/system"
)

var opNames = []string{"add", "subtract", "multiply", "divide"}

// driver applies a run's load to a target and records every call.
type driver struct {
	cfg    RunConfig
	run    string
	target target
	rec    *recording.Recorder

	next atomic.Int64 // next job index to send
}

// jobsCap is the number of jobs the run may send at most.
func (d *driver) jobsCap() int64 {
	if d.cfg.Jobs > 0 {
		return int64(d.cfg.Jobs)
	}
	return MaxJobsPerRun
}

// take reserves the next call's jobs; ok is false when the run has sent them all.
func (d *driver) take() (call, bool) {
	b := int64(d.cfg.Batch)
	start := d.next.Add(b) - b
	n := min(b, d.jobsCap()-start)
	if n <= 0 {
		return call{}, false
	}
	c := call{types: make([]string, n), args: make([]system.MathArgs, n)}
	for i := range n {
		idx := start + i
		c.types[i] = opNames[idx%4]
		// b is never 0, so no divide fails: a failure in the report is a real one.
		c.args[i] = system.MathArgs{A: float64(idx), B: float64(idx%9 + 1), RequestID: fmt.Sprintf("%s-%d", d.run, idx)}
	}
	return c, true
}

// sent is how many jobs the driver handed to calls.
func (d *driver) sent() int { return int(min(d.next.Load(), d.jobsCap())) }

func (d *driver) do(ctx context.Context, c call, intended, sent time.Time) {
	rids := c.rids()
	d.rec.Begin(rids, intended)
	accepted, rejected, err := d.target.enqueue(ctx, c)
	if err != nil {
		d.rec.CallFailed(rids, err)
		return
	}
	d.rec.Call(intended, sent, time.Now(), accepted, rejected, d.cfg.OpenLoop())
}

// closedLoop runs Concurrency clients, each sending its next call when the previous one
// answered, until the jobs are sent, the duration is over, or ctx ends.
func (d *driver) closedLoop(ctx context.Context) {
	deadline := d.deadline()
	var wg sync.WaitGroup
	for range d.cfg.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				c, ok := d.take()
				if !ok {
					return
				}
				now := time.Now()
				d.do(ctx, c, now, now)
			}
		})
	}
	wg.Wait()
}

// openLoop schedules calls at Rate/Batch per second regardless of answers. Latency is
// measured from each call's intended send time (wrk2's coordinated-omission correction);
// a call that cannot start on time because Concurrency calls are in flight waits, and
// that wait is part of its latency.
func (d *driver) openLoop(ctx context.Context) *reports.Schedule {
	interval := time.Duration(float64(time.Second) * float64(d.cfg.Batch) / d.cfg.Rate)
	deadline := d.deadline()
	sem := make(chan struct{}, d.cfg.Concurrency)
	var wg sync.WaitGroup
	sched := &reports.Schedule{}
	var lagSum, lagMax time.Duration
	var lagMu sync.Mutex
	t0 := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
loop:
	for i := 0; ; i++ {
		intended := t0.Add(time.Duration(i) * interval)
		if !intended.Before(deadline) {
			break
		}
		if wait := time.Until(intended); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				break loop
			}
		}
		c, ok := d.take()
		if !ok {
			break
		}
		sched.IntendedCalls++
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		wg.Go(func() {
			defer func() { <-sem }()
			sent := time.Now()
			lag := sent.Sub(intended)
			lagMu.Lock()
			lagSum += lag
			lagMax = max(lagMax, lag)
			sched.SentCalls++
			lagMu.Unlock()
			d.do(ctx, c, intended, sent)
		})
	}
	wg.Wait()
	if sched.SentCalls > 0 {
		sched.MeanLagMS = ms(lagSum / time.Duration(sched.SentCalls))
	}
	sched.MaxLagMS = ms(lagMax)
	return sched
}

func (d *driver) deadline() time.Time {
	if d.cfg.Duration > 0 {
		return time.Now().Add(d.cfg.Duration)
	}
	return time.Now().Add(100 * 365 * 24 * time.Hour) // bounded by the job count instead
}
