package bench

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/system"
)

func phaseLink(t *testing.T) *netem.Link {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	px := netem.NewProxies()
	t.Cleanup(px.Close)
	l, err := px.Open(netem.Spec{Name: netem.ClientAPI}, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// waitImposed polls until the link carries want (bounded), returning whether it did.
func waitImposed(l *netem.Link, want netem.Condition) bool {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if c, ok := l.Imposed(); ok && c == want {
			return true
		}
	}
	return false
}

// waitLifted polls until phase i has been lifted on its own (bounded), returning whether
// it was.
func waitLifted(p *phaser, i int) bool {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		p.mu.Lock()
		lifted := p.rec[i].LiftedAtS != nil
		p.mu.Unlock()
		if lifted {
			return true
		}
	}
	return false
}

// A phase at 0 s fires as the phaser starts, every time.
func TestPhaseAtZeroApplies(t *testing.T) {
	l := phaseLink(t)
	cond := netem.Condition{Latency: time.Second}
	for i := range 50 {
		p := startPhases([]Phase{{Link: netem.ClientAPI, Condition: cond}, {Link: netem.ClientAPI, At: time.Hour, Condition: cond}},
			map[string]netem.LinkHandle{netem.ClientAPI: l}, time.Now())
		ok := waitImposed(l, cond)
		rec := p.stop()
		if !ok || rec[0].AppliedAtS == nil || rec[0].LiftedAtS == nil || rec[1].AppliedAtS != nil {
			t.Fatalf("iteration %d: imposed %v, record %+v", i, ok, rec)
		}
		if _, still := l.Imposed(); still {
			t.Fatalf("iteration %d: stop left the condition on the link", i)
		}
	}
}

// A phase lifts its link only while it is the phase imposed there: a late lift of the
// phase before leaves the next one in place.
func TestPhaseLiftOnlyItsOwn(t *testing.T) {
	l := phaseLink(t)
	a, b := netem.Condition{Latency: 100 * time.Millisecond}, netem.Condition{Latency: 500 * time.Millisecond}
	// The order a then b is made, not left to two timers 20 ms apart (a goroutine delayed
	// that long would impose a after b): the second phase is due in an hour and imposed by
	// hand, as its timer would, once the first holds the link.
	p := startPhases([]Phase{{Link: netem.ClientAPI, Condition: a}, {Link: netem.ClientAPI, At: time.Hour, Condition: b}},
		map[string]netem.LinkHandle{netem.ClientAPI: l}, time.Now())
	defer p.stop()
	if !waitImposed(l, a) {
		t.Fatal("the first phase never took the link")
	}
	p.impose(1)
	if c, ok := l.Imposed(); !ok || c != b {
		t.Fatalf("the second phase did not take the link: it carries %v (imposed %v)", c, ok)
	}
	p.mu.Lock()
	p.lift(0) // the first phase's lift, arriving late
	p.mu.Unlock()
	if c, ok := l.Imposed(); !ok || c != b {
		t.Errorf("after the first phase's late lift the link carries %v (imposed %v), want the second phase's %v", c, ok, b)
	}
	rec := p.stop()
	if rec[1].LiftedAtS == nil {
		t.Errorf("second phase not lifted by stop: %+v", rec[1])
	}
}

func TestPhaseValidation(t *testing.T) {
	base := Default()
	cases := []struct {
		phases []Phase
		want   string
	}{
		{[]Phase{{Link: "client-api", For: time.Second, Condition: netem.Condition{Latency: time.Second}},
			{Link: "client-api", At: 500 * time.Millisecond, For: time.Second, Condition: netem.Condition{Latency: time.Second}}}, "overlaps phase 1"},
		{[]Phase{{Link: "client-api", Condition: netem.Condition{Latency: time.Second}},
			{Link: "client-api", At: time.Hour, Condition: netem.Condition{Latency: time.Second}}}, "overlaps phase 1"},
		{[]Phase{{Link: "client-api", Condition: netem.Condition{Fault: "down"}}}, "fault down needs for"},
		{[]Phase{{Link: "nowhere", For: time.Second, Condition: netem.Condition{Latency: time.Second}}}, `link "nowhere"`},
	}
	for _, c := range cases {
		cfg := base
		cfg.Phases = c.phases
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.phases, err, c.want)
		}
	}
	cfg := base
	cfg.Jobs, cfg.Duration = 0, 2*time.Second
	cfg.Phases = []Phase{{Link: "client-api", At: 3 * time.Second, For: time.Second, Condition: netem.Condition{Latency: time.Second}}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "not within the run's duration") {
		t.Errorf("phase after the duration: %v", err)
	}
	// Back to back on one link, or at once on two links: fine.
	cfg = base
	cfg.Phases = []Phase{{Link: "client-api", For: time.Second, Condition: netem.Condition{Latency: time.Second}},
		{Link: "client-api", At: time.Second, For: time.Second, Condition: netem.Condition{Fault: "reset"}},
		{Link: "worker-faktory", For: time.Second, Condition: netem.Condition{Latency: time.Second}}}
	if err := cfg.Validate(); err != nil {
		t.Errorf("back-to-back phases: %v", err)
	}
}

