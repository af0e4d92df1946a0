package system

import (
	"context"
	"errors"
	"fmt"
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

// ServeOptions are where the standalone parts listen.
type ServeOptions struct {
	Parts       []string // faktory, api, worker
	FaktoryBind string   // embedded Faktory (default 127.0.0.1:7419)
	WebUIBind   string   // its Web UI ("" = none)
	APIBind     string   // API (default 127.0.0.1:8080)
}

// Standalone is the reference system running as a service, not under a benchmark: the
// parts asked for, configured from Config (environment and flags).
type Standalone struct {
	Broker  *Broker
	API     *API
	Worker  *Worker
	Results *ResultStore
	pool    *Pool
	remote  *HTTPSink
	Lines   []string // where each part listens, for the operator
}

// StartStandalone starts the parts in o.Parts. Without the faktory part, cfg.FaktoryURL
// must name a running Faktory.
func StartStandalone(ctx context.Context, cfg Config, o ServeOptions) (_ *Standalone, err error) {
	st := &Standalone{Results: NewResultStore(100_000)}
	defer func() {
		if err != nil {
			_ = st.Close(context.Background())
		}
	}()
	var ep Endpoint
	if slices.Contains(o.Parts, PartFaktory) {
		st.Broker, err = StartBroker(ctx, BrokerOptions{Bind: cmpOr(o.FaktoryBind, "127.0.0.1:7419"), Password: cfg.FaktoryPassword, WebUI: o.WebUIBind})
		if err != nil {
			return nil, fmt.Errorf("start Faktory: %w", err)
		}
		ep = Endpoint{Addr: st.Broker.Addr(), Password: cfg.FaktoryPassword}
		st.Lines = append(st.Lines, "faktory  "+st.Broker.URL())
		if o.WebUIBind != "" {
			st.Lines = append(st.Lines, "web ui   http://"+o.WebUIBind+"/")
		}
	} else {
		if cfg.FaktoryURL == "" {
			return nil, ErrNoFaktoryURL
		}
		if ep, err = ParseFaktoryURL(cfg.FaktoryURL); err != nil {
			return nil, err
		}
		if ep.Password == "" { // a password in the URL wins, as ParseFaktoryURL has it
			ep.Password = cfg.FaktoryPassword
		}
	}
	ep.ConnectTimeout, ep.ReadTimeout, ep.WriteTimeout, ep.KeepAlive = cfg.ConnectTimeout, cfg.ReadTimeout, cfg.WriteTimeout, cfg.KeepAlive

	if slices.Contains(o.Parts, PartAPI) {
		if st.pool, err = NewPool(ep, cfg.PoolSize); err != nil {
			return nil, err
		}
		st.API = NewAPI(st.pool, APIOptions{MaxBatch: cfg.MaxBatch, Mode: cfg.EnqueueMode, FlushInterval: cfg.FlushInterval, Results: st.Results})
		if err = st.API.Start(cmpOr(o.APIBind, "127.0.0.1:8080")); err != nil {
			return nil, err
		}
		base := "http://" + st.API.Addr()
		st.Lines = append(st.Lines, "api      "+base+"  (POST /jobs/add, /jobs/batch; GET /jobs/{request_id}, /healthz, /metrics)")
	}
	if slices.Contains(o.Parts, PartWorker) {
		n := cfg.WorkerConcurrency
		if n == 0 {
			n = map[string]int{PollFixed: FixedSlots, PollTuned: FixedSlots, PollLibrary: LibrarySlots}[cfg.WorkerPoll]
		}
		// Completions go to the result store here, and, for an API in another process,
		// over HTTP to its POST /completions.
		sinks := Sinks{st.Results}
		if cfg.WorkerReportURL != "" {
			st.remote = NewHTTPSink(cfg.WorkerReportURL)
			sinks = append(sinks, st.remote)
		}
		st.Worker, err = StartWorker(ctx, WorkerOptions{
			Endpoint: ep, Poll: cfg.WorkerPoll, Concurrency: n, PollInterval: cfg.PollInterval,
			Ack: cfg.WorkerAck, Sink: sinks,
		})
		if err != nil {
			return nil, err
		}
		st.Lines = append(st.Lines, fmt.Sprintf("worker   %d slots, poll %s, ack %s", n, cfg.WorkerPoll, cmpOr(cfg.WorkerAck, AckSync)))
	}
	return st, nil
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
		err = st.API.Stop(actx)
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

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
