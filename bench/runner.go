package bench

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/system"
)

// InterruptDrain bounds the wait for accepted jobs after an interrupt.
const InterruptDrain = 2 * time.Second

// Drain bounds. A drain lasts while jobs keep completing: it ends once no job has
// completed for DrainIdle, and at DefaultDrainCap when --drain-timeout sets no limit.
const (
	DefaultDrainCap = time.Hour
	MinDrainIdle    = 10 * time.Second
)

// phasesEnd is when the last timed phase ends, from the start of the load (0: none).
func phasesEnd(phases []Phase) time.Duration {
	var end time.Duration
	for _, p := range phases {
		if p.For > 0 {
			end = max(end, p.At+p.For)
		}
	}
	return end
}

// DrainIdle is how long a drain waits without a completion before it gives up: at least
// MinDrainIdle, and long enough for a slot to fetch, run and ACK one job twice over plus
// a fixed slot's sleep after an empty FETCH (and an async API's flush interval), so slow
// jobs, long links or a slow flusher are not taken for a stall.
func DrainIdle(cfg RunConfig) time.Duration {
	var rtt time.Duration
	if plan, err := netem.Plan(cfg.Topology, cfg.RTT, cfg.Jitter, cfg.Links); err == nil {
		rtt = plan[netem.WorkerFaktory].RTT + plan[netem.WorkerFaktory].Jitter
	}
	work, _ := system.ParseWork(cfg.Work)
	idle := max(MinDrainIdle, 2*(work.D+2*rtt)+cfg.PollInterval)
	if cfg.EnqueueMode == system.EnqueueAsync && cfg.Target == TargetAPI {
		idle += cfg.FlushInterval // the API's buffer may hold the last jobs that long
	}
	return idle
}

// LinkSamples is how many round trips measure a link before the load.
const LinkSamples = 5

// Options are how a run reports while it goes; the zero value is quiet.
type Options struct {
	Log      *slog.Logger
	Progress func(Progress) // called every ProgressInterval during load and drain
	// IntervalFiles, when set, says where a run writes its interval logs as it goes: it
	// is called as the run's load starts, with the run's name, and returns an existing
	// folder and the files' stem (<stem>.<point>.hlog); an empty folder writes none. The
	// run's time series is in its result either way.
	IntervalFiles func(run string) (dir, stem string)
}

