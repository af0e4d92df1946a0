package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/wfbench/wfbench/netem"
)

// A phase's text form reads back to the same phase, through the flag, the scenario key
// and the result's config.settings alike.
func TestPhaseTextRoundTrip(t *testing.T) {
	for _, in := range []string{
		"client-api@1s+1s=reset",
		"worker-faktory@2s+3s=latency:200ms,jitter:20ms",
		"api-faktory@500ms+2s=timeout:1s",
		"client-faktory@0ms+1s=bandwidth:64000",
		"client-api@1s+500ms=slicer:32/2ms",
		"client-api@1s+500ms=limit_data:10000",
		"client-api@1s=latency:50ms",
	} {
		p, err := ParsePhase(in)
		if err != nil {
			t.Errorf("ParsePhase(%q): %v", in, err)
			continue
		}
		if got := p.String(); got != in {
			t.Errorf("ParsePhase(%q).String() = %q", in, got)
		}
	}
	s, _ := LookupSetting("phase")
	c := Default()
	for _, v := range []string{"client-api@1s+1s=reset", "worker-faktory@2s+3s=timeout:500ms"} {
		if err := s.Set(&c, v); err != nil {
			t.Fatal(err)
		}
	}
	back := FromRecord(ResultConfig(c))
	if len(back.Phases) != 2 || back.Phases[1].Condition.Fault != netem.FaultTimeout || back.Phases[1].Condition.Timeout != 500*time.Millisecond {
		t.Errorf("phases read back from the result: %+v", back.Phases)
	}
	for _, bad := range []string{"client-api", "client-api@x=reset", "client-api@1s=melt", "client-api@1s+1s=timeout"} {
		if _, err := ParsePhase(bad); err == nil || !strings.Contains(err.Error(), "accepted") {
			t.Errorf("ParsePhase(%q): %v, want an error with the accepted form", bad, err)
		}
	}
}

// --api-url is http://host:port and nothing else: no credentials (they would be recorded
// and sent as the host), no query.
func TestAPIURLForm(t *testing.T) {
	for _, bad := range []string{"http://u:secret@127.0.0.1:8080", "http://127.0.0.1:8080?x=1", "https://127.0.0.1:8080", "http://127.0.0.1", "http://h:1/api"} {
		c := Default()
		c.APIURL, c.FaktoryURL = bad, "tcp://127.0.0.1:7419"
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--api-url") {
			t.Errorf("--api-url %s: %v, want refused", bad, err)
		}
	}
	c := Default()
	c.Phases = []Phase{{Link: netem.ClientAPI, At: 2000 * time.Hour, For: time.Second, Condition: netem.Condition{Latency: time.Second}}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "accepted are durations from 0") {
		t.Errorf("a phase 2000 h in: %v, want refused", err)
	}
}
