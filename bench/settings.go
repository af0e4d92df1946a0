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

	"github.com/wfbench/wfbench/hosts"
	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/system"
)

// Setting is one run setting, declared once: run's flag, the scenario files' key, the
// variable `serve` and `up` read, the default, the accepted range and the help text all
// come from its entry in the settings table, and the result records it under its key.
type Setting struct {
	Key     string // scenario key, --set key and key in the result's config.settings
	Flag    string // run's flag, without "--"
	Env     string // the environment variable serve and up read ("" = none)
	Default string // in the setting's own text form
	Help    string // the flag's help
	Accept  string // the accepted form, for parse errors
	Kind    string // the value's type, as flag help shows it: duration, int, number, string, bool, list
	List    bool   // each value adds one (link)
	Bool    bool   // a flag that needs no value (--burst)

	set   func(c *RunConfig, v string) error // parses v into c; the error says what v is not
	reset func(c *RunConfig)                 // a List's: empties it, for a later layer's values
	get   func(c RunConfig) string           // the canonical text form
	check func(c RunConfig) string           // "" when the value is in range, else the accepted range
}

// Set parses v into c. The error names the setting, the value and the accepted form.
func (s Setting) Set(c *RunConfig, v string) error {
	if err := s.Parse(c, v); err != nil {
		return fmt.Errorf("%s %q: %w", s.Key, v, err)
	}
	return nil
}

// Parse is Set with an error that says only what v is not and the accepted form, for
// callers that name the setting and value themselves (a flag parser).
func (s Setting) Parse(c *RunConfig, v string) error {
	if err := s.set(c, strings.TrimSpace(v)); err != nil {
		return fmt.Errorf("%v; accepted: %s", err, s.Accept)
	}
	return nil
}

// Check says whether the setting's value in c is in its accepted range (nil), or what
// the range is.
func (s Setting) Check(c RunConfig) error {
	if s.check == nil {
		return nil
	}
	if msg := s.check(c); msg != "" {
		return errors.New(msg)
	}
	return nil
}

// Reset empties a List setting in c, so that the values of a later layer (a run over
// its scenario's base) replace rather than add to it.
func (s Setting) Reset(c *RunConfig) {
	if s.reset != nil {
		s.reset(c)
	}
}

// Get returns the setting's value in c in canonical form ("0.1s" → "100ms").
func (s Setting) Get(c RunConfig) string { return s.get(c) }

