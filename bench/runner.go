package bench

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/recording"
	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/system"
)

// InterruptDrain bounds the wait for accepted jobs after an interrupt.
const InterruptDrain = 2 * time.Second

// Drain bounds. A drain lasts while jobs keep completing: it ends once no job has
// completed for Plan.DrainIdle, and at DefaultDrainCap when --drain-timeout sets no limit.
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
		if p.Condition.Fault == netem.FaultKill && IsWorkerHostName(p.Link) {
			end = max(end, p.At+system.RecoveryAfterKill) // its jobs come back that late
		}
	}
	return end
}

// externalLinkSamples is the fewest round trips that measure a link on a running
// toxiproxy server.
const externalLinkSamples = 21

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

// Execute measures one run: it resolves cfg (Resolve) and runs the plan (ExecutePlan).
func Execute(ctx context.Context, cfg RunConfig, opts Options) (reports.Run, error) {
	p, err := Resolve(cfg)
	if err != nil {
		return reports.Run{}, err
	}
	return ExecutePlan(ctx, p, opts)
}

// execution is one run under way: what its steps share.
type execution struct {
	p     Plan
	opts  Options
	log   *slog.Logger
	runID string
	out   reports.Run
	rec   *recording.Recorder
	st    *Stack
	d     *driver
	tl    *recording.Timeline

	loadStart, enqueueEnd, workersStart time.Time
	bytesBefore                         map[string][2]int64

	stageMu sync.Mutex
	stage   string // load, drain
}

// ExecutePlan measures one run: stack up, links measured, connections warmed, load (with
// its phases), drain, accounting, stack down. It returns what was measured even when ctx
// ends mid-run (Interrupted set). err is non-nil when nothing meaningful could be
// measured, or when the environment failed mid-run (the embedded broker died): then the
// run returned is marked Interrupted and holds what was measured until then.
func ExecutePlan(ctx context.Context, p Plan, opts Options) (_ reports.Run, err error) {
	e := &execution{p: p, opts: opts, log: opts.Log, runID: newRunID(), stage: "load"}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.rec = recording.NewRecorder(e.runID)
	e.out = reports.Run{Name: p.DisplayName(), Config: ResultConfig(p.RunConfig)}

	e.log.Info("starting stack", "run", e.out.Name)
	if e.st, err = StartStack(ctx, p, e.runID); err != nil {
		return e.out, err
	}
	defer e.st.Close()
	// From here on ctx also ends when the embedded broker dies: the run stops as if
	// interrupted, keeps what it measured, and returns the death as an environment error.
	ctx, stopWatch := watchBroker(ctx, e.st.Broker)
	defer stopWatch()
	ctx, stopHosts := e.st.hosts.watch(ctx)
	defer stopHosts()
	defer func() { err = brokerDeath(ctx, err) }()

	tgt, err := e.prepare(ctx)
	if err != nil {
		return e.out, err
	}
	defer tgt.close()
	e.d = &driver{cfg: p.RunConfig, run: e.runID, target: tgt, rec: e.rec}
	if err := e.startTimeline(); err != nil {
		return e.out, err
	}
	defer func() { _, _ = e.tl.Close(time.Now()) }() // on an early return; the snapshot closes it first otherwise
	defer e.watchProgress(ctx)()
	phases := startPhases(p.Phases, e.st.Links, e.loadStart)
	defer phases.stop()
	// An interrupt lifts every phase at once: the jobs in flight get their 2 s to
	// complete over healthy links, rather than be counted lost behind a fault.
	defer context.AfterFunc(ctx, func() { phases.stop() })()

	if err := e.load(ctx); err != nil {
		return e.out, err
	}
	e.drain(ctx)
	// What Faktory still holds is counted on a still system: phases lifted (a fault
	// ends with the run), workers stopped, the API stopped.
	e.out.Phases = phases.stop()
	e.out.Notes = append(e.out.Notes, phaseNotes(e.out.Phases)...)
	e.account()
	return e.out, e.finish(ctx)
}

