package system

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	faktory "github.com/contribsys/faktory/client"
)

// startBroker boots a real embedded Faktory (and its redis-server) for the test. Cleanup
// stops it and checks that no process still refers to the broker's storage directory.
func startBroker(t *testing.T) *Broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := StartBroker(ctx, BrokerOptions{})
	if err != nil {
		t.Fatalf("StartBroker: %v", err)
	}
	if procsMentioning(b.dir) == nil {
		t.Fatalf("no process mentions the broker dir %s: redis-server was not started as expected", b.dir)
	}
	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Errorf("broker Stop: %v", err)
		}
		if left := procsMentioning(b.dir); left != nil {
			t.Errorf("processes still alive after broker Stop (their command line has %s): %v", b.dir, left)
		}
		if _, err := os.Stat(b.dir); !os.IsNotExist(err) {
			t.Errorf("broker storage dir %s still exists after Stop (stat: %v)", b.dir, err)
		}
	})
	return b
}

// procsMentioning lists "pid: cmdline" of every process whose command line contains s.
func procsMentioning(s string) []string {
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var out []string
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue // exited meanwhile
		}
		cmd := strings.ReplaceAll(string(data), "\x00", " ")
		if strings.Contains(cmd, s) {
			out = append(out, filepath.Base(filepath.Dir(p))+": "+cmd)
		}
	}
	return out
}

// sink is a channel-backed CompletionSink indexed by request id.
type sink struct {
	ch   chan Completion
	mu   sync.Mutex
	seen map[string][]Completion
}

func newSink() *sink { return &sink{ch: make(chan Completion, 1024), seen: map[string][]Completion{}} }

func (s *sink) Complete(c Completion) { s.ch <- c }

// wait returns the first completion of each request id, failing the test when they have
// not all arrived before the deadline.
func (s *sink) wait(t *testing.T, timeout time.Duration, rids ...string) map[string]Completion {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		got := map[string]Completion{}
		for _, id := range rids {
			if cs := s.seen[id]; len(cs) > 0 {
				got[id] = cs[0]
			}
		}
		if len(got) == len(rids) {
			return got
		}
		select {
		case c := <-s.ch:
			s.seen[c.RequestID] = append(s.seen[c.RequestID], c)
		case <-ctx.Done():
			t.Fatalf("after %s: %d of %d completions arrived (waiting for %v)", timeout, len(got), len(rids), rids)
		}
	}
}

type testStack struct {
	broker *Broker
	sink   *sink
	api    *API
	base   string
}

// startStack runs broker, worker (fixed, 4 slots, 50ms poll) and API, all real.
func startStack(t *testing.T, maxBatch int) *testStack {
	t.Helper()
	b := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := newSink()
	w, err := StartWorker(ctx, WorkerOptions{
		Endpoint: Endpoint{Addr: b.Addr()}, Poll: PollFixed, Concurrency: 4,
		PollInterval: 50 * time.Millisecond, Sink: s,
	})
	if err != nil {
		t.Fatalf("StartWorker: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.Stop(ctx); err != nil {
			t.Errorf("worker Stop: %v", err)
		}
	})
	pool, err := NewPool(Endpoint{Addr: b.Addr()}, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	api := NewAPI(pool, APIOptions{MaxBatch: maxBatch})
	if err := api.Start(""); err != nil {
		t.Fatalf("API Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := api.Stop(ctx); err != nil {
			t.Errorf("API Stop: %v", err)
		}
	})
	if !strings.HasPrefix(api.Addr(), "127.0.0.1:") {
		t.Errorf("API listens on %s, want 127.0.0.1 by default", api.Addr())
	}
	return &testStack{broker: b, sink: s, api: api, base: "http://" + api.Addr()}
}

// request sends one request, bounded by timeout, and returns the status, the answer (as
// much as could be read) and its headers; hdr are header name, value pairs.
func request(t *testing.T, method, url string, body io.Reader, timeout time.Duration, hdr ...string) (int, []byte, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data, resp.Header
}

// do sends one JSON request and decodes the JSON answer.
func do(t *testing.T, method, url, body string, hdr ...string) (int, map[string]any) {
	t.Helper()
	code, data, h := request(t, method, url, strings.NewReader(body), 10*time.Second, append([]string{"Content-Type", "application/json"}, hdr...)...)
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, url, ct)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s %s: answer %q is not a JSON object: %v", method, url, data, err)
	}
	return code, v
}

