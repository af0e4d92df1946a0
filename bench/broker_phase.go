package bench

import (
	"fmt"
	"sync"

	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/system"
)

// PartFaktory names the embedded broker in a phase, beside the links: fault restart
// takes it down for the phase and brings it back on the same storage.
const PartFaktory = "faktory"

// brokerPart lets the phaser treat the embedded broker as it treats a link: Impose with
// fault restart stops the Faktory server (redis-server, and every queued and reserved
// job, stays), Lift starts a new one on the same address. Clients see the broker down,
// then back, as after a restart.
type brokerPart struct {
	b       *system.Broker
	mu      sync.Mutex
	cond    netem.Condition
	imposed bool
}

func (p *brokerPart) Name() string          { return PartFaktory }
func (p *brokerPart) Addr() string          { return p.b.Addr() }
func (p *brokerPart) Spec() netem.Spec      { return netem.Spec{Name: PartFaktory} }
func (p *brokerPart) Bytes() (int64, int64) { return 0, 0 }

func (p *brokerPart) Imposed() (netem.Condition, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cond, p.imposed
}

func (p *brokerPart) Impose(c netem.Condition) error {
	if c.Fault != netem.FaultRestart || c != (netem.Condition{Fault: netem.FaultRestart}) {
		return fmt.Errorf("%s: impose %s: the broker takes fault restart only", PartFaktory, c)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.b.Pause()
	p.cond, p.imposed = c, true
	return nil
}

func (p *brokerPart) Lift() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.imposed {
		return nil
	}
	if err := p.b.Resume(); err != nil {
		return fmt.Errorf("%s: lift restart: %w", PartFaktory, err)
	}
	p.imposed = false
	return nil
}