// prepare measures the links, sizes and starts the workers (unless burst) and opens and
// warms the load's target.
func (e *execution) prepare(ctx context.Context) (target, error) {
	samples := e.p.LinkSamples
	if e.p.Netem == netem.BackendExternal {
		// The official server's latency toxics wake on Go timers, each direction up to
		// ~0.5 ms apart from one round trip to the next: a median of 5 moves by ±1 ms
		// (measured: 50 ms links +0.4% to +4.2%), of 21 by a few tenths.
		samples = max(samples, externalLinkSamples)
	}
	links, err := e.st.MeasureLinks(ctx, samples)
	e.out.Links = links
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEnvironment, err)
	}
	var measured time.Duration
	if i := slices.IndexFunc(links, func(l reports.Link) bool { return l.Name == netem.WorkerFaktory }); i >= 0 {
		measured = time.Duration(links[i].MeasuredRTTMS * float64(time.Millisecond))
	}
	if why := e.p.SizeWorkers(measured); why != "" {
		e.out.Notes = append(e.out.Notes, why)
	}
	e.out.Config.WorkerConcurrency = e.p.WorkerConcurrency
	if !e.p.Burst {
		if err := e.st.StartWorkers(ctx, e.p, e.rec); err != nil {
			return nil, err
		}
	}
	var tgt target
	switch e.p.Target {
	case TargetAPI:
		queue := ""
		if e.p.APIURL != "" {
			queue = e.st.Queue
			e.out.Notes = append(e.out.Notes, remoteAPINote(e.p, links))
		} else if e.st.hosts == nil { // API processes on hosts warm their own pools as they serve
			if err := e.st.WarmAPIPool(ctx, min(e.p.Concurrency, e.p.PoolSize)); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrEnvironment, err)
			}
		}
		t := newAPITarget(e.st.APIBase(), e.runID, queue, e.p.Concurrency, e.p.Compression == "gzip")
		if e.st.hosts != nil { // connections spread over the API hosts' client-api links
			t.conns.addrs = e.st.hosts.clientAddrs
		}
		if e.p.APIURL != "" && e.p.APIToken != "" {
			t.header = append(t.header, "Authorization", "Bearer "+e.p.APIToken)
		}
		tgt = t
	case TargetFaktory:
		ft, err := newFaktoryTarget(e.st.via(netem.ClientFaktory), e.runID, e.st.Queue, e.p.Concurrency, jobRetries(e.p.RunConfig))
		if err != nil {
			return nil, err
		}
		tgt = ft
	}
	if err := tgt.warm(ctx, e.p.Concurrency); err != nil {
		tgt.close()
		return nil, fmt.Errorf("%w: %w", ErrEnvironment, err)
	}
	return tgt, nil
}

// startTimeline starts the load's clock and its time series: every sample also lands in
// the interval of its wall time; each interval is written to the interval logs as it
// ends.
func (e *execution) startTimeline() error {
	e.log.Info("load", "run", e.out.Name)
	e.bytesBefore = linkBytes(e.st)
	e.st.Proxies.ResetLateness() // the calibration covers the load and the drain, not the warm-up
	e.loadStart = time.Now()
	o := recording.TimelineOptions{Start: e.loadStart, Every: cmp.Or(e.p.Interval, reports.DefaultInterval), Run: e.out.Name,
		Points: []string{reports.PointEnqueue, reports.PointPickup, reports.PointEndToEnd}, Grace: e.p.intervalGrace()}
	if e.p.OpenLoop() {
		o.Points = append(o.Points, reports.PointService)
	}
	if e.opts.IntervalFiles != nil {
		o.Dir, o.Stem = e.opts.IntervalFiles(e.out.Name)
	}
	tl, err := recording.NewTimeline(o)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrEnvironment, err)
	}
	e.tl = tl
	tl.Start()
	e.rec.StartTimeline(tl)
	return nil
}

// watchProgress reports progress every ProgressInterval until the returned function is
// called, which sends the last report (Done).
func (e *execution) watchProgress(ctx context.Context) func() {
	var meter rateMeter
	progress := func() Progress {
		acc, fin := e.rec.Counts()
		e.stageMu.Lock()
		defer e.stageMu.Unlock()
		now := time.Now()
		return Progress{Run: e.out.Name, Stage: e.stage, Sent: e.d.sent(), Total: e.p.Jobs, Duration: e.p.Duration,
			Accepted: acc, Completed: fin, Elapsed: now.Sub(e.loadStart), Rate: meter.add(now, fin)}
	}
	pctx, stop := context.WithCancel(ctx)
	var done sync.WaitGroup
	done.Go(func() { reportProgress(pctx, e.opts.Progress, progress) })
	return func() {
		stop()
		done.Wait()
		if e.opts.Progress != nil {
			p := progress()
			p.Done = true
			e.opts.Progress(p)
		}
	}
}

