package recording

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/system"
)

const testRun = "wfbtest" // request ids are "wfbtest-<n>"

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func done(rid string, startMS, finishMS int) system.Completion {
	return system.Completion{RequestID: rid, Run: testRun, Jid: "j-" + rid, Type: system.JobAdd, Started: at(startMS), Finished: at(finishMS)}
}

func wantJobs(t *testing.T, s Snapshot, want reports.Jobs) {
	t.Helper()
	if s.Jobs != want {
		t.Errorf("jobs %+v, want %+v", s.Jobs, want)
	}
}

// bucketFloor is the lowest value the project's histograms report for us (Min answers with
// the bottom of the value's bucket).
func bucketFloor(us int64) int64 {
	h := reports.NewHistogram()
	_ = h.RecordValue(us)
	return h.Min()
}

func histCount(t *testing.T, s Snapshot, point string) int64 {
	t.Helper()
	h := s.Hist[point]
	if h == nil {
		t.Fatalf("no %s histogram", point)
	}
	return h.TotalCount()
}

func TestRecorderHappyPath(t *testing.T) {
	r := NewRecorder(testRun)
	r.Begin([]string{"wfbtest-1", "wfbtest-2"}, at(0))
	r.Call(at(0), at(0), at(10), []string{"wfbtest-1", "wfbtest-2"}, nil, false)
	if r.Pending() != 2 {
		t.Fatalf("Pending %d, want 2", r.Pending())
	}
	r.Complete(done("wfbtest-1", 15, 17))
	r.Complete(done("wfbtest-2", 20, 30))
	s := r.Snapshot(2)
	wantJobs(t, s, reports.Jobs{Requested: 2, Accepted: 2, Completed: 2})
	if got := histCount(t, s, reports.PointEnqueue); got != 1 {
		t.Errorf("enqueue count %d, want 1 (one call)", got)
	}
	if h := s.Hist[reports.PointEnqueue]; h.Max() < 10_000 || h.Min() > 10_010 {
		t.Errorf("enqueue recorded %d..%d µs, want 10 ms", h.Min(), h.Max())
	}
	if got := histCount(t, s, reports.PointPickup); got != 2 {
		t.Errorf("pickup count %d, want 2", got)
	}
	// pickup: started - answered = 5 ms and 10 ms; end to end: finished - intended = 17, 30 ms.
	if h := s.Hist[reports.PointPickup]; h.Min() < 5000 || h.Max() < 10_000 {
		t.Errorf("pickup %d..%d µs, want 5..10 ms", h.Min(), h.Max())
	}
	if h := s.Hist[reports.PointEndToEnd]; h.Min() < bucketFloor(17_000) || h.Max() < 30_000 {
		t.Errorf("end_to_end %d..%d µs, want 17..30 ms", h.Min(), h.Max())
	}
	if _, ok := s.Hist[reports.PointService]; ok && s.Hist[reports.PointService].TotalCount() != 0 {
		t.Error("closed-loop call recorded a service time")
	}
	if !s.FirstStart.Equal(at(0)) || !s.LastAnswer.Equal(at(10)) || !s.LastFinish.Equal(at(30)) {
		t.Errorf("first/answer/finish = %v %v %v", s.FirstStart, s.LastAnswer, s.LastFinish)
	}
	if s.EarlyPick != 0 || s.Foreign != 0 || s.LastErr != nil {
		t.Errorf("early %d foreign %d err %v, want none", s.EarlyPick, s.Foreign, s.LastErr)
	}
}

func TestRecorderOpenLoopRecordsService(t *testing.T) {
	r := NewRecorder(testRun)
	r.Begin([]string{"wfbtest-1"}, at(0))
	r.Call(at(0), at(40), at(50), []string{"wfbtest-1"}, nil, true) // started 40 ms late
	s := r.Snapshot(1)
	if h := s.Hist[reports.PointEnqueue]; h.TotalCount() != 1 || h.Max() < 50_000 {
		t.Errorf("enqueue from the intended start: count %d max %d µs, want 1, 50 ms", h.TotalCount(), h.Max())
	}
	if h := s.Hist[reports.PointService]; h == nil || h.TotalCount() != 1 || h.Max() < 10_000 || h.Max() > 10_100 {
		t.Errorf("service time: %v, want one value of 10 ms", h)
	}
}

