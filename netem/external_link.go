package netem

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	tpclient "github.com/Shopify/toxiproxy/v2/client"
)

// ExternalLink is a link that is a proxy on an external toxiproxy server (External.Open).
// Conditions map to the server's own toxics: latency and jitter to its latency toxics,
// bandwidth to a bandwidth toxic, reset to reset_peer, blackhole to timeout, down to
// disabling the proxy.
type ExternalLink struct {
	ext       *External
	addr      string
	proxyName string // kept apart from proxy.Name, which every Save rewrites

	conditioned                 // l.mu guards the fields below too
	proxy       *tpclient.Proxy // the client's handle; Save posts its fields, so l.mu guards it
	spec        Spec
	plan        toxicPlan // the latency toxics as set on the server
}

// Name of the link.
func (l *ExternalLink) Name() string { return l.spec.Name }

// ProxyName is the proxy's name on the server: the backend's Prefix and the link's name.
func (l *ExternalLink) ProxyName() string { return l.proxyName }

// Addr is the host:port to dial to cross this link; a "down" fault keeps it.
func (l *ExternalLink) Addr() string { return l.addr }

// Spec returns the link's own configuration, without any imposed Condition.
func (l *ExternalLink) Spec() Spec {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.spec
}

// Expected is the round trip the link's latency toxics should give now, the server's
// measured overhead included: its configured RTT (plus any imposed latency) to the
// nearest the server can do.
func (l *ExternalLink) Expected() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.plan.expect
}

// Bytes is 0, 0: the server does not count bytes per proxy in its API (see Notes).
func (l *ExternalLink) Bytes() (up, down int64) { return 0, 0 }

// Impose applies c to the live link, replacing any condition imposed before, as
// Link.Impose does; after Close it returns ErrClosed.
func (l *ExternalLink) Impose(c Condition) error { return l.impose(l.spec.Name, c, l.apply) }

// Lift removes the imposed condition: the link's own latency, no condition toxic, and
// the proxy enabled again (same Addr) if it was down. Lifting nothing is a no-op; after
// Close it returns ErrClosed.
func (l *ExternalLink) Lift() error { return l.lift(l.spec.Name, l.apply) }

// apply moves the link from its current condition to c, changing only what differs, in
// the embedded Link's order: disabled before the toxics change, enabled after, so no
// connection is accepted with the wrong toxics. l.toxics is what the server holds, so a
// failed apply can be retried. l.mu held.
func (l *ExternalLink) apply(c Condition, imposed bool) error {
	if l.closed {
		return ErrClosed
	}
	if c.Fault == FaultDown && !l.down {
		if err := l.proxy.Disable(); err != nil {
			return fmt.Errorf("disable proxy %s: %w", l.proxyName, err)
		}
		l.down = true
	}
	if err := l.syncToxics(l.conditionToxics(c)); err != nil {
		return err
	}
	rtt, jitter := l.spec.RTT, l.spec.Jitter
	if imposed {
		rtt += c.Latency
		if c.Jitter > 0 {
			jitter = c.Jitter
		}
	}
	if err := l.setLatency(rtt, jitter); err != nil {
		return err
	}
	if l.down && c.Fault != FaultDown {
		if err := l.enable(); err != nil {
			return err
		}
		l.down = false
	}
	l.cond, l.imposed = c, imposed
	return nil
}

// conditionToxics is conditionToxics (the faults, as the embedded links add them) plus
// the server's bandwidth toxic, which takes whole KB/s and limits each connection on its
// own (the embedded links share the rate among a link's connections).
func (l *ExternalLink) conditionToxics(c Condition) map[string]string {
	want := conditionToxics(c)
	if c.Bandwidth > 0 {
		kb := max(1, int64(math.Round(float64(c.Bandwidth)/1000)))
		addToxicPair(want, "bandwidth", "bandwidth", map[string]any{"rate": kb})
		note := fmt.Sprintf("link %s: bandwidth %s is applied as toxiproxy's bandwidth toxic, %d KB/s for each connection "+
			"and direction on its own, not shared among the link's connections as the embedded links do", l.spec.Name, formatRate(c.Bandwidth), kb)
		if kb*1000 != c.Bandwidth {
			note += " (the toxic takes whole KB/s)"
		}
		l.ext.addNote(note)
	}
	return want
}

// syncToxics removes the condition toxics not in want (or different) and adds the
// missing ones. l.mu held.
func (l *ExternalLink) syncToxics(want map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(l.toxics)) {
		if body, ok := want[name]; ok && body == l.toxics[name] {
			continue
		}
		if err := l.proxy.RemoveToxic(name); err != nil && !isNotFound(err) {
			return fmt.Errorf("remove toxic %s: %w", name, err)
		}
		delete(l.toxics, name)
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if _, ok := l.toxics[name]; ok {
			continue
		}
		var t tpclient.Toxic
		if err := json.Unmarshal([]byte(want[name]), &t); err != nil {
			return fmt.Errorf("toxic %s: %w", name, err)
		}
		if _, err := l.proxy.AddToxic(t.Name, t.Type, t.Stream, t.Toxicity, t.Attributes); err != nil {
			return fmt.Errorf("add toxic %s: %w", name, err)
		}
		if l.toxics == nil {
			l.toxics = map[string]string{}
		}
		l.toxics[name] = want[name]
	}
	return nil
}

// setLatency updates the latency toxics for rtt and jitter, if their plan changed.
// l.mu held.
func (l *ExternalLink) setLatency(rtt, jitter time.Duration) error {
	cost := l.ext.cost
	p := planToxics(rtt, jitter, cost)
	if p.up != l.plan.up || p.down != l.plan.down || p.jitter != l.plan.jitter {
		for _, dir := range []string{"upstream", "downstream"} {
			if _, err := l.proxy.UpdateToxic(latencyToxicName(dir), 1, p.attrs(dir)); err != nil {
				return fmt.Errorf("set %s latency: %w", dir, err)
			}
		}
	}
	l.plan = p
	if w := p.warn(rtt, jitter); w != "" {
		l.ext.addNote("link " + l.spec.Name + ": " + w)
	}
	return nil
}

// enable re-enables a disabled proxy on its old address, retrying briefly as the
// embedded Link's relisten does: the port can be briefly taken. l.mu held.
func (l *ExternalLink) enable() error {
	deadline := time.Now().Add(relistenFor)
	wait := 5 * time.Millisecond
	for {
		err := l.proxy.Enable()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("enable proxy %s on %s again (tried for %s; is another socket using the port?): %w", l.proxyName, l.proxy.Listen, relistenFor, err)
		}
		time.Sleep(wait)
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// markClosed makes Impose and Lift return ErrClosed (the backend removes the proxy).
func (l *ExternalLink) markClosed() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
}

// Close removes this link's proxy from the server, closing its connections; it is
// final, as Link.Close is. If the server cannot be reached, the backend's Close tries
// again.
func (l *ExternalLink) Close() {
	l.markClosed()
	_ = l.ext.removeProxy(l.proxyName)
}
