package diagnose

import (
	"bufio"
	"context"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	faktory "github.com/contribsys/faktory/client"

	"github.com/wfbench/wfbench/netem"
	"github.com/wfbench/wfbench/system"
)

// startFaktory boots a real embedded Faktory (on its own redis-server) and, with
// rtt > 0, a netem link in front of it; it returns the broker and the address to dial.
func startFaktory(t *testing.T, opts system.BrokerOptions, rtt time.Duration) (*system.Broker, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := system.StartBroker(ctx, opts)
	if err != nil {
		t.Fatalf("StartBroker: %v", err)
	}
	t.Cleanup(func() { _ = b.Stop() })
	if rtt == 0 {
		return b, b.Addr()
	}
	px := netem.NewProxies()
	t.Cleanup(px.Close)
	l, err := px.Open(netem.Spec{Name: "client-faktory", RTT: rtt}, b.Addr())
	if err != nil {
		t.Fatalf("open link: %v", err)
	}
	return b, l.Addr()
}

// state is Faktory's INFO, read directly from the broker (never through the link or
// the recorder).
func state(t *testing.T, b *system.Broker) *faktory.FaktoryState {
	t.Helper()
	c, err := system.Endpoint{Addr: b.Addr()}.Dial(context.Background())
	if err != nil {
		t.Fatalf("dial broker: %v", err)
	}
	defer c.Close()
	st, err := c.CurrentState()
	if err != nil {
		t.Fatalf("INFO: %v", err)
	}
	return st
}

// seed gives the broker other applications' queues, which diagnose must leave as they
// are.
func seed(t *testing.T, b *system.Broker, queues map[string]int) {
	t.Helper()
	c, err := system.Endpoint{Addr: b.Addr()}.Dial(context.Background())
	if err != nil {
		t.Fatalf("dial broker: %v", err)
	}
	defer c.Close()
	for q, n := range queues {
		for range n {
			j := faktory.NewJob("app_job", 1)
			j.Queue = q
			if err := c.Push(j); err != nil {
				t.Fatalf("seed %s: %v", q, err)
			}
		}
	}
}

// recorder is a TCP proxy that logs the verb of every command clients send to Faktory
// through it (QUEUE with its subcommand: QUEUE LATENCY reads, QUEUE REMOVE writes).
type recorder struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	verbs    map[string]int
	wg       sync.WaitGroup
}

func startRecorder(t *testing.T, upstream string) *recorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{ln: ln, upstream: upstream, verbs: map[string]int{}}
	r.wg.Add(1)
	go r.accept()
	t.Cleanup(func() { _ = ln.Close(); r.wg.Wait() })
	return r
}

func (r *recorder) addr() string { return r.ln.Addr().String() }

func (r *recorder) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.wg.Add(1)
		go r.serve(c)
	}
}

// serve forwards one connection, reading the client's side a line (a command) at a
// time.
func (r *recorder) serve(c net.Conn) {
	defer r.wg.Done()
	defer c.Close()
	up, err := net.Dial("tcp", r.upstream)
	if err != nil {
		return
	}
	defer up.Close()
	go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			r.note(line)
			if _, werr := io.WriteString(up, line); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (r *recorder) note(line string) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return
	}
	verb := f[0]
	if verb == "QUEUE" && len(f) > 1 {
		verb += " " + f[1]
	}
	r.mu.Lock()
	r.verbs[verb]++
	r.mu.Unlock()
}

// seen is every verb recorded, sorted.
func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for v := range r.verbs {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// startAPI runs the reference API on a pool to the broker, enqueueing into queue.
func startAPI(t *testing.T, b *system.Broker, queue string) *system.API {
	t.Helper()
	pool, err := system.NewPool(system.Endpoint{Addr: b.Addr()}, 4)
	if err != nil {
		t.Fatal(err)
	}
	api := system.NewAPI(pool, system.APIOptions{Queue: queue})
	if err := api.Start(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = api.Stop(ctx)
		pool.Close()
	})
	return api
}

// measurement finds a measurement by name.
func measurement(d *Diagnosis, name string) (Measurement, bool) {
	for _, m := range d.Measurements {
		if m.Name == name {
			return m, true
		}
	}
	return Measurement{}, false
}
