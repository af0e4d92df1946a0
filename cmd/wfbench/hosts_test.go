package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/wfbench/wfbench/hosts"
	"github.com/wfbench/wfbench/reports"
)

// Several drivers against one system (issue 14's fourth check): `up --hosts netns` stands
// Faktory, an API and a worker, each a process in its own namespace; two drivers, each a
// process of its own, load it at once through its client-api link (--api-url, their
// jobs on queues of their own, their own workers); `report merge` adds the two results
// up: every count is the sum of the drivers', and nothing is left behind.
func TestTwoDriversOnOneSystemMerged(t *testing.T) {
	if testing.Short() {
		t.Skip("stands a system on hosts and runs two drivers")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "wfbench")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build wfbench: %v: %s", err, out)
	}
	up := exec.Command(bin, "up", "--hosts", "netns", "--rtt", "5ms")
	up.Env = append(os.Environ(), "WFBENCH_BINARY="+bin)
	up.Stderr = os.Stderr
	stdout, err := up.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = up.Process.Signal(syscall.SIGINT)
			_ = up.Wait()
		}
	}
	defer stop()
	var api, faktory string
	sc := bufio.NewScanner(stdout)
	apiRe := regexp.MustCompile(`^api-1 .*through client-api .*: (http://\S+)$`)
	fkRe := regexp.MustCompile(`^faktory +(tcp://\S+) `)
	for sc.Scan() {
		line := sc.Text()
		if m := apiRe.FindStringSubmatch(line); m != nil {
			api = m[1]
		}
		if m := fkRe.FindStringSubmatch(line); m != nil {
			faktory = m[1]
		}
		if strings.HasPrefix(line, "Ctrl-C stops it") {
			break
		}
	}
	go func() { _, _ = bufio.NewReader(stdout).WriteTo(discard{}) }()
	if api == "" || faktory == "" {
		stop()
		if code := up.ProcessState.ExitCode(); code == exitEnvironment {
			t.Skip("up --hosts netns cannot run here (exit 3)")
		}
		t.Fatalf("up printed no API or Faktory address (api %q, faktory %q)", api, faktory)
	}
	outs := []string{filepath.Join(dir, "a"), filepath.Join(dir, "b")}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, out := range outs {
		wg.Go(func() {
			cmd := exec.Command(bin, "run", "--api-url", api, "--faktory-url", faktory, "--batch", "5", "--jobs", "100", "-o", out)
			b, err := cmd.CombinedOutput()
			if err != nil {
				errs[i] = err
				t.Logf("driver %d: %s", i+1, b)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("driver %d: %v", i+1, err)
		}
	}
	merged := filepath.Join(dir, "merged", "result.json")
	if code, out, msg := wfbench(t, "report", "merge", outs[0]+"/result.json", outs[1]+"/result.json", "-o", merged); code != 0 {
		t.Fatalf("merge: exit %d: %s %s", code, msg, out)
	}
	var parts []reports.Run
	for _, o := range outs {
		r, err := reports.ReadJSON(filepath.Join(o, "result.json"))
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, r.Runs[0])
	}
	m, err := reports.ReadJSON(merged)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Runs) != 1 {
		t.Fatalf("merged %d runs, want the two drivers' one", len(m.Runs))
	}
	got, a, b := m.Runs[0].Jobs, parts[0].Jobs, parts[1].Jobs
	if a.Completed != 100 || b.Completed != 100 || got.Accepted != a.Accepted+b.Accepted || got.Completed != a.Completed+b.Completed || got.Lost != 0 {
		t.Errorf("merged jobs %+v from %+v and %+v: want the sums, 200 completed", got, a, b)
	}
	if n := m.Runs[0].LatencyMS[reports.PointEnqueue].Count; n != parts[0].LatencyMS[reports.PointEnqueue].Count+parts[1].LatencyMS[reports.PointEnqueue].Count {
		t.Errorf("merged enqueue histogram counts %d samples, not the sum of the drivers'", n)
	}
	pid := up.Process.Pid
	stop()
	if ns, _ := hosts.OwnNamespaces(pid); len(ns) > 0 {
		t.Errorf("namespaces left after up stopped: %v", ns)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
