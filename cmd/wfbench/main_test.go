package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wfbench/wfbench/bench"
	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/scenarios"
)

// wfbench runs the CLI in-process and returns its exit code, stdout and the error text.
func wfbench(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	return exitCodeQuiet(err), out.String(), msg
}

// exitCodeQuiet is exitCode without printing.
func exitCodeQuiet(err error) int {
	stderr := os.Stderr
	os.Stderr, _ = os.Open(os.DevNull)
	defer func() { os.Stderr = stderr }()
	return exitCode(err)
}

func TestBadFlagsExit2NamingTheFlag(t *testing.T) {
	cases := []usageCase{
		{[]string{"run", "--rtt", "abc"}, []string{"--rtt", "not a duration", "100ms"}},
		{[]string{"run", "--batch", "0"}, []string{"--batch", "from 1 to"}},
		{[]string{"run", "--jobs", "-5"}, []string{"--jobs", "from 1 to"}},
		{[]string{"run", "--target", "nope"}, []string{"--target", "api, faktory"}},
		{[]string{"run", "--topology", "ring"}, []string{"--topology", "central, split"}},
		{[]string{"run", "--link", "nowhere=5ms"}, []string{"--link", "client-api"}},
		{[]string{"run", "--poll", "eager"}, []string{"--poll", "fixed"}},
		{[]string{"run", "--jobs", "0"}, []string{"--jobs 0", "--duration"}},
		{[]string{"run", "--bogus"}, []string{"unknown flag", "--bogus"}},
		{[]string{"run", "extra-arg"}, []string{"unknown command"}},
		{[]string{"run", "--phase", "redis@1s+1s=kill"}, []string{"redis kill takes no for", "redis@AT=kill"}},
		{[]string{"run", "--phase", "redis@1s=kill", "--faktory-url", "tcp://127.0.0.1:1"}, []string{"redis kill needs the embedded Faktory"}},
		{[]string{"run", "--workers", "2"}, []string{"--workers", "only with --hosts"}},
		{[]string{"run", "--hosts", "vm"}, []string{"--hosts", "none, local, netns"}},
		{[]string{"run", "--hosts", "local", "--phase", "worker-1@1s=kill"}, []string{"kill every worker host", "--workers"}},
		{[]string{"run", "--hosts", "local", "--workers", "2", "--phase", "worker-3@1s=kill"}, []string{"worker-3", "accepted"}},
		{[]string{"run", "--hosts", "local", "--faktory-url", "tcp://127.0.0.1:1"}, []string{"--hosts", "not with --faktory-url"}},
		{[]string{"up", "--workers", "2"}, []string{"--workers is for --hosts"}},
	}
	wantUsage(t, cases)
}

// usageCase is a command line that must exit 2 with a message naming each of want.
type usageCase struct {
	args []string
	want []string // each must appear in the message
}

func wantUsage(t *testing.T, cases []usageCase) {
	t.Helper()
	for _, c := range cases {
		code, _, msg := wfbench(t, c.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d (message %q)", c.args, code, exitUsage, msg)
		}
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%v: message %q does not mention %q", c.args, msg, w)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := wfbench(t, "version")
	if code != 0 || !strings.Contains(out, "wfbench "+version) || !strings.Contains(out, "Faktory") {
		t.Fatalf("version: exit %d, output %q", code, out)
	}
}

// A small real run writes every report file and a result.json that honours the §5
// contract key for key.
func TestRunWritesReports(t *testing.T) {
	dir := t.TempDir()
	code, out, msg := wfbench(t, "run", "--rtt", "5ms", "--batch", "5", "--jobs", "40",
		"--worker-concurrency", "4", "--poll-interval", "50ms", "-o", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, msg, out)
	}
	if !strings.Contains(out, "rtt=5ms batch=5") {
		t.Errorf("table does not show the run:\n%s", out)
	}
	for _, f := range []string{"result.json", "report.md", "rtt_5ms_batch_5.enqueue.hgrm", "rtt_5ms_batch_5.pickup.hgrm", "rtt_5ms_batch_5.end_to_end.hgrm"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: missing or empty (%v)", f, err)
		}
	}
	res, err := reports.ReadJSON(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if p := res.Process; p == nil || p.PeakRSSMB <= 0 || p.CPUUserS+p.CPUSysS <= 0 {
		t.Errorf("process use %+v: want the run's own peak RSS and CPU time", p)
	}
	if j := res.Runs[0].Jobs; j.Completed != 40 || j.Lost != 0 {
		t.Errorf("jobs %+v, want 40 completed, 0 lost", j)
	}

	raw, _ := os.ReadFile(filepath.Join(dir, "result.json"))
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	need := func(m map[string]any, where string, keys ...string) {
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Errorf("result.json: %s lacks %q", where, k)
			}
		}
	}
	obj := func(v any) map[string]any { m, _ := v.(map[string]any); return m }
	need(doc, "top level", "schema", "tool_version", "started_at", "environment", "runs")
	need(obj(doc["environment"]), "environment", "os", "cpus", "go")
	run := obj(doc["runs"].([]any)[0])
	need(run, "run", "name", "config", "links", "jobs", "duration_s", "throughput", "latency_ms", "histograms", "model")
	need(obj(run["config"]), "config", "rtt_ms", "jitter_ms", "topology", "target", "batch", "jobs", "concurrency",
		"rate_per_s", "poll", "worker_concurrency", "enqueue_mode", "netem")
	need(obj(run["links"].([]any)[0]), "links[0]", "name", "configured_rtt_ms", "measured_rtt_ms")
	need(obj(run["jobs"]), "jobs", "requested", "accepted", "completed", "failed", "pending", "lost", "duplicated", "errors")
	need(obj(run["duration_s"]), "duration_s", "enqueue", "total")
	need(obj(run["throughput"]), "throughput", "enqueue_jobs_per_s", "completed_jobs_per_s")
	for _, p := range []string{"enqueue", "pickup", "end_to_end"} {
		need(obj(obj(run["latency_ms"])[p]), "latency_ms."+p, "count", "min", "mean", "p50", "p90", "p99", "p999", "max")
		need(obj(run["histograms"]), "histograms", p)
	}
	need(obj(run["model"]), "model", "round_trips_per_job", "network_floor_s", "efficiency")
}

