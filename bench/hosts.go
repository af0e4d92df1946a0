package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wfbench/wfbench/hosts"
	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/system"
)

// hostsStack is the part of a Stack that runs on hosts (--hosts): Faktory, the APIs and
// the workers as `wfbench serve` processes, each on its own host; the driver keeps the
// links and a collector for the workers' completions.
type hostsStack struct {
	cluster   *hosts.Cluster
	workerLks []netem.LinkHandle // worker-faktory, one per worker host
	collector *system.Collector
	servers   []*http.Server // the collector, on each worker's gateway
	sink      forwardSink
	mu        sync.Mutex
	kills     []string // hosts a phase killed
	stopping  bool     // the parts are being stopped: their exits are expected
	stopErrs  []error  // parts that did not stop cleanly
	wctx      context.Context
	cancelRun context.CancelCauseFunc // ends the run when a part dies (watch)
	// clientAddrs are the client-api links' addresses, one per API host.
	clientAddrs []string
}

// ErrPartDied: a part's process on its host exited mid-run, and no phase killed it.
var ErrPartDied = errors.New("a part's process died")

// watch returns a context that also ends, with the death as its cause, when a part's
// process exits mid-run that no phase killed (nil hs: nothing to watch). Like the
// embedded broker's death, it ends the run as an environment failure.
func (hs *hostsStack) watch(ctx context.Context) (context.Context, func()) {
	if hs == nil {
		return ctx, func() {}
	}
	wctx, cancel := context.WithCancelCause(ctx)
	hs.mu.Lock()
	hs.wctx, hs.cancelRun = wctx, cancel
	hs.mu.Unlock()
	for _, h := range hs.cluster.Hosts("") {
		hs.watchHost(h)
	}
	return wctx, func() { cancel(nil) }
}

// watchHost watches h's process, once it has started, for as long as the run watches.
func (hs *hostsStack) watchHost(h *hosts.Host) {
	hs.mu.Lock()
	wctx, cancel := hs.wctx, hs.cancelRun
	hs.mu.Unlock()
	exited := hs.cluster.Exited(h)
	if cancel == nil || exited == nil {
		return // not watching yet, or not started: its start is watched instead
	}
	go func() {
		select {
		case <-exited:
			hs.mu.Lock()
			expected := hs.stopping || slices.Contains(hs.kills, h.Name)
			hs.mu.Unlock()
			if !expected {
				cancel(fmt.Errorf("%w: %s on host %s exited (%s)", ErrPartDied, h.Part, h.Name, hs.cluster.Exit(h)))
			}
		case <-wctx.Done():
		}
	}()
}

// forwardSink hands completions to the recorder once the run has one.
type forwardSink struct {
	mu   sync.Mutex
	sink system.CompletionSink
}

func (f *forwardSink) Complete(c system.Completion) {
	f.mu.Lock()
	s := f.sink
	f.mu.Unlock()
	if s != nil {
		s.Complete(c)
	}
}

// startHosts brings up the cluster's Faktory and APIs and every link (workers come with
// StartWorkers). Errors are the caller's to wrap; st.Close stops what started.
func (st *Stack) startHosts(ctx context.Context, p Plan) error {
	c, err := hosts.New(ctx, hosts.Options{Mode: p.Hosts, APIs: p.HostAPIs, Workers: p.HostWorkers, Env: partEnv(p)})
	if err != nil {
		return err
	}
	hs := &hostsStack{cluster: c}
	st.hosts = hs
	fk := c.Host(hosts.PartFaktory)
	if err := c.Start(ctx, fk, nil); err != nil {
		return err
	}
	fkAddr := strings.TrimPrefix(fk.URL, "tcp://")
	// The driver reaches Faktory directly (for INFO and the drain's accounting), its
	// clients through client-faktory.
	st.Standalone = &system.Standalone{Faktory: system.Endpoint{Addr: fkAddr}}
	// open opens link name (its n-th, for the n-th host) listening on listen.
	open := func(name, listen string, n int, upstream string) (netem.LinkHandle, error) {
		spec := p.Links[name]
		spec.Listen = listen
		if n > 0 {
			spec.Name = fmt.Sprintf("%s-%d", name, n+1)
		}
		l, err := st.Proxies.OpenLink(spec, upstream)
		if err != nil {
			return nil, fmt.Errorf("open link %s on %s: %w", spec.Name, listen, err)
		}
		return l, nil
	}
	cf, err := st.Proxies.OpenLink(p.Links[netem.ClientFaktory], fkAddr)
	if err != nil {
		return fmt.Errorf("open link %s: %w", netem.ClientFaktory, err)
	}
	st.Links[netem.ClientFaktory] = cf
	var apiLinks, clientLinks []netem.LinkHandle
	for i, h := range c.Hosts(hosts.PartAPI) {
		l, err := open(netem.APIFaktory, h.Gateway, i, fkAddr)
		if err != nil {
			return err
		}
		apiLinks = append(apiLinks, l)
		if err := c.Start(ctx, h, []string{"FAKTORY_URL=tcp://" + l.Addr()}); err != nil {
			return err
		}
		cl, err := open(netem.ClientAPI, "127.0.0.1", i, strings.TrimPrefix(h.URL, "http://")) // the driver's own side
		if err != nil {
			return err
		}
		clientLinks = append(clientLinks, cl)
		hs.clientAddrs = append(hs.clientAddrs, cl.Addr())
	}
	st.Links[netem.APIFaktory] = multiLink(apiLinks)
	st.Links[netem.ClientAPI] = multiLink(clientLinks)
	for i, h := range c.Hosts(hosts.PartWorker) {
		l, err := open(netem.WorkerFaktory, h.Gateway, i, fkAddr)
		if err != nil {
			return err
		}
		hs.workerLks = append(hs.workerLks, l)
		st.Links[h.Name] = &hostPart{hs: hs, host: h}
	}
	st.Links[netem.WorkerFaktory] = multiLink(hs.workerLks)
	return nil
}

