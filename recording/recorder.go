package recording

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/system"
)

// MaxJobs is the most jobs one run may send: job numbers beyond it are not the run's.
const MaxJobs = 2_000_000

type jobPhase uint8

const (
	phaseSent     jobPhase = iota // call in flight
	phaseAccepted                 // the call answered and Faktory took the job
	phaseRejected                 // the call answered and refused the job
	phaseUnknown                  // the call failed: Faktory may or may not have the job
)

// jobState is a job the recorder still waits on: its call is in flight, or it is
// accepted and not finished, or its call failed or refused it (a completion would then
// show Faktory had it after all). A finished job's state is dropped: what is left of it
// is one bit in finished. It holds no pointer and its times are offsets from the
// recorder's base, so that the hundreds of thousands of jobs a fast enqueue can put ahead
// of the workers cost 24 bytes each and nothing for the garbage collector to scan.
type jobState struct {
	intended int64 // call start (intended start in open loop), ns after base
	answered int64 // ns after base
	phase    jobPhase
}

// Recorder turns the driver's and the workers' timestamps into histograms and job
// accounting. It is the run's CompletionSink. Safe for concurrent use.
//
// Its memory is constant in the run's length: it keeps state only for the jobs in
// flight, and for the finished ones a bit each (request ids are "<run>-<n>": bit n),
// which is what tells a duplicate completion from a foreign one exactly.
type Recorder struct {
	run    string
	prefix string // run + "-"

	mu         sync.Mutex
	base       time.Time                    // the time jobState offsets count from
	jobs       map[int32]jobState           // by job number
	early      map[int32]*system.Completion // completions that came before their call's answer
	finished   bitset
	hist       map[string]*hdrhistogram.Histogram
	accepted   int
	completed  int
	failed     int
	duplicated int
	foreign    int
	earlyPick  int // pickups that happened before the enqueue call was answered
	// failedCalls counts enqueue calls without a usable answer; lateAccepted the jobs that
	// completed although no answer accepted them (Faktory had them after all).
	failedCalls  int
	lateAccepted int
	firstStart   time.Time
	lastAnswer   time.Time
	lastFinish   time.Time
	firstPickup  time.Time // the earliest a worker started one of the run's jobs
	changed      chan struct{}
	lastErr      error
	// held: the run's unfinished jobs Faktory still holds (queued or reserved), asked of
	// it when the drain ended; -1 until then.
	held int
	// acked: how many of the run's jobs Faktory counted as acknowledged, when workers
	// report from other processes (-1: not asked); see Acked.
	acked int
	// tl, when set, also records each sample by the interval of its wall time; the
	// snapshot closes it (series in intervals, a write error in tlErr).
	tl        *Timeline
	intervals *reports.Intervals
	tlErr     error
}

// NewRecorder returns a recorder for the run id (jobs of other runs are ignored).
func NewRecorder(run string) *Recorder {
	r := &Recorder{
		run:     run,
		prefix:  run + "-",
		jobs:    map[int32]jobState{},
		early:   map[int32]*system.Completion{},
		hist:    map[string]*hdrhistogram.Histogram{},
		changed: make(chan struct{}, 1),
		held:    -1,
		acked:   -1,
	}
	for _, p := range []string{reports.PointEnqueue, reports.PointPickup, reports.PointEndToEnd} {
		r.hist[p] = reports.NewHistogram()
	}
	return r
}

// record adds d to a histogram, clamped into its range, and to the time series in the
// interval of at, the sample's wall time; the caller holds mu.
func (r *Recorder) record(point string, d time.Duration, at time.Time) {
	h, ok := r.hist[point]
	if !ok {
		h = reports.NewHistogram()
		r.hist[point] = h
	}
	us := min(max(d.Microseconds(), 0), reports.HistMaxUS)
	_ = h.RecordValue(us)
	if r.tl != nil {
		r.tl.Record(point, us, at)
	}
}

