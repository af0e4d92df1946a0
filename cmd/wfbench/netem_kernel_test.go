package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wfbench/wfbench/bench"
	"github.com/wfbench/wfbench/netem"
)

// exitCodeStderr is exitCode with what it prints to stderr.
func exitCodeStderr(t *testing.T, err error) (int, string) {
	t.Helper()
	f, ferr := os.CreateTemp(t.TempDir(), "stderr")
	if ferr != nil {
		t.Fatal(ferr)
	}
	defer f.Close()
	stderr := os.Stderr
	os.Stderr = f
	code := exitCode(err)
	os.Stderr = stderr
	out, _ := os.ReadFile(f.Name())
	return code, string(out)
}

// Where sch_netem cannot be used, --netem kernel is the machine's fault: exit 3, the
// probe's error on stderr (sch_netem named, tc quoted, --netem toxiproxy suggested).
func TestKernelNetemUnavailableExit3(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	probe := netem.ProbeKernelNetem(ctx)
	if probe == nil {
		t.Skip("kernel netem works on this machine (the sch_netem probe passed): --netem kernel waits for --hosts netns here")
	}
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"run", "--netem", "kernel", "--jobs", "10", "-o", t.TempDir()})
	err := root.ExecuteContext(ctx)
	code, stderr := exitCodeStderr(t, err)
	t.Logf("exit %d, stderr: %s", code, stderr)
	if code != exitEnvironment {
		t.Errorf("exit %d, want %d (stderr %q)", code, exitEnvironment, stderr)
	}
	if !errors.Is(err, netem.ErrNoKernelNetem) || !errors.Is(err, bench.ErrEnvironment) {
		t.Errorf("error %v: want netem.ErrNoKernelNetem and bench.ErrEnvironment", err)
	}
	if !strings.HasPrefix(stderr, "wfbench: ") || !strings.Contains(stderr, probe.Error()) ||
		!strings.Contains(stderr, "--netem toxiproxy") {
		t.Errorf("stderr %q: want the probe's error %q, suggesting --netem toxiproxy", stderr, probe)
	}
	if !errors.Is(probe, netem.ErrKernelNetemPrereq) && !strings.Contains(stderr, "sch_netem") {
		t.Errorf("stderr %q does not name sch_netem", stderr)
	}
}
