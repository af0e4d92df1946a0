package netem

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Backend is where a stack's links come from: the embedded toxiproxy (NewProxies) or a
// running toxiproxy server driven through its HTTP API (NewExternal). A stack opens its
// links, reads the lateness calibration and the notes, and closes it, the same way with
// either.
type Backend interface {
	// OpenLink starts a link forwarding to upstream, with spec's RTT and jitter.
	OpenLink(spec Spec, upstream string) (LinkHandle, error)
	// Lateness is the delay line's calibration (n = 0 where the backend has none).
	Lateness() (p50, p99 time.Duration, n int64)
	ResetLateness()
	// Notes say where the backend differs from the embedded links' behaviour, for the
	// run's start-up output and its report. They may grow as links open and conditions
	// are imposed: read them again before writing the report.
	Notes() []string
	// Close removes every link opened here; safe to call more than once.
	Close()
}

// LinkHandle is one open link, whichever backend opened it: what a stack and its
// phases use.
type LinkHandle interface {
	Name() string
	Addr() string
	Spec() Spec
	Bytes() (up, down int64)
	Impose(c Condition) error
	Lift() error
	Imposed() (Condition, bool)
}

// Backend names, as --netem takes them.
const (
	BackendToxiproxy = "toxiproxy"          // embedded (NewProxies)
	BackendExternal  = "toxiproxy-external" // a running toxiproxy server (NewExternal)
	BackendKernel    = "kernel"             // Linux's sch_netem on --hosts netns' veth links (kernel.go)
)

// BackendNames lists the backends NewBackend makes.
var BackendNames = []string{BackendToxiproxy, BackendExternal, BackendKernel}

var (
	_ Backend    = (*Proxies)(nil)
	_ LinkHandle = (*Link)(nil)
	_ Backend    = (*External)(nil)
	_ LinkHandle = (*ExternalLink)(nil)
)

// NewBackend makes the backend called kind. url (the server's API, e.g.
// http://127.0.0.1:8474) and runID (which names the server's proxies) are for
// toxiproxy-external and ignored by the embedded one; ctx bounds what NewExternal and
// OpenLink do, see NewExternal. kernel is probed first (ProbeKernelNetem: an error
// wrapping ErrNoKernelNetem where sch_netem cannot be used); where it can be, it shapes
// only the veth links of --hosts netns, which NewBackend does not make: an error wrapping
// ErrKernelNeedsHosts.
func NewBackend(ctx context.Context, kind, url, runID string) (Backend, error) {
	switch kind {
	case BackendToxiproxy:
		return NewProxies(), nil
	case BackendExternal:
		return NewExternal(ctx, url, runID)
	case BackendKernel:
		if err := ProbeKernelNetem(ctx); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: kernel netem shapes the veth links between the parts' network namespaces, "+
			"and without it the parts share this host's loopback", ErrKernelNeedsHosts)
	}
	return nil, fmt.Errorf("unknown netem backend %q: accepted values are %s", kind, strings.Join(BackendNames, ", "))
}

// OpenLink is Open as a Backend: the same link, behind the LinkHandle interface.
func (p *Proxies) OpenLink(spec Spec, upstream string) (LinkHandle, error) {
	l, err := p.Open(spec, upstream)
	if err != nil {
		return nil, err // not a nil *Link in a non-nil interface
	}
	return l, nil
}

// Notes: the embedded links are the reference behaviour, nothing to note.
func (p *Proxies) Notes() []string { return nil }