// StartTimeline records every sample from now on in tl too (by the interval of its wall
// time: an answer for enqueue, a worker's start for pickup, its finish for end_to_end),
// with the jobs enqueued and completed per interval. Snapshot closes it.
func (r *Recorder) StartTimeline(tl *Timeline) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tl = tl
}

// number returns the job number in one of the run's request ids ("<run>-<n>").
func (r *Recorder) number(rid string) (int, bool) {
	s, ok := strings.CutPrefix(rid, r.prefix)
	if !ok {
		return 0, false
	}
	// Only the canonical form: "07" or "+7" must not stand for job 7.
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0 && n <= MaxJobs && strconv.Itoa(n) == s
}

// state returns the job number and state of the job with request id rid, if the recorder
// waits on it.
func (r *Recorder) state(rid string) (int32, jobState, bool) {
	n, ok := r.number(rid)
	if !ok {
		return 0, jobState{}, false
	}
	st, ok := r.jobs[int32(n)]
	return int32(n), st, ok
}

// ns and at convert between times and jobState offsets.
func (r *Recorder) ns(t time.Time) int64  { return int64(t.Sub(r.base)) }
func (r *Recorder) at(ns int64) time.Time { return r.base.Add(time.Duration(ns)) }

// Begin registers the jobs of a call about to be sent, with the time the call is
// measured from (intended send time in open loop). Request ids are "<run>-<n>", n ≥ 0;
// others are ignored.
func (r *Recorder) Begin(rids []string, intended time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.firstStart.IsZero() || intended.Before(r.firstStart) {
		r.firstStart = intended
	}
	if r.base.IsZero() {
		r.base = intended
	}
	for _, id := range rids {
		if n, ok := r.number(id); ok {
			r.jobs[int32(n)] = jobState{intended: r.ns(intended)}
		}
	}
}

// Call records one answered enqueue call: its latency from intended (and, in open loop,
// its service time from the actual send), the jobs accepted and those refused.
func (r *Recorder) Call(intended, sent, answered time.Time, accepted, rejected []string, openLoop bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.record(reports.PointEnqueue, answered.Sub(intended), answered)
	if openLoop {
		r.record(reports.PointService, answered.Sub(sent), answered)
	}
	if answered.After(r.lastAnswer) {
		r.lastAnswer = answered
	}
	for _, id := range rejected {
		if n, st, ok := r.state(id); ok && st.phase == phaseSent {
			r.settle(n, st, phaseRejected)
		}
	}
	count := 0
	for _, id := range accepted {
		n, st, ok := r.state(id)
		if !ok || st.phase != phaseSent {
			continue
		}
		st.phase, st.answered = phaseAccepted, r.ns(answered)
		r.jobs[n] = st
		r.accepted++
		count++
		if c, ok := r.early[n]; ok {
			delete(r.early, n)
			r.finish(n, st, *c, true)
		}
	}
	if r.tl != nil && count > 0 {
		r.tl.Enqueued(count, answered)
	}
	r.notify()
}

// CallFailed records a call that got no usable answer: its jobs' fate is unknown until a
// completion shows up (then they count as accepted and completed).
func (r *Recorder) CallFailed(rids []string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failedCalls++
	r.lastErr = err
	for _, id := range rids {
		if n, st, ok := r.state(id); ok && st.phase == phaseSent {
			r.settle(n, st, phaseUnknown)
		}
	}
	r.notify()
}

// settle marks a job whose call did not accept it; a completion already seen proves that
// Faktory had it after all. The caller holds mu.
func (r *Recorder) settle(n int32, st jobState, phase jobPhase) {
	st.phase = phase
	r.jobs[n] = st
	if c, ok := r.early[n]; ok {
		delete(r.early, n)
		r.acceptLate(n, st, c)
	}
}

// acceptLate counts a job that completed although no answer accepted it. Its pickup is
// not recorded: there is no answer time to measure it from. The caller holds mu.
func (r *Recorder) acceptLate(n int32, st jobState, c *system.Completion) {
	st.phase = phaseAccepted
	r.accepted++
	r.lateAccepted++
	r.finish(n, st, *c, false)
}

