package reports

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestWriteAll(t *testing.T) {
	res := testResult(t)
	dir := filepath.Join(t.TempDir(), "out") // not yet there: WriteAll creates it
	paths, err := WriteAll(dir, res)
	if err != nil {
		t.Fatal(err)
	}

	want := []string{"result.json", "report.md", "report.html"}
	for _, p := range []string{"percentiles-enqueue", "percentiles-pickup", "percentiles-end-to-end", "throughput"} {
		want = append(want, p+".png", p+".svg")
	}
	for _, r := range res.Runs {
		s := slug(r.Name)
		for pt := range r.Histograms {
			want = append(want, s+"."+pt+".hgrm")
		}
	}
	var got []string
	for _, p := range paths {
		if filepath.Dir(p) != dir {
			t.Errorf("path %s outside %s", p, dir)
		}
		got = append(got, filepath.Base(p))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var onDisk []string
	for _, e := range entries {
		onDisk = append(onDisk, e.Name())
	}
	sort.Strings(want)
	sort.Strings(got)
	sort.Strings(onDisk)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("returned paths %v\nwant %v", got, want)
	}
	if !reflect.DeepEqual(onDisk, want) {
		t.Errorf("files on disk %v\nwant %v", onDisk, want)
	}
	for _, name := range []string{"rtt_100ms_batch_100.enqueue.hgrm", "rtt_1ms_rate_500_s.enqueue_service.hgrm"} {
		if !slices.Contains(onDisk, name) {
			t.Errorf("missing %s", name)
		}
	}

	back, err := ReadJSON(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Runs) != len(res.Runs) {
		t.Fatalf("read back %d runs, want %d", len(back.Runs), len(res.Runs))
	}
	for i, r := range res.Runs {
		b := back.Runs[i]
		if b.Name != r.Name || b.Jobs != r.Jobs {
			t.Errorf("run %d read back as %q %+v, want %q %+v", i, b.Name, b.Jobs, r.Name, r.Jobs)
		}
		h, err := b.Histogram(PointEnqueue)
		if err != nil || h == nil || h.TotalCount() != r.LatencyMS[PointEnqueue].Count {
			t.Errorf("run %q: enqueue histogram did not survive result.json (%v)", r.Name, err)
		}
	}
}

func TestWriteAllBadHistogram(t *testing.T) {
	res := testResult(t)
	res.Runs[0].Histograms[PointPickup] = "not a histogram"
	if _, err := WriteAll(t.TempDir(), res); err == nil {
		t.Fatal("want an error for an undecodable histogram")
	}
}

func TestRunSlugs(t *testing.T) {
	runs := []Run{
		{Name: "rtt=100ms batch=100"},
		{Name: "RTT=100ms  batch=100"}, // same slug: must not overwrite the first
		{Name: "rtt=100ms batch=100"},
		{Name: "rtt_100ms_batch_100_2"}, // already the suffixed form of the first
		{Name: "(fixed) poll"},
		{Name: ".."},
		{Name: "a.b-c"},
	}
	got := RunSlugs(runs)
	want := []string{
		"rtt_100ms_batch_100",
		"rtt_100ms_batch_100_2",
		"rtt_100ms_batch_100_3",
		"rtt_100ms_batch_100_2_2",
		"fixed_poll",
		"run",
		"a.b-c",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RunSlugs = %q\nwant %q", got, want)
	}

	// Two runs with colliding names both get their files.
	res := testResult(t)
	res.Runs[1].Name = res.Runs[0].Name + "!"
	paths, err := WriteAll(t.TempDir(), res)
	if err != nil {
		t.Fatal(err)
	}
	var n0, n1 int
	for _, p := range paths {
		switch {
		case filepath.Base(p) == "rtt_1ms_batch_1.enqueue.hgrm":
			n0++
		case filepath.Base(p) == "rtt_1ms_batch_1_2.enqueue.hgrm":
			n1++
		}
	}
	if n0 != 1 || n1 != 1 {
		t.Errorf("colliding runs: %v", paths)
	}
}

// Each format alone writes only its own files (md brings the PNGs it shows); an unknown
// format is an error naming the accepted ones.
func TestWriteReportsFormats(t *testing.T) {
	res := testResult(t)
	for format, want := range map[string][]string{
		"html": {"report.html"},
		"svg":  {"percentiles-end-to-end.svg", "percentiles-enqueue.svg", "percentiles-pickup.svg", "throughput.svg"},
		"md":   {"percentiles-end-to-end.png", "percentiles-enqueue.png", "percentiles-pickup.png", "report.md", "throughput.png"},
	} {
		dir := t.TempDir()
		paths, err := WriteReports(dir, res, []string{format})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range paths {
			got = append(got, filepath.Base(p))
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: wrote %v, want %v", format, got, want)
		}
	}
	if _, err := WriteReports(t.TempDir(), res, []string{"pdf"}); err == nil || !strings.Contains(err.Error(), "md, html") {
		t.Errorf("format pdf: %v", err)
	}
}

// A very long run name still makes a valid, unique file name.
func TestSlugLongName(t *testing.T) {
	long := strings.Repeat("rtt=100ms batch=100 ", 30)
	a, b := slug(long), slug(long+"x")
	if len(a) > maxSlug || a == b || !strings.HasPrefix(a, "rtt_100ms_batch_100") {
		t.Errorf("slugs %q (%d) and %q", a, len(a), b)
	}
	res := testResult(t)
	res.Runs[0].Name = long
	if _, err := WriteAll(t.TempDir(), res); err != nil {
		t.Errorf("WriteAll with a long run name: %v", err)
	}
}
