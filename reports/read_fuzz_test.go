package reports

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/adler32"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// rawHist is a V2 compressed histogram as a file could hold it, header and counts
// written as given, whatever the library would make of them.
type rawHist struct {
	sig             int32
	lowest, highest int64
	payload         []byte // the ZigZag LEB128 counts
	payloadLen      *int32 // the header's payload length (default: the payload's)
	compressedLen   *int32 // the outer length field (default: the zlib stream's)
	cookie          int32  // the inner cookie (default: V2's)
}

func (r rawHist) encode(t testing.TB) string {
	t.Helper()
	var inner bytes.Buffer
	cookie := r.cookie
	if cookie == 0 {
		cookie = 0x1c849303 | 0x10
	}
	plen := int32(len(r.payload))
	if r.payloadLen != nil {
		plen = *r.payloadLen
	}
	for _, v := range []any{cookie, plen, int32(1), r.sig, r.lowest, r.highest, 1.0} {
		_ = binary.Write(&inner, binary.BigEndian, v)
	}
	inner.Write(r.payload)
	return encodeOuter(t, zlibBytes(t, inner.Bytes()), r.compressedLen)
}

func zlibBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	w, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}

// encodeOuter wraps a zlib stream in the outer cookie and length, base64.
func encodeOuter(t testing.TB, compressed []byte, length *int32) string {
	t.Helper()
	var out bytes.Buffer
	n := int32(len(compressed))
	if length != nil {
		n = *length
	}
	_ = binary.Write(&out, binary.BigEndian, int32(0x1c849304|0x10))
	_ = binary.Write(&out, binary.BigEndian, n)
	out.Write(compressed)
	return base64.StdEncoding.EncodeToString(out.Bytes())
}

// zz appends v in the V2 ZigZag LEB128 form (a negative value is a run of zeros).
func zz(b []byte, vs ...int64) []byte {
	for _, v := range vs {
		b = binary.AppendUvarint(b, uint64((v<<1)^(v>>63)))
	}
	return b
}

func i32(v int32) *int32 { return &v }

// badHistograms are encodings a result file could hold that the library panics on,
// allocates far too much for, or reads as something no wfbench wrote; want is a word
// the error must contain.
func badHistograms(t testing.TB) []struct{ name, enc, want string } {
	good := rawHist{sig: 3, lowest: 1, highest: HistMaxUS}
	with := func(f func(*rawHist)) string {
		r := good
		f(&r)
		return r.encode(t)
	}
	short := base64.StdEncoding.EncodeToString([]byte{0x1c, 0x84, 0x93})
	bomb := bytes.Repeat([]byte{0x01}, 16<<20) // 16 MiB of one-zero runs: no count at all
	return []struct{ name, enc, want string }{
		{"empty", "", "empty"},
		{"not base64", "HISTF!!!not base64", "base64"},
		{"shorter than its cookie", short, "short"},
		{"negative compressed length", with(func(r *rawHist) { r.compressedLen = i32(-5) }), "length"},
		{"compressed length beyond the data", with(func(r *rawHist) { r.compressedLen = i32(1 << 30) }), "length"},
		{"not zlib", encodeOuter(t, []byte("definitely not zlib data"), nil), "zlib"},
		{"header cut short", encodeOuter(t, zlibBytes(t, []byte{0x1c, 0x84, 0x93, 0x13, 0, 0}), nil), "header"},
		{"wrong inner cookie", with(func(r *rawHist) { r.cookie = 0x12345678 }), "cookie"},
		{"payload length lies", with(func(r *rawHist) { r.payload = zz(nil, 5); r.payloadLen = i32(99) }), "payload"},
		{"0 significant figures", with(func(r *rawHist) { r.sig = 0 }), "significant"},
		{"9 significant figures", with(func(r *rawHist) { r.sig = 9 }), "significant"},
		{"lowest 0", with(func(r *rawHist) { r.lowest = 0 }), "lowest"},
		{"lowest above highest", with(func(r *rawHist) { r.lowest = 1 << 20; r.highest = 1 << 19 }), "lowest"},
		// Found by fuzzing: the library loops forever (its bucket count shifts to 0).
		{"lowest 2^62 (a hang)", with(func(r *rawHist) { r.lowest = 1<<62 + 1 }), "lowest"},
		{"highest 2^62 (~48 MB of counts)", with(func(r *rawHist) { r.sig = 5; r.highest = 1 << 62 }), "highest"},
		{"highest MaxInt64", with(func(r *rawHist) { r.sig = 5; r.highest = math.MaxInt64 }), "highest"},
		{"5 digits over the whole range", with(func(r *rawHist) { r.sig = 5 }), "counts"},
		{"zero run of 2^40 buckets", with(func(r *rawHist) { r.payload = zz(nil, -(1 << 40), 7) }), "beyond"},
		{"count past the last bucket", with(func(r *rawHist) { r.payload = zz(nil, -23552, 7) }), "beyond"},
		{"zero run of MinInt64", with(func(r *rawHist) { r.payload = zz(nil, 3, math.MinInt64, 7) }), "beyond"},
		{"counts overflow int64", with(func(r *rawHist) { r.payload = zz(nil, math.MaxInt64, 1) }), "overflow"},
		{"varint cut short", with(func(r *rawHist) { r.payload = []byte{0x02, 0x80} }), "truncated"},
		{"zlib bomb (16 MiB)", with(func(r *rawHist) { r.payload = bomb }), "more than"},
	}
}

