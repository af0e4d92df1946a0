package bench

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/recording"
	"github.com/wfbench/wfbench/system"
)

// Targets of the load driver.
const (
	TargetAPI     = "api"     // HTTP through the API: the full path
	TargetFaktory = "faktory" // the Faktory client directly: one PUSH/PUSHB per call
)

// RunConfig is one configuration to measure: the plan's unit.
type RunConfig struct {
	Name string

	// Network
	Netem        string        // toxiproxy | toxiproxy-external
	ToxiproxyURL string        // toxiproxy-external: the running server's API, e.g. http://127.0.0.1:8474
	Topology     string        // central | split
	RTT          time.Duration // RTT of the links that cross the WAN in the topology
	Jitter       time.Duration
	Links        []netem.Spec // per-link overrides

	// Load
	Target      string
	Batch       int
	Jobs        int           // 0 with Duration set: as many as fit
	Duration    time.Duration // 0: until Jobs are sent
	Concurrency int           // closed loop clients; open loop: most calls in flight
	Rate        float64       // jobs/s; > 0 selects the open loop
	// DrainWait caps the wait for the last jobs after the load; 0: DefaultDrainCap. The
	// drain ends sooner once no job completes for DrainIdle.
	DrainWait time.Duration
	// Burst enqueues every job before the workers start, so that the drain measures the
	// workers alone against a backlog (DESIGN §4's "burst drain throughput").
	Burst bool

	// Hosts: "none" (every part in this process), or each part its own `wfbench serve`
	// process on a host of its own: local (127.0.0.1) or netns (a network namespace).
	Hosts       string
	HostAPIs    int // API hosts
	HostWorkers int // worker hosts

	// System
	FaktoryURL string // "" = embedded
	APIURL     string // "" = the run's own API; else a running one (needs FaktoryURL)
	// APIToken is the bearer token a running API requires (its API_TOKEN). A secret: not
	// a setting, never recorded; the CLI takes it from the environment.
	APIToken          string
	PoolSize          int
	MaxBatch          int
	EnqueueMode       string        // sync | async
	FlushInterval     time.Duration // async: how often the API's buffer is flushed (0 = 10ms)
	Poll              string
	WorkerConcurrency int // 0: the strategy's own (fixed 50, tuned sized, library 20)
	PollInterval      time.Duration
	Work              string // system.ParseWork form
	// Compression of the client's request bodies to the API: none | gzip.
	Compression string

	// Phases change links at given offsets from the start of the load.
	Phases []Phase

	// Interval is the length of the run's time series' intervals (0: 1s).
	Interval time.Duration

	// LinkSamples is how many round trips measure each link before the load.
	LinkSamples int
}

// Phase is a timed change to one link within a run: imposed At after the load starts,
// lifted For later (For 0: until the run ends).
type Phase struct {
	Link      string
	At, For   time.Duration
	Condition netem.Condition
}

// ParsePhase reads a phase's text form, LINK@AT[+FOR]=CONDITION (netem.ParseCondition),
// e.g. "client-api@1s+1s=reset" or "worker-faktory@2s+3s=latency:200ms,jitter:20ms".
func ParsePhase(s string) (Phase, error) {
	bad := func(err error) (Phase, error) {
		return Phase{}, fmt.Errorf("phase %q: %v; accepted: LINK@AT[+FOR]=CONDITION, e.g. client-api@1s+1s=reset or api-faktory@2s+500ms=timeout:1s", s, err)
	}
	where, cond, ok := strings.Cut(s, "=")
	link, when, ok2 := strings.Cut(where, "@")
	if !ok || !ok2 || link == "" {
		return bad(errors.New("not in that form"))
	}
	at, dur, hasFor := strings.Cut(when, "+")
	p := Phase{Link: link}
	var err error
	if p.At, err = netem.ParseDuration(at); err != nil {
		return bad(fmt.Errorf("at %q is not a duration", at))
	}
	if hasFor {
		if p.For, err = netem.ParseDuration(dur); err != nil {
			return bad(fmt.Errorf("for %q is not a duration", dur))
		}
	}
	if p.Condition, err = netem.ParseCondition(cond); err != nil {
		return bad(err)
	}
	return p, nil
}

