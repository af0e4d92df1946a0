package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/wfbench/wfbench/bench"
	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/reports"
)

// Scenario is a parsed scenario file: the runs it expands to and what it expects of them.
type Scenario struct {
	Name        string
	Description string
	Source      string // file path, or "built-in"
	Count       int    // repetitions of each run (1 unless the file says)

	base         map[string]valueAt
	baseLine     int
	overrides    map[string]valueAt // --set, over everything else
	matrix       []axis
	runs         []runDef
	phases       []phaseDef
	quick        *quickDef
	Expectations []*Expectation
	Estimates    []*EstimateDef
}

// valueAt is a setting's value as written, with where it was written.
type valueAt struct {
	values []string // one, or several for a list (link)
	line   int
}

type axis struct {
	key    string
	values []valueAt
	line   int
}

type runDef struct {
	name     string
	settings map[string]valueAt
	order    []string
	phases   []phaseDef // the run's own, after the scenario's
	line     int
}

type phaseDef struct {
	phase bench.Phase
	line  int
}

type quickDef struct {
	base   map[string]valueAt
	matrix []axis
	count  int
}

// EstimateDef is an earlier analysis' figure to print beside the measurement.
type EstimateDef struct {
	line      int
	Of        string
	of        operand
	Low, High float64
	Says, Why string
	// Tolerance: how far (as a fraction) a point estimate may be from the measured value
	// and still agree.
	Tolerance float64
}

// Keys of a scenario file, by section.
var (
	topKeys      = []string{"name", "description", "count", "base", "matrix", "runs", "phases", "quick", "expect", "estimates"}
	quickKeys    = []string{"base", "matrix", "count"}
	phaseKeys    = []string{"link", "at", "for", "latency", "jitter", "bandwidth", "fault"}
	estimateKeys = []string{"of", "value", "says", "why", "tolerance"}
)