// Execute measures one run: stack up, links measured, connections warmed, load (with its
// phases), drain, stack down. It returns what was measured even when ctx ends mid-run
// (Interrupted set). err is non-nil when nothing meaningful could be measured, or when
// the environment failed mid-run (the embedded broker died): then the run returned is
// marked Interrupted and holds what was measured until then.
func Execute(ctx context.Context, cfg RunConfig, opts Options) (_ reports.Run, err error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return reports.Run{}, err
	}
	runID := newRunID()
	rec := NewRecorder(runID)
	out := reports.Run{Name: cfg.DisplayName(), Config: ResultConfig(cfg)}

	log.Info("starting stack", "run", out.Name)
	st, err := StartStack(ctx, cfg, "wfbench-"+runID)
	if err != nil {
		return out, err
	}
	defer st.Close()
	// From here on ctx also ends when the embedded broker dies: the run stops as if
	// interrupted, keeps what it measured, and returns the death as an environment error.
	ctx, stopWatch := watchBroker(ctx, st.Broker)
	defer stopWatch()
	defer func() {
		// A step that failed because the broker died says so, not just "canceled".
		if cause := context.Cause(ctx); err != nil && errors.Is(cause, system.ErrBrokerDied) && !errors.Is(err, system.ErrBrokerDied) {
			err = fmt.Errorf("%w: %w (%v)", ErrEnvironment, cause, err)
		}
	}()

	links, err := st.MeasureLinks(ctx, LinkSamples)
	out.Links = links
	if err != nil {
		return out, fmt.Errorf("%w: %w", ErrEnvironment, err)
	}
	slots, why := workerSlots(cfg, links)
	cfg.WorkerConcurrency, out.Config.WorkerConcurrency = slots, slots
	if why != "" {
		out.Notes = append(out.Notes, why)
	}
	if !cfg.Burst {
		if err := st.StartWorkers(ctx, cfg, rec); err != nil {
			return out, err
		}
	}

	var tgt target
	switch cfg.Target {
	case TargetAPI:
		tgt = newAPITarget(st.Links[netem.ClientAPI].Addr(), runID, cfg.Concurrency, cfg.Compression == "gzip")
		if err := st.WarmAPIPool(ctx, min(cfg.Concurrency, cfg.PoolSize)); err != nil {
			return out, fmt.Errorf("%w: %w", ErrEnvironment, err)
		}
	case TargetFaktory:
		ft, err := newFaktoryTarget(st.via(netem.ClientFaktory), runID, st.Queue, cfg.Concurrency)
		if err != nil {
			return out, err
		}
		tgt = ft
	}
	defer tgt.close()
	if err := tgt.warm(ctx, cfg.Concurrency); err != nil {
		return out, fmt.Errorf("%w: %w", ErrEnvironment, err)
	}

	d := &driver{cfg: cfg, run: runID, target: tgt, rec: rec}
	log.Info("load", "run", out.Name)
	bytesBefore := linkBytes(st)
	st.Proxies.ResetLateness() // the calibration covers the load and the drain, not the warm-up
	loadStart := time.Now()
	// The time series: every sample also lands in the interval of its wall time; each
	// interval is written to the interval logs as it ends.
	tlOpts := reports.TimelineOptions{Start: loadStart, Every: cmp.Or(cfg.Interval, reports.DefaultInterval), Run: out.Name,
		Points: []string{reports.PointEnqueue, reports.PointPickup, reports.PointEndToEnd}}
	if cfg.OpenLoop() {
		tlOpts.Points = append(tlOpts.Points, reports.PointService)
	}
	// A completion is noted a worker round trip (its ACK) after the worker finished, a
	// pickup also a job's work later: the interval waits that long for them.
	if plan, err := netem.Plan(cfg.Topology, cfg.RTT, cfg.Jitter, cfg.Links); err == nil {
		work, _ := system.ParseWork(cfg.Work)
		wf := plan[netem.WorkerFaktory]
		tlOpts.Grace = max(100*time.Millisecond, 2*(wf.RTT+wf.Jitter)+work.D+50*time.Millisecond)
	}
	if opts.IntervalFiles != nil {
		tlOpts.Dir, tlOpts.Stem = opts.IntervalFiles(out.Name)
	}
	tl, err := reports.NewTimeline(tlOpts)
	if err != nil {
		return out, fmt.Errorf("%w: %w", ErrEnvironment, err)
	}
	defer func() { _, _ = tl.Close(time.Now()) }() // on an early return; the snapshot closes it first otherwise
	tl.Start()
	rec.StartTimeline(tl)
	stage := "load"
	var stageMu sync.Mutex
	pctx, stopProgress := context.WithCancel(ctx)
	var meter rateMeter
	progress := func() Progress {
		acc, fin := rec.Counts()
		stageMu.Lock()
		defer stageMu.Unlock()
		now := time.Now()
		return Progress{Run: out.Name, Stage: stage, Sent: d.sent(), Total: cfg.Jobs, Duration: cfg.Duration,
			Accepted: acc, Completed: fin, Elapsed: now.Sub(loadStart), Rate: meter.add(now, fin)}
	}
	var progressDone sync.WaitGroup
	progressDone.Go(func() { reportProgress(pctx, opts.Progress, progress) })
	defer func() {
		stopProgress()
		progressDone.Wait()
		if opts.Progress != nil {
			p := progress()
			p.Done = true
			opts.Progress(p)
		}
	}()
	phases := startPhases(cfg.Phases, st.Links, loadStart)
	defer phases.stop()
	// An interrupt lifts every phase at once: the jobs in flight get their 2 s to
	// complete over healthy links, rather than be counted lost behind a fault.
	stopPhasesOnInterrupt := context.AfterFunc(ctx, func() { phases.stop() })
	defer stopPhasesOnInterrupt()
	if cfg.OpenLoop() {
		out.Schedule = d.openLoop(ctx)
	} else {
		d.closedLoop(ctx)
	}
	enqueueEnd := time.Now()
	stageMu.Lock()
	stage = "drain"
	stageMu.Unlock()
	workersStart := loadStart
	if cfg.Burst {
		workersStart = time.Now()
		if err := st.StartWorkers(ctx, cfg, rec); err != nil && ctx.Err() == nil {
			return out, err
		}
	}

	// Drain: it lasts while jobs keep completing (up to DrainWait, or DefaultDrainCap),
	// and ends after an idle window without a completion, counted from the end of the
	// last timed phase at the earliest (a fault may hold every job back until then). An
	// interrupt (before or during the drain) cuts it to InterruptDrain, so an interrupted
	// run still reports what happened to the jobs in flight rather than counting them
	// lost at once.
	limit := cmp.Or(cfg.DrainWait, DefaultDrainCap)
	idle := DrainIdle(cfg)
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit)
	stopCut := context.AfterFunc(ctx, func() { time.AfterFunc(InterruptDrain, cancel) })
	drainErr := rec.Drain(dctx, idle, loadStart.Add(phasesEnd(cfg.Phases)))
	stopCut()
	cancel()
	tl.Stop(time.Now()) // the time series ends with the drain, not with the stack's shutdown
	out.Interrupted = ctx.Err() != nil
	if unfinished := rec.Pending(); drainErr != nil && !out.Interrupted {
		if errors.Is(drainErr, ErrDrainStalled) {
			out.Notes = append(out.Notes, fmt.Sprintf("drain stopped after %s without a completion, with %d accepted jobs unfinished", idle, unfinished))
		} else {
			out.Notes = append(out.Notes, fmt.Sprintf("drain stopped at its limit of %s (--drain-timeout), with %d accepted jobs unfinished", limit, unfinished))
		}
	}
	// What Faktory still holds is counted on a still system: phases lifted (a fault
	// ends with the run), workers stopped (no job moves between the queue and a slot
	// while it is counted), the API stopped (an async buffer flushed into the queue).
	out.Phases = phases.stop()
	out.Notes = append(out.Notes, phaseNotes(out.Phases)...)
	held := st.StopWorkers(rec.Pending() == 0)
	if err := st.StopAPI(); err != nil {
		out.Notes = append(out.Notes, fmt.Sprintf("stopping the API: %v", err))
	}
	if cfg.EnqueueMode == system.EnqueueAsync && cfg.Target == TargetAPI {
		s := st.API.AsyncStats()
		out.Notes = append(out.Notes, fmt.Sprintf("async enqueue: the API answered before Faktory had the job; accepted jobs waited up to %.1f ms (mean %.1f ms) in its buffer, not yet durable, over %d PUSHB flushes; %d refused by Faktory",
			ms(s.MaxWindow), ms(s.MeanWindow), s.Flushes, s.Refused))
	}
	rec.Settle()
	if rec.Pending() > 0 {
		qctx, qcancel := context.WithTimeout(context.Background(), 5*time.Second)
		queued, reserved, err := st.FaktoryHolds(qctx)
		qcancel()
		switch {
		case err != nil:
			out.Notes = append(out.Notes, fmt.Sprintf("could not ask Faktory how many of the run's jobs it still holds (%v): the unfinished jobs count as lost", err))
		case reserved < 0: // an external Faktory: the jobs our own workers still held
			rec.Held(queued + held)
		default:
			rec.Held(queued + reserved)
			if reserved > 0 {
				out.Notes = append(out.Notes, fmt.Sprintf("%d of the run's jobs were queued and %d reserved when the run ended: a reserved job was handed to a worker that never acknowledged it (a fault on its link, or a slot stopped mid-job); Faktory hands it out again after its %d s reservation",
					queued, reserved, system.ReserveFor))
			}
		}
		if err == nil && st.Broker == nil && queued > 0 {
			out.Notes = append(out.Notes, fmt.Sprintf("the run's queue %s, with the %d jobs still in it, is removed from the external Faktory as the run ends", st.Queue, queued))
		}
	}
	if p50, p99, n := st.Proxies.Lateness(); n > 0 {
		out.DelayLine = &reports.DelayLine{LatenessP50MS: ms(p50), LatenessP99MS: ms(p99), Deliveries: n}
	}
	bytesAfter := linkBytes(st)
	for i := range out.Links {
		n := out.Links[i].Name
		out.Links[i].BytesUp = bytesAfter[n][0] - bytesBefore[n][0]
		out.Links[i].BytesDown = bytesAfter[n][1] - bytesBefore[n][1]
	}
	snap := rec.Snapshot(d.sent())
	out.Intervals, out.Hlogs = snap.Intervals, tl.Hlogs()
	if snap.IntervalErr != nil {
		out.Notes = append(out.Notes, fmt.Sprintf("writing the interval logs failed (%v): the logs stop there; the time series in the result is whole", snap.IntervalErr))
	}
	if out.Interrupted {
		planned := fmt.Sprintf("%d planned", cfg.Jobs)
		if cfg.Jobs == 0 {
			planned = "a " + cfg.Duration.String() + " run"
		}
		out.Notes = append(out.Notes, fmt.Sprintf("interrupted: figures cover %d accepted jobs of %s; %d accepted jobs had not completed (%d still in Faktory, %d lost)",
			snap.Jobs.Accepted, planned, snap.Jobs.Pending+snap.Jobs.Lost, snap.Jobs.Pending, snap.Jobs.Lost))
	}
	fillRun(&out, cfg, snap, loadStart, enqueueEnd)
	// Drain rate: from the FETCH that brought the first job (one worker-faktory round trip
	// before a worker started it; the slots' connections were open by then) to the last
	// job finished.
	if cfg.Burst && !snap.FirstPickup.IsZero() && snap.LastFinish.After(snap.FirstPickup) {
		var fetchRTT time.Duration
		if plan, err := netem.Plan(cfg.Topology, cfg.RTT, cfg.Jitter, cfg.Links); err == nil {
			fetchRTT = plan[netem.WorkerFaktory].RTT
		}
		window := snap.LastFinish.Sub(snap.FirstPickup) + fetchRTT
		out.Throughput.DrainJobsPerS = float64(snap.Jobs.Completed+snap.Jobs.Failed) / window.Seconds()
		out.Notes = append(out.Notes, fmt.Sprintf("burst: every job was enqueued before the workers started (%.0f ms after the load began); from their first pickup they drained the backlog at %.1f jobs/s",
			ms(workersStart.Sub(loadStart)), out.Throughput.DrainJobsPerS))
	}
	if cause := context.Cause(ctx); errors.Is(cause, system.ErrBrokerDied) {
		out.Notes = append(out.Notes, fmt.Sprintf("aborted: %v", cause))
		return out, fmt.Errorf("%w: %w", ErrEnvironment, cause)
	}
	if snap.Jobs.Accepted == 0 && snap.LastErr != nil {
		return out, fmt.Errorf("no job was accepted: %w", snap.LastErr)
	}
	return out, nil
}

