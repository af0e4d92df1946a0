package netem

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// Spec is what a link should look like.
type Spec struct {
	Name   string
	RTT    time.Duration
	Jitter time.Duration
	// Listen is the host the link listens on ("" = 127.0.0.1): with parts in network
	// namespaces, the address of the veth end a part reaches the driver's host by.
	Listen string
}

// Link is one emulated network path: parts dial Addr() instead of the upstream.
type Link struct {
	spec     Spec // the link's own RTT and jitter; a Condition is applied on top
	addr     string
	upstream string
	proxy    *toxiproxy.Proxy
	delays   [2]*LatencyToxic // upstream, downstream

	conditioned // mu guards what follows it and the condition state
}

// Proxies owns the embedded toxiproxy state shared by a stack's links.
type Proxies struct {
	server *toxiproxy.ApiServer

	mu    sync.Mutex
	links []*Link
}

// NewProxies returns an embedded toxiproxy with logging off (wfbench is quiet by default).
func NewProxies() *Proxies {
	return &Proxies{server: toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())}
}

// Open starts a link on an ephemeral port of spec.Listen (127.0.0.1) forwarding to upstream.
func (p *Proxies) Open(spec Spec, upstream string) (*Link, error) {
	if spec.Name == "" {
		return nil, errors.New("open link: empty name")
	}
	if spec.RTT < 0 || spec.Jitter < 0 {
		return nil, fmt.Errorf("open link %s: RTT and jitter must not be negative", spec.Name)
	}
	px := toxiproxy.NewProxy(p.server, spec.Name, net.JoinHostPort(cmp.Or(spec.Listen, "127.0.0.1"), "0"), upstream)
	if err := px.Start(); err != nil {
		return nil, fmt.Errorf("start link %s → %s: %w", spec.Name, upstream, err)
	}
	// The address is kept apart from px.Listen: a Lift after a "down" restarts the proxy,
	// which rewrites px.Listen in its server goroutine while Addr() may be read.
	l := &Link{spec: Spec{Name: spec.Name}, addr: px.Listen, upstream: upstream, proxy: px}
	for i, dir := range []string{"upstream", "downstream"} {
		body, _ := json.Marshal(map[string]any{
			"name": "rtt_" + dir, "type": LatencyToxicType, "stream": dir, "toxicity": 1.0,
		})
		w, err := px.Toxics.AddToxicJson(bytes.NewReader(body))
		if err != nil {
			px.Stop()
			return nil, fmt.Errorf("link %s: add %s latency: %w", spec.Name, dir, err)
		}
		l.delays[i] = w.Toxic.(*LatencyToxic)
	}
	if err := l.SetRTT(spec.RTT, spec.Jitter); err != nil {
		px.Stop()
		return nil, err
	}
	p.mu.Lock()
	p.links = append(p.links, l)
	p.mu.Unlock()
	return l, nil
}

// Close stops every link opened here, closing their connections.
func (p *Proxies) Close() {
	p.mu.Lock()
	links := p.links
	p.links = nil
	p.mu.Unlock()
	for _, l := range links {
		l.Close()
	}
}

// Name of the link.
func (l *Link) Name() string { return l.spec.Name }

// Addr is the host:port to dial to cross this link. It does not change, a "down" fault
// included.
func (l *Link) Addr() string { return l.addr }

// Spec returns the link's own configuration, without any imposed Condition.
func (l *Link) Spec() Spec {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.spec
}

// Bytes returns how many bytes senders have put on the link since it opened, client to
// server (up) and server to client (down), on every connection.
func (l *Link) Bytes() (up, down int64) {
	return l.delays[0].Bytes(), l.delays[1].Bytes()
}

// SetRTT changes the link's round-trip time and jitter, live: half of each is applied to
// each direction (an odd microsecond goes upstream, so the halves add up to the RTT). An
// imposed Condition stays on top of the new values.
func (l *Link) SetRTT(rtt, jitter time.Duration) error {
	if rtt < 0 || jitter < 0 {
		return fmt.Errorf("link %s: RTT and jitter must not be negative", l.spec.Name)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.spec.RTT, l.spec.Jitter = rtt, jitter
	l.applyDelays()
	return nil
}

// applyDelays sets the latency toxics (delay and rate) from the spec and the imposed
// condition. l.mu held.
func (l *Link) applyDelays() {
	rtt, jitter, rate := l.spec.RTT, l.spec.Jitter, int64(0)
	if l.imposed {
		rtt += l.cond.Latency
		if l.cond.Jitter > 0 {
			jitter = l.cond.Jitter
		}
		rate = l.cond.Bandwidth
	}
	down := rtt.Microseconds() / 2 * int64(time.Microsecond)
	l.delays[0].Set(rtt.Truncate(time.Microsecond)-time.Duration(down), jitter/2)
	l.delays[1].Set(time.Duration(down), jitter/2)
	for _, d := range l.delays {
		d.SetRate(rate)
	}
}

// Close stops the link and closes the connections crossing it. It is final: a later
// Impose or Lift returns ErrClosed rather than bring the link back.
func (l *Link) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.proxy.Stop() // a no-op if a "down" fault already stopped it
	// Pipes of connections that died with data in flight wait for this (see Pipe).
	for _, d := range l.delays {
		d.release()
	}
}
