package diagnose

import (
	"context"
	"math"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// samples are durations in an HdrHistogram (µs, 3 significant digits: 0.1% error).
type samples struct{ h *hdrhistogram.Histogram }

const maxSampleUS = int64(time.Minute / time.Microsecond)

func newSamples() *samples { return &samples{hdrhistogram.New(1, maxSampleUS, 3)} }

func (s *samples) add(d time.Duration) {
	us := min(max(d.Microseconds(), 1), maxSampleUS)
	_ = s.h.RecordValue(us) // in range by construction
}

func (s *samples) n() int { return int(s.h.TotalCount()) }

// q is the p-th percentile (0 < p ≤ 100); 0 without samples.
func (s *samples) q(p float64) time.Duration {
	if s.n() == 0 {
		return 0
	}
	return time.Duration(s.h.ValueAtQuantile(p)) * time.Microsecond
}

func (s *samples) min() time.Duration {
	if s.n() == 0 {
		return 0
	}
	return time.Duration(s.h.Min()) * time.Microsecond
}

// plan is how many samples each stage takes, sized from the RTT so that the stages
// together take about half the budget.
type plan struct {
	connect, rtt, push, batch, fetch, pickup int
}

// sizePlan sizes the stages by the round trips the budget holds at rtt: the command
// RTT takes the largest share (its p99 needs samples), the rest just enough for a
// stable median. Floors keep a median meaningful on a slow link; caps keep a fast one
// from pushing thousands of jobs.
func sizePlan(rtt, budget time.Duration, fixedRTTSamples int) plan {
	rounds := budget.Seconds() / max(rtt, 100*time.Microsecond).Seconds()
	share := func(f float64, lo, hi int) int {
		return min(max(int(math.Round(rounds*f)), lo), hi)
	}
	p := plan{
		connect: share(0.01, 3, 20),    // ~2.5 round trips each
		rtt:     share(0.25, 20, 2000), // 1 each
		push:    share(0.05, 5, 200),   // 1 each
		batch:   share(0.02, 3, 20),    // 1 each, per batch size
		fetch:   share(0.02, 3, 100),   // 2 each (FETCH, ACK)
		pickup:  share(0.015, 3, 20),   // 2 each (PUSH ∥ FETCH, ACK)
	}
	if fixedRTTSamples > 0 {
		p.rtt = fixedRTTSamples
	}
	return p
}

// stageCap is the time a stage of n operations of k round trips each may take: three
// times its plan and a second of slack, so a slower-than-measured link shortens the
// stage rather than the stages after it.
func stageCap(n int, k float64, rtt time.Duration) time.Duration {
	return time.Duration(float64(n)*k*3*float64(rtt)) + time.Second
}

// loop runs fn up to n times, stopping early when ctx ends or limit has passed since it
// started. It returns how many runs completed and fn's first error.
func loop(ctx context.Context, n int, limit time.Duration, fn func(i int) error) (int, error) {
	end := time.Now().Add(limit)
	for i := range n {
		if ctx.Err() != nil || time.Now().After(end) {
			return i, nil
		}
		if err := fn(i); err != nil {
			return i, err
		}
	}
	return n, nil
}
