package scenarios

import (
	"sync"
	"testing"
	"time"

	"github.com/wfbench/wfbench/reports"
)

// A scenario on the real stack: the matrix expands into runs, repetitions go in rounds,
// parameters are recorded, and expectations and estimates are checked against what was
// measured.
//
// The throughput expectation must hold every time, so its margin comes from the link:
// batch=1 makes 20 sequential calls over a 10 ms RTT, at least 200 ms (a link never
// delivers early), so at most 100 jobs/s; batch=10 needs its 2 calls done within 166 ms
// (8 RTTs each; measured ~16 ms each) to reach 1.2x that. At 2 ms the same check had
// a 40 ms floor and would fail on a ~60 ms stall within batch=10's 2 calls.
func TestRunScenarioMatrixCountExpectations(t *testing.T) {
	sc, err := ParseScenario("inline.yaml", []byte(`
name: tiny
base:
  rtt: 10ms
  jobs: 20
matrix:
  batch: [1, 10]
count: 2
expect:
  - lost == 0
  # counts hold in every repetition: 20 jobs each
  - completed == 20
  - throughput(batch=10) >= 1.2x throughput(batch=1)
  - lost > 0
estimates:
  - of: throughput(batch=10) / throughput(batch=1)
    value: 1000x
`))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var started []string
	var progress int
	res := &reports.Result{}
	err = RunScenario(testCtx(t, 2*time.Minute), sc, res, SuiteOptions{
		Options: Options{Progress: func(p Progress) {
			mu.Lock()
			progress++
			mu.Unlock()
		}},
		RunStarting: func(i, n int, cfg RunConfig, rep int) {
			mu.Lock()
			started = append(started, cfg.Name)
			mu.Unlock()
			if n != 4 {
				t.Errorf("run %d of %d: want 4 runs in all", i, n)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Rounds: A B A B, each repetition numbered.
	wantNames := []string{"batch=1", "batch=10", "batch=1", "batch=10"}
	wantRep := []int{1, 1, 2, 2}
	if len(res.Runs) != 4 {
		t.Fatalf("%d runs measured, want 4", len(res.Runs))
	}
	for i, r := range res.Runs {
		if r.Name != wantNames[i] || r.Repetition != wantRep[i] || started[i] != wantNames[i] {
			t.Errorf("run %d: %q repetition %d (started %q), want %q repetition %d", i, r.Name, r.Repetition, started[i], wantNames[i], wantRep[i])
		}
		if r.Params["batch"] != r.Name[len("batch="):] {
			t.Errorf("run %d params %v", i, r.Params)
		}
		if r.Jobs.Completed != 20 || r.Jobs.Lost != 0 {
			t.Errorf("run %d jobs %+v", i, r.Jobs)
		}
	}
	if progress == 0 {
		t.Error("no progress reported")
	}
	if res.Scenario == nil || res.Scenario.Name != "tiny" || res.Scenario.Count != 2 {
		t.Errorf("scenario info %+v", res.Scenario)
	}
	pass := map[string]bool{}
	for _, e := range res.Expectations {
		pass[e.Text] = e.Pass
	}
	for text, want := range map[string]bool{
		"lost == 0": true, "completed == 20": true, "lost > 0": false,
		"throughput(batch=10) >= 1.2x throughput(batch=1)": true,
	} {
		if got, ok := pass[text]; !ok || got != want {
			t.Errorf("expectation %q: pass=%v (checked: %v), want %v; all: %+v", text, got, ok, want, res.Expectations)
		}
	}
	if res.Failed() != 1 {
		t.Errorf("Failed() = %d, want 1", res.Failed())
	}
	if len(res.Estimates) != 1 || !res.Estimates[0].Found || res.Estimates[0].Agrees || res.Estimates[0].Measured <= 1 {
		t.Errorf("estimates %+v: want found, a ratio above 1, not agreeing with 1000x", res.Estimates)
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
