package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wfbench/wfbench/diagnose"
)

// diagnoseFlags are diagnose's flags; the options and their checks are diagnose's.
type diagnoseFlags struct {
	o      diagnose.Options
	format string
	out    string
}

func newDiagnoseCmd() *cobra.Command {
	f := diagnoseFlags{o: diagnose.DefaultOptions()}
	cmd := &cobra.Command{
		Use:   "diagnose --faktory-url URL [--api-url URL] [--read-only]",
		Short: "Measure a live deployment and rank what would win latency back",
		Long: `diagnose measures a running Faktory (and the reference API, with --api-url) in
well under a minute: TCP and Faktory connect time; the command round trip (min, p50,
p99 of many samples); PUSH vs PUSHB cost per job at a few batch sizes; pickup (PUSH
sent → a waiting FETCH returns the job), FETCH and ACK; INFO (connections, queue
sizes, each queue's latency); and the API's /healthz, its Faktory pool and circuit
(/metrics) and a few POST /jobs/add. It prints findings ranked by impact, each with
the measured figure, the knob to turn and the gain bench's model expects from it.

Sample counts are sized from the RTT measured first, so the default --duration of
30s holds at 100 ms RTT too; cleanup comes on top.

What diagnose pushes goes to a private queue (wfbench-diag-<random>) that it drains
(FETCH and ACK) and removes afterwards, also on Ctrl-C and on errors: Faktory's
queue list (INFO) is as it was found, which the output confirms. The API enqueues
into its own queue (it takes none per request), so the --api-jobs POSTs are ordinary
math jobs for its workers, tagged with the private queue's name as X-Wfbench-Run.
--read-only sends Faktory only HELLO, a no-op ping, INFO, QUEUE LATENCY and END, and
the API only GETs.

Exit codes: 0 diagnosed, 2 bad flags or a refused password, 3 environment (Faktory
or the API unreachable or failing; the URL is named, its password redacted), 130
interrupted (what was measured is printed, the queue cleaned up).`,
		Example: `  wfbench diagnose --faktory-url tcp://faktory.internal:7419
  wfbench diagnose --faktory-url tcp://:$PASSWORD@faktory:7419 --api-url http://api:8080
  wfbench diagnose --faktory-url tcp+tls://faktory.example.com:7419 --read-only
  wfbench diagnose --faktory-url tcp://127.0.0.1:7419 --format md -o diag/   # diagnosis.json + .md
  wfbench diagnose --faktory-url tcp://127.0.0.1:7419 --format json --duration 10s --batches 10,100,500`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.run(cmd) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.o.FaktoryURL, "faktory-url", "", "Faktory to diagnose: tcp://[:password@]host:port or tcp+tls://... (default $FAKTORY_URL; password else $FAKTORY_PASSWORD)")
	fs.StringVar(&f.o.APIURL, "api-url", "", "the reference API's http://host:port: its /healthz, /metrics and a few POST /jobs/add")
	fs.StringVar(&f.o.APIToken, "api-token", "", "the API's bearer token, if it requires one (default $API_TOKEN)")
	fs.BoolVar(&f.o.ReadOnly, "read-only", false, "send nothing that writes: no PUSH, PUSHB, FETCH, ACK, queue removal or API POST")
	fs.StringVar(&f.format, "format", "text", "output: text | md | json")
	fs.StringVarP(&f.out, "out", "o", "", "also write diagnosis.json and diagnosis.md into this folder")
	durationVar(fs, &f.o.Duration, "duration", f.o.Duration, "budget for the measuring, 1s to 10m (sample counts are sized to fit it)")
	fs.IntVar(&f.o.Samples, "samples", 0, "command round trips to sample (0: sized from the RTT and --duration)")
	fs.IntSliceVar(&f.o.Batches, "batches", f.o.Batches, "PUSHB sizes to compare with single PUSHes, 2 to 1000 each")
	fs.IntVar(&f.o.APIJobs, "api-jobs", f.o.APIJobs, "POST /jobs/add calls with --api-url (0: GETs only)")
	fs.IntVar(&f.o.Jobs, "jobs", f.o.Jobs, "job count the findings' figures are stated for")
	return cmd
}

// run checks the flags (exit 2 naming the accepted form), diagnoses, prints and
// writes what was measured — also when diagnose stopped early — and returns the
// error with its exit code.
func (f *diagnoseFlags) run(cmd *cobra.Command) error {
	// From the environment here, not as the flags' defaults: --help would print secrets.
	if f.o.FaktoryURL == "" {
		f.o.FaktoryURL = os.Getenv("FAKTORY_URL")
	}
	if f.o.APIToken == "" {
		f.o.APIToken = os.Getenv("API_TOKEN")
	}
	errs := []error{f.o.Validate()}
	if !slices.Contains(diagnose.Formats, f.format) {
		errs = append(errs, fmt.Errorf("--format %q: accepted values are %s", f.format, strings.Join(diagnose.Formats, ", ")))
	}
	if err := errors.Join(errs...); err != nil {
		return usageErr(fmt.Errorf("%w\nsee 'wfbench diagnose --help'", err))
	}
	d, err := diagnose.Run(cmd.Context(), f.o)
	if d != nil && len(d.Measurements) > 0 {
		if werr := diagnose.Write(cmd.OutOrStdout(), d, f.format); werr != nil {
			return envErr(werr)
		}
		if f.out != "" {
			if werr := diagnose.WriteFiles(f.out, d); werr != nil {
				return envErr(fmt.Errorf("write %s: %w", f.out, werr))
			}
		}
	}
	if errors.Is(err, diagnose.ErrInvalid) {
		return usageErr(err)
	}
	return err
}