// load drives the load to its end (or an interrupt), then, for a burst, starts the
// workers on the backlog.
func (e *execution) load(ctx context.Context) error {
	if e.p.OpenLoop() {
		e.out.Schedule = e.d.openLoop(ctx)
	} else {
		e.d.closedLoop(ctx)
	}
	e.enqueueEnd = time.Now()
	e.stageMu.Lock()
	e.stage = "drain"
	e.stageMu.Unlock()
	e.workersStart = e.loadStart
	if e.p.Burst {
		e.workersStart = time.Now()
		if err := e.st.StartWorkers(ctx, e.p, e.rec); err != nil && ctx.Err() == nil {
			return err
		}
	}
	return nil
}

// drain waits for the accepted jobs: while they keep completing (up to DrainWait, or
// DefaultDrainCap), until an idle window without a completion, counted from the end of
// the last timed phase at the earliest (a fault may hold every job back until then). An
// interrupt (before or during the drain) cuts it to InterruptDrain, so an interrupted
// run still reports what happened to the jobs in flight rather than counting them lost
// at once.
func (e *execution) drain(ctx context.Context) {
	limit := cmp.Or(e.p.DrainWait, DefaultDrainCap)
	idle := e.p.DrainIdle()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit)
	stopCut := context.AfterFunc(ctx, func() { time.AfterFunc(InterruptDrain, cancel) })
	drainErr := e.rec.Drain(dctx, idle, e.loadStart.Add(phasesEnd(e.p.Phases)))
	stopCut()
	cancel()
	e.tl.Stop(time.Now()) // the time series ends with the drain, not with the stack's shutdown
	e.out.Interrupted = ctx.Err() != nil
	if unfinished := e.rec.Pending(); drainErr != nil && !e.out.Interrupted {
		if errors.Is(drainErr, recording.ErrDrainStalled) {
			e.out.Notes = append(e.out.Notes, fmt.Sprintf("drain stopped after %s without a completion, with %d accepted jobs unfinished", idle, unfinished))
		} else {
			e.out.Notes = append(e.out.Notes, fmt.Sprintf("drain stopped at its limit of %s (--drain-timeout), with %d accepted jobs unfinished", limit, unfinished))
		}
	}
}

// account stops the workers (no job moves between the queue and a slot while it is
// counted) and the API (an async buffer flushed into the queue), then asks Faktory how
// many of the run's unfinished jobs it still holds: those are pending, the rest lost.
func (e *execution) account() {
	held := e.st.StopWorkers(e.rec.Pending() == 0)
	if err := e.st.StopAPI(); err != nil {
		e.out.Notes = append(e.out.Notes, fmt.Sprintf("stopping the API: %v", err))
	}
	if e.p.EnqueueMode == system.EnqueueAsync && e.p.Target == TargetAPI && e.st.API != nil {
		s := e.st.API.AsyncStats()
		e.out.Notes = append(e.out.Notes, fmt.Sprintf("async enqueue: the API answered before Faktory had the job; accepted jobs waited up to %.1f ms (mean %.1f ms) in its buffer, not yet durable, over %d PUSHB flushes; %d refused by Faktory",
			ms(s.MaxWindow), ms(s.MeanWindow), s.Flushes, s.Refused))
	}
	e.rec.Settle()
	if e.rec.Pending() == 0 {
		return
	}
	if e.st.Broker != nil && e.st.Broker.Err() != nil {
		return // its redis-server is gone, and every job it held with it: the unfinished are lost
	}
	qctx, qcancel := context.WithTimeout(context.Background(), 5*time.Second)
	queued, reserved, acked, err := e.st.FaktoryHolds(qctx)
	qcancel()
	switch {
	case err != nil:
		e.out.Notes = append(e.out.Notes, fmt.Sprintf("could not ask Faktory how many of the run's jobs it still holds (%v): the unfinished jobs count as lost", err))
	case reserved < 0: // an external Faktory: the jobs our own workers still held
		e.rec.Held(queued + held)
	default:
		e.rec.Held(queued + reserved)
		if e.st.hosts != nil { // workers in other processes: reports can die with them
			e.reconcileAcks(acked)
		}
		if reserved > 0 {
			e.out.Notes = append(e.out.Notes, fmt.Sprintf("%d of the run's jobs were queued and %d reserved when the run ended: a reserved job was handed to a worker that never acknowledged it (a fault on its link, or a slot stopped mid-job); Faktory hands it out again after its %d s reservation",
				queued, reserved, system.ReserveFor))
		}
	}
	if err == nil && e.st.Broker == nil && queued > 0 {
		e.out.Notes = append(e.out.Notes, fmt.Sprintf("the run's queue %s, with the %d jobs still in it, is removed from the external Faktory as the run ends", e.st.Queue, queued))
	}
}