// Complete is called by workers for every job they ran.
func (r *Recorder) Complete(c system.Completion) {
	r.mu.Lock()
	defer r.mu.Unlock()
	num, ours := r.number(c.RequestID)
	if !ours || (c.Run != "" && c.Run != r.run) {
		r.foreign++
		return
	}
	n := int32(num)
	st, ok := r.jobs[n]
	if !ok {
		if r.finished.has(num) {
			r.duplicated++ // finished before: its state is gone, its bit is not
		} else {
			r.foreign++ // never sent by this run
		}
		return
	}
	switch st.phase {
	case phaseSent:
		if _, stashed := r.early[n]; !stashed {
			r.early[n] = &c // the worker was faster than the call's answer
			return
		}
		// A second completion before the answer: a duplicate, whatever the answer says
		// (the stashed first one is counted when the answer comes).
		r.duplicated++
		return
	case phaseUnknown, phaseRejected:
		r.acceptLate(n, st, &c) // Faktory had it after all
	default:
		r.finish(n, st, c, true)
	}
	r.notify()
}

// finish records the completion of an accepted job and drops its state; the caller holds
// mu.
func (r *Recorder) finish(n int32, st jobState, c system.Completion, withPickup bool) {
	delete(r.jobs, n)
	r.finished.add(int(n))
	if c.Err != nil {
		r.failed++
	} else {
		r.completed++
	}
	if withPickup {
		pickup := c.Started.Sub(r.at(st.answered))
		if pickup < 0 {
			r.earlyPick++
		}
		r.record(reports.PointPickup, pickup, c.Started)
	}
	r.record(reports.PointEndToEnd, c.Finished.Sub(r.at(st.intended)), c.Finished)
	if r.tl != nil {
		r.tl.Completed(c.Finished)
	}
	if c.Finished.After(r.lastFinish) {
		r.lastFinish = c.Finished
	}
	if r.firstPickup.IsZero() || c.Started.Before(r.firstPickup) {
		r.firstPickup = c.Started
	}
}

func (r *Recorder) notify() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// Pending is the number of accepted jobs not completed yet.
func (r *Recorder) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.accepted - r.completed - r.failed
}

// Counts returns jobs accepted and finished (completed or failed) so far.
func (r *Recorder) Counts() (accepted, finished int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.accepted, r.completed + r.failed
}

// ErrDrainStalled ends a drain in which no job completed for the idle window.
var ErrDrainStalled = errors.New("no job completed")