// String is the phase's text form, which ParsePhase reads back.
func (p Phase) String() string {
	s := p.Link + "@" + fmtDur(p.At)
	if p.For > 0 {
		s += "+" + fmtDur(p.For)
	}
	return s + "=" + p.Condition.Text()
}

// end is when the phase is lifted (never, with no For).
func (p Phase) end() time.Duration {
	if p.For == 0 {
		return time.Duration(math.MaxInt64)
	}
	return p.At + p.For
}

// Compressions are the accepted Compression values.
var Compressions = []string{"none", "gzip"}

// OpenLoopInFlight is the default cap on calls in flight in the open loop: one call in
// flight would make the schedule wait on every answer.
const OpenLoopInFlight = 100

// Bounds of a run's settings.
const (
	// MaxJobsPerRun bounds duration-only runs: every load loop is bounded in count too,
	// and the recorder keeps ~200 bytes per job for its accounting.
	MaxJobsPerRun = recording.MaxJobs
	MaxRTT        = 2 * time.Second
	// MaxPhaseOffset bounds a phase's at and for: a soak of days at most.
	MaxPhaseOffset = 1000 * time.Hour
	MaxConns       = 1000 // clients or worker slots
	// MaxFaktoryConns stays under the embedded Faktory's 2000-connection limit, with room
	// for probes and the API's own.
	MaxFaktoryConns = 1900
	MaxBatch        = 100_000 // jobs per call the API may be told to accept
	MinRate         = 0.1
	MaxRate         = 1_000_000.0
)

// Default returns the defaults of `wfbench run`, from the settings table.
func Default() RunConfig {
	var c RunConfig
	for _, s := range settingsTable {
		if s.Default != "" {
			_ = s.set(&c, s.Default)
		}
	}
	return c
}

// OpenLoop reports whether the run schedules calls at a fixed rate.
func (c RunConfig) OpenLoop() bool { return c.Rate > 0 }

// Validate checks every setting and names the bad one, as run's flags name it, with its
// accepted form.
func (c RunConfig) Validate() error { return c.ValidateAs(FlagNames) }

// ValidateAs is Validate with the settings named by n.
func (c RunConfig) ValidateAs(n Naming) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for _, s := range settingsTable {
		if s.check == nil {
			continue
		}
		if msg := s.check(c); msg != "" {
			v := s.get(c)
			if s.Kind == "string" {
				v = strconv.Quote(v)
			}
			bad("%s %s: %s", n(s), v, msg)
		}
	}
	if _, err := netem.Plan(c.Topology, c.RTT, c.Jitter, c.Links); err != nil && slices.Contains(netem.TopologyNames(), c.Topology) {
		bad("%s: %v", n.name("link"), err)
	}
	if c.Jobs == 0 && c.Duration == 0 {
		bad("%[1]s 0 needs %[2]s: give a job count (e.g. %[1]s 1000) or a duration (e.g. %[2]s 30s)", n.name("jobs"), n.name("duration"))
	}
	if k := c.Concurrency + c.PoolSize + c.maxSlots(); c.FaktoryURL == "" && k > MaxFaktoryConns {
		bad("%s + %s + %s = %d Faktory connections: the embedded Faktory refuses more than %d",
			n.name("concurrency"), n.name("pool_size"), n.name("worker_concurrency"), k, MaxFaktoryConns)
	}
	if plan, err := netem.Plan(c.Topology, c.RTT, c.Jitter, c.Links); err == nil {
		errs = append(errs, c.validatePhases(plan)...)
	}
	if c.APIURL != "" {
		errs = append(errs, c.validateRemoteAPI(n)...)
	}
	return errors.Join(errs...)
}

