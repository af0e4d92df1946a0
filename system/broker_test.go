package system

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	faktory "github.com/contribsys/faktory/client"
)

// TestBrokerSurvivesRedisKill kills the embedded redis-server with SIGKILL: the broker
// must report it through Died and Err instead of crashing the process, Faktory must
// answer a PUSH with an error, and Stop must still clean up.
func TestBrokerSurvivesRedisKill(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := StartBroker(ctx, BrokerOptions{})
	if err != nil {
		t.Fatalf("StartBroker: %v", err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = b.Stop()
		}
	}()

	cl, err := faktory.Dial(&faktory.Server{Network: "tcp", Address: b.Addr(), Timeout: 5 * time.Second}, "")
	if err != nil {
		t.Fatalf("dial Faktory: %v", err)
	}
	defer cl.Close()
	if err := cl.Push(faktory.NewJob("KillTest", 1)); err != nil {
		t.Fatalf("push before the kill: %v", err)
	}
	select {
	case <-b.Died():
		t.Fatalf("Died closed before redis-server was killed: %v", b.Err())
	default:
	}
	if err := b.Err(); err != nil {
		t.Fatalf("Err before the kill = %v, want nil", err)
	}

	pid := b.redisPID()
	if pid <= 0 {
		t.Fatalf("redisPID = %d", pid)
	}
	if cmd, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); err != nil || !strings.Contains(string(cmd), "redis-server") {
		t.Fatalf("pid %d is not redis-server (cmdline %q, err %v)", pid, cmd, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill redis-server %d: %v", pid, err)
	}

	select {
	case <-b.Died():
	case <-time.After(10 * time.Second):
		t.Fatal("Died not closed 10s after SIGKILL of redis-server")
	}
	derr := b.Err()
	if !errors.Is(derr, ErrBrokerDied) {
		t.Fatalf("Err = %v, want it to wrap ErrBrokerDied", derr)
	}
	if !strings.Contains(derr.Error(), "signal: killed") || !strings.Contains(derr.Error(), "redis.log") {
		t.Errorf("Err = %q, want it to name the signal and the redis log", derr)
	}
	t.Logf("Err: %v", derr)

	// Faktory is still serving, over a connection opened before and after the kill.
	if err := cl.Push(faktory.NewJob("KillTest", 2)); err == nil {
		t.Error("push on the old connection after the kill succeeded, want an error")
	} else {
		t.Logf("push on the old connection after the kill: %v", err)
	}
	if cl2, err := faktory.Dial(&faktory.Server{Network: "tcp", Address: b.Addr(), Timeout: 5 * time.Second}, ""); err != nil {
		t.Logf("dial after the kill: %v", err) // an error, not a crash, is all we ask
	} else {
		if err := cl2.Push(faktory.NewJob("KillTest", 3)); err == nil {
			t.Error("push on a new connection after the kill succeeded, want an error")
		}
		_ = cl2.Close()
	}

	stopDone := make(chan error, 1)
	go func() { stopDone <- b.Stop() }()
	select {
	case err := <-stopDone:
		stopped = true
		if err != nil {
			t.Errorf("Stop after redis-server died: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Stop did not return within 30s after redis-server died")
	}
	if err := b.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := os.Stat(b.dir); !os.IsNotExist(err) {
		t.Errorf("broker dir %s still exists after Stop (stat: %v)", b.dir, err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("redis-server pid %d still exists after Stop (kill 0: %v)", pid, err)
	}
	if left := procsMentioning(b.dir); left != nil {
		t.Errorf("processes still mention %s after Stop: %v", b.dir, left)
	}
	if !errors.Is(b.Err(), ErrBrokerDied) {
		t.Errorf("Err after Stop = %v, want it to still wrap ErrBrokerDied", b.Err())
	}
}

// TestBrokerStopIsNotDeath checks that a normal Stop neither closes Died nor sets Err,
// and leaves no redis-server behind.
func TestBrokerStopIsNotDeath(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := StartBroker(ctx, BrokerOptions{})
	if err != nil {
		t.Fatalf("StartBroker: %v", err)
	}
	pid := b.redisPID()
	if err := b.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-b.Died():
		t.Fatalf("Died closed by a normal Stop: %v", b.Err())
	default:
	}
	if err := b.Err(); err != nil {
		t.Errorf("Err after a normal Stop = %v, want nil", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("redis-server pid %d still exists after Stop (kill 0: %v)", pid, err)
	}
	if _, err := os.Stat(b.dir); !os.IsNotExist(err) {
		t.Errorf("broker dir %s still exists after Stop (stat: %v)", b.dir, err)
	}
}
