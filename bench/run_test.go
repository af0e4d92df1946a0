package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	tpclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/wfbench/wfbench/internal/testservers"
	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/system"
)

// redisChildren lists the redis-server processes whose parent is this test process.
func redisChildren(t *testing.T) []string {
	t.Helper()
	me := os.Getpid()
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []string
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...: comm may contain spaces, so split at the last ')'.
		s := string(data)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		comm := s[open+1 : end]
		fields := strings.Fields(s[end+1:])
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		if ppid == me && comm == "redis-server" {
			out = append(out, strings.TrimSpace(s[:open]))
		}
	}
	return out
}

// execute runs one configuration on the real stack, failing the test on error, and checks
// that the stack is gone afterwards.
func execute(t *testing.T, ctx context.Context, cfg RunConfig) reports.Run {
	t.Helper()
	run, err := Execute(ctx, cfg, Options{})
	if left := redisChildren(t); len(left) > 0 {
		t.Errorf("redis-server children still alive after Execute returned: pids %v", left)
	}
	if err != nil {
		t.Fatalf("Execute: %v (run %+v)", err, run)
	}
	if run.Model.BeatsFloor {
		t.Errorf("run beats the network floor: model %+v, notes %v", run.Model, run.Notes)
	}
	return run
}

// wantNote fails the test unless one of the run's notes contains want.
func wantNote(t *testing.T, run reports.Run, want string) {
	t.Helper()
	for _, n := range run.Notes {
		if strings.Contains(n, want) {
			return
		}
	}
	t.Errorf("no note says %q: %q", want, run.Notes)
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func linkByName(t *testing.T, run reports.Run, name string) reports.Link {
	t.Helper()
	for _, l := range run.Links {
		if l.Name == name {
			return l
		}
	}
	t.Fatalf("no link %s in %+v", name, run.Links)
	return reports.Link{}
}

func wantAllDone(t *testing.T, run reports.Run, jobs int) {
	t.Helper()
	want := reports.Jobs{Requested: jobs, Accepted: jobs, Completed: jobs}
	if run.Jobs != want {
		t.Errorf("jobs %+v, want %+v (notes: %v)", run.Jobs, want, run.Notes)
	}
	if run.Interrupted {
		t.Error("run marked interrupted")
	}
}

func wantEnqueueAtLeast(t *testing.T, run reports.Run, rtt time.Duration) {
	t.Helper()
	enq, ok := run.LatencyMS[reports.PointEnqueue]
	if !ok {
		t.Fatalf("no enqueue latency in %v", run.LatencyMS)
	}
	if floor := float64(rtt.Microseconds()) / 1000; enq.P50 < floor {
		t.Errorf("enqueue p50 %.3f ms: below the %.0f ms RTT every call crosses", enq.P50, floor)
	}
	wantMinAtLeast(t, run, reports.PointEnqueue, rtt)
}

// wantMinAtLeast checks that no value of point's histogram is below floor (up to the
// histogram's resolution: Min reports the lowest value of its bucket).
func wantMinAtLeast(t *testing.T, run reports.Run, point string, floor time.Duration) {
	t.Helper()
	h, err := reports.DecodeHistogram(run.Histograms[point])
	if err != nil {
		t.Fatalf("decode %s histogram: %v", point, err)
	}
	if h.TotalCount() == 0 {
		t.Fatalf("%s histogram is empty", point)
	}
	if us := floor.Microseconds(); h.Min() < bucketFloor(us) {
		t.Errorf("%s min %d µs: below the %d µs floor", point, h.Min(), us)
	}
}

func decodedCount(t *testing.T, run reports.Run, point string) int64 {
	t.Helper()
	enc, ok := run.Histograms[point]
	if !ok {
		t.Fatalf("no %s histogram in the run", point)
	}
	h, err := reports.DecodeHistogram(enc)
	if err != nil {
		t.Fatalf("decode %s histogram: %v", point, err)
	}
	return h.TotalCount()
}

func TestExecuteCentralBatch(t *testing.T) {
	cfg := Default()
	cfg.RTT, cfg.Batch, cfg.Jobs = 20*time.Millisecond, 10, 100
	cfg.WorkerConcurrency, cfg.PollInterval = 10, 100*time.Millisecond
	run := execute(t, testCtx(t, 60*time.Second), cfg)

	wantAllDone(t, run, 100)
	wantEnqueueAtLeast(t, run, 20*time.Millisecond)

	for _, name := range []string{netem.ClientAPI, netem.ClientFaktory, netem.WorkerFaktory} {
		l := linkByName(t, run, name)
		if l.ConfiguredRTTMS != 20 || l.MeasuredRTTMS < l.ConfiguredRTTMS {
			t.Errorf("WAN link %s: configured %g ms, measured %g ms; want 20 and at least that", name, l.ConfiguredRTTMS, l.MeasuredRTTMS)
		}
	}
	if l := linkByName(t, run, netem.APIFaktory); l.ConfiguredRTTMS != 0 {
		t.Errorf("api-faktory configured %g ms in central, want 0 (co-located)", l.ConfiguredRTTMS)
	}

	// 100 jobs / batch 10 = 10 sequential calls × 20 ms.
	if !near(run.Model.NetworkFloorS, 0.2) || !near(run.Model.RoundTripsPerJob, 0.1) || !near(run.Model.FloorJobsPerS, 500) {
		t.Errorf("model %+v: want floor 0.2 s, 0.1 round trips per job, 500 jobs/s", run.Model)
	}
	if run.DurationS.Enqueue < run.Model.NetworkFloorS {
		t.Errorf("enqueue phase %.3f s shorter than the %.3f s floor", run.DurationS.Enqueue, run.Model.NetworkFloorS)
	}
	if run.DurationS.Total < run.DurationS.Enqueue {
		t.Errorf("total %.3f s < enqueue %.3f s", run.DurationS.Total, run.DurationS.Enqueue)
	}
	if tp := run.Throughput.EnqueueJobsPerS; tp <= 0 || tp > run.Model.FloorJobsPerS*1.01 {
		t.Errorf("enqueue throughput %.1f jobs/s: want > 0 and never above the network's %.1f", tp, run.Model.FloorJobsPerS)
	}

	for point, want := range map[string]int64{reports.PointEnqueue: 10, reports.PointPickup: 100, reports.PointEndToEnd: 100} {
		if got := decodedCount(t, run, point); got != want {
			t.Errorf("%s histogram decodes to %d values, want %d", point, got, want)
		}
		if got := run.LatencyMS[point].Count; got != want {
			t.Errorf("%s latency count %d, want %d", point, got, want)
		}
	}
	// A job cannot end before its call has crossed the 20 ms link.
	wantMinAtLeast(t, run, reports.PointEndToEnd, 20*time.Millisecond)
	if _, has := run.LatencyMS[reports.PointService]; has {
		t.Error("closed-loop run reports enqueue_service")
	}
	if run.Schedule != nil {
		t.Errorf("closed-loop run has a schedule: %+v", run.Schedule)
	}
}

func TestExecuteTargetFaktory(t *testing.T) {
	cfg := Default()
	cfg.Target, cfg.Batch, cfg.Jobs, cfg.RTT = TargetFaktory, 1, 20, 10*time.Millisecond
	cfg.WorkerConcurrency, cfg.PollInterval = 4, 100*time.Millisecond
	run := execute(t, testCtx(t, 60*time.Second), cfg)
	wantAllDone(t, run, 20)
	wantEnqueueAtLeast(t, run, 10*time.Millisecond)
	if !near(run.Model.NetworkFloorS, 0.2) || !near(run.Model.EnqueueRTTMS, 10) {
		t.Errorf("model %+v: want 20 calls × 10 ms = 0.2 s", run.Model)
	}
	if got := decodedCount(t, run, reports.PointEnqueue); got != 20 {
		t.Errorf("enqueue count %d, want 20 calls", got)
	}
	// Each call crosses client-faktory twice, each job worker-faktory at least twice: the
	// delay line's calibration covers them all, and it is never early.
	if d := run.DelayLine; d == nil || d.Deliveries < 80 || d.LatenessP50MS < 0 || d.LatenessP99MS < d.LatenessP50MS {
		t.Errorf("delay line calibration %+v: want ≥ 80 deliveries, 0 ≤ p50 ≤ p99", d)
	}
}

func TestExecuteSplit(t *testing.T) {
	cfg := Default()
	cfg.Topology, cfg.RTT, cfg.Jobs = "split", 10*time.Millisecond, 20
	cfg.WorkerConcurrency, cfg.PollInterval = 4, 100*time.Millisecond
	run := execute(t, testCtx(t, 60*time.Second), cfg)
	wantAllDone(t, run, 20)
	if l := linkByName(t, run, netem.APIFaktory); l.ConfiguredRTTMS != 10 || l.MeasuredRTTMS < 10 {
		t.Errorf("api-faktory in split: configured %g measured %g, want 10 and at least 10", l.ConfiguredRTTMS, l.MeasuredRTTMS)
	}
	if l := linkByName(t, run, netem.ClientAPI); l.ConfiguredRTTMS != 10 {
		t.Errorf("client-api in split: configured %g, want 10", l.ConfiguredRTTMS)
	}
	// Through the API, an enqueue now crosses the WAN twice: driver → API → Faktory.
	wantEnqueueAtLeast(t, run, 20*time.Millisecond)
	if run.Model.EnqueueRTTMS != 20 {
		t.Errorf("model enqueue RTT %g ms, want 20 (two links)", run.Model.EnqueueRTTMS)
	}
}

func TestExecuteOpenLoop(t *testing.T) {
	cfg := Default()
	cfg.Rate, cfg.Jobs, cfg.Batch, cfg.Concurrency, cfg.RTT = 200, 100, 1, 16, 5*time.Millisecond
	cfg.WorkerConcurrency, cfg.PollInterval = 8, 100*time.Millisecond
	run := execute(t, testCtx(t, 60*time.Second), cfg)
	wantAllDone(t, run, 100)
	if run.Schedule == nil {
		t.Fatal("open-loop run without a schedule")
	}
	if run.Schedule.IntendedCalls != 100 || run.Schedule.SentCalls != 100 {
		t.Errorf("schedule %+v: want 100 intended and sent calls", *run.Schedule)
	}
	if run.Schedule.MaxLagMS < run.Schedule.MeanLagMS || run.Schedule.MeanLagMS < 0 {
		t.Errorf("schedule lag mean %g max %g", run.Schedule.MeanLagMS, run.Schedule.MaxLagMS)
	}
	svc, ok := run.LatencyMS[reports.PointService]
	if !ok || svc.Count != 100 {
		t.Fatalf("enqueue_service %+v (present %v): want 100 calls", svc, ok)
	}
	enq := run.LatencyMS[reports.PointEnqueue]
	wantEnqueueAtLeast(t, run, 5*time.Millisecond)
	wantMinAtLeast(t, run, reports.PointService, 5*time.Millisecond)
	// Measured from the intended start, every call's latency is at least its service time.
	if enq.P50 < svc.P50 || enq.P99 < svc.P99 || enq.Max < svc.Max {
		t.Errorf("enqueue %+v below service %+v: latency from the intended start must dominate", enq, svc)
	}
	// 99 intervals of 5 ms + one RTT; never faster than the schedule allows.
	if !near(run.Model.NetworkFloorS, 0.5) || !near(run.Model.FloorJobsPerS, 200) {
		t.Errorf("model %+v: want floor 0.5 s at 200 jobs/s", run.Model)
	}
	if tp := run.Throughput.EnqueueJobsPerS; tp > 200*1.01 {
		t.Errorf("enqueue throughput %.1f jobs/s above the 200/s schedule", tp)
	}
}

// A run whose context ends mid-load returns what it measured, marked interrupted, and
// takes its stack (and redis-server) down.
func TestExecuteInterrupted(t *testing.T) {
	cfg := Default()
	cfg.Jobs, cfg.RTT = 100_000, 5*time.Millisecond
	cfg.WorkerConcurrency, cfg.PollInterval = 4, 100*time.Millisecond
	// The interrupt comes from the load itself, at the first progress report that shows
	// an accepted job: a fixed timeout would also count the stack's start, which a loaded
	// machine can stretch past it (nothing accepted, or Execute failing before the load).
	// 100000 sequential calls over a 5 ms link take at least 500 s, so the load is surely
	// still going then.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	opts := Options{Progress: func(p Progress) {
		if p.Stage == "load" && p.Accepted > 0 {
			once.Do(cancel)
		}
	}}
	type result struct {
		run reports.Run
		err error
	}
	res := make(chan result, 1)
	go func() {
		run, err := Execute(ctx, cfg, opts)
		res <- result{run, err}
	}()
	// A hang guard, not a performance bound: the start, the interrupt drain and the
	// stack's stop timeouts add up to well under a minute.
	guard := time.NewTimer(60 * time.Second)
	defer guard.Stop()
	var r result
	select {
	case r = <-res:
	case <-guard.C:
		t.Fatal("Execute did not return within 60 s")
	}
	if left := redisChildren(t); len(left) > 0 {
		t.Errorf("redis-server children still alive after an interrupted run: pids %v", left)
	}
	if r.err != nil {
		t.Fatalf("Execute: %v", r.err)
	}
	run := r.run
	if !run.Interrupted {
		t.Error("run not marked interrupted")
	}
	if run.Jobs.Accepted <= 0 || run.Jobs.Accepted >= 100_000 {
		t.Errorf("accepted %d: want some but not all of 100000", run.Jobs.Accepted)
	}
	if run.Jobs.Requested < run.Jobs.Accepted {
		t.Errorf("requested %d < accepted %d", run.Jobs.Requested, run.Jobs.Accepted)
	}
	if j := run.Jobs; j.Pending+j.Lost != j.Accepted-j.Completed-j.Failed || j.Duplicated != 0 {
		t.Errorf("accounting %+v: pending + lost must be accepted - completed - failed, nothing duplicated", j)
	}
	wantNote(t, run, "interrupted")
	wantMinAtLeast(t, run, reports.PointEnqueue, 5*time.Millisecond)
}