// The settings table, in the order `scenario show` and `run --help` document them.
var settingsTable = []Setting{
	durSetting("rtt", "0", "round-trip time of the links that cross the WAN, e.g. 100ms",
		func(c *RunConfig) *time.Duration { return &c.RTT }, 0, MaxRTT, " (Faktory's client times out an answer after 5 s), e.g. 100ms"),
	{Key: "jitter", Kind: "duration", Default: "0", Accept: durAccept, Help: "RTT jitter: each round trip takes RTT ± jitter (half per direction), e.g. 5ms",
		set: setDur(func(c *RunConfig) *time.Duration { return &c.Jitter }), get: func(c RunConfig) string { return fmtDur(c.Jitter) },
		check: func(c RunConfig) string {
			if c.Jitter < 0 || c.Jitter > c.RTT && c.RTT > 0 {
				return "accepted is a duration from 0 to the RTT, e.g. 5ms"
			}
			return ""
		}},
	enumSetting("topology", "central", netem.TopologyNames(), "which links cross the WAN: central (client-api, client-faktory, worker-faktory) or split (api-faktory too)", func(c *RunConfig) *string { return &c.Topology }),
	{Key: "link", Kind: "list", List: true, Accept: "NAME=RTT[,jitter=D], NAME one of " + strings.Join(netem.LinkNames, ", ") + " (a list for several links)",
		Help: "set one link: NAME=RTT[,jitter=D], NAME one of " + strings.Join(netem.LinkNames, ", ") + " (repeatable)",
		set: func(c *RunConfig, v string) error {
			s, err := netem.ParseLink(v)
			if err != nil {
				return err
			}
			c.Links = append(c.Links, s)
			return nil
		},
		reset: func(c *RunConfig) { c.Links = nil },
		get: func(c RunConfig) string {
			parts := make([]string, len(c.Links))
			for i, l := range c.Links {
				parts[i] = l.String()
			}
			return strings.Join(parts, " ")
		}},
	{Key: "phase", Kind: "list", List: true, Accept: "LINK@AT[+FOR]=CONDITION, e.g. client-api@1s+1s=reset (a list for several)",
		Help: "a timed condition on one link: LINK@AT[+FOR]=CONDITION, CONDITION comma-separated latency:D, jitter:D, bandwidth:RATE or a fault (" + netem.FaultForms + "), e.g. client-api@1s+1s=reset or worker-faktory@2s+3s=latency:200ms (repeatable)",
		set: func(c *RunConfig, v string) error {
			p, err := ParsePhase(v)
			if err != nil {
				return err
			}
			c.Phases = append(c.Phases, p)
			return nil
		},
		reset: func(c *RunConfig) { c.Phases = nil },
		get: func(c RunConfig) string {
			parts := make([]string, len(c.Phases))
			for i, p := range c.Phases {
				parts[i] = p.String()
			}
			return strings.Join(parts, " ")
		}},
	enumSetting("target", TargetAPI, []string{TargetAPI, TargetFaktory}, "where the driver enqueues: api (HTTP, full path), faktory (client, direct)", func(c *RunConfig) *string { return &c.Target }),
	{Key: "batch", Kind: "int", Default: "1", Accept: intAccept, Help: "jobs per enqueue call (POST /jobs/batch or PUSHB when > 1)",
		set: setInt(func(c *RunConfig) *int { return &c.Batch }), get: func(c RunConfig) string { return strconv.Itoa(c.Batch) },
		check: func(c RunConfig) string {
			if c.Batch < 1 || c.Batch > c.MaxBatch {
				return fmt.Sprintf("accepted is an integer from 1 to %d (FAKTORY_MAX_BATCH_SIZE)", c.MaxBatch)
			}
			return ""
		}},
	intSetting("jobs", "1000", "jobs to send (0 with --duration: as many as fit)", func(c *RunConfig) *int { return &c.Jobs }, 0, MaxJobsPerRun, ""),
	durSetting("duration", "0", "stop sending after this long, e.g. 30s (given alone, without --jobs: as many jobs as fit)",
		func(c *RunConfig) *time.Duration { return &c.Duration }, 0, 0, ", e.g. 30s"),
	intSetting("concurrency", "1", fmt.Sprintf("closed loop: clients sending in parallel; open loop: most calls in flight (%d with --rate unless set)", OpenLoopInFlight),
		func(c *RunConfig) *int { return &c.Concurrency }, 1, MaxConns, ""),
	{Key: "rate", Kind: "number", Default: "0", Accept: "jobs per second, e.g. 200 (0 = closed loop)", Help: "open loop: jobs per second on a fixed schedule (0 = closed loop)",
		set: func(c *RunConfig, v string) error {
			f, err := strconv.ParseFloat(strings.TrimSuffix(v, "/s"), 64)
			if err != nil {
				return fmt.Errorf("not a number")
			}
			c.Rate = f
			return nil
		},
		get: func(c RunConfig) string { return strconv.FormatFloat(c.Rate, 'g', -1, 64) },
		check: func(c RunConfig) string {
			if math.IsNaN(c.Rate) || c.Rate < 0 || c.Rate > MaxRate || (c.Rate > 0 && c.Rate < MinRate) {
				return fmt.Sprintf("accepted is jobs per second from %g to %g (or 0 for the closed loop)", MinRate, MaxRate)
			}
			return ""
		}},
	{Key: "burst", Kind: "bool", Bool: true, Default: "false", Accept: "true or false",
		Help: "enqueue every job before the workers start: the drain then measures the workers alone (drain jobs/s)",
		set: func(c *RunConfig, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("not a boolean")
			}
			c.Burst = b
			return nil
		},
		get: func(c RunConfig) string { return strconv.FormatBool(c.Burst) }},
	durSetting("drain_timeout", "0", "longest wait for accepted jobs to complete after the load (0 = as long as jobs keep completing, up to 1h); the drain also ends after a stretch without a completion (10s, longer with --work, a long worker link or an async flush interval). Jobs Faktory still holds then are reported pending, not lost",
		func(c *RunConfig) *time.Duration { return &c.DrainWait }, 0, 0, fmt.Sprintf(" (0: as long as jobs keep completing, up to %s), e.g. 2m", DefaultDrainCap)),
	{Key: "faktory_url", Kind: "string", Env: "FAKTORY_URL", Accept: "a Faktory URL, e.g. tcp://host:7419",
		Help: "use a running Faktory (tcp://host:7419, tcp+tls://:password@host:port) instead of the embedded one",
		set:  func(c *RunConfig, v string) error { c.FaktoryURL = v; return nil },
		// Without its password: the value names runs and is recorded in their params.
		get: func(c RunConfig) string { return redactURL(c.FaktoryURL) },
		check: func(c RunConfig) string {
			if c.FaktoryURL == "" {
				return ""
			}
			if _, err := system.ParseFaktoryURL(c.FaktoryURL); err != nil {
				return "accepted is tcp://host:port or tcp+tls://[:password@]host:port (" + err.Error() + ")"
			}
			return ""
		}},
	{Key: "api_url", Kind: "string", Accept: "an http:// URL of a running API, e.g. http://127.0.0.1:8080",
		Help: "send to a running API (wfbench serve api, or one that speaks its endpoints) instead of the run's own; needs --faktory-url, the Faktory it enqueues to. The run's jobs go to the run's own queue (X-Wfbench-Queue); client-api is then measured, not emulated",
		set:  func(c *RunConfig, v string) error { c.APIURL = v; return nil },
		get:  func(c RunConfig) string { return c.APIURL },
		check: func(c RunConfig) string {
			if c.APIURL == "" {
				return ""
			}
			if u, err := url.Parse(c.APIURL); err != nil || u.Scheme != "http" || u.Host == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") ||
				u.User != nil || u.RawQuery != "" || u.Fragment != "" {
				return "accepted is http://host:port of a running API, e.g. http://127.0.0.1:8080"
			}
			return ""
		}},
	intSetting("pool_size", "50", "API's Faktory connection pool size", func(c *RunConfig) *int { return &c.PoolSize }, 1, MaxConns, "").env("FAKTORY_POOL_SIZE"),
	intSetting("max_batch", "1000", "largest batch the API accepts", func(c *RunConfig) *int { return &c.MaxBatch }, 1, MaxBatch, "").env("FAKTORY_MAX_BATCH_SIZE"),
	enumSetting("enqueue_mode", system.EnqueueSync, system.EnqueueModes, "API enqueue mode: sync (answer once Faktory has the job), async (answer once buffered; a flusher PUSHBs)",
		func(c *RunConfig) *string { return &c.EnqueueMode }).env("API_ENQUEUE_MODE").flag("enqueue"),
	durSetting("flush_interval", "0", "async: flush the API's buffer this often (0 = 10ms)",
		func(c *RunConfig) *time.Duration { return &c.FlushInterval }, 0, time.Minute, " (0 = the default, 10ms)").env("FLUSH_INTERVAL"),
	enumSetting("poll", system.PollFixed, system.PollStrategies, "worker poll strategy: fixed (FETCH, run, ACK and wait; sleep after an empty FETCH), tuned (slots by Little's law, pipelined ACKs, no sleep), library (faktory_worker_go's Manager)",
		func(c *RunConfig) *string { return &c.Poll }).env("WORKER_POLL"),
	intSetting("worker_concurrency", "0", "worker fetch slots; 0 = the strategy's own: fixed 50, tuned sized by Little's law, library 20",
		func(c *RunConfig) *int { return &c.WorkerConcurrency }, 0, MaxConns, " (or 0 for the strategy's own)").env("WORKER_CONCURRENCY"),
	durSetting("poll_interval", "1s", "fixed poll: sleep after an empty FETCH",
		func(c *RunConfig) *time.Duration { return &c.PollInterval }, 0, time.Minute, ", e.g. 1s").env("WORKER_POLL_INTERVAL"),
	{Key: "work", Kind: "string", Accept: "DURATION[:sleep|:spin], e.g. 2ms or 500us:spin",
		Help: "simulated service time per job: DURATION[:sleep|:spin], e.g. 2ms or 500us:spin",
		set: func(c *RunConfig, v string) error {
			if _, err := system.ParseWork(v); err != nil {
				return fmt.Errorf("not a duration[:mode]")
			}
			c.Work = v
			return nil
		},
		get: func(c RunConfig) string { // "2000us:sleep" → "2ms", as results record it
			w, err := system.ParseWork(c.Work)
			if err != nil {
				return c.Work
			}
			if w.Spin {
				return fmtDur(w.D) + ":spin"
			}
			return fmtDur(w.D)
		},
		check: func(c RunConfig) string {
			if _, err := system.ParseWork(c.Work); err != nil {
				return "accepted is DURATION[:sleep|:spin], e.g. 2ms or 500us:spin"
			}
			return ""
		}},
	{Key: "compression", Kind: "string", Default: "none", Accept: "one of " + strings.Join(Compressions, ", "), Help: "client request bodies to the API: " + strings.Join(Compressions, ", "),
		set: setEnum(Compressions, func(c *RunConfig) *string { return &c.Compression }), get: func(c RunConfig) string { return c.Compression },
		check: func(c RunConfig) string {
			if c.Compression == "gzip" && c.Target != TargetAPI {
				return "gzip needs target api: Faktory's protocol has no compression"
			}
			return ""
		}},
	enumSetting("netem", netem.BackendToxiproxy, netem.BackendNames, "latency backend: toxiproxy (embedded, µs delay line), toxiproxy-external (a running official toxiproxy server, --toxiproxy-url; whole-ms latency per direction, its own overhead measured and compensated) or kernel (Linux tc netem on the veth links of --hosts netns; needs root and the sch_netem module, probed at start)", func(c *RunConfig) *string { return &c.Netem }),
	{Key: "toxiproxy_url", Kind: "string", Accept: "the HTTP API of a running toxiproxy server, e.g. http://127.0.0.1:8474",
		Help: "toxiproxy-external: the running toxiproxy server's HTTP API; the run's links are created there, named wfbench-<run id>-<link>, and removed at its end",
		set:  func(c *RunConfig, v string) error { c.ToxiproxyURL = v; return nil },
		get:  func(c RunConfig) string { return c.ToxiproxyURL },
		check: func(c RunConfig) string {
			switch {
			case c.Netem == netem.BackendExternal && c.ToxiproxyURL == "":
				return "toxiproxy-external needs it: accepted is http://host:port of a running toxiproxy server, e.g. http://127.0.0.1:8474"
			case c.ToxiproxyURL == "":
				return ""
			case c.Netem != netem.BackendExternal:
				return "only with --netem toxiproxy-external"
			}
			if u, err := url.Parse(c.ToxiproxyURL); err != nil || u.Scheme != "http" || u.Host == "" {
				return "accepted is http://host:port of a running toxiproxy server, e.g. http://127.0.0.1:8474"
			}
			return ""
		}},
	enumSetting("hosts", HostsNone, append([]string{HostsNone}, hosts.ModeNames...), "run each part as its own wfbench serve process on a host of its own: local (on 127.0.0.1) or netns (a network namespace per part, joined to the driver by a veth pair; needs root and ip); none keeps every part in this process",
		func(c *RunConfig) *string { return &c.Hosts }).also(func(c RunConfig) string {
		switch {
		case !c.OnHosts():
			return ""
		case c.FaktoryURL != "" || c.APIURL != "":
			return "the hosts run the run's own Faktory and API: not with --faktory-url or --api-url"
		case c.Netem == netem.BackendExternal:
			return "not with --netem toxiproxy-external (the links are the driver's own, on the hosts' veths): use toxiproxy"
		}
		return ""
	}),
	intSetting("workers", "1", "--hosts: how many worker hosts, each a wfbench serve worker process with the run's worker settings", func(c *RunConfig) *int { return &c.HostWorkers }, 1, hosts.MaxHosts, "").also(onHostsOnly("workers")),
	intSetting("apis", "1", "--hosts: how many API hosts; the driver's connections are spread over them, each through a client-api link of its own", func(c *RunConfig) *int { return &c.HostAPIs }, 1, hosts.MaxHosts, "").also(onHostsOnly("apis")),
	{Key: "interval", Kind: "duration", Default: reports.DefaultInterval.String(), Accept: durAccept,
		Help: "time series: record throughput and latency per interval of this length (100ms to 1h), written as HdrHistogram interval logs (<run>.<point>.hlog) as each ends, and plotted over time",
		set:  setDur(func(c *RunConfig) *time.Duration { return &c.Interval }), get: func(c RunConfig) string { return fmtDur(c.Interval) },
		check: func(c RunConfig) string {
			if c.Interval == 0 {
				return ""
			}
			if err := reports.CheckInterval(c.Interval); err != nil {
				_, accept, _ := strings.Cut(err.Error(), ": ")
				return accept
			}
			return ""
		}},
	intSetting("link_samples", "5", "round trips that measure each link before the load (the median is reported; toxiproxy-external takes at least 21)",
		func(c *RunConfig) *int { return &c.LinkSamples }, 1, 1000, ""),
}

