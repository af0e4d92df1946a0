package netem

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	tpclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/wfbench/wfbench/internal/testservers"
)

// serverProxies lists the names of the server's proxies that start with prefix.
func serverProxies(t *testing.T, url, prefix string) []string {
	t.Helper()
	all, err := tpclient.NewClient(url).Proxies()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for name := range all {
		if strings.HasPrefix(name, prefix) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func newExternal(t *testing.T, ctx context.Context, url, runID string) *External {
	t.Helper()
	e, err := NewExternal(ctx, url, runID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func openExternal(t *testing.T, e *External, spec Spec, upstream string) *ExternalLink {
	t.Helper()
	l, err := e.Open(spec, upstream)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// medianRTT is the median of n line round trips across addr, on one connection.
func medianRTT(t *testing.T, addr string, n int) time.Duration {
	t.Helper()
	d, err := Measure(context.Background(), lineProbe(t, addr), n)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// One official server serves every subtest (building it takes seconds); each subtest
// uses its own run id, so its proxies are its own.
func TestExternal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the official toxiproxy server")
	}
	url := testservers.Toxiproxy(t)
	t.Run("open", func(t *testing.T) { testExternalOpen(t, url) })
	t.Run("rtt", func(t *testing.T) { testExternalRTT(t, url) })
	t.Run("conditions", func(t *testing.T) { testExternalConditions(t, url) })
	t.Run("close", func(t *testing.T) { testExternalClose(t, url) })
	t.Run("cancel", func(t *testing.T) { testExternalCancel(t, url) })
	if left := serverProxies(t, url, "wfbench-"); len(left) > 0 {
		t.Errorf("proxies left on the server: %v", left)
	}
}

// Open names the proxy wfbench-<runid>-<link>, forwards to the upstream with the latency
// toxics set, and never touches a proxy that is not its own.
func testExternalOpen(t *testing.T, url string) {
	e := newExternal(t, context.Background(), url, "open1")
	up := echoServer(t)
	l := openExternal(t, e, Spec{Name: ClientAPI, RTT: 30 * time.Millisecond}, up)
	if got := serverProxies(t, url, "wfbench-open1-"); !slices.Equal(got, []string{"wfbench-open1-client-api"}) {
		t.Fatalf("proxies after Open: %v", got)
	}
	px, err := tpclient.NewClient(url).Proxy(l.ProxyName())
	if err != nil {
		t.Fatal(err)
	}
	if px.Upstream != up || !px.Enabled || !strings.HasSuffix(l.Addr(), px.Listen[strings.LastIndex(px.Listen, ":"):]) {
		t.Errorf("proxy %+v, link addr %s, upstream %s", px, l.Addr(), up)
	}
	var lat []int
	for _, tx := range px.ActiveToxics {
		lat = append(lat, int(tx.Attributes["latency"].(float64)))
	}
	// The server's overhead (a ms or two) comes off the 30 ms, split odd ms upstream.
	if slices.Sort(lat); len(lat) != 2 || lat[0]+lat[1] < 27 || lat[0]+lat[1] > 30 || lat[1]-lat[0] > 1 {
		t.Errorf("latency toxics %v for a 30 ms RTT", px.ActiveToxics)
	}
	if err := dial(t, l.Addr()).ping(time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Open(Spec{Name: ClientAPI}, up); err == nil {
		t.Error("opening the same link twice succeeded")
	}
	// Another backend with the same run id finds the name taken: it fails and leaves the
	// existing proxy alone.
	twin := newExternal(t, context.Background(), url, "open1")
	if _, err := twin.Open(Spec{Name: ClientAPI}, up); err == nil {
		t.Error("a second backend took an existing proxy's name")
	}
	twin.Close()
	if err := dial(t, l.Addr()).ping(time.Second); err != nil {
		t.Errorf("the first backend's link after the twin's failed Open and Close: %v", err)
	}
	if len(e.Notes()) < 2 || !strings.Contains(strings.Join(e.Notes(), "\n"), "link client-api: RTT 30ms → latency toxics") {
		t.Errorf("notes: %q", e.Notes())
	}
}

// A link's round trip is its RTT within 3%, the server's overhead compensated. At 40 ms
// rather than 20: the toxics move in 1 ms steps, so the compensated RTT can be up to
// 0.5 ms off before any noise (2.5% of 20 ms), and on this 2-core VM a median of round
// trips moves by a few tenths of a ms from one measurement to the next; at 40 ms both
// together stay within 1.2 ms.
func testExternalRTT(t *testing.T, url string) {
	e := newExternal(t, context.Background(), url, "rtt1")
	up := echoServer(t)
	rtts := []time.Duration{40 * time.Millisecond}
	if testing.Verbose() && os.Getenv("NETEM_EXTERNAL_SWEEP") != "" {
		rtts = []time.Duration{2 * time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond}
	}
	t.Logf("server overhead: base %s, timer %s at 1 ms, %s at 10 ms, per direction", e.cost.base, e.cost.timer1, e.cost.timer)
	for _, rtt := range rtts {
		l := openExternal(t, e, Spec{Name: "rtt-" + rtt.String(), RTT: rtt}, up)
		// Up to 3 tries: a burst of the other processes' load on this VM can move a
		// median of 31 by ms (seen: +4 ms once in 10 runs), a wrong compensation moves
		// every try.
		var errPct float64
		for try := 1; try <= 3; try++ {
			got := medianRTT(t, l.Addr(), 31)
			errPct = 100 * float64(got-rtt) / float64(rtt)
			t.Logf("configured %s: toxics %d+%d ms, expected %s, measured %s (%+.2f%%), try %d",
				rtt, l.plan.up, l.plan.down, l.Expected(), got, errPct, try)
			if errPct <= 3 && errPct >= -3 {
				break
			}
		}
		if rtt == 40*time.Millisecond && (errPct > 3 || errPct < -3) {
			t.Errorf("RTT %s: %+.2f%% on every try, not within 3%%", rtt, errPct)
		}
	}
}

// Latency, reset and down take effect on the live link and Lift undoes them; bandwidth
// and blackhole put their toxics on the server and Lift takes them off.
func testExternalConditions(t *testing.T, url string) {
	e := newExternal(t, context.Background(), url, "cond1")
	l := openExternal(t, e, Spec{Name: APIFaktory, RTT: 4 * time.Millisecond}, echoServer(t))
	c := dial(t, l.Addr())
	if err := c.ping(time.Second); err != nil {
		t.Fatal(err)
	}
	if err := l.Impose(Condition{Latency: 40 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if d := medianRTT(t, l.Addr(), 5); d < 42*time.Millisecond || d > 60*time.Millisecond {
		t.Errorf("RTT with +40ms imposed on 4ms: %s", d)
	}
	if err := l.Lift(); err != nil {
		t.Fatal(err)
	}
	if d := medianRTT(t, l.Addr(), 5); d > 10*time.Millisecond {
		t.Errorf("RTT after Lift: %s, want about 4ms", d)
	}
	if err := c.ping(time.Second); err != nil {
		t.Errorf("connection open across the latency condition: %v", err)
	}

	if err := l.Impose(Condition{Fault: FaultReset}); err != nil {
		t.Fatal(err)
	}
	if err := dial(t, l.Addr()).ping(time.Second); err == nil {
		t.Error("a new connection worked under reset")
	}
	if err := l.Lift(); err != nil {
		t.Fatal(err)
	}
	if err := dial(t, l.Addr()).ping(time.Second); err != nil {
		t.Errorf("new connection after reset lifted: %v", err)
	}

	if err := l.Impose(Condition{Fault: FaultDown}); err != nil {
		t.Fatal(err)
	}
	if conn, err := net.DialTimeout("tcp", l.Addr(), time.Second); err == nil {
		conn.Close()
		t.Error("dialling a down link succeeded")
	}
	if err := l.Lift(); err != nil {
		t.Fatal(err)
	}
	if err := dial(t, l.Addr()).ping(time.Second); err != nil {
		t.Errorf("same address after down lifted: %v", err)
	}

	for _, cond := range []Condition{{Bandwidth: 64_500}, {Fault: FaultBlackhole}} {
		if err := l.Impose(cond); err != nil {
			t.Fatal(err)
		}
		if n := len(serverToxics(t, url, l.ProxyName())); n != 4 {
			t.Errorf("%s: %d toxics on the server, want 2 latency + 2 condition", cond, n)
		}
	}
	if err := l.Lift(); err != nil {
		t.Fatal(err)
	}
	if got := serverToxics(t, url, l.ProxyName()); !slices.Equal(got, []string{"rtt_downstream", "rtt_upstream"}) {
		t.Errorf("toxics after Lift: %v", got)
	}
	if !strings.Contains(strings.Join(e.Notes(), "\n"), "65 KB/s for each connection") {
		t.Errorf("no bandwidth note in %q", e.Notes())
	}
}

func serverToxics(t *testing.T, url, proxy string) []string {
	t.Helper()
	px, err := tpclient.NewClient(url).Proxy(proxy)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tx := range px.ActiveToxics {
		names = append(names, tx.Name)
	}
	slices.Sort(names)
	return names
}

// Close removes every proxy, a down one included, ends the links and the backend, and
// can be called again.
func testExternalClose(t *testing.T, url string) {
	e := newExternal(t, context.Background(), url, "close1")
	up := echoServer(t)
	var links []*ExternalLink
	for _, n := range LinkNames {
		links = append(links, openExternal(t, e, Spec{Name: n, RTT: 2 * time.Millisecond}, up))
	}
	if err := links[1].Impose(Condition{Fault: FaultDown}); err != nil {
		t.Fatal(err)
	}
	if got := serverProxies(t, url, e.Prefix()); len(got) != len(LinkNames) {
		t.Fatalf("proxies before Close: %v", got)
	}
	if err := e.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if got := serverProxies(t, url, e.Prefix()); len(got) != 0 {
		t.Errorf("proxies after Close: %v", got)
	}
	if err := e.Cleanup(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := links[0].Impose(Condition{Latency: time.Second}); !errors.Is(err, ErrClosed) {
		t.Errorf("Impose after Close: %v, want ErrClosed", err)
	}
	if err := links[1].Lift(); !errors.Is(err, ErrClosed) {
		t.Errorf("Lift after Close: %v, want ErrClosed", err)
	}
	if _, err := e.Open(Spec{Name: "late"}, up); err == nil {
		t.Error("Open after Close succeeded")
	}
}

// A done context stops Open, before it starts or half-way, and leaves no proxy behind;
// an unreachable server is an error at once.
func testExternalCancel(t *testing.T, url string) {
	ctx, cancel := context.WithCancel(context.Background())
	e := newExternal(t, ctx, url, "cancel1")
	up := echoServer(t)
	e.afterCreate = cancel // the proxy exists; its toxics are not added yet
	if _, err := e.Open(Spec{Name: ClientAPI, RTT: 2 * time.Millisecond}, up); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open cancelled half-way: %v", err)
	}
	if got := serverProxies(t, url, e.Prefix()); len(got) != 0 {
		t.Errorf("proxies after a cancelled Open: %v", got)
	}
	if _, err := e.Open(Spec{Name: APIFaktory}, up); !errors.Is(err, context.Canceled) {
		t.Errorf("Open on a done context: %v", err)
	}
	e.Close()
	if got := serverProxies(t, url, e.Prefix()); len(got) != 0 {
		t.Errorf("proxies after Close: %v", got)
	}
	// A run interrupted during NewExternal's calibration leaves nothing either.
	if _, err := NewExternal(ctx, url, "cancel2"); !errors.Is(err, context.Canceled) {
		t.Errorf("NewExternal on a done context: %v", err)
	}
	if got := serverProxies(t, url, "wfbench-cancel2-"); len(got) != 0 {
		t.Errorf("proxies after a cancelled NewExternal: %v", got)
	}
	start := time.Now()
	if _, err := NewExternal(context.Background(), "http://127.0.0.1:"+testservers.FreePort(t), "dead"); err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("unreachable server: %v after %s", err, time.Since(start))
	}
}
