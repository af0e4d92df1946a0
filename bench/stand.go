package bench

import (
	"context"
	"fmt"

	"github.com/wfbench/wfbench/hosts"
	"github.com/wfbench/wfbench/netem"
)

// Standing is the reference system on hosts, standing for drivers of their own (`wfbench
// up --hosts`): the same assembly a run on hosts measures, links included, with no load.
type Standing struct {
	st    *Stack
	Lines []string // where each part listens, for the operator
}

// StandOnHosts brings the system of cfg (which must have Hosts) up on its hosts.
func StandOnHosts(ctx context.Context, cfg RunConfig) (_ *Standing, err error) {
	if !cfg.OnHosts() {
		return nil, fmt.Errorf("standing on hosts needs hosts local or netns, not %q", cfg.Hosts)
	}
	p, err := Resolve(cfg)
	if err != nil {
		return nil, err
	}
	st, err := StartStack(ctx, p, "up-"+newRunID())
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	p.SizeWorkers(0)
	if err := st.StartWorkers(ctx, p, nil); err != nil {
		return nil, err
	}
	s := &Standing{st: st}
	hs := st.hosts
	fk := hs.cluster.Host(hosts.PartFaktory)
	s.Lines = append(s.Lines,
		fmt.Sprintf("faktory    %s on host %s; through client-faktory (%s): tcp://%s", fk.URL, hostWhere(fk), rttText(st.Links[netem.ClientFaktory]), st.Links[netem.ClientFaktory].Addr()))
	for i, h := range hs.cluster.Hosts(hosts.PartAPI) {
		s.Lines = append(s.Lines, fmt.Sprintf("%-10s %s on host %s; through client-api (%s): http://%s", h.Name, h.URL, hostWhere(h), rttText(st.Links[netem.ClientAPI]), hs.clientAddrs[i]))
	}
	for _, h := range hs.cluster.Hosts(hosts.PartWorker) {
		s.Lines = append(s.Lines, fmt.Sprintf("%-10s %d slots on host %s, fetching queue %s", h.Name, p.WorkerConcurrency, hostWhere(h), st.Queue))
	}
	return s, nil
}

func hostWhere(h *hosts.Host) string {
	if h.NS == "" {
		return h.Addr
	}
	return h.Addr + " (network namespace " + h.NS + ")"
}

func rttText(l netem.LinkHandle) string {
	s := l.Spec()
	t := "RTT " + fmtDur(s.RTT)
	if s.Jitter > 0 {
		t += ", jitter " + fmtDur(s.Jitter)
	}
	return t
}

// Close stops every part and removes the hosts.
func (s *Standing) Close() { s.st.Close() }