// The machine's faults exit 3 with a message that says what to do.
func TestEnvironmentErrorsExit3(t *testing.T) {
	t.Run("redis-server missing", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		code, _, msg := wfbench(t, "run", "--jobs", "1", "-o", t.TempDir())
		if code != exitEnvironment || !strings.Contains(msg, "redis-server not found") || !strings.Contains(msg, "make setup") {
			t.Errorf("exit %d, message %q: want %d naming redis-server and make setup", code, msg, exitEnvironment)
		}
	})
	t.Run("Faktory unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // a port nobody listens on
		code, _, msg := wfbench(t, "run", "--jobs", "1", "--faktory-url", "tcp://"+addr, "-o", t.TempDir())
		if code != exitEnvironment || !strings.Contains(msg, addr) {
			t.Errorf("exit %d, message %q: want %d naming %s", code, msg, exitEnvironment, addr)
		}
	})
}

// The exit code comes from the error's types, whatever it says and however it is wrapped.
func TestExitCodeByType(t *testing.T) {
	env := fmt.Errorf("%w: start embedded Faktory: %w", bench.ErrEnvironment, errors.New("redis-server not found"))
	fileErr := &scenarios.FileError{File: "x.yaml", Line: 3, Err: errors.New("unknown key")}
	cases := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, exitOK},
		{"check failed", &exitError{exitCheckFailed, errors.New("2 of 10 accepted jobs were lost")}, exitCheckFailed},
		{"usage", usageErr(errors.New("--rtt: not a duration")), exitUsage},
		{"environment, wrapped", fmt.Errorf("run %s: %w", "rtt=5ms", env), exitEnvironment},
		{"environment, marked", envErr(errors.New("create the output folder: permission denied")), exitEnvironment},
		{"environment text alone is not environment", errors.New("environment: redis-server not found"), exitUsage},
		{"scenario file", fmt.Errorf("%w", errors.Join(fileErr, fileErr)), exitUsage},
		{"no such scenario", fmt.Errorf("%w: %q", scenarios.ErrNoScenario, "nope"), exitUsage},
		{"interrupted", context.Canceled, exitInterrupted},
		{"an explicit code wins over what it wraps", &exitError{exitInterrupted, env}, exitInterrupted},
		{"environment wins over a file error", envErr(fileErr), exitEnvironment},
		{"cobra's own", errors.New(`unknown command "x" for "wfbench run"`), exitUsage},
		{"a run stopped by the environment", runFailed(env), exitEnvironment},
		{"a run with no job accepted", runFailed(errors.New("no job was accepted: connection refused")), exitEnvironment},
		{"a run with a bad scenario", runFailed(fileErr), exitUsage},
	}
	for _, c := range cases {
		if got := exitCodeQuiet(c.err); got != c.want {
			t.Errorf("%s: exit %d, want %d", c.name, got, c.want)
		}
	}
	// Marking an error changes its exit code, not its message.
	if e := errors.New("disk full"); envErr(e).Error() != e.Error() || runFailed(e).Error() != e.Error() {
		t.Errorf("envErr / runFailed changed the message %q", e)
	}
}

// Without -o a run writes into wfbench-results/<timestamp>/, not into the source tree.
func TestDefaultOutputFolder(t *testing.T) {
	t.Chdir(t.TempDir())
	res := newResult()
	var rf reportFlags
	if err := rf.prepareOut(res, "compare-"); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join("wfbench-results", "compare-"+res.StartedAt.Format("20060102-150405"))
	if rf.out != want {
		t.Errorf("default output %s, want %s", rf.out, want)
	}
	if st, err := os.Stat(want); err != nil || !st.IsDir() {
		t.Errorf("%s not created (%v)", want, err)
	}
	if f := newRunCmd().Flags().Lookup("out"); !strings.Contains(f.Usage, "wfbench-results/<timestamp>/") {
		t.Errorf("--out help %q does not give the default", f.Usage)
	}
}

func TestFreeDir(t *testing.T) {
	base := filepath.Join(t.TempDir(), "20261127-120000")
	if got := freeDir(base); got != base {
		t.Fatalf("freeDir of a new path = %s", got)
	}
	for _, taken := range []string{base, base + "-2"} {
		if err := os.MkdirAll(taken, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got := freeDir(base); got != base+"-3" {
		t.Errorf("freeDir with %s and -2 taken = %s, want %s-3", base, got, base)
	}
}