// watchBroker returns a context that also ends, with the broker's error as its cause,
// when the embedded broker dies (b nil: an external one, not watched).
func watchBroker(ctx context.Context, b *system.Broker) (context.Context, func()) {
	if b == nil {
		return ctx, func() {}
	}
	wctx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-b.Died():
			cancel(b.Err())
		case <-wctx.Done():
		}
	}()
	return wctx, func() { cancel(nil) }
}

// linkBytes reads every link's byte counters (up, down).
func linkBytes(st *Stack) map[string][2]int64 {
	out := map[string][2]int64{}
	for name, l := range st.Links {
		up, down := l.Bytes()
		out[name] = [2]int64{up, down}
	}
	return out
}

// workerSlots resolves the worker's slot count: an explicit one, the strategy's default,
// or, for tuned, Little's law on the measured worker-faktory RTT and the offered rate.
func workerSlots(cfg RunConfig, links []reports.Link) (int, string) {
	if cfg.WorkerConcurrency > 0 {
		return cfg.WorkerConcurrency, ""
	}
	switch cfg.Poll {
	case system.PollTuned:
		var rtt time.Duration
		for _, l := range links {
			if l.Name == netem.WorkerFaktory {
				rtt = time.Duration(l.MeasuredRTTMS * float64(time.Millisecond))
			}
		}
		if rtt == 0 { // not measured: the configured RTT
			if plan, err := netem.Plan(cfg.Topology, cfg.RTT, cfg.Jitter, cfg.Links); err == nil {
				rtt = plan[netem.WorkerFaktory].RTT
			}
		}
		work, _ := system.ParseWork(cfg.Work)
		n, why := system.TunedSlots(cfg.OfferedRate(), rtt, work.D)
		if b := min(cfg.Batch, system.MaxTunedSlots); n < b {
			// Jobs arrive a batch at once: Little's law gives the mean, a batch needs
			// enough slots to be picked up in one round trip.
			n, why = b, why+fmt.Sprintf("; raised to %d, one batch, so a batch is picked up in one round trip", b)
		}
		return n, why
	case system.PollLibrary:
		return system.LibrarySlots, ""
	}
	return system.FixedSlots, ""
}