// An interrupt during the drain is not ignored: the run stops, marked interrupted, with
// the jobs still queued in Faktory counted pending, none lost.
func TestExecuteInterruptedDuringDrain(t *testing.T) {
	cfg := Default()
	// One batch is enqueued at once; one slow worker then needs ~100 × 50 ms to drain it.
	cfg.Jobs, cfg.Batch, cfg.RTT = 100, 100, 5*time.Millisecond
	cfg.WorkerConcurrency, cfg.PollInterval, cfg.Work = 1, 50*time.Millisecond, "50ms"
	cfg.DrainWait = 10 * time.Minute
	// Interrupted at the first progress report of the drain, not after a fixed time that
	// would also count the stack's start: the batch has surely been answered then (the
	// drain follows the load), and 100 jobs of 50 ms on one slot need at least 5 s, far
	// more than the 250 ms report interval and the 2 s interrupt drain that follows.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	opts := Options{Progress: func(p Progress) {
		if p.Stage == "drain" {
			once.Do(cancel)
		}
	}}
	done := make(chan reports.Run, 1)
	go func() {
		run, err := Execute(ctx, cfg, opts)
		if err != nil {
			t.Errorf("Execute: %v", err)
		}
		done <- run
	}()
	guard := time.NewTimer(60 * time.Second) // a hang guard: the drain timeout is 10 min
	defer guard.Stop()
	var run reports.Run
	select {
	case run = <-done:
	case <-guard.C:
		t.Fatal("Execute ignored the interrupt during its drain")
	}
	if !run.Interrupted {
		t.Error("run not marked interrupted")
	}
	if j := run.Jobs; j.Accepted != 100 || j.Completed >= 100 || j.Lost != 0 || j.Pending != j.Accepted-j.Completed-j.Failed {
		t.Errorf("jobs %+v: want 100 accepted, fewer completed, the rest pending, none lost", j)
	}
}

