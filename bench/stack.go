package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wfbench/wfbench/hosts"
	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/system"
)

// Stack is one run's reference system: the same assembly `serve` and `up` run
// (system.StartStandalone), with a netem link on every path between its parts.
type Stack struct {
	*system.Standalone               // Broker nil with an external Faktory
	Proxies            netem.Backend // the links' backend: embedded toxiproxy, or a running server
	Links              map[string]netem.LinkHandle
	Queue              string // the run's own Faktory queue

	plan       Plan
	apiStopped bool
	hosts      *hostsStack // --hosts: the parts are processes on hosts of their own
}

// resultsKept bounds the API's result store in a run (GET /jobs/{id} answers for the
// latest ones; the recorder does the accounting).
const resultsKept = 10_000

// ErrEnvironment marks failures of the machine rather than of the configuration
// (redis-server missing, port taken, broker unreachable): exit code 3.
var ErrEnvironment = errors.New("environment")

// SystemConfig is base with the settings a standing system shares with a run (those
// with a variable in the settings table) taken from rc: serve and up configure the
// assembly with it, as a run does.
func SystemConfig(base system.Config, rc RunConfig) system.Config {
	c := base
	c.FaktoryURL, c.PoolSize, c.MaxBatch = rc.FaktoryURL, rc.PoolSize, rc.MaxBatch
	c.EnqueueMode, c.FlushInterval = rc.EnqueueMode, rc.FlushInterval
	c.WorkerPoll, c.WorkerConcurrency, c.PollInterval = rc.Poll, rc.WorkerConcurrency, rc.PollInterval
	return c
}

// systemConfig is the plan as the assembled system's configuration: the shared
// settings, and the worker as the plan resolved it.
func systemConfig(p Plan) system.Config {
	c := SystemConfig(system.DefaultConfig(), p.RunConfig)
	c.WorkerAck, c.WorkerRate, c.WorkerRTT, c.Work = p.Ack, p.OfferedRate(), p.workerLink().RTT, p.Work
	// A run's clients keep Faktory's own per-command deadline (5 s; MaxRTT is bounded by
	// it), not a standing system's 30 s: a link fault must time calls out as it would.
	c.ConnectTimeout, c.ReadTimeout, c.WriteTimeout, c.KeepAlive = 0, 0, 0, 0
	c.JobRetries = jobRetries(p.RunConfig)
	return c
}

// jobRetries is the retries a run's jobs allow: one on the run's own Faktory (a killed
// worker's jobs come back), none on a Faktory it does not own (nothing of the run comes
// back to it after the run ended and removed its queue).
func jobRetries(c RunConfig) int {
	if c.FaktoryURL != "" {
		return 0
	}
	return system.OwnBrokerRetries
}

