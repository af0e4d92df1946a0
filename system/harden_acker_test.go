package system

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	faktory "github.com/contribsys/faktory/client"
)

// faktoryFigures are the counts that say what Faktory made of the ACKs and FAILs.
type faktoryFigures struct{ working, retries, queued, processed, failures int }

func faktoryState(t *testing.T, ep Endpoint) faktoryFigures {
	t.Helper()
	c, err := ep.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, err := c.CurrentState()
	if err != nil {
		t.Fatal(err)
	}
	d := st.Data
	return faktoryFigures{working: int(d.Sets["working"]), retries: int(d.Sets["retries"]), queued: int(d.Queues[DefaultQueue]),
		processed: int(d.TotalProcessed), failures: int(d.TotalFailures)}
}

// ackCompletion is the completion of a fetched job; fail makes it a FAIL.
func ackCompletion(j *faktory.Job, fail bool) Completion {
	args, _ := ArgsOf(j)
	c := Completion{Jid: j.Jid, Type: j.Type, RequestID: args.RequestID}
	if fail {
		c.Err = errors.New("boom")
	}
	return c
}

// The pipelined acker through a connection that breaks with ACKs in flight: the
// answers lost after Faktory acted on them, the ACKs lost before Faktory saw them, a
// partition that closes nothing, Faktory closing its side. Every job is reported once
// and without error, and Faktory acknowledged each exactly once (one FAILed): its working
// set empties, nothing is left to run again. Before, each case reported the jobs with
// an ACK error (the lost ones ran again after their reservation), the partition hung
// every slot, and a connection Faktory closed was never closed (a descriptor leaked).
func TestAckerRecoversLostACKs(t *testing.T) {
	b := startBroker(t)
	direct := Endpoint{Addr: b.Addr()}
	for _, tc := range []struct {
		name    string
		timeout time.Duration // the acker's answer deadline
		// before breaks the connection before the ACKs are sent; after, once they are
		// (wantWorking: Faktory's working set once it acted on them all).
		before func(t *testing.T, p *tcpProxy)
		after  func(t *testing.T, p *tcpProxy, wantWorking int)
	}{
		{"answers lost", 10 * time.Second, func(_ *testing.T, p *tcpProxy) { p.hold(proxyDown) }, func(t *testing.T, p *tcpProxy, want int) {
			waitFor(t, 10*time.Second, "Faktory never acted on the ACKs", func() bool { return faktoryState(t, direct).working == want })
			p.cut()
		}},
		{"ACKs lost", 10 * time.Second, func(_ *testing.T, p *tcpProxy) { p.hold(proxyUp) }, func(_ *testing.T, p *tcpProxy, _ int) { p.cut() }},
		{"partition", 300 * time.Millisecond, func(_ *testing.T, p *tcpProxy) { p.hold(proxyUp, proxyDown) }, nil},
		{"faktory closes", 10 * time.Second, func(t *testing.T, p *tcpProxy) {
			p.finServers()
			waitFor(t, 10*time.Second, "the acker never closed the connection Faktory closed", func() bool { return p.open() == 0 })
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testAckerBreak(t, direct, tc.timeout, tc.before, tc.after)
		})
	}
}

func testAckerBreak(t *testing.T, direct Endpoint, timeout time.Duration, before func(*testing.T, *tcpProxy), after func(*testing.T, *tcpProxy, int)) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := startProxy(t, direct.Addr)
	const n = 6
	prefix := fmt.Sprintf("lost-%d", time.Now().UnixNano())
	fetched := reserveJobs(t, ctx, direct, prefix, n+1)
	start := faktoryState(t, direct)
	s := newSink()
	a, err := newAcker(ctx, Endpoint{Addr: p.addr(), ReadTimeout: timeout, WriteTimeout: timeout}, s, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer a.abort()
	a.send(ackCompletion(fetched[0], false)) // the connection works
	if c := s.wait(t, 10*time.Second, prefix+"-0")[prefix+"-0"]; c.AckErr != nil {
		t.Fatalf("first ACK: %v", c.AckErr)
	}
	rids := make([]string, 0, n)
	before(t, p)
	for i, j := range fetched[1:] {
		a.send(ackCompletion(j, i == 0))
		rids = append(rids, fmt.Sprintf("%s-%d", prefix, i+1))
	}
	if after != nil {
		after(t, p, start.working-n-1)
	}
	for rid, c := range s.wait(t, 20*time.Second, rids...) {
		if c.AckErr != nil {
			t.Errorf("%s: reported with %v, want confirmed", rid, c.AckErr)
		}
	}
	a.close(ctx)
	close(s.ch)
	s.mu.Lock()
	for c := range s.ch {
		s.seen[c.RequestID] = append(s.seen[c.RequestID], c)
	}
	for _, rid := range append(rids, prefix+"-0") {
		if k := len(s.seen[rid]); k != 1 {
			t.Errorf("%s reported %d times", rid, k)
		}
	}
	s.mu.Unlock()
	end := faktoryState(t, direct)
	// Faktory counts an ACK or a FAIL of a reserved job as processed (a FAIL also as a
	// failure); a repeated one finds no reservation and counts nothing.
	if end.working != start.working-n-1 || end.processed-start.processed != n+1 || end.failures-start.failures != 1 || end.queued != 0 {
		t.Errorf("Faktory before %+v, after %+v: want the %d jobs out of the working set, each processed once (one of them FAILed), none queued to run again", start, end, n+1)
	}
	if p.open() > 1 {
		t.Errorf("%d connections open through the proxy after close, want at most 1", p.open())
	}
}
