package netem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Faults a Condition can impose.
const (
	FaultReset     = "reset"
	FaultBlackhole = "blackhole"
	FaultDown      = "down"
	FaultTimeout   = "timeout"    // data stops; each connection is closed after Condition.Timeout
	FaultSlicer    = "slicer"     // data cut into ~Condition.Bytes pieces, Condition.Delay apart
	FaultSlowClose = "slow_close" // a connection's close is held back Condition.Delay
	FaultLimitData = "limit_data" // a connection is closed after Condition.Bytes each way
	// FaultRestart is not a link's: a part (the embedded broker, the run's API) down for
	// the phase and back as it was; links refuse it.
	FaultRestart = "restart"
	// FaultKill is not a link's either: the embedded broker's redis-server (the part
	// redis) killed with SIGKILL, at once and for good: it takes no duration.
	FaultKill = "kill"
)

// FaultNames lists the accepted Condition.Fault values.
var FaultNames = []string{FaultReset, FaultBlackhole, FaultDown, FaultTimeout, FaultSlicer, FaultSlowClose, FaultLimitData, FaultRestart, FaultKill}

// FaultForms are the accepted fault texts (ParseFault), for help and errors.
const FaultForms = "reset, blackhole, down, timeout:DURATION, slicer[:BYTES[/DELAY]], slow_close:DURATION, limit_data:BYTES (links); restart (the parts faktory, api); kill (the part redis)"

// Slicer defaults: pieces of 64 bytes on average, 1 ms apart.
const (
	DefaultSliceBytes = 64
	DefaultSliceDelay = time.Millisecond
)

// ParseFault reads a fault in its text form (FaultForms) into c's Fault and its value.
func (c *Condition) ParseFault(s string) error {
	name, val, hasVal := strings.Cut(strings.TrimSpace(s), ":")
	bad := func() error {
		return fmt.Errorf("fault %q: accepted: %s, e.g. timeout:2s or limit_data:10KB", s, FaultForms)
	}
	c.Fault = name
	switch name {
	case FaultReset, FaultBlackhole, FaultDown, FaultRestart, FaultKill:
		if hasVal {
			return bad()
		}
	case FaultTimeout, FaultSlowClose:
		d, err := ParseDuration(val)
		if err != nil || d <= 0 {
			return bad()
		}
		if name == FaultTimeout {
			c.Timeout = d
		} else {
			c.Delay = d
		}
	case FaultLimitData:
		n, err := ParseBytes(val)
		if err != nil || n <= 0 {
			return bad()
		}
		c.Bytes = n
	case FaultSlicer:
		c.Bytes, c.Delay = DefaultSliceBytes, DefaultSliceDelay
		if !hasVal {
			return nil
		}
		size, delay, hasDelay := strings.Cut(val, "/")
		n, err := ParseBytes(size)
		if err != nil || n <= 0 {
			return bad()
		}
		c.Bytes = n
		if hasDelay {
			if c.Delay, err = ParseDuration(delay); err != nil || c.Delay < 0 {
				return bad()
			}
		}
	default:
		return bad()
	}
	return nil
}

// faultText is the fault in its text form (ParseFault reads it back).
func (c Condition) faultText() string {
	switch c.Fault {
	case FaultTimeout:
		return c.Fault + ":" + c.Timeout.String()
	case FaultSlowClose:
		return c.Fault + ":" + c.Delay.String()
	case FaultLimitData:
		return c.Fault + ":" + strconv.FormatInt(c.Bytes, 10)
	case FaultSlicer:
		return c.Fault + ":" + strconv.FormatInt(c.Bytes, 10) + "/" + c.Delay.String()
	}
	return c.Fault
}

// ParseRate reads a rate in bytes per second: "64KB/s", "1MB/s", "500000" (B/s).
func ParseRate(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' && r != 'e' && r != '+' && r != '-' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], s[i:]
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v <= 0 {
		return 0, errors.New("accepted is a positive rate in bytes per second, e.g. 64KB/s or 1MB/s")
	}
	m, ok := map[string]float64{"": 1, "B/s": 1, "KB/s": 1e3, "kB/s": 1e3, "MB/s": 1e6, "KiB/s": 1024, "MiB/s": 1 << 20}[unit]
	if !ok {
		return 0, fmt.Errorf("unit %q: accepted are B/s, KB/s, MB/s, KiB/s, MiB/s", unit)
	}
	bps := v * m
	if math.IsNaN(bps) || bps < 1 || bps > 1e12 {
		return 0, errors.New("accepted is a rate from 1 B/s to 1 TB/s, e.g. 64KB/s or 1MB/s")
	}
	return int64(bps), nil
}