// A phase lasts at least its "for", measured between the recorded applied and lifted
// times: the lift counts from the moment the condition really took hold, and timers
// never fire early, whatever the scheduler's lateness on either side.
func TestPhaseLastsAtLeastFor(t *testing.T) {
	l := phaseLink(t)
	cond := netem.Condition{Latency: 50 * time.Millisecond}
	const span = 15 * time.Millisecond
	for i := range 40 {
		p := startPhases([]Phase{{Link: netem.ClientAPI, For: span, Condition: cond}},
			map[string]netem.LinkHandle{netem.ClientAPI: l}, time.Now())
		lifted := waitLifted(p, 0)
		rec := p.stop()
		if !lifted || rec[0].AppliedAtS == nil {
			t.Fatalf("iteration %d: phase not applied and lifted on its own: %+v", i, rec)
		}
		if on := *rec[0].LiftedAtS - *rec[0].AppliedAtS; on < span.Seconds() {
			t.Fatalf("iteration %d: phase lasted %.6f s, want at least %s", i, on, span)
		}
	}
}

// A phase the run ends before its time is up is marked cut short, with a note; one that
// ran its course is not.
func TestPhaseCutShortByRunEnd(t *testing.T) {
	l := phaseLink(t)
	cond := netem.Condition{Latency: 10 * time.Millisecond}
	p := startPhases([]Phase{{Link: netem.ClientAPI, For: time.Hour, Condition: cond}},
		map[string]netem.LinkHandle{netem.ClientAPI: l}, time.Now())
	if !waitImposed(l, cond) {
		t.Fatal("phase never imposed")
	}
	rec := p.stop()
	if !rec[0].CutShort || rec[0].LiftedAtS == nil {
		t.Fatalf("record %+v: want lifted and cut short", rec[0])
	}
	if notes := phaseNotes(rec); len(notes) != 1 || !strings.Contains(notes[0], "cut short") {
		t.Errorf("notes %q: want one saying the phase was cut short", notes)
	}

	done := startPhases([]Phase{{Link: netem.ClientAPI, For: 5 * time.Millisecond, Condition: cond}},
		map[string]netem.LinkHandle{netem.ClientAPI: l}, time.Now())
	waitLifted(done, 0)
	if rec := done.stop(); rec[0].LiftedAtS == nil || rec[0].CutShort || len(phaseNotes(rec)) != 0 {
		t.Errorf("record %+v, notes %q: a phase that ran its course is not cut short", rec[0], phaseNotes(rec))
	}
}

// Coordinated omission, measured: an open-loop run with 2 calls in flight meets a stall
// on its link (+200 ms for 400 ms). Both slots are held for at least 200 ms from the
// stall's start, so every call intended in that first 200 ms (40 of 800, 5%) starts at
// least that late: measured from the intended send time, p99 is at least the added
// latency. The service time, from the actual send, sees only the handful of calls that
// were in flight (under 1%) and hides it.
func TestPhaseLatencyShowsCoordinatedOmission(t *testing.T) {
	if testing.Short() {
		t.Skip("4 s open-loop run")
	}
	stall := 200 * time.Millisecond
	cfg := Default()
	cfg.RTT, cfg.Rate, cfg.Concurrency, cfg.Jobs, cfg.Duration = 2*time.Millisecond, 200, 2, 0, 4*time.Second
	cfg.Phases = []Phase{{Link: "client-api", At: time.Second, For: 2 * stall}}
	cfg.Phases[0].Condition.Latency = stall
	run := execute(t, testCtx(t, time.Minute), cfg)
	if run.Jobs.Lost != 0 {
		t.Errorf("lost %d", run.Jobs.Lost)
	}
	if len(run.Phases) != 1 || run.Phases[0].AppliedAtS == nil || run.Phases[0].LiftedAtS == nil {
		t.Fatalf("phase not applied and lifted: %+v", run.Phases)
	}
	if on := *run.Phases[0].LiftedAtS - *run.Phases[0].AppliedAtS; on < 2*stall.Seconds() {
		t.Errorf("phase lasted %.3f s, want at least %s", on, 2*stall)
	}
	corr, serv := run.LatencyMS[reports.PointEnqueue], run.LatencyMS[reports.PointService]
	floor := float64(stall.Milliseconds())
	if corr.P99 < floor {
		t.Errorf("corrected enqueue p99 %.1f ms, want ≥ the stall's %.0f ms", corr.P99, floor)
	}
	if serv.Max < floor {
		t.Errorf("service max %.1f ms: the calls in flight during the stall must show it (≥ %.0f ms)", serv.Max, floor)
	}
	if serv.P99 >= floor {
		t.Errorf("service p99 %.1f ms ≥ the stall: with 2 calls in flight only a handful of ~800 calls can see it", serv.P99)
	}
}

