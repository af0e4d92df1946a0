package diagnose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// drainChunk is how many FETCHes (then ACKs) go in flight at once: enough that a
// drain is a few round trips, few enough that Faktory answers each chunk quickly.
const drainChunk = 500

// cleanupBudget bounds the cleanup, which runs even after ctx was cancelled: a few
// round trips per chunk and Faktory's own work, at most a minute.
func (s *session) cleanupBudget() time.Duration {
	chunks := s.pushed/drainChunk + 1
	return min(10*time.Second+time.Duration(4*chunks+10)*s.rtt, time.Minute)
}

// cleanup puts Faktory back as it was found: every job the session pushed fetched and
// acknowledged, the private queue removed; then INFO again, to show the queue list is
// the one found. It runs on a context of its own: a cancelled run must clean up too.
func (s *session) cleanup(parent context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), s.cleanupBudget())
	defer cancel()
	defer s.closeAll()
	if s.before == nil {
		return nil // never got as far as INFO: nothing was pushed
	}
	// A connection of its own: a stage's failure may have broken the others.
	if s.w != nil {
		s.w.close()
	}
	w, _, _, err := dialWire(ctx, s.ep)
	if err != nil {
		s.w = nil
		return s.cleanupFailed(err)
	}
	s.w = w
	if s.touched && !s.o.ReadOnly {
		drained, err := s.drain(ctx)
		if err == nil {
			_, err = s.w.call("QUEUE REMOVE", []byte(s.queue))
		}
		if err != nil {
			return s.cleanupFailed(err)
		}
		s.note("cleanup: %d jobs drained (FETCH+ACK) from %s, which was then removed", s.fetched+drained, s.queue)
	}
	after, err := s.w.info()
	if err != nil {
		return s.cleanupFailed(err)
	}
	t := &s.d.Target
	t.QueuesAfter = queueNames(after)
	t.QueuesUnchanged = slices.Equal(t.QueuesBefore, t.QueuesAfter)
	if !t.QueuesUnchanged {
		s.note("Faktory's queue list changed while diagnose ran (before %v, after %v): not by diagnose's own queue, which is gone%s",
			t.QueuesBefore, t.QueuesAfter, s.apiQueueHint())
	}
	return nil
}

// cleanupFailed says what is left behind and how to remove it.
func (s *session) cleanupFailed(err error) error {
	if !s.touched || s.o.ReadOnly {
		return fmt.Errorf("cleanup: INFO after: %w", err)
	}
	return &envError{fmt.Sprintf("cleanup of Faktory at %s failed: its private queue %s may still exist (remove it with QUEUE REMOVE %s, or the Web UI)",
		s.d.Target.FaktoryURL, s.queue, s.queue), err}
}

// drain fetches and acknowledges every job still in the private queue, pipelined
// (a chunk costs two round trips), and first acknowledges any a stage fetched but
// could not. It asks INFO for the queue's size before each chunk and never FETCHes
// more: a FETCH of an empty queue would wait 2 s.
func (s *session) drain(ctx context.Context) (int, error) {
	timeout := wireTimeout + 2*s.rtt
	if len(s.unacked) > 0 {
		if err := s.ackAll(keys(s.unacked), timeout); err != nil {
			return 0, err
		}
		clear(s.unacked)
	}
	drained := 0
	for range s.pushed/drainChunk + 3 {
		if ctx.Err() != nil {
			return drained, fmt.Errorf("drain of %s: %w", s.queue, ctx.Err())
		}
		st, err := s.w.info()
		if err != nil {
			return drained, err
		}
		size := int(st.Data.Queues[s.queue])
		if size == 0 {
			return drained, nil
		}
		fetches := make([][]byte, min(size, drainChunk))
		for i := range fetches {
			fetches[i] = []byte(s.queue)
		}
		answers, err := s.w.pipeline("FETCH", fetches, timeout)
		jids := jobIDs(answers)
		if aerr := s.ackAll(jids, timeout); aerr != nil || err != nil {
			return drained, errors.Join(err, aerr)
		}
		drained += len(jids)
	}
	return drained, nil // what is left, QUEUE REMOVE deletes
}

// ackAll acknowledges jobs in one pipeline.
func (s *session) ackAll(jids []string, timeout time.Duration) error {
	acks := make([][]byte, len(jids))
	for i, jid := range jids {
		acks[i] = fmt.Appendf(nil, `{"jid":%q}`, jid)
	}
	answers, err := s.w.pipeline("ACK", acks, timeout)
	for _, a := range answers {
		err = errors.Join(err, a.err)
	}
	return err
}

// jobIDs are the ids of the jobs FETCH answers hold.
func jobIDs(answers []answer) []string {
	var jids []string
	for _, a := range answers {
		var j struct {
			Jid string `json:"jid"`
		}
		if a.err == nil && a.data != nil && json.Unmarshal(a.data, &j) == nil && j.Jid != "" {
			jids = append(jids, j.Jid)
		}
	}
	return jids
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// closeAll closes every connection the session opened.
func (s *session) closeAll() {
	if s.w != nil {
		s.w.close()
		s.w = nil
	}
	if s.c != nil {
		_ = s.c.Close()
		s.c = nil
	}
	if s.probe != nil {
		s.probe.Close()
	}
	if s.hc != nil {
		s.hc.CloseIdleConnections()
	}
}
