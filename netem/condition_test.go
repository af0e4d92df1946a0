package netem

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// noAnswer is how long a test waits for an answer that a fault must prevent; on a working
// link of a few ms RTT the answer would come long before.
const noAnswer = 200 * time.Millisecond

// conn is a line connection across a link.
type conn struct {
	net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &conn{c, bufio.NewReader(c)}
}

// ping sends a line and reads its echo, within d.
func (c *conn) ping(d time.Duration) error {
	if err := c.SetDeadline(time.Now().Add(d)); err != nil {
		return err
	}
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	s, err := c.r.ReadString('\n')
	if err == nil && s != "ping\n" {
		return errors.New("echo: got " + s)
	}
	return err
}

func openLink(t *testing.T, spec Spec) (*Proxies, *Link) {
	t.Helper()
	p := NewProxies()
	t.Cleanup(p.Close)
	l, err := p.Open(spec, echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	return p, l
}

func impose(t *testing.T, l *Link, c Condition) {
	t.Helper()
	if err := l.Impose(c); err != nil {
		t.Fatal(err)
	}
}

func lift(t *testing.T, l *Link) {
	t.Helper()
	if err := l.Lift(); err != nil {
		t.Fatal(err)
	}
}

// Imposed latency adds to the RTT of connections already open, and Lift takes it away;
// the link's own Spec stays as it was throughout.
func TestConditionLatency(t *testing.T) {
	const rtt, extra = 5 * time.Millisecond, 100 * time.Millisecond
	_, l := openLink(t, Spec{Name: "lat", RTT: rtt})
	probe := lineProbe(t, l.Addr())
	c := Condition{Latency: extra}
	impose(t, l, c)
	during, err := Measure(context.Background(), probe, 3)
	if err != nil {
		t.Fatal(err)
	}
	if during < rtt+extra {
		t.Errorf("round trip with %s imposed: %s, want >= %s", c, during, rtt+extra)
	}
	if got, ok := l.Imposed(); !ok || got != c {
		t.Errorf("Imposed() = %v, %v during %s", got, ok, c)
	}
	if s := l.Spec(); s.RTT != rtt {
		t.Errorf("Spec().RTT = %s while imposed, want the link's own %s", s.RTT, rtt)
	}
	lift(t, l)
	after, err := Measure(context.Background(), probe, 3)
	if err != nil {
		t.Fatal(err)
	}
	if after < rtt || after >= rtt+extra {
		t.Errorf("round trip after Lift: %s, want in [%s, %s)", after, rtt, rtt+extra)
	}
	if _, ok := l.Imposed(); ok {
		t.Error("Imposed() reports a condition after Lift")
	}
}

// Imposing replaces the previous condition as a whole, SetRTT keeps an imposed condition
// on top of the new RTT, and Lift restores the link's own RTT and jitter.
func TestConditionReplaceAndSetRTT(t *testing.T) {
	_, l := openLink(t, Spec{Name: "replace", RTT: 10 * time.Millisecond, Jitter: 2 * time.Millisecond})
	setting := func() (rttUS, jitterUS, rate int64) {
		d := l.delays
		return d[0].latencyUS.Load() + d[1].latencyUS.Load(), d[0].jitterUS.Load() + d[1].jitterUS.Load(), d[1].rate.Load()
	}
	check := func(when string, rtt, jitter time.Duration, rate int64) {
		t.Helper()
		gr, gj, gb := setting()
		if gr != rtt.Microseconds() || gj != jitter.Microseconds() || gb != rate || l.delays[0].rate.Load() != rate {
			t.Errorf("%s: RTT %d µs, jitter %d µs, rate %d B/s; want %s, %s, %d", when, gr, gj, gb, rtt, jitter, rate)
		}
	}
	impose(t, l, Condition{Latency: time.Second, Jitter: 50 * time.Millisecond})
	check("latency+jitter", 1010*time.Millisecond, 50*time.Millisecond, 0)
	impose(t, l, Condition{Bandwidth: 64_000})
	check("replaced by bandwidth", 10*time.Millisecond, 2*time.Millisecond, 64_000)
	impose(t, l, Condition{Latency: time.Second})
	if err := l.SetRTT(20*time.Millisecond, 0); err != nil {
		t.Fatal(err)
	}
	check("SetRTT under latency", 1020*time.Millisecond, 0, 0)
	lift(t, l)
	check("lifted", 20*time.Millisecond, 0, 0)
	if err := l.Lift(); err != nil {
		t.Errorf("Lift with nothing imposed: %v", err)
	}
}

// Bandwidth is the capacity of the link's direction: 200 KB take at least 200 KB / rate,
// on one connection or split across two at once.
func TestConditionBandwidth(t *testing.T) {
	const rate, size = 1_000_000, 200_000
	floor := time.Duration(size) * time.Second / rate
	_, l := openLink(t, Spec{Name: "bw", RTT: time.Millisecond})
	impose(t, l, Condition{Bandwidth: rate})
	start := time.Now()
	echoBytes(t, l.Addr(), size)
	if took := time.Since(start); took < floor {
		t.Errorf("%d bytes at %d B/s in %s, want >= %s", size, rate, took, floor)
	}
	start = time.Now()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { echoBytes(t, l.Addr(), size/2) })
	}
	wg.Wait()
	if took := time.Since(start); took < floor {
		t.Errorf("2 connections × %d bytes at %d B/s in %s, want >= %s: the rate is per link, not per connection", size/2, rate, took, floor)
	}
	lift(t, l)
	echoBytes(t, l.Addr(), size) // still delivers, whole, after Lift
	if up, down := l.Bytes(); up != 3*size || down != 3*size {
		t.Errorf("Bytes() = %d, %d, want %d each way", up, down, 3*size)
	}
}

