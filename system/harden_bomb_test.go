package system

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
)

// gzipBomb is a gzip body of {"<key>":[{},{},...]} with n empty objects: a few KB that
// inflate to 3n bytes.
func gzipBomb(t *testing.T, key string, n int) []byte {
	t.Helper()
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	chunk := []byte(strings.Repeat("{},", 4096))
	_, _ = zw.Write([]byte(`{"` + key + `":[`))
	for left := n - 1; left > 0; left -= min(left, 4096) {
		_, _ = zw.Write(chunk[:3*min(left, 4096)])
	}
	_, _ = zw.Write([]byte(`{}]}`))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// postRaw sends body to url as JSON with the given headers and returns the status and answer.
func postRaw(t *testing.T, url string, body []byte, hdr ...string) (int, string) {
	t.Helper()
	code, data, _ := request(t, http.MethodPost, url, bytes.NewReader(body), 30*time.Second, append([]string{"Content-Type", "application/json"}, hdr...)...)
	return code, string(data)
}

// A gzip body of ~8 KB inflating to a batch of 2.7M empty objects (just under the 8 MiB
// body limit) is refused with 413 once the items pass MaxBatch, without decoding the
// rest: before, the API allocated ~460 MB decoding all of them, then counted. The same
// for POST /completions, whose list had no bound at all.
func TestGzipBatchBomb(t *testing.T) {
	b := startBroker(t)
	api := NewAPI(testPool(t, b, 1), APIOptions{})
	base := startAPI(t, api)
	const n = 2_700_000
	for _, tc := range []struct{ path, key string }{{"/jobs/batch", "jobs"}, {"/completions", "completions"}} {
		body := gzipBomb(t, tc.key, n)
		t.Logf("%s bomb: %d bytes gzip, %d inflated", tc.path, len(body), 3*n+len(tc.key)+4)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		code, ans := postRaw(t, base+tc.path, body, "Content-Encoding", "gzip")
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: %d, %.1f MB allocated while it was handled", tc.path, code, float64(alloc)/(1<<20))
		if code != http.StatusRequestEntityTooLarge {
			t.Errorf("%s bomb: %d %s, want 413", tc.path, code, ans)
		}
		if alloc > 64<<20 {
			t.Errorf("%s bomb: %.0f MB allocated, want under 64 MB", tc.path, float64(alloc)/(1<<20))
		}
	}
}

// The compressed body is bounded too: a stream of empty gzip members inflates to
// nothing, so only a limit on the bytes as sent ends it (413, not a read to the end).
func TestGzipCompressedLimit(t *testing.T) {
	b := startBroker(t)
	api := NewAPI(testPool(t, b, 1), APIOptions{MaxBody: 64 << 10})
	base := startAPI(t, api)
	var empty bytes.Buffer
	zw := gzip.NewWriter(&empty)
	_ = zw.Close()
	body := bytes.Repeat(empty.Bytes(), (128<<10)/empty.Len())
	code, ans := postRaw(t, base+"/jobs/batch", body, "Content-Encoding", "gzip")
	if code != http.StatusRequestEntityTooLarge {
		t.Errorf("%d KB of empty gzip members: %d %s, want 413", len(body)>>10, code, ans)
	}
}

// Streaming the batch keeps the old answers for malformed bodies: each a 400 naming
// what is wrong, and the count limit a 413 naming the limit.
func TestBatchStreamForms(t *testing.T) {
	b := startBroker(t)
	api := NewAPI(testPool(t, b, 1), APIOptions{MaxBatch: 2})
	h := api.Handler()
	for _, tc := range []struct {
		body string
		code int
		want string
	}{
		{`{"jobs":null}`, 400, "empty batch"},
		{`{}`, 400, "empty batch"},
		{`{"jobs":5}`, 400, "must be an array"},
		{`{"jobs":[{"type":"add","a":1,"b":1}],"x":1}`, 400, `unknown or repeated field \"x\"`},
		{`{"jobs":[],"jobs":[]}`, 400, "repeated"},
		{`{"jobs":[{"type":"add","a":1,"b":1,"c":3}]}`, 400, `unknown field \"c\"`},
		{`{"jobs":[{"type":"add","a":1,"b":1}]}{}`, 400, "trailing"},
		{`{"jobs":[{"type":"add","a":1,"b":1}`, 400, "invalid JSON"},
		{`[]`, 400, "invalid JSON"},
		{`{"jobs":[{},{},{}]}`, 413, "FAKTORY_MAX_BATCH_SIZE=2"},
		{`{"Jobs":[{"type":"add","a":1,"b":1}]}`, 202, ""},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/jobs/batch", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: %d %s, want %d mentioning %q", tc.body, rec.Code, rec.Body, tc.code, tc.want)
		}
	}
}
