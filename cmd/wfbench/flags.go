package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/wfbench/wfbench/bench"
	"github.com/wfbench/wfbench/netem"
)

// durationFlag is a non-negative duration whose parse error states the accepted form.
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil || *f.d == 0 {
		return "0"
	}
	return f.d.String()
}
func (f durationFlag) Type() string { return "duration" }
func (f durationFlag) Set(s string) error {
	d, err := netem.ParseDuration(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

func durationVar(fs *pflag.FlagSet, p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	fs.Var(durationFlag{p}, name, usage)
}

// linkFlag collects repeated --link NAME=RTT[,jitter=D] values.
type linkFlag struct{ specs *[]netem.Spec }

func (f linkFlag) String() string {
	if f.specs == nil {
		return ""
	}
	var parts []string
	for _, s := range *f.specs {
		parts = append(parts, fmt.Sprintf("%s=%s", s.Name, s.RTT))
	}
	return strings.Join(parts, " ")
}
func (f linkFlag) Type() string { return "NAME=RTT" }
func (f linkFlag) Set(s string) error {
	spec, err := netem.ParseLink(s)
	if err != nil {
		return err
	}
	*f.specs = append(*f.specs, spec)
	return nil
}

// settingFlag is a run setting as a flag: parsed and printed by its entry in the
// settings table.
type settingFlag struct {
	s   bench.Setting
	cfg *bench.RunConfig
	raw map[string]string // when set: the text each setting was last given, by key
}

func (f settingFlag) String() string {
	if f.cfg == nil {
		return ""
	}
	if v := f.s.Get(*f.cfg); v != "0ms" {
		return v
	}
	return "0" // pflag leaves a zero default out of the help
}
func (f settingFlag) Type() string {
	if f.s.Bool {
		return "" // --burst alone, or --burst=false
	}
	return f.s.Kind
}
func (f settingFlag) Set(v string) error {
	if f.raw != nil {
		f.raw[f.s.Key] = v // as given: String() is the canonical form, a URL without its password
	}
	return f.s.Parse(f.cfg, v)
}
