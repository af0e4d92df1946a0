package system

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	faktory "github.com/contribsys/faktory/client"
)

// Completion is what a worker reports for every job it ran.
type Completion struct {
	Jid       string
	Type      string
	RequestID string
	Run       string
	Started   time.Time // worker started the job (monotonic when in-process)
	Finished  time.Time // worker finished it
	Result    float64
	Err       error // the job failed (e.g. division by zero); it was FAILed, not ACKed
	AckErr    error // the ACK/FAIL did not reach Faktory: the job may run again
}

// CompletionSink receives completions; it must be safe for concurrent use.
type CompletionSink interface {
	Complete(Completion)
}

// Poll strategies (DESIGN §2).
const (
	// PollFixed is the analysed loop: FETCH, run, ACK and wait, FETCH; sleep after an
	// empty FETCH. Two round trips per job per slot.
	PollFixed = "fixed"
	// PollTuned sizes its slots by Little's law (see TunedSlots), pipelines ACKs on a
	// connection of their own and never sleeps: one round trip per job per slot.
	PollTuned = "tuned"
)

// PollStrategies lists the accepted WORKER_POLL values.
var PollStrategies = []string{PollFixed, PollTuned, PollLibrary}

// WorkerOptions configures a worker process.
type WorkerOptions struct {
	Endpoint     Endpoint
	Poll         string        // fixed
	Concurrency  int           // fetch slots (WORKER_CONCURRENCY)
	PollInterval time.Duration // sleep after an empty FETCH (WORKER_POLL_INTERVAL)
	Work         Work
	Sink         CompletionSink
	Queue        string // "" = DefaultQueue
	// Ack: AckSync or AckPipelined; "" = the strategy's own (fixed sync, tuned pipelined).
	Ack string
}

// Worker runs fetch slots against Faktory.
type Worker struct {
	opts  WorkerOptions
	queue string
	acks  *acker // tuned: pipelined ACKs
	// library: cancels the Manager's context
	stopLibrary context.CancelFunc
	stopping    chan struct{}
	stopOnce    sync.Once
	wg          sync.WaitGroup
	mu          sync.Mutex
	conns       map[*faktory.Client]struct{}
	busy        atomic.Int64
	held        atomic.Int64 // jobs started and not yet handed to the sink
}

// StartWorker opens one connection per slot (so the first FETCH is not a dial) and starts
// the slots.
func StartWorker(ctx context.Context, o WorkerOptions) (*Worker, error) {
	if o.Poll == "" {
		o.Poll = PollFixed
	}
	if !slices.Contains(PollStrategies, o.Poll) {
		return nil, fmt.Errorf("worker poll strategy %q: accepted values are %s", o.Poll, strings.Join(PollStrategies, ", "))
	}
	if o.Ack != "" && o.Ack != AckSync && o.Ack != AckPipelined {
		return nil, fmt.Errorf("worker ack mode %q: accepted values are %s, %s", o.Ack, AckSync, AckPipelined)
	}
	if o.Concurrency < 1 {
		return nil, fmt.Errorf("worker concurrency %d: want at least 1", o.Concurrency)
	}
	if o.PollInterval < 0 {
		return nil, fmt.Errorf("worker poll interval %s: want 0 or more", o.PollInterval)
	}
	w := &Worker{opts: o, queue: cmp.Or(o.Queue, DefaultQueue), stopping: make(chan struct{}), conns: map[*faktory.Client]struct{}{}}
	w.opts.Sink = heldSink{held: &w.held, next: o.Sink}
	if o.Poll == PollLibrary {
		if err := w.startLibrary(); err != nil {
			return nil, err
		}
		return w, nil
	}
	clients, err := openAll(ctx, o.Concurrency, o.Endpoint.Dial)
	if err != nil {
		for _, c := range clients {
			closeClient(c)
		}
		return nil, fmt.Errorf("start worker (%d slots): %w", o.Concurrency, err)
	}
	if o.Ack == "" {
		o.Ack, w.opts.Ack = AckFor(o.Poll), AckFor(o.Poll)
	}
	if o.Ack == AckPipelined {
		if w.acks, err = newAcker(ctx, o.Endpoint, w.opts.Sink, AckWindow(o.Concurrency)); err != nil {
			for _, c := range clients {
				closeClient(c)
			}
			return nil, fmt.Errorf("start worker: %w", err)
		}
	}
	for _, c := range clients {
		w.track(c)
		w.wg.Add(1)
		go w.slot(c)
	}
	return w, nil
}