// Lifting a rate reaches data already queued behind it: 200 KB queued at 10 KB/s (20 s
// of transmission) come back soon after the lift, not when the old plan said.
func TestConditionBandwidthLiftReachesQueue(t *testing.T) {
	const rate, conns, size = 10_000, 10, 20_000
	capped := time.Duration(conns*size) * time.Second / rate // 20 s
	_, l := openLink(t, Spec{Name: "bw", RTT: time.Millisecond})
	impose(t, l, Condition{Bandwidth: rate})
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Go(func() { echoBytes(t, l.Addr(), size) })
	}
	// Lift once the first bytes are through: the rest is queued on the capped link.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, down := l.Bytes(); down > 0 {
			break
		}
	}
	lift(t, l)
	wg.Wait()
	if took := time.Since(start); took > capped/4 {
		t.Errorf("%d connections × %d bytes took %s after the lift; capped they take %s: the lift did not reach the queue", conns, size, took, capped)
	}
}

// A reset fault closes a connection as it sends and resets new ones; a connection quiet
// during the fault, and new ones after Lift, work.
func TestConditionReset(t *testing.T) {
	_, l := openLink(t, Spec{Name: "reset", RTT: time.Millisecond})
	busy, quiet := dial(t, l.Addr()), dial(t, l.Addr())
	for _, c := range []*conn{busy, quiet} {
		if err := c.ping(5 * time.Second); err != nil {
			t.Fatalf("before the fault: %v", err)
		}
	}
	impose(t, l, Condition{Fault: FaultReset})
	if err := busy.ping(5 * time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("open connection under reset: %v, want it closed", err)
	}
	if err := dial(t, l.Addr()).ping(5 * time.Second); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("new connection under reset: %v, want connection reset", err)
	}
	lift(t, l)
	if err := dial(t, l.Addr()).ping(5 * time.Second); err != nil {
		t.Errorf("new connection after Lift: %v", err)
	}
	if err := quiet.ping(5 * time.Second); err != nil {
		t.Errorf("connection quiet during the fault, after Lift: %v", err)
	}
}

