package bench

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// httpConns is the driver's HTTP/1.1 client: a set of keep-alive connections, each call
// done on one of them from start to end in the calling goroutine. net/http's Transport
// hands every request to its connection's own reader and writer goroutines; on a busy
// 2-core machine those handoffs cost scheduling rounds that the driver would add to every
// latency it reports (measured: p50 +0.3 ms, 0.8x the requests/s of wrk against the same
// API). This client does what wrk does: write, read, next.
type httpConns struct {
	addr  string   // host:port
	addrs []string // or several, dialled in turn (API hosts)
	next  atomic.Uint64
	idle  chan *httpConn
	mu    sync.Mutex
	all   map[*httpConn]struct{}
}

type httpConn struct {
	c    net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	idle time.Time // when it was last put back
}

// maxIdle is how long a connection may sit unused and still be reused: a server may close
// an idle connection (the reference API after 2 minutes), and a POST written into a
// connection the server has closed fails without telling whether it was taken, so an
// older one is closed and a new one dialled instead of risking it.
const maxIdle = 30 * time.Second

// peekAfter is how long a connection sits idle before it is checked for a close (one
// system call): one handed straight back to the next call, as under load, is not, so the
// check costs nothing where the driver must be cheapest; a close within this window (a
// fault lifted that instant) costs one failed call.
const peekAfter = time.Millisecond

func newHTTPConns(addr string, conns int) *httpConns {
	return &httpConns{addr: addr, idle: make(chan *httpConn, conns), all: map[*httpConn]struct{}{}}
}

// get takes an idle connection or dials one.
func (h *httpConns) get(ctx context.Context) (*httpConn, error) {
	for {
		select {
		case c := <-h.idle:
			if idle := time.Since(c.idle); idle < maxIdle && (idle < peekAfter || c.open()) {
				return c, nil
			}
			h.drop(c)
			continue
		default:
		}
		break
	}
	var d net.Dialer
	addr := h.addr
	if len(h.addrs) > 0 { // several servers: each new connection to the next
		addr = h.addrs[(h.next.Add(1)-1)%uint64(len(h.addrs))]
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &httpConn{c: nc, r: bufio.NewReaderSize(nc, 16<<10), w: bufio.NewWriterSize(nc, 16<<10)}
	h.mu.Lock()
	h.all[c] = struct{}{}
	h.mu.Unlock()
	return c, nil
}

// open reports whether an idle connection is still open: a server (its idle timeout) or
// a link (a fault lifted) may have closed it since, and a request written into it would
// fail without telling whether the server took it. An idle HTTP/1.1 connection has
// nothing to read, so anything readable now — the close, or stray bytes — rules it out.
// It peeks at the socket without blocking (a read deadline in the past would not even
// look: Go fails such a read before the system call).
func (c *httpConn) open() bool {
	if c.r.Buffered() > 0 {
		return false
	}
	sc, ok := c.c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	open := true
	_ = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = n < 0 && (errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK))
		return true // looked once: do not wait for the socket to become readable
	})
	return open
}

// put returns a connection for reuse, or closes it when it cannot be reused.
func (h *httpConns) put(c *httpConn, reuse bool) {
	if reuse {
		c.idle = time.Now()
		select {
		case h.idle <- c:
			return
		default:
		}
	}
	h.drop(c)
}

func (h *httpConns) drop(c *httpConn) {
	_ = c.c.Close()
	h.mu.Lock()
	delete(h.all, c)
	h.mu.Unlock()
}

// answer is an HTTP response, read whole.
type answer struct {
	status int
	body   []byte
}

// do sends one request and reads its answer. header holds name, value pairs. ctx ending
// ends the call (its connection is closed).
func (h *httpConns) do(ctx context.Context, method, path string, header []string, body []byte, acceptGzip bool) (answer, error) {
	c, err := h.get(ctx)
	if err != nil {
		return answer{}, err
	}
	// An ended ctx unblocks the connection's read or write at once.
	stop := context.AfterFunc(ctx, func() { _ = c.c.SetDeadline(time.Unix(1, 0)) })
	ans, reuse, err := c.roundTrip(method, h.addr, path, header, body, acceptGzip)
	if !stop() || ctx.Err() != nil {
		reuse = false
		if err != nil {
			err = errors.Join(ctx.Err(), err)
		}
	}
	h.put(c, reuse && err == nil)
	return ans, err
}