// A reset phase on the client's link fails the calls that cross it (counted as errors,
// never as accepted); every job the system accepted still completes.
func TestPhaseResetLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("2 s open-loop run")
	}
	cfg := Default()
	cfg.RTT, cfg.Rate, cfg.Concurrency, cfg.Jobs, cfg.Duration = 2*time.Millisecond, 100, 4, 0, 2*time.Second
	cfg.Phases = []Phase{{Link: "client-api", At: 500 * time.Millisecond, For: 500 * time.Millisecond}}
	cfg.Phases[0].Condition.Fault = "reset"
	run := execute(t, testCtx(t, time.Minute), cfg)
	if run.Jobs.Lost != 0 || run.Jobs.Duplicated != 0 {
		t.Errorf("jobs %+v: want none lost or duplicated", run.Jobs)
	}
	if run.Jobs.Errors == 0 {
		t.Errorf("jobs %+v: a 0.5 s reset at 100 jobs/s must fail some calls", run.Jobs)
	}
	if run.Jobs.Accepted < 100 {
		t.Errorf("accepted %d: calls before and after the reset must get through", run.Jobs.Accepted)
	}
	if run.Jobs.Accepted+run.Jobs.Errors != run.Jobs.Requested {
		t.Errorf("jobs %+v: accepted + errors must account for every job sent", run.Jobs)
	}
}

// restartRun measures 3 s of open-loop load at 50 jobs/s (10 in flight, 2 ms links)
// with one restart phase.
func restartRun(t *testing.T, phase string) (reports.Run, Phase) {
	t.Helper()
	if testing.Short() {
		t.Skip("3 s open-loop run")
	}
	p, err := ParsePhase(phase)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	cfg.RTT, cfg.Rate, cfg.Concurrency, cfg.Jobs, cfg.Duration = 2*time.Millisecond, 50, 10, 0, 3*time.Second
	cfg.Phases = []Phase{p}
	return execute(t, testCtx(t, time.Minute), cfg), p
}

// An API restart mid-run (down for 1 s, then listening again on its address): calls
// fail while it is down and succeed again after; every accepted job completes.
func TestPhaseAPIRestartLosesNothing(t *testing.T) {
	run, _ := restartRun(t, "api@1s+1s=restart")
	// 50 calls a second: ~50 before, ~50 during, ~50 after.
	if run.Jobs.Lost != 0 || run.Jobs.Duplicated != 0 || run.Jobs.Errors == 0 || run.Jobs.Accepted < 80 {
		t.Errorf("jobs %+v: want calls failed only while the API was down, none lost", run.Jobs)
	}
}

// A broker restart mid-run (the Faktory server down for 1 s, its storage kept): calls
// fail while it is down, and every job it accepted, before or after, completes.
func TestPhaseBrokerRestartLosesNothing(t *testing.T) {
	run, p := restartRun(t, "faktory@1s+1s=restart")
	if run.Jobs.Lost != 0 || run.Jobs.Duplicated != 0 {
		t.Errorf("jobs %+v: want none lost or duplicated", run.Jobs)
	}
	if run.Jobs.Errors == 0 || run.Jobs.Accepted < 40 {
		t.Errorf("jobs %+v: calls must fail while the broker is down and succeed before it", run.Jobs)
	}
	if len(run.Phases) != 1 || run.Phases[0].LiftedAtS == nil {
		t.Errorf("phases %+v: the restart must be applied and lifted", run.Phases)
	}
	bad := Default()
	bad.FaktoryURL = "tcp://127.0.0.1:7419"
	bad.Phases = []Phase{p}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "embedded Faktory") {
		t.Errorf("restart of an external Faktory: %v, want refused", err)
	}
}

