package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
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
	conns  *httpConns
	header []string // name, value pairs every call sends
	gzip   bool     // gzip request bodies and accept gzip answers
}

// newAPITarget sends to base (http://host:port) over at most conns connections; queue,
// when set, is the run's own queue on a running API (HeaderQueue).
func newAPITarget(base, run, queue string, conns int, gzip bool) *apiTarget {
	t := &apiTarget{conns: newHTTPConns(strings.TrimPrefix(base, "http://"), conns), gzip: gzip,
		header: []string{"Content-Type", "application/json", system.HeaderRun, run}}
	if queue != "" {
		t.header = append(t.header, system.HeaderQueue, queue)
	}
	if gzip {
		t.header = append(t.header, "Content-Encoding", "gzip")
	}
	return t
}

// gzipBody compresses a request body (the API accepts Content-Encoding: gzip).
func gzipBody(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// jobBody is one job's request body: {"a":A,"b":B,"request_id":"R"} (request ids are
// the run's own, of letters, digits and '-': nothing to escape).
func jobBody(b []byte, a system.MathArgs) []byte {
	b = append(b, `{"a":`...)
	b = strconv.AppendFloat(b, a.A, 'g', -1, 64)
	b = append(b, `,"b":`...)
	b = strconv.AppendFloat(b, a.B, 'g', -1, 64)
	b = append(b, `,"request_id":"`...)
	b = append(b, a.RequestID...)
	return append(b, `"}`...)
}

func (t *apiTarget) enqueue(ctx context.Context, c call) ([]string, []string, error) {
	var path string
	var body []byte
	if len(c.args) == 1 {
		path = "/jobs/" + c.types[0]
		body = jobBody(make([]byte, 0, 96), c.args[0])
	} else {
		path = "/jobs/batch"
		body = append(make([]byte, 0, 16+len(c.args)*96), `{"jobs":[`...)
		for i, a := range c.args {
			if i > 0 {
				body = append(body, ',')
			}
			body = append(body, `{"type":"`+c.types[i]+`",`...)
			body = append(body, jobBody(nil, a)[1:]...)
		}
		body = append(body, "]}"...)
	}
	if t.gzip {
		body = gzipBody(body)
	}
	ans, err := t.conns.do(ctx, http.MethodPost, path, t.header, body, t.gzip)
	if err != nil {
		return nil, nil, fmt.Errorf("POST %s (%d jobs): %w", path, len(c.args), err)
	}
	if ans.status != http.StatusAccepted {
		return nil, nil, fmt.Errorf("POST %s: %d %s: %s", path, ans.status, http.StatusText(ans.status), bytes.TrimSpace(ans.body))
	}
	if len(c.args) == 1 {
		return c.rids(), nil, nil
	}
	var res struct {
		RequestIDs []string          `json:"request_ids"`
		Rejected   map[string]string `json:"rejected"`
	}
	if err := json.Unmarshal(ans.body, &res); err != nil {
		return nil, nil, fmt.Errorf("POST %s: parse answer: %w", path, err)
	}
	return res.RequestIDs, slices.Collect(maps.Keys(res.Rejected)), nil
}

// warm opens n connections with a request each, so the load does not pay their dials.
func (t *apiTarget) warm(ctx context.Context, n int) error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	conns := make(chan *httpConn, n)
	for range n {
		wg.Go(func() {
			c, err := t.conns.get(ctx)
			if err == nil {
				var ans answer
				stop := context.AfterFunc(ctx, func() { _ = c.c.SetDeadline(time.Unix(1, 0)) })
				ans, _, err = c.roundTrip(http.MethodGet, t.conns.addr, "/ping", nil, nil, false)
				if !stop() && err == nil {
					err = ctx.Err() // the deadline is now in the past: not reusable
				}
				if err == nil && ans.status >= 300 {
					err = fmt.Errorf("GET /ping: %d", ans.status)
				}
				if err != nil {
					t.conns.drop(c)
				} else {
					conns <- c
				}
			}
			if err != nil {
				errs <- fmt.Errorf("warm API connection: %w", err)
			}
		})
	}
	wg.Wait()
	close(errs)
	close(conns)
	for c := range conns { // back only after all are open: n distinct connections
		t.conns.put(c, true)
	}
	return <-errs
}

func (t *apiTarget) close() { t.conns.close() }

// faktoryTarget pushes straight to Faktory: PUSH for one job, PUSHB for more.
type faktoryTarget struct {
	pool    *system.Pool
	run     string
	queue   string
	retries int // the jobs' (jobRetries)
}

func newFaktoryTarget(ep system.Endpoint, run, queue string, conns, retries int) (*faktoryTarget, error) {
	p, err := system.NewPool(ep, conns)
	if err != nil {
		return nil, err
	}
	return &faktoryTarget{pool: p, run: run, queue: queue, retries: retries}, nil
}

func (t *faktoryTarget) enqueue(ctx context.Context, c call) ([]string, []string, error) {
	jobs := make([]*faktory.Job, len(c.args))
	for i, a := range c.args {
		jobs[i] = system.NewJob(system.Operations[c.types[i]], a, t.run, t.queue, t.retries)
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
