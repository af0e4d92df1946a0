package netem

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Probe performs one round trip across a link and returns how long it took.
type Probe func(ctx context.Context) (time.Duration, error)

// Measure runs n probes (after one unmeasured warm-up) and returns the median: the
// link's RTT as the parts actually see it, robust to one slow scheduling hiccup.
func Measure(ctx context.Context, probe Probe, n int) (time.Duration, error) {
	if n < 1 {
		n = 1
	}
	if _, err := probe(ctx); err != nil {
		return 0, fmt.Errorf("warm-up probe: %w", err)
	}
	samples := make([]time.Duration, 0, n)
	for range n {
		d, err := probe(ctx)
		if err != nil {
			return 0, fmt.Errorf("probe %d of %d: %w", len(samples)+1, n, err)
		}
		samples = append(samples, d)
	}
	slices.Sort(samples)
	return samples[len(samples)/2], nil
}
