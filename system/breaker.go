package system

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrCircuitOpen is returned at once, without a dial, while Faktory is known to be
// unreachable: the API answers 503 immediately instead of every request paying the
// connect timeout.
var ErrCircuitOpen = errors.New("Faktory unreachable: circuit open, failing fast until the next probe")

// breaker is a circuit breaker on dialling Faktory. It opens after failThreshold
// consecutive failed dials (or broken connections); while open, calls fail fast, except
// one probe per interval, which closes it on success. The interval doubles on each
// failed probe, with a cap, so a long outage costs few dials.
type breaker struct {
	mu        sync.Mutex
	fails     int
	openUntil time.Time // zero: closed
	interval  time.Duration
	probing   bool
	lastErr   error
}

const (
	failThreshold   = 3
	probeInterval   = 250 * time.Millisecond
	maxProbeBackoff = 10 * time.Second
)

// allow reports whether a dial may go ahead: always while closed, once per interval
// (the probe, probe=true) while open.
func (b *breaker) allow() (probe bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.openUntil.IsZero() {
		return false, nil
	}
	if b.probing || time.Now().Before(b.openUntil) {
		return false, fmt.Errorf("%w (last error: %v)", ErrCircuitOpen, b.lastErr)
	}
	b.probing = true
	return true, nil
}

// result records a dial's (or a connection's) outcome; probe says whether it was the
// probe allow let through. Only a failed probe backs the next one off further.
func (b *breaker) result(probe bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
	}
	if err == nil {
		b.fails, b.openUntil, b.interval = 0, time.Time{}, 0
		return
	}
	b.fails++
	b.lastErr = err
	switch {
	case probe:
		b.interval = min(max(b.interval*2, probeInterval), maxProbeBackoff)
		b.openUntil = time.Now().Add(b.interval)
	case b.openUntil.IsZero() && b.fails >= failThreshold:
		b.interval = probeInterval
		b.openUntil = time.Now().Add(b.interval)
	}
}

// release ends a probe that told nothing (its caller gave up): the next caller probes.
func (b *breaker) release() {
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}

// open reports whether the circuit is open now.
func (b *breaker) open() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.openUntil.IsZero()
}
