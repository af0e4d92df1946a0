package system

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	faktory "github.com/contribsys/faktory/client"
)

// HeaderRun carries a benchmark's run id into the jobs the API enqueues.
const HeaderRun = "X-Wfbench-Run"

// HeaderQueue names the Faktory queue a request's jobs go to instead of the API's own:
// a benchmark run against a running API keeps its jobs on its own queue, which only the
// run's workers fetch. Accepted are names that start with "wfbench-" (so it cannot reach
// an application's queues), of letters, digits, '-' and '_', at most 64 bytes.
const HeaderQueue = "X-Wfbench-Queue"

// queueFor is the queue r's jobs go to: HeaderQueue if given and acceptable, else the
// API's own. ok is false (and the 400 written) for an unacceptable header.
func (a *API) queueFor(w http.ResponseWriter, r *http.Request) (string, bool) {
	q := r.Header.Get(HeaderQueue)
	if q == "" {
		return a.Queue, true
	}
	if len(q) > 64 || !strings.HasPrefix(q, "wfbench-") || strings.IndexFunc(q, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_')
	}) >= 0 {
		writeError(w, http.StatusBadRequest, HeaderQueue+": accepted is a queue name starting with wfbench-, of letters, digits, - and _, at most 64 bytes")
		return "", false
	}
	return q, true
}

// maxRunID bounds HeaderRun, which every job of the request carries.
const maxRunID = 64

// runFor is r's run id (HeaderRun, "" if none); ok is false (and the 400 written) when
// it is not at most maxRunID visible ASCII characters.
func runFor(w http.ResponseWriter, r *http.Request) (string, bool) {
	run := r.Header.Get(HeaderRun)
	if run != "" && !visibleASCII(run, maxRunID) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%s: accepted is 1 to %d visible ASCII characters (letters, digits, punctuation; no spaces), got %d bytes", HeaderRun, maxRunID, len(run)))
		return "", false
	}
	return run, true
}

// maxRequestID bounds a request id: it is stored with its job (in Faktory and the
// result store), echoed in answers and used in GET paths.
const maxRequestID = 128

// requestIDForm is the accepted form of a request id, for 400s.
var requestIDForm = fmt.Sprintf("request_id: accepted is 1 to %d visible ASCII characters (letters, digits, punctuation; no spaces)", maxRequestID)

// visibleASCII reports whether s is 1 to limit bytes, each a visible ASCII character:
// ids that end up in logs, URLs and headers need no escaping.
func visibleASCII(s string, limit int) bool {
	if len(s) == 0 || len(s) > limit {
		return false
	}
	for i := range len(s) {
		if s[i] < '!' || s[i] > '~' {
			return false
		}
	}
	return true
}

// API is the HTTP front of the reference system: it turns requests into Faktory jobs.
type API struct {
	Pool     *Pool
	MaxBatch int   // FAKTORY_MAX_BATCH_SIZE: larger batches get 413
	MaxBody  int64 // request body limit in bytes
	Queue    string
	Mode     string // EnqueueSync or EnqueueAsync
	Retries  int    // JOB_RETRIES: the retries each job allows (NewJob)

	async   *asyncEnqueuer
	results *ResultStore
	sink    CompletionSink
	metrics *apiMetrics
	timeout HTTPTimeouts
	token   *[sha256.Size]byte // nil: no token required
	srv     *http.Server
	addr    string
	done    chan error
}

// APIOptions configures NewAPI.
type APIOptions struct {
	MaxBatch int
	MaxBody  int64
	Queue    string // "" = DefaultQueue
	// Async mode: answer 202 once the job is buffered; a flusher PUSHBs every
	// FlushInterval (default 10 ms) or MaxBatch jobs. BufferSize bounds the buffer (default
	// 10000); when it is full the API answers 503 with Retry-After.
	Mode          string
	FlushInterval time.Duration
	BufferSize    int
	// Results, when set, backs GET /jobs/{request_id} (feed it the workers' completions).
	Results *ResultStore
	// Completions, when set, also receives what workers in other processes POST to
	// /completions (a benchmark's recorder, say).
	Completions CompletionSink
	// Timeouts of the HTTP server; zero fields take DefaultHTTPTimeouts(MaxBody)'s.
	Timeouts HTTPTimeouts
	// Token, when set (API_TOKEN), is required of every request but GET /healthz and
	// GET /ping, as Authorization: Bearer <Token>.
	Token string
	// Retries each job allows (JOB_RETRIES; see NewJob).
	Retries int
}