// partEnv is the configuration every part process gets: the run's settings a standing
// system shares (serve's variables), as this plan resolved them.
func partEnv(p Plan) []string {
	var env []string
	for _, s := range Settings() {
		if s.Env != "" && s.Env != "FAKTORY_URL" {
			env = append(env, s.Env+"="+s.Get(p.RunConfig))
		}
	}
	// A run's clients keep Faktory's own 5 s per-command deadline, as in process
	// (systemConfig), not a standing system's 30 s: a link fault times calls out alike.
	return append(env, "WORKER_ACK="+p.Ack, "WORKER_WORK="+workText(p.Work),
		"JOB_RETRIES="+strconv.Itoa(jobRetries(p.RunConfig)),
		"FAKTORY_CONNECT_TIMEOUT=5s", "FAKTORY_READ_TIMEOUT=5s", "FAKTORY_WRITE_TIMEOUT=5s")
}

// workText is w in ParseWork's form.
func workText(w system.Work) string {
	if w.D == 0 {
		return "0"
	}
	if w.Spin {
		return w.D.String() + ":spin"
	}
	return w.D.String()
}

// startHostWorkers starts a worker process on every worker host, each through its own
// worker-faktory link and reporting to the collector on its gateway.
func (st *Stack) startHostWorkers(ctx context.Context, p Plan, sink system.CompletionSink) error {
	hs := st.hosts
	hs.sink.mu.Lock()
	hs.sink.sink = sink
	hs.sink.mu.Unlock()
	if hs.collector == nil {
		hs.collector = system.NewCollector(&hs.sink)
	}
	for i, h := range hs.cluster.Hosts(hosts.PartWorker) {
		url, err := hs.listen(h.Gateway)
		if err != nil {
			return err
		}
		env := []string{"FAKTORY_URL=tcp://" + hs.workerLks[i].Addr(), "WORKER_REPORT_URL=" + url,
			"WORKER_NAME=" + h.Name, "WORKER_CONCURRENCY=" + strconv.Itoa(p.WorkerConcurrency)}
		if err := hs.cluster.Start(ctx, h, env); err != nil {
			return err
		}
		hs.watchHost(h)
	}
	return nil
}

// listen serves the collector on host:0 and returns its completions URL.
func (hs *hostsStack) listen(host string) (string, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("collector on %s: %w", host, err)
	}
	srv := &http.Server{Handler: hs.collector, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	hs.servers = append(hs.servers, srv)
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String() + "/completions", nil
}

