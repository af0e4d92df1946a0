package diagnose

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	faktory "github.com/contribsys/faktory/client"
)

// measureConnect times fresh connections: TCP alone, then the whole connect a client
// pays before its first command.
func (s *session) measureConnect(ctx context.Context) error {
	tcp, total := newSamples(), newSamples()
	_, err := loop(ctx, s.plan.connect, stageCap(s.plan.connect, 3, s.rtt), func(int) error {
		w, t, all, err := dialWire(ctx, s.ep)
		if err != nil {
			return s.fail(ctx, "connect", err)
		}
		w.close()
		tcp.add(t)
		total.add(all)
		return nil
	})
	s.f.tcpConnect, s.f.connect = tcp.q(50), total.q(50)
	s.putMS("tcp_connect", s.f.tcpConnect, tcp.n())
	s.putMS("faktory_connect", s.f.connect, total.n())
	return err
}

// measureRTT samples a command Faktory answers without Redis (system.Ping) on one
// kept-open connection: the network round trip plus Faktory's parsing.
func (s *session) measureRTT(ctx context.Context) error {
	h := newSamples()
	_, err := loop(ctx, s.plan.rtt, stageCap(s.plan.rtt, 1, s.rtt), func(int) error {
		d, err := s.probe.Probe(ctx)
		if err != nil {
			return s.fail(ctx, "ping", err)
		}
		h.add(d)
		return nil
	})
	s.f.rtt, s.f.rttMin, s.f.rttP99 = h.q(50), h.min(), h.q(99)
	s.putMS("command_rtt_min", s.f.rttMin, h.n())
	s.putMS("command_rtt_p50", s.f.rtt, h.n())
	s.putMS("command_rtt_p99", s.f.rttP99, h.n())
	return err
}

// maxQueuesShown bounds the per-queue measurements (a deployment may have hundreds).
const maxQueuesShown = 20

// measureInfo reports INFO (taken when the session opened) and each queue's latency:
// how long its oldest job has waited.
func (s *session) measureInfo(ctx context.Context) error {
	st := s.before
	own := 2 // the session's INFO connection and its command connection
	s.put("faktory_connections", "connections", float64(max(int(st.Server.Connections)-own, 0)), 1)
	s.f.queues = st.Data.Queues
	var total uint64
	for _, n := range st.Data.Queues {
		total += n
	}
	s.put("faktory_queues", "queues", float64(len(st.Data.Queues)), 1)
	s.put("faktory_queued_jobs", "jobs", float64(total), 1)
	for _, set := range []string{"working", "scheduled", "retries", "dead"} {
		s.put("faktory_"+set, "jobs", float64(st.Data.Sets[set]), 1)
	}
	names := queueNames(st)
	slices.SortStableFunc(names, func(a, b string) int { return cmp.Compare(st.Data.Queues[b], st.Data.Queues[a]) })
	if len(names) > maxQueuesShown {
		s.note("%d queues: the %d largest are shown", len(names), maxQueuesShown)
		names = names[:maxQueuesShown]
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	lat, err := s.queueLatency(names)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		s.note("QUEUE LATENCY is not available on this Faktory (%v): queue latency not measured", err)
	}
	s.f.latency = lat
	for _, q := range names {
		s.put("queue_size:"+q, "jobs", float64(st.Data.Queues[q]), 1)
		if l, ok := lat[q]; ok {
			s.put("queue_latency:"+q, "s", l, 1)
		}
	}
	return nil
}

// queueLatency asks QUEUE LATENCY (Faktory 1.9+), which reads each queue's oldest job
// and writes nothing.
func (s *session) queueLatency(names []string) (map[string]float64, error) {
	out, err := s.c.Generic("QUEUE LATENCY " + strings.Join(names, " "))
	if err != nil {
		return nil, err
	}
	lat := map[string]float64{}
	if err := json.Unmarshal([]byte(out), &lat); err != nil {
		return nil, fmt.Errorf("QUEUE LATENCY answer %q: %w", out, err)
	}
	return lat, nil
}

// queueNames is INFO's queue list, sorted.
func queueNames(st *faktory.FaktoryState) []string {
	names := make([]string, 0, len(st.Data.Queues))
	for q := range st.Data.Queues {
		names = append(names, q)
	}
	slices.Sort(names)
	return names
}

// newJob is a job for the private queue: no worker ever runs it, the cleanup
// acknowledges it; the shortest reservation Faktory allows, in case an ACK is lost.
func (s *session) newJob() *faktory.Job {
	j := faktory.NewJob("wfbench_diagnose", s.pushed)
	j.Queue = s.queue
	j.ReserveFor = 60
	return j
}

// fetchResult is what a FETCH returned, and when.
type fetchResult struct {
	job *faktory.Job
	at  time.Time
	err error
}