// StartStack brings up the broker, the links and the API for p (the workers come with
// StartWorkers). On error everything started is stopped.
func StartStack(ctx context.Context, p Plan, runID string) (_ *Stack, err error) {
	envErr := func(what string, err error) error { return fmt.Errorf("%w: %s: %w", ErrEnvironment, what, err) }
	backend, err := netem.NewBackend(ctx, p.Netem, p.ToxiproxyURL, runID)
	if errors.Is(err, netem.ErrKernelNeedsHosts) && p.Hosts == hosts.ModeNetns {
		// The probe passed: this kernel has sch_netem, but the hosts' links are the
		// driver's toxiproxy links on their veths, which tc does not shape yet.
		return nil, envErr("netem kernel", errors.New("this kernel has sch_netem, but shaping the veths of --hosts netns with tc is not wired yet: use --netem toxiproxy (the default) for the links between hosts"))
	}
	if err != nil {
		return nil, envErr("netem "+p.Netem, err)
	}
	st := &Stack{Links: map[string]netem.LinkHandle{}, Proxies: backend, Queue: "wfbench-" + runID, plan: p}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	if p.OnHosts() {
		st.Queue = system.DefaultQueue // the hosts' Faktory serves this run alone, their workers its default queue
		if err := st.startHosts(ctx, p); err != nil {
			if ctx.Err() != nil { // interrupted while the hosts started: an interrupt, not the machine
				return nil, ctx.Err()
			}
			return nil, envErr("start the hosts", err)
		}
		return st, nil
	}
	var parts []string
	if p.APIURL == "" {
		parts = append(parts, system.PartAPI)
	}
	if p.FaktoryURL == "" {
		parts = append(parts, system.PartFaktory)
	} else if err := checkFaktory(ctx, p.FaktoryURL); err != nil {
		return nil, envErr("Faktory at "+redactURL(p.FaktoryURL)+" is unreachable (is it running? is --faktory-url right?)", err)
	}
	st.Standalone, err = system.StartStandalone(ctx, systemConfig(p), system.ServeOptions{
		Parts: parts, Queue: st.Queue, ResultsKept: resultsKept, Via: st.linkTo,
	})
	if err != nil {
		return nil, envErr("start the reference system", err)
	}
	if st.Broker != nil { // phases may restart (or kill) the parts, as they change links
		st.Links[PartFaktory] = brokerPart(st.Broker)
		st.Links[PartRedis] = redisPart(st.Broker)
	}
	if st.API != nil {
		st.Links[PartAPI] = apiPart(st.API)
	}
	if p.APIURL != "" {
		if _, err := st.linkTo(system.PartWorker, st.Faktory); err != nil { // the links to Faktory
			return nil, envErr("open links", err)
		}
		return st, nil
	}
	l, err := st.Proxies.OpenLink(p.Links[netem.ClientAPI], st.API.Addr())
	if err != nil {
		return nil, envErr("open link "+netem.ClientAPI, err)
	}
	st.Links[netem.ClientAPI] = l
	return st, nil
}

// APIBase is where the driver sends: the client-api link to the run's own API, or the
// running API of --api-url.
func (st *Stack) APIBase() string {
	if st.plan.APIURL != "" {
		return strings.TrimSuffix(st.plan.APIURL, "/")
	}
	return "http://" + st.Links[netem.ClientAPI].Addr()
}

// apiAddr is the host:port the client-api path is probed at.
func (st *Stack) apiAddr() string {
	return strings.TrimPrefix(st.APIBase(), "http://")
}

// checkFaktory checks an external Faktory directly: through a link, a dead broker looks
// like an EOF from the link's own address.
func checkFaktory(ctx context.Context, url string) error {
	ep, err := system.ParseFaktoryURL(url)
	if err != nil {
		return err
	}
	p := system.NewFaktoryProbe(ep)
	defer p.Close()
	_, err = p.Probe(ctx)
	return err
}

// linkTo is the assembly's Via: it opens the links to Faktory (once, all of them, so
// they are measured before the workers start) and gives each part its own.
func (st *Stack) linkTo(part string, ep system.Endpoint) (system.Endpoint, error) {
	if _, open := st.Links[netem.APIFaktory]; !open {
		for _, name := range []string{netem.APIFaktory, netem.ClientFaktory, netem.WorkerFaktory} {
			l, err := st.Proxies.OpenLink(st.plan.Links[name], ep.Addr)
			if err != nil {
				return ep, fmt.Errorf("open link %s: %w", name, err)
			}
			st.Links[name] = l
		}
	}
	link := map[string]string{system.PartAPI: netem.APIFaktory, system.PartWorker: netem.WorkerFaktory}[part]
	ep.Addr = st.Links[link].Addr()
	return ep, nil
}

