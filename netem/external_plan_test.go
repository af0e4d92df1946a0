package netem

import (
	"strings"
	"testing"
	"time"
)

var testCost = serverCost{base: 100 * time.Microsecond, timer1: 300 * time.Microsecond, timer: 500 * time.Microsecond}

// The plan subtracts the server's overhead, splits the ms as the embedded links split
// µs (odd one upstream), and says when an RTT or jitter cannot be had.
func TestPlanToxics(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		rtt, jitter   time.Duration
		up, down, jit int64
		expect        time.Duration
		warn, warnNot string
	}{
		// 19 ms of toxics + 0.1 base + 2 × 0.5 timer = 20.1 ms.
		{rtt: 20 * ms, up: 10, down: 9, expect: 20100 * time.Microsecond},
		{rtt: 100 * ms, up: 50, down: 49, expect: 100100 * time.Microsecond},
		// 0 stays 0: the proxy's own cost, as on the embedded links.
		{rtt: 0, expect: 100 * time.Microsecond},
		// Half a ms cannot be had: no toxic at all is nearest.
		{rtt: ms / 2, expect: 100 * time.Microsecond, warn: "RTT 500µs cannot be had"},
		// Jitter 2 ms is ±1 ms per direction, whose draw [-1, 0] lowers the mean by 0.5:
		// one more ms of toxics makes up for it.
		{rtt: 20 * ms, jitter: 2 * ms, up: 10, down: 10, jit: 1, expect: 20100 * time.Microsecond, warnNot: "jitter"},
		{rtt: 20 * ms, jitter: 3 * ms, up: 10, down: 10, jit: 2, expect: 20100 * time.Microsecond, warn: "jitter 3ms applied as ±2 ms"},
	} {
		p := planToxics(c.rtt, c.jitter, testCost)
		if p.up != c.up || p.down != c.down || p.jitter != c.jit || (p.expect-c.expect).Abs() > 20*time.Microsecond {
			t.Errorf("plan(%s, jitter %s) = %+v, want %d+%d ms, jitter %d, expect %s", c.rtt, c.jitter, p, c.up, c.down, c.jit, c.expect)
		}
		w := p.warn(c.rtt, c.jitter)
		if (c.warn == "") != (w == "") || !strings.Contains(w, c.warn) || (c.warnNot != "" && strings.Contains(w, c.warnNot)) {
			t.Errorf("plan(%s, jitter %s) warns %q, want %q", c.rtt, c.jitter, w, c.warn)
		}
	}
}

// expectDir's sums agree with averaging the toxic's draws one by one.
func TestExpectDir(t *testing.T) {
	for u := int64(0); u < 25; u++ {
		for j := int64(0); j < 15; j++ {
			var sum time.Duration
			draws := max(2*j, 1)
			for v := -j; v < max(j, 1); v++ {
				d := u + v
				if j == 0 {
					d = u
				}
				if d > 0 {
					sum += time.Duration(d)*time.Millisecond + testCost.timerAt(d)
				}
			}
			want := sum / time.Duration(draws)
			if got := testCost.expectDir(u, j); (got - want).Abs() > time.Microsecond {
				t.Errorf("expectDir(%d, %d) = %s, want %s", u, j, got, want)
			}
		}
	}
	if testCost.timerAt(1) != testCost.timer1 || testCost.timerAt(10) != testCost.timer || testCost.timerAt(500) != testCost.timer {
		t.Error("timerAt does not meet its measured points")
	}
}
