package scenarios

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
	Done      bool // the last report of the run
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
