package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wfbench/wfbench/bench"
	"github.com/wfbench/wfbench/system"
)

// configFlags binds serve's flags: one per run setting a standing system shares with
// run (an entry of bench's settings table with a variable: same flag, same variable,
// same range), and one per knob only a standing system has (system.Config's). resolve
// layers them: defaults < environment variables < flags given.
type configFlags struct {
	run bench.RunConfig   // the shared settings' flags parse here
	raw map[string]string // the text each shared setting's flag was given, by key
	fl  system.Config     // the standing system's own knobs' flags
	env map[string]string // own knob's flag name → its environment variable
	rc  bench.RunConfig   // the shared settings as resolve found them
}

// sharedSettings are the run settings serve and up read from the environment.
func sharedSettings() []bench.Setting {
	var out []bench.Setting
	for _, s := range bench.Settings() {
		if s.Env != "" {
			out = append(out, s)
		}
	}
	return out
}

func addConfigFlags(fs *pflag.FlagSet) *configFlags {
	c := &configFlags{run: bench.Default(), raw: map[string]string{}, fl: system.DefaultConfig(), env: map[string]string{}}
	for _, s := range sharedSettings() {
		fs.Var(settingFlag{s, &c.run, c.raw}, s.Flag, s.Help+" ("+s.Env+")")
	}
	str := func(name, env, usage string, p func(*system.Config) *string) {
		fs.StringVar(p(&c.fl), name, *p(&c.fl), usage+" ("+env+")")
		c.env[name] = env
	}
	dur := func(name, env, usage string, p func(*system.Config) *time.Duration) {
		durationVar(fs, p(&c.fl), name, *p(&c.fl), usage+" ("+env+")")
		c.env[name] = env
	}
	str("faktory-password", "FAKTORY_PASSWORD", "Faktory's password (a password in the URL wins)", func(c *system.Config) *string { return &c.FaktoryPassword })
	dur("connect-timeout", "FAKTORY_CONNECT_TIMEOUT", "Faktory connect and handshake timeout", func(c *system.Config) *time.Duration { return &c.ConnectTimeout })
	dur("read-timeout", "FAKTORY_READ_TIMEOUT", "Faktory read timeout per command", func(c *system.Config) *time.Duration { return &c.ReadTimeout })
	dur("write-timeout", "FAKTORY_WRITE_TIMEOUT", "Faktory write timeout per command", func(c *system.Config) *time.Duration { return &c.WriteTimeout })
	dur("keepalive", "FAKTORY_KEEPALIVE_INTERVAL", "TCP keepalive interval", func(c *system.Config) *time.Duration { return &c.KeepAlive })
	str("ack", "WORKER_ACK", "worker ACK mode: sync | pipelined (default: the poll strategy's own, as in run: tuned pipelined, the others sync)", func(c *system.Config) *string { return &c.WorkerAck })
	str("api-token", "API_TOKEN", "the bearer token the API requires on every endpoint but /healthz and /ping, and a standalone worker sends with its completions (16 to 1024 visible characters; prefer the variable: a flag shows in ps)", func(c *system.Config) *string { return &c.APIToken })
	str("report-to", "WORKER_REPORT_URL", "a standalone worker POSTs its completions here, e.g. http://127.0.0.1:8080/completions", func(c *system.Config) *string { return &c.WorkerReportURL })
	fs.Float64Var(&c.fl.WorkerRate, "worker-rate", c.fl.WorkerRate, "tuned poll without --worker-concurrency: the job rate its slots are sized for by Little's law, at the RTT to Faktory measured at start (WORKER_RATE)")
	c.env["worker-rate"] = "WORKER_RATE"
	return c
}

