package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/system"
)

// Parts a phase can restart or kill, beside the links: fault restart takes the part down
// for the phase and brings it back as it was (the embedded broker on the same storage, the
// API on the same address); fault kill kills the embedded broker's redis-server for good.
const (
	PartFaktory = "faktory"
	PartAPI     = "api"
	PartRedis   = "redis"
)

// partFaults is the one fault each part takes.
var partFaults = map[string]string{PartFaktory: netem.FaultRestart, PartAPI: netem.FaultRestart, PartRedis: netem.FaultKill}

// partPhase lets the phaser treat a part as it treats a link: Impose with the part's
// fault takes it down, Lift brings it back (up nil: nothing comes back). Clients see it
// down, then back, as after a restart.
type partPhase struct {
	name    string
	addr    func() string
	down    func() error
	up      func() error
	mu      sync.Mutex
	cond    netem.Condition
	imposed bool
}

// brokerPart restarts the embedded broker: the Faktory server stops, redis-server (and
// every queued and reserved job) stays, a new server starts on the same address.
func brokerPart(b *system.Broker) *partPhase {
	return &partPhase{name: PartFaktory, addr: b.Addr, up: b.Resume, down: func() error { b.Pause(); return nil }}
}

// redisPart kills the embedded broker's redis-server with SIGKILL: the broker dies (the
// run ends as an environment failure) and every job Redis held, kept only in memory, is
// lost. Lift brings nothing back.
func redisPart(b *system.Broker) *partPhase {
	return &partPhase{name: PartRedis, addr: b.Addr, down: b.KillRedis}
}

// apiPart restarts the run's API: in-flight requests finish, the listener closes (the
// client-api link's dials are refused), then it listens again on the same address.
func apiPart(a *system.API) *partPhase {
	return &partPhase{name: PartAPI, addr: a.Addr, up: a.Resume, down: func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Pause(ctx)
		return nil
	}}
}

func (p *partPhase) Name() string          { return p.name }
func (p *partPhase) Addr() string          { return p.addr() }
func (p *partPhase) Spec() netem.Spec      { return netem.Spec{Name: p.name} }
func (p *partPhase) Bytes() (int64, int64) { return 0, 0 }

func (p *partPhase) Imposed() (netem.Condition, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cond, p.imposed
}

func (p *partPhase) Impose(c netem.Condition) error {
	if f := partFaults[p.name]; c != (netem.Condition{Fault: f}) {
		return fmt.Errorf("%s: impose %s: the part takes fault %s only", p.name, c, f)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.down(); err != nil {
		return err
	}
	p.cond, p.imposed = c, true
	return nil
}

func (p *partPhase) Lift() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.imposed {
		return nil
	}
	if p.up == nil {
		p.imposed = false
		return nil
	}
	if err := p.up(); err != nil {
		return fmt.Errorf("%s: lift restart: %w", p.name, err)
	}
	p.imposed = false
	return nil
}