func TestAPIEnqueueAndComplete(t *testing.T) {
	st := startStack(t, 5)

	t.Run("add", func(t *testing.T) {
		code, ans := do(t, "POST", st.base+"/jobs/add", `{"a":2,"b":3,"request_id":"r1"}`, HeaderRun, "run-7")
		if code != http.StatusAccepted {
			t.Fatalf("status %d (%v), want 202", code, ans)
		}
		jid, _ := ans["job_id"].(string)
		if jid == "" || ans["request_id"] != "r1" {
			t.Fatalf("answer %v: want a job_id and request_id r1", ans)
		}
		c := st.sink.wait(t, 10*time.Second, "r1")["r1"]
		if c.Err != nil || c.AckErr != nil {
			t.Fatalf("completion errors: %v / %v", c.Err, c.AckErr)
		}
		if c.Result != 5 || c.Jid != jid || c.Type != JobAdd || c.Run != "run-7" {
			t.Errorf("completion %+v: want result 5, jid %s, type %s, run run-7", c, jid, JobAdd)
		}
		if c.Finished.Before(c.Started) {
			t.Errorf("finished %v before started %v", c.Finished, c.Started)
		}
	})

	t.Run("generated request id", func(t *testing.T) {
		code, ans := do(t, "POST", st.base+"/jobs/multiply", `{"a":4,"b":2.5}`)
		rid, _ := ans["request_id"].(string)
		if code != http.StatusAccepted || rid == "" {
			t.Fatalf("status %d answer %v: want 202 with a generated request_id", code, ans)
		}
		if c := st.sink.wait(t, 10*time.Second, rid)[rid]; c.Result != 10 || c.Type != JobMultiply {
			t.Errorf("completion %+v: want multiply result 10", c)
		}
	})

	t.Run("divide by zero fails the job", func(t *testing.T) {
		code, ans := do(t, "POST", st.base+"/jobs/divide", `{"a":1,"b":0,"request_id":"div0"}`)
		if code != http.StatusAccepted {
			t.Fatalf("status %d (%v), want 202: the failure belongs to the job, not the enqueue", code, ans)
		}
		c := st.sink.wait(t, 10*time.Second, "div0")["div0"]
		if !errors.Is(c.Err, ErrDivideByZero) {
			t.Errorf("completion error %v, want one wrapping ErrDivideByZero", c.Err)
		}
		if c.AckErr != nil {
			t.Errorf("FAIL did not reach Faktory: %v", c.AckErr)
		}
	})

	t.Run("batch", func(t *testing.T) {
		var items []string
		var rids []string
		for i := range 5 {
			rid := fmt.Sprintf("b%d", i)
			rids = append(rids, rid)
			items = append(items, fmt.Sprintf(`{"type":"subtract","a":%d,"b":1,"request_id":%q}`, i, rid))
		}
		code, ans := do(t, "POST", st.base+"/jobs/batch", `{"jobs":[`+strings.Join(items, ",")+`]}`)
		if code != http.StatusAccepted {
			t.Fatalf("status %d (%v), want 202", code, ans)
		}
		ids, _ := ans["job_ids"].([]any)
		gotRids, _ := ans["request_ids"].([]any)
		if len(ids) != 5 || len(gotRids) != 5 {
			t.Fatalf("answer %v: want 5 job_ids and 5 request_ids", ans)
		}
		if _, has := ans["rejected"]; has {
			t.Errorf("answer %v: nothing should be rejected", ans)
		}
		got := st.sink.wait(t, 10*time.Second, rids...)
		jids := map[string]bool{}
		for i, rid := range rids {
			c := got[rid]
			if c.Result != float64(i-1) || c.Err != nil {
				t.Errorf("%s: completion %+v, want result %d", rid, c, i-1)
			}
			jids[c.Jid] = true
		}
		for _, id := range ids {
			if !jids[id.(string)] {
				t.Errorf("job id %v in the answer never completed", id)
			}
		}
	})

	t.Run("batch of 10 within the default limit", func(t *testing.T) {
		big := newStackAPI(t, st, 0) // MaxBatch default 1000, same pool
		var items, rids []string
		for i := range 10 {
			rid := fmt.Sprintf("ten%d", i)
			rids = append(rids, rid)
			items = append(items, fmt.Sprintf(`{"type":"add","a":%d,"b":%d,"request_id":%q}`, i, i, rid))
		}
		code, ans := do(t, "POST", big+"/jobs/batch", `{"jobs":[`+strings.Join(items, ",")+`]}`)
		if ids, _ := ans["job_ids"].([]any); code != http.StatusAccepted || len(ids) != 10 {
			t.Fatalf("status %d answer %v: want 202 with 10 job_ids", code, ans)
		}
		got := st.sink.wait(t, 10*time.Second, rids...)
		for i, rid := range rids {
			if got[rid].Result != float64(2*i) {
				t.Errorf("%s: result %g, want %d", rid, got[rid].Result, 2*i)
			}
		}
	})

	t.Run("bad input", func(t *testing.T) {
		six := `{"jobs":[` + strings.Repeat(`{"type":"add","a":1,"b":1},`, 5) + `{"type":"add","a":1,"b":1}]}`
		for _, tc := range []struct {
			name, path, body string
			code             int
			want             []string // substrings of the "error" message
		}{
			{"unknown op", "/jobs/power", `{"a":1,"b":2}`, 404, []string{`"power"`, OperationNames}},
			{"missing b", "/jobs/add", `{"a":1}`, 400, []string{"a and b are required"}},
			{"unknown field", "/jobs/add", `{"a":1,"b":2,"c":3}`, 400, []string{"invalid JSON", `"c"`}},
			{"not JSON", "/jobs/add", `a=1&b=2`, 400, []string{"invalid JSON"}},
			{"trailing data", "/jobs/add", `{"a":1,"b":2}{}`, 400, []string{"trailing"}},
			{"batch over MaxBatch", "/jobs/batch", six, 413, []string{"6", "FAKTORY_MAX_BATCH_SIZE=5"}},
			{"empty batch", "/jobs/batch", `{"jobs":[]}`, 400, []string{"empty batch"}},
			{"batch unknown type", "/jobs/batch", `{"jobs":[{"type":"pow","a":1,"b":1}]}`, 400, []string{"jobs[0]", OperationNames}},
			{"batch missing a", "/jobs/batch", `{"jobs":[{"type":"add","a":1,"b":1},{"type":"add","b":1}]}`, 400, []string{"jobs[1]", "required"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, ans := do(t, "POST", st.base+tc.path, tc.body)
				if code != tc.code {
					t.Errorf("status %d (%v), want %d", code, ans, tc.code)
				}
				msg, _ := ans["error"].(string)
				for _, w := range tc.want {
					if !strings.Contains(msg, w) {
						t.Errorf("error %q does not mention %q", msg, w)
					}
				}
			})
		}
	})

	t.Run("body limit", func(t *testing.T) {
		small := NewAPI(st.api.Pool, APIOptions{MaxBody: 64})
		srvURL := startAPI(t, small)
		code, ans := do(t, "POST", srvURL+"/jobs/add", `{"a":1,"b":2,"request_id":"`+strings.Repeat("x", 100)+`"}`)
		if code != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d (%v), want 413", code, ans)
		}
	})

	t.Run("healthz", func(t *testing.T) {
		code, ans := do(t, "GET", st.base+"/healthz", "")
		if code != http.StatusOK || ans["status"] != "ok" {
			t.Fatalf("status %d answer %v: want 200 ok while Faktory is up", code, ans)
		}
		if rtt, ok := ans["faktory_rtt_ms"].(float64); !ok || rtt < 0 {
			t.Errorf("faktory_rtt_ms %v: want a non-negative number", ans["faktory_rtt_ms"])
		}
	})
}