func init() {
	for i := range settingsTable {
		s := &settingsTable[i]
		if s.Flag == "" {
			s.Flag = strings.ReplaceAll(s.Key, "_", "-")
		}
	}
}

// Settings returns the settings table.
func Settings() []Setting { return slices.Clone(settingsTable) }

// SettingKeys lists the keys a scenario's base, matrix and runs accept.
func SettingKeys() []string {
	keys := make([]string, len(settingsTable))
	for i, s := range settingsTable {
		keys[i] = s.Key
	}
	return keys
}

// LookupSetting finds a setting by its key.
func LookupSetting(key string) (Setting, bool) {
	i := slices.IndexFunc(settingsTable, func(s Setting) bool { return s.Key == key })
	if i < 0 {
		return Setting{}, false
	}
	return settingsTable[i], true
}

// Canonical returns v in the setting's canonical form ("0.1s" → "100ms").
func Canonical(key, v string) (string, error) {
	s, ok := LookupSetting(key)
	if !ok {
		return "", fmt.Errorf("unknown setting %q; valid settings: %s", key, strings.Join(SettingKeys(), ", "))
	}
	c := Default()
	s.Reset(&c)
	if err := s.Set(&c, v); err != nil {
		return "", err
	}
	return s.get(c), nil
}

// Naming says how errors name a setting: FlagNames as run's flags (--pool-size), KeyNames
// as scenario files' keys (pool_size).
type Naming func(s Setting) string