func fillRun(out *reports.Run, cfg RunConfig, s Snapshot, loadStart, enqueueEnd time.Time) {
	out.Jobs = s.Jobs
	out.LatencyMS = map[string]reports.Percentiles{}
	out.Histograms = map[string]string{}
	for point, h := range s.Hist {
		if h.TotalCount() == 0 && point == reports.PointService {
			continue
		}
		out.LatencyMS[point] = reports.PercentilesOf(h)
		if enc, err := reports.EncodeHistogram(h); err == nil {
			out.Histograms[point] = enc
		}
	}
	// Enqueue phase: first call start to last answer; total: to the last completion.
	first := s.FirstStart
	if first.IsZero() {
		first = loadStart
	}
	enq := s.LastAnswer.Sub(first)
	if s.LastAnswer.IsZero() {
		enq = enqueueEnd.Sub(first)
	}
	total := s.LastFinish.Sub(first)
	if s.LastFinish.IsZero() || total < enq {
		total = enq
	}
	out.DurationS = reports.Durations{Enqueue: enq.Seconds(), Total: total.Seconds()}
	// Enqueue throughput counts the jobs an answer accepted within the enqueue window:
	// a job whose call failed (or was cut off by an interrupt) but ran anyway was not
	// accepted by the time of the last answer, and counting it would beat the floor.
	answered := s.Jobs.Accepted - s.LateAccepted
	if enq > 0 {
		out.Throughput.EnqueueJobsPerS = float64(answered) / enq.Seconds()
	}
	if total > 0 {
		out.Throughput.CompletedJobsPerS = float64(s.Jobs.Completed+s.Jobs.Failed) / total.Seconds()
	}
	out.Model = model(cfg, answered, enq)
	workerModel(&out.Model, cfg)
	for _, l := range out.Links {
		if slices.Contains(EnqueueLinks(cfg), l.Name) {
			out.Model.MeasuredEnqueueRTTMS += l.MeasuredRTTMS
		}
	}
	if s.EarlyPick > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d jobs were picked up by a worker before their enqueue call was answered (the answer was still crossing the link); their pickup latency is recorded as 0", s.EarlyPick))
	}
	if s.Foreign > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d completions of jobs this run did not send were ignored", s.Foreign))
	}
	if s.FailedCalls > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d enqueue calls got no usable answer; last error: %v", s.FailedCalls, s.LastErr))
	}
	if s.LateAccepted > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d jobs completed although their enqueue call failed or refused them: counted as accepted, without a pickup latency", s.LateAccepted))
	}
	if s.Jobs.Errors > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d jobs were not accepted (refused, or their call failed) and never ran", s.Jobs.Errors))
	}
	if out.Model.BeatsFloor {
		out.Notes = append(out.Notes, "measured faster than the network floor: this is a measurement error, not a win")
	}
}