// FileError is an error at a line of a scenario file.
type FileError struct {
	File string
	Line int
	Err  error
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// ParseScenario parses a scenario file's YAML. source names it in errors. Every error
// found is returned, each with its line.
func ParseScenario(source string, data []byte) (*Scenario, error) {
	top, err := parseYAML(source, data)
	if err != nil {
		return nil, err
	}
	sc := &Scenario{Source: source, Count: 1}
	var errs []error
	sc.read(top, func(line int, format string, a ...any) {
		errs = append(errs, &FileError{File: source, Line: line, Err: fmt.Errorf(format, a...)})
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := sc.checkPlans(); err != nil {
		return nil, err
	}
	return sc, nil
}

// parseYAML decodes a scenario file into its top node, anchors and aliases expanded.
func parseYAML(source string, data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) { // EOF: empty, below
		// The parser says "yaml: line N: ..."; the line goes where every other error has it.
		msg, line := err.Error(), 0
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = strings.Replace(msg, m[0], "", 1)
		}
		return nil, &FileError{File: source, Line: line, Err: fmt.Errorf("not valid YAML: %s", strings.TrimPrefix(msg, "yaml: "))}
	}
	if len(doc.Content) == 0 {
		return nil, &FileError{File: source, Err: errors.New("empty file; a scenario needs at least a name and a base or runs (see 'wfbench scenario show seed')")}
	}
	budget := maxNodes
	top := expandAliases(doc.Content[0], &budget)
	if top == nil {
		return nil, &FileError{File: source, Err: fmt.Errorf("anchors and aliases expand to more than %d nodes", maxNodes)}
	}
	return top, nil
}

// read fills the scenario from the file's top mapping, section by section in the order
// errors are reported.
func (sc *Scenario) read(top *yaml.Node, at reporter) {
	fields := mapping(top, "the scenario", topKeys, at)
	if n := fields["name"]; n != nil {
		sc.Name = scalar(n, "name", at)
	}
	if sc.Name == "" {
		at(top.Line, "name: missing; give the scenario a name, e.g. name: my-check")
	}
	if n := fields["description"]; n != nil {
		sc.Description = scalar(n, "description", at)
	}
	if n := fields["count"]; n != nil {
		sc.Count = count(n, at)
	}
	if n := fields["base"]; n != nil {
		sc.base = settingsMap(n, "base", at)
		for _, k := range orderedKeys(top) {
			if k.Value == "base" {
				sc.baseLine = k.Line // the base: key
			}
		}
	}
	if n := fields["matrix"]; n != nil {
		sc.matrix = matrixOf(n, at)
	}
	if n := fields["runs"]; n != nil {
		sc.runs = runsOf(n, at)
	}
	if n := fields["phases"]; n != nil {
		sc.phases = phasesOf(n, at)
	}
	if n := fields["quick"]; n != nil {
		sc.quick = quickOf(n, at)
	}
	if n := fields["expect"]; n != nil {
		sc.Expectations = expectationsOf(n, at)
	}
	if n := fields["estimates"]; n != nil {
		sc.Estimates = estimatesOf(n, at)
	}
}

func quickOf(n *yaml.Node, at reporter) *quickDef {
	q := &quickDef{}
	qf := mapping(n, "quick", quickKeys, at)
	if b := qf["base"]; b != nil {
		q.base = settingsMap(b, "quick.base", at)
	}
	if m := qf["matrix"]; m != nil {
		q.matrix = matrixOf(m, at)
	}
	if c := qf["count"]; c != nil {
		q.count = count(c, at)
	}
	return q
}

func expectationsOf(n *yaml.Node, at reporter) []*Expectation {
	var out []*Expectation
	for _, item := range sequence(n, "expect", at) {
		text := scalar(item, "expect", at)
		e, err := ParseExpectation(text)
		if err != nil {
			at(item.Line, "expect %q: %v", text, err)
			continue
		}
		e.line = item.Line
		out = append(out, e)
	}
	return out
}

func estimatesOf(n *yaml.Node, at reporter) []*EstimateDef {
	var out []*EstimateDef
	for _, item := range sequence(n, "estimates", at) {
		if e := estimateOf(item, at); e != nil {
			e.line = item.Line
			out = append(out, e)
		}
	}
	return out
}

// checkPlans expands the scenario once (and its quick override) to check every run's
// settings together (ranges, combinations), and that expectations and estimates select
// runs the scenario has: a typo in a selector would otherwise fail only after every run
// was measured.
func (sc *Scenario) checkPlans() error {
	for _, quick := range []bool{false, true} {
		if quick && sc.quick == nil {
			continue
		}
		plan, err := sc.Plan(quick)
		if err != nil {
			return err
		}
		groups := plannedGroups(plan)
		var bad []error
		for _, e := range sc.Expectations {
			if why := e.unselectable(groups); why != "" {
				bad = append(bad, &FileError{File: sc.Source, Line: e.line, Err: fmt.Errorf("expect %q%s: %s", e.Text, quickWord(quick), why)})
			}
		}
		for _, e := range sc.Estimates {
			if why := e.of.unselectable(groups, selectors{}); why != "" {
				bad = append(bad, &FileError{File: sc.Source, Line: e.line, Err: fmt.Errorf("estimate of %q%s: %s", e.Of, quickWord(quick), why)})
			}
		}
		if len(bad) > 0 {
			return errors.Join(bad...)
		}
	}
	return nil
}

// plannedGroups are the groups the planned runs will form, for selection alone.
func plannedGroups(plan []PlannedRun) []*group {
	runs := make([]reports.Run, len(plan))
	for i, p := range plan {
		runs[i] = reports.Run{Name: p.Config.Name, Params: p.Params, Config: bench.ResultConfig(p.Config)}
	}
	return groupRuns(runs)
}

// DropInapplicable removes the expectations and estimates that select no run of the
// plan (after --set changed the runs) and returns what was dropped.
func (sc *Scenario) DropInapplicable(quick bool) ([]string, error) {
	plan, err := sc.Plan(quick)
	if err != nil {
		return nil, err
	}
	groups := plannedGroups(plan)
	var dropped []string
	sc.Expectations = slices.DeleteFunc(sc.Expectations, func(e *Expectation) bool {
		if why := e.unselectable(groups); why != "" {
			dropped = append(dropped, fmt.Sprintf("expect %q: %s", e.Text, why))
			return true
		}
		return false
	})
	sc.Estimates = slices.DeleteFunc(sc.Estimates, func(e *EstimateDef) bool {
		if why := e.of.unselectable(groups, selectors{}); why != "" {
			dropped = append(dropped, fmt.Sprintf("estimate of %q: %s", e.Of, why))
			return true
		}
		return false
	})
	return dropped, nil
}

type reporter func(line int, format string, a ...any)

// mapping returns a mapping's fields by key, reporting unknown and repeated keys.
func mapping(n *yaml.Node, what string, allowed []string, at reporter) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		at(n.Line, "%s: expected a mapping of keys (%s)", what, strings.Join(allowed, ", "))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case !slices.Contains(allowed, k.Value):
			at(k.Line, "%s", unknown("key", k.Value, allowed)+" (in "+what+")")
		case out[k.Value] != nil:
			at(k.Line, "key %q given twice in %s", k.Value, what)
		default:
			out[k.Value] = v
		}
	}
	return out
}

