package system

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	faktory "github.com/contribsys/faktory/client"
)

// Enqueue modes of the API.
const (
	EnqueueSync  = "sync"  // answer once Faktory has the job (the analysed behaviour)
	EnqueueAsync = "async" // answer once the job is in the API's buffer; a flusher PUSHBs
)

// EnqueueModes lists the accepted API_ENQUEUE_MODE values.
var EnqueueModes = []string{EnqueueSync, EnqueueAsync}

// AsyncStats describes what the async mode did: how long accepted jobs sat in the buffer
// before Faktory had them (the window in which a crash of the API would lose them).
type AsyncStats struct {
	Flushed    int           // jobs Faktory took
	Refused    int           // jobs Faktory refused after the API had accepted them
	Retried    int           // pushes of jobs Faktory could not store at once, made again
	Lost       int           // jobs still buffered when Stop's deadline ended
	Flushes    int           // PUSHBs Faktory answered
	MaxWindow  time.Duration // longest accept → durable
	MeanWindow time.Duration
}

type bufferedJob struct {
	job *faktory.Job
	at  time.Time
}

// asyncEnqueuer is the bounded buffer and its flusher: a PUSHB every interval, or as soon
// as a batch's worth is waiting. Jobs leave the buffer only when Faktory took them or
// refused them for what they are (see jobRefusal). A PUSHB that failed as a whole (no
// answer, or -ERR: Faktory shutting down, overloaded, ...) and jobs Faktory could not
// store (Redis refusing writes shows up as an error per job) are pushed again, first in
// line, after a capped backoff: nothing accepted is dropped while the process lives,
// and Stop's deadline bounds the wait (what is left is counted Lost).
type asyncEnqueuer struct {
	pool     *Pool
	maxBatch int
	// onFlush is told of every PUSHB that got an answer (start, jobs taken, refused) and
	// onError of every one that did not; onFlushed gets the jobs with Faktory's reasons
	// for those refused. All optional; set before the first add.
	onFlush   func(start time.Time, flushed, refused int)
	onError   func(n int, err error)
	onFlushed func(jobs []*faktory.Job, refused map[string]string)
	// abortCtx is cancelled with abort, so a flush in progress at the deadline stops.
	abortCtx    context.Context
	abortCancel context.CancelFunc
	interval    time.Duration
	capacity    int
	// limit is the jobs per PUSHB: maxBatch, halved while Faktory cannot parse a batch
	// (to single out the job it chokes on), doubled back after each success.
	limit int

	mu      sync.Mutex
	buf     []bufferedJob
	closing bool
	stats   AsyncStats
	winSum  time.Duration
	kick    chan struct{}
	stop    chan struct{} // closed by close: flush everything, then exit
	abort   chan struct{} // closed when close's deadline ends: give up
	abortMu sync.Once
	done    chan struct{}
}

func newAsyncEnqueuer(pool *Pool, maxBatch, capacity int, interval time.Duration) *asyncEnqueuer {
	e := &asyncEnqueuer{
		pool: pool, maxBatch: maxBatch, interval: interval, capacity: capacity, limit: maxBatch,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), abort: make(chan struct{}), done: make(chan struct{}),
	}
	e.abortCtx, e.abortCancel = context.WithCancel(context.Background())
	go e.run()
	return e
}

// add buffers all of jobs, or none when they do not fit (the caller answers 503).
func (e *asyncEnqueuer) add(jobs []*faktory.Job) bool {
	now := time.Now()
	e.mu.Lock()
	if e.closing || len(e.buf)+len(jobs) > e.capacity {
		e.mu.Unlock()
		return false
	}
	for _, j := range jobs {
		e.buf = append(e.buf, bufferedJob{j, now})
	}
	full := len(e.buf) >= e.maxBatch
	e.mu.Unlock()
	if full {
		select {
		case e.kick <- struct{}{}:
		default:
		}
	}
	return true
}

func (e *asyncEnqueuer) run() {
	defer close(e.done)
	tick := time.NewTicker(e.interval)
	defer tick.Stop()
	backoff := newBackoff()
	draining := false
	for {
		if !draining {
			select {
			case <-tick.C:
			case <-e.kick:
			case <-e.stop:
				draining = true
			}
		}
		for {
			n, err := e.flushOnce()
			if err != nil {
				select { // keep the jobs, wait, retry
				case <-time.After(backoff.next()):
					continue
				case <-e.abort:
					return
				}
			}
			backoff.reset()
			if n < e.maxBatch {
				break // the buffer is (nearly) empty: wait for the next tick
			}
		}
		if draining {
			e.mu.Lock()
			empty := len(e.buf) == 0
			e.mu.Unlock()
			if empty {
				return
			}
		}
	}
}

