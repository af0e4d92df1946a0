package netem

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"sync"
	"time"

	tpclient "github.com/Shopify/toxiproxy/v2/client"
)

// serverCost is what the official toxiproxy server adds to a round trip beyond its latency
// toxics, as NewExternal measured it.
type serverCost struct {
	base time.Duration // the proxy's own round trip, both latency toxics at 0
	// More per direction whose toxic sleeps (its Go timer wakes late), measured at a
	// 1 ms and a calibrationDelay sleep: the lateness grows with the sleep (measured here:
	// ~0.3 ms at 1 ms, ~0.6 ms at 10 ms, about as much at 50 ms).
	timer1, timer time.Duration
}

// calibrationDelay is the per-direction latency (ms) the timer lateness is measured at,
// and taken as from there on: long enough to sleep as real links do, short enough to keep
// start-up brief.
const calibrationDelay = 10

// timerAt is the timer's lateness for a sleep of d ms: measured at 1 and calibrationDelay,
// linear in log(d) between them, flat beyond.
func (c serverCost) timerAt(d int64) time.Duration {
	switch {
	case d <= 0:
		return 0
	case d >= calibrationDelay:
		return c.timer
	}
	f := math.Log(float64(d)) / math.Log(calibrationDelay)
	return c.timer1 + time.Duration(f*float64(c.timer-c.timer1))
}

// toxicPlan is what a link's two latency toxics are set to on the server.
type toxicPlan struct {
	up, down int64         // latency, whole ms (the toxic's unit)
	jitter   int64         // ms, each direction: the toxic adds a whole ms drawn from [-jitter, jitter)
	expect   time.Duration // the mean round trip they give, server overhead included
}

func (p toxicPlan) attrs(dir string) tpclient.Attributes {
	lat := p.up
	if dir == "downstream" {
		lat = p.down
	}
	return tpclient.Attributes{"latency": lat, "jitter": p.jitter}
}

// planToxics picks the latency toxics whose round trip (expectRTT) is nearest rtt: the
// server's overhead is subtracted rather than added on top, and the ms total is split as
// the embedded links split microseconds (the odd one upstream). Jitter is halved per
// direction, as on the embedded links, to whole ms.
func planToxics(rtt, jitter time.Duration, cost serverCost) toxicPlan {
	j := int64(math.Round(float64(jitter) / 2 / float64(time.Millisecond)))
	best := toxicPlan{jitter: j, expect: cost.expectRTT(0, 0, j)}
	for k := int64(1); k <= int64(rtt/time.Millisecond)+2*j+2; k++ {
		p := toxicPlan{up: (k + 1) / 2, down: k / 2, jitter: j}
		p.expect = cost.expectRTT(p.up, p.down, j)
		if (p.expect - rtt).Abs() < (best.expect - rtt).Abs() {
			best = p
		}
	}
	return best
}

// expectRTT is the mean round trip through latency toxics of up and down ms, jitter j.
func (c serverCost) expectRTT(up, down, j int64) time.Duration {
	return c.base + c.expectDir(up, j) + c.expectDir(down, j)
}

// expectDir is the mean delay of one direction: the official toxic delays by d = u + v ms,
// v drawn from [-j, j) (Int63n(2j) - j, so jitter lowers the mean by 0.5 ms), nothing
// when d is not positive, and sleeps only then, paying the timer's lateness at d.
func (c serverCost) expectDir(u, j int64) time.Duration {
	if j == 0 {
		if u <= 0 {
			return 0
		}
		return time.Duration(u)*time.Millisecond + c.timerAt(u)
	}
	lo, hi := max(1, u-j), u+j-1 // the delays that are positive
	if lo > hi {
		return 0
	}
	n := hi - lo + 1
	sum := time.Duration((lo+hi)*n/2) * time.Millisecond // (lo+hi)*n is even: a sum of consecutive integers
	for d := lo; d <= min(hi, calibrationDelay-1); d++ {
		sum += c.timerAt(d)
	}
	if hi >= calibrationDelay {
		sum += time.Duration(hi-max(lo, calibrationDelay)+1) * c.timer
	}
	return sum / time.Duration(2*j)
}

// describe says what a link of rtt got, for the notes.
func (p toxicPlan) describe(rtt time.Duration) string {
	return fmt.Sprintf("RTT %s → latency toxics %d ms up + %d ms down, a round trip of about %s with the server's overhead",
		rtt, p.up, p.down, p.expect.Round(10*time.Microsecond))
}

// off says the plan misses rtt by more than 3%, the project's tolerance.
func (p toxicPlan) off(rtt time.Duration) bool {
	return rtt > 0 && (p.expect-rtt).Abs()*100 > 3*rtt
}

