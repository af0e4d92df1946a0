package netem

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The named links of the reference system (DESIGN.md §3).
const (
	ClientAPI     = "client-api"     // load driver → API
	APIFaktory    = "api-faktory"    // API → Faktory
	ClientFaktory = "client-faktory" // load driver → Faktory (target faktory)
	WorkerFaktory = "worker-faktory" // worker → Faktory
)

// LinkNames lists every link, in path order.
var LinkNames = []string{ClientAPI, APIFaktory, ClientFaktory, WorkerFaktory}

// Topologies and the links that cross the WAN in each.
var topologies = map[string][]string{
	// The analysed deployment: API co-located with Faktory, clients and workers remote.
	"central": {ClientAPI, ClientFaktory, WorkerFaktory},
	// The API apart from Faktory too (DESIGN §3: split "also puts api-faktory across"
	// the WAN): every link crosses it, and an enqueue through the API pays two RTTs.
	"split": {ClientAPI, APIFaktory, ClientFaktory, WorkerFaktory},
}

// TopologyNames lists the accepted --topology values.
func TopologyNames() []string {
	names := make([]string, 0, len(topologies))
	for n := range topologies {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Plan returns the spec of every link: WAN links take rtt and jitter, the others none;
// overrides (from --link) replace single links.
func Plan(topology string, rtt, jitter time.Duration, overrides []Spec) (map[string]Spec, error) {
	wan, ok := topologies[topology]
	if !ok {
		return nil, fmt.Errorf("unknown topology %q: accepted values are %s", topology, strings.Join(TopologyNames(), ", "))
	}
	plan := make(map[string]Spec, len(LinkNames))
	for _, n := range LinkNames {
		s := Spec{Name: n}
		if slices.Contains(wan, n) {
			s.RTT, s.Jitter = rtt, jitter
		}
		plan[n] = s
	}
	for _, o := range overrides {
		if _, ok := plan[o.Name]; !ok {
			return nil, fmt.Errorf("unknown link %q: accepted names are %s", o.Name, strings.Join(LinkNames, ", "))
		}
		plan[o.Name] = o
	}
	return plan, nil
}

// String is the --link form of the spec.
func (s Spec) String() string {
	out := s.Name + "=" + s.RTT.String()
	if s.Jitter > 0 {
		out += ",jitter=" + s.Jitter.String()
	}
	return out
}

// ParseLink parses a --link value: NAME=RTT[,jitter=DURATION], e.g.
// "api-faktory=20ms,jitter=2ms".
func ParseLink(s string) (Spec, error) {
	const form = "NAME=RTT[,jitter=DURATION], e.g. api-faktory=20ms,jitter=2ms"
	name, rest, ok := strings.Cut(s, "=")
	if !ok || name == "" || rest == "" {
		return Spec{}, fmt.Errorf("invalid --link %q: want %s", s, form)
	}
	if !slices.Contains(LinkNames, name) {
		return Spec{}, fmt.Errorf("invalid --link %q: unknown link %q, accepted names are %s", s, name, strings.Join(LinkNames, ", "))
	}
	parts := strings.Split(rest, ",")
	rtt, err := ParseDuration(parts[0])
	if err != nil {
		return Spec{}, fmt.Errorf("invalid --link %q: RTT: %w (want %s)", s, err, form)
	}
	spec := Spec{Name: name, RTT: rtt}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "jitter":
			j, err := ParseDuration(v)
			if err != nil {
				return Spec{}, fmt.Errorf("invalid --link %q: jitter: %w", s, err)
			}
			spec.Jitter = j
		default:
			return Spec{}, fmt.Errorf("invalid --link %q: unknown option %q, accepted: jitter", s, k)
		}
	}
	return spec, nil
}

// ParseDuration accepts a non-negative Go duration ("100ms", "1.5s", "0").
func ParseDuration(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (accepted form: a number with a unit, e.g. 100ms, 1.5s, 250us)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative (accepted: 0 or more, e.g. 100ms)", s)
	}
	return d, nil
}
