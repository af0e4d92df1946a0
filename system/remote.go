package system

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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
// POST /completions, when the worker runs as its own process), in batches: every
// 50 ms or 500 completions. A failed POST is retried with backoff; Close flushes.
type HTTPSink struct {
	url   string
	token string
	hc    *http.Client

	mu      sync.Mutex
	pending []wireCompletion
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	dropped int
}

// HTTPSinkOptions configures NewHTTPSinkWith.
type HTTPSinkOptions struct {
	Token string // sent as Authorization: Bearer, for an API with API_TOKEN
}

// NewHTTPSink posts completions to url.
func NewHTTPSink(url string) *HTTPSink { return NewHTTPSinkWith(url, HTTPSinkOptions{}) }

// NewHTTPSinkWith posts completions to url as o says.
func NewHTTPSinkWith(url string, o HTTPSinkOptions) *HTTPSink {
	s := &HTTPSink{url: url, token: o.Token, hc: &http.Client{Timeout: 10 * time.Second},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

// Complete queues c for the next POST.
func (s *HTTPSink) Complete(c Completion) {
	s.mu.Lock()
	s.pending = append(s.pending, toWire(c))
	full := len(s.pending) >= 500
	s.mu.Unlock()
	if full {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

func (s *HTTPSink) run() {
	defer close(s.done)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	b := newBackoff()
	stopping := false
	for {
		select {
		case <-tick.C:
		case <-s.kick:
		case <-s.stop:
			stopping = true
		}
		s.mu.Lock()
		batch := s.pending
		s.pending = nil
		s.mu.Unlock()
		for len(batch) > 0 {
			if err := s.post(batch); err == nil {
				b.reset()
				break
			}
			if stopping { // one more try at stop, then give up (counted)
				if err := s.post(batch); err != nil {
					s.mu.Lock()
					s.dropped += len(batch)
					s.mu.Unlock()
				}
				break
			}
			select {
			case <-time.After(b.next()):
			case <-s.stop:
				stopping = true
			}
		}
		if stopping {
			s.mu.Lock()
			empty := len(s.pending) == 0
			s.mu.Unlock()
			if empty {
				return
			}
		}
	}
}

func (s *HTTPSink) post(batch []wireCompletion) error {
	body, _ := json.Marshal(map[string]any{"completions": batch})
	req, err := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("POST %s: %w", s.url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s", s.url, resp.Status)
	}
	return nil
}

// Close sends what is queued (bounded by ctx) and reports completions it could not send.
func (s *HTTPSink) Close(ctx context.Context) error {
	s.once.Do(func() { close(s.stop) })
	select {
	case <-s.done:
	case <-ctx.Done():
		return fmt.Errorf("completion sink: %w with completions unsent", ctx.Err())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropped > 0 {
		return fmt.Errorf("completion sink: %d completions could not be sent to %s", s.dropped, s.url)
	}
	return nil
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
	w.WriteHeader(http.StatusNoContent)
}