// ParseCondition reads a condition's text form: comma-separated latency:D, jitter:D,
// bandwidth:RATE and a fault (ParseFault), e.g. "latency:200ms,jitter:20ms" or
// "timeout:2s". Condition.Text writes it.
func ParseCondition(s string) (Condition, error) {
	var c Condition
	for _, part := range strings.Split(s, ",") {
		key, val, _ := strings.Cut(strings.TrimSpace(part), ":")
		var err error
		switch key {
		case "latency":
			c.Latency, err = ParseDuration(val)
		case "jitter":
			c.Jitter, err = ParseDuration(val)
		case "bandwidth":
			c.Bandwidth, err = ParseRate(val)
		default:
			if c.Fault != "" {
				err = fmt.Errorf("two faults (%s and %s): one fault per condition", c.Fault, part)
				break
			}
			err = c.ParseFault(part)
		}
		if err != nil {
			return c, fmt.Errorf("condition %q: %v (accepted: latency:D, jitter:D, bandwidth:RATE or a fault: %s, comma-separated)", s, err, FaultForms)
		}
	}
	return c, c.Validate()
}

// Text is the condition's text form, which ParseCondition reads back.
func (c Condition) Text() string {
	var parts []string
	if c.Latency != 0 {
		parts = append(parts, "latency:"+c.Latency.String())
	}
	if c.Jitter != 0 {
		parts = append(parts, "jitter:"+c.Jitter.String())
	}
	if c.Bandwidth != 0 {
		parts = append(parts, "bandwidth:"+strconv.FormatInt(c.Bandwidth, 10))
	}
	if c.Fault != "" {
		parts = append(parts, c.faultText())
	}
	return strings.Join(parts, ",")
}

// ParseBytes reads a byte count: "10000", "10KB", "1MB", "64KiB".
func ParseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], s[i:]
	}
	mult, ok := map[string]float64{"": 1, "B": 1, "KB": 1e3, "kB": 1e3, "MB": 1e6, "KiB": 1024, "MiB": 1 << 20}[unit]
	v, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || v < 0 || v*mult > 1<<40 {
		return 0, fmt.Errorf("bytes %q: accepted is a byte count, e.g. 10000, 10KB or 1MiB", s)
	}
	return int64(v * mult), nil
}

// ErrClosed is returned by Impose and Lift on a closed link.
var ErrClosed = errors.New("link closed")

// Condition is a temporary change to a link: a scenario imposes it at an offset and lifts
// it later. What the faults do, as toxiproxy implements them:
//
//   - "reset": toxiproxy's reset_peer toxic on both directions. A connection opened while
//     it is imposed is reset (RST) as soon as either side sends data. A connection already
//     open is closed when either side sends: toxiproxy can only make new connections
//     abortive, so these see a plain close (EOF), not an RST. A connection that sends
//     nothing while it is imposed is untouched and works after Lift.
//   - "blackhole": toxiproxy's timeout toxic with no timeout, on both directions: data is
//     swallowed and connections stay open, old and new alike (new ones are accepted), as in
//     a partition. Unlike a healed partition, the swallowed data is lost rather than
//     retransmitted, and Lift closes (EOF) every connection that was open during the
//     blackhole, including those opened during it: parts must reconnect.
//   - "down": the link stops listening and closes every connection crossing it; dialling
//     it is refused. Lift listens again on the same Addr() and new connections work.
//
// Bandwidth is the capacity of each direction of the link, shared by its connections (a
// WAN pipe, not toxiproxy's per-connection bandwidth toxic): data is transmitted in turn
// at that rate, then delayed by the latency. A new rate (or Lift) applies to data in
// transmission from its next piece, about 10 ms of transmission, on.
//
// The other faults are toxiproxy's toxics of the same name, on both directions:
// "timeout" stops the data and closes each connection after Timeout; "slicer" cuts the
// data into pieces of about Bytes, Delay apart (a path of small packets); "slow_close"
// holds a connection's close back for Delay; "limit_data" closes a connection once Bytes
// have crossed it in a direction.
type Condition struct {
	Latency   time.Duration // added to the link's RTT (half per direction), e.g. 1s
	Jitter    time.Duration // replaces the link's jitter while imposed, if > 0
	Bandwidth int64         // bytes per second each direction may carry; 0 = unlimited
	Fault     string        // "" or one of FaultNames
	Timeout   time.Duration // timeout: how long a connection lives without data
	Delay     time.Duration // slow_close: the close's delay; slicer: between pieces
	Bytes     int64         // limit_data: bytes a connection carries; slicer: piece size
}