func (c *httpConn) roundTrip(method, host, path string, header []string, body []byte, acceptGzip bool) (answer, bool, error) {
	w := c.w // piece by piece: no string is built per call
	for _, p := range []string{method, " ", path, " HTTP/1.1\r\nHost: ", host, "\r\nUser-Agent: wfbench\r\n"} {
		_, _ = w.WriteString(p)
	}
	if body != nil {
		_, _ = w.WriteString("Content-Length: ")
		_, _ = w.Write(strconv.AppendInt(w.AvailableBuffer(), int64(len(body)), 10))
		_, _ = w.WriteString("\r\n")
	}
	if acceptGzip {
		_, _ = w.WriteString("Accept-Encoding: gzip\r\n")
	}
	for i := 0; i+1 < len(header); i += 2 {
		for _, p := range []string{header[i], ": ", header[i+1], "\r\n"} {
			_, _ = w.WriteString(p)
		}
	}
	_, _ = w.WriteString("\r\n")
	_, _ = w.Write(body)
	if err := w.Flush(); err != nil {
		return answer{}, false, err
	}
	return c.readAnswer()
}

// close closes every connection, idle or in use.
func (h *httpConns) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.all {
		_ = c.c.Close()
	}
	clear(h.all)
}

// readAnswer reads one HTTP/1.1 response: the status, the few headers that say how the
// body is framed and whether the connection stays open, and the body (Content-Length,
// chunked, or up to the close), inflated if gzip. It reads what net/http's ReadResponse
// would, without building a header map per answer: the driver reads tens of thousands
// a second on the cores the system under test needs.
func (c *httpConn) readAnswer() (answer, bool, error) {
	fail := func(err error) (answer, bool, error) { return answer{}, false, fmt.Errorf("read answer: %w", err) }
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return fail(noEOF(err))
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return fail(fmt.Errorf("malformed status line %q", bytes.TrimSpace(line)))
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return fail(fmt.Errorf("malformed status line %q", bytes.TrimSpace(line)))
	}
	keep := line[7] == '1' // HTTP/1.1 keeps the connection by default, 1.0 does not
	length, chunked, gz := -1, false, false
	for {
		h, err := c.r.ReadSlice('\n')
		if err != nil {
			return fail(noEOF(err))
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, val, _ := bytes.Cut(h, []byte(":"))
		val = bytes.TrimSpace(val)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(val)); err != nil || length < 0 {
				return fail(fmt.Errorf("bad Content-Length %q", val))
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(val, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keep = keep && !bytes.EqualFold(val, []byte("close")) || bytes.EqualFold(val, []byte("keep-alive"))
		case bytes.EqualFold(name, []byte("Content-Encoding")):
			gz = bytes.EqualFold(val, []byte("gzip"))
		}
	}
	var body []byte
	switch {
	case status/100 == 1 || status == http.StatusNoContent || status == http.StatusNotModified:
	case chunked:
		if body, err = io.ReadAll(httputil.NewChunkedReader(c.r)); err == nil {
			err = c.skipTrailer()
		}
	case length >= 0:
		body = make([]byte, length)
		_, err = io.ReadFull(c.r, body)
	default: // framed by the close
		body, err = io.ReadAll(c.r)
		keep = false
	}
	if err != nil {
		return fail(noEOF(err))
	}
	if gz && len(body) > 0 {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			body, err = io.ReadAll(zr)
		}
		if err != nil {
			return fail(err)
		}
	}
	return answer{status: status, body: body}, keep, nil
}

// skipTrailer reads a chunked body's trailer, up to its empty line.
func (c *httpConn) skipTrailer() error {
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return nil
		}
	}
}

// noEOF says an answer cut short as net/http does: unexpected EOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