// newStackAPI starts a second API with maxBatch on st's pool and returns its base URL.
func newStackAPI(t *testing.T, st *testStack, maxBatch int) string {
	return startAPI(t, NewAPI(st.api.Pool, APIOptions{MaxBatch: maxBatch}))
}

func startAPI(t *testing.T, a *API) string {
	t.Helper()
	if err := a.Start(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Stop(ctx)
	})
	return "http://" + a.Addr()
}

// After the broker is gone, /healthz must stop saying ok.
func TestHealthzAfterBrokerStop(t *testing.T) {
	b := startBroker(t)
	pool, err := NewPool(Endpoint{Addr: b.Addr(), ConnectTimeout: 2 * time.Second}, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	base := startAPI(t, NewAPI(pool, APIOptions{}))
	if code, ans := do(t, "GET", base+"/healthz", ""); code != http.StatusOK {
		t.Fatalf("while up: status %d (%v), want 200", code, ans)
	}
	if err := b.Stop(); err != nil {
		t.Fatalf("broker Stop: %v", err)
	}
	code, ans := do(t, "GET", base+"/healthz", "")
	if code != http.StatusServiceUnavailable || ans["status"] != "unavailable" {
		t.Errorf("after broker Stop: status %d (%v), want 503 unavailable", code, ans)
	}
}

func TestParseFaktoryURL(t *testing.T) {
	t.Setenv("FAKTORY_PASSWORD", "fromenv")
	const form = "tcp://host:port or tcp+tls://[:password@]host:port"
	for _, tc := range []struct {
		raw  string
		want Endpoint
		err  string // substring; "" = success
	}{
		{raw: "tcp://localhost:7419", want: Endpoint{Addr: "localhost:7419", ServerName: "localhost", Password: "fromenv"}},
		{raw: "tcp+tls://:secret@faktory.example:7420", want: Endpoint{Addr: "faktory.example:7420", TLS: true, ServerName: "faktory.example", Password: "secret"}},
		{raw: "tcp://127.0.0.1:1", want: Endpoint{Addr: "127.0.0.1:1", ServerName: "127.0.0.1", Password: "fromenv"}},
		{raw: "http://localhost:7419", err: `scheme "http"`},
		{raw: "redis://localhost:7419", err: `scheme "redis"`},
		{raw: "tcp://localhost", err: "no port"},
		{raw: "tcp+tls://localhost", err: "no port"},
		{raw: "localhost:7419", err: "invalid Faktory URL"},
		{raw: "", err: "invalid Faktory URL"},
		{raw: "tcp://", err: "invalid Faktory URL"},
		{raw: "::bad", err: "invalid Faktory URL"},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			ep, err := ParseFaktoryURL(tc.raw)
			if tc.err == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if ep != tc.want {
					t.Errorf("got %+v, want %+v", ep, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %+v, want an error", ep)
			}
			if !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), form) {
				t.Errorf("error %q: want it to mention %q and the accepted form %q", err, tc.err, form)
			}
		})
	}
}

