package system

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	faktory "github.com/contribsys/faktory/client"
)

// Endpoint is where and how to reach a Faktory server.
type Endpoint struct {
	Addr           string // host:port to dial (a netem link's address, or the broker's)
	TLS            bool
	ServerName     string // TLS: the broker's host name, which a link's address is not
	Password       string
	ConnectTimeout time.Duration // TCP connect and HI/HELLO handshake
	// ReadTimeout and WriteTimeout replace the 5 s deadline Faktory's Go client sets on
	// every command (FETCH's long poll waits 2 s plus the RTT); KeepAlive is the TCP
	// keepalive interval. Zero keeps the client's own.
	ReadTimeout, WriteTimeout, KeepAlive time.Duration
}

// ParseFaktoryURL parses tcp://[:password@]host:port or tcp+tls://..., falling back to
// FAKTORY_PASSWORD for the password.
func ParseFaktoryURL(raw string) (Endpoint, error) {
	const form = "tcp://host:port or tcp+tls://[:password@]host:port"
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Endpoint{}, fmt.Errorf("invalid Faktory URL %q: want %s", RedactURL(raw), form)
	}
	raw = RedactURL(raw) // errors below name the URL without its password
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
	ep.Addr, ep.ServerName = u.Host, u.Hostname()
	if u.User != nil {
		ep.Password, _ = u.User.Password()
	}
	if ep.Password == "" {
		ep.Password = os.Getenv("FAKTORY_PASSWORD")
	}
	return ep, nil
}

// RedactURL is raw with any password replaced by xxxxx, for errors and reports; text
// that does not parse as a URL loses everything between "//" and the last "@".
func RedactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		return u.String()
	}
	if i, j := strings.Index(raw, "//"), strings.LastIndex(raw, "@"); i >= 0 && j > i {
		return raw[:i+2] + "xxxxx" + raw[j:]
	}
	return raw
}

// Dial opens one Faktory connection (TCP, HI/HELLO handshake). The handshake is bounded
// by ConnectTimeout and by ctx: a port that accepts but never says HI cannot hang it.
func (e Endpoint) Dial(ctx context.Context) (*faktory.Client, error) {
	timeout := e.ConnectTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	d := &ctxDialer{ctx: ctx, d: net.Dialer{Timeout: timeout, KeepAlive: e.KeepAlive}, read: e.ReadTimeout, write: e.WriteTimeout}
	if e.TLS {
		name := e.ServerName
		if name == "" {
			name, _, _ = net.SplitHostPort(e.Addr)
		}
		d.tls = &tls.Config{ServerName: name, MinVersion: tls.VersionTLS12}
	}
	srv := &faktory.Server{Network: "tcp", Address: e.Addr, Password: e.Password, Timeout: timeout}
	c, err := faktory.DialWithDialer(srv, e.Password, d)
	if d.conn != nil {
		d.stop()
		_ = d.conn.SetDeadline(time.Time{}) // Faktory's client sets its own per command
	}
	if err != nil {
		if d.conn != nil {
			_ = d.conn.Close()
		}
		return nil, fmt.Errorf("connect to Faktory at %s: %w", e.Addr, err)
	}
	rawConns.Store(c, d.conn)
	return c, nil
}

// ctxDialer dials with ctx and keeps the connection, so that the handshake that follows
// can be bounded and a connection can later be closed under a stuck client.
type ctxDialer struct {
	ctx         context.Context
	d           net.Dialer
	tls         *tls.Config
	read, write time.Duration
	conn        net.Conn
	stop        func() bool
}

func (c *ctxDialer) Dial(network, addr string) (net.Conn, error) {
	var conn net.Conn
	var err error
	if c.tls != nil {
		conn, err = (&tls.Dialer{NetDialer: &c.d, Config: c.tls}).DialContext(c.ctx, network, addr)
	} else {
		conn, err = c.d.DialContext(c.ctx, network, addr)
	}
	if err != nil {
		return nil, err
	}
	if c.read > 0 || c.write > 0 {
		conn = &timeoutConn{Conn: conn, read: c.read, write: c.write}
	}
	_ = conn.SetDeadline(time.Now().Add(c.d.Timeout))
	c.conn = conn
	c.stop = context.AfterFunc(c.ctx, func() { _ = conn.Close() })
	return conn, nil
}

// timeoutConn applies FAKTORY_READ_TIMEOUT / FAKTORY_WRITE_TIMEOUT: Faktory's client sets
// a fixed 5 s deadline before every read and write; this connection moves each such
// deadline to now + the configured timeout (a zero deadline, "none", passes through).
type timeoutConn struct {
	net.Conn
	read, write time.Duration
}

