package system

import (
	"context"
	"fmt"
	"io"
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
		_ = p.c.Close()
		p.c = nil
		return 0, err
	}
	return time.Since(start), nil
}

// Close closes the probe's connection.
func (p *FaktoryProbe) Close() {
	if p.c != nil {
		_ = p.c.Close()
		p.c = nil
	}
}

// HTTPProbe measures round trips to the API's GET /ping on one kept-alive connection.
type HTTPProbe struct {
	url string
	hc  *http.Client
}

// NewHTTPProbe returns a probe of http://addr/ping.
func NewHTTPProbe(addr string) *HTTPProbe {
	tr := &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1, DisableCompression: true}
	return &HTTPProbe{url: "http://" + addr + "/ping", hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// Probe performs one request/response round trip.
func (p *HTTPProbe) Probe(ctx context.Context) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	resp, err := p.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("probe %s: %w", p.url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode != http.StatusNoContent {
		return 0, fmt.Errorf("probe %s: status %s", p.url, resp.Status)
	}
	return d, nil
}

// Close releases the probe's connection.
func (p *HTTPProbe) Close() { p.hc.CloseIdleConnections() }