func TestParseWork(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Work
		err  string
	}{
		{in: "", want: Work{}},
		{in: "0", want: Work{}},
		{in: "2ms", want: Work{D: 2 * time.Millisecond}},
		{in: "3ms:sleep", want: Work{D: 3 * time.Millisecond}},
		{in: "500us:spin", want: Work{D: 500 * time.Microsecond, Spin: true}},
		{in: "x", err: "want a duration"},
		{in: "-1ms", err: "want a duration"},
		{in: "2", err: "want a duration"},
		{in: "2ms:burn", err: "accepted: sleep, spin"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			w, err := ParseWork(tc.in)
			if tc.err == "" {
				if err != nil || w != tc.want {
					t.Fatalf("got %+v, %v; want %+v", w, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %+v, want an error", w)
			}
			if !strings.Contains(err.Error(), "--work") || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %q: want it to name --work and say %q", err, tc.err)
			}
		})
	}
}

func TestWorkDoTakesItsTime(t *testing.T) {
	for _, w := range []Work{{D: 3 * time.Millisecond}, {D: 3 * time.Millisecond, Spin: true}} {
		start := time.Now()
		w.Do()
		if got := time.Since(start); got < w.D {
			t.Errorf("%+v: Do took %s, less than its duration", w, got)
		}
	}
}

func TestCompute(t *testing.T) {
	args := MathArgs{A: 6, B: 3}
	for typ, want := range map[string]float64{JobAdd: 9, JobSubtract: 3, JobMultiply: 18, JobDivide: 2} {
		if got, err := Compute(typ, args); err != nil || got != want {
			t.Errorf("%s(6,3) = %g, %v; want %g", typ, got, err, want)
		}
	}
	if _, err := Compute(JobDivide, MathArgs{A: 1}); !errors.Is(err, ErrDivideByZero) {
		t.Errorf("divide by 0: error %v, want ErrDivideByZero", err)
	}
	if _, err := Compute("math_pow", args); err == nil || !strings.Contains(err.Error(), "math_pow") {
		t.Errorf("unknown type: error %v, want one naming it", err)
	}
	// Every API short name maps to a type Compute knows.
	for op, typ := range Operations {
		if !strings.Contains(OperationNames, op) {
			t.Errorf("OperationNames %q lacks %q", OperationNames, op)
		}
		if _, err := Compute(typ, args); err != nil {
			t.Errorf("%s → %s: %v", op, typ, err)
		}
	}
}

func TestNewJobRoundTrip(t *testing.T) {
	j := NewJob(JobAdd, MathArgs{A: 1.5, B: 2, RequestID: "rid"}, "run-1", "", 1)
	if j.Queue != DefaultQueue || j.ReserveFor != ReserveFor || j.Retry == nil || *j.Retry != 1 {
		t.Errorf("job %+v: want queue %s, reserve_for %d, retry 1", j, DefaultQueue, ReserveFor)
	}
	// Through JSON, as Faktory hands it to a worker.
	data, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	var back faktory.Job
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	a, err := ArgsOf(&back)
	if err != nil || a != (MathArgs{A: 1.5, B: 2, RequestID: "rid"}) {
		t.Errorf("ArgsOf = %+v, %v", a, err)
	}
	if RunOf(&back) != "run-1" {
		t.Errorf("RunOf = %q, want run-1", RunOf(&back))
	}
	if _, err := ArgsOf(faktory.NewJob(JobAdd, 1, 2)); err == nil {
		t.Error("ArgsOf of a two-argument job: want an error")
	}
	if _, err := ArgsOf(faktory.NewJob(JobAdd, map[string]any{"a": "1", "b": 2.0})); err == nil {
		t.Error("ArgsOf with a string a: want an error")
	}
}

func TestPool(t *testing.T) {
	b := startBroker(t)
	if _, err := NewPool(Endpoint{Addr: b.Addr()}, 0); err == nil {
		t.Error("NewPool size 0: want an error")
	}
	p, err := NewPool(Endpoint{Addr: b.Addr()}, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if p.Size() != 2 {
		t.Errorf("Size %d, want 2", p.Size())
	}
	bg, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c1, err := p.Get(bg)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := p.Get(bg)
	if err != nil {
		t.Fatal(err)
	}
	if c1 == c2 {
		t.Fatal("two Gets returned the same connection")
	}

	// A third Get waits: with a short context it ends with the context's error.
	short, cancelShort := context.WithTimeout(bg, 100*time.Millisecond)
	c3, err := p.Get(short)
	cancelShort()
	if !errors.Is(err, context.DeadlineExceeded) || c3 != nil {
		t.Fatalf("third Get on a full pool: %v, %v; want context.DeadlineExceeded", c3, err)
	}

	// A waiting Get is served by the next Put, with that very connection.
	got := make(chan *faktory.Client, 1)
	go func() {
		c, err := p.Get(bg)
		if err != nil {
			t.Errorf("waiting Get: %v", err)
		}
		got <- c
	}()
	p.Put(c1)
	var c4 *faktory.Client
	select {
	case c4 = <-got:
	case <-bg.Done():
		t.Fatal("waiting Get never returned after Put")
	}
	if c4 != c1 {
		t.Error("the waiting Get did not receive the connection that was Put")
	}
	if err := Ping(c4); err != nil {
		t.Errorf("reused connection: %v", err)
	}

	// Discard frees a slot: a new connection can be opened even though none is idle.
	p.Discard(c2)
	short, cancelShort = context.WithTimeout(bg, 5*time.Second)
	c5, err := p.Get(short)
	cancelShort()
	if err != nil {
		t.Fatalf("Get after Discard: %v", err)
	}
	if c5 == c2 {
		t.Error("Get after Discard returned the discarded connection")
	}
	if err := Ping(c5); err != nil {
		t.Errorf("new connection: %v", err)
	}
	// Discarding twice must not free a second slot.
	p.Discard(c2)
	short, cancelShort = context.WithTimeout(bg, 100*time.Millisecond)
	_, err = p.Get(short)
	cancelShort()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get with both slots held after a double Discard: %v, want DeadlineExceeded", err)
	}
	p.Put(c4)
	p.Put(c5)
}