// validateRemoteAPI checks a run against a running API: its Faktory must be known (the
// run's workers fetch there), and the API's own paths cannot be given links or phases.
func (c RunConfig) validateRemoteAPI(n Naming) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.FaktoryURL == "" {
		bad("%s needs %s: the Faktory that API enqueues to, where the run's workers fetch its jobs", n.name("api_url"), n.name("faktory_url"))
	}
	if c.Target != TargetAPI {
		bad("%s needs %s api", n.name("api_url"), n.name("target"))
	}
	remote := []string{netem.ClientAPI, netem.APIFaktory}
	for _, l := range c.Links {
		if slices.Contains(remote, l.Name) {
			bad("%s %s: with %s that path is the running API's own; wfbench measures it and cannot emulate it", n.name("link"), l.Name, n.name("api_url"))
		}
	}
	for i, p := range c.Phases {
		if slices.Contains(remote, p.Link) {
			bad("phase %d: link %s: with %s that path is the running API's own; wfbench cannot change it", i+1, p.Link, n.name("api_url"))
		}
	}
	return errs
}

// OnHosts says the run's parts are processes on hosts of their own (--hosts).
func (c RunConfig) OnHosts() bool { return c.Hosts != "" && c.Hosts != HostsNone }

// HostsNone is --hosts' default: every part in the driver's process.
const HostsNone = "none"

// isWorkerHost says name is worker-N of the run's worker hosts.
func (c RunConfig) isWorkerHost(name string) bool {
	n, ok := workerHostNumber(name)
	return ok && n <= c.HostWorkers
}

// IsWorkerHostName says name has the form of a worker host's, worker-N (N from 1).
func IsWorkerHostName(name string) bool {
	_, ok := workerHostNumber(name)
	return ok
}

func workerHostNumber(name string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(name, "worker-"))
	return n, strings.HasPrefix(name, "worker-") && err == nil && n >= 1 && name == fmt.Sprintf("worker-%d", n)
}

