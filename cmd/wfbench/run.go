package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/wfbench/wfbench/bench"
	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/system"
)

func newRunCmd() *cobra.Command {
	cfg := bench.Default()
	var rf reportFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Measure one configuration of the reference system under injected latency",
		Long: `run brings up the reference system (embedded Faktory on redis-server, the API,
the workers), puts a toxiproxy link with the given RTT on every path that crosses the
WAN in the topology, measures each link's real RTT, warms the connections, drives the
load and drains it, then writes into --out: result.json, report.md, report.html with
its plots (latency percentile spectra, throughput and latency over time with the
phases shaded), one .hgrm per histogram and one .hlog interval log per timing point;
and prints a table.

Timing points: enqueue (per call: start → answered), pickup (per job: answered →
worker started), end_to_end (per job: start → worker finished). In the open loop
(--rate) latencies are measured from each call's intended send time.

Topologies: central (default; client-api, client-faktory, worker-faktory cross the
WAN, api-faktory does not: the API sits with Faktory) and split (api-faktory crosses
it too: an enqueue through the API pays two RTTs).

Job accounting: completed + failed + pending + lost = accepted. The drain lasts as
long as jobs keep completing; when it ends, Faktory is asked how many of the run's jobs
it still holds: those are pending (not a failure; the report says how long they would
take), the rest are lost.

Exit codes: 0 ok (pending jobs included), 1 the run finished but jobs were lost, 2 bad flags,
3 environment (redis-server missing, port taken, Faktory unreachable, the embedded
Faktory's redis-server died mid-run: what was measured until then is written),
130 interrupted.`,
		Example: `  # 1000 jobs in batches of 100 through the API at 100 ms RTT
  wfbench run --rtt 100ms --batch 100 --jobs 1000

  # single jobs straight to Faktory, the analysis' "1 enqueue = 1 round trip"
  wfbench run --rtt 100ms --batch 1 --jobs 100 --target faktory

  # open loop: 200 jobs/s for 10 s, latency corrected for coordinated omission
  wfbench run --rtt 20ms --rate 200 --duration 10s --jobs 0 --concurrency 64

  # worker capacity: a backlog of 2000 jobs drained by each poll strategy
  wfbench run --rtt 100ms --batch 100 --jobs 2000 --burst --poll fixed
  wfbench run --rtt 100ms --batch 100 --jobs 2000 --burst --poll tuned

  # stop waiting for slow workers after 2 s: the rest is reported pending
  wfbench run --rtt 100ms --batch 100 --jobs 2000 --worker-concurrency 2 --drain-timeout 2s

  # a running API (wfbench serve api) and its Faktory; API_TOKEN, if it requires one
  API_TOKEN=... wfbench run --api-url http://127.0.0.1:8080 --faktory-url tcp://127.0.0.1:7419

  # one slow link only
  wfbench run --link api-faktory=30ms,jitter=3ms --topology central`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Implied(func(key string) bool {
				s, _ := bench.LookupSetting(key)
				return cmd.Flags().Changed(s.Flag)
			})
			cfg.APIToken = os.Getenv("API_TOKEN") // a secret: from the environment, never recorded
			if err := errors.Join(cfg.Validate(), rf.validate()); err != nil {
				return usageErr(fmt.Errorf("%w\nsee 'wfbench run --help'", err))
			}
			return runConfig(cmd, cfg, rf)
		},
	}
	fs := cmd.Flags()
	for _, s := range bench.Settings() {
		help := s.Help
		if s.Env != "" {
			help += " (" + s.Env + " of serve and up)"
		}
		fs.Var(settingFlag{s: s, cfg: &cfg}, s.Flag, help)
		if s.Bool {
			fs.Lookup(s.Flag).NoOptDefVal = "true"
		}
	}
	fs.StringVar(&cfg.Name, "name", "", "run name in reports (default: derived from the settings)")
	rf.add(cmd)
	return cmd
}

// runConfig measures one configuration (--count times) and reports it.
func runConfig(cmd *cobra.Command, cfg bench.RunConfig, rf reportFlags) error {
	opts, view := rf.options(cmd)
	res := newResult()
	if err := rf.prepareOut(res, ""); err != nil {
		return err
	}
	var slugs reports.Slugs
	opts.IntervalFiles = intervalFiles(func() string { return rf.out }, func() *reports.Slugs { return &slugs })
	count := max(rf.count, 1)
	var runErr error
	for rep := 1; rep <= count && cmd.Context().Err() == nil; rep++ {
		label := cfg.DisplayName()
		if count > 1 {
			label += fmt.Sprintf(" #%d/%d", rep, count)
		}
		view.start(label)
		run, err := bench.Execute(cmd.Context(), cfg, opts)
		if count > 1 {
			run.Repetition = rep
		}
		if run.Interrupted {
			res.Runs = append(res.Runs, run) // what was measured until it stopped
		}
		if err != nil {
			// The stack did not come up, no job was accepted (Faktory refusing them is the
			// environment's doing), or the environment failed mid-run.
			runErr = fmt.Errorf("run %s: %w", cfg.DisplayName(), err)
			break
		}
		if !run.Interrupted {
			res.Runs = append(res.Runs, run)
		}
		if run.Interrupted {
			break
		}
	}
	return finish(cmd, res, &rf, runErr)
}

// freeDir returns dir, or dir-2, dir-3... if it exists: two runs started in the same
// second must not write over each other.
func freeDir(dir string) string {
	for i, d := 2, dir; ; i++ {
		if _, err := os.Stat(d); os.IsNotExist(err) {
			return d
		}
		d = fmt.Sprintf("%s-%d", dir, i)
	}
}

// processUse reads this process's peak RSS and CPU time so far.
func processUse() *reports.Process {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return nil
	}
	secs := func(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }
	// ru_maxrss is in KiB on Linux.
	return &reports.Process{PeakRSSMB: float64(ru.Maxrss) / 1024, CPUUserS: secs(ru.Utime), CPUSysS: secs(ru.Stime)}
}

func environment() reports.Environment {
	env := reports.Environment{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version()}
	env.Hostname, _ = os.Hostname()
	if b, err := exec.Command("redis-server", "--version").Output(); err == nil {
		env.Redis = strings.TrimSpace(string(b))
	}
	env.Faktory = (&system.Broker{}).Version()
	return env
}
