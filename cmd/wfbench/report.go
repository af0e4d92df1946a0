package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wfbench/wfbench/reports"
)

func newReportCmd() *cobra.Command {
	var formats []string
	var out string
	cmd := &cobra.Command{
		Use:   "report RESULT.json",
		Short: "Regenerate reports (markdown, HTML, plots, .hgrm) from a result.json alone",
		Long: `report reads a result.json written by run or scenario run (or merged) and writes its
reports again: report.md (plots beside it as PNG), report.html (one self-contained file,
plots inline, works offline), the percentile-spectrum and throughput plots as PNG and
SVG, each run's plot over time (throughput and p50/p99 per interval, phases shaded;
from result.json's intervals), and one HdrHistogram .hgrm percentile file per run and
timing point. The runs' interval logs (.hlog, each interval's whole histograms) cannot
be rebuilt from result.json: with -o another folder they are copied there (format hlog).`,
		Example: `  wfbench report wfbench-results/20261127-101500/result.json
  wfbench report result.json --format html -o /tmp/share
  wfbench report merge driver1/result.json driver2/result.json -o merged.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fs, err := parseFormats(formats)
			if err != nil {
				return usageErr(err)
			}
			res, err := reports.ReadJSON(args[0])
			if err != nil {
				return usageErr(err)
			}
			if out == "" {
				out = filepath.Dir(args[0])
			}
			copyLogs := slices.Contains(fs, hlogFormat)
			fs = slices.DeleteFunc(fs, func(f string) bool { return f == hlogFormat })
			files, err := reports.WriteReports(out, res, fs)
			if err != nil {
				return envErr(err)
			}
			copied := 0
			if copyLogs {
				if copied, err = copyHlogs(cmd.ErrOrStderr(), res, filepath.Dir(args[0]), out); err != nil {
					return envErr(err)
				}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d files to %s\n", len(files)+copied, out)
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&formats, "format", []string{"all"}, "formats to write: "+strings.Join(reportFormats(), ", ")+" (the interval logs, copied when -o is another folder) or all (comma-separated or repeated)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "output folder (default: the result's own folder)")
	cmd.AddCommand(newReportMergeCmd())
	return cmd
}

// copyHlogs copies the runs' interval logs from the result's folder to out (none when
// it is the same folder); a log missing from the result's folder is skipped with a
// warning, as the reports do not need it.
func copyHlogs(warn io.Writer, res *reports.Result, from, out string) (int, error) {
	if sameFile(from, out) {
		return 0, nil
	}
	n := 0
	for _, r := range res.Runs {
		for _, name := range r.Hlogs {
			if name != filepath.Base(name) { // a name, never a path out of the folder
				continue
			}
			data, err := os.ReadFile(filepath.Join(from, name))
			if errors.Is(err, os.ErrNotExist) {
				fmt.Fprintf(warn, "wfbench: run %q: interval log %s is not beside the result: not copied\n", r.Name, name)
				continue
			}
			if err != nil {
				return n, err
			}
			if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// hlogFormat is the runs' interval logs: not rendered from result.json but copied from
// beside it.
const hlogFormat = "hlog"

func reportFormats() []string { return append(slices.Clone(reports.Formats), hlogFormat) }

func parseFormats(in []string) ([]string, error) {
	var out []string
	for _, f := range in {
		switch {
		case f == "all":
			out = append(out, reportFormats()...)
		case slices.Contains(reportFormats(), f):
			out = append(out, f)
		default:
			return nil, fmt.Errorf("--format %q: accepted values are %s, all", f, strings.Join(reportFormats(), ", "))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func newReportMergeCmd() *cobra.Command {
	var out string
	var withReports bool
	cmd := &cobra.Command{
		Use:   "merge RESULT.json RESULT.json... -o MERGED.json",
		Short: "Merge the results of several drivers that loaded one system at the same time",
		Long: `merge adds up runs of the same name (and repetition) from several result.json files:
histograms merge (percentiles are recomputed from them), job counts and throughputs
add up, durations take the longest. Runs found in one file only are kept as they are.`,
		Example: `  wfbench report merge a/result.json b/result.json -o merged/result.json --reports`,
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageErr(fmt.Errorf("-o MERGED.json is required"))
			}
			for _, a := range args {
				if sameFile(a, out) {
					return usageErr(fmt.Errorf("-o %s is one of the inputs: write the merged result elsewhere", out))
				}
				if withReports && sameFile(filepath.Dir(a), filepath.Dir(out)) {
					return usageErr(fmt.Errorf("--reports would write over %s's reports in %s: give -o a folder of its own, e.g. merged/result.json", a, filepath.Dir(out)))
				}
			}
			var results []*reports.Result
			for _, a := range args {
				r, err := reports.ReadJSON(a)
				if err != nil {
					return usageErr(err)
				}
				results = append(results, r)
			}
			merged, err := reports.Merge(args, results...)
			if err != nil {
				return usageErr(err)
			}
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return envErr(err)
			}
			if err := reports.WriteJSON(out, merged); err != nil {
				return envErr(err)
			}
			n := 1
			if withReports {
				files, err := reports.WriteReports(filepath.Dir(out), merged, reports.Formats)
				if err != nil {
					return envErr(err)
				}
				n += len(files)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "merged %d results (%d runs) into %s; wrote %d files\n", len(args), len(merged.Runs), out, n)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "merged result file (required)")
	cmd.Flags().BoolVar(&withReports, "reports", false, "also write every report beside it")
	return cmd
}

// sameFile reports whether two paths name the same file or folder (or would).
func sameFile(a, b string) bool {
	if sa, err := os.Stat(a); err == nil {
		if sb, err := os.Stat(b); err == nil {
			return os.SameFile(sa, sb)
		}
	}
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}