func TestValidate(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default() does not validate: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*RunConfig)
		want   []string
	}{
		{"batch 0", func(c *RunConfig) { c.Batch = 0 }, []string{"--batch 0", "from 1 to 1000"}},
		{"batch over max", func(c *RunConfig) { c.Batch = 1001 }, []string{"--batch 1001", "FAKTORY_MAX_BATCH_SIZE"}},
		{"jobs -5", func(c *RunConfig) { c.Jobs = -5 }, []string{"--jobs -5", "integer from 1"}},
		{"jobs 0 without duration", func(c *RunConfig) { c.Jobs = 0 }, []string{"--jobs 0", "--duration"}},
		{"target", func(c *RunConfig) { c.Target = "nope" }, []string{"--target", `"nope"`, "api, faktory"}},
		{"topology", func(c *RunConfig) { c.Topology = "ring" }, []string{"--topology", `"ring"`, "central, split"}},
		{"poll", func(c *RunConfig) { c.Poll = "x" }, []string{"--poll", `"x"`, system.PollFixed}},
		{"rate", func(c *RunConfig) { c.Rate = -1 }, []string{"--rate -1", "jobs per second"}},
		{"concurrency", func(c *RunConfig) { c.Concurrency = 0 }, []string{"--concurrency 0", "from 1 to 1000"}},
		{"rate NaN", func(c *RunConfig) { c.Rate = math.NaN() }, []string{"--rate NaN", "jobs per second"}},
		{"rate Inf", func(c *RunConfig) { c.Rate = math.Inf(1) }, []string{"--rate +Inf", "jobs per second"}},
		{"rtt too long", func(c *RunConfig) { c.RTT = 3 * time.Second }, []string{"--rtt 3s", "from 0 to 2s"}},
		{"too many Faktory connections", func(c *RunConfig) { c.Concurrency, c.WorkerConcurrency, c.PoolSize = 1000, 1000, 50 }, []string{"2050 Faktory connections", "1900"}},
		{"rtt", func(c *RunConfig) { c.RTT = -time.Millisecond }, []string{"--rtt", "e.g. 100ms"}},
		{"jitter above rtt", func(c *RunConfig) { c.RTT, c.Jitter = 10*time.Millisecond, 20*time.Millisecond }, []string{"--jitter", "to the RTT"}},
		{"link", func(c *RunConfig) { c.Links = []netem.Spec{{Name: "moon"}} }, []string{"--link", `"moon"`, "client-api"}},
		{"work", func(c *RunConfig) { c.Work = "lots" }, []string{"--work", "e.g. 2ms"}},
		{"faktory url", func(c *RunConfig) { c.FaktoryURL = "http://x:1" }, []string{"--faktory-url", "tcp://host:port"}},
		{"drain", func(c *RunConfig) { c.DrainWait = -time.Second }, []string{"--drain-timeout -1s", "e.g. 2m"}},
		{"pool size", func(c *RunConfig) { c.PoolSize = 0 }, []string{"--pool-size 0"}},
		{"netem", func(c *RunConfig) { c.Netem = "tc" }, []string{"--netem", "toxiproxy"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Default()
			tc.mutate(&cfg)
			err := cfg.Validate()
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			// Only the bad setting is reported.
			if n := strings.Count(err.Error(), "\n") + 1; n != 1 {
				t.Errorf("%d errors for one bad setting: %q", n, err)
			}
		})
	}
	// Several bad settings: each one reported.
	cfg := Default()
	cfg.Batch, cfg.Target, cfg.Rate = 0, "nope", -1
	err := cfg.Validate()
	for _, flag := range []string{"--batch", "--target", "--rate"} {
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("combined error %v lacks %s", err, flag)
		}
	}
}