// orderedKeys returns a mapping's keys in file order.
func orderedKeys(n *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i])
	}
	return out
}

func scalar(n *yaml.Node, what string, at reporter) string {
	if n.Kind != yaml.ScalarNode {
		at(n.Line, "%s: expected a single value", what)
		return ""
	}
	return n.Value
}

func sequence(n *yaml.Node, what string, at reporter) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		at(n.Line, "%s: expected a list (- item per line)", what)
		return nil
	}
	return n.Content
}

func count(n *yaml.Node, at reporter) int {
	v, err := strconv.Atoi(scalar(n, "count", at))
	if err != nil || v < 1 || v > MaxCount {
		at(n.Line, "count %q: accepted is an integer from 1 to %d", n.Value, MaxCount)
		return 1
	}
	return v
}

// MaxCount bounds repetitions of a run.
const MaxCount = 100

// settingValues reads one setting's value (a list for link), checking it parses.
func settingValues(key *yaml.Node, n *yaml.Node, at reporter) (valueAt, bool) {
	s, ok := bench.LookupSetting(key.Value)
	if !ok {
		at(key.Line, "%s", unknown("setting", key.Value, bench.SettingKeys()))
		return valueAt{}, false
	}
	v := valueAt{line: n.Line}
	switch {
	case n.Kind == yaml.ScalarNode:
		v.values = []string{n.Value}
	case n.Kind == yaml.SequenceNode && s.List:
		for _, item := range n.Content {
			v.values = append(v.values, scalar(item, "link", at))
		}
	default:
		at(n.Line, "%s: expected a single value (%s)", s.Key, s.Accept)
		return v, false
	}
	for _, x := range v.values {
		if _, err := canonical(s.Key, x); err != nil {
			at(n.Line, "%v", err)
			return v, false
		}
	}
	return v, true
}

func settingsMap(n *yaml.Node, what string, at reporter) map[string]valueAt {
	out := map[string]valueAt{}
	if n.Kind != yaml.MappingNode {
		at(n.Line, "%s: expected settings (KEY: VALUE), keys: %s", what, strings.Join(bench.SettingKeys(), ", "))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if _, dup := out[k.Value]; dup {
			at(k.Line, "setting %q given twice in %s", k.Value, what)
			continue
		}
		if v, ok := settingValues(k, n.Content[i+1], at); ok {
			out[k.Value] = v
		}
	}
	return out
}

