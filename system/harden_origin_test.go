package system

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// send makes one request to a running API with the given headers (name, value pairs)
// and returns the status, the answer and its headers.
func send(t *testing.T, method, url, body string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	code, data, h := request(t, method, url, rd, 10*time.Second, hdr...)
	return code, string(data), h
}

const jsonCT = "application/json"

// A browser's cross-origin POST (Sec-Fetch-Site: cross-site, or an Origin that is not
// the API's host) is refused with 403, so a web page cannot enqueue jobs or forge
// completions through a visitor's browser; clients that are not browsers (no Origin,
// no Sec-Fetch-Site: wfbench's driver, curl) and same-origin requests still work, and
// reads are not affected.
func TestAPICrossOrigin(t *testing.T) {
	b := startBroker(t)
	api := NewAPI(testPool(t, b, 1), APIOptions{Results: NewResultStore(10)})
	base := startAPI(t, api)
	add, one := base+"/jobs/add", `{"a":1,"b":2}`
	for _, tc := range []struct {
		name, method, url, body string
		hdr                     []string
		code                    int
	}{
		{"cross-site fetch", "POST", add, one, []string{"Content-Type", jsonCT, "Sec-Fetch-Site", "cross-site"}, 403},
		{"same-site other origin", "POST", add, one, []string{"Content-Type", jsonCT, "Sec-Fetch-Site", "same-site"}, 403},
		{"old browser, other origin", "POST", add, one, []string{"Content-Type", jsonCT, "Origin", "http://evil.example"}, 403},
		{"cross-site batch", "POST", base + "/jobs/batch", `{"jobs":[{"type":"add","a":1,"b":1}]}`, []string{"Content-Type", jsonCT, "Sec-Fetch-Site", "cross-site"}, 403},
		{"cross-site completions", "POST", base + "/completions", `{"completions":[]}`, []string{"Content-Type", jsonCT, "Origin", "http://evil.example"}, 403},
		{"no browser headers", "POST", add, one, []string{"Content-Type", jsonCT}, 202},
		{"same origin", "POST", add, one, []string{"Content-Type", jsonCT, "Sec-Fetch-Site", "same-origin", "Origin", base}, 202},
		{"old browser, same origin", "POST", add, one, []string{"Content-Type", jsonCT, "Origin", base}, 202},
		{"cross-site read", "GET", base + "/jobs/nope", "", []string{"Sec-Fetch-Site", "cross-site"}, 404},
	} {
		code, ans, _ := send(t, tc.method, tc.url, tc.body, tc.hdr...)
		if code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, code, ans, tc.code)
		}
		if code == 403 && !strings.Contains(ans, `"error"`) {
			t.Errorf("%s: 403 %q, want a JSON error saying why", tc.name, ans)
		}
	}
}

// The POST endpoints take JSON: a form's or a text body's Content-Type gets 415 (an
// HTML form can post text/plain that happens to be JSON without a preflight).
func TestAPIContentType(t *testing.T) {
	b := startBroker(t)
	base := startAPI(t, NewAPI(testPool(t, b, 1), APIOptions{}))
	for _, tc := range []struct {
		path, ct string
		code     int
	}{
		{"/jobs/add", "text/plain", 415},
		{"/jobs/add", "application/x-www-form-urlencoded", 415},
		{"/jobs/batch", "multipart/form-data; boundary=x", 415},
		{"/completions", "text/plain;charset=UTF-8", 415},
		{"/jobs/add", "application/jsonx", 415},
		{"/jobs/add", "application/json; charset=utf-8", 202},
		{"/jobs/add", "Application/JSON", 202},
	} {
		body := `{"a":1,"b":2}`
		switch tc.path {
		case "/jobs/batch":
			body = `{"jobs":[{"type":"add","a":1,"b":1}]}`
		case "/completions":
			body = `{"completions":[]}`
		}
		code, ans, _ := send(t, "POST", base+tc.path, body, "Content-Type", tc.ct)
		if code != tc.code || (code == 415 && !strings.Contains(ans, "application/json")) {
			t.Errorf("POST %s as %q: %d %s, want %d", tc.path, tc.ct, code, ans, tc.code)
		}
	}
}

const testToken = "t0ken-of-sixteen-or-more"

