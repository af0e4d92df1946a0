package system

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countSink counts the completions it gets, by request id.
type countSink struct {
	mu   sync.Mutex
	seen map[string]int
}

func newCountSink() *countSink { return &countSink{seen: map[string]int{}} }

func (s *countSink) Complete(c Completion) {
	s.mu.Lock()
	s.seen[c.RequestID]++
	s.mu.Unlock()
}

func (s *countSink) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// gate is a real API behind a switch: while down, POST /completions gets 503 (the API
// restarting, say); every POST's answer is counted by status.
type gate struct {
	api      http.Handler
	downFor  atomic.Int64 // POSTs still to refuse
	mu       sync.Mutex
	statuses map[int]int
	maxBody  int64
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) { w.code = code; w.ResponseWriter.WriteHeader(code) }

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
	if r.Method == http.MethodPost && g.downFor.Add(-1) >= 0 {
		writeError(sw, http.StatusServiceUnavailable, "down")
	} else {
		g.api.ServeHTTP(sw, r)
	}
	g.mu.Lock()
	g.statuses[sw.code]++
	g.maxBody = max(g.maxBody, r.ContentLength)
	g.mu.Unlock()
}

func (g *gate) count(code int) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.statuses[code]
}

func (g *gate) posts() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, k := range g.statuses {
		n += k
	}
	return n
}

// startGate serves api behind a gate that refuses the first down POSTs; it returns the
// gate and the URL of its /completions.
func startGate(t *testing.T, api *API, down int) (*gate, string) {
	t.Helper()
	g := &gate{api: api.Handler(), statuses: map[int]int{}}
	g.downFor.Store(int64(down))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: g}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return g, "http://" + l.Addr().String() + "/completions"
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
}

func testCompletion(rid string) Completion {
	now := time.Now()
	return Completion{Jid: "jid-" + rid, Type: JobAdd, RequestID: rid, Run: "run-1", Started: now, Finished: now, Result: 2}
}

// After an outage of the API's /completions, the backlog (here 60000 completions, ~15 MB
// as one JSON body) reaches the API in chunks it accepts: before, the sink sent its
// whole backlog in one POST, which the API refused with 413, and retried it forever.
func TestHTTPSinkBacklogAfterOutage(t *testing.T) {
	b := startBroker(t)
	arrived := newCountSink()
	api := NewAPI(testPool(t, b, 1), APIOptions{Completions: arrived})
	g, url := startGate(t, api, 3)
	s := NewHTTPSink(url)
	const n = 60_000
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for i := range n {
			s.Complete(testCompletion(fmt.Sprintf("o-%d", i)))
		}
	}()
	waitFor(t, 60*time.Second, "not every completion reached the API", func() bool { return arrived.distinct() == n })
	<-fed
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	if k := g.count(http.StatusRequestEntityTooLarge); k > 0 {
		t.Errorf("%d POSTs were too large for the API (413)", k)
	}
	arrived.mu.Lock()
	defer arrived.mu.Unlock()
	for rid, k := range arrived.seen {
		if k != 1 {
			t.Errorf("%s arrived %d times", rid, k)
		}
	}
	t.Logf("%d POSTs, largest %d bytes, %d refused while down", g.posts(), g.maxBody, g.count(http.StatusServiceUnavailable))
}