// StartWorkers starts the worker slots. It is separate from StartStack so that links are
// measured on a quiet system: 50 slots whose long polls all return at once would add
// their scheduling noise to a 10 ms link's measurement.
func (st *Stack) StartWorkers(ctx context.Context, p Plan, sink system.CompletionSink) error {
	if st.hosts != nil {
		if err := st.startHostWorkers(ctx, p, sink); err != nil {
			return fmt.Errorf("%w: start workers: %w", ErrEnvironment, err)
		}
		return nil
	}
	if err := st.StartWorker(ctx, systemConfig(p), sink); err != nil {
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

// MeasureLinks measures every link's RTT (median of samples round trips) as the parts see
// it. Links of a few milliseconds and more are probed side by side: one after the other
// they read higher, because an idle process wakes more slowly than a busy one (as it is
// under load). Shorter ones are probed one at a time, so that their probes' own work on
// two cores does not add to each other's round trips.
func (st *Stack) MeasureLinks(ctx context.Context, samples int) ([]reports.Link, error) {
	out := make([]reports.Link, len(netem.LinkNames))
	errs := make([]error, len(netem.LinkNames))
	measure := func(i int, name string) {
		d, err := st.measureLink(ctx, name, samples)
		spec := st.plan.Links[name]
		out[i] = reports.Link{
			Name: name, ConfiguredRTTMS: ms(spec.RTT), MeasuredRTTMS: ms(d),
			JitterMS: ms(spec.Jitter), Samples: samples, Remote: st.Links[name] == nil,
		}
		if err != nil {
			errs[i] = fmt.Errorf("measure link %s: %w", name, err)
		}
	}
	var wg sync.WaitGroup
	for i, name := range netem.LinkNames {
		if st.plan.Links[name].RTT < parallelProbeRTT {
			measure(i, name)
			continue
		}
		wg.Go(func() { measure(i, name) })
	}
	wg.Wait()
	if st.plan.APIURL != "" { // api-faktory is the running API's own path: not ours to probe
		out = slices.DeleteFunc(out, func(l reports.Link) bool { return l.Name == netem.APIFaktory })
	}
	return out, errors.Join(errs...)
}

// parallelProbeRTT is the RTT from which links are probed side by side.
const parallelProbeRTT = 5 * time.Millisecond

func (st *Stack) measureLink(ctx context.Context, name string, samples int) (time.Duration, error) {
	if name == netem.APIFaktory && st.plan.APIURL != "" {
		return 0, nil
	}
	if name == netem.ClientAPI {
		p := system.NewHTTPProbe(st.apiAddr())
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
	if st.hosts != nil { // their held jobs stay reserved in Faktory, which counts them
		_ = st.hosts.stopParts(hosts.PartWorker, hostStopGrace(st.Links[netem.WorkerFaktory]))
		return 0
	}
	if st.Standalone == nil {
		return 0
	}
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
// holds and, with a broker of the run's own (embedded, or on its hosts: it serves this
// run alone), how many jobs are reserved in its working set or wait for a retry, and how
// many it counted acknowledged; reserved and acked are -1 on an external Faktory, whose
// sets and counters other applications share.
func (st *Stack) FaktoryHolds(ctx context.Context) (queued, reserved, acked int, err error) {
	c, err := st.Faktory.Dial(ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	defer c.Close()
	state, err := c.CurrentState()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("INFO: %w", err)
	}
	reserved, acked = -1, -1
	if st.Broker != nil || st.hosts != nil {
		// A job waiting for its retry (its worker was killed, its reservation expired)
		// is held as surely as a reserved one.
		reserved = int(state.Data.Sets["working"] + state.Data.Sets["retries"])
		acked = int(state.Data.TotalProcessed) - int(state.Data.TotalFailures)
	}
	return int(state.Data.Queues[st.Queue]), reserved, acked, nil
}

// StopAPI stops the API: in-flight requests finish and, in async mode, its buffer is
// flushed to Faktory (bounded). It stops it once; Close does not stop it again.
func (st *Stack) StopAPI() error {
	if st.hosts != nil {
		if st.apiStopped {
			return nil
		}
		st.apiStopped = true
		return st.hosts.stopParts(hosts.PartAPI, hostStopGrace(st.Links[netem.APIFaktory]))
	}
	if st.Standalone == nil || st.API == nil || st.apiStopped {
		return nil
	}
	st.apiStopped = true
	// In-flight requests, then (async) the buffer's last flushes across api-faktory.
	wait := 5 * time.Second
	if l := st.Links[netem.APIFaktory]; l != nil {
		wait += 2 * l.Spec().RTT
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return st.API.Stop(ctx)
}

// Close stops the workers (letting in-flight jobs finish briefly), the API, the
// assembly's pool and broker, and the links, so nothing is left running.
func (st *Stack) Close() {
	if st.Standalone != nil {
		st.StopWorkers(false)
		_ = st.StopAPI()
		st.API = nil // stopped above
		_ = st.Standalone.Close(context.Background())
	}
	if st.hosts != nil {
		st.hosts.close()
	}
	st.Proxies.Close()
	if st.Standalone != nil && st.plan.FaktoryURL != "" && st.Queue != "" {
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
