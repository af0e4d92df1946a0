package system

import (
	"context"
	"fmt"
	"testing"
	"time"

	faktory "github.com/contribsys/faktory/client"
)

// reserveJobs pushes n jobs (request ids prefix-0, prefix-1, ...) and fetches them, so
// that Faktory holds them reserved, awaiting their ACK.
func reserveJobs(t *testing.T, ctx context.Context, ep Endpoint, prefix string, n int) []*faktory.Job {
	t.Helper()
	c, err := ep.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	jobs := make([]*faktory.Job, n)
	for i := range jobs {
		jobs[i] = NewJob(JobAdd, MathArgs{A: 1, B: 1, RequestID: fmt.Sprintf("%s-%d", prefix, i)}, "", "", 0)
	}
	if _, err := c.PushBulk(jobs); err != nil {
		t.Fatal(err)
	}
	fetched := make([]*faktory.Job, 0, n)
	for range n {
		j, err := c.Fetch(DefaultQueue)
		if err != nil || j == nil {
			t.Fatalf("fetch: %v %v", j, err)
		}
		fetched = append(fetched, j)
	}
	return fetched
}

// The pipelined acker on a real Faktory: answers are matched to jobs; after its
// connection breaks, every later ACK is still reported exactly once (with an error, or
// confirmed on a new connection) and close returns: no send waits on a dead reader.
func TestAckerSurvivesBrokenConnection(t *testing.T) {
	b := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ep := Endpoint{Addr: b.Addr()}
	const n = 4
	fetched := reserveJobs(t, ctx, ep, "ack", n)
	s := newSink()
	a, err := newAcker(ctx, ep, s, 2)
	if err != nil {
		t.Fatal(err)
	}
	comp := func(j *faktory.Job) Completion {
		args, _ := ArgsOf(j)
		return Completion{Jid: j.Jid, RequestID: args.RequestID}
	}
	a.send(comp(fetched[0]))
	if got := s.wait(t, 10*time.Second, "ack-0")["ack-0"]; got.AckErr != nil {
		t.Fatalf("first ACK: %v", got.AckErr)
	}
	_ = a.cur.conn.Close() // the connection breaks under the acker
	for _, j := range fetched[1:] {
		a.send(comp(j))
	}
	got := s.wait(t, 10*time.Second, "ack-1", "ack-2", "ack-3")
	if got["ack-3"].AckErr != nil {
		t.Errorf("ack-3 after a reconnect: %v", got["ack-3"].AckErr)
	}
	done := make(chan struct{})
	go func() { a.close(ctx); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("close hung")
	}
	// Nothing reported twice.
	close(s.ch)
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.ch {
		s.seen[c.RequestID] = append(s.seen[c.RequestID], c)
	}
	for i := range n {
		if k := len(s.seen[fmt.Sprintf("ack-%d", i)]); k != 1 {
			t.Errorf("ack-%d reported %d times", i, k)
		}
	}
	after := newSink()
	a.sink = after
	a.send(comp(fetched[0])) // after close: reported with an error, not sent
	if c := <-after.ch; c.AckErr == nil {
		t.Error("a send after close reported no error")
	}
}

// With its window full, send waits until an answer has been reported: a slow ACK path
// holds the slots back instead of queueing ACKs (and Faktory reservations) without bound.
func TestAckerWindowBounds(t *testing.T) {
	b := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ep := Endpoint{Addr: b.Addr()}
	fetched := reserveJobs(t, ctx, ep, "win", 2)
	g := gateSink{entered: make(chan struct{}), release: make(chan struct{})}
	a, err := newAcker(ctx, ep, g, 1)
	if err != nil {
		t.Fatal(err)
	}
	a.send(Completion{Jid: fetched[0].Jid, RequestID: "win-0"})
	<-g.entered // the first answer is being reported: its token is still held
	second := make(chan struct{})
	go func() {
		a.send(Completion{Jid: fetched[1].Jid, RequestID: "win-1"})
		close(second)
	}()
	select {
	case <-second:
		t.Fatal("a send went through with the window full")
	default:
	}
	g.release <- struct{}{} // the first report ends, giving its token back
	select {
	case <-g.entered:
	case <-ctx.Done():
		t.Fatal("the second ACK was never answered")
	}
	<-second
	g.release <- struct{}{}
	a.close(ctx)
}
