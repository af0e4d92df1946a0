package system

import (
	"errors"
	"testing"
)

func TestBreaker(t *testing.T) {
	var b breaker
	boom := errors.New("refused")
	for range failThreshold {
		if _, err := b.allow(); err != nil {
			t.Fatalf("closed breaker refused: %v", err)
		}
		b.result(false, boom)
	}
	if _, err := b.allow(); !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("after %d failures: %v, want ErrCircuitOpen", failThreshold, err)
	}
	interval := b.interval
	b.result(false, boom) // a broken connection while open: no further backoff
	if b.interval != interval {
		t.Errorf("non-probe failure moved the interval %s → %s", interval, b.interval)
	}
	b.openUntil = b.openUntil.Add(-interval) // the probe is due
	probe, err := b.allow()
	if !probe || err != nil {
		t.Fatalf("due probe: %v %v", probe, err)
	}
	if _, err := b.allow(); !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("second caller during a probe: %v, want fail fast", err)
	}
	b.release() // the probe's caller gave up: the next caller may probe
	if probe, _ := b.allow(); !probe {
		t.Fatal("after a released probe, no new probe allowed")
	}
	b.result(true, boom)
	if b.interval != 2*interval {
		t.Errorf("failed probe: interval %s, want doubled %s", b.interval, 2*interval)
	}
	b.openUntil = b.openUntil.Add(-b.interval)
	probe, _ = b.allow()
	b.result(probe, nil)
	if b.open() {
		t.Error("a successful probe left the circuit open")
	}
}