func (c *timeoutConn) SetReadDeadline(t time.Time) error {
	if !t.IsZero() && c.read > 0 {
		t = time.Now().Add(c.read)
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *timeoutConn) SetWriteDeadline(t time.Time) error {
	if !t.IsZero() && c.write > 0 {
		t = time.Now().Add(c.write)
	}
	return c.Conn.SetWriteDeadline(t)
}

// rawConns maps a client to its network connection. Faktory's Client.Close writes END
// into a buffer another goroutine may be using; closing the connection instead is safe
// from any goroutine and fails that goroutine's command at once.
var rawConns sync.Map // *faktory.Client → net.Conn

// closeClient closes a client no goroutine is using: END, then the connection.
func closeClient(c *faktory.Client) {
	rawConns.Delete(c)
	_ = c.Close()
}

// abortClient closes the connection under a client that may be in use.
func abortClient(c *faktory.Client) {
	if v, ok := rawConns.LoadAndDelete(c); ok {
		_ = v.(net.Conn).Close()
	}
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
	onWait func(time.Duration) // how long each Get waited (dial included)
	brk    breaker
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

// dialRecorded dials and tells the breaker how it went; a caller that gave up (or a
// panic) says nothing about Faktory, and only frees the probe.
func (p *Pool) dialRecorded(ctx context.Context, probe bool) (c *faktory.Client, err error) {
	recorded := false
	defer func() {
		if !recorded && probe {
			p.brk.release()
		}
	}()
	c, err = p.ep.Dial(ctx)
	if err == nil || ctx.Err() == nil {
		p.brk.result(probe, err)
		recorded = true
	}
	return c, err
}

// CircuitOpen reports whether the pool is failing fast because Faktory is unreachable.
func (p *Pool) CircuitOpen() bool { return p.brk.open() }

// Size is the pool's capacity.
func (p *Pool) Size() int { return cap(p.slots) }

// InUse is the number of connections handed out now.
func (p *Pool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return max(len(p.all)-len(p.idle), 0)
}

// Idle is the number of open connections waiting in the pool.
func (p *Pool) Idle() int { return len(p.idle) }

// observeWait sets a function told how long each Get waited.
func (p *Pool) observeWait(fn func(time.Duration)) {
	p.mu.Lock()
	p.onWait = fn
	p.mu.Unlock()
}

// Get returns an idle connection, opens a new one if the pool has room, or waits.
func (p *Pool) Get(ctx context.Context) (*faktory.Client, error) {
	start := time.Now()
	c, err := p.get(ctx)
	p.mu.Lock()
	onWait := p.onWait
	p.mu.Unlock()
	if onWait != nil && err == nil {
		onWait(time.Since(start))
	}
	return c, err
}

func (p *Pool) get(ctx context.Context) (*faktory.Client, error) {
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
		probe, err := p.brk.allow()
		if err != nil {
			<-p.slots
			return nil, err
		}
		c, err := p.dialRecorded(ctx, probe)
		if err != nil {
			<-p.slots
			return nil, err
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.closed {
			closeClient(c)
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
		closeClient(c)
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
		if ctx.Err() == nil {
			p.brk.result(false, err) // a broken connection counts toward opening the circuit
		}
		return err
	}
	p.Put(c)
	return err
}

// Warm opens n connections ahead of the measurement, so a pool's first dials are not the
// thing measured.
func (p *Pool) Warm(ctx context.Context, n int) error {
	got, err := openAll(ctx, min(n, p.Size()), p.Get)
	for _, c := range got {
		p.Put(c)
	}
	if err != nil {
		return fmt.Errorf("warm pool of %d connections: %w", n, err)
	}
	return nil
}

// openAll opens n connections concurrently (in sequence, 50 handshakes over a 100 ms link
// would take 10 s). It returns those that opened and the joined errors of the others.
func openAll(ctx context.Context, n int, open func(context.Context) (*faktory.Client, error)) ([]*faktory.Client, error) {
	clients := make([]*faktory.Client, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { clients[i], errs[i] = open(ctx) })
	}
	wg.Wait()
	opened := clients[:0]
	for _, c := range clients {
		if c != nil {
			opened = append(opened, c)
		}
	}
	return opened, errors.Join(errs...)
}

// Close closes every connection, idle or in use.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	all := p.all
	p.all = map[*faktory.Client]struct{}{}
	p.mu.Unlock()
	for c := range all {
		abortClient(c) // some may be in use by a request that outlived its server
	}
	for { // idle connections are closed above; drop them so Get cannot hand them out
		select {
		case <-p.idle:
		default:
			return
		}
	}
}
