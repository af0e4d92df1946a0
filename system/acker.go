package system

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// acker sends ACK and FAIL commands pipelined on a connection of its own: a slot hands
// its finished job over and fetches again at once, instead of waiting a round trip for
// Faktory's +OK (the tuned strategy's "1 round trip per job per slot"). A reader matches
// each answer, in order, to its command and only then reports the job complete, so
// "completed" still means "Faktory knows it is done". Faktory answers every command with
// one line and sends nothing unasked, so order is enough to match them.
//
// A connection that breaks, or leaves an answer waiting past the read timeout (a
// partition closes nothing), is closed and its unanswered commands are sent again on a
// new one. That is safe: Faktory answers a second ACK of an acknowledged job +OK, and a
// second FAIL "Job not found", which a re-sent FAIL takes as done. A job is reported
// with AckErr (it may run again after its reservation) only when maxAckAttempts
// connections could not carry its command, or the acker was aborted.
type acker struct {
	ep   Endpoint
	sink CompletionSink
	// window holds a token per ACK sent and not yet answered: when Faktory answers more
	// slowly than the slots finish jobs, send blocks instead of queueing without bound
	// (each unanswered ACK is also a reservation Faktory keeps in memory).
	window chan struct{}
	idle   chan struct{} // signalled when the last outstanding command is reported
	// readTimeout bounds the wait for an answer, writeTimeout a write.
	readTimeout, writeTimeout time.Duration
	ctx                       context.Context // dials; cancelled by abort
	cancel                    context.CancelFunc
	readers                   sync.WaitGroup

	mu      sync.Mutex // serialises writes and connection changes
	cur     *ackConn
	closed  bool // no new sends
	aborted bool // nothing more is sent, re-sends included
}

// maxAckAttempts is how many connections a command may be sent on: enough to ride out
// a broken connection or two, bounded so that a Faktory that stays unreachable ends in
// a reported error instead of a slot waiting for good.
const maxAckAttempts = 3

// defaultAckTimeout is the deadline of a write and of an answer when the endpoint sets
// none: Faktory's own client gives every command 5 s.
const defaultAckTimeout = 5 * time.Second

// pendingAck is a command on its way: the job's completion, the line that says it to
// Faktory, how many connections it was sent on and why the last one failed.
type pendingAck struct {
	comp Completion
	line []byte
	sent int
	err  error
}

// ackConn is one connection and the commands sent on it, awaiting answers, in order.
type ackConn struct {
	conn net.Conn
	w    *bufio.Writer

	mu    sync.Mutex
	queue []pendingAck
	dead  bool // its reader has taken the queue: nothing more may join it
}

// newAcker opens the ACK connection; at most window ACKs are unanswered at once.
func newAcker(ctx context.Context, ep Endpoint, sink CompletionSink, window int) (*acker, error) {
	a := &acker{ep: ep, sink: sink, window: make(chan struct{}, max(window, 1)), idle: make(chan struct{}, 1),
		readTimeout: cmp.Or(ep.ReadTimeout, defaultAckTimeout), writeTimeout: cmp.Or(ep.WriteTimeout, defaultAckTimeout)}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	c, err := a.connect(ctx)
	if err != nil {
		a.cancel()
		return nil, fmt.Errorf("open ACK connection: %w", err)
	}
	a.cur = c
	return a, nil
}

// connect opens a connection (the HELLO handshake through Faktory's client, then the raw
// connection for pipelining) and starts its reader.
func (a *acker) connect(ctx context.Context) (*ackConn, error) {
	cl, err := a.ep.Dial(ctx)
	if err != nil {
		return nil, err
	}
	v, ok := rawConns.LoadAndDelete(cl)
	if !ok {
		closeClient(cl)
		return nil, errors.New("ACK connection: no raw connection behind the client")
	}
	c := &ackConn{conn: v.(net.Conn)}
	c.w = bufio.NewWriter(c.conn)
	a.readers.Add(1)
	go a.read(c, bufio.NewReader(c.conn))
	return c, nil
}

// ackLine is the command that reports comp to Faktory: FAIL for a failed job, else ACK.
func ackLine(comp Completion) []byte {
	var line []byte
	if comp.Err != nil {
		body, _ := json.Marshal(map[string]any{"jid": comp.Jid, "message": comp.Err.Error(), "errtype": "wfbench"})
		line = append([]byte("FAIL "), body...)
	} else {
		line = fmt.Appendf(nil, `ACK {"jid":%q}`, comp.Jid)
	}
	return append(line, '\r', '\n')
}

// send writes the job's ACK (or FAIL) without waiting for the answer; it waits only while
// the window is full.
func (a *acker) send(comp Completion) {
	a.window <- struct{}{} // given back by report, once the job's fate is known
	p := pendingAck{comp: comp, line: ackLine(comp)}
	a.mu.Lock()
	var failed []pendingAck
	if a.closed {
		p.comp.AckErr = errors.New("ACK connection closed before the job's ACK")
		failed = []pendingAck{p}
	} else {
		failed = a.deliverLocked([]pendingAck{p})
	}
	a.mu.Unlock()
	a.reportAll(failed) // outside a.mu: a sink may block
}