var (
	FlagNames Naming = func(s Setting) string { return "--" + s.Flag }
	KeyNames  Naming = func(s Setting) string { return s.Key }
)

// name returns how n names the setting of key.
func (n Naming) name(key string) string {
	s, ok := LookupSetting(key)
	if !ok {
		return key
	}
	return n(s)
}

// Implied applies the defaults one setting implies for another the user did not give
// (given reports whether a key was set): a duration alone sends as many jobs as fit, and
// the open loop allows OpenLoopInFlight calls in flight, so that the offered rate, not
// one call's wait, sets the pace.
func (c *RunConfig) Implied(given func(key string) bool) {
	if c.Duration > 0 && !given("jobs") {
		c.Jobs = 0
	}
	if c.Rate > 0 && !given("concurrency") {
		c.Concurrency = OpenLoopInFlight
	}
}

// Record returns every setting of c in canonical form, keyed by setting: the result's
// config.settings, from which FromRecord rebuilds the configuration.
func Record(c RunConfig) map[string]string {
	out := make(map[string]string, len(settingsTable))
	for _, s := range settingsTable {
		out[s.Key] = s.get(c)
	}
	return out
}

// SettingsOf returns every setting of a measured run in canonical form, read back from
// its recorded configuration, so expectations can select runs from result.json alone.
// Scenario parameters recorded with the run win (they keep settings as written).
func SettingsOf(r *reports.Run) map[string]string {
	c := FromRecord(r.Config)
	if len(r.Config.Settings) == 0 && r.Intervals != nil && r.Intervals.IntervalS > 0 {
		c.Interval = time.Duration(math.Round(r.Intervals.IntervalS*1000)) * time.Millisecond
	}
	out := Record(c)
	maps.Copy(out, r.Params)
	return out
}

