package diagnose

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	faktory "github.com/contribsys/faktory/client"

	"github.com/wfbench/wfbench/bench"
	"github.com/wfbench/wfbench/system"
)

// figures are the measured values the findings reason from (0: not measured).
type figures struct {
	rtt, rttMin, rttP99 time.Duration // command round trip
	tcpConnect, connect time.Duration // TCP alone; TCP + TLS + HI/HELLO
	push                time.Duration // one PUSH (p50)
	batch               map[int]time.Duration
	fetch, ack, pickup  time.Duration
	queues              map[string]uint64  // other clients' queues (INFO before)
	latency             map[string]float64 // seconds, QUEUE LATENCY
	api                 *apiFigures
	estimated           bool // read-only: enqueue and worker figures are the model's
}

// session is one diagnose run's state.
type session struct {
	o     Options
	ep    system.Endpoint
	queue string // private queue
	d     *Diagnosis
	f     figures
	plan  plan
	rtt   time.Duration // first estimate: sizes the plan and the stage caps

	w       *wire           // INFO before (the cleanup dials its own)
	c       *faktory.Client // the measured commands
	probe   *system.FaktoryProbe
	hc      *http.Client // the API's, with --api-url
	before  *faktory.FaktoryState
	touched bool            // something was pushed: the private queue may exist
	pushed  int             // jobs Faktory accepted into the private queue
	fetched int             // of them, fetched and acknowledged by the stages
	unacked map[string]bool // fetched, ACK failed: the cleanup acknowledges them
	acks    *samples
}

// Run diagnoses the deployment o names. It returns what it measured even when it
// stopped early (an error, ctx cancelled), and it always cleans up before returning:
// its private queue drained and removed. Errors: ErrInvalid for bad options or a
// refused password, bench.ErrEnvironment when Faktory or the API cannot be reached or
// fail, ctx's error when cancelled.
func Run(ctx context.Context, o Options) (*Diagnosis, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	ep, _ := system.ParseFaktoryURL(o.FaktoryURL) // valid: checked above
	s := &session{o: o, ep: ep, queue: "wfbench-diag-" + randomHex(4), unacked: map[string]bool{}, acks: newSamples()}
	s.d = &Diagnosis{Schema: Schema, Measurements: []Measurement{}, Findings: []Finding{}, Target: Target{
		FaktoryURL: system.RedactURL(o.FaktoryURL), APIURL: system.RedactURL(o.APIURL), ReadOnly: o.ReadOnly, StartedAt: time.Now().UTC(),
	}}
	if !o.ReadOnly {
		s.d.Target.Queue = s.queue
	}
	start := time.Now()
	mctx, cancel := context.WithTimeout(ctx, o.Duration)
	err := s.open(mctx)
	if err == nil {
		err = s.stages(mctx)
	}
	if mctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		s.note("the --duration budget (%s) ran out: the later stages have fewer samples, or none", o.Duration)
	}
	cancel()
	if o.ReadOnly {
		s.note("read-only: nothing was pushed, fetched or acknowledged; enqueue and worker figures are the model's estimates from the command round trip")
	}
	err = errors.Join(err, s.cleanup(ctx))
	s.d.Findings = findings(s.f, o.Jobs, o.ReadOnly)
	s.d.Target.DurationS = round3(time.Since(start).Seconds())
	if ctx.Err() != nil {
		return s.d, fmt.Errorf("diagnose interrupted (its queue was cleaned up): %w", ctx.Err())
	}
	return s.d, err
}

