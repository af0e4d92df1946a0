package netem

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// busyChildEnv makes the test binary a CPU hog (see TestMain): the "procs" load.
const busyChildEnv = "NETEM_BUSY_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(busyChildEnv) == "1" {
		go func() { _, _ = io.Copy(io.Discard, os.Stdin); os.Exit(0) }() // the parent went away
		for x := uint64(1); ; x = x*6364136223846793005 + 1442695040888963407 {
			_ = x
		}
	}
	os.Exit(m.Run())
}

// epoch is the time base of stampServer's stamps: monotonic, shared by the process.
var epoch = time.Now()

// stampServer answers every 8-byte message with the time it arrived (ns after epoch):
// with the sender in the same process, that times each direction of a link on its own.
func stampServer(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var m [8]byte
				for {
					if _, err := io.ReadFull(c, m[:]); err != nil {
						return
					}
					binary.LittleEndian.PutUint64(m[:], uint64(time.Since(epoch)))
					if _, err := c.Write(m[:]); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

// prober times messages across a link to a stampServer, one at a time, on one
// connection: how long each took upstream (sender → server) and downstream (back).
type prober struct{ c net.Conn }

func newProber(tb testing.TB, addr string) *prober {
	tb.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	p := &prober{c}
	if _, _, err := p.times(3); err != nil { // warm-up: the proxy has connected upstream
		tb.Fatal(err)
	}
	return p
}

func (p *prober) times(n int) (up, down []time.Duration, err error) {
	var m [8]byte
	for range n {
		t0 := time.Since(epoch)
		if _, err := p.c.Write(m[:]); err != nil {
			return nil, nil, err
		}
		if _, err := io.ReadFull(p.c, m[:]); err != nil {
			return nil, nil, err
		}
		t2 := time.Since(epoch)
		t1 := time.Duration(binary.LittleEndian.Uint64(m[:]))
		up, down = append(up, t1-t0), append(down, t2-t1)
	}
	return up, down, nil
}

// A link never delivers a direction earlier than its configured one-way delay, at any
// delay and with several connections in flight at once (the clock wakes no waiter early),
// and its lateness histogram counts the deliveries.
func TestLinkOneWayFloor(t *testing.T) {
	addr := stampServer(t)
	p := NewProxies()
	defer p.Close()
	const flows, n = 4, 20
	for _, oneway := range []time.Duration{500 * time.Microsecond, 3 * time.Millisecond, 20 * time.Millisecond} {
		l, err := p.Open(Spec{Name: "oneway-" + oneway.String(), RTT: 2 * oneway}, addr)
		if err != nil {
			t.Fatal(err)
		}
		probers := make([]*prober, flows)
		for i := range probers {
			probers[i] = newProber(t, l.Addr())
		}
		l.ResetLateness() // the warm-up's deliveries
		var wg sync.WaitGroup
		for _, pr := range probers {
			wg.Go(func() {
				up, down, err := pr.times(n)
				if err != nil {
					t.Error(err)
					return
				}
				for i := range up {
					if up[i] < oneway || down[i] < oneway {
						t.Errorf("one-way %s, message %d: up %s, down %s, below the configured delay", oneway, i, up[i], down[i])
					}
				}
			})
		}
		wg.Wait()
		// (Not every one: a chunk its pipe reaches only once due did not wait.)
		if _, _, got := l.Lateness(); got == 0 || got > 2*flows*n {
			t.Errorf("one-way %s: lateness counted %d deliveries of %d", oneway, got, 2*flows*n)
		}
	}
	if _, _, n := p.Lateness(); n == 0 {
		t.Error("Proxies.Lateness counted nothing")
	}
	p.ResetLateness()
	if p50, p99, n := p.Lateness(); n != 0 || p50 != 0 || p99 != 0 {
		t.Errorf("after ResetLateness: %s, %s, %d", p50, p99, n)
	}
}

// startLoad puts background CPU load on the machine until the returned stop is called:
//
//   - "cpu": 2×GOMAXPROCS goroutines doing work, ~20 µs of computing per 1 KB message they
//     exchange with an echo server over loopback TCP, flat out: the CPUs saturated by busy
//     Go servers whose goroutines block on the network, as a run's parts do;
//   - "procs": as many other processes as CPUs, spinning (the kernel shares the cores);
//   - "hog": GOMAXPROCS goroutines computing without ever blocking. Nothing Go-level beats
//     it: a woken goroutine waits for the runtime's 10 ms time slice to end.
func startLoad(tb testing.TB, kind string) (stop func()) {
	tb.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	switch kind {
	case "none":
	case "cpu":
		addr := echoServer(tb)
		for range 2 * runtime.GOMAXPROCS(0) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				tb.Fatal(err)
			}
			wg.Go(func() {
				defer c.Close()
				m, x := make([]byte, 1024), uint64(1)
				for {
					select {
					case <-done:
						return
					default:
					}
					if _, err := c.Write(m); err != nil {
						return
					}
					if _, err := io.ReadFull(c, m); err != nil {
						return
					}
					for start := time.Now(); time.Since(start) < 20*time.Microsecond; {
						for range 100 {
							x = x*6364136223846793005 + 1442695040888963407
						}
					}
					m[0] = byte(x)
				}
			})
		}
	case "hog":
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				for x := uint64(1); ; x = x*6364136223846793005 + 1442695040888963407 {
					if x%(1<<16) == 0 {
						select {
						case <-done:
							return
						default:
						}
					}
				}
			})
		}
	case "procs":
		for range runtime.NumCPU() {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), busyChildEnv+"=1")
			stdin, err := cmd.StdinPipe()
			if err != nil {
				tb.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				tb.Fatal(err)
			}
			wg.Go(func() { <-done; stdin.Close(); _ = cmd.Wait() })
		}
	default:
		tb.Fatalf("unknown load %q", kind)
	}
	time.Sleep(50 * time.Millisecond)
	return func() { close(done); wg.Wait() }
}

