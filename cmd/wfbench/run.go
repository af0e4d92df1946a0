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

	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/reports"
	"github.com/wfbench/wfbench/scenarios"
	"github.com/wfbench/wfbench/system"
)

func newRunCmd() *cobra.Command {
	cfg := scenarios.Default()
	var rf reportFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Measure one configuration of the reference system under injected latency",
		Long: `run brings up the reference system (embedded Faktory on redis-server, the API,
the workers), puts a toxiproxy link with the given RTT on every path that crosses the
WAN in the topology, measures each link's real RTT, warms the connections, drives the
load and drains it, then writes result.json, report.md and one .hgrm per histogram
into --out and prints a table.

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

  # one slow link only
  wfbench run --link api-faktory=30ms,jitter=3ms --topology central`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("duration") && !cmd.Flags().Changed("jobs") {
				cfg.Jobs = 0 // --duration alone: as many jobs as fit
			}
			if cfg.Rate > 0 && !cmd.Flags().Changed("concurrency") {
				// Open loop: one call in flight would make the schedule wait on every
				// answer; allow enough that the offered rate, not the cap, sets the pace.
				cfg.Concurrency = scenarios.OpenLoopInFlight
			}
			if err := errors.Join(cfg.Validate(), rf.validate()); err != nil {
				return usageErr(fmt.Errorf("%w\nsee 'wfbench run --help'", err))
			}
			return runConfig(cmd, cfg, rf)
		},
	}
	fs := cmd.Flags()
	durationVar(fs, &cfg.RTT, "rtt", cfg.RTT, "round-trip time of the links that cross the WAN, e.g. 100ms")
	durationVar(fs, &cfg.Jitter, "jitter", cfg.Jitter, "RTT jitter: each round trip takes RTT ± jitter (half per direction), e.g. 5ms")
	fs.StringVar(&cfg.Topology, "topology", cfg.Topology, "which links cross the WAN: "+strings.Join(netem.TopologyNames(), " | "))
	fs.Var(linkFlag{&cfg.Links}, "link", "set one link: NAME=RTT[,jitter=D], NAME one of "+strings.Join(netem.LinkNames, ", ")+" (repeatable)")
	fs.StringVar(&cfg.Target, "target", cfg.Target, "where the driver enqueues: api (HTTP, full path) | faktory (client, direct)")
	fs.IntVar(&cfg.Batch, "batch", cfg.Batch, "jobs per enqueue call (POST /jobs/batch or PUSHB when > 1)")
	fs.IntVar(&cfg.Jobs, "jobs", cfg.Jobs, "jobs to send (0 with --duration: as many as fit)")
	durationVar(fs, &cfg.Duration, "duration", 0, "stop sending after this long, e.g. 30s")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "closed loop: clients sending in parallel; open loop: most calls in flight (100 with --rate unless set)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "open loop: jobs per second on a fixed schedule (0 = closed loop)")
	fs.BoolVar(&cfg.Burst, "burst", false, "enqueue every job before the workers start: the drain then measures the workers alone (drain jobs/s)")
	durationVar(fs, &cfg.DrainWait, "drain-timeout", cfg.DrainWait, "longest wait for accepted jobs to complete after the load (0 = as long as jobs keep completing, up to 1h); the drain also ends after a stretch without a completion (10s, longer with --work, a long worker link or an async flush interval). Jobs Faktory still holds then are reported pending, not lost")
	fs.StringVar(&cfg.FaktoryURL, "faktory-url", "", "use a running Faktory (tcp://host:7419, tcp+tls://:password@host:port) instead of the embedded one")
	fs.IntVar(&cfg.PoolSize, "pool-size", cfg.PoolSize, "API's Faktory connection pool size (FAKTORY_POOL_SIZE)")
	fs.IntVar(&cfg.MaxBatch, "max-batch", cfg.MaxBatch, "largest batch the API accepts (FAKTORY_MAX_BATCH_SIZE)")
	fs.StringVar(&cfg.EnqueueMode, "enqueue", cfg.EnqueueMode, "API enqueue mode (API_ENQUEUE_MODE): sync (answer once Faktory has the job) | async (answer once buffered; a flusher PUSHBs)")
	durationVar(fs, &cfg.FlushInterval, "flush-interval", 0, "async: flush the API's buffer this often (FLUSH_INTERVAL, default 10ms)")
	fs.StringVar(&cfg.Poll, "poll", cfg.Poll, "worker poll strategy: fixed (FETCH, run, ACK and wait; sleep after an empty FETCH) | tuned (slots by Little's law, pipelined ACKs, no sleep) | library (faktory_worker_go's Manager)")
	fs.IntVar(&cfg.WorkerConcurrency, "worker-concurrency", cfg.WorkerConcurrency, "worker fetch slots (WORKER_CONCURRENCY); 0 = the strategy's own: fixed 50, tuned sized by Little's law, library 20")
	durationVar(fs, &cfg.PollInterval, "poll-interval", cfg.PollInterval, "fixed poll: sleep after an empty FETCH (WORKER_POLL_INTERVAL)")
	fs.StringVar(&cfg.Work, "work", "", "simulated service time per job: DURATION[:sleep|:spin], e.g. 2ms or 500us:spin")
	fs.StringVar(&cfg.Netem, "netem", cfg.Netem, "latency backend: toxiproxy")
	fs.StringVar(&cfg.Compression, "compression", cfg.Compression, "client request bodies to the API: none | gzip")
	fs.StringVar(&cfg.Name, "name", "", "run name in reports (default: derived from the settings)")
	durationVar(fs, &cfg.Interval, "interval", cfg.Interval, "time series: record throughput and latency per interval of this length (100ms to 1h), written as HdrHistogram interval logs (<run>.<point>.hlog) as each ends, and plotted over time")
	rf.add(cmd)
	return cmd
}

// runConfig measures one configuration (--count times) and reports it.
func runConfig(cmd *cobra.Command, cfg scenarios.RunConfig, rf reportFlags) error {
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
		run, err := scenarios.Execute(cmd.Context(), cfg, opts)
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
