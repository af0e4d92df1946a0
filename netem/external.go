package netem

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	tpclient "github.com/Shopify/toxiproxy/v2/client"
)

// External is the toxiproxy-external backend: links are proxies on a running official
// toxiproxy server, created through its HTTP API, named <Prefix()><link> so that a run's
// proxies are told apart from any other user's, and removed by Close.
//
// The official server's latency toxic takes whole milliseconds per direction and adds
// its own overhead (its Go timers wake late); NewExternal measures that overhead once
// and each link's toxics are chosen so that its round trip lands nearest its configured
// RTT (see planToxics). What cannot be had from the server is said by Notes.
type External struct {
	ctx      context.Context // bounds calibration and Open (see NewExternal)
	url      string
	client   *tpclient.Client
	prefix   string // wfbench-<runid>-
	listen   string // host the server's proxies listen on
	dialHost string // host the parts dial to reach them
	cost     serverCost
	remote   bool // the server is not on this host's loopback

	mu       sync.Mutex
	closed   bool
	created  map[string]bool // proxies this backend may have created on the server, by name
	links    []*ExternalLink
	events   []string // notes added as links open and conditions change, in order
	inflight sync.WaitGroup

	// afterCreate, if set (tests), runs in Open once the proxy exists on the server.
	afterCreate func()
}

// Each calibration measurement is calibrationBatches medians of calibrationSamples round
// trips (see measureEcho): enough that one late wake-up, or one burst of load, does not
// move it.
const (
	calibrationSamples = 21
	calibrationBatches = 2
)

// nameRE is what can name a proxy: the client puts names into URL paths unescaped.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// NewExternal connects to the toxiproxy server whose API is at rawURL (e.g.
// http://127.0.0.1:8474), checks that it answers, and measures its overhead (about a
// second). runID names the run's proxies (wfbench-<runID>-<link>); empty picks a random one.
//
// ctx bounds the calibration and every Open: once it is done Open fails, removing what it
// had created. It does not remove the links already open, which a run still drains
// through after an interrupt: Close does that, whatever the state of ctx.
//
// The server dials the links' upstreams itself: they must be reachable from it (with a
// server on this host's loopback, 127.0.0.1 addresses are).
func NewExternal(ctx context.Context, rawURL, runID string) (*External, error) {
	if rawURL == "" {
		return nil, errors.New("toxiproxy-external: no server URL (set --toxiproxy-url, e.g. http://127.0.0.1:8474)")
	}
	if !strings.Contains(rawURL, "://") {
		rawURL = "http://" + rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("toxiproxy-external: invalid server URL %q (want http://HOST:PORT, e.g. http://127.0.0.1:8474)", rawURL)
	}
	if runID == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		runID = hex.EncodeToString(b)
	}
	if !nameRE.MatchString(runID) {
		return nil, fmt.Errorf("toxiproxy-external: run id %q: only letters, digits, '.', '_' and '-' can name a proxy", runID)
	}
	e := &External{
		ctx: ctx, url: u.Scheme + "://" + u.Host, prefix: "wfbench-" + runID + "-",
		created: map[string]bool{}, listen: "127.0.0.1", dialHost: "127.0.0.1",
	}
	if host := u.Hostname(); !isLoopback(host) {
		e.listen, e.dialHost, e.remote = "0.0.0.0", host, true
	}
	e.client = tpclient.NewClient(e.url)
	e.client.UserAgent = "wfbench"
	if _, err := e.client.Version(); err != nil {
		return nil, fmt.Errorf("toxiproxy-external: the server at %s does not answer (is toxiproxy-server running? is --toxiproxy-url right?): %w", e.url, err)
	}
	if e.cost, err = e.calibrate(ctx); err != nil {
		e.Close()
		return nil, fmt.Errorf("toxiproxy-external: measure the server's overhead: %w", err)
	}
	return e, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Prefix is what every proxy of this backend is named with: wfbench-<runid>-.
func (e *External) Prefix() string { return e.prefix }

// OpenLink is Open as a Backend.
func (e *External) OpenLink(spec Spec, upstream string) (LinkHandle, error) {
	l, err := e.Open(spec, upstream)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// Open creates the link's proxy on the server, listening on an ephemeral port, with its
// latency toxics. On any error (ctx done included) it removes what it created.
func (e *External) Open(spec Spec, upstream string) (*ExternalLink, error) {
	if !nameRE.MatchString(spec.Name) {
		return nil, fmt.Errorf("open link %q: a link name is letters, digits, '.', '_' and '-'", spec.Name)
	}
	if spec.RTT < 0 || spec.Jitter < 0 {
		return nil, fmt.Errorf("open link %s: RTT and jitter must not be negative", spec.Name)
	}
	name := e.prefix + spec.Name
	if err := e.begin(name); err != nil {
		return nil, fmt.Errorf("open link %s: %w", spec.Name, err)
	}
	defer e.inflight.Done()
	l, err := e.create(spec, name, upstream)
	if err != nil {
		var apiErr *tpclient.ApiError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusConflict {
			e.forget(name) // someone else's proxy of that name: not ours to remove
		} else if rerr := e.removeProxy(name); rerr != nil {
			err = fmt.Errorf("%w (and removing it failed: %v)", err, rerr)
		}
		return nil, fmt.Errorf("open link %s on %s: %w", spec.Name, e.url, err)
	}
	e.mu.Lock()
	e.links = append(e.links, l)
	e.mu.Unlock()
	return l, nil
}

// begin records that name is being created, before the request goes out, so that a Close
// racing with Open still removes it (Close waits for Opens in flight).
func (e *External) begin(name string) error {
	if err := e.ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return ErrClosed
	case e.created[name]:
		return fmt.Errorf("proxy %s is already open", name)
	}
	e.created[name] = true
	e.inflight.Add(1)
	return nil
}