func TestDisplayName(t *testing.T) {
	cfg := Default()
	cfg.RTT, cfg.Batch = 100*time.Millisecond, 10
	if got := cfg.DisplayName(); got != "rtt=100ms batch=10" {
		t.Errorf("DisplayName %q", got)
	}
	cfg.Target, cfg.Topology, cfg.Concurrency, cfg.Rate = TargetFaktory, "split", 4, 50
	if got := cfg.DisplayName(); got != "rtt=100ms batch=10 target=faktory topology=split concurrency=4 rate=50" {
		t.Errorf("DisplayName %q", got)
	}
	cfg.Name = "custom"
	if cfg.DisplayName() != "custom" {
		t.Errorf("an explicit name is not kept: %q", cfg.DisplayName())
	}
}

func TestRedactURL(t *testing.T) {
	if got := redactURL("tcp+tls://:s3cret@host:7419"); strings.Contains(got, "s3cret") {
		t.Errorf("password kept: %q", got)
	}
	if got := redactURL(""); got != "" {
		t.Errorf("empty URL → %q", got)
	}
}

// --faktory-url: the run uses a Faktory it did not start (here another embedded broker,
// standing in for the official binary), and leaves it running.
func TestExecuteExternalFaktory(t *testing.T) {
	b := otherBroker(t)
	cfg := Default()
	cfg.FaktoryURL = b.URL()
	cfg.RTT, cfg.Batch, cfg.Jobs, cfg.WorkerConcurrency, cfg.PollInterval = 5*time.Millisecond, 5, 50, 5, 50*time.Millisecond
	run, err := Execute(testCtx(t, 60*time.Second), cfg, Options{})
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	wantAllDone(t, run, 50)
	if run.Config.FaktoryURL != b.URL() {
		t.Errorf("config faktory_url %q, want %q", run.Config.FaktoryURL, b.URL())
	}
	// The external broker must still answer after the run.
	p := system.NewFaktoryProbe(system.Endpoint{Addr: b.Addr()})
	defer p.Close()
	if _, err := p.Probe(testCtx(t, 10*time.Second)); err != nil {
		t.Errorf("external Faktory unreachable after the run: %v", err)
	}
}

