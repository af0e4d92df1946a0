// Package testservers starts the official servers wfbench's tests talk to (built from
// their own modules), so that tests of different packages share one way to do it.
package testservers

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	tpclient "github.com/Shopify/toxiproxy/v2/client"
)

// Toxiproxy builds the official server from the module's toxiproxy and starts it on
// a free loopback port; it is killed when the test ends. It returns the API's URL.
func Toxiproxy(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "toxiproxy-server")
	gotool, err := exec.LookPath("go") // go test puts GOROOT/bin first on PATH
	if err != nil {
		t.Skipf("cannot build the official toxiproxy server: no go tool on PATH (%v)", err)
	}
	if out, err := exec.Command(gotool, "build", "-o", bin, "github.com/Shopify/toxiproxy/v2/cmd/server").CombinedOutput(); err != nil {
		t.Skipf("cannot build the official toxiproxy server (go build github.com/Shopify/toxiproxy/v2/cmd/server): %v\n%s", err, out)
	}
	log, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	for range 3 { // the free port can be taken before the server binds it: try another
		port := FreePort(t)
		srv := exec.Command(bin, "-host", "127.0.0.1", "-port", port)
		srv.Stdout, srv.Stderr = log, log
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = srv.Wait(); close(exited) }()
		t.Cleanup(func() { _ = srv.Process.Kill(); <-exited })
		url := "http://127.0.0.1:" + port
		c := tpclient.NewClient(url)
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			select {
			case <-exited:
			default:
				if _, err := c.Version(); err != nil {
					continue
				}
				return url
			}
			break
		}
	}
	out, _ := os.ReadFile(log.Name())
	t.Fatalf("the toxiproxy server did not start:\n%s", out)
	return ""
}

// FreePort is a loopback port free at the time of asking.
func FreePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