// HTTPTimeouts bound how long one client may hold one of the API's connections: a
// client sending its header or body a byte at a time (slowloris), or keeping a
// connection idle, is cut off instead of holding a goroutine and a descriptor for as
// long as it likes.
type HTTPTimeouts struct {
	ReadHeader time.Duration // the request line and header
	Read       time.Duration // the whole request, body included, from its first byte
	Write      time.Duration // from the end of the header to the end of the answer
	Idle       time.Duration // a keep-alive connection waiting for its next request
}

// slowestLink is the slowest link wfbench's scenarios emulate (64 KB/s, in bytes/s).
const slowestLink = 64_000

// enqueueBudget is what a request may spend in its handler: Faktory's round trip is
// bounded by FAKTORY_READ_TIMEOUT / FAKTORY_WRITE_TIMEOUT, 30 s by default.
const enqueueBudget = 30 * time.Second

// maxHeaderBytes bounds a request's header block (431 past it). The API reads a few
// short headers (run and queue, at most 64 bytes each; a bearer token; Content-Type);
// 64 KiB leaves room for what proxies add. Go's default is 1 MiB.
const maxHeaderBytes = 64 << 10

// DefaultHTTPTimeouts are an API's timeouts for bodies of at most maxBody bytes, sized
// so that the largest request it accepts (a batch of FAKTORY_MAX_BATCH_SIZE jobs is
// well under it) still arrives over the slowest link the scenarios emulate, and its
// answer (job and request ids, about the request's size) still leaves: at 64 KB/s an
// 8 MiB body takes 131 s, so Read is 141 s and Write 5 min. Idle is 2 min: the
// benchmark driver keeps its connections between calls and does not redial one the
// server closed, so it must outlast a pause between a run's phases.
func DefaultHTTPTimeouts(maxBody int64) HTTPTimeouts {
	transfer := time.Duration(maxBody) * time.Second / slowestLink
	t := HTTPTimeouts{ReadHeader: 10 * time.Second, Idle: 2 * time.Minute}
	t.Read = t.ReadHeader + transfer
	t.Write = t.Read + enqueueBudget + transfer
	return t
}

// orDefault fills t's zero fields from d.
func (t HTTPTimeouts) orDefault(d HTTPTimeouts) HTTPTimeouts {
	return HTTPTimeouts{ReadHeader: cmp.Or(t.ReadHeader, d.ReadHeader), Read: cmp.Or(t.Read, d.Read),
		Write: cmp.Or(t.Write, d.Write), Idle: cmp.Or(t.Idle, d.Idle)}
}

// NewAPI returns an API enqueueing through pool.
func NewAPI(pool *Pool, o APIOptions) *API {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1000
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	a := &API{Pool: pool, MaxBatch: o.MaxBatch, MaxBody: o.MaxBody, Queue: cmp.Or(o.Queue, DefaultQueue),
		Mode: cmp.Or(o.Mode, EnqueueSync), Retries: o.Retries, results: o.Results, sink: o.Completions,
		timeout: o.Timeouts.orDefault(DefaultHTTPTimeouts(o.MaxBody))}
	if o.Token != "" {
		sum := sha256.Sum256([]byte(o.Token))
		a.token = &sum
	}
	a.metrics = newAPIMetrics(a)
	if a.Mode == EnqueueAsync {
		interval := cmp.Or(o.FlushInterval, 10*time.Millisecond)
		a.async = newAsyncEnqueuer(pool, o.MaxBatch, max(cmp.Or(o.BufferSize, 10000), o.MaxBatch), interval)
		a.async.onFlush = func(start time.Time, flushed, refused int) {
			a.metrics.observeEnqueue("PUSHB", start)
			a.metrics.jobs.WithLabelValues("enqueued").Add(float64(flushed))
			a.metrics.jobs.WithLabelValues("refused").Add(float64(refused))
		}
		a.async.onError = func(n int, err error) {
			a.metrics.flushErrors.Inc()
		}
		a.async.onFlushed = a.recordPushed
	}
	return a
}

