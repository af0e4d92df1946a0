package system

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

type listSink struct {
	mu   sync.Mutex
	list []Completion
}

func (s *listSink) Complete(c Completion) {
	s.mu.Lock()
	s.list = append(s.list, c)
	s.mu.Unlock()
}

// Two workers' sinks report to one collector over real HTTP: each is counted under its
// name, failures apart; the sinks measure their clock offset to the collector's with a
// ping-pong. A collector whose clock is 5 s ahead gets the workers' times moved onto its
// own clock, to within the measurement's uncertainty; at a zero offset nothing moves.
func TestCollectorCountsWorkersAndCorrectsClocks(t *testing.T) {
	for _, ahead := range []time.Duration{0, 5 * time.Second} {
		sink := &listSink{}
		col := NewCollector(sink)
		col.now = func() time.Time { return time.Now().Add(ahead) }
		srv := httptest.NewServer(col)
		sent := time.Now()
		for i, name := range []string{"worker-1", "worker-2"} {
			s := NewHTTPSinkWith(srv.URL+"/completions", HTTPSinkOptions{Name: name})
			for j := range 3 + i {
				c := Completion{Jid: name + string(rune('a'+j)), Type: JobAdd, Started: sent, Finished: sent}
				if j == 0 {
					c.Err = ErrDivideByZero
				}
				s.Complete(c)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := s.Close(ctx); err != nil {
				t.Fatalf("close %s's sink: %v", name, err)
			}
			cancel()
		}
		srv.Close()
		ws := col.Workers()
		if len(ws) != 2 || ws[0].Name != "worker-1" || ws[1].Name != "worker-2" {
			t.Fatalf("ahead %s: workers %+v, want worker-1 and worker-2", ahead, ws)
		}
		for i, w := range ws {
			if w.Completed != 2+i || w.Failed != 1 || !w.Measured {
				t.Errorf("ahead %s: %s: %+v, want %d completed, 1 failed, clock measured", ahead, w.Name, w, 2+i)
			}
			if d := w.Clock.Offset - ahead; d > w.Clock.Uncertainty() || -d > w.Clock.Uncertainty() {
				t.Errorf("ahead %s: %s measured offset %s ± %s", ahead, w.Name, w.Clock.Offset, w.Clock.Uncertainty())
			}
			if w.Corrected != (ahead != 0) {
				t.Errorf("ahead %s: %s corrected %v", ahead, w.Name, w.Corrected)
			}
		}
		if len(sink.list) != 7 {
			t.Fatalf("ahead %s: %d completions reached the sink, want 7", ahead, len(sink.list))
		}
		for _, c := range sink.list {
			if d := c.Started.Sub(sent) - ahead; d > time.Second || d < -time.Second {
				t.Errorf("ahead %s: %s started %s after it was sent, want about %s", ahead, c.Jid, c.Started.Sub(sent), ahead)
			}
		}
	}
}

// Bad clock headers are ignored, not trusted.
func TestParseClockSample(t *testing.T) {
	for _, h := range []string{"", "1", "1/", "/2", "x/2", "1/-2", "1/99999999999999", "99999999999999999/1"} {
		if _, ok := parseClockSample(h); ok {
			t.Errorf("%q accepted", h)
		}
	}
	if c, ok := parseClockSample("-1500/3000"); !ok || c.Offset != -1500 || c.RTT != 3000 || c.Uncertainty() != 1500 {
		t.Errorf("-1500/3000: %+v %v", c, ok)
	}
}

// JOB_RETRIES sets the retries of the API's jobs, within 0 to 25; anything else is
// refused with the accepted form.
func TestJobRetriesKnob(t *testing.T) {
	cfg := DefaultConfig()
	if err := SetKnob(&cfg, "JOB_RETRIES", "1"); err != nil || cfg.JobRetries != 1 {
		t.Fatalf("JOB_RETRIES=1: %v, %d", err, cfg.JobRetries)
	}
	for _, bad := range []string{"-1", "26", "x", ""} {
		if err := SetKnob(&cfg, "JOB_RETRIES", bad); err == nil || !strings.Contains(err.Error(), "0 to 25") {
			t.Errorf("JOB_RETRIES=%q: %v", bad, err)
		}
	}
	if DefaultConfig().JobRetries != 0 {
		t.Error("a standing API's jobs allow retries by default")
	}
}