// measurePickup times what a waiting worker sees: a FETCH blocks on the empty private
// queue; the job is PUSHed on another connection; pickup is PUSH sent → FETCH returned
// (one round trip when the link is symmetric: the PUSH's way there, the job's way back).
func (s *session) measurePickup(ctx context.Context) error {
	c2, err := s.ep.Dial(ctx)
	if err != nil {
		return s.fail(ctx, "connect", err)
	}
	defer func() { _ = c2.Close() }()
	h := newSamples()
	_, err = loop(ctx, s.plan.pickup, stageCap(s.plan.pickup, 2, s.rtt), func(int) error {
		ready, got := make(chan struct{}), make(chan fetchResult, 1)
		go func() {
			close(ready)
			j, err := c2.Fetch(s.queue)
			got <- fetchResult{j, time.Now(), err}
		}()
		<-ready
		time.Sleep(time.Millisecond) // the FETCH is on the wire before the PUSH
		s.touched = true
		t0 := time.Now()
		perr := s.c.Push(s.newJob())
		r := <-got // bounded: Faktory answers an empty FETCH after 2 s
		if perr == nil {
			s.pushed++
		}
		if r.job == nil || r.err != nil || perr != nil {
			if r.job != nil {
				s.unacked[r.job.Jid] = true
			}
			return s.fail(ctx, "PUSH and FETCH", cmp.Or(perr, r.err, fmt.Errorf("FETCH returned no job")))
		}
		h.add(r.at.Sub(t0))
		return s.ack(ctx, c2, r.job.Jid)
	})
	s.f.pickup = h.q(50)
	s.putMS("pickup", s.f.pickup, h.n())
	return err
}

// ack acknowledges a fetched job, timing it; a job whose ACK failed is left to the
// cleanup.
func (s *session) ack(ctx context.Context, c *faktory.Client, jid string) error {
	t := time.Now()
	if err := c.Ack(jid); err != nil {
		s.unacked[jid] = true
		return s.fail(ctx, "ACK", err)
	}
	s.acks.add(time.Since(t))
	s.fetched++
	return nil
}

// measurePush times single PUSHes: a job per round trip.
func (s *session) measurePush(ctx context.Context) error {
	h := newSamples()
	_, err := loop(ctx, s.plan.push, stageCap(s.plan.push, 1, s.rtt), func(int) error {
		s.touched = true
		t := time.Now()
		if err := s.c.Push(s.newJob()); err != nil {
			return s.fail(ctx, "PUSH", err)
		}
		h.add(time.Since(t))
		s.pushed++
		return nil
	})
	s.f.push = h.q(50)
	s.putMS("push_per_job", s.f.push, h.n())
	return err
}

// maxBatchJobs bounds what the PUSHB stage pushes (and the cleanup then drains).
const maxBatchJobs = 5000

// measureBatch times a PUSHB at each batch size: a batch per round trip, plus
// Faktory's work per job.
func (s *session) measureBatch(ctx context.Context) error {
	sum := 0
	for _, b := range s.o.Batches {
		sum += b
	}
	n := min(s.plan.batch, max(maxBatchJobs/sum, 1))
	s.f.batch = map[int]time.Duration{}
	for _, b := range s.o.Batches {
		h := newSamples()
		_, err := loop(ctx, n, stageCap(n, 1, s.rtt), func(int) error {
			jobs := make([]*faktory.Job, b)
			for i := range jobs {
				jobs[i] = s.newJob()
			}
			s.touched = true
			t := time.Now()
			refused, err := s.c.PushBulk(jobs)
			if err != nil {
				return s.fail(ctx, fmt.Sprintf("PUSHB of %d", b), err)
			}
			h.add(time.Since(t))
			s.pushed += b - len(refused)
			if len(refused) > 0 {
				s.note("Faktory refused %d of a PUSHB of %d, e.g. %q", len(refused), b, firstValue(refused))
			}
			return nil
		})
		if h.n() > 0 {
			s.f.batch[b] = h.q(50)
			s.putMS(fmt.Sprintf("pushb_%d_call", b), h.q(50), h.n())
			s.putMS(fmt.Sprintf("pushb_%d_per_job", b), h.q(50)/time.Duration(b), h.n())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func firstValue(m map[string]string) string {
	for _, v := range m {
		return v
	}
	return ""
}

// measureFetch times FETCH with a job waiting (what a busy worker pays per job) and
// its ACK; only as many as the queue holds, since a FETCH of an empty queue waits 2 s.
func (s *session) measureFetch(ctx context.Context) error {
	h := newSamples()
	n := min(s.plan.fetch, s.pushed-s.fetched)
	_, err := loop(ctx, n, stageCap(n, 2, s.rtt), func(int) error {
		t := time.Now()
		j, err := s.c.Fetch(s.queue)
		if err != nil || j == nil {
			return s.fail(ctx, "FETCH", cmp.Or(err, fmt.Errorf("no job in %s, which should hold %d", s.queue, s.pushed-s.fetched)))
		}
		h.add(time.Since(t))
		return s.ack(ctx, s.c, j.Jid)
	})
	s.f.fetch = h.q(50)
	s.putMS("fetch", s.f.fetch, h.n())
	s.putAcks()
	return err
}