// With a token set, every endpoint but /healthz and /ping needs Authorization: Bearer
// <token> (401 and WWW-Authenticate otherwise).
func TestAPIToken(t *testing.T) {
	b := startBroker(t)
	results := NewResultStore(10)
	base := startAPI(t, NewAPI(testPool(t, b, 1), APIOptions{Token: testToken, Results: results}))
	good := []string{"Authorization", "Bearer " + testToken, "Content-Type", jsonCT}
	for _, tc := range []struct {
		name, method, path, body string
		hdr                      []string
		code                     int
	}{
		{"add without", "POST", "/jobs/add", `{"a":1,"b":2,"request_id":"tok-1"}`, []string{"Content-Type", jsonCT}, 401},
		{"add wrong", "POST", "/jobs/add", `{"a":1,"b":2}`, []string{"Authorization", "Bearer " + testToken + "x", "Content-Type", jsonCT}, 401},
		{"add prefix", "POST", "/jobs/add", `{"a":1,"b":2}`, []string{"Authorization", "Bearer " + testToken[:8], "Content-Type", jsonCT}, 401},
		{"add basic", "POST", "/jobs/add", `{"a":1,"b":2}`, []string{"Authorization", "Basic " + testToken, "Content-Type", jsonCT}, 401},
		{"add", "POST", "/jobs/add", `{"a":1,"b":2,"request_id":"tok-1"}`, good, 202},
		{"add, scheme in lower case", "POST", "/jobs/add", `{"a":1,"b":2}`, []string{"Authorization", "bearer " + testToken, "Content-Type", jsonCT}, 202},
		{"batch without", "POST", "/jobs/batch", `{"jobs":[{"type":"add","a":1,"b":1}]}`, []string{"Content-Type", jsonCT}, 401},
		{"completions without", "POST", "/completions", `{"completions":[]}`, []string{"Content-Type", jsonCT}, 401},
		{"completions", "POST", "/completions", `{"completions":[]}`, good, 204},
		{"result without", "GET", "/jobs/tok-1", "", nil, 401},
		{"result", "GET", "/jobs/tok-1", "", good, 200},
		{"metrics without", "GET", "/metrics", "", nil, 401},
		{"metrics", "GET", "/metrics", "", good, 200},
		{"healthz", "GET", "/healthz", "", nil, 200},
		{"ping", "GET", "/ping", "", nil, 204},
	} {
		code, ans, h := send(t, tc.method, base+tc.path, tc.body, tc.hdr...)
		if code != tc.code {
			t.Errorf("%s: %d %.200s, want %d", tc.name, code, ans, tc.code)
		}
		if code == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: 401 without WWW-Authenticate: Bearer", tc.name)
		}
	}
}

// API_TOKEN reaches the API that serve starts, and a standalone worker's completion
// sink sends it.
func TestAPITokenKnob(t *testing.T) {
	cfg, err := ConfigFromEnv(DefaultConfig(), func(k string) (string, bool) {
		if k == "API_TOKEN" {
			return testToken, true
		}
		return "", false
	})
	if err != nil || cfg.APIToken != testToken {
		t.Fatalf("API_TOKEN from the environment: %q %v", cfg.APIToken, err)
	}
	if err := SetKnob(&cfg, "API_TOKEN", "short"); err == nil || !strings.Contains(err.Error(), "accepted is") {
		t.Errorf("a 5 character API_TOKEN: %v, want refused with the accepted form", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := StartStandalone(ctx, cfg, ServeOptions{Parts: []string{PartFaktory, PartAPI}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	base := "http://" + st.API.Addr()
	if code, ans, _ := send(t, "POST", base+"/jobs/add", `{"a":1,"b":2}`, "Content-Type", jsonCT); code != 401 {
		t.Errorf("serve's API with API_TOKEN, no token: %d %s, want 401", code, ans)
	}
	// A worker reporting to that API with the same API_TOKEN gets its completions in.
	cfg.WorkerReportURL = base + "/completions"
	cfg.WorkerPoll, cfg.PollInterval = PollFixed, 50*time.Millisecond
	if err := st.StartWorker(ctx, cfg, nil); err != nil {
		t.Fatal(err)
	}
	if code, ans, _ := send(t, "POST", base+"/jobs/add", `{"a":1,"b":2,"request_id":"knob-1"}`, "Content-Type", jsonCT, "Authorization", "Bearer "+testToken); code != 202 {
		t.Fatalf("with the token: %d %s", code, ans)
	}
	for {
		if r, ok := st.Results.Get("knob-1"); ok && r.Status == StatusDone {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the job's completion never reached the result store")
		case <-time.After(10 * time.Millisecond): // polling the store, with a deadline
		}
	}
	if err := st.remote.Close(ctx); err != nil {
		t.Errorf("the worker's completion sink: %v", err)
	}
}
