package reports

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Schema is the result.json contract version. Fields may be added; none of the
// fields below may be renamed or dropped (DESIGN.md §5).
const Schema = "wfbench.result/v1"

// Histogram bounds shared by every recorder and reader: microseconds, 1 µs .. 1 h,
// 3 significant digits.
const (
	HistMinUS  = 1
	HistMaxUS  = int64(time.Hour / time.Microsecond)
	HistDigits = 3
)

// NewHistogram returns an empty histogram with the project's bounds.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(HistMinUS, HistMaxUS, HistDigits)
}

// Timing points, in the order reports show them.
const (
	PointEnqueue  = "enqueue"
	PointPickup   = "pickup"
	PointEndToEnd = "end_to_end"
	PointService  = "enqueue_service" // open loop only: enqueue measured from the actual send
)

// Points lists the timing points every run has.
var Points = []string{PointEnqueue, PointPickup, PointEndToEnd}

// Result is one wfbench invocation: one or more runs.
type Result struct {
	Schema      string      `json:"schema"`
	ToolVersion string      `json:"tool_version"`
	StartedAt   time.Time   `json:"started_at"`
	Environment Environment `json:"environment"`
	Runs        []Run       `json:"runs"`
	// Scenario, expectations and estimates: set when the runs come from a scenario.
	Scenario     *Scenario     `json:"scenario,omitempty"`
	Expectations []Expectation `json:"expectations,omitempty"`
	Estimates    []Estimate    `json:"estimates,omitempty"`
	// Process is what the wfbench process itself used, up to the writing of the result
	// (the embedded Faktory included; redis-server is a process of its own).
	Process *Process `json:"process,omitempty"`
}

// Process is the measuring process's own resource use: a benchmark tool must not grow
// with the length of its run.
type Process struct {
	PeakRSSMB float64 `json:"peak_rss_mb"`
	CPUUserS  float64 `json:"cpu_user_s"`
	CPUSysS   float64 `json:"cpu_sys_s"`
}

// Scenario names the scenario a result measured.
type Scenario struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Source      string `json:"source,omitempty"` // "built-in" or the file's path
	Quick       bool   `json:"quick,omitempty"`
	Count       int    `json:"count,omitempty"` // repetitions of each run
}

// Expectation is one checked expectation of a scenario.
type Expectation struct {
	Text string `json:"text"`
	Pass bool   `json:"pass"`
	// Measured summarises the values checked, e.g. "102.3 ms (rtt=100ms batch=1)".
	Measured string  `json:"measured"`
	Checks   []Check `json:"checks,omitempty"`
	Error    string  `json:"error,omitempty"` // why it could not be checked (a failure)
}

// Check is an expectation checked against one run (or a pair, for a relative one).
type Check struct {
	Run   string  `json:"run"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"`
	Pass  bool    `json:"pass"`
}

// Estimate is a figure an earlier analysis estimated, beside what was measured.
type Estimate struct {
	Of       string  `json:"of"`
	Unit     string  `json:"unit,omitempty"`
	Low      float64 `json:"low"`
	High     float64 `json:"high"` // = Low for a point estimate
	Measured float64 `json:"measured"`
	Found    bool    `json:"found"` // false: the runs it needs were not measured
	Agrees   bool    `json:"agrees"`
	Says     string  `json:"says,omitempty"` // the analysis' reasoning
	Why      string  `json:"why,omitempty"`  // where and why the measurement differs
	// Basis is the measured per-call cost behind the figure (RTT + local work).
	Basis string `json:"basis,omitempty"`
}

// Environment describes the machine the result was measured on.
type Environment struct {
	OS       string `json:"os"`
	Arch     string `json:"arch,omitempty"`
	CPUs     int    `json:"cpus"`
	Go       string `json:"go"`
	Hostname string `json:"hostname,omitempty"`
	Redis    string `json:"redis,omitempty"`
	Faktory  string `json:"faktory,omitempty"`
}