// BenchmarkLinkDelay measures the one-way delay a link adds over the same path with no
// delay, against the configured one-way delay (half the RTT): the excess, per direction,
// p50 and p99 in µs. It runs with and without background CPU load (startLoad), with one
// connection or four at once, each sending a message and waiting for the answer in a
// loop (one op is one such round trip). The delay line's own lateness (Link.Lateness) is
// reported alongside, and without load the CPU time per op of the whole process.
//
//	go test ./netem -run '^$' -bench 'LinkDelay$' -benchtime 400x
func BenchmarkLinkDelay(b *testing.B) {
	for _, load := range []string{"none", "cpu", "procs"} {
		for _, flows := range []int{1, 4} {
			for _, oneway := range []time.Duration{500 * time.Microsecond, time.Millisecond, 3 * time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond} {
				b.Run(fmt.Sprintf("load=%s/flows=%d/oneway=%s", load, flows, oneway), func(b *testing.B) {
					benchOneWay(b, load, flows, oneway)
				})
			}
		}
	}
}

// BenchmarkLinkDelayHog is BenchmarkLinkDelay under the "hog" load, which no Go-level
// delay line can beat: a woken goroutine waits for a time slice (10 ms) to end.
func BenchmarkLinkDelayHog(b *testing.B) {
	for _, oneway := range []time.Duration{500 * time.Microsecond, 3 * time.Millisecond} {
		b.Run(fmt.Sprintf("oneway=%s", oneway), func(b *testing.B) { benchOneWay(b, "hog", 1, oneway) })
	}
}

func benchOneWay(b *testing.B, load string, flows int, oneway time.Duration) {
	addr := stampServer(b)
	p := NewProxies()
	defer p.Close()
	base, err := p.Open(Spec{Name: "base"}, addr)
	if err != nil {
		b.Fatal(err)
	}
	l, err := p.Open(Spec{Name: "delayed", RTT: 2 * oneway}, addr)
	if err != nil {
		b.Fatal(err)
	}
	stop := startLoad(b, load)
	defer stop()
	// The path without the delay, with as many connections and under the same load: what
	// the proxy adds without the delay line.
	bu, bd := probe(b, base.Addr(), flows, 200)
	baseUp, baseDown := median(bu), median(bd)
	l.ResetLateness()
	b.ResetTimer()
	cpu0 := processCPU()
	up, down := probe(b, l.Addr(), flows, b.N)
	cpu := processCPU() - cpu0
	b.StopTimer()
	var excess []time.Duration
	for i := range up {
		excess = append(excess, up[i]-baseUp-oneway, down[i]-baseDown-oneway)
	}
	slices.Sort(excess)
	b.ReportMetric(us(quantile(excess, .5)), "excess_p50_µs")
	b.ReportMetric(us(quantile(excess, .99)), "excess_p99_µs")
	lp50, lp99, _ := l.Lateness()
	b.ReportMetric(us(lp50), "late_p50_µs")
	b.ReportMetric(us(lp99), "late_p99_µs")
	b.ReportMetric(us(baseUp+baseDown)/2, "base_µs")
	if load == "none" { // the CPU the link's delay line, the proxy and the probes use
		b.ReportMetric(us(cpu)/float64(len(up)), "cpu_µs/op")
	}
}

// probe times n messages across addr on flows connections at once, each sending its next
// message when the answer to the last is back.
func probe(tb testing.TB, addr string, flows, n int) (up, down []time.Duration) {
	tb.Helper()
	probers := make([]*prober, flows)
	for i := range probers {
		probers[i] = newProber(tb, addr)
	}
	var (
		mu   sync.Mutex
		left atomic.Int64
		wg   sync.WaitGroup
	)
	left.Store(int64(n))
	for _, pr := range probers {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				u, d, err := pr.times(1)
				if err != nil {
					tb.Error(err)
					return
				}
				mu.Lock()
				up, down = append(up, u...), append(down, d...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return up, down
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return quantile(s, .5)
}

// quantile of sorted s.
func quantile(s []time.Duration, q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	return s[int(q*float64(len(s)-1)+.5)]
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// BenchmarkLinkIdleCPU reports the CPU the process uses (% of one core) while links that
// just carried traffic sit idle, connections open: the delay line must not spin when
// nothing is due. One op is one idle second.
//
//	go test ./netem -run '^$' -bench LinkIdleCPU -benchtime 3x
func BenchmarkLinkIdleCPU(b *testing.B) {
	addr := stampServer(b)
	p := NewProxies()
	defer p.Close()
	var probers []*prober
	for _, rtt := range []time.Duration{time.Millisecond, 10 * time.Millisecond} {
		l, err := p.Open(Spec{Name: "idle-" + rtt.String(), RTT: rtt}, addr)
		if err != nil {
			b.Fatal(err)
		}
		for range 2 {
			pr := newProber(b, l.Addr())
			if _, _, err := pr.times(20); err != nil {
				b.Fatal(err)
			}
			probers = append(probers, pr)
		}
	}
	b.ResetTimer()
	cpu0, t0 := processCPU(), time.Now()
	for b.Loop() {
		time.Sleep(time.Second)
	}
	b.ReportMetric(100*float64(processCPU()-cpu0)/float64(time.Since(t0)), "%cpu")
}
