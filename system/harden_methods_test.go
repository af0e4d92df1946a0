package system

import (
	"testing"
)

// Every endpoint answers a method it does not take (PUT, DELETE and PATCH everywhere, GET
// on /completions) with 405 and the methods it does take (Allow), whatever the body:
// nothing is enqueued and no result recorded.
func TestAPIWrongMethods(t *testing.T) {
	b := startBroker(t)
	results := NewResultStore(10)
	base := startAPI(t, NewAPI(testPool(t, b, 1), APIOptions{Results: results}))
	one := `{"a":1,"b":2,"request_id":"wrong-method"}`
	type call struct{ method, path string }
	var calls []call
	for _, path := range []string{"/jobs/add", "/jobs/batch", "/jobs/some-id", "/completions", "/healthz", "/metrics", "/ping"} {
		for _, m := range []string{"PUT", "DELETE", "PATCH"} {
			calls = append(calls, call{m, path})
		}
	}
	calls = append(calls, call{"GET", "/completions"})
	for _, c := range calls {
		code, ans, hdr := send(t, c.method, base+c.path, one, "Content-Type", jsonCT)
		if code != 405 || hdr.Get("Allow") == "" {
			t.Errorf("%s %s: %d (Allow %q) %s, want 405 naming the allowed methods", c.method, c.path, code, hdr.Get("Allow"), ans)
		}
	}
	if n := queued(t, Endpoint{Addr: b.Addr()}); n != 0 {
		t.Errorf("%d jobs enqueued by requests with a wrong method", n)
	}
	if r, ok := results.Get("wrong-method"); ok {
		t.Errorf("a result recorded for a request with a wrong method: %+v", r)
	}
}
