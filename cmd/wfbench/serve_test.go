package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/wfbench/wfbench/system"
)

// Every knob given a bad value stops serve at start-up with exit 2 naming the variable.
func TestServeBadEnvExit2(t *testing.T) {
	for env, bad := range map[string]string{
		"WORKER_CONCURRENCY": "abc", "WORKER_POLL": "eager", "WORKER_POLL_INTERVAL": "soon",
		"WORKER_ACK": "maybe", "FAKTORY_POOL_SIZE": "0", "FAKTORY_MAX_BATCH_SIZE": "-1",
		"API_ENQUEUE_MODE": "fast", "FAKTORY_CONNECT_TIMEOUT": "5", "FAKTORY_READ_TIMEOUT": "1s",
		"FAKTORY_WRITE_TIMEOUT": "x", "FAKTORY_KEEPALIVE_INTERVAL": "0s", "FAKTORY_URL": "http://x",
		"FLUSH_INTERVAL": "forever",
	} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, bad)
			code, _, msg := wfbench(t, "serve", "worker")
			if code != exitUsage || !strings.Contains(msg, env) || !strings.Contains(msg, "accepted") {
				t.Errorf("%s=%s: exit %d, message %q: want %d naming the variable and the accepted form", env, bad, code, msg, exitUsage)
			}
		})
	}
	if code, _, msg := wfbench(t, "serve", "api"); code != exitUsage || !strings.Contains(msg, "FAKTORY_URL") {
		t.Errorf("serve api without a Faktory: exit %d %q", code, msg)
	}
	if code, _, msg := wfbench(t, "serve", "broker"); code != exitUsage || !strings.Contains(msg, "faktory, api, worker, all") {
		t.Errorf("serve broker: exit %d %q", code, msg)
	}
}

// syncBuffer is an io.Writer safe to read while the command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// up: the whole system standing; /metrics shows the pool and enqueue series, a finished
// job's result is served, and Ctrl-C (the context) stops it with nothing left behind.
func TestUp(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := newRoot()
	out := &syncBuffer{}
	root.SetOut(out)
	root.SetErr(out)
	root.SetArgs([]string{"up", "--bind-faktory", "127.0.0.1:0", "--bind-api", "127.0.0.1:0", "--web", "", "--poll-interval", "50ms"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	apiLine := regexp.MustCompile(`api +(http://127\.0\.0\.1:\d+)`)
	var base string
	deadline := time.Now().Add(30 * time.Second)
	for base == "" {
		if m := apiLine.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("up exited early: %v\n%s", err, out)
		case <-time.After(20 * time.Millisecond): // polling the command's output for its address
		}
		if time.Now().After(deadline) {
			t.Fatalf("up printed no API address:\n%s", out)
		}
	}
	resp, err := http.Post(base+"/jobs/add", "application/json", strings.NewReader(`{"a":20,"b":22,"request_id":"up-1"}`))
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /jobs/add: %v %v", resp, err)
	}
	resp.Body.Close()
	var res system.JobResult
	for res.Status != system.StatusDone && time.Now().Before(deadline) {
		resp, err := http.Get(base + "/jobs/up-1")
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(resp.Body).Decode(&res)
		resp.Body.Close()
		if res.Status != system.StatusDone {
			time.Sleep(20 * time.Millisecond) // polling the service, as a client would
		}
	}
	if res.Status != system.StatusDone || res.Result == nil || *res.Result != 42 {
		t.Fatalf("GET /jobs/up-1: %+v, want done with 42", res)
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, series := range []string{"wfbench_faktory_pool_in_use", "wfbench_faktory_pool_wait_seconds", "wfbench_api_enqueue_duration_seconds_count{command=\"PUSH\"} 1"} {
		if !bytes.Contains(text, []byte(series)) {
			t.Errorf("/metrics lacks %q", series)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("up after Ctrl-C: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("up did not stop within 30 s of Ctrl-C")
	}
}

// Flags go through the same parser and range as their variables, and win over them.
func TestServeFlagsValidatedAndWin(t *testing.T) {
	code, _, msg := wfbench(t, "serve", "worker", "--read-timeout", "1s")
	if code != exitUsage || !strings.Contains(msg, "--read-timeout") || !strings.Contains(msg, "FAKTORY_READ_TIMEOUT") {
		t.Errorf("--read-timeout 1s: exit %d %q", code, msg)
	}
	// A bad variable is an error even under a good flag: the environment is checked as read.
	t.Setenv("WORKER_POLL", "eager")
	code, _, msg = wfbench(t, "serve", "worker", "--poll", "tuned")
	if code != exitUsage || !strings.Contains(msg, "WORKER_POLL") {
		t.Errorf("bad WORKER_POLL under a good --poll: exit %d %q, want the variable's error", code, msg)
	}
}

func TestConfigPrecedence(t *testing.T) {
	t.Setenv("FAKTORY_POOL_SIZE", "7")
	t.Setenv("WORKER_POLL", "tuned")
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	cf := addConfigFlags(fs)
	if err := fs.Parse([]string{"--pool-size", "9"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := cf.resolve(fs)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PoolSize != 9 || cfg.WorkerPoll != "tuned" || cfg.MaxBatch != 1000 {
		t.Errorf("pool %d (want the flag's 9), poll %q (want the variable's tuned), max batch %d (want the default 1000)", cfg.PoolSize, cfg.WorkerPoll, cfg.MaxBatch)
	}
}