// tuned and library run on the real stack: every job once, the slots they chose (and why)
// in the result.
func TestExecutePollStrategies(t *testing.T) {
	for _, poll := range []string{system.PollTuned, system.PollLibrary} {
		t.Run(poll, func(t *testing.T) {
			cfg := Default()
			cfg.Poll, cfg.RTT, cfg.Batch, cfg.Jobs = poll, 10*time.Millisecond, 10, 100
			run := execute(t, testCtx(t, 60*time.Second), cfg)
			wantAllDone(t, run, 100)
			switch poll {
			case system.PollTuned:
				// 1 client × 10 jobs per 10 ms call = 1000 jobs/s, each holding a slot for the
				// worker-faktory RTT as measured before the load (+ 1 ms local): Little's law
				// asks for about 1000 × 0.011 × 1.25 ≈ 14 slots. The measurement is the input,
				// so the count is checked against it, not against a guess of how slowly a
				// loaded machine reads a 10 ms link; and since a link never delivers early,
				// the measured RTT is at least 10 ms and fewer slots than at exactly 10 ms is
				// wrong whatever the machine.
				measured := time.Duration(linkByName(t, run, netem.WorkerFaktory).MeasuredRTTMS * float64(time.Millisecond))
				want, _ := system.TunedSlots(1000, measured, 0)
				floor, _ := system.TunedSlots(1000, 10*time.Millisecond, 0)
				if n := run.Config.WorkerConcurrency; n != want || n < floor {
					t.Errorf("tuned chose %d slots, want %d (1000 jobs/s over the measured %s), and never fewer than %d (10 ms)", n, want, measured, floor)
				}
				if run.Config.AckMode != "pipelined" {
					t.Errorf("ack mode %q, want pipelined", run.Config.AckMode)
				}
				found := false
				for _, n := range run.Notes {
					found = found || strings.HasPrefix(n, "tuned:")
				}
				if !found {
					t.Errorf("no note says how tuned sized its slots: %v", run.Notes)
				}
			case system.PollLibrary:
				if run.Config.WorkerConcurrency != system.LibrarySlots {
					t.Errorf("library slots %d, want its default %d", run.Config.WorkerConcurrency, system.LibrarySlots)
				}
			}
		})
	}
}