// Run is one configuration measured once.
type Run struct {
	Name       string                 `json:"name"`
	Config     Config                 `json:"config"`
	Links      []Link                 `json:"links"`
	Jobs       Jobs                   `json:"jobs"`
	DurationS  Durations              `json:"duration_s"`
	Throughput Throughput             `json:"throughput"`
	LatencyMS  map[string]Percentiles `json:"latency_ms"`
	Histograms map[string]string      `json:"histograms"`
	Model      Model                  `json:"model"`
	// DelayLine is the links' own calibration during the load and drain: how late the
	// emulated delay delivered, beyond what it was configured to add (absent when no link
	// delayed anything).
	DelayLine *DelayLine `json:"delay_line,omitempty"`
	// Open loop: how far behind its schedule the driver fell (0 in closed loop).
	Schedule *Schedule `json:"schedule,omitempty"`
	// Interrupted is true when the run was stopped (Ctrl-C, deadline) before it finished:
	// its figures are what was measured up to then.
	Interrupted bool `json:"interrupted,omitempty"`
	// Ended names how a run that stopped early ended as its own phases meant it to, not by
	// the environment's failure: EndedRedisKill. Empty for every other run.
	Ended string   `json:"ended,omitempty"`
	Notes []string `json:"notes,omitempty"`
	// Workers are the worker hosts of a run on hosts (--hosts), each with its share.
	Workers []WorkerHost `json:"workers,omitempty"`
	// Clocks names the clock each timing point's two ends were read on (DESIGN §5):
	// "enqueue": "driver" and so on.
	Clocks map[string]string `json:"clocks,omitempty"`
	// Params are the scenario settings that distinguish this run (matrix values and an
	// explicit run's own settings), canonical ("rtt": "100ms").
	Params map[string]string `json:"params,omitempty"`
	// Repetition numbers the runs of one configuration measured several times (--count),
	// from 1; 0 when it was measured once.
	Repetition int `json:"repetition,omitempty"`
	// Phases are the timed link changes the run went through.
	Phases []Phase `json:"phases,omitempty"`
	// Intervals is the run's time series (throughput and latency per interval); Hlogs
	// names its HdrHistogram interval log per timing point, a file beside result.json.
	Intervals *Intervals        `json:"intervals,omitempty"`
	Hlogs     map[string]string `json:"hlogs,omitempty"`
}

// EndedRedisKill: the run's own phase killed the embedded broker's redis-server, which
// ended the run (interrupted, its broker dead) with the jobs Redis held lost, as expected.
const EndedRedisKill = "redis-kill"

// Phase is one timed change to a link during a run.
type Phase struct {
	Link      string  `json:"link"`
	Condition string  `json:"condition"`
	AtS       float64 `json:"at_s"`
	ForS      float64 `json:"for_s,omitempty"`
	// AppliedAtS and LiftedAtS are when it really took effect, from the start of the
	// load; absent if the run ended first.
	AppliedAtS *float64 `json:"applied_at_s,omitempty"`
	LiftedAtS  *float64 `json:"lifted_at_s,omitempty"`
	// CutShort: the run ended before the phase's for was up, and lifted it.
	CutShort bool   `json:"cut_short,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Config is the run configuration as the report needs it.
type Config struct {
	RTTMS             float64 `json:"rtt_ms"`
	JitterMS          float64 `json:"jitter_ms"`
	Topology          string  `json:"topology"`
	Target            string  `json:"target"`
	Batch             int     `json:"batch"`
	Jobs              int     `json:"jobs"`
	DurationS         float64 `json:"duration_s,omitempty"`
	Concurrency       int     `json:"concurrency"`
	RatePerS          float64 `json:"rate_per_s"`
	Poll              string  `json:"poll"`
	WorkerConcurrency int     `json:"worker_concurrency"`
	EnqueueMode       string  `json:"enqueue_mode"`
	Netem             string  `json:"netem"`
	PoolSize          int     `json:"pool_size,omitempty"`
	WorkMS            float64 `json:"work_ms,omitempty"`
	FaktoryURL        string  `json:"faktory_url,omitempty"`
	// AckMode: "sync" (a slot waits for Faktory's answer to its ACK) or "pipelined".
	AckMode string `json:"ack_mode,omitempty"`
	Burst   bool   `json:"burst,omitempty"`
	// LinkOverrides are the --link settings, e.g. "api-faktory=30ms,jitter=3ms".
	LinkOverrides []string `json:"link_overrides,omitempty"`
	Compression   string   `json:"compression,omitempty"`
	// Settings is every setting the run used, by its scenario key, in canonical text
	// form ("rtt": "100ms", "max_batch": "500"): the fields above are the ones reports
	// read; this one is complete.
	Settings map[string]string `json:"settings,omitempty"`
}

// Link is one network path with its configured and measured round-trip time.
type Link struct {
	Name            string  `json:"name"`
	ConfiguredRTTMS float64 `json:"configured_rtt_ms"`
	MeasuredRTTMS   float64 `json:"measured_rtt_ms"`
	JitterMS        float64 `json:"jitter_ms,omitempty"`
	Samples         int     `json:"samples,omitempty"`
	// Bytes that crossed the link during the run, client to server and back.
	BytesUp   int64 `json:"bytes_up,omitempty"`
	BytesDown int64 `json:"bytes_down,omitempty"`
	// Remote: a path to a part wfbench does not run (--api-url), measured as it is and
	// not emulated; its configured RTT is 0.
	Remote bool `json:"remote,omitempty"`
}

// Jobs is the job accounting of a run.
type Jobs struct {
	Requested int `json:"requested"`
	Accepted  int `json:"accepted"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
	// Pending: accepted, not finished, and still held by Faktory (queued or reserved)
	// when the run ended; not a failure. Unreported: done (Faktory counted them
	// acknowledged) but never reported to the recorder, their worker process killed with
	// the report in flight: not lost, not timed (runs on hosts only). Lost: accepted, not
	// finished, and held nowhere.
	// completed + failed + pending + unreported + lost == accepted.
	Pending    int `json:"pending"`
	Unreported int `json:"unreported,omitempty"`
	Lost       int `json:"lost"`
	Duplicated int `json:"duplicated"`
	Errors     int `json:"errors"`
}