// reconcileAcks takes the jobs the hosts' Faktory counted acknowledged: a worker process
// killed with completion reports still buffered did those jobs, and they are unreported
// rather than lost.
func (e *execution) reconcileAcks(acked int) {
	e.rec.Acked(acked)
	if _, done := e.rec.Counts(); acked > done {
		e.out.Notes = append(e.out.Notes, fmt.Sprintf("Faktory counted %d jobs acknowledged, the workers reported %d: the difference was done by a worker process killed with its reports still buffered (unreported: done, not timed)", acked, done))
	}
}

// finish fills the run's figures from the recorder's snapshot and says how it ended.
func (e *execution) finish(ctx context.Context) error {
	out := &e.out
	out.Notes = append(out.Notes, e.st.Proxies.Notes()...) // what the links' backend could not do as configured
	out.Clocks = clocks(e.st.hosts, e.p.OpenLoop())
	if e.st.hosts != nil {
		e.st.hosts.mu.Lock()
		for _, err := range e.st.hosts.stopErrs {
			out.Notes = append(out.Notes, fmt.Sprintf("stopping a part: %v", err))
		}
		e.st.hosts.mu.Unlock()
		out.Workers = e.st.hosts.workers()
		for _, w := range out.Workers {
			if w.Killed {
				out.Notes = append(out.Notes, fmt.Sprintf("worker host %s was killed (SIGKILL) by its phase: the jobs it had reserved ran again on the other workers once Faktory let them go (a %d s reservation, its reaper every 15 s, a first retry 15 to 44 s later); the drain waited up to %s after the kill for them, and their latencies include that wait; a job it finished but never acknowledged ran twice (counted in duplicated)",
					w.Name, system.ReserveFor, system.RecoveryAfterKill))
			}
		}
	}
	if p50, p99, n := e.st.Proxies.Lateness(); n > 0 {
		out.DelayLine = &reports.DelayLine{LatenessP50MS: ms(p50), LatenessP99MS: ms(p99), Deliveries: n}
	}
	bytesAfter := linkBytes(e.st)
	for i := range out.Links {
		n := out.Links[i].Name
		out.Links[i].BytesUp = bytesAfter[n][0] - e.bytesBefore[n][0]
		out.Links[i].BytesDown = bytesAfter[n][1] - e.bytesBefore[n][1]
	}
	snap := e.rec.Snapshot(e.d.sent())
	out.Intervals, out.Hlogs = snap.Intervals, e.tl.Hlogs()
	if snap.IntervalErr != nil {
		out.Notes = append(out.Notes, fmt.Sprintf("writing the interval logs failed (%v): the logs stop there; the time series in the result is whole", snap.IntervalErr))
	}
	if out.Interrupted {
		planned := fmt.Sprintf("%d planned", e.p.Jobs)
		if e.p.Jobs == 0 {
			planned = "a " + e.p.Duration.String() + " run"
		}
		out.Notes = append(out.Notes, fmt.Sprintf("interrupted: figures cover %d accepted jobs of %s; %d accepted jobs had not completed (%d still in Faktory, %d lost)",
			snap.Jobs.Accepted, planned, snap.Jobs.Pending+snap.Jobs.Lost, snap.Jobs.Pending, snap.Jobs.Lost))
	}
	fillRun(out, e.p, snap, e.loadStart, e.enqueueEnd)
	// Drain rate: from the FETCH that brought the first job (one worker-faktory round trip
	// before a worker started it; the slots' connections were open by then) to the last
	// job finished.
	if e.p.Burst && !snap.FirstPickup.IsZero() && snap.LastFinish.After(snap.FirstPickup) {
		window := snap.LastFinish.Sub(snap.FirstPickup) + e.p.workerLink().RTT
		out.Throughput.DrainJobsPerS = float64(snap.Jobs.Completed+snap.Jobs.Failed) / window.Seconds()
		out.Notes = append(out.Notes, fmt.Sprintf("burst: every job was enqueued before the workers started (%.0f ms after the load began); from their first pickup they drained the backlog at %.1f jobs/s",
			ms(e.workersStart.Sub(e.loadStart)), out.Throughput.DrainJobsPerS))
	}
	if cause := context.Cause(ctx); errors.Is(cause, system.ErrBrokerDied) {
		note, byPhase := brokerDeathNote(out.Phases, snap.Jobs)
		out.Notes = append(out.Notes, note, fmt.Sprintf("aborted: %v", cause))
		if byPhase {
			out.Ended = reports.EndedRedisKill
			return fmt.Errorf("%w: ended by its own redis kill phase: %w", ErrEnvironment, cause)
		}
		return fmt.Errorf("%w: %w", ErrEnvironment, cause)
	}
	if cause := context.Cause(ctx); errors.Is(cause, ErrPartDied) {
		out.Notes = append(out.Notes, fmt.Sprintf("aborted: %v", cause))
		return fmt.Errorf("%w: %w", ErrEnvironment, cause)
	}
	if snap.Jobs.Accepted == 0 && snap.LastErr != nil {
		return fmt.Errorf("no job was accepted: %w", snap.LastErr)
	}
	return nil
}