// resolve returns the configuration: defaults, then the environment, then the flags
// given. A bad value is a usage error naming the variable (or flag) and the accepted form.
func (c *configFlags) resolve(fs *pflag.FlagSet) (system.Config, error) {
	var errs []error
	rc := bench.Default()
	for _, s := range sharedSettings() {
		if v, ok := os.LookupEnv(s.Env); ok && strings.TrimSpace(v) != "" { // set but empty means unset
			if err := s.Parse(&rc, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", s.Env, v, err))
			}
		}
	}
	cfg, err := system.ConfigFromEnv(system.DefaultConfig(), nil)
	errs = append(errs, err)
	fs.Visit(func(f *pflag.Flag) {
		if sf, ok := f.Value.(settingFlag); ok {
			_ = sf.s.Parse(&rc, c.raw[sf.s.Key]) // parsed once already, when the flag was
			return
		}
		env, ok := c.env[f.Name]
		if !ok {
			return
		}
		// The flag's text through the variable's own parser and range: one rule, one
		// message for both.
		if err := system.SetKnob(&cfg, env, f.Value.String()); err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", f.Name, err))
		}
	})
	for _, s := range sharedSettings() {
		if err := s.Check(rc); err != nil {
			errs = append(errs, fmt.Errorf("--%s %s (%s): %w", s.Flag, s.Get(rc), s.Env, err))
		}
	}
	c.rc = rc
	return bench.SystemConfig(cfg, rc), errors.Join(errs...)
}

// knobNames lists every variable serve and up read.
func knobNames() []string {
	var out []string
	for _, s := range sharedSettings() {
		out = append(out, s.Env)
	}
	return append(out, system.KnobNames()...)
}

func newServeCmd() *cobra.Command {
	var o system.ServeOptions
	var cf *configFlags
	cmd := &cobra.Command{
		Use:   "serve faktory|api|worker|all",
		Short: "Run parts of the reference system as their own process",
		Long: `serve runs one part of the reference system (or all of them) as a long-lived
process, configured by environment variables or the equivalent flags (flags win):

  ` + strings.Join(knobNames(), ", ") + `

A bad value stops it at start-up with exit code 2 and the variable's accepted form.
The parts are assembled exactly as 'wfbench run' assembles the system it measures:
a tuned worker (WORKER_POLL=tuned) sizes its slots by Little's law on WORKER_RATE
and the RTT to Faktory it measures at start, and pipelines its ACKs.
It binds 127.0.0.1 unless told otherwise, and stops cleanly on Ctrl-C.`,
		Example: `  wfbench serve faktory --web 127.0.0.1:7420
  FAKTORY_URL=tcp://127.0.0.1:7419 wfbench serve api --bind-api 127.0.0.1:8080
  FAKTORY_URL=tcp://127.0.0.1:7419 WORKER_POLL=tuned wfbench serve worker
  wfbench serve all`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch args[0] {
			case system.PartFaktory, system.PartAPI, system.PartWorker:
				o.Parts = []string{args[0]}
			case "all":
				o.Parts = []string{system.PartFaktory, system.PartAPI, system.PartWorker}
			default:
				return usageErr(fmt.Errorf("serve %q: accepted parts are faktory, api, worker, all", args[0]))
			}
			return serve(cmd, cf, o)
		},
	}
	cf = addConfigFlags(cmd.Flags())
	addBindFlags(cmd.Flags(), &o)
	return cmd
}

func addBindFlags(fs *pflag.FlagSet, o *system.ServeOptions) {
	fs.StringVar(&o.FaktoryBind, "bind-faktory", "127.0.0.1:7419", "embedded Faktory's address")
	fs.StringVar(&o.APIBind, "bind-api", "127.0.0.1:8080", "API's address")
	fs.StringVar(&o.WebUIBind, "web", "", "serve Faktory's Web UI on this address, e.g. 127.0.0.1:7420")
	fs.StringVar(&o.DataDir, "data-dir", "", "keep the embedded Faktory's storage (its queues) in this folder across restarts; without it storage is temporary and a restart loses every queued job")
}

// hostsFlags are up's --hosts options.
type hostsFlags struct {
	mode          string
	workers, apis int
	rtt           time.Duration
}