// EnqueueLinks are the links one enqueue call waits on: an async API answers before its
// PUSHB crosses api-faktory.
func EnqueueLinks(cfg RunConfig) []string {
	switch {
	case cfg.Target == TargetFaktory:
		return []string{netem.ClientFaktory}
	case cfg.EnqueueMode == system.EnqueueAsync:
		return []string{netem.ClientAPI}
	}
	return []string{netem.ClientAPI, netem.APIFaktory}
}

// EnqueueRTT is the round-trip time one enqueue call pays, from the configuration (the
// sum of the links it crosses), and its jitter.
func EnqueueRTT(cfg RunConfig) (rtt, jitter time.Duration) {
	plan, err := netem.Plan(cfg.Topology, cfg.RTT, cfg.Jitter, cfg.Links)
	if err != nil {
		return 0, 0
	}
	for _, n := range EnqueueLinks(cfg) {
		rtt += plan[n].RTT
		jitter += plan[n].Jitter
	}
	return rtt, jitter
}

// model computes the network floor of the enqueue phase. A round trip takes at least
// RTT − jitter. With C clients in a closed loop each client makes ceil(calls/C) calls in
// sequence; in the open loop the schedule itself spans (calls-1) intervals plus one
// round trip.
func model(cfg RunConfig, accepted int, measured time.Duration) reports.Model {
	rtt, jitter := EnqueueRTT(cfg)
	minRTT := max(rtt-jitter, 0)
	m := reports.Model{RoundTripsPerJob: 1 / float64(cfg.Batch), EnqueueRTTMS: ms(rtt)}
	if accepted == 0 {
		return m
	}
	calls := math.Ceil(float64(accepted) / float64(cfg.Batch))
	var floor time.Duration
	if cfg.OpenLoop() {
		interval := float64(time.Second) * float64(cfg.Batch) / cfg.Rate
		floor = time.Duration((calls-1)*interval) + minRTT
	} else {
		perClient := math.Ceil(calls / float64(cfg.Concurrency))
		floor = time.Duration(perClient) * minRTT
	}
	m.NetworkFloorS = floor.Seconds()
	if minRTT > 0 {
		m.FloorJobsPerS = float64(cfg.Concurrency*cfg.Batch) / minRTT.Seconds()
		if cfg.OpenLoop() {
			m.FloorJobsPerS = math.Min(m.FloorJobsPerS, cfg.Rate)
		}
	}
	if measured > 0 && floor > 0 {
		m.Efficiency = floor.Seconds() / measured.Seconds()
		// 1% slack: the floor is computed from configured RTTs, the clock is not perfect.
		m.BeatsFloor = measured.Seconds() < floor.Seconds()*0.99
	}
	return m
}