func (e *External) forget(name string) {
	e.mu.Lock()
	delete(e.created, name)
	e.mu.Unlock()
}

// create makes the proxy and its two latency toxics, checking ctx between the steps.
func (e *External) create(spec Spec, name, upstream string) (*ExternalLink, error) {
	px, err := e.client.CreateProxy(name, net.JoinHostPort(cmp.Or(spec.Listen, e.listen), "0"), upstream)
	if err != nil {
		return nil, err
	}
	if e.afterCreate != nil {
		e.afterCreate()
	}
	_, port, err := net.SplitHostPort(px.Listen)
	if err != nil {
		return nil, fmt.Errorf("server reported listen address %q: %w", px.Listen, err)
	}
	l := &ExternalLink{ext: e, proxy: px, proxyName: name, spec: spec, addr: net.JoinHostPort(e.dialHost, port)}
	l.plan = planToxics(spec.RTT, spec.Jitter, e.cost)
	for _, dir := range []string{"upstream", "downstream"} {
		if err := e.ctx.Err(); err != nil {
			return nil, err
		}
		if _, err := px.AddToxic(latencyToxicName(dir), "latency", dir, 1, l.plan.attrs(dir)); err != nil {
			return nil, fmt.Errorf("add %s latency: %w", dir, err)
		}
	}
	if err := e.ctx.Err(); err != nil {
		return nil, err
	}
	if spec.RTT > 0 && !l.plan.off(spec.RTT) { // (warn says what an RTT off got)
		e.addNote("link " + spec.Name + ": " + l.plan.describe(spec.RTT))
	}
	if w := l.plan.warn(spec.RTT, spec.Jitter); w != "" {
		e.addNote("link " + spec.Name + ": " + w)
	}
	return l, nil
}

func latencyToxicName(dir string) string { return "rtt_" + dir }

// removeProxy deletes name from the server (already gone counts as removed) and from the
// ledger once it is gone.
func (e *External) removeProxy(name string) error {
	px := e.client.NewProxy() // the client's handle for a proxy known by name only
	px.Name = name
	err := px.Delete()
	if err != nil && !isNotFound(err) {
		return err
	}
	e.forget(name)
	return nil
}

func isNotFound(err error) bool {
	var apiErr *tpclient.ApiError
	return errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound
}

// Close removes every proxy this backend created (or was creating) from the server,
// closing the connections crossing them; links report ErrClosed from then on. It is safe
// to call twice; what it could not remove, a second call tries again. See Cleanup for
// the error.
func (e *External) Close() { _ = e.Cleanup() }

// Cleanup is Close, returning what could not be removed.
func (e *External) Cleanup() error {
	e.mu.Lock()
	e.closed = true // no Open starts from here on
	e.mu.Unlock()
	e.inflight.Wait() // an Open in flight finishes (or removes its proxy) first
	e.mu.Lock()
	links := e.links
	e.mu.Unlock()
	for _, l := range links {
		l.markClosed() // waits for an Impose in flight: none changes a proxy being removed
	}
	e.mu.Lock()
	names := make([]string, 0, len(e.created))
	for n := range e.created {
		names = append(names, n)
	}
	e.mu.Unlock()
	slices.Sort(names)
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() {
			if err := e.removeProxy(n); err != nil {
				errs[i] = fmt.Errorf("remove proxy %s from %s: %w", n, e.url, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Lateness: the official server's latency toxic times its own sleeps, with no
// calibration to read; n is 0.
func (e *External) Lateness() (p50, p99 time.Duration, n int64) { return 0, 0, 0 }

// ResetLateness does nothing: there is no lateness histogram (see Lateness).
func (e *External) ResetLateness() {}

func (e *External) addNote(n string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !slices.Contains(e.events, n) {
		e.events = append(e.events, n)
	}
}

// Notes say what the external links do differently from the embedded ones: the
// latency granularity and the overhead compensated, no delay-line calibration, no byte
// counts, and what links and conditions could not get exactly (added as they happen).
func (e *External) Notes() []string {
	out := []string{
		fmt.Sprintf("netem toxiproxy-external (%s, proxies %s*): latency is set in whole milliseconds per direction, "+
			"so a link's RTT moves in 1 ms steps; the server's own overhead, measured at start (%s per round trip, "+
			"%s-%s more per delayed direction), is subtracted, so a link lands within about 0.5 ms of its RTT "+
			"(sub-millisecond RTTs cannot be set)", e.url, e.prefix, e.cost.base.Round(time.Microsecond),
			e.cost.timer1.Round(time.Microsecond), e.cost.timer.Round(time.Microsecond)),
		"netem toxiproxy-external: no delay-line lateness calibration (the server times its own delays with Go timers); " +
			"links report no byte counts (the server counts bytes only in its optional Prometheus metrics, and only when a connection ends)",
	}
	if e.remote {
		out = append(out, "netem toxiproxy-external: the server is not on this host's loopback: it dials the links' upstreams itself, "+
			"so they must be reachable from it, and the parts dial its host ("+e.dialHost+")")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return append(out, e.events...)
}
