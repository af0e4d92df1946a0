package diagnose

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wfbench/wfbench/system"
)

// apiFigures are the API's measured values.
type apiFigures struct {
	enqueue, enqueueP99 time.Duration // POST /jobs/add
	enqueued, failed    int
	healthz, faktoryRTT time.Duration // GET /healthz; the API's own ping of Faktory
	metrics             bool          // /metrics had the reference API's pool series
	poolSize, inUse     float64
	idle                float64
	waitMean            time.Duration // mean wait for a pooled connection (dial included)
	waits               int
	circuitOpen         bool
}

// apiTimeout bounds one API request.
const apiTimeout = 10 * time.Second

// healthzSamples is how many GET /healthz are timed (after one that opens the
// connection): the API's distance from here and its own from Faktory.
const healthzSamples = 3

// measureAPI measures the API: GET /healthz, POST /jobs/add (unless read-only), then
// GET /metrics, so that the pool figures include the enqueues just made.
func (s *session) measureAPI(ctx context.Context) error {
	a := &apiFigures{}
	s.f.api = a
	if err := s.apiHealthz(ctx, a); err != nil {
		return err
	}
	if !s.o.ReadOnly && s.o.APIJobs > 0 {
		if err := s.apiEnqueue(ctx, a); err != nil {
			return err
		}
	}
	return s.apiMetrics(ctx, a)
}

