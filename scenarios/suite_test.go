package scenarios

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfbench/wfbench/bench"
	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/system"
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
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = RunScenario(ctx, sc, res, SuiteOptions{
		Options: bench.Options{Progress: func(p bench.Progress) {
			mu.Lock()
			progress++
			mu.Unlock()
		}},
		RunStarting: func(i, n int, cfg bench.RunConfig, rep int) {
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

// A run ended by its own redis kill phase is the outcome it is for: the suite records it
// (marked, with its notes) and goes on to the next run; its expectations judge it.
func TestRunScenarioRedisKillGoesOn(t *testing.T) {
	if testing.Short() {
		t.Skip("two 2 s runs, one ended by a redis-server kill")
	}
	sc, err := ParseScenario("inline.yaml", []byte(`
name: kill
base: {rate: 20, duration: 2s, jobs: 0, concurrency: 5, rtt: 2ms}
runs:
  - name: kill
    phases:
      - {link: redis, at: 1s, fault: kill}
  - name: after
expect:
  - lost(run!=kill) == 0
  - ended_by_kill(run=kill) == 1
  - ended_by_kill(run=after) == 0
  - completed(run=after) >= 20
`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res := &reports.Result{}
	var done []string
	err = RunScenario(ctx, sc, res, SuiteOptions{RunDone: func(r reports.Run) { done = append(done, r.Name) }})
	if err != nil {
		t.Fatalf("RunScenario: %v, want the suite to go on past the kill", err)
	}
	if len(res.Runs) != 2 || !slices.Equal(done, []string{"kill", "after"}) {
		t.Fatalf("runs %d, done %v: want both runs measured", len(res.Runs), done)
	}
	k := res.Runs[0]
	if k.Ended != reports.EndedRedisKill || !k.Interrupted || !slices.ContainsFunc(k.Notes, func(n string) bool {
		return strings.Contains(n, "redis-server killed by the phase at")
	}) {
		t.Errorf("kill run: ended %q interrupted %v notes %q", k.Ended, k.Interrupted, k.Notes)
	}
	if a := res.Runs[1]; a.Ended != "" || a.Interrupted {
		t.Errorf("after run: ended %q interrupted %v", a.Ended, a.Interrupted)
	}
	for _, e := range res.Expectations {
		if !e.Pass {
			t.Errorf("expectation %q: %+v", e.Text, e)
		}
	}
}

// Only the run's own kill, seen as its broker's death, is an expected end: any other
// environment failure still stops the suite.
func TestEndedAsPlanned(t *testing.T) {
	died := fmt.Errorf("%w: %w", bench.ErrEnvironment, system.ErrBrokerDied)
	killed := reports.Run{Ended: reports.EndedRedisKill, Interrupted: true}
	for _, tt := range []struct {
		run  reports.Run
		err  error
		want bool
	}{
		{killed, died, true},
		{killed, nil, true},
		{killed, fmt.Errorf("%w: port taken", bench.ErrEnvironment), false},
		{reports.Run{Interrupted: true}, died, false},
		{reports.Run{Interrupted: true}, nil, false},
	} {
		if got := endedAsPlanned(tt.run, tt.err); got != tt.want {
			t.Errorf("endedAsPlanned(ended %q, %v) = %v, want %v", tt.run.Ended, tt.err, got, tt.want)
		}
	}
}
