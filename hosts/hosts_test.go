package hosts

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain builds the wfbench binary the parts run (a test binary is not wfbench).
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wfbench-hosts-test-")
	if err != nil {
		panic(err)
	}
	bin := filepath.Join(dir, "wfbench")
	build := exec.Command("go", "build", "-o", bin, "../cmd/wfbench")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		panic("build wfbench: " + err.Error())
	}
	os.Setenv("WFBENCH_BINARY", bin)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func netnsOrSkip(t *testing.T) {
	t.Helper()
	if err := checkNetns(); err != nil {
		t.Skip(err)
	}
}

// A cluster's parts run as processes on their hosts: Faktory answers at its own address
// (inside its namespace, reached over its veth), the API at its own, a worker starts;
// killing the worker leaves it not running; Close leaves no namespace and no process.
func TestClusterLifecycle(t *testing.T) {
	for _, mode := range ModeNames {
		t.Run(mode, func(t *testing.T) {
			if mode == ModeNetns {
				netnsOrSkip(t)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c, err := New(ctx, Options{Mode: mode, APIs: 1, Workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fk := c.Host(PartFaktory)
			if err := c.Start(ctx, fk, nil); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(fk.URL, "tcp://"+fk.Addr+":") {
				t.Fatalf("faktory at %q, want on %s", fk.URL, fk.Addr)
			}
			dial(t, strings.TrimPrefix(fk.URL, "tcp://"))
			api := c.Host("api-1")
			if err := c.Start(ctx, api, []string{"FAKTORY_URL=" + fk.URL}); err != nil {
				t.Fatal(err)
			}
			dial(t, strings.TrimPrefix(api.URL, "http://"))
			w := c.Host("worker-2")
			// A host reaches only its veth's other end: Faktory through a forwarder there.
			fwd := forward(t, w.Gateway, strings.TrimPrefix(fk.URL, "tcp://"))
			if err := c.Start(ctx, w, []string{"FAKTORY_URL=tcp://" + fwd, "WORKER_CONCURRENCY=2"}); err != nil {
				t.Fatal(err)
			}
			if err := c.Kill(w); err != nil || c.Running(w) {
				t.Fatalf("kill worker-2: %v, running %v", err, c.Running(w))
			}
			procs := descendants()
			if len(procs) < 3 { // faktory (and its redis-server), the API
				t.Fatalf("processes under the test: %v", procs)
			}
			if err := c.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			if ns, _ := OwnNamespaces(os.Getpid()); mode == ModeNetns && len(ns) > 0 {
				t.Errorf("namespaces left: %v", ns)
			}
			for _, pid := range procs {
				if _, err := os.Stat("/proc/" + pid); err == nil {
					t.Errorf("process %s left running", pid)
				}
			}
		})
	}
}

// Bad options are refused with the accepted form.
func TestNewRefusesBadOptions(t *testing.T) {
	for _, o := range []Options{{Mode: "vm", APIs: 1, Workers: 1}, {Mode: ModeLocal, APIs: 0, Workers: 1}, {Mode: ModeLocal, APIs: 1, Workers: MaxHosts + 1}} {
		if _, err := New(context.Background(), o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

// Without root, netns says why and wraps ErrUnavailable (checked as another user when
// the test runs as root: the check reads the effective uid).
func TestCheckNetnsSaysWhy(t *testing.T) {
	err := checkNetns()
	if os.Geteuid() != 0 && (!errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "root")) {
		t.Errorf("not root: %v", err)
	}
	if os.Geteuid() == 0 && err != nil && !strings.Contains(err.Error(), "ip") {
		t.Errorf("root: %v", err)
	}
}

func dial(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c.Close()
}

// descendants lists the processes under this test process (from /proc).
func descendants() []string {
	parent := map[string]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
		rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
		if f := strings.Fields(rest); len(f) > 1 {
			parent[e.Name()] = f[1]
		}
	}
	var out []string
	for pid := range parent {
		for p := parent[pid]; p != "" && p != "0" && p != "1"; p = parent[p] {
			if p == strconv.Itoa(os.Getpid()) {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// forward relays connections to host:0 on to upstream, until the test ends.
func forward(t *testing.T, host, upstream string) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	return l.Addr().String()
}
