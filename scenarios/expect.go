package scenarios

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/wfbench/wfbench/bench"
	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/reports"
)

// An expectation is a claim about measured runs that decides a scenario's exit code:
//
//	lost == 0                                        every run
//	p99(enqueue) < 150ms                             every run
//	p50(enqueue, rtt=100ms) <= 105ms                 the runs with rtt=100ms
//	throughput(batch=100) >= 10x throughput(batch=1) where rtt=100ms
//	lost(run!=redis-kill) == 0                       every run but redis-kill
//
// A relative one pairs each run on the left with the run on the right that has the same
// settings apart from those the two sides name.

// metric is a metric of the catalogue (reports.Metrics) as an operand holds it. unit and
// callCost repeat its Unit and CallCost for the estimates, which read them by these names.
type metric struct {
	*reports.Metric
	unit     string
	callCost bool
}

func lookupMetric(name string) (metric, error) {
	m, err := reports.LookupMetric(name)
	if err != nil {
		return metric{}, err
	}
	return metric{m, m.Unit, m.CallCost}, nil
}

var points = reports.TimingPoints

// operand is a metric over the runs its selectors pick, or a ratio of two operands.
type operand struct {
	m     metric
	arg   string    // timing point or link
	sel   selectors // canonical setting values
	denom *operand  // set for a ratio a / b
}

// selectors pick runs by their settings: KEY=VALUE (eq: the run has that canonical value)
// and KEY!=VALUE (ne: it has none of those values).
type selectors struct {
	eq map[string]string
	ne map[string][]string
}

// add records key op value (op "=" or "!=").
func (s *selectors) add(key, op, value string) {
	if op == "=" {
		if s.eq == nil {
			s.eq = map[string]string{}
		}
		s.eq[key] = value
		return
	}
	if s.ne == nil {
		s.ne = map[string][]string{}
	}
	s.ne[key] = append(s.ne[key], value)
}

// keys are the settings the selectors name, either way.
func (s selectors) keys() []string {
	var out []string
	for k := range s.eq {
		out = append(out, k)
	}
	for k := range s.ne {
		out = append(out, k)
	}
	return out
}

// Expectation is a parsed expectation.
type Expectation struct {
	Text   string
	left   operand
	op     string
	factor float64  // relative: left op factor × right
	right  *operand // nil: absolute, against value
	value  float64  // absolute: in the metric's unit
	where  selectors
	line   int // in its scenario file
}

// unselectable says why the operand cannot pick its runs among groups ("" when it can):
// a plain operand needs at least one run, each side of a ratio exactly one, and a negated
// selector must leave out some run (a misspelt run=... would otherwise select them all).
func (o *operand) unselectable(groups []*group, where selectors) string {
	for side := o; side != nil; side = side.denom {
		for _, s := range []selectors{side.sel, where} {
			for k, vs := range s.ne {
				for _, v := range vs {
					if !slices.ContainsFunc(groups, func(g *group) bool { return g.params[k] == v }) {
						return fmt.Sprintf("%s!=%s leaves out no run: no run of the scenario has %s=%s", k, v, k, v)
					}
				}
			}
		}
		n := 0
		for _, g := range groups {
			if g.matches(side.sel, where) {
				n++
			}
		}
		switch {
		case n == 0:
			return "no run of the scenario matches " + selString(side.sel, where)
		case n > 1 && (o.denom != nil):
			return fmt.Sprintf("%d runs match %s; a ratio needs one run on each side", n, selString(side.sel, where))
		}
	}
	return ""
}

// unselectable says why the expectation selects nothing it could check ("" if it can).
func (e *Expectation) unselectable(groups []*group) string {
	if why := e.left.unselectable(groups, e.where); why != "" || e.right == nil {
		return why
	}
	for _, g := range groups {
		if g.matches(e.left.sel, e.where) {
			if _, err := partner(groups, g, e); err == nil {
				return ""
			}
		}
	}
	return "no run on the left has a run to compare with on the right (" + selString(e.right.sel, e.where) + " with its other settings equal)"
}

var ops = []string{"<=", ">=", "==", "!=", "<", ">"}

