package bench

import (
	"context"
	"time"
)

// Progress is the state of a run under way, for progress displays.
type Progress struct {
	Run       string
	Stage     string // "load" or "drain"
	Sent      int    // jobs handed to the target
	Total     int    // jobs planned; 0 when the run is bound by its duration
	Duration  time.Duration
	Accepted  int
	Completed int // completed or failed by a worker
	Elapsed   time.Duration
	// Rate is the completions per second over the last RateWindow (the drain's ETA).
	Rate float64
	Done bool // the last report of the run
}

// RateWindow is the span Progress.Rate is measured over.
const RateWindow = 5 * time.Second

// rateMeter turns a running count into a rate over the last RateWindow.
type rateMeter struct {
	at    []time.Time
	count []int
}

// add records count at t and returns the rate since the oldest sample in the window.
func (m *rateMeter) add(t time.Time, count int) float64 {
	m.at, m.count = append(m.at, t), append(m.count, count)
	for len(m.at) > 2 && t.Sub(m.at[1]) >= RateWindow {
		m.at, m.count = m.at[1:], m.count[1:]
	}
	if d := t.Sub(m.at[0]); d > 0 {
		return float64(count-m.count[0]) / d.Seconds()
	}
	return 0
}

// ProgressInterval is how often a run reports its progress.
const ProgressInterval = 250 * time.Millisecond

// reportProgress calls fn every ProgressInterval with state() until ctx ends.
func reportProgress(ctx context.Context, fn func(Progress), state func() Progress) {
	if fn == nil {
		return
	}
	t := time.NewTicker(ProgressInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(state())
		}
	}
}
