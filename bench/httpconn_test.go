package bench

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The driver's client keeps its connections: 200 calls from 4 goroutines open at most
// 4; an answer with Connection: close is read and its
// connection not reused; an ended context ends a call stuck on a silent server.
func TestHTTPConns(t *testing.T) {
	var mu sync.Mutex
	conns := map[string]bool{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		conns[r.RemoteAddr] = true
		mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/close":
			w.Header().Set("Connection", "close")
		case "/stall":
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write(body)
	}))
	srv.Start()
	defer srv.Close()
	h := newHTTPConns(srv.Listener.Addr().String(), 4)
	defer h.close()
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				body := []byte{byte('a' + g), byte('0' + i%10)}
				ans, err := h.do(ctx, http.MethodPost, "/echo", []string{"X-Test", "1"}, body, false)
				if err != nil || ans.status != http.StatusAccepted || string(ans.body) != string(body) {
					t.Errorf("call: %+v %v", ans, err)
					return
				}
			}
		})
	}
	wg.Wait()
	// Kept: 200 calls over at most one connection per caller (fewer when the callers
	// happen to take turns).
	opened := len(conns)
	if opened < 1 || opened > 4 {
		t.Errorf("%d connections for 200 calls of 4 callers, want 1 to 4", opened)
	}
	if n := len(h.idle); n != opened {
		t.Errorf("%d idle connections after the calls, want all %d", n, opened)
	}
	if _, err := h.do(ctx, http.MethodPost, "/close", nil, []byte("x"), false); err != nil {
		t.Fatal(err)
	}
	if n := len(h.idle); n != opened-1 {
		t.Errorf("%d idle connections after a Connection: close answer, want %d", n, opened-1)
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err := h.do(cctx, http.MethodPost, "/stall", nil, []byte("x"), false)
	var ne net.Error
	if !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &ne) && ne.Timeout()) {
		t.Errorf("stalled call: %v, want it ended by its context", err)
	}
}

// A connection the server closed while idle (its idle timeout, or a link fault lifted)
// is not reused: the next call dials anew and succeeds.
func TestHTTPConnsServerClosedIdle(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	h := newHTTPConns(srv.Listener.Addr().String(), 1)
	defer h.close()
	ctx := context.Background()
	if _, err := h.do(ctx, http.MethodPost, "/x", nil, []byte("a"), false); err != nil {
		t.Fatal(err)
	}
	srv.CloseClientConnections()
	c := <-h.idle
	c.idle = c.idle.Add(-2 * peekAfter) // idle long enough to be checked
	h.idle <- c
	if ans, err := h.do(ctx, http.MethodPost, "/x", nil, []byte("a"), false); err != nil || ans.status != http.StatusAccepted {
		t.Errorf("call after the server closed the idle connection: %+v %v, want a new connection", ans, err)
	}
}

// Warming a target whose server accepts but never answers ends with its context.
func TestAPITargetWarmEndsWithContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	tgt := newAPITarget("http://"+ln.Addr().String(), "run", "", 2, false)
	defer tgt.close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := tgt.warm(ctx, 2); err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("warm against a silent server: %v after %s, want an error once the context ends", err, time.Since(start))
	}
}

// Answers framed every way a server may frame them read back whole: by Content-Length,
// chunked (with a trailer), gzip-encoded and chunked, 204 without a body, and HTTP/1.0
// up to the close.
func TestHTTPConnsAnswerFraming(t *testing.T) {
	big := strings.Repeat("wfbench ", 2000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/length":
			w.Header().Set("Content-Length", "5")
			_, _ = io.WriteString(w, "hello")
		case "/chunked":
			w.Header().Set("Trailer", "X-Done")
			_, _ = io.WriteString(w, big[:100])
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, big[100:])
			w.Header().Set("X-Done", "yes")
		case "/gzip":
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			_, _ = io.WriteString(zw, big)
			_ = zw.Close()
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	h := newHTTPConns(srv.Listener.Addr().String(), 1)
	defer h.close()
	for path, want := range map[string]string{"/length": "hello", "/chunked": big, "/gzip": big, "/empty": ""} {
		for range 2 { // the second call reuses the connection: the first must have read all
			ans, err := h.do(context.Background(), http.MethodGet, path, nil, nil, path == "/gzip")
			if err != nil || string(ans.body) != want {
				t.Errorf("GET %s: %d bytes, %v; want %d bytes", path, len(ans.body), err, len(want))
			}
		}
	}
	// HTTP/1.0, no length: the body ends with the connection, which is not reused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_, _ = bufio.NewReader(c).ReadString('\n')
		_, _ = io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
		_ = c.Close()
	}()
	h10 := newHTTPConns(ln.Addr().String(), 1)
	defer h10.close()
	ans, err := h10.do(context.Background(), http.MethodGet, "/", nil, nil, false)
	if err != nil || string(ans.body) != "until the end" || len(h10.idle) != 0 {
		t.Errorf("HTTP/1.0 answer: %q, %v, %d idle; want the body and no reuse", ans.body, err, len(h10.idle))
	}
}