func TestPoolWith(t *testing.T) {
	b := startBroker(t)
	p, err := NewPool(Endpoint{Addr: b.Addr()}, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var first *faktory.Client
	if err := p.With(ctx, func(c *faktory.Client) error { first = c; return Ping(c) }); err != nil {
		t.Fatal(err)
	}
	// A protocol error (-ERR) leaves the connection usable: it goes back to the pool.
	var second *faktory.Client
	pe := &faktory.ProtocolError{}
	err = p.With(ctx, func(c *faktory.Client) error { second = c; return pe })
	if !errors.As(err, &pe) {
		t.Errorf("With returned %v, want the protocol error", err)
	}
	if second != first {
		t.Error("With did not reuse the idle connection")
	}
	// A network error discards it; the slot is free again for a fresh connection.
	boom := errors.New("broken pipe")
	if err := p.With(ctx, func(c *faktory.Client) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("With returned %v, want %v", err, boom)
	}
	var third *faktory.Client
	if err := p.With(ctx, func(c *faktory.Client) error { third = c; return Ping(c) }); err != nil {
		t.Fatalf("With after a discarded connection: %v", err)
	}
	if third == first {
		t.Error("a connection that failed with a network error was handed out again")
	}
	if err := p.Warm(ctx, 5); err != nil {
		t.Errorf("Warm beyond size: %v (want it capped at the pool size)", err)
	}
}

func TestPoolGetAfterClose(t *testing.T) {
	b := startBroker(t)
	p, err := NewPool(Endpoint{Addr: b.Addr()}, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Warm(ctx, 1); err != nil { // one idle connection
		t.Fatal(err)
	}
	p.Close()
	c, err := p.Get(ctx)
	if !errors.Is(err, ErrPoolClosed) {
		t.Errorf("Get after Close = %v, %v; want ErrPoolClosed (the doc says so)", c, err)
	}
}

func TestStartWorkerValidates(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		o    WorkerOptions
		want string
	}{
		{WorkerOptions{Poll: "eager", Concurrency: 1}, "fixed"},
		{WorkerOptions{Concurrency: 0}, "at least 1"},
		{WorkerOptions{Concurrency: 1, PollInterval: -time.Second}, "0 or more"},
	} {
		if w, err := StartWorker(ctx, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("StartWorker(%+v) = %v, %v; want an error mentioning %q", tc.o, w, err, tc.want)
		}
	}
	// Nothing listens there: the start fails, naming the address, instead of hanging.
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := StartWorker(dctx, WorkerOptions{Endpoint: Endpoint{Addr: "127.0.0.1:1", ConnectTimeout: time.Second}, Concurrency: 2})
	if err == nil || !strings.Contains(err.Error(), "start worker") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("StartWorker against a closed port: %v, want an error naming the worker and the address", err)
	}
}

// Jobs pushed straight to Faktory (no API) are all run exactly once by a worker, and
// Stop returns once the slots' long polls end.
// Every strategy runs each job exactly once, reports it once, and leaves the queue empty.
func TestWorkerRunsEveryJobOnce(t *testing.T) {
	for _, poll := range PollStrategies {
		t.Run(poll, func(t *testing.T) { testWorkerRunsEveryJobOnce(t, poll) })
	}
}

func testWorkerRunsEveryJobOnce(t *testing.T, poll string) {
	b := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := newSink()
	w, err := StartWorker(ctx, WorkerOptions{Endpoint: Endpoint{Addr: b.Addr()}, Poll: poll, Concurrency: 3, PollInterval: 50 * time.Millisecond, Sink: s})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = w.Stop(context.Background())
		}
	})
	c, err := Endpoint{Addr: b.Addr()}.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 30
	jobs := make([]*faktory.Job, n)
	rids := make([]string, n)
	for i := range jobs {
		rids[i] = fmt.Sprintf("w%d", i)
		jobs[i] = NewJob(JobAdd, MathArgs{A: float64(i), B: 1, RequestID: rids[i]}, "", "", 0)
	}
	if rejected, err := c.PushBulk(jobs); err != nil || len(rejected) != 0 {
		t.Fatalf("PUSHB: %v %v", rejected, err)
	}
	got := s.wait(t, 15*time.Second, rids...)
	for i, rid := range rids {
		if got[rid].Result != float64(i+1) || got[rid].AckErr != nil {
			t.Errorf("%s: %+v", rid, got[rid])
		}
	}
	if err := w.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	stopped = true
	if w.Busy() != 0 || w.Held() != 0 {
		t.Errorf("Busy %d, Held %d after Stop: every job was reported", w.Busy(), w.Held())
	}
	// After Stop every slot has returned, so nothing else can arrive: no job ran twice.
	close(s.ch)
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.ch {
		s.seen[c.RequestID] = append(s.seen[c.RequestID], c)
	}
	for _, rid := range rids {
		if k := len(s.seen[rid]); k != 1 {
			t.Errorf("%s completed %d times, want 1", rid, k)
		}
	}
	// ACKed jobs are gone from Faktory: the queue is empty.
	info, err := c.Info()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(info["faktory"])
	var fk struct {
		Queues map[string]int `json:"queues"`
	}
	_ = json.Unmarshal(raw, &fk)
	if fk.Queues[DefaultQueue] != 0 {
		t.Errorf("queue %s holds %d jobs after all completed: %s", DefaultQueue, fk.Queues[DefaultQueue], raw)
	}
	if !bytes.Contains(raw, []byte("queues")) {
		t.Errorf("INFO has no queue sizes: %s", raw)
	}
}

