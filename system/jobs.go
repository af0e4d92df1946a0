package system

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	faktory "github.com/contribsys/faktory/client"
)

// DefaultQueue is the Faktory queue the reference system uses unless told otherwise (a
// benchmark run uses a queue of its own, so that on a shared Faktory its workers never
// take another application's jobs).
const DefaultQueue = "default"

// Job types (the analysis' four math jobs).
const (
	JobAdd      = "math_add"
	JobSubtract = "math_subtract"
	JobMultiply = "math_multiply"
	JobDivide   = "math_divide"
)

// Operations maps the API's short names to job types.
var Operations = map[string]string{
	"add": JobAdd, "subtract": JobSubtract, "multiply": JobMultiply, "divide": JobDivide,
}

// OperationNames lists the accepted short names, for error messages.
const OperationNames = "add, subtract, multiply, divide"

// Custom keys wfbench sets on benchmark jobs; they never change what a job computes.
const (
	CustomRun = "wfbench_run" // run id, so a recorder ignores other runs' jobs
)

// ReserveFor is the reservation benchmark jobs ask for: Faktory's minimum (60 s), so a
// killed worker's jobs come back after a minute rather than after Faktory's 30-minute
// default (a run's drain must be longer than that to see them).
const ReserveFor = 60

// OwnBrokerRetries is the retries a run's jobs allow when the Faktory is the run's own
// (embedded, or on its hosts): one, so that the jobs a killed worker had reserved come
// back once their reservation expires (with none, Faktory drops them). The driver sends
// no job that fails, and a job run twice is counted as a duplicate. On a Faktory the run
// does not own (and by default, JOB_RETRIES) jobs allow none: nothing of a run comes back
// to a live system after it ended.
const OwnBrokerRetries = 1

// MaxJobRetries bounds JOB_RETRIES.
const MaxJobRetries = 25

// RecoveryAfterKill bounds when the jobs a worker process held when it was killed run
// again: Faktory's reservation (ReserveFor), its reaper's period (15 s), the first
// retry's delay (15 s plus up to 29 s) and its retry scanner's period (5 s).
const RecoveryAfterKill = (ReserveFor + 15 + 44 + 5) * time.Second

// MathArgs is the single argument of every math job.
type MathArgs struct {
	A         float64 `json:"a"`
	B         float64 `json:"b"`
	RequestID string  `json:"request_id"`
}

// ErrDivideByZero fails a divide job whose b is 0.
var ErrDivideByZero = errors.New("division by zero")

// Compute runs a job type on its arguments.
func Compute(jobType string, a MathArgs) (float64, error) {
	switch jobType {
	case JobAdd:
		return a.A + a.B, nil
	case JobSubtract:
		return a.A - a.B, nil
	case JobMultiply:
		return a.A * a.B, nil
	case JobDivide:
		if a.B == 0 {
			return 0, fmt.Errorf("%s(%g, %g): %w", jobType, a.A, a.B, ErrDivideByZero)
		}
		return a.A / a.B, nil
	}
	return 0, fmt.Errorf("unknown job type %q", jobType)
}

// NewJob builds the Faktory job for one math call, on queue ("" = DefaultQueue).
func NewJob(jobType string, a MathArgs, run, queue string, retries int) *faktory.Job {
	j := faktory.NewJob(jobType, map[string]any{"a": a.A, "b": a.B, "request_id": a.RequestID})
	j.Queue = cmp.Or(queue, DefaultQueue)
	j.ReserveFor = ReserveFor
	j.Retry = &retries
	if run != "" {
		j.SetCustom(CustomRun, run)
	}
	return j
}

// ArgsOf decodes a fetched job's MathArgs.
func ArgsOf(j *faktory.Job) (MathArgs, error) {
	if len(j.Args) != 1 {
		return MathArgs{}, fmt.Errorf("job %s: want 1 argument, got %d", j.Jid, len(j.Args))
	}
	m, ok := j.Args[0].(map[string]any)
	if !ok {
		return MathArgs{}, fmt.Errorf("job %s: argument is %T, want an object {a, b, request_id}", j.Jid, j.Args[0])
	}
	var a MathArgs
	var okA, okB bool
	a.A, okA = m["a"].(float64)
	a.B, okB = m["b"].(float64)
	if !okA || !okB {
		return MathArgs{}, fmt.Errorf("job %s: a and b must be numbers", j.Jid)
	}
	a.RequestID, _ = m["request_id"].(string)
	return a, nil
}

// RunOf returns the run id a job carries, if any.
func RunOf(j *faktory.Job) string {
	v, _ := j.GetCustom(CustomRun)
	s, _ := v.(string)
	return s
}

// Work is simulated service time per job: a sleep, or a CPU spin when Spin is set.
type Work struct {
	D    time.Duration
	Spin bool
}

// Do spends the work's time.
func (w Work) Do() {
	if w.D <= 0 {
		return
	}
	if !w.Spin {
		time.Sleep(w.D)
		return
	}
	for end := time.Now().Add(w.D); time.Now().Before(end); {
	}
}

// ParseWork accepts "2ms" (sleep) or "2ms:spin" (busy CPU).
func ParseWork(s string) (Work, error) {
	if s == "" || s == "0" {
		return Work{}, nil
	}
	d, mode, _ := strings.Cut(s, ":")
	dur, err := time.ParseDuration(d)
	if err != nil || dur < 0 {
		return Work{}, fmt.Errorf("invalid --work %q: want a duration, optionally with :spin (e.g. 2ms, 500us:spin)", s)
	}
	switch mode {
	case "", "sleep":
		return Work{D: dur}, nil
	case "spin":
		return Work{D: dur, Spin: true}, nil
	}
	return Work{}, fmt.Errorf("invalid --work %q: mode %q, accepted: sleep, spin", s, mode)
}
