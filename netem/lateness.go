package netem

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// The delay line's calibration: how late it hands each chunk (or rate piece) on, after
// the time the link's delay made it due. It counts only what had to wait (was not yet due
// when its pipe reached it): a chunk that falls due while its pipe is blocked behind the
// next stage is late by back-pressure, not by the clock. Values in µs, 1 µs to 10 s,
// 2 significant digits.
const (
	latenessMaxUS  = 10_000_000
	latenessDigits = 2
)

// lateness is one toxic's histogram: one small lock per direction of a link, never shared
// by two links.
type lateness struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram // nil until the first record
}

func (l *lateness) record(late time.Duration) {
	v := min(max(late.Microseconds(), 1), latenessMaxUS)
	l.mu.Lock()
	if l.h == nil {
		l.h = newLatenessHistogram()
	}
	_ = l.h.RecordValue(v)
	l.mu.Unlock()
}

func (l *lateness) mergeInto(dst *hdrhistogram.Histogram) {
	l.mu.Lock()
	if l.h != nil {
		dst.Merge(l.h)
	}
	l.mu.Unlock()
}

func (l *lateness) reset() {
	l.mu.Lock()
	if l.h != nil {
		l.h.Reset()
	}
	l.mu.Unlock()
}

func newLatenessHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, latenessMaxUS, latenessDigits)
}

func latenessSummary(h *hdrhistogram.Histogram) (p50, p99 time.Duration, n int64) {
	n = h.TotalCount()
	if n == 0 {
		return 0, 0, 0
	}
	return time.Duration(h.ValueAtQuantile(50)) * time.Microsecond,
		time.Duration(h.ValueAtQuantile(99)) * time.Microsecond, n
}

// LatenessHistogram returns a copy of the link's delay-line lateness (delivered − due, in
// µs, both directions) since it opened or since ResetLateness.
func (l *Link) LatenessHistogram() *hdrhistogram.Histogram {
	h := newLatenessHistogram()
	for _, d := range l.delays {
		d.late.mergeInto(h)
	}
	return h
}

// Lateness summarizes LatenessHistogram: its median, 99th percentile and count. A link
// with no delay (nothing waits) counts nothing.
func (l *Link) Lateness() (p50, p99 time.Duration, n int64) {
	return latenessSummary(l.LatenessHistogram())
}

// ResetLateness empties the link's lateness histogram (e.g. after a warm-up).
func (l *Link) ResetLateness() {
	for _, d := range l.delays {
		d.late.reset()
	}
}

// LatenessHistogram returns the delay-line lateness of every link open here, merged (µs).
// Links already closed (Close) are not included: read it before Close.
func (p *Proxies) LatenessHistogram() *hdrhistogram.Histogram {
	p.mu.Lock()
	links := p.links
	p.mu.Unlock()
	h := newLatenessHistogram()
	for _, l := range links {
		for _, d := range l.delays {
			d.late.mergeInto(h)
		}
	}
	return h
}

// Lateness summarizes LatenessHistogram: how late the links' delay line delivered what
// it delayed (delivered − due), median and 99th percentile, and how many deliveries. It is
// the calibration of every delay the links add: a link of one-way delay d delivers at
// d + lateness (plus the proxy's own copying, which a zero-delay link has too).
// Safe for concurrent use, under traffic included.
func (p *Proxies) Lateness() (p50, p99 time.Duration, n int64) {
	return latenessSummary(p.LatenessHistogram())
}

// ResetLateness empties the lateness histogram of every link open here.
func (p *Proxies) ResetLateness() {
	p.mu.Lock()
	links := p.links
	p.mu.Unlock()
	for _, l := range links {
		l.ResetLateness()
	}
}