func matrixOf(n *yaml.Node, at reporter) []axis {
	if n.Kind != yaml.MappingNode {
		at(n.Line, "matrix: expected settings with a list of values each, e.g. rtt: [1ms, 100ms]")
		return nil
	}
	var out []axis
	for i, k := range orderedKeys(n) {
		v := n.Content[2*i+1]
		if _, ok := bench.LookupSetting(k.Value); !ok {
			at(k.Line, "%s", unknown("setting", k.Value, bench.SettingKeys())+" (in matrix)")
			continue
		}
		if slices.ContainsFunc(out, func(a axis) bool { return a.key == k.Value }) {
			at(k.Line, "setting %q given twice in matrix", k.Value)
			continue
		}
		ax := axis{key: k.Value, line: k.Line}
		items := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			items = v.Content
		}
		if len(items) == 0 {
			at(v.Line, "matrix %s: no values", k.Value)
			continue
		}
		for _, item := range items {
			if val, ok := settingValues(k, item, at); ok {
				ax.values = append(ax.values, val)
			}
		}
		out = append(out, ax)
	}
	return out
}

func runsOf(n *yaml.Node, at reporter) []runDef {
	var out []runDef
	for _, item := range sequence(n, "runs", at) {
		rd := runDef{settings: map[string]valueAt{}, line: item.Line}
		if item.Kind != yaml.MappingNode {
			at(item.Line, "runs: each run is a mapping of settings (and an optional name)")
			continue
		}
		seen := map[string]bool{}
		for i, k := range orderedKeys(item) {
			v := item.Content[2*i+1]
			if (k.Value == "name" || k.Value == "phases") && seen[k.Value] {
				at(k.Line, "key %q given twice in this run", k.Value)
				continue
			}
			seen[k.Value] = true
			switch k.Value {
			case "name":
				rd.name = scalar(v, "name", at)
				continue
			case "phases":
				rd.phases = phasesOf(v, at)
				continue
			}
			if _, dup := rd.settings[k.Value]; dup {
				at(k.Line, "setting %q given twice in this run", k.Value)
				continue
			}
			if _, known := bench.LookupSetting(k.Value); !known {
				at(k.Line, "%s", unknown("key", k.Value, append([]string{"name", "phases"}, bench.SettingKeys()...))+" (in a run)")
				continue
			}
			if val, ok := settingValues(k, v, at); ok {
				rd.settings[k.Value] = val
				rd.order = append(rd.order, k.Value)
			}
		}
		out = append(out, rd)
	}
	return out
}

func phasesOf(n *yaml.Node, at reporter) []phaseDef {
	var out []phaseDef
	for _, item := range sequence(n, "phases", at) {
		f := mapping(item, "a phase", phaseKeys, at)
		p := bench.Phase{}
		dur := func(key string) time.Duration {
			v := f[key]
			if v == nil {
				return 0
			}
			d, err := netem.ParseDuration(scalar(v, key, at))
			if err != nil {
				at(v.Line, "phase %s %q: accepted is a duration, e.g. 2s or 500ms", key, v.Value)
			}
			return d
		}
		if v := f["link"]; v != nil {
			p.Link = scalar(v, "link", at)
			if !slices.Contains(netem.LinkNames, p.Link) && p.Link != bench.PartFaktory && p.Link != bench.PartAPI && p.Link != bench.PartRedis && !bench.IsWorkerHostName(p.Link) {
				at(v.Line, "phase link %q: accepted values are %s, or the parts %s, %s (fault restart), %s (fault kill), worker-N (fault kill, with hosts)", p.Link, strings.Join(netem.LinkNames, ", "), bench.PartFaktory, bench.PartAPI, bench.PartRedis)
			}
		} else {
			at(item.Line, "phase: link missing; one of %s", strings.Join(netem.LinkNames, ", "))
		}
		p.At, p.For = dur("at"), dur("for")
		p.Condition.Latency, p.Condition.Jitter = dur("latency"), dur("jitter")
		if v := f["bandwidth"]; v != nil {
			b, err := ParseBandwidth(scalar(v, "bandwidth", at))
			if err != nil {
				at(v.Line, "phase bandwidth %q: %v", v.Value, err)
			}
			p.Condition.Bandwidth = b
		}
		var faultErr error
		if v := f["fault"]; v != nil {
			faultErr = p.Condition.ParseFault(scalar(v, "fault", at))
		}
		if faultErr != nil && !slices.Contains(netem.FaultNames, p.Condition.Fault) {
			at(item.Line, "phase: unknown fault %q (accepted: %s)", p.Condition.Fault, netem.FaultForms)
		} else if faultErr != nil {
			at(item.Line, "phase %v", faultErr)
		} else if err := p.Condition.Validate(); err != nil {
			at(item.Line, "phase: %v", err)
		}
		out = append(out, phaseDef{phase: p, line: item.Line})
	}
	return out
}