// open connects (a refused password is the caller's error, anything else the
// environment's), reads INFO and estimates the RTT that sizes the plan.
func (s *session) open(ctx context.Context) error {
	w, _, _, err := dialWire(ctx, s.ep)
	if err != nil {
		if errors.Is(err, errPassword) {
			return invalidf("Faktory at %s: %v", s.d.Target.FaktoryURL, err)
		}
		return s.unreachable(err)
	}
	s.w = w
	if s.c, err = s.ep.Dial(ctx); err != nil {
		return s.unreachable(err)
	}
	if s.before, err = s.w.info(); err != nil {
		return s.fail(ctx, "INFO", err)
	}
	for _, q := range queueNames(s.before) {
		if q == s.queue { // astronomically unlikely; never share a queue
			s.queue = "wfbench-diag-" + randomHex(8)
			s.d.Target.Queue = s.queue
		}
	}
	s.d.Target.QueuesBefore = queueNames(s.before)
	s.d.Target.FaktoryVersion = s.before.Server.Version
	s.probe = system.NewFaktoryProbe(s.ep)
	est := newSamples()
	if _, err := loop(ctx, 5, 5*time.Second, func(int) error {
		d, err := s.probe.Probe(ctx)
		est.add(d)
		return err
	}); err != nil {
		return s.fail(ctx, "ping", err)
	}
	s.rtt = max(est.q(50), 50*time.Microsecond)
	s.plan = sizePlan(s.rtt, s.o.Duration, s.o.Samples)
	if s.o.APIURL != "" {
		return s.openAPI(ctx)
	}
	return nil
}

// stages runs the stages in order: pickup needs the queue empty, FETCH needs it full.
func (s *session) stages(ctx context.Context) error {
	stages := []struct {
		name  string
		run   func(context.Context) error
		skip  bool
		write bool
	}{
		{"connect", s.measureConnect, false, false},
		{"rtt", s.measureRTT, false, false},
		{"info", s.measureInfo, false, false},
		{"pickup", s.measurePickup, false, true},
		{"push", s.measurePush, false, true},
		{"batch", s.measureBatch, false, true},
		{"fetch", s.measureFetch, false, true},
		{"api", s.measureAPI, s.o.APIURL == "", false},
	}
	// ACKs are timed in two stages (pickup, fetch): one figure for both, however far
	// the stages got.
	defer s.putAcks()
	for _, st := range stages {
		if st.skip || (st.write && s.o.ReadOnly) {
			continue
		}
		if ctx.Err() != nil {
			return nil // Run says why
		}
		if s.o.stage != nil {
			s.o.stage(st.name)
		}
		if err := st.run(ctx); err != nil {
			return err
		}
	}
	return nil
}

// putAcks adds the ACK figure once, after the last stage that times ACKs.
func (s *session) putAcks() {
	if s.f.ack == 0 && s.acks.n() > 0 {
		s.f.ack = s.acks.q(50)
		s.putMS("ack", s.f.ack, s.acks.n())
	}
}

// put adds a measurement.
func (s *session) put(name, unit string, v float64, n int) {
	s.d.Measurements = append(s.d.Measurements, Measurement{Name: name, Value: round3(v), Unit: unit, Samples: n})
}

// putMS adds a duration measurement in ms, if it has samples.
func (s *session) putMS(name string, d time.Duration, n int) {
	if n > 0 {
		s.put(name, "ms", float64(d.Microseconds())/1000, n)
	}
}

func (s *session) note(format string, a ...any) {
	s.d.Notes = append(s.d.Notes, fmt.Sprintf(format, a...))
}

// fail is a stage's error: nothing when ctx ended (Run reports that), else the
// environment's, naming the URL.
func (s *session) fail(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return &envError{fmt.Sprintf("Faktory at %s: %s", s.d.Target.FaktoryURL, what), err}
}

// envError is the environment's failure (bench.ErrEnvironment: exit code 3).
type envError struct {
	msg string
	err error
}

func (e *envError) Error() string   { return e.msg + ": " + e.err.Error() }
func (e *envError) Unwrap() []error { return []error{e.err, bench.ErrEnvironment} }

// unreachable is the error of a Faktory that cannot be connected to.
func (s *session) unreachable(err error) error {
	return &envError{"cannot reach Faktory at " + s.d.Target.FaktoryURL, err}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func round3(v float64) float64 {
	return float64(int64(v*1000+0.5*sign(v))) / 1000
}

func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}