// flushOnce PUSHBs up to limit buffered jobs and returns how many left the buffer. It
// fails when the PUSHB did, or when Faktory stored none of them: the caller backs off.
func (e *asyncEnqueuer) flushOnce() (int, error) {
	e.mu.Lock()
	n := min(len(e.buf), e.limit)
	batch := append([]bufferedJob(nil), e.buf[:n]...)
	e.mu.Unlock()
	if n == 0 {
		return 0, nil
	}
	jobs := make([]*faktory.Job, n)
	for i, b := range batch {
		jobs[i] = b.job
	}
	var failed map[string]string
	start := time.Now()
	err := e.pool.With(e.abortCtx, func(c *faktory.Client) error {
		var err error
		failed, err = c.PushBulk(jobs)
		return err
	})
	if err != nil {
		return e.commandFailed(jobs, err)
	}
	e.limit = min(2*e.limit, e.maxBatch)
	refused, retry := map[string]string{}, map[string]bool{}
	for jid, reason := range failed {
		if jobRefusal(reason) {
			refused[jid] = reason
		} else {
			retry[jid] = true
		}
	}
	decided := make([]*faktory.Job, 0, n)
	for _, j := range jobs {
		if !retry[j.Jid] {
			decided = append(decided, j)
		}
	}
	if e.onFlush != nil {
		e.onFlush(start, len(decided)-len(refused), len(refused))
	}
	if e.onFlushed != nil {
		e.onFlushed(decided, refused)
	}
	e.settle(batch, refused, retry)
	if len(decided) == 0 {
		return 0, fmt.Errorf("flush %d buffered jobs: Faktory could not store any, e.g. %s", n, firstReason(failed))
	}
	return len(decided), nil
}

// commandFailed handles a PUSHB that failed as a whole: its jobs stay first in line to
// be pushed again. If Faktory stored them before a connection failed, they run twice:
// async is at-least-once. A batch Faktory could not parse (-ERR invalid JSON) would fail
// the same way forever: it is split until the job it chokes on is alone, and refused.
func (e *asyncEnqueuer) commandFailed(jobs []*faktory.Job, err error) (int, error) {
	var pe *faktory.ProtocolError
	if errors.As(err, &pe) && strings.Contains(err.Error(), "invalid JSON") {
		if len(jobs) > 1 {
			e.limit = len(jobs) / 2
		} else {
			refused := map[string]string{jobs[0].Jid: err.Error()}
			if e.onFlushed != nil {
				e.onFlushed(jobs, refused)
			}
			e.mu.Lock()
			e.buf = e.buf[1:]
			e.stats.Refused++
			e.mu.Unlock()
			return 1, nil
		}
	}
	if e.onError != nil {
		e.onError(len(jobs), err)
	}
	return 0, fmt.Errorf("flush %d buffered jobs: %w", len(jobs), err)
}

// settle takes the flushed batch (the buffer's first len(batch) jobs) out of the buffer,
// putting back first, in order, those to be pushed again.
func (e *asyncEnqueuer) settle(batch []bufferedJob, refused map[string]string, retry map[string]bool) {
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	again := make([]bufferedJob, 0, len(retry))
	for _, b := range batch {
		switch {
		case retry[b.job.Jid]:
			again = append(again, b)
			e.stats.Retried++
		case refused[b.job.Jid] != "":
			e.stats.Refused++
		default:
			e.stats.Flushed++
			w := now.Sub(b.at)
			e.winSum += w
			e.stats.MaxWindow = max(e.stats.MaxWindow, w)
		}
	}
	e.buf = append(again, e.buf[len(batch):]...)
	e.stats.Flushes++
}

// jobRefusals are how Faktory (v1.10, manager.Push and the queue name check) refuses a
// job for what it is; pushing it again gets the same answer. NOTUNIQUE is Faktory
// Enterprise's answer to a duplicate unique job. Any other error for a job is Faktory
// failing to store it (Redis refusing writes, out of memory, unreachable): those jobs
// are pushed again.
var jobRefusals = []string{
	"jobs must have", "jobs cannot be reserved", "invalid timestamp for 'at'",
	"queue name cannot be blank", "queue names must match", "cannot marshal job payload", "NOTUNIQUE",
}

func jobRefusal(reason string) bool {
	return slices.ContainsFunc(jobRefusals, func(p string) bool { return strings.HasPrefix(reason, p) })
}

func firstReason(failed map[string]string) string {
	for _, r := range failed {
		return r
	}
	return ""
}

// close stops accepting, flushes every buffered job (bounded by ctx) and returns the
// stats; jobs still buffered at the deadline are counted Lost.
func (e *asyncEnqueuer) close(ctx context.Context) AsyncStats {
	e.mu.Lock()
	already := e.closing
	e.closing = true
	e.mu.Unlock()
	if !already {
		close(e.stop)
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		e.abortMu.Do(func() { close(e.abort); e.abortCancel() })
		<-e.done
	}
	return e.snapshot()
}

func (e *asyncEnqueuer) snapshot() AsyncStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	if e.closing {
		select {
		case <-e.done:
			s.Lost = len(e.buf)
		default:
		}
	}
	if s.Flushed > 0 {
		s.MeanWindow = e.winSum / time.Duration(s.Flushed)
	}
	return s
}