// The worker can finish a job before its enqueue call's answer has crossed back: the
// completion waits for the answer and is counted then, pickup clamped to 0.
func TestRecorderEarlyCompletion(t *testing.T) {
	r := NewRecorder(testRun)
	r.Begin([]string{"wfbtest-1"}, at(0))
	r.Complete(done("wfbtest-1", 4, 6))
	if s := r.Snapshot(1); s.Jobs.Accepted != 0 || s.Jobs.Completed != 0 {
		t.Fatalf("before the answer: %+v, want nothing counted yet", s.Jobs)
	}
	if r.Pending() != 0 {
		t.Errorf("Pending %d before the answer, want 0", r.Pending())
	}
	r.Call(at(0), at(0), at(10), []string{"wfbtest-1"}, nil, false)
	s := r.Snapshot(1)
	wantJobs(t, s, reports.Jobs{Requested: 1, Accepted: 1, Completed: 1})
	if s.EarlyPick != 1 {
		t.Errorf("EarlyPick %d, want 1", s.EarlyPick)
	}
	if h := s.Hist[reports.PointPickup]; h.TotalCount() != 1 || h.Max() != 0 {
		t.Errorf("pickup count %d max %d, want one value of 0", h.TotalCount(), h.Max())
	}
	if r.Pending() != 0 {
		t.Errorf("Pending %d, want 0", r.Pending())
	}
}

func TestRecorderDuplicate(t *testing.T) {
	r := NewRecorder(testRun)
	r.Begin([]string{"wfbtest-1"}, at(0))
	r.Call(at(0), at(0), at(10), []string{"wfbtest-1"}, nil, false)
	r.Complete(done("wfbtest-1", 12, 13))
	r.Complete(done("wfbtest-1", 20, 21))
	s := r.Snapshot(1)
	wantJobs(t, s, reports.Jobs{Requested: 1, Accepted: 1, Completed: 1, Duplicated: 1})
	if got := histCount(t, s, reports.PointPickup); got != 1 {
		t.Errorf("pickup count %d, want 1: a duplicate is not a second pickup", got)
	}
}

// A job run twice before its call is answered: still one completion, one duplicate, and
// no pickup measured against a zero answer time.
func TestRecorderDuplicateBeforeAnswer(t *testing.T) {
	r := NewRecorder(testRun)
	r.Begin([]string{"wfbtest-1"}, at(0))
	r.Complete(done("wfbtest-1", 3, 4))
	r.Complete(done("wfbtest-1", 5, 6))
	if p := r.Pending(); p < 0 {
		t.Errorf("Pending %d before the answer, want 0", p)
	}
	r.Call(at(0), at(0), at(10), []string{"wfbtest-1"}, nil, false)
	s := r.Snapshot(1)
	wantJobs(t, s, reports.Jobs{Requested: 1, Accepted: 1, Completed: 1, Duplicated: 1})
	if h := s.Hist[reports.PointPickup]; h.TotalCount() != 1 || h.Max() > 1000 {
		t.Errorf("pickup count %d max %d µs, want one value near 0", h.TotalCount(), h.Max())
	}
}

func TestRecorderFailedCallButJobRan(t *testing.T) {
	r := NewRecorder(testRun)
	boom := errors.New("connection reset")
	r.Begin([]string{"wfbtest-1", "wfbtest-2"}, at(0))
	r.CallFailed([]string{"wfbtest-1", "wfbtest-2"}, boom)
	s := r.Snapshot(2)
	wantJobs(t, s, reports.Jobs{Requested: 2, Errors: 2})
	if !errors.Is(s.LastErr, boom) {
		t.Errorf("LastErr %v, want %v", s.LastErr, boom)
	}
	r.Complete(done("wfbtest-1", 20, 25)) // Faktory had it after all
	s = r.Snapshot(2)
	wantJobs(t, s, reports.Jobs{Requested: 2, Accepted: 1, Completed: 1, Errors: 1})
	if got := histCount(t, s, reports.PointEndToEnd); got != 1 {
		t.Errorf("end_to_end count %d, want 1", got)
	}
	if r.Pending() != 0 {
		t.Errorf("Pending %d, want 0: b's fate is unknown, not pending", r.Pending())
	}
}

