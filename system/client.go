package system

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync"
	"time"

	faktory "github.com/contribsys/faktory/client"
)

// Endpoint is where and how to reach a Faktory server.
type Endpoint struct {
	Addr           string // host:port to dial (a netem link's address, or the broker's)
	TLS            bool
	Password       string
	ConnectTimeout time.Duration
}

// ParseFaktoryURL parses tcp://[:password@]host:port or tcp+tls://..., falling back to
// FAKTORY_PASSWORD for the password.
func ParseFaktoryURL(raw string) (Endpoint, error) {
	const form = "tcp://host:port or tcp+tls://[:password@]host:port"
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Endpoint{}, fmt.Errorf("invalid Faktory URL %q: want %s", raw, form)
	}
	var ep Endpoint
	switch u.Scheme {
	case "tcp":
	case "tcp+tls":
		ep.TLS = true
	default:
		return Endpoint{}, fmt.Errorf("invalid Faktory URL %q: scheme %q, want %s", raw, u.Scheme, form)
	}
	if u.Port() == "" {
		return Endpoint{}, fmt.Errorf("invalid Faktory URL %q: no port (Faktory's is usually 7419); want %s", raw, form)
	}
	ep.Addr = u.Host
	if u.User != nil {
		ep.Password, _ = u.User.Password()
	}
	if ep.Password == "" {
		ep.Password = os.Getenv("FAKTORY_PASSWORD")
	}
	return ep, nil
}

// Dial opens one Faktory connection (TCP, HI/HELLO handshake).
func (e Endpoint) Dial(ctx context.Context) (*faktory.Client, error) {
	timeout := e.ConnectTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	d := &ctxDialer{ctx: ctx, d: net.Dialer{Timeout: timeout}}
	var dialer faktory.Dialer = d
	if e.TLS {
		host, _, _ := net.SplitHostPort(e.Addr)
		dialer = &tlsDialer{ctxDialer: d, cfg: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}}
	}
	srv := &faktory.Server{Network: "tcp", Address: e.Addr, Password: e.Password, Timeout: timeout}
	c, err := faktory.DialWithDialer(srv, e.Password, dialer)
	if err != nil {
		return nil, fmt.Errorf("connect to Faktory at %s: %w", e.Addr, err)
	}
	return c, nil
}

type ctxDialer struct {
	ctx context.Context
	d   net.Dialer
}

func (c *ctxDialer) Dial(network, addr string) (net.Conn, error) {
	return c.d.DialContext(c.ctx, network, addr)
}

type tlsDialer struct {
	*ctxDialer
	cfg *tls.Config
}

func (t *tlsDialer) Dial(network, addr string) (net.Conn, error) {
	td := &tls.Dialer{NetDialer: &t.ctxDialer.d, Config: t.cfg}
	return td.DialContext(t.ctxDialer.ctx, network, addr)
}

// Pool is a bounded pool of Faktory connections: at most Size open at once, opened
// lazily, a broken one discarded rather than returned. A Faktory client is not safe for
// concurrent use, so each caller holds one for the duration of a command.
type Pool struct {
	ep     Endpoint
	slots  chan struct{}        // one token per connection that may exist
	idle   chan *faktory.Client // open, unused connections
	mu     sync.Mutex
	all    map[*faktory.Client]struct{}
	closed bool
}

// ErrPoolClosed is returned by Get after Close.
var ErrPoolClosed = errors.New("faktory pool closed")

// NewPool returns a pool of at most size connections to ep.
func NewPool(ep Endpoint, size int) (*Pool, error) {
	if size < 1 {
		return nil, fmt.Errorf("pool size %d: want at least 1", size)
	}
	return &Pool{
		ep:    ep,
		slots: make(chan struct{}, size),
		idle:  make(chan *faktory.Client, size),
		all:   map[*faktory.Client]struct{}{},
	}, nil
}

// Size is the pool's capacity.
func (p *Pool) Size() int { return cap(p.slots) }

// Get returns an idle connection, opens a new one if the pool has room, or waits.
func (p *Pool) Get(ctx context.Context) (*faktory.Client, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, ErrPoolClosed
	}
	select {
	case c := <-p.idle:
		return c, nil
	default:
	}
	select {
	case c := <-p.idle:
		return c, nil
	case p.slots <- struct{}{}:
		c, err := p.ep.Dial(ctx)
		if err != nil {
			<-p.slots
			return nil, err
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.closed {
			_ = c.Close()
			<-p.slots
			return nil, ErrPoolClosed
		}
		p.all[c] = struct{}{}
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Put returns a healthy connection to the pool.
func (p *Pool) Put(c *faktory.Client) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		p.Discard(c)
		return
	}
	p.idle <- c
}

// Discard closes a connection that failed and frees its slot.
func (p *Pool) Discard(c *faktory.Client) {
	p.mu.Lock()
	_, ok := p.all[c]
	delete(p.all, c)
	p.mu.Unlock()
	if ok {
		_ = c.Close()
		<-p.slots
	}
}

// With runs fn on a pooled connection, discarding the connection if fn fails with a
// network error (a protocol-level error such as -ERR leaves it usable).
func (p *Pool) With(ctx context.Context, fn func(*faktory.Client) error) error {
	c, err := p.Get(ctx)
	if err != nil {
		return err
	}
	err = fn(c)
	var pe *faktory.ProtocolError
	if err != nil && !errors.As(err, &pe) {
		p.Discard(c)
		return err
	}
	p.Put(c)
	return err
}

// Warm opens n connections ahead of the measurement, so a pool's first dials are not the
// thing measured.
func (p *Pool) Warm(ctx context.Context, n int) error {
	n = min(n, p.Size())
	got := make([]*faktory.Client, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = p.Get(ctx) })
	}
	wg.Wait()
	for _, c := range got {
		if c != nil {
			p.Put(c)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("warm pool of %d connections: %w", n, err)
	}
	return nil
}

// Close closes every connection, idle or in use.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	all := p.all
	p.all = map[*faktory.Client]struct{}{}
	p.mu.Unlock()
	for c := range all {
		_ = c.Close()
	}
	for { // idle connections are closed above; drop them so Get cannot hand them out
		select {
		case <-p.idle:
		default:
			return
		}
	}
}