// warn says what of rtt and jitter the plan could not honour ("" if nothing): an RTT
// off, or a jitter that is not whole ms per direction.
func (p toxicPlan) warn(rtt, jitter time.Duration) string {
	var out string
	if p.off(rtt) {
		out = fmt.Sprintf("RTT %s cannot be had on toxiproxy-external (whole ms per direction, plus the server's own overhead); "+
			"applied instead: latency toxics %d ms up + %d ms down, a round trip of about %s", rtt, p.up, p.down, p.expect.Round(10*time.Microsecond))
	}
	if jitter > 0 && time.Duration(p.jitter)*2*time.Millisecond != jitter {
		if out != "" {
			out += "; "
		}
		out += fmt.Sprintf("jitter %s applied as ±%d ms per direction (the server's toxic takes whole ms)", jitter, p.jitter)
	}
	return out
}

// calibrate measures the server's overhead through a proxy of its own to an echo server
// here: round trips direct, through the proxy with no delay, and with 1 ms and
// calibrationDelay each way. The proxy is removed afterwards (or by Close if that fails).
func (e *External) calibrate(ctx context.Context) (serverCost, error) {
	echo, err := startEcho(e.echoHost())
	if err != nil {
		return serverCost{}, err
	}
	defer echo.close()
	direct, err := measureEcho(ctx, echo.addr())
	if err != nil {
		return serverCost{}, fmt.Errorf("echo server: %w", err)
	}
	l, err := e.Open(Spec{Name: "calibration"}, echo.addr())
	if err != nil {
		return serverCost{}, err
	}
	defer l.Close()
	via0, err := measureEcho(ctx, l.Addr())
	if err != nil {
		return serverCost{}, fmt.Errorf("through the server (is %s reachable from it?): %w", echo.addr(), err)
	}
	cost := serverCost{base: max(0, via0-direct)}
	for _, at := range []struct {
		ms    int64
		timer *time.Duration
	}{{1, &cost.timer1}, {calibrationDelay, &cost.timer}} {
		for _, dir := range []string{"upstream", "downstream"} {
			if _, err := l.proxy.UpdateToxic(latencyToxicName(dir), 1, tpclient.Attributes{"latency": at.ms}); err != nil {
				return serverCost{}, err
			}
		}
		via, err := measureEcho(ctx, l.Addr())
		if err != nil {
			return serverCost{}, fmt.Errorf("through the server, delayed %d ms: %w", at.ms, err)
		}
		*at.timer = min(maxTimerLateness, max(0, (via-direct-time.Duration(2*at.ms)*time.Millisecond-cost.base)/2))
	}
	cost.base = min(cost.base, maxTimerLateness)
	return cost, nil
}

// maxTimerLateness caps what the calibration takes as the server's own cost, per
// direction and for its base: a Go timer wakes at most ~1 ms late on an idle host
// (measured here: 0.3-0.6 ms), so more is another process's burst during the calibration
// (seen: 2.8 ms while a test suite ran beside it), which would otherwise be subtracted
// from every link of the run (a 40 ms link set to 35 ms).
const maxTimerLateness = time.Millisecond

// echoHost is where the calibration's echo server listens: an address the server can dial
// back, the one this host reaches it from (loopback for a local server).
func (e *External) echoHost() string {
	if !e.remote {
		return "127.0.0.1"
	}
	c, err := net.DialTimeout("tcp", apiHostPort(e.url), 5*time.Second)
	if err != nil {
		return "0.0.0.0" // the calibration will say it cannot reach it
	}
	defer c.Close()
	return c.LocalAddr().(*net.TCPAddr).IP.String()
}

// apiHostPort is host:port of an http(s)://host[:port] URL.
func apiHostPort(u string) string {
	scheme, hostport, _ := strings.Cut(u, "://")
	if _, _, err := net.SplitHostPort(hostport); err == nil {
		return hostport
	}
	if scheme == "https" {
		return net.JoinHostPort(hostport, "443")
	}
	return net.JoinHostPort(hostport, "80")
}

// measureEcho is the lowest of calibrationBatches medians of calibrationSamples one-byte
// round trips to an echo server at addr, on one connection. Other processes' bursts only
// ever add delay: a batch they hit reads high, and the other batch is kept.
func measureEcho(ctx context.Context, addr string) (time.Duration, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	b := []byte{1}
	probe := func(context.Context) (time.Duration, error) {
		if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
			return 0, err
		}
		start := time.Now()
		if _, err := c.Write(b); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(c, b); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
	var best time.Duration
	for i := range calibrationBatches {
		m, err := Measure(ctx, probe, calibrationSamples)
		if err != nil {
			return 0, err
		}
		if i == 0 || m < best {
			best = m
		}
	}
	return best, nil
}

// echo is a TCP echo server: every byte comes back.
type echo struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startEcho(host string) (*echo, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("echo server: %w", err)
	}
	e := &echo{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.mu.Lock()
			e.conns = append(e.conns, c)
			e.mu.Unlock()
			go func() { _, _ = io.Copy(c, c) }()
		}
	}()
	return e, nil
}

func (e *echo) addr() string { return e.ln.Addr().String() }

// close stops accepting and closes every connection, so no copy goroutine outlives it.
func (e *echo) close() {
	_ = e.ln.Close()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.conns {
		_ = c.Close()
	}
}