// ParseBandwidth reads a rate in bytes per second: "64KB/s", "1MB/s", "500000" (B/s).
func ParseBandwidth(s string) (int64, error) { return netem.ParseRate(s) }

func estimateOf(n *yaml.Node, at reporter) *EstimateDef {
	f := mapping(n, "an estimate", estimateKeys, at)
	e := &EstimateDef{Tolerance: 0.15}
	of, val := f["of"], f["value"]
	if of == nil || val == nil {
		at(n.Line, "estimate: needs of (a metric, e.g. throughput(rtt=100ms, batch=1)) and value (e.g. 9.8, or 2s..4s)")
		return nil
	}
	e.Of = scalar(of, "of", at)
	p := &parser{toks: tokenize(e.Of)}
	var err error
	if e.of, err = p.operand(); err != nil || p.peek() != "" {
		if err == nil {
			err = fmt.Errorf("unexpected %q", p.peek())
		}
		at(of.Line, "estimate of %q: %v", e.Of, err)
		return nil
	}
	unit := e.of.m.unit
	if e.of.denom != nil {
		unit = ""
	}
	text := scalar(val, "value", at)
	lo, hi, ok := strings.Cut(text, "..")
	if e.Low, err = quantity(strings.TrimSuffix(lo, "x"), unit); err == nil {
		e.High = e.Low
		if ok {
			e.High, err = quantity(strings.TrimSuffix(hi, "x"), unit)
		}
	}
	if err == nil && e.Low > e.High {
		err = errors.New("the range's low end is above its high end; write LOW..HIGH, e.g. 250..500")
	}
	if err != nil {
		at(val.Line, "estimate value %q: %v", text, err)
		return nil
	}
	if v := f["says"]; v != nil {
		e.Says = scalar(v, "says", at)
	}
	if v := f["why"]; v != nil {
		e.Why = scalar(v, "why", at)
	}
	if v := f["tolerance"]; v != nil {
		t, err := quantity(scalar(v, "tolerance", at), "")
		if err != nil || t < 0 {
			at(v.Line, "estimate tolerance %q: accepted is a fraction or a percentage, e.g. 15%%", v.Value)
		}
		e.Tolerance = t
	}
	return e
}

// PlannedRun is one run of a scenario: its configuration and the parameters that set it
// apart from the scenario's other runs.
type PlannedRun struct {
	Config bench.RunConfig
	Params map[string]string
}

// Plan expands the scenario into its runs: the explicit runs, else the matrix product
// (first key outermost), else the base alone. quick applies the file's quick override.
func (sc *Scenario) Plan(quick bool) ([]PlannedRun, error) {
	var out []PlannedRun
	var errs []error
	names := map[string]int{}
	matrix := sc.sweep(quick)
	if n := sc.runCount(matrix); n > MaxRuns {
		return nil, &FileError{File: sc.Source, Line: sc.matrixLine(matrix), Err: fmt.Errorf(
			"the matrix expands to %s runs (its axes' value counts multiplied, times the explicit runs); accepted are at most %d: sweep fewer values, or split the file", fmtCount(n), MaxRuns)}
	}
	for _, c := range sc.combos(matrix) {
		line := c.line
		if line == 0 {
			line = sc.baseLine // no matrix value or run to point at: the base
		}
		cfg := sc.configure(c, quick)
		var params map[string]string
		cfg.Name, params = c.identity(cfg)
		if prev, dup := names[cfg.Name]; dup {
			errs = append(errs, &FileError{File: sc.Source, Line: line, Err: fmt.Errorf("two runs are both named %q (the other at line %d); give each run its own name", cfg.Name, prev)})
		}
		names[cfg.Name] = line
		if err := cfg.ValidateAs(bench.KeyNames); err != nil {
			errs = append(errs, &FileError{File: sc.Source, Line: line, Err: fmt.Errorf("run %q%s: %w", cfg.Name, quickWord(quick), err)})
			continue
		}
		out = append(out, PlannedRun{Config: cfg, Params: params})
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, &FileError{File: sc.Source, Err: errors.New("no runs: give base, matrix or runs")})
	}
	return out, errors.Join(errs...)
}