// Burst: the workers start on a full backlog, and the fixed strategy's drain rate can
// never beat its floor of slots / (2 round trips per job).
func TestExecuteBurstDrainFloor(t *testing.T) {
	cfg := Default()
	cfg.Burst, cfg.RTT, cfg.Batch, cfg.Jobs = true, 20*time.Millisecond, 50, 200
	cfg.WorkerConcurrency, cfg.PollInterval = 4, 50*time.Millisecond
	run := execute(t, testCtx(t, 60*time.Second), cfg)
	wantAllDone(t, run, 200)
	// The bound is the physics of the window the runner divides by (last finish − first
	// pickup + one FETCH round trip), without a fudge factor. A fixed slot ACKs and waits
	// for the answer, then FETCHes: between one job's finish and its next job's start it
	// pays two round trips, each at least the 20 ms RTT (a link never delivers early).
	// The busiest of the 4 slots runs k ≥ ⌈200/4⌉ = 50 jobs, so the window is at least
	// (k−1)·2 + 1 = 99 RTTs: the drain rate can never exceed 200 jobs / 1.98 s ≈ 101
	// jobs/s (4 slots / 2 RTTs = 100 jobs/s in the long run). Measured: about 92.
	const rtt, slots = 20 * time.Millisecond, 4
	k := (200 + slots - 1) / slots
	done := float64(run.Jobs.Completed + run.Jobs.Failed)
	ceiling := done / (time.Duration(2*k-1) * rtt).Seconds()
	drain := run.Throughput.DrainJobsPerS
	if drain <= 0 || drain > ceiling {
		t.Errorf("drain %.1f jobs/s: want above 0 and at most %.1f jobs/s (%d jobs over %d round trips of %s)", drain, ceiling, int(done), 2*k-1, rtt)
	}
	if !run.Config.Burst {
		t.Error("config does not record burst")
	}
}

// Async enqueue in the split topology: the call waits on client-api only, so its p50 is
// about one RTT where sync pays two; nothing accepted is lost.
func TestExecuteAsyncSplit(t *testing.T) {
	cfg := Default()
	cfg.Topology, cfg.RTT, cfg.Jobs, cfg.EnqueueMode = "split", 10*time.Millisecond, 30, "async"
	cfg.WorkerConcurrency, cfg.PollInterval = 4, 50*time.Millisecond
	run := execute(t, testCtx(t, 60*time.Second), cfg)
	wantAllDone(t, run, 30)
	wantEnqueueAtLeast(t, run, 10*time.Millisecond)
	if run.Model.EnqueueRTTMS != 10 {
		t.Errorf("model enqueue RTT %g ms, want 10: an async call does not wait on api-faktory", run.Model.EnqueueRTTMS)
	}
	wantNote(t, run, "not yet durable")
}

// A drain cut short by its limit leaves the backlog in Faktory: those jobs are pending,
// not lost, and the run says how long they would take.
func TestExecuteDrainLimitLeavesPending(t *testing.T) {
	cfg := Default()
	// One batch at once; a single 20 ms slot needs ~2 s for it, the drain stops at 500 ms.
	cfg.Jobs, cfg.Batch, cfg.RTT = 100, 100, 2*time.Millisecond
	cfg.WorkerConcurrency, cfg.PollInterval, cfg.Work = 1, 50*time.Millisecond, "20ms"
	cfg.DrainWait = 500 * time.Millisecond
	run := execute(t, testCtx(t, time.Minute), cfg)
	j := run.Jobs
	if j.Accepted != 100 || j.Pending == 0 || j.Lost != 0 || j.Completed+j.Failed+j.Pending+j.Lost != j.Accepted {
		t.Fatalf("jobs %+v: want 100 accepted, some pending, none lost, completed + failed + pending + lost = accepted", j)
	}
	wantNote(t, run, "drain stopped at its limit of 500ms")
	var md strings.Builder
	if err := reports.WriteMarkdown(&md, &reports.Result{Runs: []reports.Run{run}}); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%d jobs still queued or reserved in Faktory", j.Pending); !strings.Contains(md.String(), want) || !strings.Contains(md.String(), "they need ~") {
		t.Errorf("report.md does not say %q and how long they need:\n%s", want, md.String())
	}
}

