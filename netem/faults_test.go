package netem

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// The toxiproxy faults beyond reset, blackhole and down, each on a live link, each
// lifted: timeout closes a connection that waits longer than its value; limit_data
// closes one after its bytes; slicer delivers everything, in pieces, later; slow_close
// holds a close back. Time bounds are floors (what the fault must at least cost) or
// generous ceilings (seconds) against a link of 1 ms.
func TestConditionMoreFaults(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		_, l := openLink(t, Spec{Name: "timeout", RTT: time.Millisecond})
		c := dial(t, l.Addr())
		// The toxic's clock starts as it reaches the connection, inside Impose: measured
		// from after Impose, the close came 98.7 ms later once (under -race).
		start := time.Now()
		impose(t, l, Condition{Fault: FaultTimeout, Timeout: 100 * time.Millisecond})
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.Write([]byte("ping\n"))
		_, err := c.r.ReadString('\n')
		if el := time.Since(start); err == nil || errors.Is(err, os.ErrDeadlineExceeded) || el < 100*time.Millisecond {
			t.Errorf("under timeout:100ms: read %v after %s, want the connection closed after ≥ 100ms", err, el)
		}
		lift(t, l)
		if err := dial(t, l.Addr()).ping(5 * time.Second); err != nil {
			t.Errorf("after Lift: %v", err)
		}
	})
	t.Run("limit_data", func(t *testing.T) {
		_, l := openLink(t, Spec{Name: "limit", RTT: time.Millisecond})
		impose(t, l, Condition{Fault: FaultLimitData, Bytes: 20})
		c := dial(t, l.Addr())
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		got := 0
		var err error
		for i := 0; i < 10 && err == nil; i++ {
			if _, err = c.Write([]byte("ping\n")); err == nil {
				var s string
				s, err = c.r.ReadString('\n')
				got += len(s)
			}
		}
		if err == nil || got > 20 {
			t.Errorf("under limit_data:20: %d bytes echoed, last error %v; want the connection closed by 20 bytes", got, err)
		}
		lift(t, l)
		if err := dial(t, l.Addr()).ping(5 * time.Second); err != nil {
			t.Errorf("after Lift: %v", err)
		}
	})
	t.Run("slicer", func(t *testing.T) {
		_, l := openLink(t, Spec{Name: "slicer", RTT: time.Millisecond})
		impose(t, l, Condition{Fault: FaultSlicer, Bytes: 10, Delay: 2 * time.Millisecond})
		c := dial(t, l.Addr())
		line := strings.Repeat("x", 999) + "\n"
		start := time.Now()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = c.Write([]byte(line))
		s, err := c.r.ReadString('\n')
		// 1000 bytes in ~10-byte pieces 2 ms apart, each way: ≥ 50 pieces at the very
		// least (15-byte pieces) → ≥ 100 ms.
		if el := time.Since(start); err != nil || s != line || el < 100*time.Millisecond {
			t.Errorf("under slicer:10/2ms: %d bytes, %v, after %s; want all 1000 after ≥ 100ms", len(s), err, el)
		}
		lift(t, l)
	})
	t.Run("slow_close", func(t *testing.T) {
		up := closingServer(t)
		p := NewProxies()
		t.Cleanup(p.Close)
		l, err := p.Open(Spec{Name: "slowclose", RTT: time.Millisecond}, up)
		if err != nil {
			t.Fatal(err)
		}
		impose(t, l, Condition{Fault: FaultSlowClose, Delay: 300 * time.Millisecond})
		c := dial(t, l.Addr())
		start := time.Now()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.Write([]byte("x"))
		if _, err := c.r.ReadByte(); err != io.EOF || time.Since(start) < 300*time.Millisecond {
			t.Errorf("under slow_close:300ms: %v after %s, want EOF after ≥ 300ms", err, time.Since(start))
		}
	})
}

// closingServer accepts connections and closes each once it has read a byte.
func closingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				b := make([]byte, 1)
				_, _ = c.Read(b)
				_ = c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

func TestParseFault(t *testing.T) {
	for in, want := range map[string]string{
		"reset": "reset", "timeout:2s": "timeout:2s", "timeout:1500ms": "timeout:1.5s",
		"slow_close:300ms": "slow_close:300ms", "limit_data:10KB": "limit_data:10000",
		"slicer": "slicer:64/1ms", "slicer:128B/5ms": "slicer:128/5ms", "kill": "kill",
	} {
		var c Condition
		if err := c.ParseFault(in); err != nil || c.faultText() != want || c.Validate() != nil {
			t.Errorf("ParseFault(%q) = %q, %v, valid %v; want %q", in, c.faultText(), err, c.Validate(), want)
		}
	}
	if _, err := ParseCondition("reset,blackhole"); err == nil || !strings.Contains(err.Error(), "one fault per condition") {
		t.Errorf("two faults in one condition: %v, want refused", err)
	}
	for _, bad := range []string{"", "boom", "reset:1s", "timeout", "timeout:0", "limit_data:-1", "slicer:x", "slow_close:abc", "kill:1s"} {
		var c Condition
		if err := c.ParseFault(bad); err == nil || !strings.Contains(err.Error(), "accepted") {
			t.Errorf("ParseFault(%q): %v, want an error with the accepted forms", bad, err)
		}
	}
}
