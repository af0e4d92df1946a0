package reports

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// WriteAll writes a result's files into dir: result.json, report.md and one .hgrm per
// run per histogram (<runslug>.<point>.hgrm, values in ms). It returns the paths
// written, including those written before an error.
func WriteAll(dir string, res *Result) ([]string, error) {
	if res == nil {
		return nil, errors.New("write results: nil result")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create result directory: %w", err)
	}
	var written []string

	jsonPath := filepath.Join(dir, "result.json")
	if err := WriteJSON(jsonPath, res); err != nil {
		return written, fmt.Errorf("write result.json: %w", err)
	}
	written = append(written, jsonPath)

	// Rendered to memory first so a failed render leaves no half-written report.
	var md bytes.Buffer
	if err := WriteMarkdown(&md, res); err != nil {
		return written, fmt.Errorf("write report.md: %w", err)
	}
	mdPath := filepath.Join(dir, "report.md")
	if err := os.WriteFile(mdPath, md.Bytes(), 0o644); err != nil {
		return written, fmt.Errorf("write report.md: %w", err)
	}
	written = append(written, mdPath)

	slugs := RunSlugs(res.Runs)
	for i := range res.Runs {
		r := &res.Runs[i]
		for _, pt := range histogramPoints(r.Histograms) {
			h, err := r.Histogram(pt)
			if err != nil {
				return written, fmt.Errorf("write hgrm: %w", err)
			}
			if h == nil {
				continue
			}
			var b bytes.Buffer
			if err := WriteHgrm(&b, h, 1000); err != nil {
				return written, fmt.Errorf("run %q, %s: %w", r.Name, pt, err)
			}
			p := filepath.Join(dir, slugs[i]+"."+slug(pt)+".hgrm")
			if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
				return written, fmt.Errorf("write hgrm for run %q, %s: %w", r.Name, pt, err)
			}
			written = append(written, p)
		}
	}
	return written, nil
}

// histogramPoints orders a run's histogram names as reports show them, then any other
// names alphabetically, so the file list is stable between invocations.
func histogramPoints(hists map[string]string) []string {
	known := []string{PointEnqueue, PointPickup, PointEndToEnd, PointService}
	var out, rest []string
	for _, k := range known {
		if _, ok := hists[k]; ok {
			out = append(out, k)
		}
	}
	for k := range hists {
		if !slices.Contains(known, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// RunSlugs returns a file-name stem per run, in run order: the name lowercased, every
// run of characters outside [a-z0-9.-] replaced by '_' ("rtt=100ms batch=100" ->
// "rtt_100ms_batch_100"); a stem already taken gets "_2", "_3", ... so no run's files
// overwrite another's.
func RunSlugs(runs []Run) []string {
	out := make([]string, len(runs))
	taken := make(map[string]bool, len(runs))
	for i := range runs {
		base := slug(runs[i].Name)
		s := base
		for n := 2; taken[s]; n++ {
			s = fmt.Sprintf("%s_%d", base, n)
		}
		taken[s] = true
		out[i] = s
	}
	return out
}

// slug maps a name to a safe file-name part; leading and trailing '_' are dropped
// ("(fixed)" -> "fixed"), and a name with nothing left becomes "run".
func slug(name string) string {
	var b strings.Builder
	underscore := false
	for _, c := range strings.ToLower(name) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' {
			b.WriteRune(c)
			underscore = false
			continue
		}
		if !underscore {
			b.WriteByte('_')
			underscore = true
		}
	}
	s := strings.Trim(b.String(), "_")
	// "." and ".." are directory names, not files.
	if s == "" || strings.Trim(s, ".") == "" {
		return "run"
	}
	return s
}
