package reports

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Formats a result's reports can be written in (besides result.json itself).
var Formats = []string{"md", "html", "hgrm", "png", "svg"}

// WriteAll writes result.json and every report format into dir. It returns the paths
// written, including those written before an error.
func WriteAll(dir string, res *Result) ([]string, error) {
	if res == nil {
		return nil, errors.New("write results: nil result")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create result directory: %w", err)
	}
	jsonPath := filepath.Join(dir, "result.json")
	if err := WriteJSON(jsonPath, res); err != nil {
		return nil, fmt.Errorf("write result.json: %w", err)
	}
	written, err := WriteReports(dir, res, Formats)
	return append([]string{jsonPath}, written...), err
}

// WriteReports writes the given formats of a result's reports into dir: report.md
// (plots referenced as PNG files beside it), report.html (self-contained), one .hgrm per
// run per histogram (<runslug>.<point>.hgrm, values in ms), and the plots as PNG and SVG
// files. Each file is rendered in memory first, so a failed render leaves no half-written
// file.
func WriteReports(dir string, res *Result, formats []string) ([]string, error) {
	if res == nil {
		return nil, errors.New("write reports: nil result")
	}
	for _, f := range formats {
		if !slices.Contains(Formats, f) {
			return nil, fmt.Errorf("report format %q: accepted are %s", f, strings.Join(Formats, ", "))
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create report directory: %w", err)
	}
	var written []string
	write := func(name string, data []byte) error {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		written = append(written, p)
		return nil
	}
	want := func(f string) bool { return slices.Contains(formats, f) }

	var plots []*Plot
	if want("md") || want("html") || want("png") || want("svg") {
		var err error
		if plots, err = Plots(res); err != nil {
			return written, err
		}
	}
	for _, p := range plots {
		for _, f := range []string{"png", "svg"} {
			// report.md shows the PNGs: write them with it.
			if !want(f) && !(f == "png" && want("md")) {
				continue
			}
			data, err := p.Render(f)
			if err != nil {
				return written, err
			}
			if err := write(p.Name+"."+f, data); err != nil {
				return written, err
			}
		}
	}
	if want("md") {
		var md bytes.Buffer
		if err := WriteMarkdown(&md, res, plots...); err != nil {
			return written, fmt.Errorf("write report.md: %w", err)
		}
		if err := write("report.md", md.Bytes()); err != nil {
			return written, err
		}
	}
	if want("html") {
		var page bytes.Buffer
		if err := WriteHTML(&page, res, plots); err != nil {
			return written, fmt.Errorf("write report.html: %w", err)
		}
		if err := write("report.html", page.Bytes()); err != nil {
			return written, err
		}
	}
	if want("hgrm") {
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
				if err := write(slugs[i]+"."+slug(pt)+".hgrm", b.Bytes()); err != nil {
					return written, err
				}
			}
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
	var s Slugs
	for i := range runs {
		out[i] = s.Next(runs[i].Name)
	}
	return out
}

// Slugs hands out runs' file stems one run at a time, as RunSlugs does for a result's
// runs in order: a run writing its interval logs as it goes gets the stem its .hgrm
// files will have. The zero value is ready; not safe for concurrent use.
type Slugs struct{ taken map[string]bool }

// Next is the stem of the next run, named name.
func (sl *Slugs) Next(name string) string {
	if sl.taken == nil {
		sl.taken = map[string]bool{}
	}
	base := slug(name)
	s := base
	for n := 2; sl.taken[s]; n++ {
		s = fmt.Sprintf("%s_%d", base, n)
	}
	sl.taken[s] = true
	return s
}

const maxSlug = 100

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
	// File names have a length limit (255 bytes, with the ".end_to_end.hgrm" to come):
	// a long name keeps its start and a hash of the whole, so it stays unique.
	if len(s) > maxSlug {
		sum := sha256.Sum256([]byte(name))
		s = s[:maxSlug-9] + "_" + hex.EncodeToString(sum[:4])
	}
	return s
}
