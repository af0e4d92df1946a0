package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/system"
)

// Stack is one run's reference system with netem links between its parts.
type Stack struct {
	Broker  *system.Broker // nil with an external Faktory
	Faktory system.Endpoint
	Proxies *netem.Proxies
	Links   map[string]*netem.Link
	API     *system.API
	Worker  *system.Worker
	Queue   string // the run's own Faktory queue
	Results *system.ResultStore

	apiPool *system.Pool
}

// resultsKept bounds the API's result store in a run (GET /jobs/{id} answers for the
// latest ones; the recorder does the accounting).
const resultsKept = 10_000

// ErrEnvironment marks failures of the machine rather than of the configuration
// (redis-server missing, port taken, broker unreachable): exit code 3.
var ErrEnvironment = errors.New("environment")

// StartStack brings up the broker, the links and the API for cfg (the workers come with
// StartWorkers). On error everything started is stopped.
func StartStack(ctx context.Context, cfg RunConfig, queue string) (_ *Stack, err error) {
	st := &Stack{Links: map[string]*netem.Link{}, Proxies: netem.NewProxies(), Queue: queue}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	envErr := func(what string, err error) error { return fmt.Errorf("%w: %s: %w", ErrEnvironment, what, err) }

	if cfg.FaktoryURL == "" {
		b, err := system.StartBroker(ctx, system.BrokerOptions{})
		if err != nil {
			return nil, envErr("start embedded Faktory", err)
		}
		st.Broker = b
		st.Faktory = system.Endpoint{Addr: b.Addr()}
	} else {
		ep, err := system.ParseFaktoryURL(cfg.FaktoryURL)
		if err != nil {
			return nil, err
		}
		st.Faktory = ep
		// Check it directly first: through a link, a dead broker looks like an EOF from
		// the link's own address.
		p := system.NewFaktoryProbe(ep)
		_, err = p.Probe(ctx)
		p.Close()
		if err != nil {
			return nil, envErr("Faktory at "+redactURL(cfg.FaktoryURL)+" is unreachable (is it running? is --faktory-url right?)", err)
		}
	}
	plan, err := netem.Plan(cfg.Topology, cfg.RTT, cfg.Jitter, cfg.Links)
	if err != nil {
		return nil, err
	}
	for _, name := range []string{netem.APIFaktory, netem.ClientFaktory, netem.WorkerFaktory} {
		l, err := st.Proxies.Open(plan[name], st.Faktory.Addr)
		if err != nil {
			return nil, envErr("open link "+name, err)
		}
		st.Links[name] = l
	}
	st.apiPool, err = system.NewPool(st.via(netem.APIFaktory), cfg.PoolSize)
	if err != nil {
		return nil, err
	}
	st.Results = system.NewResultStore(resultsKept)
	st.API = system.NewAPI(st.apiPool, system.APIOptions{
		MaxBatch: cfg.MaxBatch, Queue: queue, Mode: cfg.EnqueueMode, FlushInterval: cfg.FlushInterval,
		Results: st.Results,
	})
	if err := st.API.Start(""); err != nil {
		return nil, envErr("start API", err)
	}
	l, err := st.Proxies.Open(plan[netem.ClientAPI], st.API.Addr())
	if err != nil {
		return nil, envErr("open link "+netem.ClientAPI, err)
	}
	st.Links[netem.ClientAPI] = l

	return st, nil
}

// StartWorkers starts the worker slots. It is separate from StartStack so that links are
// measured on a quiet system: 50 slots whose long polls all return at once would add
// their scheduling noise to a 10 ms link's measurement.
func (st *Stack) StartWorkers(ctx context.Context, cfg RunConfig, sink system.CompletionSink) error {
	work, err := system.ParseWork(cfg.Work)
	if err != nil {
		return err
	}
	st.Worker, err = system.StartWorker(ctx, system.WorkerOptions{
		Endpoint: st.via(netem.WorkerFaktory), Poll: cfg.Poll, Concurrency: cfg.WorkerConcurrency,
		PollInterval: cfg.PollInterval, Work: work, Sink: system.Sinks{sink, st.Results}, Queue: st.Queue,
	})
	if err != nil {
		return fmt.Errorf("%w: start workers: %w", ErrEnvironment, err)
	}
	return nil
}

// via is the Faktory endpoint seen through a link.
func (st *Stack) via(link string) system.Endpoint {
	ep := st.Faktory
	ep.Addr = st.Links[link].Addr()
	return ep
}

// WarmAPIPool opens n of the API's Faktory connections ahead of the load.
func (st *Stack) WarmAPIPool(ctx context.Context, n int) error {
	return st.apiPool.Warm(ctx, n)
}