func newUpCmd() *cobra.Command {
	var o system.ServeOptions
	var cf *configFlags
	var h hostsFlags
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run the whole reference system standing, until Ctrl-C",
		Long: `up runs Faktory (with its Web UI), the API and the workers in one process and
prints where each listens, for poking at them (curl, Faktory's Web UI). Same
configuration as serve.`,
		Example: `  wfbench up
  wfbench up --hosts netns --workers 2 --rtt 23ms
  curl -s localhost:8080/metrics | grep wfbench_faktory_pool
  API_ENQUEUE_MODE=async WORKER_POLL=tuned wfbench up`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if h.mode != bench.HostsNone {
				return upOnHosts(cmd, cf, h)
			}
			for _, f := range []string{"workers", "apis", "rtt"} {
				if cmd.Flags().Changed(f) {
					return usageErr(fmt.Errorf("--%s is for --hosts local or netns: without it every part runs in this process, with no link between them", f))
				}
			}
			o.Parts = []string{system.PartFaktory, system.PartAPI, system.PartWorker}
			return serve(cmd, cf, o)
		},
	}
	cf = addConfigFlags(cmd.Flags())
	addBindFlags(cmd.Flags(), &o)
	cmd.Flags().StringVar(&h.mode, "hosts", bench.HostsNone, "run each part as its own wfbench serve process on a host of its own: local (127.0.0.1) or netns (a network namespace per part, joined to this process by a veth pair; needs root and ip), with a link of this process's on every path between them")
	cmd.Flags().IntVar(&h.workers, "workers", 1, "--hosts: worker hosts")
	cmd.Flags().IntVar(&h.apis, "apis", 1, "--hosts: API hosts")
	durationVar(cmd.Flags(), &h.rtt, "rtt", 0, "--hosts: the RTT of the links that cross the WAN in the central topology (client-api, client-faktory, worker-faktory)")
	cmd.Flags().Lookup("web").DefValue = "127.0.0.1:7420"
	_ = cmd.Flags().Set("web", "127.0.0.1:7420")
	return cmd
}

// serve resolves the configuration, starts the parts and runs until Ctrl-C.
func serve(cmd *cobra.Command, cf *configFlags, o system.ServeOptions) error {
	cfg, err := cf.resolve(cmd.Flags())
	if err != nil {
		return usageErr(err)
	}
	ctx := cmd.Context()
	st, err := system.StartStandalone(ctx, cfg, o)
	switch {
	case errors.Is(err, system.ErrNoFaktoryURL):
		return usageErr(err)
	case err != nil: // redis-server missing, a port taken, Faktory unreachable
		return &exitError{exitEnvironment, err}
	}
	untilInterrupted(cmd, st.Lines, "Ctrl-C stops it.")
	if err := st.Close(context.Background()); err != nil {
		return &exitError{exitCheckFailed, fmt.Errorf("stop: %w", err)}
	}
	return nil
}

// upOnHosts stands the system on hosts (up --hosts) until Ctrl-C: the same assembly a
// run on hosts measures, for drivers of their own (run --api-url, several at once).
func upOnHosts(cmd *cobra.Command, cf *configFlags, h hostsFlags) error {
	if _, err := cf.resolve(cmd.Flags()); err != nil {
		return usageErr(err)
	}
	for _, f := range []string{"bind-faktory", "bind-api", "web", "data-dir"} {
		if fl := cmd.Flags().Lookup(f); fl.Changed && fl.Value.String() != fl.DefValue {
			return usageErr(fmt.Errorf("--%s is not for --hosts: each part listens on its own host, on a port it picks, printed at start", f))
		}
	}
	rc := cf.rc
	rc.Hosts, rc.HostWorkers, rc.HostAPIs, rc.RTT = h.mode, h.workers, h.apis, h.rtt
	if err := rc.Validate(); err != nil {
		return usageErr(err)
	}
	ctx := cmd.Context()
	s, err := bench.StandOnHosts(ctx, rc)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // Ctrl-C while the hosts started
		}
		return &exitError{exitEnvironment, err}
	}
	untilInterrupted(cmd, s.Lines, "Ctrl-C stops it (every part stopped, every host removed).")
	s.Close()
	return nil
}

// untilInterrupted prints where each part listens and how to stop it, then waits for
// Ctrl-C.
func untilInterrupted(cmd *cobra.Command, lines []string, how string) {
	for _, l := range lines {
		fmt.Fprintln(cmd.OutOrStdout(), l)
	}
	fmt.Fprintln(cmd.OutOrStdout(), how)
	<-cmd.Context().Done()
	fmt.Fprintln(cmd.ErrOrStderr(), "stopping...")
}
