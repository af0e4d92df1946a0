package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wfbench/wfbench/diagnose"
	"github.com/wfbench/wfbench/system"
)

func TestDiagnoseBadFlagsExit2(t *testing.T) {
	t.Setenv("FAKTORY_URL", "")
	cases := []usageCase{
		{[]string{"diagnose"}, []string{"--faktory-url is required", "tcp://"}},
		{[]string{"diagnose", "--faktory-url", "http://h:1"}, []string{"--faktory-url", "tcp://host:port"}},
		{[]string{"diagnose", "--faktory-url", "tcp://h:1", "--format", "xml"}, []string{"--format", "text, md, json"}},
		{[]string{"diagnose", "--faktory-url", "tcp://h:1", "--duration", "0s"}, []string{"--duration", "1s to 10m"}},
		{[]string{"diagnose", "--faktory-url", "tcp://h:1", "--duration", "soon"}, []string{"--duration", "not a duration"}},
		{[]string{"diagnose", "--faktory-url", "tcp://h:1", "--batches", "1"}, []string{"--batches", "2 to 1000"}},
		{[]string{"diagnose", "--faktory-url", "tcp://h:1", "--api-url", "h:2"}, []string{"--api-url", "http://host:port"}},
		{[]string{"diagnose", "extra"}, []string{"unknown command"}},
	}
	wantUsage(t, cases)
}

func TestDiagnoseUnreachableExit3(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	code, out, msg := wfbench(t, "diagnose", "--faktory-url", "tcp://:hunter2@"+addr)
	if code != exitEnvironment || !strings.Contains(msg, "tcp://:xxxxx@"+addr) || strings.Contains(msg+out, "hunter2") {
		t.Fatalf("exit %d, message %q: want %d naming tcp://:xxxxx@%s", code, msg, exitEnvironment, addr)
	}
}

// TestDiagnoseWritesFiles diagnoses a real embedded Faktory (loopback, a short budget)
// and checks the JSON on stdout and the files -o writes.
func TestDiagnoseWritesFiles(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := system.StartBroker(ctx, system.BrokerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	dir := filepath.Join(t.TempDir(), "diag")
	code, out, msg := wfbench(t, "diagnose", "--faktory-url", b.URL(), "--duration", "2s", "--format", "json", "-o", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, msg)
	}
	var d diagnose.Diagnosis
	if err := json.Unmarshal([]byte(out), &d); err != nil || d.Schema != diagnose.Schema || len(d.Measurements) == 0 || !d.Target.QueuesUnchanged {
		t.Fatalf("stdout is not a complete diagnosis (%v): %s", err, out)
	}
	for _, f := range []string{"diagnosis.json", "diagnosis.md"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}