// Validate reports the first field of c that a link cannot apply.
func (c Condition) Validate() error {
	switch {
	case c.Latency < 0:
		return fmt.Errorf("invalid condition: latency %s is negative (accepted: 0 or more, e.g. 1s)", c.Latency)
	case c.Jitter < 0:
		return fmt.Errorf("invalid condition: jitter %s is negative (accepted: 0 or more, e.g. 5ms)", c.Jitter)
	case c.Bandwidth < 0:
		return fmt.Errorf("invalid condition: bandwidth %d B/s is negative (accepted: bytes per second, "+
			"0 for unlimited, e.g. 64000 for 64KB/s)", c.Bandwidth)
	case c.Fault != "" && !slices.Contains(FaultNames, c.Fault):
		return fmt.Errorf("invalid condition: unknown fault %q (accepted: %s, or none)", c.Fault, FaultForms)
	case c.Fault == FaultTimeout && c.Timeout < time.Millisecond, c.Fault == FaultSlowClose && c.Delay < time.Millisecond,
		c.Fault == FaultLimitData && c.Bytes <= 0, c.Fault == FaultSlicer && (c.Bytes <= 0 || c.Delay < 0):
		return fmt.Errorf("invalid condition: fault %s needs its value (accepted: %s)", c.Fault, FaultForms)
	case c == Condition{}:
		return errors.New("invalid condition: it changes nothing (set a latency, jitter, bandwidth or fault)")
	}
	return nil
}

// String is a short human form, e.g. "+1s latency, bandwidth 64KB/s".
func (c Condition) String() string {
	var parts []string
	if c.Latency != 0 {
		parts = append(parts, "+"+c.Latency.String()+" latency")
	}
	if c.Jitter != 0 {
		parts = append(parts, "jitter "+c.Jitter.String())
	}
	if c.Bandwidth != 0 {
		parts = append(parts, "bandwidth "+formatRate(c.Bandwidth))
	}
	if c.Fault != "" {
		parts = append(parts, c.faultText())
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, ", ")
}

func formatRate(b int64) string {
	switch {
	case b%1_000_000 == 0:
		return fmt.Sprintf("%dMB/s", b/1_000_000)
	case b%1000 == 0:
		return fmt.Sprintf("%dKB/s", b/1000)
	}
	return fmt.Sprintf("%dB/s", b)
}

// conditioned is what both backends' links share: the imposed condition and the
// Impose/Lift protocol around a backend's own apply (which moves the link from its
// current condition to another and records it, mu held).
type conditioned struct {
	mu      sync.Mutex
	cond    Condition // imposed condition, valid if imposed
	imposed bool
	toxics  map[string]string // condition toxics in place: name → JSON they were added with
	down    bool              // stopped or disabled by a "down" fault
	closed  bool
}

// Imposed returns the condition imposed on the link, if any.
func (s *conditioned) Imposed() (Condition, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cond, s.imposed
}

// impose applies c with apply, replacing any condition imposed before; after Close it
// returns ErrClosed. Safe from any goroutine, e.g. a scenario's phase timer.
func (s *conditioned) impose(name string, c Condition, apply func(Condition, bool) error) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("link %s: impose: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := apply(c, true); err != nil {
		return fmt.Errorf("link %s: impose %s: %w", name, c, err)
	}
	return nil
}

// lift removes the imposed condition with apply; lifting nothing is a no-op, after Close
// it returns ErrClosed.
func (s *conditioned) lift(name string, apply func(Condition, bool) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.imposed && !s.closed {
		return nil
	}
	if err := apply(Condition{}, false); err != nil {
		return fmt.Errorf("link %s: lift %s: %w", name, s.cond, err)
	}
	return nil
}

// Impose applies c to the live link, replacing any condition imposed before. It is safe
// to call from any goroutine, e.g. a scenario's phase timer; after Close it returns
// ErrClosed.
func (l *Link) Impose(c Condition) error {
	if c.Fault == FaultRestart || c.Fault == FaultKill {
		return fmt.Errorf("link %s: impose: %s is a part's fault, not a link's", l.spec.Name, c.Fault)
	}
	return l.impose(l.spec.Name, c, l.apply)
}