// A chunk the API refuses for good (a 4xx other than 408 and 429) is not retried: a
// completion too large for the API's body limit even alone is dropped and counted,
// the others around it still arrive; a wrong token (401) is given up on at once. Close
// reports what could not be sent. Before, both were retried forever.
func TestHTTPSinkRefusedNotRetried(t *testing.T) {
	b := startBroker(t)
	t.Run("too large", func(t *testing.T) {
		arrived := newCountSink()
		api := NewAPI(testPool(t, b, 1), APIOptions{Completions: arrived, MaxBody: 4 << 10})
		g, url := startGate(t, api, 0)
		s := NewHTTPSink(url)
		for i := range 50 {
			if i == 25 {
				big := testCompletion("big")
				big.Err = errors.New(strings.Repeat("e", 8<<10))
				s.Complete(big)
			}
			s.Complete(testCompletion(fmt.Sprintf("small-%d", i)))
		}
		waitFor(t, 15*time.Second, "the small completions did not all arrive", func() bool { return arrived.distinct() == 50 })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := s.Close(ctx)
		if err == nil || !strings.Contains(err.Error(), "1 completion") || !strings.Contains(err.Error(), "413") {
			t.Errorf("Close: %v, want 1 completion reported as refused with 413", err)
		}
		if p := g.posts(); p > 30 {
			t.Errorf("%d POSTs for 51 completions: the refused one was retried", p)
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		api := NewAPI(testPool(t, b, 1), APIOptions{Token: testToken})
		g, url := startGate(t, api, 0)
		s := NewHTTPSinkWith(url, HTTPSinkOptions{Token: "not-" + testToken})
		for i := range 10 {
			s.Complete(testCompletion(fmt.Sprintf("tok-%d", i)))
		}
		waitFor(t, 10*time.Second, "no POST reached the API", func() bool { return g.count(http.StatusUnauthorized) >= 1 })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := s.Close(ctx)
		if err == nil || !strings.Contains(err.Error(), "10 completions") || !strings.Contains(err.Error(), "401") {
			t.Errorf("Close: %v, want 10 completions reported as refused with 401", err)
		}
		// One empty clock exchange (the sink's first POST, which stops at the 401), then
		// the chunk's one.
		if p := g.posts(); p != 2 {
			t.Errorf("%d POSTs, want 2: a 401 is not retried", p)
		}
	})
}

// While the collector is down the backlog stops at MaxBacklog and Complete blocks (the
// worker's slot waits rather than memory growing); when it is back everything arrives.
func TestHTTPSinkBackpressure(t *testing.T) {
	b := startBroker(t)
	arrived := newCountSink()
	api := NewAPI(testPool(t, b, 1), APIOptions{Completions: arrived})
	g, url := startGate(t, api, 1<<40)
	const bound, n = 2000, 6000
	s := NewHTTPSinkWith(url, HTTPSinkOptions{MaxBacklog: bound})
	var fed atomic.Int64
	go func() {
		for i := range n {
			s.Complete(testCompletion(fmt.Sprintf("bp-%d", i)))
			fed.Add(1)
		}
	}()
	waitFor(t, 10*time.Second, "the backlog never filled", func() bool { return s.Stats().Backlog == bound })
	refused := g.count(http.StatusServiceUnavailable)
	waitFor(t, 10*time.Second, "the sink stopped retrying", func() bool { return g.count(http.StatusServiceUnavailable) >= refused+2 })
	if f, st := fed.Load(), s.Stats(); f != bound || st.Backlog != bound {
		t.Fatalf("with the collector down: %d fed, backlog %d, want both stopped at %d", f, st.Backlog, bound)
	}
	g.downFor.Store(0)
	waitFor(t, 30*time.Second, "not every completion arrived once the API was back", func() bool { return arrived.distinct() == n })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	if st := s.Stats(); st.Sent != n || st.Dropped != 0 || st.Backlog != 0 {
		t.Errorf("stats %+v, want %d sent, none dropped", st, n)
	}
}

// Close with the collector still down ends at its deadline, releases a Complete blocked
// on the full backlog, and counts every completion it could not send.
func TestHTTPSinkCloseReleasesBlocked(t *testing.T) {
	b := startBroker(t)
	api := NewAPI(testPool(t, b, 1), APIOptions{})
	_, url := startGate(t, api, 1<<40)
	s := NewHTTPSinkWith(url, HTTPSinkOptions{MaxBacklog: 100})
	var fed atomic.Int64
	fedAll := make(chan struct{})
	go func() {
		defer close(fedAll)
		for i := range 300 {
			s.Complete(testCompletion(fmt.Sprintf("cl-%d", i)))
			fed.Add(1)
		}
	}()
	waitFor(t, 10*time.Second, "the backlog never filled", func() bool { return fed.Load() == 100 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Close(ctx)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Close took %s with a 200ms deadline", took)
	}
	select {
	case <-fedAll:
	case <-time.After(10 * time.Second):
		t.Fatal("a Complete blocked on the full backlog was not released by Close")
	}
	// Close reports the backlog it gave up on; the Completes it released, after, count too.
	if st := s.Stats(); err == nil || !strings.Contains(err.Error(), "100 not sent before Close's deadline") || st.Dropped != 300 {
		t.Errorf("Close: %v, stats %+v: want the 100 waiting reported and all 300 counted as not sent", err, st)
	}
}