// AckWindow is how many pipelined ACKs may await Faktory's answer at once for a worker
// of n slots: a few per slot covers a round trip of ACKs in flight (Little's law: the
// slots finish at most n jobs per job time), and the bound keeps a slow ACK path from
// piling up reservations in Faktory and completions in the worker.
func AckWindow(n int) int { return max(4*n, 256) }

// Busy is the number of slots running a job now.
func (w *Worker) Busy() int { return int(w.busy.Load()) }

// Held is the number of jobs the worker started and has not reported yet (running, or
// waiting for their ACK's answer): Faktory holds them reserved. After Stop it counts the
// jobs whose completion never came (a stuck job, or an ACK given up on).
func (w *Worker) Held() int { return int(w.held.Load()) }

// heldSink counts a job off the worker's held ones as its completion is reported.
type heldSink struct {
	held *atomic.Int64
	next CompletionSink
}

func (s heldSink) Complete(c Completion) {
	if s.next != nil {
		s.next.Complete(c)
	}
	s.held.Add(-1)
}

// Stop stops fetching, lets in-flight jobs finish and be ACKed, and closes the
// connections. A FETCH waiting in Faktory's long poll returns within 2 s plus one RTT;
// if ctx ends first, the connections are closed under the slots (an unACKed job is
// requeued by Faktory after its reservation) and Stop waits at most abortWait more.
func (w *Worker) Stop(ctx context.Context) error {
	err := w.stopSlots(ctx)
	if w.acks != nil {
		// The slots are gone; the ACKs they handed over still get their answers, within
		// ctx or, when it has ended already, a short grace.
		actx, cancel := ctx, context.CancelFunc(func() {})
		if ctx.Err() != nil {
			actx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
		}
		w.acks.close(actx)
		cancel()
	}
	return err
}

func (w *Worker) stopSlots(ctx context.Context) error {
	w.stopOnce.Do(func() {
		close(w.stopping)
		if w.stopLibrary != nil {
			w.stopLibrary()
		}
	})
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	w.mu.Lock()
	for c := range w.conns {
		abortClient(c)
	}
	w.mu.Unlock()
	if w.acks != nil {
		// Slots may wait on a full ACK window whose answers are not coming: failing the
		// ACKs in flight frees them (those jobs are reported with AckErr).
		w.acks.abort()
	}
	select {
	case <-done:
		return fmt.Errorf("stop worker: %w (connections closed under in-flight commands)", ctx.Err())
	case <-time.After(abortWait):
		return fmt.Errorf("stop worker: %d slots still busy %s after their connections were closed (a job's work or the completion sink is stuck)", w.Busy(), abortWait)
	}
}

// Close stops the worker at once, closing its connections under any FETCH waiting in
// Faktory's long poll. Use it when no job can be in flight (every accepted job has been
// reported complete); otherwise Stop lets running jobs finish.
func (w *Worker) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Stop(ctx); err != nil && w.Busy() > 0 {
		return err
	}
	return nil
}

// abortWait bounds Stop after the connections were closed.
const abortWait = 5 * time.Second

func (w *Worker) track(c *faktory.Client) {
	w.mu.Lock()
	w.conns[c] = struct{}{}
	w.mu.Unlock()
}

func (w *Worker) untrack(c *faktory.Client) {
	w.mu.Lock()
	delete(w.conns, c)
	w.mu.Unlock()
	closeClient(c)
}

func (w *Worker) stopped() bool {
	select {
	case <-w.stopping:
		return true
	default:
		return false
	}
}

// slot is one fetch slot: FETCH, run, ACK, FETCH again. The strategies differ in two
// places. fixed (the analysed loop) sleeps the poll interval after an empty FETCH; tuned
// fetches again at once (Faktory's long poll already waits up to 2 s for a job). With
// sync ACKs the slot waits for Faktory's answer (two round trips per job per slot); with
// pipelined ones the acker sends the ACK and the slot fetches at once (one round trip).
func (w *Worker) slot(c *faktory.Client) {
	defer w.wg.Done()
	defer func() {
		if c != nil {
			w.untrack(c)
		}
	}()
	sleepOnEmpty := w.opts.Poll == PollFixed
	backoff := newBackoff()
	for !w.stopped() {
		job, err := c.Fetch(w.queue)
		if err != nil {
			if w.stopped() {
				return
			}
			w.untrack(c)
			if c = w.reconnect(backoff); c == nil {
				return
			}
			continue
		}
		backoff.reset()
		if job == nil {
			if sleepOnEmpty {
				w.sleep(w.opts.PollInterval)
			}
			continue
		}
		comp := w.run(job)
		if w.acks != nil {
			w.acks.send(comp)
			continue
		}
		if comp.Err != nil {
			comp.AckErr = c.Fail(job.Jid, comp.Err, nil)
		} else {
			comp.AckErr = c.Ack(job.Jid)
		}
		if w.opts.Sink != nil {
			w.opts.Sink.Complete(comp)
		}
		var pe *faktory.ProtocolError
		if comp.AckErr != nil && !errors.As(comp.AckErr, &pe) {
			w.untrack(c)
			if c = w.reconnect(backoff); c == nil {
				return
			}
		}
	}
}