// buffered is the number of jobs in the async buffer.
func (a *API) buffered() int {
	if a.async == nil {
		return 0
	}
	a.async.mu.Lock()
	defer a.async.mu.Unlock()
	return len(a.async.buf)
}

// recordPushed notes jobs Faktory answered for: enqueued, or failed with its reason.
func (a *API) recordPushed(jobs []*faktory.Job, refused map[string]string) {
	for _, j := range jobs {
		if reason, bad := refused[j.Jid]; bad {
			if a.results != nil {
				if args, err := ArgsOf(j); err == nil {
					a.results.Refused(args.RequestID, j.Jid, j.Type, reason)
				}
			}
			continue
		}
		a.record(j, StatusEnqueued)
	}
}

// record notes an accepted job in the result store.
func (a *API) record(j *faktory.Job, status string) {
	if a.results == nil {
		return
	}
	if args, err := ArgsOf(j); err == nil {
		a.results.Accepted(args.RequestID, j.Jid, j.Type, status)
	}
}

// AsyncStats reports the async buffer's figures (zero in sync mode).
func (a *API) AsyncStats() AsyncStats {
	if a.async == nil {
		return AsyncStats{}
	}
	return a.async.snapshot()
}

// buffer hands jobs to the async flusher, answering 503 with Retry-After when the buffer
// is full (or the API is stopping); it reports whether the jobs were taken.
func (a *API) buffer(w http.ResponseWriter, jobs []*faktory.Job) bool {
	if a.async.add(jobs) {
		a.metrics.jobs.WithLabelValues("buffered").Add(float64(len(jobs)))
		for _, j := range jobs {
			a.record(j, StatusBuffered)
		}
		return true
	}
	w.Header().Set("Retry-After", "1")
	writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("enqueue buffer full (%d jobs waiting for Faktory): retry later", a.async.capacity))
	return false
}

// Handler routes the API's endpoints.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	m := a.metrics
	mux.Handle("POST /jobs/batch", m.route("batch", a.enqueueBatch))
	mux.Handle("POST /jobs/{op}", m.route("enqueue", a.enqueueOne))
	mux.Handle("GET /jobs/{request_id}", m.route("result", a.result))
	mux.Handle("POST /completions", m.route("completions", a.completions))
	mux.Handle("GET /healthz", m.route("healthz", a.healthz))
	mux.Handle("GET /metrics", m.handler())
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	return a.guard(withGzip(mux, a.MaxBody))
}

