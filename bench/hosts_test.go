package bench

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wfbench/wfbench/hosts"
)

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// TestMain removes the wfbench binary the hosts tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// useWfbenchBinary builds wfbench once for the parts a run on hosts starts (this test
// binary is not wfbench) and points the hosts package at it.
func useWfbenchBinary(t *testing.T) {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "wfbench-bench-test-"); binErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, "wfbench"), "../cmd/wfbench").CombinedOutput()
		if err != nil {
			binErr = errors.New("build wfbench: " + err.Error() + ": " + string(out))
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	t.Setenv("WFBENCH_BINARY", filepath.Join(binDir, "wfbench"))
}

// A run on hosts (issue 14's first check, at its size): Faktory, the API and two
// workers, each a process in its own network namespace, every path between them a
// 23 ms link. Every job completes, none is lost; the links measure within 3% of 23 ms
// (the delay line is within ~0.2 ms; a veth adds tens of µs); both workers did a share
// and the two shares add up; their clocks were measured; no namespace is left.
func TestHostsNetnsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("a run on hosts starts five processes")
	}
	useWfbenchBinary(t)
	cfg := Default()
	cfg.Hosts, cfg.HostWorkers = hosts.ModeNetns, 2
	cfg.RTT, cfg.Batch, cfg.Jobs = 23*time.Millisecond, 5, 200
	run, err := Execute(testCtx(t, 2*time.Minute), cfg, Options{})
	if errors.Is(err, hosts.ErrUnavailable) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if j := run.Jobs; j.Completed != 200 || j.Lost != 0 || j.Pending != 0 {
		t.Errorf("jobs %+v: want 200 completed, none lost or pending", j)
	}
	for _, l := range run.Links {
		if l.ConfiguredRTTMS > 0 && math.Abs(l.MeasuredRTTMS/l.ConfiguredRTTMS-1) > 0.03 {
			t.Errorf("link %s measured %.3f ms for %.1f ms", l.Name, l.MeasuredRTTMS, l.ConfiguredRTTMS)
		}
	}
	if len(run.Workers) != 2 {
		t.Fatalf("workers %+v, want two", run.Workers)
	}
	sum := 0
	for _, w := range run.Workers {
		sum += w.Completed
		if w.Completed == 0 || w.Namespace == "" || w.Clock == nil {
			t.Errorf("worker %+v: want a share, its namespace, its clock", w)
		}
	}
	if sum != run.Jobs.Completed {
		t.Errorf("workers' shares add to %d, the run completed %d", sum, run.Jobs.Completed)
	}
	if ns, _ := hosts.Namespaces(); len(ns) > 0 {
		t.Errorf("namespaces left: %v", ns)
	}
}
