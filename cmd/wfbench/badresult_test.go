package main

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wfbench/wfbench/reports"
)

// craftHist encodes a V2 compressed histogram with the header and counts payload given,
// as a hand-edited or hostile result file could hold it.
func craftHist(t *testing.T, sig int32, lowest, highest int64, payload []byte) string {
	t.Helper()
	var inner bytes.Buffer
	for _, v := range []any{int32(0x1c849313), int32(len(payload)), int32(1), sig, lowest, highest, 1.0} {
		_ = binary.Write(&inner, binary.BigEndian, v)
	}
	inner.Write(payload)
	var z bytes.Buffer
	w, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if _, err := w.Write(inner.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_ = binary.Write(&out, binary.BigEndian, int32(0x1c849314))
	_ = binary.Write(&out, binary.BigEndian, int32(z.Len()))
	out.Write(z.Bytes())
	return base64.StdEncoding.EncodeToString(out.Bytes())
}

// zigzag appends vs in the V2 ZigZag LEB128 form (negative: a run of zeros).
func zigzag(vs ...int64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.AppendUvarint(b, uint64((v<<1)^(v>>63)))
	}
	return b
}

// badResultFile is a result file the reader must refuse: want is a word its error must
// say besides the file's path.
type badResultFile struct{ path, want string }

// writeBadResults writes a good result and malformed ones into dir.
func writeBadResults(t *testing.T, dir string) (good string, bad []badResultFile) {
	t.Helper()
	h := reports.NewHistogram()
	for v := int64(100); v < 5000; v += 7 {
		_ = h.RecordValue(v)
	}
	enc, err := reports.EncodeHistogram(h)
	if err != nil {
		t.Fatal(err)
	}
	day := 0 // each file its own measurement, so that merge reads the bad one
	withHist := func(hist string) []byte {
		day++
		res := reports.Result{Schema: reports.Schema, StartedAt: time.Date(2026, 12, day, 0, 0, 0, 0, time.UTC),
			Runs: []reports.Run{{Name: "r1", Config: reports.Config{Batch: 1, Jobs: 700},
				Jobs:       reports.Jobs{Requested: 700, Accepted: 700, Completed: 700},
				LatencyMS:  map[string]reports.Percentiles{reports.PointEnqueue: reports.PercentilesOf(h)},
				Histograms: map[string]string{reports.PointEnqueue: hist}}}}
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	write := func(name string, data []byte, want string) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		bad = append(bad, badResultFile{p, want})
	}
	goodData := withHist(enc)
	write("truncated.json", goodData[:len(goodData)*2/3], "ends at byte")
	write("garbage.json", []byte("\x89PNG\r\n\x1a\n\x00\x00 garbage"), "not valid JSON")
	write("bucket-2e40.json", withHist(craftHist(t, 3, 1, reports.HistMaxUS, zigzag(-(1<<40), 5))), "beyond")
	write("highest-2e62.json", withHist(craftHist(t, 5, 1, 1<<62, zigzag(5))), "highest")
	write("short-hist.json", withHist("HISTFAAA"), "short")
	huge := filepath.Join(dir, "huge.json")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(300 << 20); err != nil { // sparse: costs no disk
		t.Fatal(err)
	}
	f.Close()
	bad = append(bad, badResultFile{huge, "MiB"})
	good = filepath.Join(dir, "good", "result.json")
	if err := os.MkdirAll(filepath.Dir(good), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, goodData, 0o644); err != nil {
		t.Fatal(err)
	}
	return good, bad
}

// report, compare (either side) and report merge refuse a malformed result file with
// exit 2 and a message naming it and what is wrong, without panicking and without
// allocating what its histogram's header declares.
func TestMalformedResultExit2(t *testing.T) {
	dir := t.TempDir()
	good, bad := writeBadResults(t, dir)
	if code, _, msg := wfbench(t, "compare", good, good); code != 0 {
		t.Fatalf("compare of the good result with itself: exit %d %s", code, msg)
	}
	for _, b := range bad {
		out := filepath.Join(dir, "out-"+filepath.Base(b.path))
		for _, c := range []struct {
			what string
			args []string
		}{
			{"report", []string{"report", b.path, "-o", out}},
			{"compare (base)", []string{"compare", b.path, good}},
			{"compare (candidate)", []string{"compare", good, b.path}},
			{"report merge", []string{"report", "merge", good, b.path, "-o", filepath.Join(out, "merged.json")}},
		} {
			args := c.args
			var code int
			var msg string
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			p := catchPanic(func() { code, _, msg = wfbench(t, args...) })
			runtime.ReadMemStats(&after)
			name := c.what + " " + filepath.Base(b.path)
			switch {
			case p != nil:
				t.Errorf("%v: panicked: %v", args, p)
				continue
			case code != exitUsage:
				t.Errorf("%s: exit %d (%s), want 2", name, code, msg)
			case !strings.Contains(msg, b.path) || !strings.Contains(msg, b.want):
				t.Errorf("%s: message %q does not name %s and say %q", name, msg, b.path, b.want)
			}
			n := after.TotalAlloc - before.TotalAlloc
			if n > 16<<20 {
				t.Errorf("%s: allocated %.1f MB", name, float64(n)/(1<<20))
			}
			t.Logf("%s: %.0f KB allocated; %s", name, float64(n)/1024, msg)
		}
	}
}

func catchPanic(f func()) (p any) {
	defer func() { p = recover() }()
	f()
	return nil
}