// openAPI makes the API's client and checks that the API answers at all, so that a
// wrong --api-url fails before anything is measured.
func (s *session) openAPI(ctx context.Context) error {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 1
	s.hc = &http.Client{Timeout: apiTimeout, Transport: tr}
	resp, err := s.hc.Do(s.apiRequest(ctx, http.MethodGet, "/healthz", ""))
	if err != nil {
		return s.apiErr(ctx, "cannot reach it", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.Body.Close()
}

// apiRequest is a request to the API at path, with the bearer token if one is set
// (the API's API_TOKEN guards everything but /healthz and /ping).
func (s *session) apiRequest(ctx context.Context, method, path, body string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	// The URL was checked by Validate and the method is a constant: no error to have.
	req, _ := http.NewRequestWithContext(ctx, method, strings.TrimRight(s.o.APIURL, "/")+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if s.o.APIToken != "" {
		req.Header.Set("Authorization", "Bearer "+s.o.APIToken)
	}
	return req
}

// tokenHint says what to do about a 401.
func tokenHint(resp *http.Response) string {
	if resp.StatusCode == http.StatusUnauthorized {
		return " (the API wants a token: --api-token or API_TOKEN)"
	}
	return ""
}

// apiErr is the API's failure, naming its URL.
func (s *session) apiErr(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return &envError{fmt.Sprintf("API at %s: %s", s.d.Target.APIURL, what), err}
}

func (s *session) apiHealthz(ctx context.Context, a *apiFigures) error {
	took, frtt := newSamples(), newSamples()
	_, err := loop(ctx, healthzSamples+1, stageCap(healthzSamples+1, 2, s.rtt), func(i int) error {
		req := s.apiRequest(ctx, http.MethodGet, "/healthz", "")
		t := time.Now()
		resp, err := s.hc.Do(req)
		if err != nil {
			return s.apiErr(ctx, "GET /healthz", err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		d := time.Since(t)
		_ = resp.Body.Close()
		var h struct {
			Status     string  `json:"status"`
			FaktoryRTT float64 `json:"faktory_rtt_ms"`
			Faktory    string  `json:"faktory"`
		}
		_ = json.Unmarshal(body, &h)
		if resp.StatusCode != http.StatusOK {
			if i == 0 {
				s.note("API GET /healthz: %s (%s)", resp.Status, strings.TrimSpace(cmp.Or(h.Faktory, string(body))))
			}
			return nil
		}
		if i > 0 { // the first one paid for the connection
			took.add(d)
			frtt.add(time.Duration(h.FaktoryRTT * float64(time.Millisecond)))
		}
		return nil
	})
	a.healthz, a.faktoryRTT = took.q(50), frtt.q(50)
	s.putMS("api_healthz", a.healthz, took.n())
	s.putMS("api_faktory_rtt", a.faktoryRTT, frtt.n())
	return err
}

// apiEnqueue POSTs single jobs, asking for the session's private queue
// (system.HeaderQueue): the reference API puts them there, to be drained and removed
// with it; an API that ignores the header puts them on its own queue, where its workers
// run them as ordinary math jobs. Each carries the queue's name as its run id too.
func (s *session) apiEnqueue(ctx context.Context, a *apiFigures) error {
	h := newSamples()
	var firstErr string
	_, err := loop(ctx, s.o.APIJobs, stageCap(s.o.APIJobs, 2, s.rtt)+apiTimeout, func(i int) error {
		body := fmt.Sprintf(`{"a":1,"b":2,"request_id":"%s-api-%d"}`, s.queue, i)
		req := s.apiRequest(ctx, http.MethodPost, "/jobs/add", body)
		req.Header.Set(system.HeaderRun, s.queue)
		req.Header.Set(system.HeaderQueue, s.queue)
		s.touched = true // the private queue may now exist: cleanup must look
		t := time.Now()
		resp, err := s.hc.Do(req)
		if err != nil {
			return s.apiErr(ctx, "POST /jobs/add", err)
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<12))
		_ = resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			a.failed++
			if firstErr == "" {
				firstErr = fmt.Sprintf("%s %s%s", resp.Status, bytes.TrimSpace(msg), tokenHint(resp))
			}
			return nil
		}
		h.add(time.Since(t))
		a.enqueued++
		return nil
	})
	a.enqueue, a.enqueueP99 = h.q(50), h.q(99)
	s.putMS("api_enqueue_p50", a.enqueue, h.n())
	s.putMS("api_enqueue_p99", a.enqueueP99, h.n())
	if a.failed > 0 {
		s.put("api_enqueue_failed", "requests", float64(a.failed), a.failed+a.enqueued)
		s.note("API POST /jobs/add failed %d of %d times, e.g. %s", a.failed, a.failed+a.enqueued, firstErr)
	}
	if a.enqueued > 0 {
		s.note("%d POST /jobs/add (add 1+2) asked for the private queue (%s: %s): the reference API puts them there, drained and removed with it; an API that ignores the header puts them on its own queue, where its workers run them",
			a.enqueued, system.HeaderQueue, s.queue)
	}
	return err
}

// apiMetrics reads the pool and circuit series of the reference API's GET /metrics.
func (s *session) apiMetrics(ctx context.Context, a *apiFigures) error {
	resp, err := s.hc.Do(s.apiRequest(ctx, http.MethodGet, "/metrics", ""))
	if err != nil {
		return s.apiErr(ctx, "GET /metrics", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.note("API GET /metrics: %s: pool figures not measured%s", resp.Status, tokenHint(resp))
		return nil
	}
	m := parseProm(io.LimitReader(resp.Body, 8<<20))
	size, ok := m["wfbench_faktory_pool_size"]
	if !ok {
		s.note("API GET /metrics has no wfbench_faktory_pool_* series (not the reference API?): pool figures not measured")
		return nil
	}
	a.metrics, a.poolSize = true, size
	a.inUse, a.idle = m["wfbench_faktory_pool_in_use"], m["wfbench_faktory_pool_idle"]
	a.circuitOpen = m["wfbench_faktory_circuit_open"] == 1
	a.waits = int(m["wfbench_faktory_pool_wait_seconds_count"])
	if a.waits > 0 {
		a.waitMean = time.Duration(m["wfbench_faktory_pool_wait_seconds_sum"] / float64(a.waits) * float64(time.Second))
	}
	s.put("api_pool_size", "connections", a.poolSize, 1)
	s.put("api_pool_in_use", "connections", a.inUse, 1)
	s.put("api_pool_idle", "connections", a.idle, 1)
	if a.waits > 0 {
		s.putMS("api_pool_wait_mean", a.waitMean, a.waits)
	}
	s.put("api_circuit_open", "bool", m["wfbench_faktory_circuit_open"], 1)
	if v, ok := m["wfbench_api_async_buffered_jobs"]; ok {
		s.put("api_async_buffered", "jobs", v, 1)
	}
	return nil
}

// parseProm reads Prometheus' text format into series → value, a series being the
// metric's name with its labels as written (`name{l="v"}`); comments are skipped.
func parseProm(r io.Reader) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		series, rest := line, ""
		if i := strings.LastIndexByte(line, '}'); i >= 0 && strings.IndexByte(line, '{') >= 0 {
			series, rest = line[:i+1], line[i+1:]
		} else if name, after, ok := strings.Cut(line, " "); ok {
			series, rest = name, after
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(fields[0], 64); err == nil {
			out[series] = v
		}
	}
	return out
}

// apiQueueHint explains a changed queue list when the API's enqueues may be the cause.
func (s *session) apiQueueHint() string {
	if s.f.api != nil && s.f.api.enqueued > 0 {
		return "; diagnose's POST /jobs/add went to the API's own queue, which may be new"
	}
	return ""
}
