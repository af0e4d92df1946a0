package diagnose

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	faktory "github.com/contribsys/faktory/client"

	"github.com/wfbench/wfbench/system"
)

// wire is a Faktory connection spoken by hand. Faktory's Go client answers one command
// before it sends the next; the drain needs hundreds of FETCHes and ACKs in flight on
// one connection (one round trip, not hundreds), and the connect timing needs TCP apart
// from the handshake. Commands are the protocol's: a verb, an optional payload, CRLF.
type wire struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
}

// errPassword is Faktory asking for a password that was not given, or refusing it.
var errPassword = errors.New("password")

// wireTimeout bounds one wire exchange when nothing tighter applies.
const wireTimeout = 10 * time.Second

// dialWire connects and shakes hands, returning the TCP connect time and the whole
// connect time (TCP, TLS if any, HI, HELLO, OK).
func dialWire(ctx context.Context, ep system.Endpoint) (w *wire, tcp, total time.Duration, err error) {
	timeout := ep.ConnectTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	d := net.Dialer{Timeout: timeout}
	start := time.Now()
	conn, err := d.DialContext(ctx, "tcp", ep.Addr)
	if err != nil {
		return nil, 0, 0, err
	}
	tcp = time.Since(start)
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if ep.TLS {
		tc := tls.Client(conn, &tls.Config{ServerName: ep.ServerName, MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return nil, 0, 0, fmt.Errorf("TLS handshake: %w", err)
		}
		conn = tc
	}
	w = &wire{conn: conn, r: bufio.NewReader(conn), w: bufio.NewWriter(conn)}
	if err := w.hello(ep.Password); err != nil {
		_ = conn.Close()
		return nil, 0, 0, err
	}
	total = time.Since(start)
	_ = conn.SetDeadline(time.Time{})
	return w, tcp, total, nil
}

// hello answers Faktory's HI as a producer (no worker id: no heartbeat is expected).
func (w *wire) hello(password string) error {
	line, err := w.read()
	if err != nil {
		return fmt.Errorf("read Faktory's HI: %w", err)
	}
	if !bytes.HasPrefix(line, []byte("HI ")) {
		return fmt.Errorf("expected Faktory's HI, got %q", line)
	}
	var hi struct {
		Salt       string `json:"s"`
		Iterations int    `json:"i"`
	}
	if err := json.Unmarshal(line[3:], &hi); err != nil {
		return fmt.Errorf("Faktory's HI %q: %w", line, err)
	}
	host, _ := os.Hostname()
	hello := map[string]any{"hostname": host, "pid": os.Getpid(), "labels": []string{"wfbench-diagnose"}, "v": 2}
	if hi.Salt != "" {
		if password == "" {
			return fmt.Errorf("Faktory requires a %w: give it in the URL (tcp://:PASSWORD@host:port) or FAKTORY_PASSWORD", errPassword)
		}
		hello["pwdhash"] = passwordHash(password, hi.Salt, hi.Iterations)
	}
	payload, _ := json.Marshal(hello)
	resp, err := w.call("HELLO", payload)
	if err != nil {
		var pe protoError
		if errors.As(err, &pe) && strings.Contains(err.Error(), "assword") {
			return fmt.Errorf("Faktory refused the %w: %v", errPassword, err)
		}
		return fmt.Errorf("HELLO: %w", err)
	}
	if string(resp) != "OK" {
		return fmt.Errorf("HELLO: unexpected answer %q", resp)
	}
	return nil
}

// passwordHash is the protocol's: sha256 of password+salt, rehashed to iterations.
func passwordHash(password, salt string, iterations int) string {
	h := sha256.Sum256([]byte(password + salt))
	for i := 1; i < iterations; i++ {
		h = sha256.Sum256(h[:])
	}
	return fmt.Sprintf("%x", h)
}

// send buffers one command.
func (w *wire) send(verb string, payload []byte) error {
	_, err := w.w.WriteString(verb)
	if payload != nil && err == nil {
		_ = w.w.WriteByte(' ')
		_, err = w.w.Write(payload)
	}
	if err == nil {
		_, err = w.w.WriteString("\r\n")
	}
	return err
}

// protoError is an error answer from Faktory ("-ERR ..."): the command failed, the
// connection is fine.
type protoError string

func (e protoError) Error() string { return string(e) }

// read reads one answer: a simple string, a bulk string (nil for $-1) or an error
// answer (protoError).
func (w *wire) read() ([]byte, error) {
	line, err := w.r.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	line = bytes.TrimRight(line, "\r\n")
	if len(line) == 0 {
		return nil, errors.New("empty answer from Faktory")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return nil, protoError(line[1:])
	case '$':
		n, err := strconv.Atoi(string(line[1:]))
		if err != nil {
			return nil, fmt.Errorf("bad bulk length from Faktory: %q", line)
		}
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2) // and its CRLF
		if _, err := io.ReadFull(w.r, buf); err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
	return nil, fmt.Errorf("unexpected answer from Faktory: %q", line)
}

// call sends one command and reads its answer, within wireTimeout.
func (w *wire) call(verb string, payload []byte) ([]byte, error) {
	_ = w.conn.SetDeadline(time.Now().Add(wireTimeout))
	defer func() { _ = w.conn.SetDeadline(time.Time{}) }()
	if err := w.send(verb, payload); err != nil {
		return nil, err
	}
	if err := w.w.Flush(); err != nil {
		return nil, err
	}
	return w.read()
}

// answer is one pipelined command's answer.
type answer struct {
	data []byte
	err  error // a protoError; a broken connection ends the pipeline instead
}

// pipeline sends every command and reads one answer for each, in order, within
// timeout. It writes from a goroutine while it reads, so that neither side's buffers
// can fill and stall the other.
func (w *wire) pipeline(verb string, payloads [][]byte, timeout time.Duration) ([]answer, error) {
	_ = w.conn.SetDeadline(time.Now().Add(timeout))
	defer func() { _ = w.conn.SetDeadline(time.Time{}) }()
	werr := make(chan error, 1)
	go func() {
		for _, p := range payloads {
			if err := w.send(verb, p); err != nil {
				werr <- err
				return
			}
		}
		werr <- w.w.Flush()
	}()
	out := make([]answer, 0, len(payloads))
	var rerr error
	for range payloads {
		data, err := w.read()
		var pe protoError
		if err != nil && !errors.As(err, &pe) {
			rerr = err
			_ = w.conn.Close() // unblocks the writer, if it is stuck
			break
		}
		out = append(out, answer{data, err})
	}
	return out, errors.Join(rerr, <-werr)
}

// info is Faktory's INFO.
func (w *wire) info() (*faktory.FaktoryState, error) {
	data, err := w.call("INFO", nil)
	if err != nil {
		return nil, fmt.Errorf("INFO: %w", err)
	}
	var st faktory.FaktoryState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("INFO: %w", err)
	}
	return &st, nil
}

// close says END and closes, so that Faktory sees a clean goodbye.
func (w *wire) close() {
	_ = w.conn.SetDeadline(time.Now().Add(time.Second))
	_ = w.send("END", nil)
	_ = w.w.Flush()
	_ = w.conn.Close()
}
