package hosts

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"time"
)

// Modes of a run's hosts.
const (
	ModeLocal = "local" // each part its own process, on 127.0.0.1
	ModeNetns = "netns" // each part its own process in its own network namespace
)

// ModeNames are the accepted --hosts values.
var ModeNames = []string{ModeLocal, ModeNetns}

// Parts a host runs (as `wfbench serve` names them).
const (
	PartFaktory = "faktory"
	PartAPI     = "api"
	PartWorker  = "worker"
)

// Host is one part's host.
type Host struct {
	Name    string // faktory, api-1, worker-1, ...
	Part    string // faktory, api or worker
	NS      string // its network namespace ("" local)
	Addr    string // its own address
	Gateway string // the driver's end of its veth (local: 127.0.0.1): links and the collector listen there for it
	URL     string // where its part listens once started: tcp://… (faktory), http://… (api)

	dev  string
	proc *proc
}

// Options say which hosts a cluster has and what every part is configured with.
type Options struct {
	Mode    string
	APIs    int      // API hosts (at least 1)
	Workers int      // worker hosts (at least 1)
	Env     []string // KEY=VALUE settings every part gets (serve's variables)
}

// MaxHosts bounds APIs and Workers (addresses: 10.B.n.0/30 for n < 256).
const MaxHosts = 64

// Cluster is a run's hosts and the processes on them.
type Cluster struct {
	mode  string
	bin   string
	env   []string
	mu    sync.Mutex
	hosts []*Host
}

// New makes the hosts (for netns, their namespaces and veth pairs). Where namespaces
// cannot be made the error wraps ErrUnavailable and says why. On error nothing is left.
func New(ctx context.Context, o Options) (_ *Cluster, err error) {
	if !slices.Contains(ModeNames, o.Mode) {
		return nil, fmt.Errorf("hosts %q: accepted are local, netns", o.Mode)
	}
	if o.APIs < 1 || o.APIs > MaxHosts || o.Workers < 1 || o.Workers > MaxHosts {
		return nil, fmt.Errorf("%d APIs and %d workers: each from 1 to %d", o.APIs, o.Workers, MaxHosts)
	}
	bin, err := binary()
	if err != nil {
		return nil, fmt.Errorf("find the wfbench binary the parts run: %w", err)
	}
	c := &Cluster{mode: o.Mode, bin: bin, env: append(baseEnv(), o.Env...)}
	c.hosts = append(c.hosts, &Host{Name: PartFaktory, Part: PartFaktory})
	for i := range o.APIs {
		c.hosts = append(c.hosts, &Host{Name: fmt.Sprintf("api-%d", i+1), Part: PartAPI})
	}
	for i := range o.Workers {
		c.hosts = append(c.hosts, &Host{Name: fmt.Sprintf("worker-%d", i+1), Part: PartWorker})
	}
	if o.Mode == ModeLocal {
		for _, h := range c.hosts {
			h.Addr, h.Gateway = "127.0.0.1", "127.0.0.1"
		}
		return c, nil
	}
	if err := checkNetns(); err != nil {
		return nil, err
	}
	// One driver at a time picks its block and puts its addresses up: two starting
	// together would otherwise both see 10.200 free.
	unlock, err := lockHosts()
	if err != nil {
		return nil, err
	}
	defer unlock()
	sweep()
	block, err := addrBlock()
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = c.Close()
		}
	}()
	for n, h := range c.hosts {
		if err := addNetnsHost(ctx, h, os.Getpid(), block, n); err != nil {
			return nil, fmt.Errorf("host %s: %w", h.Name, err)
		}
	}
	return c, nil
}

// baseEnv is what parts inherit of the driver's environment: where programs are
// (redis-server), and no configuration of its own (FAKTORY_URL and the like).
func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// Mode is local or netns.
func (c *Cluster) Mode() string { return c.mode }

// Hosts lists the hosts of a part ("" every host).
func (c *Cluster) Hosts(part string) []*Host {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Host
	for _, h := range c.hosts {
		if part == "" || h.Part == part {
			out = append(out, h)
		}
	}
	return out
}

// Host is the host named name, or nil.
func (c *Cluster) Host(name string) *Host {
	for _, h := range c.Hosts("") {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// Start runs h's part (`wfbench serve PART`) on h with the cluster's settings and env
// (KEY=VALUE, which win), and waits until it is up. It fills h.URL for a listener.
func (c *Cluster) Start(ctx context.Context, h *Host, env []string) error {
	argv := []string{c.bin, "serve", h.Part}
	switch h.Part {
	case PartFaktory:
		argv = append(argv, "--bind-faktory", net.JoinHostPort(h.Addr, "0"))
	case PartAPI:
		argv = append(argv, "--bind-api", net.JoinHostPort(h.Addr, "0"))
	}
	if h.NS != "" {
		argv = append([]string{"ip", "netns", "exec", h.NS}, argv...)
	}
	p, err := startProc(ctx, h.Name, argv, append(slices.Clip(c.env), env...))
	if err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	if h.Part != PartWorker {
		if h.URL, err = p.banner(h.Part); err != nil {
			p.kill()
			return fmt.Errorf("host %s: %w", h.Name, err)
		}
	}
	c.mu.Lock()
	h.proc = p
	c.mu.Unlock()
	return nil
}

// Stop stops h's part (SIGTERM; SIGKILL after grace). A part that had died or exited
// with an error says so.
func (c *Cluster) Stop(h *Host, grace time.Duration) error {
	c.mu.Lock()
	p := h.proc
	c.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.stop(grace)
}

// Kill sends h's part SIGKILL, as a crash would, and waits until it is gone.
func (c *Cluster) Kill(h *Host) error {
	c.mu.Lock()
	p := h.proc
	c.mu.Unlock()
	if p == nil || p.exited() {
		return fmt.Errorf("kill %s: it is not running", h.Name)
	}
	p.kill()
	return nil
}

// Exited is closed when h's part has exited (nil before it started).
func (c *Cluster) Exited(h *Host) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h.proc == nil {
		return nil
	}
	return h.proc.done
}

// Exit says how h's part exited, with the last lines it printed.
func (c *Cluster) Exit(h *Host) string {
	c.mu.Lock()
	p := h.proc
	c.mu.Unlock()
	if p == nil || !p.exited() {
		return "running"
	}
	return fmt.Sprintf("%v: %s", p.err, p.output())
}

// Running says whether h's part is running.
func (c *Cluster) Running(h *Host) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return h.proc != nil && !h.proc.exited()
}

// Close stops every part, workers first (they finish their jobs and send their
// completions), then the APIs, then Faktory, and removes the namespaces.
func (c *Cluster) Close() error {
	var errs []error
	for _, part := range []string{PartWorker, PartAPI, PartFaktory} {
		hs := c.Hosts(part)
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, h := range hs {
			wg.Go(func() {
				if err := c.Stop(h, stopGrace); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	for _, h := range c.Hosts("") {
		if err := removeNetns(h.NS); err != nil {
			errs = append(errs, err)
		}
		h.NS = ""
	}
	return errors.Join(errs...)
}

// stopGrace is how long a part may take to stop after SIGTERM: a worker's running jobs
// and its last completions, an API's async buffer.
const stopGrace = 10 * time.Second
