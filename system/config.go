package system

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config holds the knobs the analysis found missing (DESIGN §2), each an environment
// variable and a flag, each with a stated default. The knobs a standing system shares
// with a benchmark run (pool size, max batch, enqueue mode, flush interval, the
// worker's poll, slots and poll interval, FAKTORY_URL) are declared, with their
// variables and ranges, in the run settings table (package bench); the ones below in
// knobs are a standing system's own.
type Config struct {
	FaktoryURL        string        // FAKTORY_URL ("" = embedded)
	FaktoryPassword   string        // FAKTORY_PASSWORD
	ConnectTimeout    time.Duration // FAKTORY_CONNECT_TIMEOUT
	ReadTimeout       time.Duration // FAKTORY_READ_TIMEOUT
	WriteTimeout      time.Duration // FAKTORY_WRITE_TIMEOUT
	KeepAlive         time.Duration // FAKTORY_KEEPALIVE_INTERVAL (TCP keepalive)
	PoolSize          int           // FAKTORY_POOL_SIZE
	MaxBatch          int           // FAKTORY_MAX_BATCH_SIZE
	EnqueueMode       string        // API_ENQUEUE_MODE
	FlushInterval     time.Duration // FLUSH_INTERVAL
	WorkerConcurrency int           // WORKER_CONCURRENCY (0 = the strategy's own)
	WorkerPoll        string        // WORKER_POLL
	PollInterval      time.Duration // WORKER_POLL_INTERVAL
	WorkerAck         string        // WORKER_ACK
	WorkerReportURL   string        // WORKER_REPORT_URL: where a standalone worker POSTs completions
	WorkerName        string        // WORKER_NAME: the name it reports them under ("" = host-pid)
	JobRetries        int           // JOB_RETRIES: the retries the API's jobs allow (default 0)
	// APIToken (API_TOKEN), when set, is the bearer token the API requires of every
	// request but /healthz and /ping, and the one a standalone worker sends with its
	// completions.
	APIToken string
	// WorkerRate is the job rate a tuned worker is sized for by Little's law (WORKER_RATE,
	// jobs/s; 0: DefaultWorkerRate).
	WorkerRate float64
	// Set by a benchmark run, not by the environment: the worker link's measured RTT
	// (0: measured at start).
	WorkerRTT time.Duration
	Work      Work // WORKER_WORK: the simulated work per job
}

// DefaultWorkerRate is the rate a standing tuned worker is sized for when WORKER_RATE
// is not set: what one client sending single jobs back to back offers at a 1 ms RTT,
// as `wfbench run --poll tuned` offers with its defaults.
const DefaultWorkerRate = 1000.0

// ACK modes (WORKER_ACK).
const (
	AckSync      = "sync"      // a slot waits for Faktory's answer to its ACK
	AckPipelined = "pipelined" // ACKs go on a connection of their own, unanswered waits
)

// DefaultConfig returns every knob's default.
func DefaultConfig() Config {
	return Config{
		ConnectTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		KeepAlive: 30 * time.Second, PoolSize: 50, MaxBatch: 1000, EnqueueMode: EnqueueSync,
		FlushInterval: 10 * time.Millisecond, WorkerPoll: PollFixed, PollInterval: time.Second,
		WorkerRate: DefaultWorkerRate,
	}
}

// knob describes one variable: its name, accepted form, and how to set it.
type knob struct {
	env, form string
	set       func(c *Config, v string) error
}

func durationKnob(env string, p func(*Config) *time.Duration, lo, hi time.Duration) knob {
	return knob{env, fmt.Sprintf("a duration from %s to %s, e.g. 5s or 250ms", lo, hi), func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < lo || d > hi {
			return errBadValue
		}
		*p(c) = d
		return nil
	}}
}

func intKnob(env string, p func(*Config) *int, lo, hi int) knob {
	return knob{env, fmt.Sprintf("an integer from %d to %d", lo, hi), func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return errBadValue
		}
		*p(c) = n
		return nil
	}}
}

func enumKnob(env string, p func(*Config) *string, values []string) knob {
	return knob{env, "one of " + strings.Join(values, ", "), func(c *Config, v string) error {
		if !slices.Contains(values, v) {
			return errBadValue
		}
		*p(c) = v
		return nil
	}}
}