func TestRecorderRejected(t *testing.T) {
	r := NewRecorder(testRun)
	r.Begin([]string{"wfbtest-1", "wfbtest-2", "wfbtest-3"}, at(0))
	r.Call(at(0), at(0), at(5), []string{"wfbtest-1", "wfbtest-3"}, []string{"wfbtest-2"}, false)
	r.Complete(done("wfbtest-1", 6, 7))
	r.Complete(done("wfbtest-3", 6, 7))
	s := r.Snapshot(3)
	wantJobs(t, s, reports.Jobs{Requested: 3, Accepted: 2, Completed: 2, Errors: 1})
	// A second answer naming the same jobs changes nothing.
	r.Call(at(0), at(0), at(6), []string{"wfbtest-1"}, []string{"wfbtest-2"}, false)
	if s := r.Snapshot(3); s.Jobs.Accepted != 2 || s.Jobs.Errors != 1 {
		t.Errorf("after a repeated answer: %+v", s.Jobs)
	}
}

func TestRecorderForeign(t *testing.T) {
	r := NewRecorder(testRun)
	r.Begin([]string{"wfbtest-1"}, at(0))
	r.Call(at(0), at(0), at(5), []string{"wfbtest-1"}, nil, false)
	other := done("wfbtest-1", 6, 7)
	other.Run = "another-run"
	r.Complete(other)
	r.Complete(done("never-sent", 6, 7))
	s := r.Snapshot(1)
	if s.Foreign != 2 {
		t.Errorf("Foreign %d, want 2", s.Foreign)
	}
	wantJobs(t, s, reports.Jobs{Requested: 1, Accepted: 1, Lost: 1})
	if r.Pending() != 1 {
		t.Errorf("Pending %d, want 1: foreign completions do not complete our job", r.Pending())
	}
}

func TestRecorderLostAndFailed(t *testing.T) {
	r := NewRecorder(testRun)
	r.Begin([]string{"wfbtest-1", "wfbtest-2", "wfbtest-3"}, at(0))
	r.Call(at(0), at(0), at(5), []string{"wfbtest-1", "wfbtest-2", "wfbtest-3"}, nil, false)
	r.Complete(done("wfbtest-1", 6, 7))
	f := done("wfbtest-2", 6, 7)
	f.Err = system.ErrDivideByZero
	r.Complete(f)
	s := r.Snapshot(3)
	wantJobs(t, s, reports.Jobs{Requested: 3, Accepted: 3, Completed: 1, Failed: 1, Lost: 1})
	if s.Jobs.Lost != s.Jobs.Accepted-s.Jobs.Completed-s.Jobs.Failed {
		t.Errorf("Lost %d != accepted - completed - failed", s.Jobs.Lost)
	}
}

// Jobs Faktory still holds when the run ends are pending, not lost; only the rest of the
// unfinished ones are lost, and a count from Faktory larger than what is unfinished (its
// queue may hold jobs whose call failed) never makes more pending than unfinished.
func TestRecorderPendingHeldByFaktory(t *testing.T) {
	ids := []string{"wfbtest-1", "wfbtest-2", "wfbtest-3", "wfbtest-4", "wfbtest-5"}
	for _, tc := range []struct {
		held          int
		pending, lost int
	}{
		{-1, 0, 4}, // never asked (Faktory unreachable): every unfinished job is lost
		{0, 0, 4},
		{3, 3, 1},
		{4, 4, 0},
		{9, 4, 0},
	} {
		r := NewRecorder(testRun)
		r.Begin(ids, at(0))
		r.Call(at(0), at(0), at(5), ids, nil, false)
		r.Complete(done("wfbtest-1", 6, 7))
		if tc.held >= 0 {
			r.Held(tc.held)
		}
		s := r.Snapshot(len(ids))
		wantJobs(t, s, reports.Jobs{Requested: 5, Accepted: 5, Completed: 1, Pending: tc.pending, Lost: tc.lost})
		if j := s.Jobs; j.Completed+j.Failed+j.Pending+j.Lost != j.Accepted {
			t.Errorf("held %d: %+v: completed + failed + pending + lost != accepted", tc.held, j)
		}
	}
}