// A redis kill takes no for, only the embedded broker's redis, and only fault kill; the
// other parts and the links refuse it, each error with the accepted form.
func TestPhaseRedisKillValidate(t *testing.T) {
	for phase, want := range map[string]string{
		"redis@1s+1s=kill":      "redis kill takes no for (a kill is instantaneous): accepted is redis@AT=kill",
		"redis@1s+1s=restart":   "accepted is fault kill alone, without for: redis@AT=kill",
		"redis@1s=latency:10ms": "accepted is fault kill alone",
		"faktory@1s+1s=kill":    "accepted is fault restart alone",
		"client-api@1s+1s=kill": "kill is a part's fault: give it to redis (redis@AT=kill), not to link client-api",
	} {
		p, err := ParsePhase(phase)
		if err != nil {
			t.Fatalf("ParsePhase(%q): %v", phase, err)
		}
		cfg := Default()
		cfg.Phases = []Phase{p}
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", phase, err, want)
		}
	}
	p, err := ParsePhase("redis@1s=kill")
	if err != nil || p.For != 0 || p.Condition != (netem.Condition{Fault: netem.FaultKill}) || p.String() != "redis@1s=kill" {
		t.Fatalf("ParsePhase(redis@1s=kill) = %+v, %v", p, err)
	}
	cfg := Default()
	cfg.Phases = []Phase{p}
	if err := cfg.Validate(); err != nil {
		t.Errorf("redis@1s=kill on the embedded broker: %v", err)
	}
	cfg.FaktoryURL = "tcp://127.0.0.1:7419"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "redis kill needs the embedded Faktory") {
		t.Errorf("redis kill with an external Faktory: %v, want refused", err)
	}
}

// A redis-server kill by the run's own phase ends the run within 20 s as an environment
// error, without a panic: the partial run is returned, marked ended by the kill, the
// backlog Redis held counted lost and the note saying so; nothing is left behind.
func TestPhaseRedisKillEndsTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("a run ended by a redis-server kill")
	}
	p, err := ParsePhase("redis@1s=kill")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	cfg.RTT, cfg.Rate, cfg.Concurrency, cfg.Jobs, cfg.Duration = 2*time.Millisecond, 50, 10, 0, 3*time.Second
	// Two slots of 100 ms jobs take 20 of the 50 jobs a second: a backlog builds in Redis
	// for the kill to lose.
	cfg.WorkerConcurrency, cfg.Work = 2, "100ms"
	cfg.Phases = []Phase{p}
	var loadStart time.Time
	var once sync.Once
	opts := Options{Progress: func(pr Progress) { once.Do(func() { loadStart = time.Now().Add(-pr.Elapsed) }) }}
	run, err := Execute(testCtx(t, time.Minute), cfg, opts)
	returned := time.Now()
	if !errors.Is(err, ErrEnvironment) || !errors.Is(err, system.ErrBrokerDied) {
		t.Fatalf("Execute: %v, want an environment error wrapping ErrBrokerDied", err)
	}
	if len(run.Phases) != 1 || run.Phases[0].AppliedAtS == nil || run.Phases[0].LiftedAtS != nil || run.Phases[0].Error != "" {
		t.Fatalf("phases %+v: want the kill applied, never lifted", run.Phases)
	}
	killed := *run.Phases[0].AppliedAtS
	if took := returned.Sub(loadStart) - time.Duration(killed*float64(time.Second)); took > 20*time.Second {
		t.Errorf("Execute returned %s after the kill, want within 20 s", took)
	}
	j := run.Jobs
	if run.Ended != reports.EndedRedisKill || !run.Interrupted || j.Accepted < 20 {
		t.Errorf("ended %q interrupted %v jobs %+v: want the partial run, ended by the kill", run.Ended, run.Interrupted, j)
	}
	if j.Pending != 0 || j.Lost == 0 || j.Completed+j.Failed+j.Lost != j.Accepted {
		t.Errorf("jobs %+v: want every unfinished job lost (Redis kept nothing), none pending", j)
	}
	t.Logf("jobs %+v; notes %q", j, run.Notes)
	wantNote(t, run, fmt.Sprintf("redis-server killed by the phase at %.2f s: Redis without persistence lost its queued and reserved jobs: %d accepted jobs never completed", killed, j.Lost))
	if left := redisChildren(t); len(left) > 0 {
		t.Errorf("redis-server children left: %v", left)
	}
	if dirs := ownBrokerDirs(t); len(dirs) > 0 {
		t.Errorf("broker folders left: %v", dirs)
	}
}

// ownBrokerDirs lists the embedded brokers' temporary folders this process owns.
func ownBrokerDirs(t *testing.T) []string {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "wfbench-faktory-*"))
	var out []string
	for _, d := range dirs {
		if b, err := os.ReadFile(filepath.Join(d, "owner.pid")); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(os.Getpid()) {
			out = append(out, d)
		}
	}
	return out
}
