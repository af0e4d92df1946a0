package netem

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// echoServer answers every line with the same line, on loopback.
func echoServerB(tb testing.TB) string { return echoServer(tb) }

func echoServer(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return l.Addr().String()
}

// lineProbe returns a probe doing one line round trip on a kept-open connection.
func lineProbe(t testing.TB, addr string) Probe {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := bufio.NewReader(c)
	return func(ctx context.Context) (time.Duration, error) {
		start := time.Now()
		if _, err := c.Write([]byte("ping\n")); err != nil {
			return 0, err
		}
		if _, err := r.ReadString('\n'); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
}

// A link never delivers faster than its RTT: a link faster than configured would let a
// run beat the network floor every report compares against.
func TestLinkRespectsRTTFloor(t *testing.T) {
	upstream := echoServer(t)
	p := NewProxies()
	defer p.Close()
	for _, rtt := range []time.Duration{time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond} {
		l, err := p.Open(Spec{Name: "floor-" + rtt.String(), RTT: rtt}, upstream)
		if err != nil {
			t.Fatal(err)
		}
		probe := lineProbe(t, l.Addr())
		for i := range 5 {
			got, err := probe(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got < rtt {
				t.Errorf("rtt %s, round trip %d: %s, below the configured RTT", rtt, i, got)
			}
		}
	}
}

// BenchmarkLinkRTT reports how far a link's measured RTT sits above the configured one
// (DESIGN: within 2% from 10 ms to 200 ms). Run with: go test ./netem -bench LinkRTT
func BenchmarkLinkRTT(b *testing.B) {
	upstream := echoServerB(b)
	p := NewProxies()
	defer p.Close()
	for _, rtt := range []time.Duration{time.Millisecond, 10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond} {
		b.Run(rtt.String(), func(b *testing.B) {
			l, err := p.Open(Spec{Name: "bench-" + rtt.String(), RTT: rtt}, upstream)
			if err != nil {
				b.Fatal(err)
			}
			probe := lineProbe(b, l.Addr())
			var got time.Duration
			for b.Loop() {
				if got, err = Measure(context.Background(), probe, 5); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(got-rtt)/float64(rtt)*100, "%above")
			b.ReportMetric(float64(got.Microseconds())/1000, "ms/rtt")
		})
	}
}

// SetRTT changes a live link: connections already open see the new RTT.
func TestLinkSetRTTLive(t *testing.T) {
	p := NewProxies()
	defer p.Close()
	l, err := p.Open(Spec{Name: "live", RTT: 5 * time.Millisecond}, echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	probe := lineProbe(t, l.Addr())
	before, err := Measure(context.Background(), probe, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetRTT(40*time.Millisecond, 0); err != nil {
		t.Fatal(err)
	}
	after, err := Measure(context.Background(), probe, 3)
	if err != nil {
		t.Fatal(err)
	}
	if before >= 40*time.Millisecond || after < 40*time.Millisecond {
		t.Fatalf("before %s (want < 40ms), after %s (want >= 40ms)", before, after)
	}
	if got := l.Spec().RTT; got != 40*time.Millisecond {
		t.Fatalf("Spec().RTT = %s after SetRTT(40ms)", got)
	}
}

// The two directions add up to the RTT to the microsecond, odd values included.
func TestLinkHalvesAddUp(t *testing.T) {
	p := NewProxies()
	defer p.Close()
	l, err := p.Open(Spec{Name: "halves"}, echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, rtt := range []time.Duration{0, time.Microsecond, 1001 * time.Microsecond, 100 * time.Millisecond} {
		if err := l.SetRTT(rtt, 0); err != nil {
			t.Fatal(err)
		}
		up, down := l.delays[0].latencyUS.Load(), l.delays[1].latencyUS.Load()
		if up+down != rtt.Microseconds() || up-down < 0 || up-down > 1 {
			t.Errorf("rtt %s: upstream %d µs + downstream %d µs", rtt, up, down)
		}
	}
	if err := l.SetRTT(-time.Millisecond, 0); err == nil {
		t.Error("negative RTT accepted")
	}
}

// A link counts exactly the bytes sent across it, each way, over all its connections.
func TestLinkBytes(t *testing.T) {
	p := NewProxies()
	defer p.Close()
	l, err := p.Open(Spec{Name: "bytes", RTT: time.Millisecond}, echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	if up, down := l.Bytes(); up != 0 || down != 0 {
		t.Fatalf("fresh link: Bytes() = %d, %d, want 0, 0", up, down)
	}
	var total int64
	for _, n := range []int{1, 100_000, 7_777} {
		echoBytes(t, l.Addr(), n)
		total += int64(n)
		// The echo is read back: every byte has entered the link both ways.
		if up, down := l.Bytes(); up != total || down != total {
			t.Fatalf("after echoing %d bytes in all: Bytes() = %d up, %d down", total, up, down)
		}
	}
}

// echoBytes sends n bytes through an echo link on a new connection and reads them back.
func echoBytes(t *testing.T, addr string, n int) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i)
	}
	errc := make(chan error, 1)
	go func() { _, err := c.Write(data); errc <- err }()
	got := make([]byte, n)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read echo of %d bytes: %v", n, err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("echo of %d bytes differs", n)
	}
}