// Jobs Faktory counted as acknowledged beyond those reported are unreported (done by a
// worker process killed with its reports buffered), not lost, and not pending either (an
// acknowledged job is not held); never more than what is unfinished.
func TestRecorderUnreportedAcked(t *testing.T) {
	ids := []string{"wfbtest-1", "wfbtest-2", "wfbtest-3", "wfbtest-4", "wfbtest-5"}
	for _, tc := range []struct {
		held, acked               int
		pending, unreported, lost int
	}{
		{1, -1, 1, 0, 3}, // not asked: as before
		{1, 1, 1, 0, 3},  // Faktory acknowledged only the reported one
		{1, 3, 1, 2, 1},
		{2, 9, 0, 4, 0}, // every unfinished one acknowledged: none can be held
	} {
		r := NewRecorder(testRun)
		r.Begin(ids, at(0))
		r.Call(at(0), at(0), at(5), ids, nil, false)
		r.Complete(done("wfbtest-1", 6, 7))
		r.Held(tc.held)
		if tc.acked >= 0 {
			r.Acked(tc.acked)
		}
		s := r.Snapshot(len(ids))
		wantJobs(t, s, reports.Jobs{Requested: 5, Accepted: 5, Completed: 1, Pending: tc.pending, Unreported: tc.unreported, Lost: tc.lost})
	}
}

