package system

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	faktory "github.com/contribsys/faktory/client"
)

// FaktoryProbe measures round trips to Faktory on one kept-open connection, with a
// command that Faktory answers without touching Redis (see Ping).
type FaktoryProbe struct {
	ep Endpoint
	c  *faktory.Client
}

// NewFaktoryProbe returns a probe for ep; Close it when done.
func NewFaktoryProbe(ep Endpoint) *FaktoryProbe { return &FaktoryProbe{ep: ep} }

// Probe performs one round trip (dialing first, unmeasured, if needed).
func (p *FaktoryProbe) Probe(ctx context.Context) (time.Duration, error) {
	if p.c == nil {
		c, err := p.ep.Dial(ctx)
		if err != nil {
			return 0, err
		}
		p.c = c
	}
	start := time.Now()
	if err := Ping(p.c); err != nil {
		closeClient(p.c)
		p.c = nil
		return 0, err
	}
	return time.Since(start), nil
}

// Close closes the probe's connection.
func (p *FaktoryProbe) Close() {
	if p.c != nil {
		closeClient(p.c)
		p.c = nil
	}
}

// HTTPProbe measures round trips to the API's GET /ping on one kept-alive connection. It
// speaks HTTP/1.1 on a raw connection rather than through net/http's client, whose own
// cost (~0.1-0.2 ms here) would be charged to the link.
type HTTPProbe struct {
	addr string
	c    net.Conn
	r    *bufio.Reader
}

// NewHTTPProbe returns a probe of http://addr/ping.
func NewHTTPProbe(addr string) *HTTPProbe { return &HTTPProbe{addr: addr} }

// probeTimeout bounds one probe when the caller's context has no deadline.
const probeTimeout = 30 * time.Second

var pingRequest = []byte("GET /ping HTTP/1.1\r\nHost: wfbench\r\nUser-Agent: wfbench-probe\r\n\r\n")

// Probe performs one request/response round trip (dialing first, unmeasured, if needed).
func (p *HTTPProbe) Probe(ctx context.Context) (time.Duration, error) {
	if p.c == nil {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", p.addr)
		if err != nil {
			return 0, fmt.Errorf("probe http://%s/ping: %w", p.addr, err)
		}
		p.c, p.r = c, bufio.NewReader(c)
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(probeTimeout)
	}
	conn := p.c
	_ = conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	start := time.Now()
	if _, err := p.c.Write(pingRequest); err != nil {
		p.Close()
		return 0, fmt.Errorf("probe http://%s/ping: %w", p.addr, err)
	}
	resp, err := http.ReadResponse(p.r, nil)
	if err != nil {
		p.Close()
		return 0, fmt.Errorf("probe http://%s/ping: %w", p.addr, err)
	}
	d := time.Since(start)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return 0, fmt.Errorf("probe http://%s/ping: status %s", p.addr, resp.Status)
	}
	return d, nil
}

// Close closes the probe's connection.
func (p *HTTPProbe) Close() {
	if p.c != nil {
		_ = p.c.Close()
		p.c, p.r = nil, nil
	}
}
