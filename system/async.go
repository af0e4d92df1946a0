package system

import (
	"context"
	"errors"
	"fmt"
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
	Lost       int           // jobs still buffered when Stop's deadline ended
	Flushes    int           // PUSHB round trips
	MaxWindow  time.Duration // longest accept → durable
	MeanWindow time.Duration
}

type bufferedJob struct {
	job *faktory.Job
	at  time.Time
}

// asyncEnqueuer is the bounded buffer and its flusher: a PUSHB every interval, or as soon
// as a batch's worth is waiting; a failed PUSHB is retried (capped backoff) with its jobs
// kept at the front, so nothing accepted is dropped while the process lives.
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
		pool: pool, maxBatch: maxBatch, interval: interval, capacity: capacity,
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

// flushOnce PUSHBs up to maxBatch buffered jobs; on failure they stay at the front.
func (e *asyncEnqueuer) flushOnce() (int, error) {
	e.mu.Lock()
	n := min(len(e.buf), e.maxBatch)
	batch := append([]bufferedJob(nil), e.buf[:n]...)
	e.mu.Unlock()
	if n == 0 {
		return 0, nil
	}
	jobs := make([]*faktory.Job, n)
	for i, b := range batch {
		jobs[i] = b.job
	}
	var refused map[string]string
	start := time.Now()
	err := e.pool.With(e.abortCtx, func(c *faktory.Client) error {
		var err error
		refused, err = c.PushBulk(jobs)
		return err
	})
	var pe *faktory.ProtocolError
	if errors.As(err, &pe) {
		// Faktory answered and refused the whole batch (e.g. -ERR invalid JSON): retrying
		// would block the buffer for good, so these jobs are refused, each with the reason.
		refused = map[string]string{}
		for _, j := range jobs {
			refused[j.Jid] = err.Error()
		}
		err = nil
	}
	if err != nil {
		// No answer: the jobs stay first in line and are pushed again. If Faktory stored
		// them before the connection failed, they run twice: async is at-least-once.
		if e.onError != nil {
			e.onError(n, err)
		}
		return 0, fmt.Errorf("flush %d buffered jobs: %w", n, err)
	}
	if e.onFlush != nil {
		e.onFlush(start, n-len(refused), len(refused))
	}
	if e.onFlushed != nil {
		e.onFlushed(jobs, refused)
	}
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.buf = e.buf[n:]
	e.stats.Flushes++
	for _, b := range batch {
		if _, bad := refused[b.job.Jid]; bad {
			e.stats.Refused++
			continue
		}
		e.stats.Flushed++
		w := now.Sub(b.at)
		e.winSum += w
		e.stats.MaxWindow = max(e.stats.MaxWindow, w)
	}
	return n, nil
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