// Durations in seconds.
type Durations struct {
	Enqueue float64 `json:"enqueue"`
	Total   float64 `json:"total"`
}

// Throughput in jobs per second.
type Throughput struct {
	EnqueueJobsPerS   float64 `json:"enqueue_jobs_per_s"`
	CompletedJobsPerS float64 `json:"completed_jobs_per_s"`
	// DrainJobsPerS (burst runs): jobs completed per second from the FETCH of the first
	// job (its pickup less one worker RTT) to the last completion, with every job already
	// queued: the workers' own capacity.
	DrainJobsPerS float64 `json:"drain_jobs_per_s,omitempty"`
}

// Percentiles of one timing point, in milliseconds.
type Percentiles struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

// Model is what the network alone should cost, beside what was measured.
type Model struct {
	// Enqueue round trips per job over the WAN (1/batch for a single call path).
	RoundTripsPerJob float64 `json:"round_trips_per_job"`
	// NetworkFloorS is the least time the enqueue phase can take: calls in sequence per
	// client × (RTT − jitter), the fastest a round trip can be.
	NetworkFloorS float64 `json:"network_floor_s"`
	// Efficiency = floor / measured enqueue duration (1.0 = the network is the only cost).
	Efficiency float64 `json:"efficiency"`
	// FloorJobsPerS is the enqueue throughput the network allows at most.
	FloorJobsPerS float64 `json:"floor_jobs_per_s,omitempty"`
	// EnqueueRTTMS is the RTT a single enqueue call pays (sum of the links it crosses);
	// MeasuredEnqueueRTTMS the same sum of the links' measured RTTs.
	EnqueueRTTMS         float64 `json:"enqueue_rtt_ms,omitempty"`
	MeasuredEnqueueRTTMS float64 `json:"measured_enqueue_rtt_ms,omitempty"`
	// Worker side: round trips each job costs a slot (fixed and library: FETCH + ACK
	// answered; tuned: FETCH only), and the completion rate the slots allow at most over
	// the worker-faktory link: slots / (round trips × RTT).
	WorkerRoundTripsPerJob float64 `json:"worker_round_trips_per_job,omitempty"`
	WorkerFloorJobsPerS    float64 `json:"worker_floor_jobs_per_s,omitempty"`
	// BeatsFloor is set when the measurement is faster than physics allows: a bug.
	BeatsFloor bool `json:"beats_floor,omitempty"`
}

// DelayLine is the emulated links' lateness: delivered time minus due time, over every
// delayed delivery of the run.
type DelayLine struct {
	LatenessP50MS float64 `json:"lateness_p50_ms"`
	LatenessP99MS float64 `json:"lateness_p99_ms"`
	Deliveries    int64   `json:"deliveries"`
}

// Schedule reports how well an open-loop driver kept its schedule.
type Schedule struct {
	IntendedCalls int     `json:"intended_calls"`
	SentCalls     int     `json:"sent_calls"`
	MaxLagMS      float64 `json:"max_lag_ms"`
	MeanLagMS     float64 `json:"mean_lag_ms"`
}

// PercentilesOf summarises a microsecond histogram in milliseconds.
func PercentilesOf(h *hdrhistogram.Histogram) Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return Percentiles{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Percentiles{
		Count: h.TotalCount(),
		Min:   ms(h.Min()),
		Mean:  h.Mean() / 1000,
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		Max:   ms(h.Max()),
	}
}

// EncodeHistogram returns the standard compressed V2 encoding (base64), readable by any
// HdrHistogram implementation.
func EncodeHistogram(h *hdrhistogram.Histogram) (string, error) {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("encode histogram: %w", err)
	}
	return string(b), nil
}

// Histogram decodes the named histogram of a run (nil, nil when absent).
func (r *Run) Histogram(point string) (*hdrhistogram.Histogram, error) {
	s, ok := r.Histograms[point]
	if !ok || s == "" {
		return nil, nil
	}
	h, err := DecodeHistogram(s)
	if err != nil {
		return nil, fmt.Errorf("run %q, %s: %w", r.Name, point, err)
	}
	return h, nil
}

// WriteJSON writes the result to path, indented.
func WriteJSON(path string, res *Result) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("marshal result: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