// A blackhole swallows data on open and new connections without closing them; after
// Lift new connections answer, and those open during it are closed (toxiproxy's timeout
// toxic closes its connections when removed).
func TestConditionBlackhole(t *testing.T) {
	_, l := openLink(t, Spec{Name: "blackhole", RTT: time.Millisecond})
	old := dial(t, l.Addr())
	if err := old.ping(5 * time.Second); err != nil {
		t.Fatalf("before the fault: %v", err)
	}
	impose(t, l, Condition{Fault: FaultBlackhole})
	during := dial(t, l.Addr())
	for name, c := range map[string]*conn{"open": old, "new": during} {
		if err := c.ping(noAnswer); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%s connection under blackhole: %v, want no answer within %s", name, err, noAnswer)
		}
	}
	lift(t, l)
	if err := dial(t, l.Addr()).ping(5 * time.Second); err != nil {
		t.Errorf("new connection after Lift: %v", err)
	}
	for name, c := range map[string]*conn{"open": old, "new": during} {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.r.ReadString('\n'); err != io.EOF {
			t.Errorf("connection %s during the blackhole, after Lift: read %v, want EOF (closed by Lift)", name, err)
		}
	}
}

// Down closes connections and refuses new ones; Lift listens on the same address again,
// with the link's latency and byte counts intact.
func TestConditionDown(t *testing.T) {
	const rtt = 20 * time.Millisecond
	_, l := openLink(t, Spec{Name: "down", RTT: rtt})
	addr := l.Addr()
	old := dial(t, addr)
	if err := old.ping(5 * time.Second); err != nil {
		t.Fatalf("before the fault: %v", err)
	}
	impose(t, l, Condition{Fault: FaultDown})
	old.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := old.r.ReadString('\n'); err != io.EOF {
		t.Errorf("open connection when down: read %v, want EOF", err)
	}
	if c, err := net.Dial("tcp", addr); !errors.Is(err, syscall.ECONNREFUSED) {
		if c != nil {
			c.Close()
		}
		t.Errorf("dial %s when down: %v, want connection refused", addr, err)
	}
	up, _ := l.Bytes()
	lift(t, l)
	if l.Addr() != addr {
		t.Errorf("Addr() %s after Lift, was %s", l.Addr(), addr)
	}
	got, err := Measure(context.Background(), lineProbe(t, addr), 3)
	if err != nil {
		t.Fatalf("round trip after Lift: %v", err)
	}
	if got < rtt {
		t.Errorf("round trip after Lift: %s, below the link's RTT %s (latency toxics lost?)", got, rtt)
	}
	if after, _ := l.Bytes(); after <= up {
		t.Errorf("Bytes() up %d after Lift and traffic, was %d", after, up)
	}
}

// Replacing down by another fault listens again, with the new fault in place for the
// first connection.
func TestConditionDownToBlackhole(t *testing.T) {
	_, l := openLink(t, Spec{Name: "down-blackhole", RTT: time.Millisecond})
	impose(t, l, Condition{Fault: FaultDown})
	impose(t, l, Condition{Fault: FaultBlackhole})
	c := dial(t, l.Addr()) // fails the test if still down
	if err := c.ping(noAnswer); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("first connection after down → blackhole: %v, want no answer within %s", err, noAnswer)
	}
	lift(t, l)
	if err := dial(t, l.Addr()).ping(5 * time.Second); err != nil {
		t.Errorf("after Lift: %v", err)
	}
}

// A down link can be closed, stays closed, and refuses further conditions.
func TestConditionDownThenClose(t *testing.T) {
	_, l := openLink(t, Spec{Name: "down-close"})
	impose(t, l, Condition{Fault: FaultDown})
	l.Close()
	if err := l.Lift(); !errors.Is(err, ErrClosed) {
		t.Errorf("Lift after Close: %v, want ErrClosed", err)
	}
	if err := l.Impose(Condition{Latency: time.Second}); !errors.Is(err, ErrClosed) {
		t.Errorf("Impose after Close: %v, want ErrClosed", err)
	}
	if c, err := net.Dial("tcp", l.Addr()); err == nil {
		c.Close()
		t.Error("closed link accepts connections")
	}
}

