package system

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
)

// acker sends ACK and FAIL commands pipelined on a connection of its own: a slot hands
// its finished job over and fetches again at once, instead of waiting a round trip for
// Faktory's +OK (the tuned strategy's "1 round trip per job per slot"). A reader matches
// each answer, in order, to its command and only then reports the job complete, so
// "completed" still means "Faktory knows it is done". Faktory answers every command with
// one line and sends nothing unasked, so order is enough to match them.
type acker struct {
	ep   Endpoint
	sink CompletionSink
	// window holds a token per ACK sent and not yet answered: when Faktory answers more
	// slowly than the slots finish jobs, send blocks instead of queueing without bound
	// (each unanswered ACK is also a reservation Faktory keeps in memory).
	window chan struct{}

	mu     sync.Mutex // serialises writes and connection changes
	cur    *ackConn
	closed bool
}

// ackConn is one connection and the commands sent on it, awaiting answers. Its reader
// owns the queue's tail end; when the connection dies the reader fails what is queued,
// and a later send opens a new connection rather than waiting on this one.
type ackConn struct {
	conn net.Conn
	w    *bufio.Writer

	mu      sync.Mutex
	queue   []Completion
	dead    bool
	drained chan struct{} // signalled when the queue empties
	done    chan struct{} // closed when the reader has exited
}

// newAcker opens the ACK connection; at most window ACKs are unanswered at once.
func newAcker(ctx context.Context, ep Endpoint, sink CompletionSink, window int) (*acker, error) {
	a := &acker{ep: ep, sink: sink, window: make(chan struct{}, max(window, 1))}
	c, err := a.connect(ctx)
	if err != nil {
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
	c := &ackConn{conn: v.(net.Conn), drained: make(chan struct{}, 1), done: make(chan struct{})}
	c.w = bufio.NewWriter(c.conn)
	go a.read(c, bufio.NewReader(c.conn))
	return c, nil
}

// send writes the job's ACK (or FAIL) without waiting for the answer; it waits only while
// the window is full.
func (a *acker) send(comp Completion) {
	a.window <- struct{}{} // given back by report, once the job's fate is known
	var line []byte
	if comp.Err != nil {
		body, _ := json.Marshal(map[string]any{"jid": comp.Jid, "message": comp.Err.Error(), "errtype": "wfbench"})
		line = append([]byte("FAIL "), body...)
	} else {
		line = fmt.Appendf(nil, `ACK {"jid":%q}`, comp.Jid)
	}
	line = append(line, '\r', '\n')

	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		comp.AckErr = errors.New("ACK connection closed before the job's ACK")
		a.report(comp)
		return
	}
	c := a.cur
	if c == nil || c.isDead() {
		nc, err := a.connect(context.Background())
		if err != nil {
			a.mu.Unlock()
			comp.AckErr = fmt.Errorf("reconnect ACK connection: %w", err)
			a.report(comp)
			return
		}
		a.cur, c = nc, nc
	}
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		a.mu.Unlock()
		comp.AckErr = errors.New("ACK connection broke before the job's ACK was sent")
		a.report(comp)
		return
	}
	c.queue = append(c.queue, comp)
	c.mu.Unlock()
	_, err := c.w.Write(line)
	if err == nil {
		err = c.w.Flush()
	}
	a.mu.Unlock()
	if err != nil {
		_ = c.conn.Close() // the reader fails the queued commands, this one included
	}
}

func (c *ackConn) isDead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead
}

// read matches answers to commands, in order; when the connection breaks every queued
// command is reported with the error (Faktory requeues those jobs after their
// reservation, so they may run again).
func (a *acker) read(c *ackConn, r *bufio.Reader) {
	defer close(c.done)
	for {
		line, err := r.ReadString('\n')
		c.mu.Lock()
		if err != nil {
			c.dead = true
			failed := c.queue
			c.queue = nil
			c.mu.Unlock()
			for _, comp := range failed {
				comp.AckErr = fmt.Errorf("ACK connection: %w", err)
				a.report(comp)
			}
			return
		}
		if len(c.queue) == 0 { // an answer to nothing: the stream is out of step
			c.mu.Unlock()
			_ = c.conn.Close()
			continue
		}
		comp := c.queue[0]
		c.queue = c.queue[1:]
		empty := len(c.queue) == 0
		c.mu.Unlock()
		if strings.HasPrefix(line, "-") {
			comp.AckErr = fmt.Errorf("faktory: %s", strings.TrimSpace(line[1:]))
		}
		a.report(comp)
		if empty {
			select {
			case c.drained <- struct{}{}:
			default:
			}
		}
	}
}

func (a *acker) report(comp Completion) {
	if a.sink != nil {
		a.sink.Complete(comp)
	}
	<-a.window
}

// abort refuses further sends and breaks the connection: every ACK awaiting its answer
// is reported with an error, which gives the window's tokens back to any blocked send.
func (a *acker) abort() {
	a.mu.Lock()
	a.closed = true
	c := a.cur
	a.mu.Unlock()
	if c != nil {
		_ = c.conn.Close()
	}
}

// close refuses further sends, waits for the answers to every command sent (bounded by
// ctx), then closes the connection and waits for its reader.
func (a *acker) close(ctx context.Context) {
	a.mu.Lock()
	a.closed = true
	c := a.cur
	a.mu.Unlock()
	if c == nil {
		return
	}
	for {
		c.mu.Lock()
		waiting := len(c.queue) > 0 && !c.dead
		c.mu.Unlock()
		if !waiting {
			break
		}
		select {
		case <-c.drained:
		case <-c.done:
		case <-ctx.Done():
			waiting = false
		}
		if !waiting {
			break
		}
	}
	_ = c.conn.Close()
	<-c.done
}