// gateSink holds each completion until released: the job is then started and not yet
// reported.
type gateSink struct {
	entered chan struct{}
	release chan struct{}
}

func (g gateSink) Complete(Completion) {
	g.entered <- struct{}{}
	<-g.release
}

// Held counts a job from its start until its completion has been reported, so a run can
// tell Faktory's reserved jobs from lost ones.
func TestWorkerHeldUntilReported(t *testing.T) {
	b := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	g := gateSink{entered: make(chan struct{}), release: make(chan struct{})}
	w, err := StartWorker(ctx, WorkerOptions{Endpoint: Endpoint{Addr: b.Addr()}, Poll: PollFixed, Concurrency: 1, PollInterval: 50 * time.Millisecond, Sink: g})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Endpoint{Addr: b.Addr()}.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Push(NewJob(JobAdd, MathArgs{A: 1, B: 1, RequestID: "held"}, "", "", 0)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-g.entered:
	case <-ctx.Done():
		t.Fatal("the job never reached the sink")
	}
	if w.Held() != 1 {
		t.Errorf("Held %d while the completion is being reported, want 1", w.Held())
	}
	close(g.release)
	if err := w.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if w.Held() != 0 {
		t.Errorf("Held %d after the completion was reported, want 0", w.Held())
	}
}

// A port that accepts but never says HI must not hang a dial: the handshake is bounded by
// the connect timeout, and by the caller's context.
func TestDialSilentServerIsBounded(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c // held open, silent
		}
	}()
	defer func() {
		for len(accepted) > 0 {
			(<-accepted).Close()
		}
	}()
	ep := Endpoint{Addr: l.Addr().String(), ConnectTimeout: 200 * time.Millisecond}
	if _, err := ep.Dial(context.Background()); err == nil {
		t.Fatal("dial to a silent server succeeded")
	}
	ep.ConnectTimeout = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-accepted; cancel() }()
	if _, err := ep.Dial(ctx); err == nil {
		t.Fatal("dial to a silent server succeeded after cancel")
	}
}

func TestTunedSlots(t *testing.T) {
	for _, tc := range []struct {
		rate      float64
		rtt, work time.Duration
		want      int
	}{
		{1000, 100 * time.Millisecond, 0, 127},                     // 1000 × 0.101 s × 1.25
		{10, 100 * time.Millisecond, 0, 2},                         // 10 × 0.101 × 1.25 = 1.26
		{1000, 100 * time.Millisecond, 10 * time.Millisecond, 139}, // work holds the slot too
		{0, 100 * time.Millisecond, 0, 1},                          // never fewer than one slot
		{1e6, time.Second, 0, MaxTunedSlots},                       // capped
	} {
		got, why := TunedSlots(tc.rate, tc.rtt, tc.work)
		if got != tc.want || !strings.Contains(why, fmt.Sprintf("%d slots", got)) {
			t.Errorf("TunedSlots(%g, %s, %s) = %d (%s), want %d", tc.rate, tc.rtt, tc.work, got, why, tc.want)
		}
	}
}

// Async mode: 202 before Faktory has the job, and stopping the API with jobs still
// buffered (a flush interval far longer than the test) loses none of them.
func TestAPIAsyncStopFlushesBuffer(t *testing.T) {
	b := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := testPool(t, b, 2)
	api := NewAPI(pool, APIOptions{Mode: EnqueueAsync, FlushInterval: time.Hour, MaxBatch: 100, BufferSize: 100})
	if err := api.Start(""); err != nil {
		t.Fatal(err)
	}
	const n = 10
	for i := range n {
		resp, err := http.Post("http://"+api.Addr()+"/jobs/add", "application/json", strings.NewReader(fmt.Sprintf(`{"a":%d,"b":1,"request_id":"async-%d"}`, i, i)))
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted || body["durable"] != false {
			t.Fatalf("POST: %s %v, want 202 with durable false", resp.Status, body)
		}
	}
	if s := api.AsyncStats(); s.Flushed != 0 {
		t.Fatalf("flushed %d before Stop with an hour's flush interval", s.Flushed)
	}
	if err := api.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	s := api.AsyncStats()
	if s.Flushed != n || s.Lost != 0 || s.Refused != 0 {
		t.Fatalf("after Stop: %+v, want %d flushed, none lost", s, n)
	}
	c, err := Endpoint{Addr: b.Addr()}.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sizes, err := c.QueueSizes()
	if err != nil {
		t.Fatal(err)
	}
	if sizes[DefaultQueue] != n {
		t.Errorf("queue %s holds %d jobs, want %d", DefaultQueue, sizes[DefaultQueue], n)
	}
}

