package system

import (
	"sync"
	"time"
)

// Job statuses in the result store.
const (
	StatusBuffered = "buffered" // async: accepted, not yet in Faktory
	StatusEnqueued = "enqueued" // Faktory has it
	StatusDone     = "done"
	StatusFailed   = "failed"
)

// JobResult is what GET /jobs/{request_id} answers.
type JobResult struct {
	RequestID string    `json:"request_id"`
	JobID     string    `json:"job_id"`
	Type      string    `json:"type"`
	Status    string    `json:"status"`
	Result    *float64  `json:"result,omitempty"`
	Error     string    `json:"error,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ResultStore keeps the latest results by request_id (the analysis notes the analysed
// system loses them), in memory, bounded: past its capacity the oldest entries go.
// It is a CompletionSink, so workers feed it directly.
type ResultStore struct {
	mu    sync.Mutex
	m     map[string]*JobResult
	order []string // insertion order, for eviction
	max   int
}

// NewResultStore keeps at most capacity results (at least 1).
func NewResultStore(capacity int) *ResultStore {
	return &ResultStore{m: map[string]*JobResult{}, max: max(capacity, 1)}
}

func (s *ResultStore) upsert(rid string, update func(*JobResult)) {
	if rid == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[rid]
	if !ok {
		if len(s.order) >= s.max {
			delete(s.m, s.order[0])
			s.order = s.order[1:]
		}
		r = &JobResult{RequestID: rid}
		s.m[rid] = r
		s.order = append(s.order, rid)
	}
	update(r)
	r.UpdatedAt = time.Now().UTC()
}

// Accepted records a job the API took.
func (s *ResultStore) Accepted(rid, jid, jobType, status string) {
	s.upsert(rid, func(r *JobResult) {
		if r.Status != "" && statusRank[r.Status] > statusRank[status] {
			return // the flusher or the worker was faster than the API's bookkeeping
		}
		r.JobID, r.Type, r.Status = jid, jobType, status
	})
}

// Refused records a job Faktory refused after the API took it.
func (s *ResultStore) Refused(rid, jid, jobType, reason string) {
	s.upsert(rid, func(r *JobResult) {
		r.JobID, r.Type, r.Status, r.Error = jid, jobType, StatusFailed, "refused by Faktory: "+reason
	})
}

// Accepted never moves a job back: enqueued stays enqueued if the handler records
// buffered after the flusher recorded enqueued.
var statusRank = map[string]int{StatusBuffered: 0, StatusEnqueued: 1, StatusDone: 2, StatusFailed: 2}

// Complete records a worker's result.
func (s *ResultStore) Complete(c Completion) {
	s.upsert(c.RequestID, func(r *JobResult) {
		r.JobID, r.Type = c.Jid, c.Type
		if c.Err != nil {
			r.Status, r.Error, r.Result = StatusFailed, c.Err.Error(), nil
			return
		}
		v := c.Result
		r.Status, r.Result, r.Error = StatusDone, &v, ""
	})
}

// Get returns the result of a request id.
func (s *ResultStore) Get(rid string) (JobResult, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[rid]
	if !ok {
		return JobResult{}, false
	}
	return *r, true
}

// Sinks fans completions out to several sinks (the recorder and the result store).
type Sinks []CompletionSink

// Complete passes c to every sink.
func (ss Sinks) Complete(c Completion) {
	for _, s := range ss {
		if s != nil {
			s.Complete(c)
		}
	}
}