// guard turns away, before any body is read: a browser's cross-origin write (403: a web
// page must not enqueue jobs or forge completions through a visitor's browser;
// requests without Origin and Sec-Fetch-Site, from wfbench's driver, workers or curl,
// pass), a request without the bearer token when one is set (401), and a POST whose
// body is declared as something other than JSON (415: an HTML form can post text/plain
// that happens to be JSON without a CORS preflight). A POST that declares no type at
// all passes: no browser sends a body without a type unchecked by the cross-origin
// rule (fetch adds Origin and Sec-Fetch-Site), and non-browser clients, some of the
// repository's tests among them, send none.
func (a *API) guard(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := cop.Check(r); err != nil {
			writeError(w, http.StatusForbidden, fmt.Sprintf("%v: the API takes writes from non-browser clients and same-origin pages only", err))
			return
		}
		if a.token != nil && !tokenFree(r) && !a.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="wfbench API"`)
			writeError(w, http.StatusUnauthorized, "this API needs Authorization: Bearer <API_TOKEN>")
			return
		}
		if r.Method == http.MethodPost {
			if ct := r.Header.Get("Content-Type"); ct != "" {
				if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
					writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: accepted is application/json", ct))
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// tokenFree reports whether r may go without the token: the liveness checks, which a load
// balancer or the driver's warm-up call without credentials and which reveal nothing.
func tokenFree(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && (r.URL.Path == "/healthz" || r.URL.Path == "/ping")
}

// authorized reports whether r carries the token. Both sides are hashed first, so the
// comparison takes the same time whatever the length or content of the guess.
func (a *API) authorized(r *http.Request) bool {
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimLeft(cred, " ")))
	return subtle.ConstantTimeCompare(got[:], a.token[:]) == 1
}

// Start serves on bind ("" = 127.0.0.1 on an ephemeral port) until Stop.
func (a *API) Start(bind string) error {
	if bind == "" {
		bind = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", bind)
	if err != nil {
		return fmt.Errorf("API listen on %s: %w", bind, err)
	}
	a.addr = l.Addr().String()
	a.srv = &http.Server{Handler: a.Handler(), MaxHeaderBytes: maxHeaderBytes,
		ReadHeaderTimeout: a.timeout.ReadHeader, ReadTimeout: a.timeout.Read,
		WriteTimeout: a.timeout.Write, IdleTimeout: a.timeout.Idle}
	a.done = make(chan error, 1)
	go func() {
		err := a.srv.Serve(l)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		a.done <- err
	}()
	return nil
}

// Pause stops serving HTTP, as the API process going down gracefully would: in-flight
// requests finish (bounded by ctx), the listener closes, new connections are refused.
// An async buffer keeps flushing, as a graceful stop flushes it. Resume listens again.
func (a *API) Pause(ctx context.Context) error {
	if a.srv == nil {
		return nil
	}
	err := a.srv.Shutdown(ctx)
	if err != nil {
		_ = a.srv.Close()
	}
	<-a.done
	a.srv = nil
	return err
}

// Resume serves again on the paused API's address (the port, just released, may be
// held for a moment: it retries for up to 2 s).
func (a *API) Resume() error {
	if a.srv != nil {
		return nil
	}
	var err error
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err = a.Start(a.addr); err == nil || time.Now().After(deadline) {
			return err
		}
	}
}

// Addr is the address the API listens on.
func (a *API) Addr() string { return a.addr }

// Stop finishes in-flight requests and stops listening; in async mode it then flushes
// every buffered job to Faktory. Both are bounded by ctx: jobs still buffered when it
// ends are reported as an error (and counted in AsyncStats.Lost).
func (a *API) Stop(ctx context.Context) error {
	var err error
	if a.srv != nil {
		err = a.srv.Shutdown(ctx)
		if err != nil {
			_ = a.srv.Close()
		}
		if serveErr := <-a.done; serveErr != nil && err == nil {
			err = serveErr
		}
		a.srv = nil
	}
	if a.async != nil {
		// No request can add to the buffer any more: flush what it holds.
		if s := a.async.close(ctx); s.Lost > 0 && err == nil {
			err = fmt.Errorf("stop API: %d accepted jobs still buffered when the deadline ended were not enqueued", s.Lost)
		}
	}
	return err
}

type oneRequest struct {
	A         *float64 `json:"a"`
	B         *float64 `json:"b"`
	RequestID string   `json:"request_id"`
}

type batchItem struct {
	Type string `json:"type"`
	oneRequest
}

func (a *API) enqueueOne(w http.ResponseWriter, r *http.Request) {
	op := r.PathValue("op")
	jobType, ok := Operations[op]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown job type %q: accepted are %s, and batch", op, OperationNames))
		return
	}
	var req oneRequest
	if !a.decode(w, r, &req) {
		return
	}
	args, err := req.args()
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	queue, ok := a.queueFor(w, r)
	if !ok {
		return
	}
	run, ok := runFor(w, r)
	if !ok {
		return
	}
	job := NewJob(jobType, args, run, queue, a.Retries)
	if a.async != nil {
		if a.buffer(w, []*faktory.Job{job}) {
			writeJSON(w, http.StatusAccepted, map[string]any{"job_id": job.Jid, "request_id": args.RequestID, "durable": false})
		}
		return
	}
	start := time.Now()
	err = a.Pool.With(r.Context(), func(c *faktory.Client) error { return c.Push(job) })
	if !errors.Is(err, ErrCircuitOpen) { // a fast-fail is no enqueue latency
		a.metrics.observeEnqueue("PUSH", start)
	}
	if err != nil {
		a.metrics.jobs.WithLabelValues("failed").Inc()
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("enqueue %s: %v", jobType, err))
		return
	}
	a.metrics.jobs.WithLabelValues("enqueued").Inc()
	a.record(job, StatusEnqueued)
	writeJSON(w, http.StatusAccepted, map[string]string{"job_id": job.Jid, "request_id": args.RequestID})
}

func (a *API) enqueueBatch(w http.ResponseWriter, r *http.Request) {
	items, ok := decodeList[batchItem](a, w, r, "jobs", a.MaxBatch, func(n int) string {
		return fmt.Sprintf("batch exceeds FAKTORY_MAX_BATCH_SIZE=%d: reading stopped at job %d; send at most %d jobs per batch", a.MaxBatch, n, a.MaxBatch)
	})
	if !ok {
		return
	}
	if len(items) == 0 {
		writeError(w, http.StatusBadRequest, `empty batch: want {"jobs":[{"type":"add","a":1,"b":2}, ...]}`)
		return
	}
	run, ok := runFor(w, r)
	if !ok {
		return
	}
	queue, ok := a.queueFor(w, r)
	if !ok {
		return
	}
	jobs := make([]*faktory.Job, len(items))
	rids := make([]string, len(items))
	for i, it := range items {
		jobType, ok := Operations[it.Type]
		if !ok {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("jobs[%d]: unknown type %q: accepted are %s", i, it.Type, OperationNames))
			return
		}
		args, err := it.args()
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("jobs[%d]: %v", i, err))
			return
		}
		jobs[i], rids[i] = NewJob(jobType, args, run, queue, a.Retries), args.RequestID
	}
	var resp struct {
		JobIDs     []string          `json:"job_ids"`
		RequestIDs []string          `json:"request_ids"`
		Rejected   map[string]string `json:"rejected,omitempty"` // request_id → Faktory's reason
		Durable    *bool             `json:"durable,omitempty"`  // async: false until flushed
	}
	if a.async != nil {
		if a.buffer(w, jobs) {
			durable := false
			resp.Durable = &durable
			for _, j := range jobs {
				resp.JobIDs = append(resp.JobIDs, j.Jid)
			}
			resp.RequestIDs = rids
			writeJSON(w, http.StatusAccepted, resp)
		}
		return
	}
	start := time.Now()
	err := a.Pool.With(r.Context(), func(c *faktory.Client) error {
		var err error
		resp.JobIDs, resp.RequestIDs, resp.Rejected, err = PushBatch(c, jobs, rids)
		return err
	})
	if !errors.Is(err, ErrCircuitOpen) {
		a.metrics.observeEnqueue("PUSHB", start)
	}
	if err != nil {
		a.metrics.jobs.WithLabelValues("failed").Add(float64(len(jobs)))
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("enqueue batch of %d: %v", len(jobs), err))
		return
	}
	a.metrics.jobs.WithLabelValues("enqueued").Add(float64(len(resp.JobIDs)))
	a.metrics.jobs.WithLabelValues("refused").Add(float64(len(resp.Rejected)))
	failed := map[string]string{}
	for _, j := range jobs {
		if args, err := ArgsOf(j); err == nil {
			if reason, bad := resp.Rejected[args.RequestID]; bad {
				failed[j.Jid] = reason
			}
		}
	}
	a.recordPushed(jobs, failed)
	writeJSON(w, http.StatusAccepted, resp)
}

// result answers GET /jobs/{request_id}: the job's status and, once done, its result.
func (a *API) result(w http.ResponseWriter, r *http.Request) {
	if a.results == nil {
		writeError(w, http.StatusNotFound, "result storage is off in this API")
		return
	}
	rid := r.PathValue("request_id")
	if !visibleASCII(rid, maxRequestID) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%s, got %d bytes", requestIDForm, len(rid)))
		return
	}
	res, ok := a.results.Get(rid)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no job with request_id %q (unknown, or evicted from the result store)", rid))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	start := time.Now()
	err := a.Pool.With(ctx, Ping)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "faktory": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "faktory_rtt_ms": float64(time.Since(start).Microseconds()) / 1000})
}

// PushBatch pushes jobs in one PUSHB round trip. rids[i] is jobs[i]'s request id; the
// result splits them into accepted (with their job ids) and refused (with Faktory's
// reason).
func PushBatch(c *faktory.Client, jobs []*faktory.Job, rids []string) (jids, accepted []string, refused map[string]string, err error) {
	failed, err := c.PushBulk(jobs)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("PUSHB of %d jobs: %w", len(jobs), err)
	}
	jids = make([]string, 0, len(jobs))
	accepted = make([]string, 0, len(jobs))
	for i, j := range jobs {
		if reason, bad := failed[j.Jid]; bad {
			if refused == nil {
				refused = map[string]string{}
			}
			refused[rids[i]] = reason
			continue
		}
		jids = append(jids, j.Jid)
		accepted = append(accepted, rids[i])
	}
	return jids, accepted, refused, nil
}

// Ping makes one Faktory round trip that touches neither Redis nor the queues: an unknown
// command, answered with an error line straight from the connection's reader.
func Ping(c *faktory.Client) error {
	_, err := c.Generic("NOOP")
	var pe *faktory.ProtocolError
	if errors.As(err, &pe) && strings.Contains(err.Error(), "unknown command") {
		return nil
	}
	if err == nil {
		return nil
	}
	return fmt.Errorf("ping Faktory: %w", err)
}

func (a *API) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, a.MaxBody))
	dec.DisallowUnknownFields()
	return a.decoded(w, dec, dec.Decode(v), "")
}

// decoded answers a decoding error (413 past the body limit or tooMany, 400 otherwise)
// or, when there was none, checks that nothing follows the object.
func (a *API) decoded(w http.ResponseWriter, dec *json.Decoder, err error, tooMany string) bool {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", a.MaxBody))
		return false
	case errors.Is(err, errTooMany):
		writeError(w, http.StatusRequestEntityTooLarge, tooMany)
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid JSON body: %v", err))
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "invalid JSON body: trailing data after the object")
		return false
	}
	return true
}

var errTooMany = errors.New("too many items")

// decodeList reads a body {"<key>":[item, ...]} one item at a time and stops at the
// (limit+1)th with 413 (tooMany(limit+1) says why): a gzip body of a few KB can inflate
// to millions of empty objects, and decoding them all before counting them took
// hundreds of MB (issue 13). Memory is then bounded by limit items and the body limit.
func decodeList[T any](a *API, w http.ResponseWriter, r *http.Request, key string, limit int, tooMany func(n int) string) ([]T, bool) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, a.MaxBody))
	dec.DisallowUnknownFields()
	var items []T
	err := streamList(dec, key, func() error {
		if len(items) >= limit {
			return errTooMany
		}
		var it T
		if err := dec.Decode(&it); err != nil {
			return err
		}
		items = append(items, it)
		return nil
	})
	return items, a.decoded(w, dec, err, tooMany(limit+1))
}

// streamList walks {"<key>":[...]} (key matched as encoding/json matches field names,
// case-insensitively; null for no items), calling each with the decoder before every
// item; any other field is an error, as DisallowUnknownFields has it.
func streamList(dec *json.Decoder, key string, each func() error) error {
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	seen := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if name, _ := tok.(string); !strings.EqualFold(name, key) || seen {
			return fmt.Errorf("json: unknown or repeated field %q: want one %q", name, key)
		}
		seen = true
		if tok, err = dec.Token(); err != nil {
			return err
		}
		if tok == nil { // null: no items
			continue
		}
		if tok != json.Delim('[') {
			return fmt.Errorf("%q must be an array", key)
		}
		for dec.More() {
			if err := each(); err != nil {
				return err
			}
		}
		if err := expectDelim(dec, ']'); err != nil {
			return err
		}
	}
	return expectDelim(dec, '}')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("got %v, want %q", tok, want)
	}
	return nil
}

func (o oneRequest) args() (MathArgs, error) {
	if o.A == nil || o.B == nil {
		return MathArgs{}, errors.New(`a and b are required numbers: want {"a":1,"b":2,"request_id":"optional"}`)
	}
	rid := o.RequestID
	if rid == "" {
		rid = faktory.RandomJid()
	} else if !visibleASCII(rid, maxRequestID) {
		return MathArgs{}, fmt.Errorf("%s, got %d bytes", requestIDForm, len(rid))
	}
	return MathArgs{A: *o.A, B: *o.B, RequestID: rid}, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// DefaultMaxBody is the API's request body limit (and a Collector's).
const DefaultMaxBody = 8 << 20

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
