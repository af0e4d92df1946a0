package scenarios

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wfbench/wfbench/bench"
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