// Drain waits until every accepted job has completed, no job has completed for idle
// (ErrDrainStalled; idle 0: no such limit), or ctx ends (its error). A drain lasts as
// long as the workers make progress, however long the backlog. Before quietUntil (the
// end of the run's last timed fault, say) a lack of progress is expected: the idle
// window counts from then at the earliest.
func (r *Recorder) Drain(ctx context.Context, idle time.Duration, quietUntil time.Time) error {
	var stall <-chan time.Time // nil: never
	var t *time.Timer
	window := func() time.Duration { return idle + max(time.Until(quietUntil), 0) }
	if idle > 0 {
		t = time.NewTimer(window())
		defer t.Stop()
		stall = t.C
	}
	last := -1
	for {
		pending, finished := r.progress()
		if pending <= 0 {
			return nil
		}
		if t != nil && finished != last {
			last = finished
			t.Reset(window())
		}
		select {
		case <-r.changed:
		case <-stall:
			return ErrDrainStalled
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// progress returns the accepted jobs not finished yet and the finished ones.
func (r *Recorder) progress() (pending, finished int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.accepted - r.completed - r.failed, r.completed + r.failed
}

// Held records how many of the run's unfinished jobs Faktory still holds (queued or
// reserved), asked of it once the drain is over and the workers have stopped. The
// snapshot counts them pending rather than lost.
func (r *Recorder) Held(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.held = n
}

// Acked tells the recorder how many of the run's jobs Faktory counted as acknowledged.
// With workers in other processes, a job can be done and acknowledged while its
// completion report dies with its worker (killed with the report still buffered): such
// a job is unreported, not lost, and has no latency. Call it before Snapshot.
func (r *Recorder) Acked(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acked = n
}

// Settle ends the run's accounting: a job whose call never returned (an interrupted run)
// but which a worker ran counts as accepted late. Call it once the load has stopped.
func (r *Recorder) Settle() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for n, c := range r.early { // jobs still waiting on their call's answer
		delete(r.early, n)
		if st, ok := r.jobs[n]; ok && st.phase == phaseSent {
			r.acceptLate(n, st, c)
		}
	}
}

// Snapshot is the recorder's state at the end of a run.
type Snapshot struct {
	Jobs        reports.Jobs
	Hist        map[string]*hdrhistogram.Histogram
	FirstStart  time.Time
	LastAnswer  time.Time
	LastFinish  time.Time
	FirstPickup time.Time
	EarlyPick   int
	Foreign     int
	// FailedCalls: enqueue calls without a usable answer. LateAccepted: jobs that
	// completed although no answer accepted them.
	FailedCalls  int
	LateAccepted int
	LastErr      error
	// Intervals is the time series (nil without a timeline); IntervalErr the first error
	// writing its interval logs.
	Intervals   *reports.Intervals
	IntervalErr error
}

// Snapshot copies the counts and histograms; requested is what the driver meant to send.
func (r *Recorder) Snapshot(requested int) Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	// errors: jobs no answer accepted and no worker ran (refused, or their call failed or
	// never returned), so requested = accepted + errors + never sent.
	errs := 0
	unfinished := max(r.accepted-r.completed-r.failed, 0)
	// Faktory's count may include jobs whose call failed (not accepted, yet queued):
	// never more pending than unfinished.
	// An acknowledged job is surely not held: unreported first, then pending.
	unreported := 0
	if r.acked >= 0 {
		unreported = min(max(r.acked-r.completed, 0), unfinished)
	}
	pending := min(max(r.held, 0), unfinished-unreported)
	for _, st := range r.jobs { // finished jobs are gone from jobs
		if st.phase != phaseAccepted {
			errs++
		}
	}
	s := Snapshot{
		Hist:       map[string]*hdrhistogram.Histogram{},
		FirstStart: r.firstStart, LastAnswer: r.lastAnswer, LastFinish: r.lastFinish, FirstPickup: r.firstPickup,
		EarlyPick: r.earlyPick, Foreign: r.foreign, LastErr: r.lastErr,
		FailedCalls: r.failedCalls, LateAccepted: r.lateAccepted,
		Jobs: reports.Jobs{
			Requested: requested, Accepted: r.accepted, Completed: r.completed,
			Failed: r.failed, Duplicated: r.duplicated, Errors: errs,
			Pending: pending, Unreported: unreported, Lost: unfinished - pending - unreported,
		},
	}
	for k, h := range r.hist {
		s.Hist[k] = hdrhistogram.Import(h.Export())
	}
	// The series ends with the histograms: its intervals add up to them.
	if r.tl != nil {
		r.intervals, r.tlErr = r.tl.Close(time.Now())
		r.tl = nil
	}
	s.Intervals, s.IntervalErr = r.intervals, r.tlErr
	return s
}

// bitset is a growable set of small non-negative integers: a bit per job number.
type bitset []uint64

func (b *bitset) add(n int) {
	w := n / 64
	if w >= len(*b) {
		*b = append(*b, make([]uint64, w+1-len(*b))...)
	}
	(*b)[w] |= 1 << (n % 64)
}

func (b bitset) has(n int) bool {
	w := n / 64
	return w < len(b) && b[w]&(1<<(n%64)) != 0
}