// combo is one run of a plan before its configuration is settled: the settings it sets
// over the base, and what names it.
type combo struct {
	set    map[string]valueAt
	order  []string // matrix keys, then the explicit run's own
	axes   int      // how many of order are matrix keys
	name   string
	phases []phaseDef
	line   int
}

// sweep is the matrix the plan sweeps: the file's, with the quick override's axes over
// it under quick. An override of a swept setting leaves one value on that axis, not
// several runs that all have the same value.
func (sc *Scenario) sweep(quick bool) []axis {
	matrix := sc.matrix
	if quick && sc.quick != nil {
		matrix = slices.Clone(matrix)
		for _, qa := range sc.quick.matrix {
			if i := slices.IndexFunc(matrix, func(a axis) bool { return a.key == qa.key }); i >= 0 {
				matrix[i] = qa
			} else {
				matrix = append(matrix, qa)
			}
		}
	}
	var swept []axis
	for _, a := range matrix {
		if v, ok := sc.overrides[a.key]; ok {
			a.values = []valueAt{{values: v.values, line: a.line}}
		}
		swept = append(swept, a)
	}
	return swept
}

// MaxRuns bounds a scenario's runs: a matrix is a product, and a few short lines of YAML
// would otherwise plan (and allocate) millions of runs before anything is checked. A
// thousand runs of the shortest kind already take hours to measure.
const MaxRuns = 1000

// runCount is how many runs the matrix and the explicit runs make, counted without
// building them (saturating, so no product overflows).
func (sc *Scenario) runCount(matrix []axis) float64 {
	n := float64(max(len(sc.runs), 1))
	for _, ax := range matrix {
		n *= float64(len(ax.values))
	}
	return n
}

// matrixLine is where the file's matrix starts, for an error about its size.
func (sc *Scenario) matrixLine(matrix []axis) int {
	if len(matrix) > 0 {
		return matrix[0].line
	}
	return sc.baseLine
}

func fmtCount(n float64) string {
	if n < 1e9 {
		return fmt.Sprintf("%.0f", n)
	}
	return fmt.Sprintf("%.3g", n)
}

// combos is the matrix product (first key outermost), times the explicit runs when the
// file has any.
func (sc *Scenario) combos(matrix []axis) []combo {
	combos := []combo{{set: map[string]valueAt{}}}
	for _, ax := range matrix {
		var next []combo
		for _, c := range combos {
			for _, v := range ax.values {
				s := merge(c.set, map[string]valueAt{ax.key: v})
				next = append(next, combo{set: s, order: append(slices.Clone(c.order), ax.key), axes: len(c.order) + 1, line: v.line})
			}
		}
		combos = next
	}
	if len(sc.runs) == 0 {
		return combos
	}
	var withRuns []combo
	for _, c := range combos {
		for _, r := range sc.runs {
			order := slices.Clone(c.order)
			for _, k := range r.order {
				if !slices.Contains(order, k) {
					order = append(order, k)
				}
			}
			withRuns = append(withRuns, combo{set: merge(c.set, r.settings), order: order, axes: c.axes, name: r.name, phases: r.phases, line: r.line})
		}
	}
	return withRuns
}