var errBadValue = errors.New("bad value")

var knobs = []knob{
	{"FAKTORY_PASSWORD", "any string", func(c *Config, v string) error { c.FaktoryPassword = v; return nil }},
	durationKnob("FAKTORY_CONNECT_TIMEOUT", func(c *Config) *time.Duration { return &c.ConnectTimeout }, time.Millisecond, time.Hour),
	durationKnob("FAKTORY_READ_TIMEOUT", func(c *Config) *time.Duration { return &c.ReadTimeout }, 3*time.Second, time.Hour),
	durationKnob("FAKTORY_WRITE_TIMEOUT", func(c *Config) *time.Duration { return &c.WriteTimeout }, time.Millisecond, time.Hour),
	durationKnob("FAKTORY_KEEPALIVE_INTERVAL", func(c *Config) *time.Duration { return &c.KeepAlive }, time.Second, time.Hour),
	{"WORKER_RATE", "jobs per second from 0.1 to 1000000, e.g. 500", func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 0.1 && f <= 1e6) {
			return errBadValue
		}
		c.WorkerRate = f
		return nil
	}},
	enumKnob("WORKER_ACK", func(c *Config) *string { return &c.WorkerAck }, []string{AckSync, AckPipelined}),
	{"API_TOKEN", "16 to 1024 visible ASCII characters, e.g. the output of openssl rand -hex 16", func(c *Config, v string) error {
		if len(v) < 16 || !visibleASCII(v, 1024) {
			return errBadValue
		}
		c.APIToken = v
		return nil
	}},
	{"WORKER_REPORT_URL", "an http:// or https:// URL, e.g. http://127.0.0.1:8080/completions", func(c *Config, v string) error {
		if !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
			return errBadValue
		}
		c.WorkerReportURL = v
		return nil
	}},
	{"WORKER_WORK", "a duration a job takes, optionally with :spin (busy CPU), e.g. 2ms or 500us:spin", func(c *Config, v string) error {
		w, err := ParseWork(v)
		if err != nil || w.D > time.Hour {
			return errBadValue
		}
		c.Work = w
		return nil
	}},
	{"JOB_RETRIES", "an integer from 0 to 25 (0: a job that fails, or whose reservation expires, is dropped)", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxJobRetries {
			return errBadValue
		}
		c.JobRetries = n
		return nil
	}},
	{"WORKER_NAME", "1 to 64 letters, digits, '.', '_' or '-', e.g. worker-1", func(c *Config, v string) error {
		if !validName(v, 64) {
			return errBadValue
		}
		c.WorkerName = v
		return nil
	}},
}

// validName: 1 to max letters, digits, '.', '_' or '-'.
func validName(v string, max int) bool {
	if len(v) == 0 || len(v) > max {
		return false
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// SetKnob sets the knob of the environment variable env from text, with the variable's
// own parser and range (flags use it too).
func SetKnob(c *Config, env, text string) error {
	for _, k := range knobs {
		if k.env == env {
			if err := k.set(c, strings.TrimSpace(text)); err != nil {
				return fmt.Errorf("%q (%s): accepted is %s", text, env, k.form)
			}
			return nil
		}
	}
	return fmt.Errorf("unknown setting %s", env)
}

// KnobNames lists the environment variables Config reads.
func KnobNames() []string {
	out := make([]string, len(knobs))
	for i, k := range knobs {
		out[i] = k.env
	}
	return out
}

// ConfigFromEnv starts from base and applies every variable set in the environment
// (lookup is os.LookupEnv in production). Each bad value is an error naming the variable
// and the accepted form.
func ConfigFromEnv(base Config, lookup func(string) (string, bool)) (Config, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	c := base
	var errs []error
	for _, k := range knobs {
		v, ok := lookup(k.env)
		if !ok || strings.TrimSpace(v) == "" { // set but empty means unset
			continue
		}
		if err := k.set(&c, strings.TrimSpace(v)); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: accepted is %s", k.env, v, k.form))
		}
	}
	return c, errors.Join(errs...)
}
