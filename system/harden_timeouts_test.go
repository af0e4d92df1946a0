package system

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// trickle opens a connection to addr, sends head at once, then slow one byte every
// `every`; it returns how long after head the server ended the exchange (closed the
// connection, or answered and closed it) and how many bytes of slow it had taken. A
// server that never ends it is given up on after giveUp.
func trickle(t *testing.T, addr, head, slow string, every, giveUp time.Duration) (time.Duration, int) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var sent atomic.Int64
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(every) // the slow client's pace, not a synchronisation
		defer tick.Stop()
		for i := range len(slow) {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := io.WriteString(conn, slow[i:i+1]); err != nil {
				return
			}
			sent.Add(1)
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(giveUp))
	_, err = io.Copy(io.Discard, conn) // until the server closes
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("the server still held the connection after %s (%d of %d slow bytes taken)", giveUp, sent.Load(), len(slow))
	}
	return time.Since(start), int(sent.Load())
}

// testTimeouts are short, so that each cut-off shows within a test's patience.
var testTimeouts = HTTPTimeouts{ReadHeader: 300 * time.Millisecond, Read: 600 * time.Millisecond, Write: 5 * time.Second, Idle: 300 * time.Millisecond}

// Slow clients are cut off: a header sent a byte at a time (slowloris), a body sent a
// byte at a time, a keep-alive connection left idle. Before, only the header had a
// timeout (10 s); a slow body or an idle connection held a goroutine and a descriptor
// for as long as the client liked.
func TestAPISlowClientsCutOff(t *testing.T) {
	b := startBroker(t)
	api := NewAPI(testPool(t, b, 1), APIOptions{Timeouts: testTimeouts})
	startAPI(t, api)
	const every, giveUp = 20 * time.Millisecond, 5 * time.Second
	slowHeader := strings.Repeat("X-Pad: slowloris\r\n", 20) + "\r\n" // 7 s at this pace
	t.Run("header", func(t *testing.T) {
		took, sent := trickle(t, api.Addr(), "POST /jobs/add HTTP/1.1\r\nHost: x\r\n", slowHeader, every, giveUp)
		if sent == len(slowHeader) || took > testTimeouts.ReadHeader+2*time.Second {
			t.Errorf("slow header: ended after %s with %d of %d bytes taken, want cut off near %s", took, sent, len(slowHeader), testTimeouts.ReadHeader)
		}
	})
	t.Run("body", func(t *testing.T) {
		body := `{"a":1,"b":2,"request_id":"` + strings.Repeat("s", 100) + `"}` // 2.6 s at this pace
		head := fmt.Sprintf("POST /jobs/add HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		took, sent := trickle(t, api.Addr(), head, body, every, giveUp)
		if sent == len(body) || took > testTimeouts.Read+2*time.Second {
			t.Errorf("slow body: ended after %s with %d of %d bytes taken, want cut off near %s", took, sent, len(body), testTimeouts.Read)
		}
	})
	t.Run("idle", func(t *testing.T) {
		took, _ := trickle(t, api.Addr(), "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n", "", every, giveUp)
		if took > testTimeouts.Idle+2*time.Second {
			t.Errorf("idle keep-alive connection closed after %s, want near %s", took, testTimeouts.Idle)
		}
	})
}

// The defaults let the largest body the API accepts arrive, and its answer leave, over
// the slowest link the scenarios emulate (64 KB/s).
func TestDefaultHTTPTimeouts(t *testing.T) {
	d := DefaultHTTPTimeouts(8 << 20)
	transfer := time.Duration(8<<20) * time.Second / 64_000
	if d.Read < d.ReadHeader+transfer || d.Write < d.Read+transfer || d.Idle <= 0 || d.ReadHeader <= 0 {
		t.Errorf("defaults for 8 MiB bodies: %+v, want a 8 MiB body (%s at 64 KB/s) to fit in read and write", d, transfer)
	}
}

// A header block past 64 KiB gets 431 (Go's default limit is 1 MiB plus 4 KiB of slack,
// so a 1 MiB header was read in full and a 256 KiB one served).
func TestAPIHeaderLimit(t *testing.T) {
	b := startBroker(t)
	base := startAPI(t, NewAPI(testPool(t, b, 1), APIOptions{}))
	for _, size := range []int{256 << 10, 1 << 20} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/ping", nil)
		req.Header.Set("X-Big", strings.Repeat("h", size))
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err != nil {
			t.Errorf("%d KiB header: %v, want a 431 answer", size>>10, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%d KiB header: %s, want 431", size>>10, resp.Status)
		}
	}
}

// request_id (in a body or a GET path) and X-Wfbench-Run are bounded and printable;
// anything else is a 400 with the accepted form.
func TestAPIIDLimits(t *testing.T) {
	b := startBroker(t)
	base := startAPI(t, NewAPI(testPool(t, b, 1), APIOptions{Results: NewResultStore(10)}))
	huge := strings.Repeat("r", 100<<10)
	for _, tc := range []struct {
		name, path, body, run string
		code                  int
	}{
		{"100 KB request_id", "/jobs/add", `{"a":1,"b":2,"request_id":"` + huge + `"}`, "", 400},
		{"129 byte request_id", "/jobs/add", `{"a":1,"b":2,"request_id":"` + strings.Repeat("r", 129) + `"}`, "", 400},
		{"request_id with a space", "/jobs/add", `{"a":1,"b":2,"request_id":"a b"}`, "", 400},
		{"request_id with a newline", "/jobs/add", `{"a":1,"b":2,"request_id":"a\nb"}`, "", 400},
		{"batch with a 100 KB request_id", "/jobs/batch", `{"jobs":[{"type":"add","a":1,"b":2,"request_id":"` + huge + `"}]}`, "", 400},
		{"128 byte request_id", "/jobs/add", `{"a":1,"b":2,"request_id":"` + strings.Repeat("r", 128) + `"}`, "", 202},
		{"65 byte run", "/jobs/add", `{"a":1,"b":2}`, strings.Repeat("u", 65), 400},
		{"run with a space", "/jobs/batch", `{"jobs":[{"type":"add","a":1,"b":2}]}`, "a b", 400},
		{"64 byte run", "/jobs/add", `{"a":1,"b":2}`, strings.Repeat("u", 64), 202},
	} {
		hdr := []string{}
		if tc.run != "" {
			hdr = append(hdr, HeaderRun, tc.run)
		}
		code, ans := postRaw(t, base+tc.path, []byte(tc.body), hdr...)
		if code != tc.code || (code == 400 && !strings.Contains(ans, "accepted is")) || len(ans) > 1000 {
			t.Errorf("%s: %d %.200s, want %d (a 400 with the accepted form, without echoing the id)", tc.name, code, ans, tc.code)
		}
	}
	resp, err := http.Get(base + "/jobs/" + strings.Repeat("g", 200))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET a 200 byte request_id: %s, want 400", resp.Status)
	}
}