// deliverLocked puts ps on a live connection, opening one when there is none, and
// writes them; a write that fails closes the connection, whose reader sends them again.
// It returns the commands given up on, each with its AckErr. Called with a.mu held.
func (a *acker) deliverLocked(ps []pendingAck) (failed []pendingAck) {
	b := newBackoff()
	for len(ps) > 0 {
		keep := ps[:0]
		for _, p := range ps {
			switch {
			case a.aborted:
				p.comp.AckErr = fmt.Errorf("ACK connection aborted before Faktory confirmed the job's ACK (last: %v)", p.err)
			case p.sent >= maxAckAttempts:
				p.comp.AckErr = fmt.Errorf("ACK not confirmed on %d connections: %w", p.sent, p.err)
			default:
				keep = append(keep, p)
				continue
			}
			failed = append(failed, p)
		}
		if ps = keep; len(ps) == 0 {
			break
		}
		for i := range ps {
			ps[i].sent++
		}
		c, err := a.liveLocked()
		if err == nil && c.enqueue(ps, a.readTimeout) {
			if err := c.write(ps, a.writeTimeout); err != nil {
				_ = c.conn.Close() // its reader sends them again
			}
			break
		}
		if err == nil {
			err = errors.New("ACK connection broke as the command was queued")
		}
		for i := range ps {
			ps[i].err = err
		}
		select { // a pause before the next connection; abort ends it
		case <-time.After(b.next()):
		case <-a.ctx.Done():
		}
	}
	return failed
}

// liveLocked is the current connection, or a new one if it died. Called with a.mu held.
func (a *acker) liveLocked() (*ackConn, error) {
	if a.cur != nil && !a.cur.isDead() {
		return a.cur, nil
	}
	c, err := a.connect(a.ctx)
	if err != nil {
		return nil, fmt.Errorf("reconnect ACK connection: %w", err)
	}
	a.cur = c
	return c, nil
}

// enqueue adds ps to the commands awaiting answers, unless the reader has given the
// connection up; it arms the answer deadline when they are the first awaited.
func (c *ackConn) enqueue(ps []pendingAck, answerWithin time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return false
	}
	if len(c.queue) == 0 {
		_ = c.conn.SetReadDeadline(time.Now().Add(answerWithin))
	}
	c.queue = append(c.queue, ps...)
	return true
}

// write sends the lines of ps, bounded by d.
func (c *ackConn) write(ps []pendingAck, d time.Duration) error {
	_ = c.conn.SetWriteDeadline(time.Now().Add(d))
	for _, p := range ps {
		if _, err := c.w.Write(p.line); err != nil {
			return err
		}
	}
	return c.w.Flush()
}

func (c *ackConn) isDead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead
}

// armRead sets the deadline for the next answer: d from now while commands await one,
// none while the connection is idle.
func (c *ackConn) armRead(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) > 0 {
		_ = c.conn.SetReadDeadline(time.Now().Add(d))
	} else {
		_ = c.conn.SetReadDeadline(time.Time{})
	}
}

// read matches answers to commands, in order, until the connection breaks or an answer
// is overdue; then broken sends what awaits an answer again.
func (a *acker) read(c *ackConn, r *bufio.Reader) {
	defer a.readers.Done()
	for {
		c.armRead(a.readTimeout) // re-armed per answer: a sink that blocked is no timeout
		line, err := r.ReadString('\n')
		if err != nil {
			a.broken(c, err)
			return
		}
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.mu.Unlock()
			a.broken(c, fmt.Errorf("answer %q to no command: the stream is out of step", strings.TrimSpace(line)))
			return
		}
		p := c.queue[0]
		c.queue = c.queue[1:]
		c.mu.Unlock()
		if msg, bad := strings.CutPrefix(strings.TrimSpace(line), "-"); bad {
			// A re-sent FAIL finds no reservation when the first one got through.
			if !(p.sent > 1 && p.comp.Err != nil && strings.Contains(msg, "Job not found")) {
				p.comp.AckErr = fmt.Errorf("faktory: %s", msg)
			}
		}
		a.report(p.comp)
	}
}

// broken gives connection c up: closes it (its descriptor with it) and sends the
// commands that await an answer again, on another connection.
func (a *acker) broken(c *ackConn, err error) {
	c.mu.Lock()
	c.dead = true
	queued := c.queue
	c.queue = nil
	c.mu.Unlock()
	_ = c.conn.Close()
	if len(queued) == 0 {
		return
	}
	for i := range queued {
		queued[i].err = fmt.Errorf("ACK connection: %w", err)
	}
	a.mu.Lock()
	failed := a.deliverLocked(queued)
	a.mu.Unlock()
	a.reportAll(failed)
}

func (a *acker) reportAll(ps []pendingAck) {
	for _, p := range ps {
		a.report(p.comp)
	}
}

func (a *acker) report(comp Completion) {
	if a.sink != nil {
		a.sink.Complete(comp)
	}
	<-a.window
	if len(a.window) == 0 {
		select {
		case a.idle <- struct{}{}:
		default:
		}
	}
}

// abort refuses further sends and re-sends and breaks the connection: every ACK
// awaiting its answer is reported with an error, which gives the window's tokens back
// to any blocked send.
func (a *acker) abort() {
	a.cancel() // first: a dial under a.mu ends at once
	a.mu.Lock()
	a.closed, a.aborted = true, true
	c := a.cur
	a.mu.Unlock()
	if c != nil {
		_ = c.conn.Close()
	}
}

// close refuses further sends, waits for the answers to every command sent, re-sent
// ones included, then closes the connection and waits for its readers, all bounded by
// ctx: a reader may be held up in a sink that applies backpressure (HTTPSink), which
// its own Close releases.
func (a *acker) close(ctx context.Context) {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	for len(a.window) > 0 && ctx.Err() == nil {
		select {
		case <-a.idle:
		case <-ctx.Done():
		}
	}
	a.abort()
	done := make(chan struct{})
	go func() { a.readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