// FromRecord rebuilds the configuration a result records: from its settings, or, in a
// result written before they were recorded, from the typed fields it has.
func FromRecord(rc reports.Config) RunConfig {
	c := Default()
	if len(rc.Settings) > 0 {
		for _, s := range settingsTable {
			s.Reset(&c)
		}
		for _, s := range settingsTable {
			v, ok := rc.Settings[s.Key]
			if !ok {
				continue
			}
			if s.List {
				for _, x := range strings.Fields(v) {
					_ = s.set(&c, x)
				}
				continue
			}
			_ = s.set(&c, v)
		}
		return c
	}
	d := func(msv float64) time.Duration {
		return time.Duration(msv * float64(time.Millisecond)).Round(time.Microsecond)
	}
	c.RTT, c.Jitter, c.Topology, c.Target = d(rc.RTTMS), d(rc.JitterMS), rc.Topology, rc.Target
	c.Batch, c.Jobs, c.Concurrency, c.Rate = rc.Batch, rc.Jobs, rc.Concurrency, rc.RatePerS
	c.Duration = time.Duration(math.Round(rc.DurationS * float64(time.Second))) // 1.001s, not 1.000999999s
	c.Poll, c.WorkerConcurrency, c.EnqueueMode, c.Netem = rc.Poll, rc.WorkerConcurrency, rc.EnqueueMode, rc.Netem
	c.PoolSize, c.Burst, c.FaktoryURL = rc.PoolSize, rc.Burst, rc.FaktoryURL
	if rc.Compression != "" {
		c.Compression = rc.Compression
	}
	if rc.WorkMS > 0 {
		c.Work = d(rc.WorkMS).String()
	}
	for _, l := range rc.LinkOverrides {
		if s, err := netem.ParseLink(l); err == nil {
			c.Links = append(c.Links, s)
		}
	}
	return c
}

