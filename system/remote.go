package system

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// wireCompletion is a Completion as it crosses the network. Times are wall-clock
// (RFC 3339, ns): across processes there is no shared monotonic clock, so latencies
// computed from them assume the machines' clocks agree (they do on one machine).
type wireCompletion struct {
	Jid       string    `json:"jid"`
	Type      string    `json:"type"`
	RequestID string    `json:"request_id"`
	Run       string    `json:"run,omitempty"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	Result    float64   `json:"result"`
	Err       string    `json:"error,omitempty"`
	AckErr    string    `json:"ack_error,omitempty"`
}

func toWire(c Completion) wireCompletion {
	w := wireCompletion{Jid: c.Jid, Type: c.Type, RequestID: c.RequestID, Run: c.Run, Started: c.Started, Finished: c.Finished, Result: c.Result}
	if c.Err != nil {
		w.Err = c.Err.Error()
	}
	if c.AckErr != nil {
		w.AckErr = c.AckErr.Error()
	}
	return w
}

func (w wireCompletion) completion() Completion {
	c := Completion{Jid: w.Jid, Type: w.Type, RequestID: w.RequestID, Run: w.Run, Started: w.Started, Finished: w.Finished, Result: w.Result}
	if w.Err != "" {
		c.Err = errors.New(w.Err)
	}
	if w.AckErr != "" {
		c.AckErr = errors.New(w.AckErr)
	}
	return c
}

// HTTPSink sends a worker's completions to a collector over HTTP (the API's
// POST /completions, when the worker runs as its own process), in chunks of at most
// MaxCompletionsPerPost completions and maxChunkBytes, every 50 ms or as soon as a
// chunk's worth is waiting.
//
// A chunk that fails with a network error, a 5xx, 408 or 429 stays first in line and
// is retried with backoff. 413 halves the chunk (the collector's limit may be below
// ours), down to one completion. Any other 4xx, or 413 for a single completion, would
// be answered the same way forever: that chunk is dropped, counted, and reported by
// Close and Stats.
//
// The backlog is bounded (MaxBacklog). When it is full, Complete blocks. The worker's
// slot waits there, so it fetches no new job while the collector cannot take the
// results of finished ones. Those jobs stay in Faktory, durable, instead of their
// completions piling up in this process's memory or being dropped. Close releases
// anything blocked; completions it could not send are counted.
type HTTPSink struct {
	url, token string
	name       string // HeaderWorker
	hc         *http.Client
	clock      ClockSample // the collector's clock minus ours; run's goroutine only
	clockOK    bool
	maxBacklog int
	ctx        context.Context // POSTs; cancelled when Close's deadline ends
	cancel     context.CancelFunc

	mu      sync.Mutex
	space   *sync.Cond // the backlog shrank, or the sink shut
	pending []wireCompletion
	shut    bool // run has exited: nothing more is sent
	sent    int
	dropped map[string]int // completions not sent, by reason

	kick, stop, abort, done chan struct{}
	stopOnce, abortOnce     sync.Once
}

// HTTPSinkOptions configures NewHTTPSinkWith.
type HTTPSinkOptions struct {
	Token string // sent as Authorization: Bearer, for an API with API_TOKEN
	Name  string // the worker's name, sent with every POST (HeaderWorker)
	// MaxBacklog bounds the completions waiting to be sent (0: DefaultSinkBacklog);
	// Complete blocks while it is full.
	MaxBacklog int
}

// DefaultSinkBacklog is an HTTPSink's backlog bound: ten full chunks, ~2.5 MB.
const DefaultSinkBacklog = 10 * MaxCompletionsPerPost

// maxChunkBytes bounds one POST's body, well below the API's 8 MiB limit.
const maxChunkBytes = 1 << 20

// SinkStats are what an HTTPSink did.
type SinkStats struct {
	Sent    int // completions the collector took
	Dropped int // completions refused for good, or unsent when Close's deadline ended
	Backlog int // completions waiting now
}

// NewHTTPSink posts completions to url.
func NewHTTPSink(url string) *HTTPSink { return NewHTTPSinkWith(url, HTTPSinkOptions{}) }

// NewHTTPSinkWith posts completions to url as o says.
func NewHTTPSinkWith(url string, o HTTPSinkOptions) *HTTPSink {
	s := &HTTPSink{url: url, token: o.Token, name: o.Name, hc: &http.Client{Timeout: 10 * time.Second},
		maxBacklog: cmp.Or(o.MaxBacklog, DefaultSinkBacklog), dropped: map[string]int{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), abort: make(chan struct{}), done: make(chan struct{})}
	s.space = sync.NewCond(&s.mu)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.run()
	return s
}

// Complete queues c for sending; it waits while the backlog is full.
func (s *HTTPSink) Complete(c Completion) {
	w := toWire(c)
	s.mu.Lock()
	for len(s.pending) >= s.maxBacklog && !s.shut {
		s.space.Wait()
	}
	if s.shut {
		s.dropped["the sink was closed before it could be sent"]++
		s.mu.Unlock()
		return
	}
	s.pending = append(s.pending, w)
	ready := len(s.pending) >= MaxCompletionsPerPost
	s.mu.Unlock()
	if ready {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// Stats reports what the sink did so far.
func (s *HTTPSink) Stats() SinkStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := SinkStats{Sent: s.sent, Backlog: len(s.pending)}
	for _, n := range s.dropped {
		st.Dropped += n
	}
	return st
}

func (s *HTTPSink) run() {
	defer s.finish()
	s.syncClock()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	b := newBackoff()
	limit := MaxCompletionsPerPost // lowered by 413s, raised again by successes
	stopping := false
	for {
		select {
		case <-tick.C:
		case <-s.kick:
		case <-s.stop:
			stopping = true
		case <-s.abort:
			return
		}
		for {
			n, body := s.nextChunk(limit)
			if n == 0 {
				break
			}
			err := s.post(body)
			var se *statusError
			switch {
			case err == nil:
				s.taken(n, "")
				b.reset()
				limit = min(2*limit, MaxCompletionsPerPost)
			case errors.As(err, &se) && se.code == http.StatusRequestEntityTooLarge && n > 1:
				limit = n / 2
			case errors.As(err, &se) && !se.retryable():
				s.taken(n, "refused: "+se.status)
			default:
				select {
				case <-time.After(b.next()):
				case <-s.abort:
					return
				}
			}
		}
		if stopping {
			return // everything was sent
		}
	}
}

// nextChunk encodes the first completions waiting, at most limit of them and
// maxChunkBytes (but at least one), and returns how many it took. They stay in the
// backlog until taken: only run removes from its front.
func (s *HTTPSink) nextChunk(limit int) (int, []byte) {
	s.mu.Lock()
	head := append([]wireCompletion(nil), s.pending[:min(limit, len(s.pending))]...)
	s.mu.Unlock()
	if len(head) == 0 {
		return 0, nil
	}
	body := append(make([]byte, 0, 64<<10), `{"completions":[`...)
	n := 0
	for _, w := range head {
		item, _ := json.Marshal(w)
		if n > 0 && len(body)+len(item)+2 > maxChunkBytes {
			break
		}
		if n > 0 {
			body = append(body, ',')
		}
		body = append(body, item...)
		n++
	}
	return n, append(body, "]}"...)
}

// taken removes the first n completions: sent, or (reason given) dropped.
func (s *HTTPSink) taken(n int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = s.pending[n:]
	if reason == "" {
		s.sent += n
	} else {
		s.dropped[reason] += n
	}
	s.space.Broadcast()
}

// finish counts what was never sent and releases every blocked Complete.
func (s *HTTPSink) finish() {
	s.mu.Lock()
	if len(s.pending) > 0 {
		s.dropped["not sent before Close's deadline"] += len(s.pending)
		s.pending = nil
	}
	s.shut = true
	s.space.Broadcast()
	s.mu.Unlock()
	close(s.done)
}

// clockExchanges is how many empty POSTs a sink sends at start to measure its clock's
// offset to the collector's before the first completion goes out.
const clockExchanges = 5

// syncClock measures the offset to the collector's clock with a few empty POSTs (every
// later POST refines it); a collector that does not answer yet, or sends no clock,
// leaves it to the first completions' POSTs.
func (s *HTTPSink) syncClock() {
	for range clockExchanges {
		if s.post([]byte(`{"completions":[]}`)) != nil {
			return
		}
		select {
		case <-s.abort:
			return
		default:
		}
	}
}

// observeClock keeps the offset of the exchange with the shortest round trip: the
// collector read its clock somewhere between our t0 and t1, most likely half-way.
func (s *HTTPSink) observeClock(h string, t0, t1 time.Time) {
	ns, err := strconv.ParseInt(h, 10, 64)
	if err != nil {
		return
	}
	rtt := t1.Sub(t0)
	if s.clockOK && rtt >= s.clock.RTT {
		return
	}
	mid := t0.UnixNano() + int64(rtt/2)
	s.clock, s.clockOK = ClockSample{Offset: time.Duration(ns - mid), RTT: rtt}, true
}

// statusError is a collector's answer other than 2xx.
type statusError struct {
	code   int
	status string
}

func (e *statusError) Error() string { return e.status }

// retryable: the collector is unavailable or asks to come back, not refusing the body.
func (e *statusError) retryable() bool {
	return e.code >= 500 || e.code == http.StatusRequestTimeout || e.code == http.StatusTooManyRequests
}

func (s *HTTPSink) post(body []byte) error {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("POST %s: %w", s.url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	if s.name != "" {
		req.Header.Set(HeaderWorker, s.name)
	}
	if s.clockOK {
		req.Header.Set(HeaderClockOffset, s.clock.header())
	}
	t0 := time.Now()
	resp, err := s.hc.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", s.url, err)
	}
	s.observeClock(resp.Header.Get(HeaderClock), t0, time.Now())
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %w", s.url, &statusError{resp.StatusCode, resp.Status})
	}
	return nil
}

// Close sends what is queued, retrying until ctx ends, then stops; it reports the
// completions that could not be sent, and why.
func (s *HTTPSink) Close(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stop) })
	select {
	case <-s.done:
	case <-ctx.Done():
		s.abortOnce.Do(func() { close(s.abort); s.cancel() })
		<-s.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	total, reasons := 0, make([]string, 0, len(s.dropped))
	for why, n := range s.dropped {
		total += n
		reasons = append(reasons, fmt.Sprintf("%d %s", n, why))
	}
	if total == 0 {
		return nil
	}
	slices.Sort(reasons)
	noun := "completions"
	if total == 1 {
		noun = "completion"
	}
	return fmt.Errorf("completion sink: %d %s could not be sent to %s (%s)", total, noun, s.url, strings.Join(reasons, "; "))
}

// MaxCompletionsPerPost bounds the completions one POST /completions may carry (413
// past it): the list is decoded item by item, and memory stays bounded.
const MaxCompletionsPerPost = 1000

// completionsHandler is POST /completions: completions from workers in other processes,
// fed to the result store and to the API's completion sink, if any.
func (a *API) completions(w http.ResponseWriter, r *http.Request) {
	list, ok := decodeList[wireCompletion](a, w, r, "completions", MaxCompletionsPerPost, func(n int) string {
		return fmt.Sprintf("reading stopped at completion %d: send at most %d per POST", n, MaxCompletionsPerPost)
	})
	if !ok {
		return
	}
	for _, wc := range list {
		c := wc.completion()
		if a.results != nil {
			a.results.Complete(c)
		}
		if a.sink != nil {
			a.sink.Complete(c)
		}
	}
	stampClock(w, time.Now())
	w.WriteHeader(http.StatusNoContent)
}
