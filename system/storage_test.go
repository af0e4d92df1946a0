package system

import (
	"bytes"
	"context"
	faktory "github.com/contribsys/faktory/client"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// With a data folder the queues outlive the broker: jobs pushed before Stop are there
// after a new start on the same folder. Without one a new start is empty.
func TestBrokerDataDirKeepsQueues(t *testing.T) {
	data := filepath.Join(t.TempDir(), "faktory-data")
	start := func() *Broker {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b, err := StartBroker(ctx, BrokerOptions{DataDir: data})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := start()
	c, err := (Endpoint{Addr: b.Addr()}).Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		j := NewJob("Add", MathArgs{A: float64(i), B: 1, RequestID: "kept-" + strconv.Itoa(i)}, "", "kept", 0)
		if err := c.Push(j); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	b = start()
	defer b.Stop()
	if n := brokerState(t, b).Data.Queues["kept"]; n != 7 {
		t.Errorf("after a restart on the same data folder the queue holds %d jobs, want 7", n)
	}
	if _, err := os.Stat(filepath.Join(data, "faktory.rdb")); err != nil {
		t.Errorf("no snapshot in the data folder: %v", err)
	}
}

// A temporary broker folder whose owner is gone (a run killed with SIGKILL) is removed
// by the next start; one whose owner lives, or without an owner file, is left.
func TestStaleBrokerDirsRemoved(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(owner string) string {
		d, err := os.MkdirTemp("", staleDirPrefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		if owner != "" {
			if err := os.WriteFile(filepath.Join(d, ownerFile), []byte(owner), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	stale := mk(strconv.Itoa(dead.Process.Pid))
	alive := mk(strconv.Itoa(os.Getppid()))
	unowned := mk("")
	startBroker(t)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("a dead run's folder %s is still there (%v)", stale, err)
	}
	for _, d := range []string{alive, unowned} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("folder %s was removed: %v", d, err)
		}
	}
}

// A Faktory URL's password never reaches an error message.
func TestParseFaktoryURLHidesPassword(t *testing.T) {
	for _, raw := range []string{"http://:hunter2@h:1", "tcp://:hunter2@h", "tcp://:hunter2@%zz", "tcp+tls://u:hunter2@/"} {
		_, err := ParseFaktoryURL(raw)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseFaktoryURL(%q): %v, want an error without the password", raw, err)
		}
	}
}

// A gzip body whose header alone is over the body limit is too large (413), not "not
// gzip" (400).
func TestGzipHeaderOverLimit(t *testing.T) {
	b := startBroker(t)
	api := NewAPI(testPool(t, b, 1), APIOptions{MaxBody: 1 << 10})
	base := startAPI(t, api)
	header := []byte{0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 255, 0x00, 0x10} // FEXTRA: 4096 bytes follow
	body := append(header, bytes.Repeat([]byte("x"), 4<<10)...)
	code, ans := postRaw(t, base+"/jobs/batch", body, "Content-Encoding", "gzip")
	if code != http.StatusRequestEntityTooLarge {
		t.Errorf("a 4 KB gzip extra field: %d %s, want 413", code, ans)
	}
}

// A relative data folder is the folder relative to where wfbench runs, as for any path.
func TestBrokerRelativeDataDir(t *testing.T) {
	t.Chdir(t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := StartBroker(ctx, BrokerOptions{DataDir: "data"})
	if err != nil {
		t.Fatalf("StartBroker with a relative data folder: %v", err)
	}
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join("data", "faktory.rdb")); err != nil {
		t.Errorf("no snapshot in ./data: %v", err)
	}
}

// Certificate files in the working directory do not reach the embedded broker: it starts
// and speaks plain TCP wherever wfbench runs.
func TestBrokerIgnoresCertsInWorkingDir(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"private.key.pem", "public.cert.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("not a certificate"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	b := startBroker(t)
	c, err := (Endpoint{Addr: b.Addr()}).Dial(context.Background())
	if err != nil {
		t.Fatalf("plain TCP client: %v", err)
	}
	c.Close()
}

// Pause takes the Faktory server down (dials refused) and Resume brings it back on the
// same address with every job queued before.
func TestBrokerPauseResumeKeepsJobs(t *testing.T) {
	b := startBroker(t)
	ep := Endpoint{Addr: b.Addr()}
	c, err := ep.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := c.Push(NewJob("Add", MathArgs{A: float64(i), B: 1, RequestID: "p-" + strconv.Itoa(i)}, "", "paused", 0)); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	b.Pause()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if c, err := ep.Dial(ctx); err == nil {
		c.Close()
		t.Fatal("dial while paused succeeded")
	}
	if err := b.Resume(); err != nil {
		t.Fatal(err)
	}
	if n := brokerState(t, b).Data.Queues["paused"]; n != 5 {
		t.Errorf("after the restart the queue holds %d jobs, want 5", n)
	}
}

// brokerState is the broker's INFO, asked on a connection of its own.
func brokerState(t *testing.T, b *Broker) *faktory.FaktoryState {
	t.Helper()
	c, err := (Endpoint{Addr: b.Addr()}).Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	state, err := c.CurrentState()
	if err != nil {
		t.Fatal(err)
	}
	return state
}