// If another socket takes the port while the link is down, Lift says so and leaves the
// link down; once the port is free Lift works.
func TestConditionDownPortTaken(t *testing.T) {
	defer func(d time.Duration) { relistenFor = d }(relistenFor)
	relistenFor = 20 * time.Millisecond
	_, l := openLink(t, Spec{Name: "port-taken"})
	impose(t, l, Condition{Fault: FaultDown})
	squatter, err := net.Listen("tcp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	err = l.Lift()
	squatter.Close()
	if err == nil || !strings.Contains(err.Error(), l.Addr()) || !strings.Contains(err.Error(), "port-taken") {
		t.Fatalf("Lift with the port taken: %v, want an error naming the link and %s", err, l.Addr())
	}
	if c, ok := l.Imposed(); !ok || c.Fault != FaultDown {
		t.Errorf("after a failed Lift: Imposed() = %v, %v, want still down", c, ok)
	}
	lift(t, l)
	if err := dial(t, l.Addr()).ping(5 * time.Second); err != nil {
		t.Errorf("after Lift: %v", err)
	}
}

func TestConditionValidate(t *testing.T) {
	for _, tc := range []struct {
		c    Condition
		want string // in the error; "" = valid
	}{
		{Condition{Latency: time.Second}, ""},
		{Condition{Jitter: time.Millisecond}, ""},
		{Condition{Bandwidth: 1}, ""},
		{Condition{Fault: FaultReset}, ""},
		{Condition{Fault: FaultBlackhole}, ""},
		{Condition{Latency: time.Second, Bandwidth: 64_000, Fault: FaultDown}, ""},
		{Condition{}, "changes nothing"},
		{Condition{Latency: -time.Second}, "latency"},
		{Condition{Jitter: -time.Millisecond}, "jitter"},
		{Condition{Bandwidth: -1}, "bandwidth"},
		{Condition{Fault: "partition"}, "reset, blackhole, down"},
		{Condition{Fault: "Down"}, `unknown fault "Down"`},
	} {
		err := tc.c.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%#v: %v, want valid", tc.c, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%#v: %v, want an error mentioning %q", tc.c, err, tc.want)
		}
	}
	_, l := openLink(t, Spec{Name: "invalid"})
	if err := l.Impose(Condition{Fault: "nope"}); err == nil || !strings.Contains(err.Error(), "link invalid") {
		t.Errorf("Impose of an invalid condition: %v, want an error naming the link", err)
	}
	for _, f := range []string{FaultRestart, FaultKill} {
		if err := l.Impose(Condition{Fault: f}); err == nil || !strings.Contains(err.Error(), "a part's fault") {
			t.Errorf("Impose of %s on a link: %v, want refused as a part's fault", f, err)
		}
	}
}

func TestConditionString(t *testing.T) {
	for c, want := range map[Condition]string{
		{Latency: time.Second}: "+1s latency",
		{Bandwidth: 64_000}:    "bandwidth 64KB/s",
		{Bandwidth: 2_000_000}: "bandwidth 2MB/s",
		{Bandwidth: 1500}:      "bandwidth 1500B/s",
		{Fault: FaultDown}:     "down",
		{Latency: 250 * time.Millisecond, Jitter: 5 * time.Millisecond, Fault: FaultReset}: "+250ms latency, jitter 5ms, reset",
		{}: "no change",
	} {
		if got := c.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", c, got, want)
		}
	}
}