// A full async buffer answers 503 with Retry-After instead of growing without bound.
func TestAPIAsyncFullBuffer(t *testing.T) {
	b := startBroker(t)
	pool := testPool(t, b, 1)
	api := NewAPI(pool, APIOptions{Mode: EnqueueAsync, FlushInterval: time.Hour, MaxBatch: 5, BufferSize: 5})
	defer api.Stop(context.Background())
	h := api.Handler()
	post := func(body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/jobs/batch", strings.NewReader(body)))
		return rec
	}
	four := `{"jobs":[{"type":"add","a":1,"b":1},{"type":"add","a":1,"b":1},{"type":"add","a":1,"b":1},{"type":"add","a":1,"b":1}]}`
	if rec := post(four); rec.Code != http.StatusAccepted {
		t.Fatalf("first batch: %d %s", rec.Code, rec.Body)
	}
	// 4 buffered jobs are below a batch (5), so with an hour's interval nothing flushes:
	// 4 more do not fit.
	rec := post(four)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "buffer full") {
		t.Errorf("second batch: %d %v %s, want 503 with Retry-After and the reason", rec.Code, rec.Header(), rec.Body)
	}
	if rec := post(`{"jobs":[{"type":"add","a":1,"b":1}]}`); rec.Code != http.StatusAccepted {
		t.Errorf("a batch that fits: %d %s, want 202", rec.Code, rec.Body)
	}
}

// GET /jobs/{request_id} answers a finished job's result; gzip bodies are accepted and
// gzip answers given to clients that ask; /metrics shows the pool and enqueue series.
func TestAPIResultsGzipMetrics(t *testing.T) {
	b := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	results := NewResultStore(100)
	s := newSink()
	w, err := StartWorker(ctx, WorkerOptions{Endpoint: Endpoint{Addr: b.Addr()}, Concurrency: 2, PollInterval: 50 * time.Millisecond, Sink: Sinks{s, results}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop(ctx)
	pool := testPool(t, b, 3)
	api := NewAPI(pool, APIOptions{Results: results})
	if err := api.Start(""); err != nil {
		t.Fatal(err)
	}
	defer api.Stop(ctx)
	base := "http://" + api.Addr()

	// A gzip-compressed batch.
	var zbody bytes.Buffer
	zw := gzip.NewWriter(&zbody)
	_, _ = zw.Write([]byte(`{"jobs":[{"type":"multiply","a":6,"b":7,"request_id":"gz-1"},{"type":"divide","a":1,"b":0,"request_id":"gz-2"}]}`))
	_ = zw.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/jobs/batch", &zbody)
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("gzip batch: %s", resp.Status)
	}
	s.wait(t, 15*time.Second, "gz-1", "gz-2")

	get := func(rid string) JobResult {
		t.Helper()
		resp, err := http.Get(base + "/jobs/" + rid)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r JobResult
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /jobs/%s: %s %v", rid, resp.Status, err)
		}
		return r
	}
	if r := get("gz-1"); r.Status != StatusDone || r.Result == nil || *r.Result != 42 {
		t.Errorf("gz-1: %+v, want done with 42", r)
	}
	if r := get("gz-2"); r.Status != StatusFailed || !strings.Contains(r.Error, "division by zero") {
		t.Errorf("gz-2: %+v, want failed with division by zero", r)
	}
	if resp, err := http.Get(base + "/jobs/nope"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown request id: %v %v, want 404", resp.Status, err)
	}

	// A body that says gzip but is not.
	req, _ = http.NewRequest(http.MethodPost, base+"/jobs/add", strings.NewReader(`{"a":1,"b":2}`))
	req.Header.Set("Content-Encoding", "gzip")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("non-gzip body labelled gzip: %v %v, want 400", resp.Status, err)
	}

	// Metrics, asked for compressed.
	req, _ = http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err = (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("/metrics with Accept-Encoding gzip: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(zr)
	for _, series := range []string{
		"wfbench_faktory_pool_in_use", "wfbench_faktory_pool_idle", "wfbench_faktory_pool_size 3",
		"wfbench_faktory_pool_wait_seconds_count", `wfbench_api_enqueue_duration_seconds_count{command="PUSHB"} 1`,
		`wfbench_api_jobs_total{outcome="enqueued"} 2`,
	} {
		if !bytes.Contains(text, []byte(series)) {
			t.Errorf("/metrics lacks %q", series)
		}
	}
}

// With Faktory gone the API answers 503 (and soon fails fast, circuit open) instead of
// hanging; when Faktory is back at the same address it recovers by itself.
func TestAPICircuitBreaker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b1, err := StartBroker(ctx, BrokerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	addr := b1.Addr()
	pool, err := NewPool(Endpoint{Addr: addr, ConnectTimeout: time.Second}, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	api := NewAPI(pool, APIOptions{})
	h := api.Handler()
	post := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/jobs/add", strings.NewReader(`{"a":1,"b":2}`)))
		return rec
	}
	if rec := post(); rec.Code != http.StatusAccepted {
		t.Fatalf("with Faktory up: %d %s", rec.Code, rec.Body)
	}
	if err := b1.Stop(); err != nil {
		t.Fatal(err)
	}
	for range failThreshold + 1 {
		if rec := post(); rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("with Faktory down: %d %s, want 503", rec.Code, rec.Body)
		}
	}
	rec := post()
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "circuit open") || !pool.CircuitOpen() {
		t.Fatalf("after %d failures: %d %s, want 503 failing fast (circuit open)", failThreshold, rec.Code, rec.Body)
	}
	b2, err := StartBroker(ctx, BrokerOptions{Bind: addr})
	if err != nil {
		t.Fatalf("restart Faktory on %s: %v", addr, err)
	}
	defer b2.Stop()
	for {
		rec := post()
		if rec.Code == http.StatusAccepted {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("API did not recover after Faktory came back: %d %s", rec.Code, rec.Body)
		}
		time.Sleep(50 * time.Millisecond) // a client retrying; the breaker probes on its own schedule
	}
	if pool.CircuitOpen() {
		t.Error("circuit still open after a successful request")
	}
}