// Jobs that vanish from Faktory (its data flushed mid-run) are lost, not pending: the
// accounting asks the broker, it does not assume.
func TestExecuteFlushedJobsAreLost(t *testing.T) {
	b := otherBroker(t)
	cfg := Default()
	cfg.FaktoryURL = b.URL()
	cfg.Jobs, cfg.Batch, cfg.RTT = 100, 100, 2*time.Millisecond
	cfg.WorkerConcurrency, cfg.PollInterval, cfg.Work = 1, 50*time.Millisecond, "20ms"
	cfg.DrainWait = 2 * time.Second
	flushed := make(chan error, 1)
	opts := atAccepted(100, func() {
		go func() {
			c, err := system.Endpoint{Addr: b.Addr()}.Dial(context.Background())
			if err == nil {
				err = c.Flush()
				c.Close()
			}
			flushed <- err
		}()
	})
	run, err := Execute(testCtx(t, time.Minute), cfg, opts)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	select {
	case err := <-flushed:
		if err != nil {
			t.Fatalf("FLUSH: %v", err)
		}
	default:
		t.Fatal("the batch was never seen accepted: nothing was flushed")
	}
	j := run.Jobs
	if j.Accepted != 100 || j.Lost == 0 || j.Pending != 0 || j.Completed+j.Failed+j.Pending+j.Lost != j.Accepted {
		t.Fatalf("jobs %+v: want the flushed jobs lost, none pending, completed + failed + pending + lost = accepted", j)
	}
}

// The embedded broker's redis-server dying mid-run stops the run without a panic: what
// was measured is returned, marked interrupted, with the death as an environment error.
func TestExecuteBrokerDeath(t *testing.T) {
	if testing.Short() {
		t.Skip("a run cut by a dead broker takes ~10 s to wind down")
	}
	cfg := Default()
	// The kill comes at the first progress report with 100 jobs accepted (≥ 250 ms into
	// the load); 20000 jobs in calls of 10 over a 2 ms link take at least 4 s, so the load
	// is surely still going then (with 2000 the floor was 0.4 s, close to a late report).
	const jobs = 20_000
	cfg.Jobs, cfg.Batch, cfg.RTT = jobs, 10, 2*time.Millisecond
	cfg.WorkerConcurrency, cfg.Work = 1, "20ms"
	killed := make(chan error, 1)
	opts := atAccepted(100, func() {
		pids := redisChildren(t)
		if len(pids) != 1 {
			killed <- fmt.Errorf("redis-server children %v, want one", pids)
			return
		}
		pid, _ := strconv.Atoi(pids[0])
		killed <- syscall.Kill(pid, syscall.SIGKILL)
	})
	run, err := Execute(testCtx(t, 2*time.Minute), cfg, opts)
	select {
	case kerr := <-killed:
		if kerr != nil {
			t.Fatalf("kill redis-server: %v", kerr)
		}
	default:
		t.Fatalf("redis-server was never killed (run %+v, err %v)", run.Jobs, err)
	}
	if !errors.Is(err, ErrEnvironment) || !errors.Is(err, system.ErrBrokerDied) {
		t.Fatalf("Execute: %v, want an environment error wrapping ErrBrokerDied", err)
	}
	if !run.Interrupted || run.Jobs.Accepted < 100 || run.Jobs.Accepted >= jobs {
		t.Errorf("run interrupted %v, jobs %+v: want the partial run, marked interrupted", run.Interrupted, run.Jobs)
	}
	if j := run.Jobs; j.Completed+j.Failed+j.Pending+j.Lost != j.Accepted {
		t.Errorf("jobs %+v: completed + failed + pending + lost != accepted", j)
	}
	if left := redisChildren(t); len(left) > 0 {
		t.Errorf("redis-server children left: %v", left)
	}
}

// otherBroker starts an embedded broker the run did not start (standing in for a running
// Faktory, --faktory-url), stopped when the test ends.
func otherBroker(t *testing.T) *system.Broker {
	t.Helper()
	b, err := system.StartBroker(testCtx(t, 30*time.Second), system.BrokerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Stop() })
	return b
}