const (
	durAccept = "a duration, e.g. 100ms, 1.5s, 250us"
	intAccept = "an integer, e.g. 100"
)

// env and flag set an entry's variable and flag name where they are not derived.
func (s Setting) env(name string) Setting  { s.Env = name; return s }
func (s Setting) flag(name string) Setting { s.Flag = name; return s }

// also adds a check after the setting's own.
func (s Setting) also(check func(RunConfig) string) Setting {
	own := s.check
	s.check = func(c RunConfig) string {
		if own != nil {
			if msg := own(c); msg != "" {
				return msg
			}
		}
		return check(c)
	}
	return s
}

// durSetting is a duration from lo to hi (hi 0: no upper bound); example ends the range.
func durSetting(key, def, help string, field func(*RunConfig) *time.Duration, lo, hi time.Duration, example string) Setting {
	return Setting{Key: key, Kind: "duration", Default: def, Help: help, Accept: durAccept,
		set: setDur(field), get: func(c RunConfig) string { return fmtDur(*field(&c)) },
		check: func(c RunConfig) string {
			if d := *field(&c); d < lo || hi > 0 && d > hi {
				if hi == 0 {
					return "accepted is a duration of " + strings.TrimSuffix(fmtDur(lo), "ms") + " or more" + example
				}
				return "accepted is a duration from " + strings.TrimSuffix(fmtDur(lo), "ms") + " to " + fmtDur(hi) + example
			}
			return ""
		}}
}

func intSetting(key, def, help string, field func(*RunConfig) *int, lo, hi int, example string) Setting {
	return Setting{Key: key, Kind: "int", Default: def, Help: help, Accept: intAccept,
		set: setInt(field), get: func(c RunConfig) string { return strconv.Itoa(*field(&c)) },
		check: func(c RunConfig) string {
			if n := *field(&c); n < lo || n > hi {
				return fmt.Sprintf("accepted is an integer from %d to %d%s", max(lo, 1), hi, example)
			}
			return ""
		}}
}

// onHostsOnly: a hosts count other than 1 needs --hosts.
func onHostsOnly(key string) func(RunConfig) string {
	return func(c RunConfig) string {
		n := c.HostWorkers
		if key == "apis" {
			n = c.HostAPIs
		}
		if n != 1 && !c.OnHosts() {
			return "only with --hosts local or netns"
		}
		return ""
	}
}

func enumSetting(key, def string, values []string, help string, field func(*RunConfig) *string) Setting {
	return Setting{Key: key, Kind: "string", Default: def, Help: help,
		Accept: "one of " + strings.Join(values, ", "),
		set:    setEnum(values, field), get: func(c RunConfig) string { return *field(&c) },
		check: func(c RunConfig) string {
			if !slices.Contains(values, *field(&c)) {
				return "accepted values are " + strings.Join(values, ", ")
			}
			return ""
		}}
}

func setDur(field func(*RunConfig) *time.Duration) func(*RunConfig, string) error {
	return func(c *RunConfig, v string) error {
		d, err := netem.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("not a duration")
		}
		*field(c) = d
		return nil
	}
}

func setInt(field func(*RunConfig) *int) func(*RunConfig, string) error {
	return func(c *RunConfig, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not an integer")
		}
		*field(c) = n
		return nil
	}
}

func setEnum(values []string, field func(*RunConfig) *string) func(*RunConfig, string) error {
	return func(c *RunConfig, v string) error {
		if !slices.Contains(values, v) {
			return fmt.Errorf("not a known value")
		}
		*field(c) = v
		return nil
	}
}