func (w *Worker) run(job *faktory.Job) Completion {
	w.held.Add(1)
	w.busy.Add(1)
	defer w.busy.Add(-1)
	comp := Completion{Jid: job.Jid, Type: job.Type, Run: RunOf(job), Started: time.Now()}
	args, err := ArgsOf(job)
	if err == nil {
		comp.RequestID = args.RequestID
		w.opts.Work.Do()
		comp.Result, err = Compute(job.Type, args)
	}
	comp.Finished = time.Now()
	comp.Err = err
	return comp
}

// reconnect dials until it succeeds or the worker stops (nil).
func (w *Worker) reconnect(b *backoff) *faktory.Client {
	for !w.stopped() {
		if !w.sleep(b.next()) {
			return nil
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-w.stopping:
			case <-ctx.Done():
			}
			cancel()
		}()
		c, err := w.opts.Endpoint.Dial(ctx)
		cancel()
		if err == nil {
			w.track(c)
			return c
		}
	}
	return nil
}

// sleep waits d or until Stop; it reports whether the worker is still running.
func (w *Worker) sleep(d time.Duration) bool {
	if d <= 0 {
		return !w.stopped()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-w.stopping:
		return false
	}
}

// backoff is capped exponential backoff with full jitter.
type backoff struct{ n int }

func newBackoff() *backoff { return &backoff{} }

func (b *backoff) reset() { b.n = 0 }

func (b *backoff) next() time.Duration {
	const base, ceiling = 50 * time.Millisecond, 5 * time.Second
	d := base << min(b.n, 10)
	b.n++
	d = min(d, ceiling)
	return d/2 + rand.N(d/2+1)
}

// Default slot counts of the strategies that do not size themselves.
const (
	FixedSlots    = 50 // the analysed code's WORKER_CONCURRENCY
	MaxTunedSlots = 1000
	// tunedHeadroom absorbs bursts above the mean rate (Little's law gives the mean).
	tunedHeadroom = 1.25
	// tunedLocalCost is what a job costs a slot on this side of the link besides the
	// round trip: Faktory's reservation, the handler, scheduling.
	tunedLocalCost = time.Millisecond
)

// AckFor is a strategy's own ACK mode: tuned pipelines its ACKs, the others wait for
// each answer. A run and a standing system (serve, up) both take it from here.
func AckFor(poll string) string {
	if poll == PollTuned {
		return AckPipelined
	}
	return AckSync
}

// SizeWorker resolves a worker's slots: explicit (> 0) as given, else the strategy's
// own: fixed FixedSlots, library LibrarySlots, tuned by Little's law (TunedSlots) on the
// offered rate and the RTT to Faktory. It returns the reasoning ("" for a fixed count).
// A run and a standing system (serve, up) both size their workers here.
func SizeWorker(poll string, explicit int, rate float64, rtt, work time.Duration) (int, string) {
	switch {
	case explicit > 0:
		return explicit, ""
	case poll == PollTuned:
		return TunedSlots(rate, rtt, work)
	case poll == PollLibrary:
		return LibrarySlots, ""
	}
	return FixedSlots, ""
}

// TunedSlots sizes the tuned strategy by Little's law: jobs held at once = arrival rate ×
// time each job holds a slot. A tuned slot holds a job for one round trip (its FETCH)
// plus the work and a little local cost; headroom absorbs bursts. It returns the slots
// and the reasoning, for the report.
func TunedSlots(rate float64, rtt, work time.Duration) (int, string) {
	hold := rtt + work + tunedLocalCost
	n := int(math.Ceil(rate * hold.Seconds() * tunedHeadroom))
	n = min(max(n, 1), MaxTunedSlots)
	why := fmt.Sprintf("tuned: %d slots = %.0f jobs/s × %.1f ms per job per slot (1 RTT %.1f ms + work %.1f ms + local %.1f ms) × %.2f headroom",
		n, rate, ms(hold), ms(rtt), ms(work), ms(tunedLocalCost), tunedHeadroom)
	if n == MaxTunedSlots {
		why += fmt.Sprintf(" (capped at %d)", MaxTunedSlots)
	}
	return n, why
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
