package bench

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// The driver's client keeps its connections: 200 calls from 4 goroutines over 4
// connections open 4 and no more; an answer with Connection: close is read and its
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
	if len(conns) != 4 {
		t.Errorf("%d connections for 4 callers, want 4", len(conns))
	}
	if _, err := h.do(ctx, http.MethodPost, "/close", nil, []byte("x"), false); err != nil {
		t.Fatal(err)
	}
	if n := len(h.idle); n != 3 {
		t.Errorf("%d idle connections after a Connection: close answer, want 3", n)
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err := h.do(cctx, http.MethodPost, "/stall", nil, []byte("x"), false)
	var ne net.Error
	if !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &ne) && ne.Timeout()) {
		t.Errorf("stalled call: %v, want it ended by its context", err)
	}
}