var errRatioRelative = errors.New("a ratio compares against a plain number, not Nx another metric, e.g. throughput(rtt=1ms) / throughput(rtt=100ms) >= 10")

// ParseExpectation parses one expectation; errors give the accepted form.
func ParseExpectation(text string) (*Expectation, error) {
	p := &parser{toks: tokenize(text)}
	e := &Expectation{Text: strings.TrimSpace(text)}
	var err error
	if e.left, err = p.operand(); err != nil {
		return nil, err
	}
	e.op = p.next()
	if !slices.Contains(ops, e.op) {
		return nil, fmt.Errorf("expected a comparison (%s) after %s, got %q", strings.Join(ops, " "), e.left.m.Name, e.op)
	}
	// Right side: a quantity, or FACTOR x OPERAND.
	tok := p.next()
	if tok == "" {
		return nil, fmt.Errorf("expected a value after %s", e.op)
	}
	num, unit := splitNumber(tok)
	if num != "" && e.left.denom != nil && unit == "x" && (p.peek() == "" || p.peek() == "where") {
		tok, unit = num, "" // a ratio against "10x": the plain number
	}
	if num != "" && (unit == "x" || unit == "" && isTimes(p.peek())) {
		if e.left.denom != nil {
			return nil, errRatioRelative
		}
		if unit == "" {
			p.next()
		}
		e.factor, err = strconv.ParseFloat(num, 64)
		if err != nil {
			return nil, fmt.Errorf("factor %q: not a number", num)
		}
		r, err := p.operand()
		if err != nil {
			return nil, err
		}
		if r.denom != nil {
			return nil, errRatioRelative // Check would compare against its numerator alone
		}
		if r.m.Unit != e.left.m.Unit && r.denom == nil && e.left.denom == nil {
			return nil, fmt.Errorf("%s (%s) and %s (%s) are not in the same unit", e.left.m.Name, unitName(e.left.m.Unit), r.m.Name, unitName(r.m.Unit))
		}
		e.right = &r
	} else {
		unitOf := e.left.m.Unit
		if e.left.denom != nil {
			unitOf = ""
		}
		if e.value, err = quantity(tok, unitOf); err != nil {
			return nil, fmt.Errorf("%s %s %s: %w", e.left.m.Name, e.op, tok, err)
		}
	}
	if p.peek() == "where" {
		p.next()
		if e.where, err = p.selectors(); err != nil {
			return nil, err
		}
	}
	if t := p.next(); t != "" {
		return nil, fmt.Errorf("unexpected %q; the form is METRIC[(ARGS)] OP VALUE or METRIC[(ARGS)] OP Nx METRIC[(ARGS)], then optionally: where KEY=VALUE or KEY!=VALUE, ...", t)
	}
	return e, nil
}

type parser struct {
	toks []string
	i    int
}

func (p *parser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *parser) next() string {
	t := p.peek()
	if t != "" {
		p.i++
	}
	return t
}

func (p *parser) operand() (operand, error) {
	m, err := lookupMetric(p.next())
	if err != nil {
		return operand{}, err
	}
	name := m.Name // an alias reads as its metric's one name from here on
	o := operand{m: m}
	if p.peek() == "(" {
		p.next()
		for {
			tok := p.next()
			if tok == ")" {
				break
			}
			if tok == "" || tok == "," || tok == "(" {
				return o, fmt.Errorf("%s(...): unclosed or empty argument", name)
			}
			if op := p.peek(); op == "=" || op == "!=" {
				p.next()
				v := p.next()
				c, err := canonical(tok, v)
				if err != nil {
					return o, fmt.Errorf("%s(...): %w", name, err)
				}
				o.sel.add(tok, op, c)
			} else if err := o.setArg(tok); err != nil {
				return o, err
			}
			if p.peek() == "," {
				p.next()
			}
		}
	}
	switch {
	case o.m.Arg == reports.ArgPoint && o.arg == "":
		return o, fmt.Errorf("%s needs a timing point, e.g. %s(enqueue); points: %s", name, name, strings.Join(points, ", "))
	case o.m.Arg == reports.ArgLink && o.arg == "":
		return o, fmt.Errorf("%s needs a link, e.g. %s(client-api); links: %s", name, name, strings.Join(netem.LinkNames, ", "))
	}
	if p.peek() == "/" {
		p.next()
		d, err := p.operand()
		if err != nil {
			return o, err
		}
		o.denom = &d
	}
	return o, nil
}

