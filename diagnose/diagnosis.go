package diagnose

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/wfbench/wfbench/system"
)

// Schema names the JSON contract of a Diagnosis.
const Schema = "wfbench.diagnosis/v1"

// Diagnosis is what one diagnose run measured and concluded; its JSON form is the
// wfbench.diagnosis/v1 contract.
type Diagnosis struct {
	Schema       string        `json:"schema"`
	Target       Target        `json:"target"`
	Measurements []Measurement `json:"measurements"`
	Findings     []Finding     `json:"findings"`
	// Notes say what the figures do not: skipped steps, an exhausted budget, queues
	// other clients changed meanwhile.
	Notes []string `json:"notes,omitempty"`
}

// Target is what was diagnosed and how.
type Target struct {
	FaktoryURL     string    `json:"faktory_url"` // password redacted
	APIURL         string    `json:"api_url,omitempty"`
	FaktoryVersion string    `json:"faktory_version,omitempty"`
	ReadOnly       bool      `json:"read_only"`
	Queue          string    `json:"queue,omitempty"` // the private queue (not in read-only)
	StartedAt      time.Time `json:"started_at"`
	DurationS      float64   `json:"duration_s"`
	// QueuesBefore and QueuesAfter are Faktory's queue list (INFO) before and after;
	// QueuesUnchanged says they are the same list.
	QueuesBefore    []string `json:"queues_before"`
	QueuesAfter     []string `json:"queues_after"`
	QueuesUnchanged bool     `json:"queues_unchanged"`
}

// Measurement is one measured figure: a percentile of samples, a count, a gauge.
type Measurement struct {
	Name    string  `json:"name"`
	Value   float64 `json:"value"`
	Unit    string  `json:"unit"`
	Samples int     `json:"samples"`
}

// Finding is one conclusion: what was measured, the knob that changes it and what
// turning it would gain by bench's model. Impact is the expected speed-up factor of
// the path it concerns (findings are ranked by it); a failure that blocks a path
// outright has ImpactBlocking.
type Finding struct {
	Title        string  `json:"title"`
	Impact       float64 `json:"impact"`
	Figure       string  `json:"figure"`
	Knob         string  `json:"knob"`
	ExpectedGain string  `json:"expected_gain"`
}

// ImpactBlocking ranks a finding that stops a path altogether above any speed-up.
const ImpactBlocking = 1000

// Options configure Run. Start from DefaultOptions.
type Options struct {
	FaktoryURL string // tcp://[:password@]host:port or tcp+tls://...
	APIURL     string // http(s)://host:port of the reference API; "" skips the API
	APIToken   string // the API's bearer token (its API_TOKEN), if it wants one
	ReadOnly   bool   // send nothing that writes: no PUSH, FETCH, ACK, queue removal, POST
	// Duration bounds the measuring (cleanup comes on top, bounded on its own); sample
	// counts are sized so that it is rarely reached.
	Duration time.Duration
	Samples  int   // command round trips to sample; 0 sizes them from the RTT
	Batches  []int // PUSHB sizes to compare with single PUSHes
	APIJobs  int   // POST /jobs/add calls (0: the API's GETs only)
	Jobs     int   // the job count the findings' figures are stated for

	// stage, if set, is called as each stage starts (tests cancel at a chosen one).
	stage func(name string)
}

// DefaultOptions are the CLI's defaults: a 30 s budget, PUSHB of 10 and 100, five
// API enqueues, findings stated for 1000 jobs.
func DefaultOptions() Options {
	return Options{Duration: 30 * time.Second, Batches: []int{10, 100}, APIJobs: 5, Jobs: 1000}
}

// ErrInvalid marks a bad option or a refused password: the caller's input, not the
// environment.
var ErrInvalid = errors.New("invalid diagnose options")

// invalid is an ErrInvalid with its own message.
type invalid struct{ msg string }

func (e *invalid) Error() string        { return e.msg }
func (e *invalid) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, a ...any) error { return &invalid{fmt.Sprintf(format, a...)} }

// Limits of the options, stated in their errors.
const (
	minDuration, maxDuration = time.Second, 10 * time.Minute
	maxSamples               = 100000
	maxBatch                 = 1000
	maxAPIJobs               = 100
	maxJobs                  = 10000000
)

// Validate checks the options, naming the accepted form of anything wrong.
func (o Options) Validate() error {
	var errs []error
	if o.FaktoryURL == "" {
		errs = append(errs, invalidf("--faktory-url is required: tcp://[:password@]host:port or tcp+tls://[:password@]host:port"))
	} else if _, err := system.ParseFaktoryURL(o.FaktoryURL); err != nil {
		errs = append(errs, invalidf("--faktory-url: %s", err))
	}
	if o.APIURL != "" {
		if u, err := url.Parse(o.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, invalidf("--api-url %q: want http://host:port or https://host:port", o.APIURL))
		}
	}
	if o.Duration < minDuration || o.Duration > maxDuration {
		errs = append(errs, invalidf("--duration %s: accepted is %s to %s", o.Duration, minDuration, maxDuration))
	}
	if o.Samples < 0 || o.Samples > maxSamples {
		errs = append(errs, invalidf("--samples %d: accepted is 0 (sized from the RTT) to %d", o.Samples, maxSamples))
	}
	if len(o.Batches) == 0 || slices.ContainsFunc(o.Batches, func(b int) bool { return b < 2 || b > maxBatch }) {
		errs = append(errs, invalidf("--batches %v: accepted is a list of sizes from 2 to %d, e.g. 10,100", o.Batches, maxBatch))
	}
	if o.APIJobs < 0 || o.APIJobs > maxAPIJobs {
		errs = append(errs, invalidf("--api-jobs %d: accepted is 0 to %d", o.APIJobs, maxAPIJobs))
	}
	if o.Jobs < 1 || o.Jobs > maxJobs {
		errs = append(errs, invalidf("--jobs %d: accepted is 1 to %d", o.Jobs, maxJobs))
	}
	return errors.Join(errs...)
}