// MeasureLinks measures every link's RTT (median of samples round trips) as the parts see
// it. Links of a few milliseconds and more are probed side by side: one after the other
// they read higher, because an idle process wakes more slowly than a busy one (as it is
// under load). Shorter ones are probed one at a time, so that their probes' own work on
// two cores does not add to each other's round trips.
func (st *Stack) MeasureLinks(ctx context.Context, samples int) ([]reports.Link, error) {
	out := make([]reports.Link, len(netem.LinkNames))
	errs := make([]error, len(netem.LinkNames))
	measure := func(i int, name string) {
		l := st.Links[name]
		d, err := st.measureLink(ctx, name, samples)
		spec := l.Spec()
		out[i] = reports.Link{
			Name: name, ConfiguredRTTMS: ms(spec.RTT), MeasuredRTTMS: ms(d),
			JitterMS: ms(spec.Jitter), Samples: samples,
		}
		if err != nil {
			errs[i] = fmt.Errorf("measure link %s: %w", name, err)
		}
	}
	var wg sync.WaitGroup
	for i, name := range netem.LinkNames {
		if st.Links[name].Spec().RTT < parallelProbeRTT {
			measure(i, name)
			continue
		}
		wg.Go(func() { measure(i, name) })
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// parallelProbeRTT is the RTT from which links are probed side by side.
const parallelProbeRTT = 5 * time.Millisecond

func (st *Stack) measureLink(ctx context.Context, name string, samples int) (time.Duration, error) {
	if name == netem.ClientAPI {
		p := system.NewHTTPProbe(st.Links[name].Addr())
		defer p.Close()
		return netem.Measure(ctx, p.Probe, samples)
	}
	p := system.NewFaktoryProbe(st.via(name))
	defer p.Close()
	return netem.Measure(ctx, p.Probe, samples)
}

// StopWorkers stops the workers and returns how many jobs they still held (started, never
// reported: Faktory keeps them reserved). idle says no job of the run can be in a slot,
// so the slots are closed at once rather than sit out Faktory's 2 s long poll; otherwise
// running jobs get a bounded time to finish and be ACKed. Close does not stop them again.
func (st *Stack) StopWorkers(idle bool) (held int) {
	w := st.Worker
	if w == nil {
		return 0
	}
	st.Worker = nil
	if idle {
		_ = w.Close()
		return w.Held()
	}
	// A slot may be inside Faktory's 2 s long poll, whose answer then crosses the link.
	wait := 3 * time.Second
	if l := st.Links[netem.WorkerFaktory]; l != nil {
		wait += l.Spec().RTT + l.Spec().Jitter
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_ = w.Stop(ctx)
	return w.Held()
}

// FaktoryHolds asks Faktory, directly (not through a link), how many jobs the run's queue
// holds and, with the embedded broker (which serves this run alone), how many jobs are
// reserved in its working set; reserved is -1 on an external Faktory, whose working set
// other applications share.
func (st *Stack) FaktoryHolds(ctx context.Context) (queued, reserved int, err error) {
	c, err := st.Faktory.Dial(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	state, err := c.CurrentState()
	if err != nil {
		return 0, 0, fmt.Errorf("INFO: %w", err)
	}
	reserved = -1
	if st.Broker != nil {
		reserved = int(state.Data.Sets["working"])
	}
	return int(state.Data.Queues[st.Queue]), reserved, nil
}

// StopAPI stops the API: in-flight requests finish and, in async mode, its buffer is
// flushed to Faktory (bounded). Close stopping it again is harmless.
func (st *Stack) StopAPI() error {
	if st.API == nil {
		return nil
	}
	// In-flight requests, then (async) the buffer's last flushes across api-faktory.
	wait := 5 * time.Second
	if l := st.Links[netem.APIFaktory]; l != nil {
		wait += 2 * l.Spec().RTT
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return st.API.Stop(ctx)
}

// Close stops the workers (letting in-flight jobs finish briefly), the API, the links
// and the broker, in that order, so nothing is left running.
func (st *Stack) Close() {
	st.StopWorkers(false)
	_ = st.StopAPI()
	if st.apiPool != nil {
		st.apiPool.Close()
	}
	st.Proxies.Close()
	if st.Broker != nil {
		_ = st.Broker.Stop()
	} else if st.Queue != "" {
		st.removeQueue()
	}
}

// removeQueue drops the run's queue from an external Faktory, so a run leaves nothing
// behind (jobs a drain gave up on included).
func (st *Stack) removeQueue() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := st.Faktory.Dial(ctx)
	if err != nil {
		return
	}
	_ = c.RemoveQueues(st.Queue)
	_ = c.Close()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
