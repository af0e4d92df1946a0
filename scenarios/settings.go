package scenarios

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/system"
)

// setting is one run setting a scenario file may give: its key (the run flag's name in
// snake case), how to set it from text and how to print it back canonically, so that
// "100ms" and "0.1s" select the same runs.
type setting struct {
	key    string
	accept string // the accepted form, for errors
	set    func(c *RunConfig, v string) error
	get    func(c RunConfig) string
}

// settings in the order `scenario show` documents them.
var settings = []setting{
	durSetting("rtt", func(c *RunConfig) *time.Duration { return &c.RTT }),
	durSetting("jitter", func(c *RunConfig) *time.Duration { return &c.Jitter }),
	enumSetting("topology", netem.TopologyNames(), func(c *RunConfig) *string { return &c.Topology }),
	{key: "link", accept: "NAME=RTT[,jitter=D], NAME one of " + strings.Join(netem.LinkNames, ", ") + " (a list for several links)",
		set: func(c *RunConfig, v string) error {
			s, err := netem.ParseLink(v)
			if err != nil {
				return err
			}
			c.Links = append(c.Links, s)
			return nil
		},
		get: func(c RunConfig) string {
			var parts []string
			for _, l := range c.Links {
				parts = append(parts, l.String())
			}
			return strings.Join(parts, " ")
		}},
	enumSetting("target", []string{TargetAPI, TargetFaktory}, func(c *RunConfig) *string { return &c.Target }),
	intSetting("batch", func(c *RunConfig) *int { return &c.Batch }),
	intSetting("jobs", func(c *RunConfig) *int { return &c.Jobs }),
	durSetting("duration", func(c *RunConfig) *time.Duration { return &c.Duration }),
	intSetting("concurrency", func(c *RunConfig) *int { return &c.Concurrency }),
	{key: "rate", accept: "jobs per second, e.g. 200 (0 = closed loop)",
		set: func(c *RunConfig, v string) error {
			f, err := strconv.ParseFloat(strings.TrimSuffix(v, "/s"), 64)
			if err != nil {
				return fmt.Errorf("not a number")
			}
			c.Rate = f
			return nil
		},
		get: func(c RunConfig) string { return strconv.FormatFloat(c.Rate, 'g', -1, 64) }},
	{key: "burst", accept: "true or false",
		set: func(c *RunConfig, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("not a boolean")
			}
			c.Burst = b
			return nil
		},
		get: func(c RunConfig) string { return strconv.FormatBool(c.Burst) }},
	durSetting("drain_timeout", func(c *RunConfig) *time.Duration { return &c.DrainWait }),
	{key: "faktory_url", accept: "a Faktory URL, e.g. tcp://host:7419",
		set: func(c *RunConfig, v string) error { c.FaktoryURL = v; return nil },
		// Without its password: the value names runs and is recorded in their params.
		get: func(c RunConfig) string { return redactURL(c.FaktoryURL) }},
	intSetting("pool_size", func(c *RunConfig) *int { return &c.PoolSize }),
	intSetting("max_batch", func(c *RunConfig) *int { return &c.MaxBatch }),
	enumSetting("enqueue_mode", system.EnqueueModes, func(c *RunConfig) *string { return &c.EnqueueMode }),
	durSetting("flush_interval", func(c *RunConfig) *time.Duration { return &c.FlushInterval }),
	enumSetting("poll", system.PollStrategies, func(c *RunConfig) *string { return &c.Poll }),
	intSetting("worker_concurrency", func(c *RunConfig) *int { return &c.WorkerConcurrency }),
	durSetting("poll_interval", func(c *RunConfig) *time.Duration { return &c.PollInterval }),
	{key: "work", accept: "DURATION[:sleep|:spin], e.g. 2ms or 500us:spin",
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
		}},
	enumSetting("compression", Compressions, func(c *RunConfig) *string { return &c.Compression }),
	enumSetting("netem", []string{"toxiproxy"}, func(c *RunConfig) *string { return &c.Netem }),
	durSetting("interval", func(c *RunConfig) *time.Duration { return &c.Interval }),
}

// SettingKeys lists the keys a scenario's base, matrix and runs accept.
func SettingKeys() []string {
	keys := make([]string, len(settings))
	for i, s := range settings {
		keys[i] = s.key
	}
	return keys
}

func lookupSetting(key string) (setting, bool) {
	i := slices.IndexFunc(settings, func(s setting) bool { return s.key == key })
	if i < 0 {
		return setting{}, false
	}
	return settings[i], true
}

// canonical returns v in the setting's canonical form ("0.1s" → "100ms").
func canonical(key, v string) (string, error) {
	if key == "run" { // an explicit run's name
		return v, nil
	}
	s, ok := lookupSetting(key)
	if !ok {
		return "", fmt.Errorf("unknown setting %q; valid settings: %s", key, strings.Join(SettingKeys(), ", "))
	}
	c := Default()
	c.Links = nil
	if err := s.set(&c, v); err != nil {
		return "", fmt.Errorf("%s %q: %v; accepted: %s", key, v, err, s.accept)
	}
	return s.get(c), nil
}

// settingsOf returns every setting of a measured run in canonical form, read back from
// its recorded configuration, so expectations can select runs from result.json alone.
// Scenario parameters recorded with the run win (they keep settings the configuration
// does not record, such as link overrides as written).
func settingsOf(r *reports.Run) map[string]string {
	c := configFromResult(r.Config)
	if r.Intervals != nil && r.Intervals.IntervalS > 0 {
		c.Interval = time.Duration(math.Round(r.Intervals.IntervalS*1000)) * time.Millisecond
	}
	out := make(map[string]string, len(settings))
	for _, s := range settings {
		out[s.key] = s.get(c)
	}
	for k, v := range r.Params {
		out[k] = v
	}
	return out
}

// configFromResult rebuilds the RunConfig fields a result records.
func configFromResult(rc reports.Config) RunConfig {
	d := func(msv float64) time.Duration {
		return time.Duration(msv * float64(time.Millisecond)).Round(time.Microsecond)
	}
	c := Default()
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

func durSetting(key string, field func(*RunConfig) *time.Duration) setting {
	return setting{key: key, accept: "a duration, e.g. 100ms, 1.5s, 250us",
		set: func(c *RunConfig, v string) error {
			d, err := netem.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("not a duration")
			}
			*field(c) = d
			return nil
		},
		get: func(c RunConfig) string { return fmtDur(*field(&c)) }}
}

func intSetting(key string, field func(*RunConfig) *int) setting {
	return setting{key: key, accept: "an integer, e.g. 100",
		set: func(c *RunConfig, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("not an integer")
			}
			*field(c) = n
			return nil
		},
		get: func(c RunConfig) string { return strconv.Itoa(*field(&c)) }}
}

func enumSetting(key string, values []string, field func(*RunConfig) *string) setting {
	return setting{key: key, accept: "one of " + strings.Join(values, ", "),
		set: func(c *RunConfig, v string) error {
			if !slices.Contains(values, v) {
				return fmt.Errorf("not a known value")
			}
			*field(c) = v
			return nil
		},
		get: func(c RunConfig) string { return *field(&c) }}
}
