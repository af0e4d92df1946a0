package system

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
)

// Parts `wfbench serve` can run.
const (
	PartFaktory = "faktory"
	PartAPI     = "api"
	PartWorker  = "worker"
)

// ErrNoFaktoryURL: serving the API or a worker alone needs a Faktory to talk to.
var ErrNoFaktoryURL = errors.New("FAKTORY_URL (or --faktory-url) is required when Faktory is not one of the parts served, e.g. FAKTORY_URL=tcp://127.0.0.1:7419")

// ServeOptions are which parts run, where they listen and how they reach Faktory.
type ServeOptions struct {
	Parts       []string // faktory, api, worker
	FaktoryBind string   // embedded Faktory ("" = 127.0.0.1, an ephemeral port)
	WebUIBind   string   // its Web UI ("" = none)
	DataDir     string   // the embedded Faktory's storage, kept across restarts ("" = temporary)
	APIBind     string   // API ("" = 127.0.0.1, an ephemeral port)
	// Queue is the queue the API enqueues to and the worker fetches from ("" =
	// DefaultQueue); a run has its own.
	Queue string
	// ResultsKept bounds the result store behind GET /jobs/{request_id} (0: 100000).
	ResultsKept int
	// Via returns the endpoint through which a part (PartAPI, PartWorker) reaches
	// Faktory at ep; nil: directly. A benchmark run puts its latency links here.
	Via func(part string, ep Endpoint) (Endpoint, error)
}

// Standalone is the reference system as one assembly: the parts asked for, configured
// from Config. `serve` and `up` run it as a service; a benchmark run assembles the same
// system through it, with links in between (ServeOptions.Via).
type Standalone struct {
	Broker  *Broker
	API     *API
	Worker  *Worker
	Results *ResultStore
	Faktory Endpoint // as the parts see it before Via
	pool    *Pool
	remote  *HTTPSink
	opts    ServeOptions
	Lines   []string // where each part listens, for the operator
}