// stopParts stops the processes of one part (SIGTERM, then SIGKILL after the grace): a
// worker finishes its running jobs and sends its last completions, an API flushes.
func (hs *hostsStack) stopParts(part string, grace time.Duration) error {
	hs.mu.Lock()
	hs.stopping = true
	hs.mu.Unlock()
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, h := range hs.cluster.Hosts(part) {
		wg.Go(func() {
			if err := hs.cluster.Stop(h, grace); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	hs.mu.Lock()
	hs.stopErrs = append(hs.stopErrs, errs...)
	hs.mu.Unlock()
	return errors.Join(errs...)
}

// close stops every part and the collector, and removes the hosts.
func (hs *hostsStack) close() {
	hs.mu.Lock()
	hs.stopping = true
	hs.mu.Unlock()
	_ = hs.cluster.Close()
	for _, s := range hs.servers {
		_ = s.Close()
	}
}

// workers is each worker host's share of the run, as its collector saw it.
func (hs *hostsStack) workers() []reports.WorkerHost {
	byName := map[string]system.WorkerReport{}
	for _, w := range hs.collector.Workers() {
		byName[w.Name] = w
	}
	var out []reports.WorkerHost
	for _, h := range hs.cluster.Hosts(hosts.PartWorker) {
		w := byName[h.Name]
		wh := reports.WorkerHost{Name: h.Name, Host: h.Addr, Namespace: h.NS, Completed: w.Completed, Failed: w.Failed}
		hs.mu.Lock()
		wh.Killed = slices.Contains(hs.kills, h.Name)
		hs.mu.Unlock()
		if w.Measured {
			wh.Clock = &reports.Clock{OffsetMS: ms(w.Clock.Offset), UncertaintyMS: ms(w.Clock.Uncertainty()), Corrected: w.Corrected}
		}
		out = append(out, wh)
	}
	return out
}

// multiLink is one link name over several hosts' links (worker-faktory with two worker
// hosts): a phase imposes on all of them; it measures and is addressed as the first.
type multiLink []netem.LinkHandle

func (m multiLink) Name() string                     { return m[0].Name() }
func (m multiLink) Addr() string                     { return m[0].Addr() }
func (m multiLink) Spec() netem.Spec                 { return m[0].Spec() }
func (m multiLink) Imposed() (netem.Condition, bool) { return m[0].Imposed() }
func (m multiLink) Bytes() (up, down int64) {
	for _, l := range m {
		u, d := l.Bytes()
		up, down = up+u, down+d
	}
	return up, down
}
func (m multiLink) Impose(c netem.Condition) error {
	var errs []error
	for _, l := range m {
		errs = append(errs, l.Impose(c))
	}
	return errors.Join(errs...)
}
func (m multiLink) Lift() error {
	var errs []error
	for _, l := range m {
		errs = append(errs, l.Lift())
	}
	return errors.Join(errs...)
}

// hostPart is a worker host as a phase sees it: fault kill sends its process SIGKILL,
// as a crash would; the jobs it had reserved come back after their reservation.
type hostPart struct {
	hs      *hostsStack
	host    *hosts.Host
	mu      sync.Mutex
	cond    netem.Condition
	imposed bool
}

func (h *hostPart) Name() string          { return h.host.Name }
func (h *hostPart) Addr() string          { return h.host.Addr }
func (h *hostPart) Spec() netem.Spec      { return netem.Spec{Name: h.host.Name} }
func (h *hostPart) Bytes() (int64, int64) { return 0, 0 }
func (h *hostPart) Imposed() (netem.Condition, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cond, h.imposed
}
func (h *hostPart) Impose(c netem.Condition) error {
	if c != (netem.Condition{Fault: netem.FaultKill}) {
		return fmt.Errorf("%s: impose %s: a worker host takes fault kill only", h.host.Name, c)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hs.mu.Lock() // the intent first: the watcher sees the exit before Kill returns
	h.hs.kills = append(h.hs.kills, h.host.Name)
	h.hs.mu.Unlock()
	if err := h.hs.cluster.Kill(h.host); err != nil {
		return err
	}
	h.cond, h.imposed = c, true
	return nil
}
func (h *hostPart) Lift() error { return nil } // a killed process stays dead for the run

// hostStopGrace is how long a part process may take to stop: a worker's slot may be in
// Faktory's 2 s long poll, whose answer then crosses the link; an API flushes.
func hostStopGrace(l netem.LinkHandle) time.Duration {
	// A worker's serve shutdown: 5 s to finish its jobs, 5 s more for their ACKs, 10 s to
	// send its last completions (system.Standalone.Close and Worker.Stop).
	grace := 20 * time.Second
	if l != nil {
		grace += 2 * (l.Spec().RTT + l.Spec().Jitter)
	}
	return grace
}

// clocks says which clock each timing point was read on. Enqueue is the driver's alone;
// the others end at a worker: in this process the driver's clock too, on hosts each
// worker's, put on the driver's clock by its measured offset where that offset exceeds
// what it can be measured to (workers[].clock).
func clocks(hs *hostsStack, openLoop bool) map[string]string {
	worker := "driver (the workers run in its process)"
	if hs != nil {
		worker = "started on the driver, ended on the worker host's clock (offset to the driver's measured per worker: workers[].clock; corrected where it exceeds its uncertainty)"
	}
	c := map[string]string{reports.PointEnqueue: "driver", reports.PointPickup: worker, reports.PointEndToEnd: worker}
	if openLoop {
		c[reports.PointService] = "driver"
	}
	return c
}