func (o *operand) setArg(tok string) error {
	switch o.m.Arg {
	case reports.ArgPoint:
		if !slices.Contains(points, tok) {
			return fmt.Errorf("%s(%s): unknown timing point; points: %s", o.m.Name, tok, strings.Join(points, ", "))
		}
	case reports.ArgLink:
		if !slices.Contains(netem.LinkNames, tok) {
			return fmt.Errorf("%s(%s): unknown link; links: %s", o.m.Name, tok, strings.Join(netem.LinkNames, ", "))
		}
	default:
		return fmt.Errorf("%s(%s): %s takes only KEY=VALUE or KEY!=VALUE selectors, e.g. %s(batch=100) or %s(run!=redis-kill)", o.m.Name, tok, o.m.Name, o.m.Name, o.m.Name)
	}
	o.arg = tok
	return nil
}

func (p *parser) selectors() (selectors, error) {
	var out selectors
	for {
		k := p.next()
		op := p.next()
		if op != "=" && op != "!=" {
			return selectors{}, errors.New("where: expected KEY=VALUE or KEY!=VALUE, e.g. where rtt=100ms or where run!=redis-kill")
		}
		c, err := canonical(k, p.next())
		if err != nil {
			return selectors{}, fmt.Errorf("where: %w", err)
		}
		out.add(k, op, c)
		if t := p.peek(); t != "," && t != "and" {
			return out, nil
		}
		p.next()
	}
}

// tokenize splits on blanks and on the punctuation of the grammar.
func tokenize(s string) []string {
	var toks []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, cur.String())
			cur.Reset()
		}
	}
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			flush()
		case strings.ContainsRune("(),/×*", r):
			flush()
			if r == '×' || r == '*' {
				toks = append(toks, "x")
			} else {
				toks = append(toks, string(r))
			}
		case strings.ContainsRune("<>=!", r):
			flush()
			if i+1 < len(rs) && rs[i+1] == '=' {
				toks = append(toks, string(r)+"=")
				i++
			} else {
				toks = append(toks, string(r))
			}
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return toks
}

func isTimes(t string) bool { return t == "x" }

// splitNumber splits "150ms" into "150", "ms"; num is "" when tok does not start with one.
func splitNumber(tok string) (num, unit string) {
	i := 0
	for i < len(tok) && (tok[i] >= '0' && tok[i] <= '9' || tok[i] == '.' || tok[i] == '-' || tok[i] == '+' || tok[i] == 'e' && i > 0) {
		i++
	}
	return tok[:i], tok[i:]
}

// quantity converts a value to a metric's unit: durations to ms or s, percentages to
// fractions, byte sizes to bytes.
func quantity(tok, unit string) (float64, error) {
	num, suffix := splitNumber(tok)
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) {
		return 0, fmt.Errorf("not a number with a unit (e.g. 150ms, 9.5, 80%%)")
	}
	switch unit {
	case "ms", "s":
		if suffix == "" {
			return 0, fmt.Errorf("give a duration with its unit, e.g. 150ms or 2s")
		}
		d, err := netem.ParseDuration(tok)
		if err != nil {
			return 0, err
		}
		if unit == "ms" {
			return float64(d) / 1e6, nil
		}
		return d.Seconds(), nil
	case "B":
		mult := map[string]float64{"": 1, "B": 1, "KB": 1e3, "kB": 1e3, "MB": 1e6, "KiB": 1024, "MiB": 1 << 20}
		m, ok := mult[suffix]
		if !ok {
			return 0, fmt.Errorf("unit %q: accepted are B, KB, MB, KiB, MiB", suffix)
		}
		return v * m, nil
	}
	switch suffix {
	case "":
		return v, nil
	case "%":
		return v / 100, nil
	case "/s", "jobs/s":
		if unit == "jobs/s" {
			return v, nil
		}
	}
	return 0, fmt.Errorf("unit %q does not fit a value in %s", suffix, unitName(unit))
}

