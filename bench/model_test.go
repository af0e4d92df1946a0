package bench

import (
	"math"
	"testing"
	"time"

	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/reports"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// modelOf is the model of cfg resolved.
func modelOf(cfg RunConfig, accepted int, measured time.Duration) reports.Model {
	p, err := Resolve(cfg)
	if err != nil {
		panic(err)
	}
	return model(p, accepted, measured)
}

func modelCfg(rtt time.Duration, concurrency, batch int) RunConfig {
	c := Default()
	c.RTT, c.Concurrency, c.Batch = rtt, concurrency, batch
	return c
}

func TestModelSequentialBatch(t *testing.T) {
	cfg := modelCfg(100*time.Millisecond, 1, 100)
	m := modelOf(cfg, 1000, 1250*time.Millisecond)
	// 10 calls in sequence × 100 ms.
	if !near(m.NetworkFloorS, 1.0) || !near(m.FloorJobsPerS, 1000) || !near(m.RoundTripsPerJob, 0.01) {
		t.Errorf("model %+v: want floor 1.0 s, 1000 jobs/s, 0.01 round trips per job", m)
	}
	if !near(m.EnqueueRTTMS, 100) {
		t.Errorf("EnqueueRTTMS %g, want 100", m.EnqueueRTTMS)
	}
	if !near(m.Efficiency, 0.8) || m.BeatsFloor {
		t.Errorf("efficiency %g beats %v, want 0.8 and false", m.Efficiency, m.BeatsFloor)
	}
}

func TestModelConcurrentClients(t *testing.T) {
	cfg := modelCfg(100*time.Millisecond, 4, 1)
	// 10 calls over 4 clients: the busiest makes ceil(10/4) = 3 in sequence.
	m := modelOf(cfg, 10, 400*time.Millisecond)
	if !near(m.NetworkFloorS, 0.3) || !near(m.FloorJobsPerS, 40) || m.BeatsFloor {
		t.Errorf("model %+v: want floor 0.3 s, 40 jobs/s, not beaten", m)
	}
	// Measured faster than physics: flagged.
	if m := modelOf(cfg, 10, 250*time.Millisecond); !m.BeatsFloor {
		t.Errorf("measured 0.25 s against a 0.3 s floor: BeatsFloor false")
	}
	// Within the 1% clock slack: not flagged.
	if m := modelOf(cfg, 10, 298*time.Millisecond); m.BeatsFloor {
		t.Errorf("measured 0.298 s against a 0.3 s floor (inside 1%% slack): BeatsFloor true")
	}
	// Exactly on the floor: efficiency 1.
	if m := modelOf(cfg, 10, 300*time.Millisecond); !near(m.Efficiency, 1) || m.BeatsFloor {
		t.Errorf("on the floor: %+v", m)
	}
}

func TestModelNothingAccepted(t *testing.T) {
	m := modelOf(modelCfg(100*time.Millisecond, 1, 10), 0, time.Second)
	if m.NetworkFloorS != 0 || m.Efficiency != 0 || m.BeatsFloor {
		t.Errorf("model with 0 accepted: %+v, want no floor", m)
	}
	if !near(m.RoundTripsPerJob, 0.1) {
		t.Errorf("RoundTripsPerJob %g, want 0.1", m.RoundTripsPerJob)
	}
}

func TestModelZeroRTT(t *testing.T) {
	m := modelOf(modelCfg(0, 1, 1), 100, 50*time.Millisecond)
	if m.NetworkFloorS != 0 || m.FloorJobsPerS != 0 || m.BeatsFloor {
		t.Errorf("model at 0 RTT: %+v, want no floor", m)
	}
}

func TestModelOpenLoop(t *testing.T) {
	cfg := modelCfg(10*time.Millisecond, 4, 1)
	cfg.Rate = 100
	// 10 calls every 10 ms: 9 intervals + one RTT for the last answer.
	m := modelOf(cfg, 10, 120*time.Millisecond)
	if !near(m.NetworkFloorS, 0.1) {
		t.Errorf("open-loop floor %g s, want 0.1", m.NetworkFloorS)
	}
	// 4 × 1 / 10 ms = 400 jobs/s by the network, but the schedule asks for only 100.
	if !near(m.FloorJobsPerS, 100) {
		t.Errorf("open-loop FloorJobsPerS %g, want the rate 100", m.FloorJobsPerS)
	}
	if m.BeatsFloor {
		t.Errorf("%+v: 0.12 s does not beat 0.1 s", m)
	}
}

func TestEnqueueRTT(t *testing.T) {
	const rtt = 50 * time.Millisecond
	for _, tc := range []struct {
		name     string
		topology string
		target   string
		links    []netem.Spec
		want     time.Duration
	}{
		{"api central: client-api only", "central", TargetAPI, nil, rtt},
		{"api split: client-api + api-faktory", "split", TargetAPI, nil, 2 * rtt},
		{"faktory central: client-faktory", "central", TargetFaktory, nil, rtt},
		{"faktory split: client-faktory", "split", TargetFaktory, nil, rtt},
		{"api central + api-faktory link", "central", TargetAPI, []netem.Spec{{Name: netem.APIFaktory, RTT: 7 * time.Millisecond}}, rtt + 7*time.Millisecond},
		{"api split, client-api overridden", "split", TargetAPI, []netem.Spec{{Name: netem.ClientAPI, RTT: 3 * time.Millisecond}}, rtt + 3*time.Millisecond},
		{"client-api override replaces the WAN RTT", "central", TargetAPI, []netem.Spec{{Name: netem.ClientAPI, RTT: 20 * time.Millisecond}}, 20 * time.Millisecond},
		{"faktory ignores api links", "central", TargetFaktory, []netem.Spec{{Name: netem.APIFaktory, RTT: 9 * time.Millisecond}}, rtt},
		{"unknown topology", "ring", TargetAPI, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Default()
			cfg.RTT, cfg.Topology, cfg.Target, cfg.Links = rtt, tc.topology, tc.target, tc.links
			p, err := Resolve(cfg)
			if got := p.EnqueueRTT; err != nil && tc.want != 0 || got != tc.want {
				t.Errorf("EnqueueRTT = %s, want %s", got, tc.want)
			}
		})
	}
}

// With jitter a round trip can take RTT − jitter, so that is the floor: a run whose calls
// all drew short round trips must not be flagged as faster than physics.
func TestModelJitterFloor(t *testing.T) {
	cfg := Default()
	cfg.RTT, cfg.Jitter, cfg.Batch = 100*time.Millisecond, 20*time.Millisecond, 100
	m := modelOf(cfg, 1000, 850*time.Millisecond) // 10 calls averaging 85 ms
	if m.BeatsFloor {
		t.Errorf("10 calls in 850 ms at 100±20 ms flagged as beating the floor: %+v", m)
	}
	if want := 0.8; math.Abs(m.NetworkFloorS-want) > 1e-9 {
		t.Errorf("floor %g s, want %g (10 × (100−20) ms)", m.NetworkFloorS, want)
	}
	if m := modelOf(cfg, 1000, 790*time.Millisecond); !m.BeatsFloor {
		t.Errorf("10 calls in 790 ms at 100±20 ms not flagged: %+v", m)
	}
}