// Conditions change from another goroutine (a phase timer) while traffic crosses the
// link, and toxics are added and removed after the latency toxic, interrupting its pipes
// mid-chunk: every echo still comes back whole and in order. Run with -race.
func TestConditionConcurrent(t *testing.T) {
	_, l := openLink(t, Spec{Name: "concurrent", RTT: time.Millisecond})
	progress := make(chan struct{}, 1)
	stopped := make(chan struct{})
	go func() { // one change per round trip done, so changes interleave with the traffic
		defer close(stopped)
		for i := 0; ; i++ {
			if _, ok := <-progress; !ok {
				return
			}
			var err error
			switch i % 6 {
			case 0:
				err = l.Impose(Condition{Latency: 2 * time.Millisecond})
			case 1:
				err = l.Impose(Condition{Bandwidth: 2_000_000, Jitter: time.Millisecond})
			case 2, 4: // a pass-through toxic after the latency toxic
				err = addNoops(l)
			case 3, 5:
				err = removeNoops(l)
				if err == nil && i%6 == 5 {
					err = l.Lift()
				}
			}
			if err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var traffic sync.WaitGroup
	for g := range 4 {
		traffic.Go(func() {
			c := dial(t, l.Addr())
			data := make([]byte, 50_000)
			for i := range data {
				data[i] = byte(i*7 + g)
			}
			got := make([]byte, len(data))
			for range 10 {
				if err := c.ping(5 * time.Second); err != nil {
					t.Error(err)
					return
				}
				if _, err := c.Write(data); err != nil {
					t.Error(err)
					return
				}
				if _, err := io.ReadFull(c.r, got); err != nil || !bytes.Equal(got, data) {
					t.Errorf("echo of %d bytes: %v, equal %v", len(data), err, bytes.Equal(got, data))
					return
				}
				select {
				case progress <- struct{}{}:
				default:
				}
			}
		})
	}
	traffic.Wait()
	close(progress)
	<-stopped
}

func addNoops(l *Link) error {
	for _, dir := range []string{"upstream", "downstream"} {
		body := `{"name": "noop_` + dir + `", "type": "noop", "stream": "` + dir + `"}`
		if _, err := l.proxy.Toxics.AddToxicJson(strings.NewReader(body)); err != nil {
			return err
		}
	}
	return nil
}

func removeNoops(l *Link) error {
	for _, dir := range []string{"upstream", "downstream"} {
		if err := l.proxy.Toxics.RemoveToxic(context.Background(), "noop_"+dir); err != nil {
			return err
		}
	}
	return nil
}

// Every condition, applied and lifted under traffic that is then cut mid-stream, leaves
// no goroutine behind once the proxies close: toxiproxy's links stop reading a dead
// connection's output without telling its pipes.
func TestConditionNoGoroutineLeak(t *testing.T) {
	upstream := echoServer(t)
	base := runtime.NumGoroutine()
	p := NewProxies()
	l, err := p.Open(Spec{Name: "leak", RTT: time.Millisecond}, upstream)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []Condition{{}, {Fault: FaultReset}, {Fault: FaultBlackhole}, {Fault: FaultDown}, {Bandwidth: 1_000_000}, {Latency: 5 * time.Millisecond}} {
		var conns []net.Conn
		for range 4 {
			nc, err := net.Dial("tcp", l.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			conns = append(conns, nc)
			if _, err := nc.Write([]byte{1}); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(nc, make([]byte, 1)); err != nil {
				t.Fatal(err)
			}
		}
		from, _ := l.Bytes()
		var wg sync.WaitGroup
		for _, nc := range conns {
			wg.Go(func() { _, _ = io.Copy(io.Discard, nc) })
			wg.Go(func() { // until the connection breaks
				buf := make([]byte, 1000)
				for {
					if _, err := nc.Write(buf); err != nil {
						return
					}
				}
			})
		}
		// Cut the connections mid-stream: once the link has carried 100 KB more.
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			if up, _ := l.Bytes(); up-from >= 100_000 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no traffic", c)
			}
		}
		if c != (Condition{}) {
			impose(t, l, c)
			lift(t, l)
		}
		for _, nc := range conns {
			nc.Close()
		}
		wg.Wait()
	}
	p.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after Close, %d before Open:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}