func ResultConfig(c RunConfig) reports.Config {
	rc := reports.Config{
		RTTMS: ms(c.RTT), JitterMS: ms(c.Jitter), Topology: c.Topology, Target: c.Target,
		Batch: c.Batch, Jobs: c.Jobs, DurationS: c.Duration.Seconds(), Concurrency: c.Concurrency,
		RatePerS: c.Rate, Poll: c.Poll, WorkerConcurrency: c.WorkerConcurrency,
		EnqueueMode: c.EnqueueMode, Netem: c.Netem, PoolSize: c.PoolSize, FaktoryURL: redactURL(c.FaktoryURL),
		AckMode: ackMode(c.Poll), Burst: c.Burst, Compression: c.Compression,
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

// workerModel adds the worker side of the floor: with sync ACKs a job costs a slot two
// round trips, with pipelined ones one.
func workerModel(m *reports.Model, cfg RunConfig) {
	plan, err := netem.Plan(cfg.Topology, cfg.RTT, cfg.Jitter, cfg.Links)
	if err != nil {
		return
	}
	m.WorkerRoundTripsPerJob = 2
	if ackMode(cfg.Poll) == system.AckPipelined {
		m.WorkerRoundTripsPerJob = 1
	}
	if rtt := plan[netem.WorkerFaktory].RTT; rtt > 0 && cfg.WorkerConcurrency > 0 {
		m.WorkerFloorJobsPerS = float64(cfg.WorkerConcurrency) / (m.WorkerRoundTripsPerJob * rtt.Seconds())
	}
}

// ackMode is how the strategy acknowledges jobs.
func ackMode(poll string) string {
	if poll == system.PollTuned {
		return "pipelined"
	}
	return "sync"
}

func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "wfb" + hex.EncodeToString(b)
}

// IsEnvironment reports whether err is the machine's fault (exit code 3).
func IsEnvironment(err error) bool { return errors.Is(err, ErrEnvironment) }
