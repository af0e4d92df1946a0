package system

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Body encodings FuzzAPIEnqueue sends.
const (
	fuzzPlain   = iota // the body as given
	fuzzGzip           // the body gzipped, as a client with compression sends it
	fuzzRawGzip        // the body as given, labelled gzip: the gzip reader on garbage
	fuzzEncodings
)

// fuzzAPIs are the APIs FuzzAPIEnqueue sends to, sync and async, over a pool whose
// Faktory is a closed port: every request is decoded and checked as with a live Faktory,
// and one that gets through answers at once, 503 (sync, the breaker failing fast after
// three refused dials) or 202 until the async buffer is full, then 503. Without a broker
// the target runs thousands of requests a second rather than tens.
func fuzzAPIs(t testing.TB) [2]http.Handler {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	pool, err := NewPool(Endpoint{Addr: addr, ConnectTimeout: 200 * time.Millisecond}, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Small limits, so that the fuzzer reaches them: a batch of 5, a body of 64 KiB.
	syncAPI := NewAPI(pool, APIOptions{MaxBatch: 5, MaxBody: 64 << 10})
	asyncAPI := NewAPI(pool, APIOptions{MaxBatch: 5, MaxBody: 64 << 10, Mode: EnqueueAsync, FlushInterval: time.Hour, BufferSize: 50})
	return [2]http.Handler{syncAPI.Handler(), asyncAPI.Handler()}
}

// FuzzAPIEnqueue sends POST /jobs/add or /jobs/batch with any body, plain or gzip, and
// any queue header: the API must answer 2xx, 4xx or 5xx with a JSON object, never panic.
func FuzzAPIEnqueue(f *testing.F) {
	apis := fuzzAPIs(f)
	// The seed corpus, testdata/fuzz/FuzzAPIEnqueue, holds request bodies the driver sent.
	f.Fuzz(func(t *testing.T, batch bool, encoding uint8, async bool, body []byte, queue string) {
		path := "/jobs/add"
		if batch {
			path = "/jobs/batch"
		}
		enc := encoding % fuzzEncodings
		if enc == fuzzGzip {
			body = gzipped(t, body)
		}
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if enc != fuzzPlain {
			req.Header.Set("Content-Encoding", "gzip")
		}
		if queue != "" {
			req.Header.Set(HeaderQueue, queue)
		}
		h := apis[0]
		if async {
			h = apis[1]
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if c := rec.Code; c < 200 || c >= 600 || c >= 300 && c < 400 {
			t.Fatalf("POST %s: status %d, want 2xx, 4xx or 5xx", path, c)
		}
		var answer map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
			t.Fatalf("POST %s: %d, answer %q is not a JSON object: %v", path, rec.Code, rec.Body.Bytes(), err)
		}
	})
}

// gzipped compresses b without compression proper (stored blocks): what the API
// inflates is the same, and a compressor per input would slow the fuzzer tenfold.
func gzipped(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.NoCompression)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