// remoteAPINote says what a run against a running API measures and what it cannot set.
func remoteAPINote(p Plan, links []reports.Link) string {
	measured := "not measured"
	if i := slices.IndexFunc(links, func(l reports.Link) bool { return l.Name == netem.ClientAPI }); i >= 0 {
		measured = fmt.Sprintf("measured at %.3f ms", links[i].MeasuredRTTMS)
	}
	return fmt.Sprintf("the API at %s is not run by wfbench: client-api is its real path (%s, not emulated), api-faktory its own path to Faktory (neither emulated nor measured); the network floor leaves both out; enqueue_mode, pool_size, max_batch and flush_interval are that API's own settings, not this run's",
		p.APIURL, measured)
}

// brokerDeathNote says what the embedded broker's death cost, and whether the run's own
// redis kill phase caused it: Redis runs without persistence, so every job still queued or
// reserved in it is gone.
func brokerDeathNote(phases []reports.Phase, j reports.Jobs) (note string, byPhase bool) {
	what := "redis-server died mid-run"
	for _, ph := range phases {
		if ph.Link == PartRedis && ph.Error == "" && ph.AppliedAtS != nil {
			what, byPhase = fmt.Sprintf("redis-server killed by the phase at %.2f s", *ph.AppliedAtS), true
		}
	}
	return fmt.Sprintf("%s: Redis without persistence lost its queued and reserved jobs: %d accepted jobs never completed", what, j.Pending+j.Lost), byPhase
}

// brokerDeath names the broker's death as the cause of a step that failed because of it,
// rather than just "canceled".
func brokerDeath(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); err != nil && (errors.Is(cause, system.ErrBrokerDied) || errors.Is(cause, ErrPartDied)) && !errors.Is(err, cause) {
		return fmt.Errorf("%w: %w (%v)", ErrEnvironment, cause, err)
	}
	return err
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

func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "wfb" + hex.EncodeToString(b)
}

// IsEnvironment reports whether err is the machine's fault (exit code 3).
func IsEnvironment(err error) bool { return errors.Is(err, ErrEnvironment) }

func fillRun(out *reports.Run, p Plan, s recording.Snapshot, loadStart, enqueueEnd time.Time) {
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
	out.Model = model(p, answered, enq)
	workerModel(&out.Model, p)
	for _, l := range out.Links {
		if slices.Contains(p.EnqueueLinks, l.Name) {
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