func unitName(u string) string {
	if u == "" {
		return "plain numbers"
	}
	return u
}

// group is one configuration: its repetitions.
type group struct {
	name   string
	runs   []*reports.Run
	params map[string]string // canonical settings
	// keys are the scenario parameters (matrix keys and explicit runs' own settings).
	keys map[string]bool
}

func groupRuns(runs []reports.Run) []*group {
	var out []*group
	byName := map[string]*group{}
	for i := range runs {
		r := &runs[i]
		g := byName[r.Name]
		if g == nil {
			g = &group{name: r.Name, params: bench.SettingsOf(r), keys: map[string]bool{}}
			for k := range r.Params {
				g.keys[k] = true
			}
			byName[r.Name] = g
			out = append(out, g)
		}
		g.runs = append(g.runs, r)
	}
	return out
}

func (g *group) matches(sels ...selectors) bool {
	for _, s := range sels {
		for k, v := range s.eq {
			if g.params[k] != v {
				return false
			}
		}
		for k, vs := range s.ne {
			if slices.Contains(vs, g.params[k]) {
				return false
			}
		}
	}
	return true
}

// value is the metric over the group's repetitions: their median.
func (o *operand) value(g *group) (float64, bool) {
	var vs []float64
	for _, r := range g.runs {
		if v, ok := o.m.Get(r, o.arg); ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return 0, false
	}
	slices.Sort(vs)
	if n := len(vs); n%2 == 0 {
		return (vs[n/2-1] + vs[n/2]) / 2, true
	}
	return vs[len(vs)/2], true
}

// eval computes the operand for the single group its selectors (and where) pick, or
// divides two such values for a ratio.
func (o *operand) eval(groups []*group, where selectors) (float64, string, error) {
	var picked []*group
	for _, g := range groups {
		if g.matches(o.sel, where) {
			picked = append(picked, g)
		}
	}
	if len(picked) != 1 {
		var names []string
		for _, g := range picked {
			names = append(names, g.name)
		}
		if len(picked) == 0 {
			return 0, "", fmt.Errorf("%s: no measured run matches %s", o.m.Name, selString(o.sel, where))
		}
		return 0, "", fmt.Errorf("%s: %d runs match %s (%s); add selectors to pick one", o.m.Name, len(picked), selString(o.sel, where), strings.Join(names, "; "))
	}
	v, ok := o.value(picked[0])
	if !ok {
		return 0, "", fmt.Errorf("%s: run %q has no such measurement", o.m.Name, picked[0].name)
	}
	if o.denom == nil {
		return v, picked[0].name, nil
	}
	d, dname, err := o.denom.eval(groups, where)
	if err != nil {
		return 0, "", err
	}
	if d == 0 {
		return 0, "", fmt.Errorf("%s of %q is 0: no ratio", o.denom.m.Name, dname)
	}
	return v / d, picked[0].name + " / " + dname, nil
}

func selString(sels ...selectors) string {
	var parts []string
	for _, s := range sels {
		for k, v := range s.eq {
			parts = append(parts, k+"="+v)
		}
		for k, vs := range s.ne {
			for _, v := range vs {
				parts = append(parts, k+"!="+v)
			}
		}
	}
	slices.Sort(parts)
	if len(parts) == 0 {
		return "(no selector)"
	}
	return strings.Join(parts, " ")
}

func compare(a float64, op string, b float64) bool {
	switch op {
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	case "==":
		return a == b
	case "!=":
		return a != b
	}
	return false
}