// configure settles a combination's run configuration from the defaults up, layer by
// layer: the base, the combination's own settings, the quick base, the --set overrides.
func (sc *Scenario) configure(c combo, quick bool) bench.RunConfig {
	cfg := bench.Default()
	var quickBase map[string]valueAt
	if quick && sc.quick != nil {
		quickBase = sc.quick.base // last: it overrides the runs' own settings too
	}
	for layer, src := range []map[string]valueAt{sc.base, c.set, quickBase, sc.overrides} {
		for _, s := range bench.Settings() { // settings order: deterministic
			v, ok := src[s.Key]
			if !ok {
				continue
			}
			if s.List && layer > 0 {
				s.Reset(&cfg) // a run's list (links, phases) replaces the base's
			}
			for _, x := range v.values {
				_ = s.Set(&cfg, x) // checked while parsing
			}
		}
	}
	all := merge(merge(merge(sc.base, c.set), quickBase), sc.overrides)
	cfg.Implied(func(key string) bool { _, ok := all[key]; return ok })
	for _, p := range append(slices.Clone(sc.phases), c.phases...) {
		cfg.Phases = append(cfg.Phases, p.phase)
	}
	return cfg
}

// identity is the name of the run cfg settles a combination into, and its parameters:
// the settings that set it apart from the scenario's other runs (canonical, from cfg)
// and the explicit run's name. Without either the name derives from the settings.
func (c combo) identity(cfg bench.RunConfig) (string, map[string]string) {
	params := map[string]string{}
	var nameParts []string
	for i, k := range c.order {
		s, _ := bench.LookupSetting(k)
		params[k] = s.Get(cfg)
		if c.name == "" || i < c.axes {
			nameParts = append(nameParts, k+"="+params[k])
		}
	}
	if c.name != "" {
		params["run"] = c.name
		nameParts = append([]string{c.name}, nameParts...)
	}
	if len(nameParts) == 0 {
		return cfg.DisplayName(), params
	}
	return strings.Join(nameParts, " "), params
}

var yamlLine = regexp.MustCompile(`line (\d+): `)

// Repetitions is how many times each run is measured: --count, else the file's (its
// quick one under --quick).
func (sc *Scenario) Repetitions(quick bool, flag int) int {
	switch {
	case flag > 0:
		return flag
	case quick && sc.quick != nil && sc.quick.count > 0:
		return sc.quick.count
	}
	return sc.Count
}

func quickWord(quick bool) string {
	if quick {
		return " (quick)"
	}
	return ""
}