// catch runs f and returns its panic, if any.
func catch(f func()) (p any) {
	defer func() { p = recover() }()
	f()
	return nil
}

// allocated returns the bytes f allocated on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// maxBadAlloc is what rejecting a bad histogram may allocate: a few MB, whatever its
// header declares.
const maxBadAlloc = 4 << 20

func TestDecodeHistogramRejectsMalformed(t *testing.T) {
	for _, c := range badHistograms(t) {
		var err error
		var p any
		n := allocated(func() { p = catch(func() { _, err = DecodeHistogram(c.enc) }) })
		switch {
		case p != nil:
			t.Errorf("%s: DecodeHistogram panicked: %v", c.name, p)
		case err == nil:
			t.Errorf("%s: no error", c.name)
		case !strings.Contains(err.Error(), c.want):
			t.Errorf("%s: error %q does not say %q", c.name, err, c.want)
		}
		if n > maxBadAlloc {
			t.Errorf("%s: allocated %.1f MB, want at most %d MB", c.name, float64(n)/(1<<20), maxBadAlloc>>20)
		}
		t.Logf("%s: %.0f KB allocated: %v", c.name, float64(n)/1024, err)
	}
}

// A histogram wfbench writes, and the widest a reader accepts, still decode.
func TestDecodeHistogramAcceptsWellFormed(t *testing.T) {
	h := uniform(t, 100, 3, 5000)
	s, err := EncodeHistogram(h)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := DecodeHistogram(s); err != nil || d.TotalCount() != 5000 || d.Max() != h.Max() {
		t.Fatalf("round trip: %v (err %v)", d, err)
	}
	wide := rawHist{sig: 4, lowest: 1, highest: HistMaxUS, payload: zz(nil, -1000, 3, 4)}.encode(t)
	if d, err := DecodeHistogram(wide); err != nil || d.TotalCount() != 7 {
		t.Fatalf("4 digits, 1 µs .. 1 h: %v (err %v)", d, err)
	}
}

// writeBad writes the named malformed result files into dir; want is a word the error
// must contain besides the file's path.
func writeBad(t *testing.T, dir string) []struct{ path, want string } {
	t.Helper()
	good, err := json.MarshalIndent(testResult(t), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var out []struct{ path, want string }
	add := func(name string, data []byte, want string) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, struct{ path, want string }{p, want})
	}
	add("truncated.json", good[:len(good)/2], "ends at byte")
	add("empty.json", nil, "empty")
	add("garbage.json", []byte("\x00\x01PK\x03\x04 not json at all"), "not valid JSON")
	add("array.json", []byte(`[1, 2, 3]`), "cannot unmarshal")
	add("other-schema.json", []byte(`{"schema": "something/v9", "runs": []}`), "schema")
	for i, b := range badHistograms(t) {
		if b.enc == "" {
			continue // an empty histogram is an absent one
		}
		res := testResult(t)
		res.Runs[1].Histograms[PointPickup] = b.enc
		data, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		slug := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			return '-'
		}, b.name)
		add(fmt.Sprintf("hist%02d-%s.json", i, slug), data, "pickup")
	}
	huge := filepath.Join(dir, "huge.json")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(300 << 20); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	out = append(out, struct{ path, want string }{huge, "MiB"})
	return out
}