// Check evaluates the expectation over measured runs.
func (e *Expectation) Check(runs []reports.Run) reports.Expectation {
	out := reports.Expectation{Text: e.Text}
	groups := groupRuns(runs)
	fail := func(err error) reports.Expectation {
		out.Error, out.Pass = err.Error(), false
		if out.Measured == "" {
			out.Measured = "—"
		}
		return out
	}
	if e.left.denom != nil {
		// A ratio is one number: compare it once.
		v, name, err := e.left.eval(groups, e.where)
		if err != nil {
			return fail(err)
		}
		if e.right != nil {
			return fail(errRatioRelative)
		}
		pass := compare(v, e.op, e.value)
		out.Checks = []reports.Check{{Run: name, Value: v, Unit: "x", Pass: pass}}
		out.Pass, out.Measured = pass, fmt.Sprintf("%s (%s)", reports.FormatQuantity(v, "x"), name)
		return out
	}
	var worst *reports.Check
	for _, g := range groups {
		if !g.matches(e.left.sel, e.where) {
			continue
		}
		lv, ok := e.left.value(g)
		if !ok {
			return fail(fmt.Errorf("run %q has no %s measurement", g.name, e.left.m.Name))
		}
		c := reports.Check{Run: g.name, Value: lv, Unit: e.left.m.Unit}
		switch {
		case e.right == nil && e.left.m.Counter && len(g.runs) > 1:
			// Counts must hold in every repetition (one lost job in five runs is
			// not a median of zero): the check shows the worst.
			c.Pass = true
			for _, r := range g.runs {
				v, _ := e.left.m.Get(r, e.left.arg)
				ok := compare(v, e.op, e.value)
				if !ok && c.Pass || ok == c.Pass && worse(e.op, v, c.Value) || r == g.runs[0] {
					c.Value = v
				}
				c.Pass = c.Pass && ok
			}
		case e.right == nil:
			c.Pass = compare(lv, e.op, e.value)
		default:
			h, err := partner(groups, g, e)
			if err != nil {
				return fail(err)
			}
			rv, ok := e.right.value(h)
			if !ok || rv == 0 {
				return fail(fmt.Errorf("run %q has no usable %s measurement", h.name, e.right.m.Name))
			}
			c.Pass = compare(lv, e.op, e.factor*rv)
			c.Run, c.Value, c.Unit = g.name+" vs "+h.name, lv/rv, "x"
		}
		out.Checks = append(out.Checks, c)
		if worst == nil || !c.Pass && worst.Pass || c.Pass == worst.Pass && worse(e.op, c.Value, worst.Value) {
			cc := c
			worst = &cc
		}
	}
	if worst == nil {
		return fail(fmt.Errorf("no measured run matches %s", selString(e.left.sel, e.where)))
	}
	out.Pass = !slices.ContainsFunc(out.Checks, func(c reports.Check) bool { return !c.Pass })
	out.Measured = fmt.Sprintf("%s (%s)", reports.FormatQuantity(worst.Value, worst.Unit), worst.Run)
	if len(out.Checks) > 1 {
		out.Measured = fmt.Sprintf("worst of %d: %s", len(out.Checks), out.Measured)
	}
	return out
}

// worse reports whether a is further from passing op than b.
func worse(op string, a, b float64) bool {
	switch op {
	case "<", "<=":
		return a > b
	case ">", ">=":
		return a < b
	}
	return false
}

// partner finds the run on the right of a relative expectation for g: the one that
// matches the right side's selectors and agrees with g on every other scenario parameter.
func partner(groups []*group, g *group, e *Expectation) (*group, error) {
	named := map[string]bool{}
	for _, k := range append(e.left.sel.keys(), e.right.sel.keys()...) {
		named[k] = true
	}
	var found []*group
	for _, h := range groups {
		if !h.matches(e.right.sel, e.where) {
			continue
		}
		same := true
		for k := range g.keys {
			if !named[k] && g.params[k] != h.params[k] {
				same = false
				break
			}
		}
		if same {
			found = append(found, h)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, fmt.Errorf("no run to compare %q with: none matches %s with its other settings", g.name, selString(e.right.sel, e.where))
	}
	return nil, fmt.Errorf("%d runs match %s for %q; add selectors to pick one", len(found), selString(e.right.sel, e.where), g.name)
}

// MetricNames lists the metrics expectations and estimates accept.
func MetricNames() []string { return reports.MetricNames() }