// A worker in another process: its completions cross HTTP to the API's POST
// /completions, reaching the API's result store and completion sink.
func TestRemoteCompletions(t *testing.T) {
	b := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := testPool(t, b, 2)
	results, arrived := NewResultStore(10), newSink()
	api := NewAPI(pool, APIOptions{Results: results, Completions: arrived})
	if err := api.Start(""); err != nil {
		t.Fatal(err)
	}
	defer api.Stop(ctx)
	remote := NewHTTPSink("http://" + api.Addr() + "/completions")
	w, err := StartWorker(ctx, WorkerOptions{Endpoint: Endpoint{Addr: b.Addr()}, Concurrency: 2, PollInterval: 50 * time.Millisecond, Sink: remote})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+api.Addr()+"/jobs/subtract", "application/json", strings.NewReader(`{"a":50,"b":8,"request_id":"far-1"}`))
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: %v %v", resp, err)
	}
	resp.Body.Close()
	got := arrived.wait(t, 15*time.Second, "far-1")["far-1"]
	if got.Result != 42 || got.Started.IsZero() || got.Finished.Before(got.Started) {
		t.Errorf("completion over HTTP: %+v", got)
	}
	if r, ok := results.Get("far-1"); !ok || r.Status != StatusDone || *r.Result != 42 {
		t.Errorf("result store: %+v %v", r, ok)
	}
	if err := w.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := remote.Close(ctx); err != nil {
		t.Errorf("sink close: %v", err)
	}
}

// testPool is a pool of size connections to b, closed when the test ends.
func testPool(t *testing.T, b *Broker, size int) *Pool {
	t.Helper()
	pool, err := NewPool(Endpoint{Addr: b.Addr()}, size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// X-Wfbench-Queue puts a request's jobs on that queue (a run's own, against a running
// API); a name outside wfbench's prefix or alphabet is refused with the accepted form.
func TestAPIQueueHeader(t *testing.T) {
	b := startBroker(t)
	pool := testPool(t, b, 1)
	api := NewAPI(pool, APIOptions{})
	defer api.Stop(context.Background())
	h := api.Handler()
	post := func(path, body, queue string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		if queue != "" {
			req.Header.Set(HeaderQueue, queue)
		}
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := post("/jobs/add", `{"a":1,"b":2}`, "wfbench-run-1"); rec.Code != http.StatusAccepted {
		t.Fatalf("one job: %d %s", rec.Code, rec.Body)
	}
	if rec := post("/jobs/batch", `{"jobs":[{"type":"add","a":1,"b":1},{"type":"add","a":1,"b":1}]}`, "wfbench-run-1"); rec.Code != http.StatusAccepted {
		t.Fatalf("batch: %d %s", rec.Code, rec.Body)
	}
	if rec := post("/jobs/add", `{"a":1,"b":2}`, ""); rec.Code != http.StatusAccepted {
		t.Fatalf("no header: %d %s", rec.Code, rec.Body)
	}
	for _, bad := range []string{"default", "critical", "wfbench-a b", "wfbench-" + strings.Repeat("x", 60)} {
		if rec := post("/jobs/add", `{"a":1,"b":2}`, bad); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "accepted is") {
			t.Errorf("queue %q: %d %s, want 400 with the accepted form", bad, rec.Code, rec.Body)
		}
	}
	state := brokerState(t, b)
	if got := state.Data.Queues["wfbench-run-1"]; got != 3 {
		t.Errorf("queue wfbench-run-1 holds %d jobs, want 3", got)
	}
	if got := state.Data.Queues[DefaultQueue]; got != 1 {
		t.Errorf("the API's own queue holds %d jobs, want 1", got)
	}
}