// Lift removes the imposed condition: the link's own RTT and jitter again, no condition
// toxic, and listening (same Addr()) if it was down. Lifting nothing is a no-op; after
// Close it returns ErrClosed.
func (l *Link) Lift() error { return l.lift(l.spec.Name, l.apply) }

// apply moves the link from its current condition to c, changing only what differs so
// that replacing a condition does not disturb what both share. l.mu held.
//
// The listener goes down before the toxics change and comes up after, so no connection
// is accepted with the wrong toxics. If it cannot come up, the link stays down with its
// previous condition reported, and Lift (or Impose) can be retried: l.toxics is what is
// actually in the chain.
func (l *Link) apply(c Condition, imposed bool) error {
	if l.closed {
		return ErrClosed
	}
	if c.Fault == FaultDown && !l.down {
		l.proxy.Stop()
		l.down = true
	}
	want := conditionToxics(c)
	for _, name := range slices.Sorted(maps.Keys(l.toxics)) {
		if body, ok := want[name]; ok && body == l.toxics[name] {
			continue
		}
		if err := l.proxy.Toxics.RemoveToxic(context.Background(), name); err != nil {
			return fmt.Errorf("remove toxic %s: %w", name, err)
		}
		delete(l.toxics, name)
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if _, ok := l.toxics[name]; ok {
			continue
		}
		if _, err := l.proxy.Toxics.AddToxicJson(strings.NewReader(want[name])); err != nil {
			return fmt.Errorf("add toxic %s: %w", name, err)
		}
		if l.toxics == nil {
			l.toxics = map[string]string{}
		}
		l.toxics[name] = want[name]
	}
	if l.down && c.Fault != FaultDown {
		if err := l.relisten(); err != nil {
			return err
		}
		l.down = false
	}
	l.cond, l.imposed = c, imposed
	l.applyDelays()
	return nil
}

// conditionToxics returns the toxiproxy toxics c's fault needs, by name, as AddToxicJson
// bodies. (Latency, jitter and bandwidth are settings of the link's LatencyToxic.)
func conditionToxics(c Condition) map[string]string {
	toxics := map[string]string{}
	switch c.Fault {
	case FaultReset:
		addToxicPair(toxics, "reset", "reset_peer", map[string]any{"timeout": 0})
	case FaultBlackhole:
		addToxicPair(toxics, "blackhole", "timeout", map[string]any{"timeout": 0})
	case FaultTimeout:
		addToxicPair(toxics, "timeout", "timeout", map[string]any{"timeout": c.Timeout.Milliseconds()})
	case FaultSlicer:
		addToxicPair(toxics, "slicer", "slicer", map[string]any{
			"average_size": c.Bytes, "size_variation": c.Bytes / 2, "delay": c.Delay.Microseconds()})
	case FaultSlowClose:
		addToxicPair(toxics, "slow_close", "slow_close", map[string]any{"delay": c.Delay.Milliseconds()})
	case FaultLimitData:
		addToxicPair(toxics, "limit_data", "limit_data", map[string]any{"bytes": c.Bytes})
	}
	return toxics
}

// addToxicPair adds to toxics a condition toxic of type typ on each direction, named
// cond_<kind>_<direction>, as an AddToxicJson body (the external backend's client sends
// the same body).
func addToxicPair(toxics map[string]string, kind, typ string, attrs map[string]any) {
	for _, dir := range []string{"upstream", "downstream"} {
		name := "cond_" + kind + "_" + dir
		body, _ := json.Marshal(map[string]any{
			"name": name, "type": typ, "stream": dir, "toxicity": 1.0, "attributes": attrs,
		})
		toxics[name] = string(body)
	}
}

// relistenFor bounds how long Lift retries listening on the link's address after a
// "down": the port can be briefly taken (e.g. by an outgoing connection's ephemeral port).
var relistenFor = time.Second

// relisten starts the stopped proxy on its old address. The proxy keeps its toxic
// collection across Stop and Start, so the latency toxics (and their byte counts) carry
// over to the new connections. l.mu held.
func (l *Link) relisten() error {
	deadline := time.Now().Add(relistenFor)
	wait := 5 * time.Millisecond
	for {
		err := l.proxy.Start()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("listen again on %s (tried for %s; is another socket using the port?): %w", l.addr, relistenFor, err)
		}
		time.Sleep(wait)
		wait = min(2*wait, 100*time.Millisecond)
	}
}