// StartStandalone starts the parts in o.Parts. Without the faktory part, cfg.FaktoryURL
// must name a running Faktory. On error everything started is stopped.
func StartStandalone(ctx context.Context, cfg Config, o ServeOptions) (_ *Standalone, err error) {
	st := &Standalone{Results: NewResultStore(cmp.Or(o.ResultsKept, 100_000)), opts: o}
	defer func() {
		if err != nil {
			_ = st.Close(context.Background())
		}
	}()
	if st.Faktory, err = st.startFaktory(ctx, cfg); err != nil {
		return nil, err
	}
	if slices.Contains(o.Parts, PartAPI) {
		if err := st.startAPI(cfg); err != nil {
			return nil, err
		}
	}
	if slices.Contains(o.Parts, PartWorker) {
		if err := st.StartWorker(ctx, cfg, nil); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// startFaktory starts the embedded Faktory, or resolves the running one cfg names.
func (st *Standalone) startFaktory(ctx context.Context, cfg Config) (Endpoint, error) {
	var ep Endpoint
	if slices.Contains(st.opts.Parts, PartFaktory) {
		b, err := StartBroker(ctx, BrokerOptions{Bind: st.opts.FaktoryBind, Password: cfg.FaktoryPassword, WebUI: st.opts.WebUIBind, DataDir: st.opts.DataDir})
		if err != nil {
			return ep, fmt.Errorf("start Faktory: %w", err)
		}
		st.Broker = b
		ep = Endpoint{Addr: b.Addr(), Password: cfg.FaktoryPassword}
		storage := "storage temporary: a restart starts empty (--data-dir keeps it)"
		if st.opts.DataDir != "" {
			storage = "storage in " + st.opts.DataDir
		}
		st.Lines = append(st.Lines, "faktory  "+b.URL()+"  ("+storage+")")
		if st.opts.WebUIBind != "" {
			st.Lines = append(st.Lines, "web ui   http://"+st.opts.WebUIBind+"/")
		}
	} else {
		if cfg.FaktoryURL == "" {
			return ep, ErrNoFaktoryURL
		}
		var err error
		if ep, err = ParseFaktoryURL(cfg.FaktoryURL); err != nil {
			return ep, err
		}
		if ep.Password == "" { // a password in the URL wins, as ParseFaktoryURL has it
			ep.Password = cfg.FaktoryPassword
		}
	}
	ep.ConnectTimeout, ep.ReadTimeout, ep.WriteTimeout, ep.KeepAlive = cfg.ConnectTimeout, cfg.ReadTimeout, cfg.WriteTimeout, cfg.KeepAlive
	return ep, nil
}

// via is the endpoint part reaches Faktory through.
func (st *Standalone) via(part string) (Endpoint, error) {
	if st.opts.Via == nil {
		return st.Faktory, nil
	}
	return st.opts.Via(part, st.Faktory)
}

func (st *Standalone) startAPI(cfg Config) error {
	ep, err := st.via(PartAPI)
	if err != nil {
		return err
	}
	if st.pool, err = NewPool(ep, cfg.PoolSize); err != nil {
		return err
	}
	st.API = NewAPI(st.pool, APIOptions{MaxBatch: cfg.MaxBatch, Queue: st.opts.Queue, Mode: cfg.EnqueueMode,
		FlushInterval: cfg.FlushInterval, Results: st.Results, Token: cfg.APIToken, Retries: cfg.JobRetries})
	if err = st.API.Start(st.opts.APIBind); err != nil {
		return fmt.Errorf("start API: %w", err)
	}
	st.Lines = append(st.Lines, "api      http://"+st.API.Addr()+"  (POST /jobs/add, /jobs/batch; GET /jobs/{request_id}, /healthz, /metrics)")
	return nil
}

// WarmAPIPool opens n of the API's Faktory connections ahead of a load.
func (st *Standalone) WarmAPIPool(ctx context.Context, n int) error {
	return st.pool.Warm(ctx, n)
}

// StartWorker starts the worker part: its slots sized by SizeWorker (tuned: Little's law
// on WORKER_RATE and the RTT to Faktory, measured here unless cfg.WorkerRTT gives it)
// and its ACK mode by AckFor, unless cfg sets them. Completions go to the result store,
// to sink, and, for an API in another process, over HTTP to WORKER_REPORT_URL.
func (st *Standalone) StartWorker(ctx context.Context, cfg Config, sink CompletionSink) error {
	ep, err := st.via(PartWorker)
	if err != nil {
		return err
	}
	rtt := cfg.WorkerRTT
	if cfg.WorkerConcurrency == 0 && cfg.WorkerPoll == PollTuned && rtt == 0 {
		if rtt, err = measureFaktory(ctx, ep); err != nil {
			return fmt.Errorf("measure the RTT to Faktory to size the tuned worker: %w", err)
		}
	}
	n, why := SizeWorker(cfg.WorkerPoll, cfg.WorkerConcurrency, cfg.WorkerRate, rtt, cfg.Work.D)
	ack := cmp.Or(cfg.WorkerAck, AckFor(cfg.WorkerPoll))
	sinks := Sinks{st.Results}
	if sink != nil {
		sinks = append(sinks, sink)
	}
	if cfg.WorkerReportURL != "" {
		st.remote = NewHTTPSinkWith(cfg.WorkerReportURL, HTTPSinkOptions{Token: cfg.APIToken, Name: cmp.Or(cfg.WorkerName, defaultWorkerName())})
		sinks = append(sinks, st.remote)
	}
	st.Worker, err = StartWorker(ctx, WorkerOptions{
		Endpoint: ep, Poll: cfg.WorkerPoll, Concurrency: n, PollInterval: cfg.PollInterval,
		Ack: ack, Work: cfg.Work, Sink: sinks, Queue: st.opts.Queue,
	})
	if err != nil {
		return err
	}
	line := fmt.Sprintf("worker   %d slots, poll %s, ack %s", n, cfg.WorkerPoll, ack)
	if why != "" {
		line += " (" + why + ")"
	}
	st.Lines = append(st.Lines, line)
	return nil
}

// defaultWorkerName is host-pid: unique among the worker processes of one collector.
func defaultWorkerName() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", cmp.Or(h, "worker"), os.Getpid())
}

// measureFaktory is the median RTT of a few commands to Faktory at ep.
func measureFaktory(ctx context.Context, ep Endpoint) (time.Duration, error) {
	p := NewFaktoryProbe(ep)
	defer p.Close()
	var samples []time.Duration
	for range 5 {
		d, err := p.Probe(ctx)
		if err != nil {
			return 0, err
		}
		samples = append(samples, d)
	}
	slices.Sort(samples)
	return samples[len(samples)/2], nil
}

// Close stops the worker (finishing running jobs), the API (flushing an async buffer)
// and the broker, bounded by ctx plus their own short budgets. It reports accepted jobs
// the API could not hand to Faktory before its deadline.
func (st *Standalone) Close(ctx context.Context) error {
	var err error
	if st.Worker != nil {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_ = st.Worker.Stop(wctx)
		cancel()
	}
	if st.remote != nil {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = errors.Join(err, st.remote.Close(rctx))
		cancel()
	}
	if st.API != nil {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = errors.Join(err, st.API.Stop(actx))
		cancel()
	}
	if st.pool != nil {
		st.pool.Close()
	}
	if st.Broker != nil {
		err = errors.Join(err, st.Broker.Stop())
	}
	return err
}
