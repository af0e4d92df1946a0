package bench

import (
	"fmt"
	"sync"
	"time"

	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/reports"
)

// phaser imposes a run's phases on its links at their offsets from the start of the
// load and lifts them when their time is up, recording when each really happened.
// A phase is lifted "for" after it was really imposed (timers fire late, never early, so
// a phase never lasts less than asked), and a phase lifts a link only while it is the
// phase imposed there: a next phase that takes over the link ends it instead.
type phaser struct {
	mu      sync.Mutex
	start   time.Time
	stopped bool
	timers  []*time.Timer
	rec     []reports.Phase
	owner   map[string]int // link → index of the phase imposed on it
	links   map[string]netem.LinkHandle
	phases  []Phase
}

func startPhases(phases []Phase, links map[string]netem.LinkHandle, start time.Time) *phaser {
	p := &phaser{start: start, links: links, phases: phases, owner: map[string]int{}}
	p.mu.Lock() // timers may fire at once (at: 0): they wait until every one is set up
	defer p.mu.Unlock()
	for _, ph := range phases {
		p.rec = append(p.rec, reports.Phase{
			Link: ph.Link, Condition: ph.Condition.String(), AtS: ph.At.Seconds(), ForS: ph.For.Seconds(),
		})
	}
	for i, ph := range phases {
		p.timers = append(p.timers, time.AfterFunc(time.Until(start.Add(ph.At)), func() { p.impose(i) }))
	}
	return p
}

// offset is t's offset from the start of the load, in seconds, as recorded.
func (p *phaser) offset(t time.Time) *float64 {
	s := t.Sub(p.start).Seconds()
	return &s
}

func (p *phaser) impose(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || p.rec[i].LiftedAtS != nil {
		return
	}
	ph := p.phases[i]
	if err := p.links[ph.Link].Impose(ph.Condition); err != nil {
		p.rec[i].Error = err.Error()
		return
	}
	// The condition holds from here on: both the recorded time and the lift's timer
	// count from this instant, so the recorded span is never shorter than "for".
	now := time.Now()
	p.rec[i].AppliedAtS = p.offset(now)
	if j, ok := p.owner[ph.Link]; ok && j != i {
		p.rec[j].LiftedAtS = p.offset(now) // replaced by this phase
	}
	p.owner[ph.Link] = i
	if ph.For > 0 {
		p.timers = append(p.timers, time.AfterFunc(time.Until(now.Add(ph.For)), func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if !p.stopped {
				p.lift(i)
			}
		}))
	}
}

// lift removes phase i's condition if it is still the one on its link.
func (p *phaser) lift(i int) {
	link := p.phases[i].Link
	if j, ok := p.owner[link]; !ok || j != i {
		return
	}
	delete(p.owner, link)
	// Recorded before the call: until Lift begins the condition surely holds.
	lifted := p.offset(time.Now())
	if err := p.links[link].Lift(); err != nil {
		p.rec[i].Error = fmt.Sprintf("lift: %v", err)
		return
	}
	if p.phases[i].Condition.Fault != netem.FaultKill { // a kill is never undone: it lasts to the end
		p.rec[i].LiftedAtS = lifted
	}
}

// stop cancels phases not yet due and lifts those still imposed; it returns what
// happened. Safe to call more than once, and on a nil phaser.
func (p *phaser) stop() []reports.Phase {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped {
		now := time.Since(p.start).Seconds()
		for _, i := range p.owner {
			// Still imposed with its time not up: the run ends it early.
			if r := &p.rec[i]; r.ForS > 0 && r.AppliedAtS != nil && now < *r.AppliedAtS+r.ForS {
				r.CutShort = true
			}
		}
	}
	p.stopped = true
	for _, t := range p.timers {
		t.Stop()
	}
	for i := range p.phases {
		p.lift(i)
	}
	return p.rec
}

// notes explains phases that did not happen as planned.
func phaseNotes(rec []reports.Phase) []string {
	var out []string
	for _, r := range rec {
		switch {
		case r.Error != "":
			out = append(out, fmt.Sprintf("phase %s on %s at %gs failed: %s", r.Condition, r.Link, r.AtS, r.Error))
		case r.AppliedAtS == nil:
			out = append(out, fmt.Sprintf("phase %s on %s at %gs did not happen: the run ended first", r.Condition, r.Link, r.AtS))
		case r.CutShort && r.LiftedAtS != nil:
			out = append(out, fmt.Sprintf("phase %s on %s at %gs was cut short after %.3fs of %gs: the run ended first", r.Condition, r.Link, r.AtS, *r.LiftedAtS-*r.AppliedAtS, r.ForS))
		}
	}
	return out
}