// validatePhases checks each phase against the run's links and the other phases.
func (c RunConfig) validatePhases(plan map[string]netem.Spec) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	killed := map[string]bool{}
	for _, p := range c.Phases {
		if c.OnHosts() && c.isWorkerHost(p.Link) {
			killed[p.Link] = true
		}
	}
	if len(killed) > 0 && len(killed) >= c.HostWorkers {
		bad("phases kill every worker host (%d of %d): at least one must stay to run the killed ones' jobs again; add worker hosts (--workers)", len(killed), c.HostWorkers)
	}
	for i, p := range c.Phases {
		partFault, part := partFaults[p.Link]
		kill := p.Condition.Fault == netem.FaultKill
		switch _, link := plan[p.Link]; {
		case c.OnHosts() && c.isWorkerHost(p.Link):
			if p.Condition != (netem.Condition{Fault: netem.FaultKill}) || p.For != 0 {
				bad("phase %d: %s: accepted is fault kill alone, without for: %s@AT=kill (the worker host's process killed with SIGKILL)", i+1, p.Link, p.Link)
			}
		case c.OnHosts() && part:
			bad("phase %d: %s %s is not available with hosts: the part is a process on a host of its own; accepted on hosts are the links and worker-N@AT=kill (N from 1 to %d)", i+1, p.Link, partFault, c.HostWorkers)
		case p.Link == PartFaktory && c.FaktoryURL != "":
			bad("phase %d: %s restart needs the embedded Faktory: an external one is not wfbench's to stop", i+1, PartFaktory)
		case p.Link == PartRedis && c.FaktoryURL != "":
			bad("phase %d: %s kill needs the embedded Faktory: an external one's redis-server is not wfbench's to kill", i+1, PartRedis)
		case p.Link == PartAPI && c.APIURL != "":
			bad("phase %d: %s restart needs the run's own API: a running one (--api-url) is not wfbench's to stop", i+1, PartAPI)
		case part && p.Condition != (netem.Condition{Fault: partFault}) && partFault == netem.FaultKill:
			bad("phase %d: %s: accepted is fault kill alone, without for: %s@AT=kill (redis-server killed with SIGKILL)", i+1, p.Link, PartRedis)
		case part && p.Condition != (netem.Condition{Fault: partFault}):
			bad("phase %d: %s: accepted is fault restart alone (the part down for the phase, then back as it was)", i+1, p.Link)
		case part && kill && p.For != 0:
			bad("phase %d: %s kill takes no for (a kill is instantaneous): accepted is %s@AT=kill, e.g. %s@1s=kill", i+1, PartRedis, PartRedis, PartRedis)
		case part:
		case !link:
			bad("phase %d: link %q: accepted values are %s, or the parts %s, %s (fault restart), %s (fault kill), worker-N (fault kill, with hosts, N from 1 to the worker hosts)", i+1, p.Link, strings.Join(slices.Sorted(maps.Keys(plan)), ", "), PartFaktory, PartAPI, PartRedis)
		case p.Condition.Fault == netem.FaultRestart:
			bad("phase %d: restart is a part's fault: give it to %s or %s, not to link %s", i+1, PartFaktory, PartAPI, p.Link)
		case kill:
			bad("phase %d: kill is a part's fault: give it to %s (%s@AT=kill), not to link %s", i+1, PartRedis, PartRedis, p.Link)
		}
		if p.At < 0 || p.For < 0 || p.At > MaxPhaseOffset || p.For > MaxPhaseOffset {
			bad("phase %d: at and for: accepted are durations from 0 to %s", i+1, MaxPhaseOffset)
		}
		if err := p.Condition.Validate(); err != nil {
			bad("phase %d: %v", i+1, err)
		}
		if p.Condition.Fault != "" && p.For == 0 && !kill {
			bad("phase %d: fault %s needs for (how long it lasts, e.g. for: 1s): without it the fault would last through the drain and every job behind it would count as lost", i+1, p.Condition.Fault)
		}
		if c.Jobs == 0 && c.Duration > 0 && p.At >= c.Duration {
			bad("phase %d: at %s is not within the run's duration %s", i+1, p.At, c.Duration)
		}
		// One condition per link at a time: a phase replaces the one before on its
		// link, so overlapping phases there would cut each other short.
		for j, q := range c.Phases[:i] {
			if q.Link == p.Link && p.At < q.end() && q.At < p.end() {
				bad("phase %d overlaps phase %d on %s: one condition per link at a time (combine them in one phase)", i+1, j+1, p.Link)
			}
		}
	}
	return errs
}

// maxSlots is the most worker slots the configuration may open.
func (c RunConfig) maxSlots() int {
	switch {
	case c.WorkerConcurrency > 0:
		return c.WorkerConcurrency
	case c.Poll == system.PollTuned:
		return system.MaxTunedSlots
	case c.Poll == system.PollLibrary:
		return system.LibrarySlots + 2
	}
	return system.FixedSlots
}

// DisplayName is the run's name, derived from its settings when not given.
func (c RunConfig) DisplayName() string {
	if c.Name != "" {
		return c.Name
	}
	parts := []string{"rtt=" + fmtDur(c.RTT), fmt.Sprintf("batch=%d", c.Batch)}
	if c.Target != TargetAPI {
		parts = append(parts, "target="+c.Target)
	}
	if c.Poll != system.PollFixed {
		parts = append(parts, "poll="+c.Poll)
	}
	if c.Burst {
		parts = append(parts, "burst")
	}
	if c.EnqueueMode != system.EnqueueSync {
		parts = append(parts, "enqueue="+c.EnqueueMode)
	}
	if c.Topology != "central" {
		parts = append(parts, "topology="+c.Topology)
	}
	if c.Concurrency != 1 {
		parts = append(parts, fmt.Sprintf("concurrency=%d", c.Concurrency))
	}
	if c.OpenLoop() {
		parts = append(parts, fmt.Sprintf("rate=%g", c.Rate))
	}
	return strings.Join(parts, " ")
}

func fmtDur(d time.Duration) string {
	if d == 0 {
		return "0ms"
	}
	return d.String()
}

// redactURL drops a password from a Faktory URL before it is written to a report.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}
