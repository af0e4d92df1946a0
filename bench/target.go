package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	faktory "github.com/contribsys/faktory/client"

	"github.com/wfbench/wfbench/system"
)

// call is one enqueue call's jobs.
type call struct {
	types []string // API short names: add, subtract, ...
	args  []system.MathArgs
}

func (c call) rids() []string {
	out := make([]string, len(c.args))
	for i, a := range c.args {
		out[i] = a.RequestID
	}
	return out
}

// target sends enqueue calls somewhere: the API over HTTP or Faktory directly.
type target interface {
	// enqueue sends one call and returns the request ids accepted and refused.
	enqueue(ctx context.Context, c call) (accepted, rejected []string, err error)
	// warm opens n connections ahead of the measurement.
	warm(ctx context.Context, n int) error
	close()
}

// apiTarget posts to the API: /jobs/{type} for one job, /jobs/batch for more.
type apiTarget struct {
	base  string // http://host:port
	run   string
	queue string // the run's own queue (HeaderQueue), for a running API
	hc   *http.Client
	gzip bool // gzip request bodies and accept gzip answers
}

func newAPITarget(base, run, queue string, conns int, gzip bool) *apiTarget {
	tr := &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		IdleConnTimeout: 5 * time.Minute, DisableCompression: !gzip,
	}
	return &apiTarget{base: base, run: run, queue: queue, hc: &http.Client{Transport: tr}, gzip: gzip}
}

// gzipBody compresses a request body (the API accepts Content-Encoding: gzip).
func gzipBody(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

func (t *apiTarget) enqueue(ctx context.Context, c call) ([]string, []string, error) {
	var path string
	var body []byte
	if len(c.args) == 1 {
		a := c.args[0]
		path = "/jobs/" + c.types[0]
		body, _ = json.Marshal(map[string]any{"a": a.A, "b": a.B, "request_id": a.RequestID})
	} else {
		type item struct {
			Type      string  `json:"type"`
			A         float64 `json:"a"`
			B         float64 `json:"b"`
			RequestID string  `json:"request_id"`
		}
		items := make([]item, len(c.args))
		for i, a := range c.args {
			items[i] = item{c.types[i], a.A, a.B, a.RequestID}
		}
		path = "/jobs/batch"
		body, _ = json.Marshal(map[string]any{"jobs": items})
	}
	if t.gzip {
		body = gzipBody(body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if t.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	req.Header.Set(system.HeaderRun, t.run)
	if t.queue != "" {
		req.Header.Set(system.HeaderQueue, t.queue)
	}
	resp, err := t.hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("POST %s (%d jobs): %w", path, len(c.args), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("POST %s: read answer: %w", path, err)
	}
	if resp.StatusCode != http.StatusAccepted {
		return nil, nil, fmt.Errorf("POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(data))
	}
	if len(c.args) == 1 {
		return c.rids(), nil, nil
	}
	var ans struct {
		RequestIDs []string          `json:"request_ids"`
		Rejected   map[string]string `json:"rejected"`
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return nil, nil, fmt.Errorf("POST %s: parse answer: %w", path, err)
	}
	return ans.RequestIDs, slices.Collect(maps.Keys(ans.Rejected)), nil
}

// warm opens n keep-alive connections by sending n overlapping pings.
func (t *apiTarget) warm(ctx context.Context, n int) error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, t.base+"/ping", nil)
			resp, err := t.hc.Do(req)
			if err != nil {
				errs <- fmt.Errorf("warm API connection: %w", err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func (t *apiTarget) close() { t.hc.CloseIdleConnections() }

// faktoryTarget pushes straight to Faktory: PUSH for one job, PUSHB for more.
type faktoryTarget struct {
	pool  *system.Pool
	run   string
	queue string
}

func newFaktoryTarget(ep system.Endpoint, run, queue string, conns int) (*faktoryTarget, error) {
	p, err := system.NewPool(ep, conns)
	if err != nil {
		return nil, err
	}
	return &faktoryTarget{pool: p, run: run, queue: queue}, nil
}

func (t *faktoryTarget) enqueue(ctx context.Context, c call) ([]string, []string, error) {
	jobs := make([]*faktory.Job, len(c.args))
	for i, a := range c.args {
		jobs[i] = system.NewJob(system.Operations[c.types[i]], a, t.run, t.queue)
	}
	if len(jobs) == 1 {
		err := t.pool.With(ctx, func(cl *faktory.Client) error { return cl.Push(jobs[0]) })
		if err != nil {
			return nil, nil, fmt.Errorf("PUSH: %w", err)
		}
		return c.rids(), nil, nil
	}
	var accepted []string
	var refused map[string]string
	err := t.pool.With(ctx, func(cl *faktory.Client) error {
		var err error
		_, accepted, refused, err = system.PushBatch(cl, jobs, c.rids())
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return accepted, slices.Collect(maps.Keys(refused)), nil
}

func (t *faktoryTarget) warm(ctx context.Context, n int) error { return t.pool.Warm(ctx, n) }

func (t *faktoryTarget) close() { t.pool.Close() }