// A drain with an idle window ends when nothing completes for that long, and not while
// every job is done; its context still bounds it.
func TestRecorderDrainStalls(t *testing.T) {
	r := NewRecorder(testRun)
	r.Begin([]string{"wfbtest-1", "wfbtest-2"}, at(0))
	r.Call(at(0), at(0), at(5), []string{"wfbtest-1", "wfbtest-2"}, nil, false)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.Drain(ctx, 20*time.Millisecond, time.Time{}); !errors.Is(err, ErrDrainStalled) {
		t.Fatalf("Drain with nothing completing: %v, want ErrDrainStalled", err)
	}
	capped, cancelCap := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelCap()
	if err := r.Drain(capped, time.Minute, time.Time{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Drain past its cap: %v, want DeadlineExceeded", err)
	}
	// Before quietUntil (a fault still on) no progress is expected: the idle window
	// counts from then. Timers never fire early, so the stall cannot come sooner.
	quiet := time.Now().Add(100 * time.Millisecond)
	if err := r.Drain(ctx, 20*time.Millisecond, quiet); !errors.Is(err, ErrDrainStalled) {
		t.Fatalf("Drain past quietUntil: %v, want ErrDrainStalled", err)
	}
	if early := quiet.Add(20 * time.Millisecond).Sub(time.Now()); early > 0 {
		t.Errorf("the drain stalled %s before quietUntil + idle", early)
	}
	r.Complete(done("wfbtest-1", 6, 7))
	r.Complete(done("wfbtest-2", 6, 7))
	if err := r.Drain(ctx, 20*time.Millisecond, time.Time{}); err != nil {
		t.Fatalf("Drain with every job done: %v", err)
	}
}

func TestRecorderDrain(t *testing.T) {
	r := NewRecorder(testRun)
	r.Begin([]string{"wfbtest-1", "wfbtest-2"}, at(0))
	r.Call(at(0), at(0), at(5), []string{"wfbtest-1", "wfbtest-2"}, nil, false)

	// Nothing completes: Drain gives up with the context's error.
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err := r.Drain(short, 0, time.Time{})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Drain with jobs pending: %v, want DeadlineExceeded", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- r.Drain(ctx, 0, time.Time{}) }()
	r.Complete(done("wfbtest-1", 6, 7))
	r.Complete(done("wfbtest-2", 6, 7))
	if err := <-res; err != nil {
		t.Fatalf("Drain after every job completed: %v", err)
	}
	if r.Pending() != 0 {
		t.Errorf("Pending %d after Drain, want 0", r.Pending())
	}
	// An empty recorder drains at once, even with a context already done.
	empty := NewRecorder(testRun)
	dead, cancelDead := context.WithCancel(context.Background())
	cancelDead()
	if err := empty.Drain(dead, time.Millisecond, time.Time{}); err != nil {
		t.Errorf("Drain with nothing pending: %v", err)
	}
}

func TestRecorderSnapshotIsACopy(t *testing.T) {
	r := NewRecorder(testRun)
	r.Begin([]string{"wfbtest-1"}, at(0))
	r.Call(at(0), at(0), at(5), []string{"wfbtest-1"}, nil, false)
	s := r.Snapshot(1)
	r.Begin([]string{"wfbtest-2"}, at(10))
	r.Call(at(10), at(10), at(15), []string{"wfbtest-2"}, nil, false)
	if got := s.Hist[reports.PointEnqueue].TotalCount(); got != 1 {
		t.Errorf("an earlier snapshot's histogram changed: count %d, want 1", got)
	}
}

// A worker ran the job before its call failed (or refused it): Faktory had it, so it is
// accepted and completed, with an end-to-end latency but no pickup (no answer time).
func TestRecorderEarlyCompletionThenCallFailed(t *testing.T) {
	for _, failed := range []bool{true, false} {
		r := NewRecorder(testRun)
		r.Begin([]string{"wfbtest-1", "wfbtest-2"}, at(0))
		r.Complete(done("wfbtest-1", 3, 4))
		if failed {
			r.CallFailed([]string{"wfbtest-1", "wfbtest-2"}, errors.New("read timeout"))
		} else {
			r.Call(at(0), at(0), at(10), nil, []string{"wfbtest-1", "wfbtest-2"}, false)
		}
		s := r.Snapshot(2)
		wantJobs(t, s, reports.Jobs{Requested: 2, Accepted: 1, Completed: 1, Errors: 1})
		if s.LateAccepted != 1 {
			t.Errorf("failed=%v: LateAccepted %d, want 1", failed, s.LateAccepted)
		}
		if got := histCount(t, s, reports.PointPickup); got != 0 {
			t.Errorf("failed=%v: pickup count %d, want 0: there is no answer to measure from", failed, got)
		}
		if got := histCount(t, s, reports.PointEndToEnd); got != 1 {
			t.Errorf("failed=%v: end_to_end count %d, want 1", failed, got)
		}
		if r.Pending() != 0 {
			t.Errorf("failed=%v: Pending %d, want 0", failed, r.Pending())
		}
	}
}

// Settle: an interrupted run's call never returned, but its job ran.
func TestRecorderSettle(t *testing.T) {
	r := NewRecorder(testRun)
	r.Begin([]string{"wfbtest-1", "wfbtest-2"}, at(0))
	r.Complete(done("wfbtest-1", 3, 4))
	wantJobs(t, r.Snapshot(2), reports.Jobs{Requested: 2, Errors: 2})
	r.Settle()
	wantJobs(t, r.Snapshot(2), reports.Jobs{Requested: 2, Accepted: 1, Completed: 1, Errors: 1})
}

// A finished job leaves no state but one bit: the recorder's memory does not grow with
// the run, and a second completion of a finished job is still told from a foreign one.
func TestRecorderForgetsFinishedJobs(t *testing.T) {
	r := NewRecorder(testRun)
	const n = 10_000
	for i := range n {
		id := fmt.Sprintf("%s-%d", testRun, i)
		r.Begin([]string{id}, at(0))
		if i%2 == 0 { // the worker first, then the answer
			r.Complete(done(id, 1, 2))
			r.Call(at(0), at(0), at(3), []string{id}, nil, false)
		} else {
			r.Call(at(0), at(0), at(3), []string{id}, nil, false)
			r.Complete(done(id, 4, 5))
		}
	}
	if len(r.jobs) != 0 || len(r.finished) != (n+63)/64 {
		t.Fatalf("after %d finished jobs: %d states kept, %d bitset words (want 0 and %d)", n, len(r.jobs), len(r.finished), (n+63)/64)
	}
	r.Complete(done(testRun+"-17", 6, 7))             // again: a duplicate
	r.Complete(done(testRun+"-"+fmt.Sprint(n), 6, 7)) // never sent: foreign
	r.Complete(done(testRun+"-x", 6, 7))              // not one of ours: foreign
	r.Complete(done(testRun+"-017", 6, 7))            // not the canonical form of job 17: foreign
	s := r.Snapshot(n)
	wantJobs(t, s, reports.Jobs{Requested: n, Accepted: n, Completed: n, Duplicated: 1})
	if s.Foreign != 3 {
		t.Errorf("foreign %d, want 3", s.Foreign)
	}
}