func TestReadJSONRejectsMalformed(t *testing.T) {
	dir := t.TempDir()
	for _, c := range writeBad(t, dir) {
		var err error
		var p any
		n := allocated(func() { p = catch(func() { _, err = ReadJSON(c.path) }) })
		name := filepath.Base(c.path)
		switch {
		case p != nil:
			t.Errorf("%s: ReadJSON panicked: %v", name, p)
		case err == nil:
			t.Errorf("%s: no error", name)
		case !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.want):
			t.Errorf("%s: error %q does not name the file and say %q", name, err, c.want)
		}
		if n > 16<<20 {
			t.Errorf("%s: allocated %.1f MB reading it", name, float64(n)/(1<<20))
		}
	}
	if _, err := ReadJSON(filepath.Join(dir, "absent.json")); err == nil || !strings.Contains(err.Error(), "absent.json") {
		t.Errorf("absent file: %v", err)
	}
}

// FuzzReadResult feeds the result reader any bytes: it must return a result or an error
// naming the file, never panic. (The reader has decoded every histogram of a result it
// returns; what the library does with one is FuzzDecodeHistogram's part.)
func FuzzReadResult(f *testing.F) {
	// The seed corpus, testdata/fuzz/FuzzReadResult, holds the result.json of real runs
	// (wfbench run --jobs 50; one with --api-url) and a copy cut short.
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := parseResult("fuzz.json", data)
		if errors.Is(err, errLibraryPanic) {
			t.Fatalf("the checks let through a histogram the library panicked on: %v", err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "fuzz.json") {
			t.Fatalf("error %q does not name the file", err)
		}
	})
}

// FuzzDecodeHistogram feeds DecodeHistogram any string: an error or a histogram, never
// a panic, and no panic left for the library's recover to catch. One it accepts must
// survive a round trip.
func FuzzDecodeHistogram(f *testing.F) {
	// The seed corpus, testdata/fuzz/FuzzDecodeHistogram, holds a real run's histograms.
	f.Fuzz(func(t *testing.T, enc string) {
		checkDecode(t, enc)
	})
}

// FuzzDecodeHistogramInflated is FuzzDecodeHistogram past base64 and zlib, which random
// changes to an encoding rarely get through: it fuzzes the inflated header and counts,
// and wraps them as the file would hold them.
func FuzzDecodeHistogramInflated(f *testing.F) {
	// The seed corpus, testdata/fuzz/FuzzDecodeHistogramInflated, holds a real run's
	// histograms inflated.
	f.Fuzz(func(t *testing.T, inflated []byte) {
		checkDecode(t, encodeOuter(t, zlibStored(inflated), nil))
	})
}

// checkDecode decodes enc: the checks must refuse whatever the library would refuse or
// panic on (so that every error is the reader's own, plain one), and a histogram they
// accept must summarise and survive a round trip.
func checkDecode(t *testing.T, enc string) {
	checked := checkHistogram(enc)
	h, err := DecodeHistogram(enc)
	switch {
	case errors.Is(err, errLibraryPanic):
		t.Fatalf("the checks let through a histogram the library panicked on: %v", err)
	case checked == nil && err != nil:
		t.Fatalf("the checks let through a histogram the library refuses: %v", err)
	case err != nil:
		return
	}
	p := PercentilesOf(h)
	again, err := EncodeHistogram(h)
	if err != nil {
		t.Fatalf("accepted, then re-encoding fails: %v", err)
	}
	back, err := DecodeHistogram(again)
	if err != nil || back.TotalCount() != h.TotalCount() || PercentilesOf(back) != p {
		t.Fatalf("round trip: %v, count %d → %v", err, h.TotalCount(), back)
	}
}

// zlibStored wraps b in a zlib stream of stored (uncompressed) blocks: what it inflates
// to is b, and a compressor per input would slow the fuzzer down manyfold.
func zlibStored(b []byte) []byte {
	sum := adler32.Checksum(b)
	out := []byte{0x78, 0x01}
	for first := true; first || len(b) > 0; first = false {
		n := min(len(b), 0xffff)
		final := byte(0)
		if n == len(b) {
			final = 1
		}
		out = append(out, final, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		out = append(out, b[:n]...)
		b = b[n:]
	}
	return binary.BigEndian.AppendUint32(out, sum)
}