// atAccepted is Options whose progress reports call f once, at the first report with at
// least n jobs accepted: a test's way to act mid-run.
func atAccepted(n int, f func()) Options {
	var once sync.Once
	return Options{Progress: func(p Progress) {
		if p.Accepted >= n {
			once.Do(f)
		}
	}}
}

// bucketFloor is the lowest value the project's histograms report for us (Min answers
// with the bottom of the value's bucket).
func bucketFloor(us int64) int64 {
	h := reports.NewHistogram()
	_ = h.RecordValue(us)
	return h.Min()
}

// A run against a running API (as `wfbench serve api` runs it, with its own Faktory):
// every job goes to the run's own queue and completes, the client-api path is measured
// and marked remote, api-faktory is left out, and the API keeps nothing of the run's.
func TestExecuteRemoteAPI(t *testing.T) {
	ctx := testCtx(t, 90*time.Second)
	sc := system.DefaultConfig()
	sc.APIToken = "wfbench-test-token-0123"
	sys, err := system.StartStandalone(ctx, sc, system.ServeOptions{Parts: []string{system.PartFaktory, system.PartAPI}})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close(context.Background())
	cfg := Default()
	cfg.APIURL, cfg.FaktoryURL, cfg.APIToken = "http://"+sys.API.Addr(), sys.Broker.URL(), sc.APIToken
	cfg.RTT, cfg.Batch, cfg.Jobs, cfg.WorkerConcurrency, cfg.PollInterval = 5*time.Millisecond, 5, 200, 5, 50*time.Millisecond
	run, err := Execute(ctx, cfg, Options{})
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	wantAllDone(t, run, 200)
	var names []string
	for _, l := range run.Links {
		names = append(names, l.Name)
		if l.Name == netem.ClientAPI && (!l.Remote || l.MeasuredRTTMS <= 0 || l.ConfiguredRTTMS != 0) {
			t.Errorf("client-api %+v: want remote, measured, not configured", l)
		}
	}
	if slices.Contains(names, netem.APIFaktory) {
		t.Errorf("links %v: api-faktory is the running API's own path", names)
	}
	wantNote(t, run, "is not run by wfbench")
	if strings.Contains(fmt.Sprint(run.Config), sc.APIToken) {
		t.Errorf("the API token is recorded in the result's config: %+v", run.Config)
	}
	c, err := sys.Faktory.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	state, err := c.CurrentState()
	if err != nil {
		t.Fatal(err)
	}
	for q, n := range state.Data.Queues {
		if n > 0 {
			t.Errorf("queue %s holds %d jobs after the run: the run's jobs belong on its own queue, drained and removed", q, n)
		}
	}
	// Bad combinations are refused with the accepted form.
	bad := Default()
	bad.APIURL = "http://127.0.0.1:1"
	bad.Links = []netem.Spec{{Name: netem.ClientAPI, RTT: time.Millisecond}}
	err = bad.Validate()
	for _, want := range []string{"--api-url needs --faktory-url", "--link client-api"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want %q", err, want)
		}
	}
}

// Links on a running official toxiproxy server: the run completes every job, the links
// carry their configured RTT, the backend's limits are noted, and no proxy is left
// behind.
func TestExecuteToxiproxyExternal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the official toxiproxy server")
	}
	url := testservers.Toxiproxy(t)
	cfg := Default()
	cfg.Netem, cfg.ToxiproxyURL = netem.BackendExternal, url
	cfg.RTT, cfg.Batch, cfg.Jobs, cfg.WorkerConcurrency, cfg.PollInterval = 60*time.Millisecond, 20, 200, 10, 50*time.Millisecond
	run := execute(t, testCtx(t, 90*time.Second), cfg)
	wantAllDone(t, run, 200)
	for _, l := range run.Links {
		// The floor is physical (the toxics' whole ms may round 0.5 ms down); the ceiling
		// only catches a link that is not compensated or not applied: the precision itself
		// is netem's TestExternal, on a quiet link, and the note's figures.
		if c := l.ConfiguredRTTMS; c > 0 && (l.MeasuredRTTMS < c-1 || l.MeasuredRTTMS > c*1.25) {
			t.Errorf("link %s measured %.3f ms, configured %.0f ms", l.Name, l.MeasuredRTTMS, c)
		}
	}
	wantNote(t, run, "whole milliseconds")
	proxies, err := tpclient.NewClient(url).Proxies()
	if err != nil {
		t.Fatal(err)
	}
	if len(proxies) != 0 {
		t.Errorf("proxies left on the server: %v", slices.Collect(maps.Keys(proxies)))
	}
}