func merge(a, b map[string]valueAt) map[string]valueAt {
	out := make(map[string]valueAt, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// Info is the scenario as the result records it.
func (sc *Scenario) Info(quick bool, count int) *reports.Scenario {
	return &reports.Scenario{Name: sc.Name, Description: sc.Description, Source: sc.Source, Quick: quick, Count: count}
}

// Estimate compares an estimate with the measured runs.
func (e *EstimateDef) Estimate(runs []reports.Run) reports.Estimate {
	out := reports.Estimate{Of: e.Of, Unit: e.of.m.unit, Low: e.Low, High: e.High, Says: e.Says, Why: e.Why}
	if e.of.denom != nil {
		out.Unit = "x"
	}
	v, _, err := e.of.eval(groupRuns(runs), selectors{})
	if err != nil {
		return out
	}
	out.Measured, out.Found = v, true
	out.Basis = basis(groupRuns(runs), &e.of)
	lo, hi := e.Low, e.High
	if lo == hi {
		lo, hi = lo*(1-e.Tolerance), hi*(1+e.Tolerance)
	}
	out.Agrees = v >= lo && v <= hi
	return out
}

// basis explains the per-call cost behind an estimate's runs: the enqueue p50 split into
// the links' measured RTT and the local work beyond it, which is what estimates of
// enqueue throughput assume.
func basis(groups []*group, o *operand) string {
	var parts []string
	for ; o != nil; o = o.denom {
		if !o.m.callCost && o.arg != reports.PointEnqueue {
			continue
		}
		for _, g := range groups {
			if !g.matches(o.sel) {
				continue
			}
			r := g.runs[0]
			enq, ok := r.LatencyMS[reports.PointEnqueue]
			if !ok || enq.Count == 0 {
				continue
			}
			rtt := r.Model.MeasuredEnqueueRTTMS
			jobs := "1 job"
			if r.Config.Batch != 1 {
				jobs = fmt.Sprintf("%d jobs", r.Config.Batch)
			}
			parts = append(parts, fmt.Sprintf("%s: enqueue p50 %.2f ms per call of %s = %.2f ms measured RTT + %.2f ms local work",
				g.name, enq.P50, jobs, rtt, enq.P50-rtt))
			break
		}
	}
	return strings.Join(parts, "; ")
}

// unknown describes an unknown key with the valid ones, and the likely one when the key
// is a misspelling of it.
func unknown(kind, key string, valid []string) string {
	msg := fmt.Sprintf("unknown %s %q", kind, key)
	best, bestD := "", 3
	for _, v := range valid {
		if d := editDistance(key, v); d < bestD {
			best, bestD = v, d
		}
	}
	if best != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", best)
	}
	return msg + fmt.Sprintf("; valid %ss: %s", kind, strings.Join(valid, ", "))
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// Override sets a run setting in every run, over the file's own values (the CLI's
// --set KEY=VALUE), e.g. to point a scenario at an external Faktory. A link override
// replaces the runs' links; give --set link=... once per link.
func (sc *Scenario) Override(kv string) error {
	key, value, ok := strings.Cut(kv, "=")
	if !ok || key == "" {
		return fmt.Errorf("--set %q: accepted form is KEY=VALUE, e.g. rtt=20ms; keys: %s", kv, strings.Join(bench.SettingKeys(), ", "))
	}
	s, known := bench.LookupSetting(key)
	if !known {
		return fmt.Errorf("--set %s", unknown("setting", key, bench.SettingKeys()))
	}
	if _, err := canonical(key, value); err != nil {
		return fmt.Errorf("--set %w", err)
	}
	if sc.overrides == nil {
		sc.overrides = map[string]valueAt{}
	}
	v := sc.overrides[key]
	if s.List {
		v.values = append(v.values, value)
	} else {
		v.values = []string{value}
	}
	sc.overrides[key] = v
	return nil
}

// maxNodes bounds what anchors and aliases may expand to (a file of a few aliases can
// otherwise name billions of nodes).
const maxNodes = 100_000

// expandAliases returns n with every alias replaced by a copy of what it names and every
// merge key ("<<: *base") merged into its mapping (keys written beside it win), so the
// rest of the parser sees plain nodes with their lines. nil: over budget.
func expandAliases(n *yaml.Node, budget *int) *yaml.Node {
	if *budget--; *budget < 0 {
		return nil
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return expandAliases(n.Alias, budget)
	}
	if len(n.Content) == 0 {
		return n
	}
	out := *n
	out.Content = nil
	for i := 0; i < len(n.Content); i++ {
		c := n.Content[i]
		if n.Kind == yaml.MappingNode && i%2 == 0 && c.Value == "<<" && i+1 < len(n.Content) {
			merged := expandAliases(n.Content[i+1], budget)
			if merged == nil {
				return nil
			}
			i++
			if merged.Kind != yaml.MappingNode {
				continue // reported by the mapping check as a bad value
			}
			for j := 0; j+1 < len(merged.Content); j += 2 {
				if !hasKey(n, merged.Content[j].Value) {
					out.Content = append(out.Content, merged.Content[j], merged.Content[j+1])
				}
			}
			continue
		}
		e := expandAliases(c, budget)
		if e == nil {
			return nil
		}
		out.Content = append(out.Content, e)
	}
	return &out
}

func hasKey(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return true
		}
	}
	return false
}

// canonical returns a setting's value in canonical form ("0.1s" → "100ms"); an explicit
// run's name ("run") is kept as written.
func canonical(key, v string) (string, error) {
	if key == "run" {
		return v, nil
	}
	return bench.Canonical(key, v)
}
