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
// "completed" still means "Faktory knows it is done".
type acker struct {
	ep   Endpoint
	sink CompletionSink

	mu      sync.Mutex
	conn    net.Conn
	w       *bufio.Writer
	pending chan Completion // sent, awaiting an answer, in send order
	endPend func()          // closes pending once, whoever gets there first
	broken  error
	closed  bool
	wg      sync.WaitGroup
}

// ackerBacklog bounds the commands in flight: beyond it, send waits for answers.
const ackerBacklog = 8192

func newAcker(ctx context.Context, ep Endpoint, sink CompletionSink) (*acker, error) {
	a := &acker{ep: ep, sink: sink}
	if err := a.connect(ctx); err != nil {
		return nil, fmt.Errorf("open ACK connection: %w", err)
	}
	return a, nil
}

// connect opens the connection (the HELLO handshake through Faktory's client, then the
// raw connection for pipelining) and starts its reader; the caller holds mu or owns a.
func (a *acker) connect(ctx context.Context) error {
	c, err := a.ep.Dial(ctx)
	if err != nil {
		return err
	}
	v, ok := rawConns.LoadAndDelete(c)
	if !ok {
		closeClient(c)
		return errors.New("ACK connection: no raw connection behind the client")
	}
	a.conn = v.(net.Conn)
	a.w = bufio.NewWriter(a.conn)
	pending := make(chan Completion, ackerBacklog)
	a.pending, a.endPend = pending, sync.OnceFunc(func() { close(pending) })
	a.broken = nil
	a.wg.Add(1)
	go a.read(bufio.NewReader(a.conn), a.pending, a.endPend)
	return nil
}

// send writes the job's ACK (or FAIL) without waiting for the answer.
func (a *acker) send(comp Completion) {
	var line []byte
	if comp.Err != nil {
		body, _ := json.Marshal(map[string]any{"jid": comp.Jid, "message": comp.Err.Error(), "errtype": "wfbench"})
		line = append([]byte("FAIL "), body...)
	} else {
		line = fmt.Appendf(nil, `ACK {"jid":%q}`, comp.Jid)
	}
	line = append(line, '\r', '\n')

	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		comp.AckErr = errors.New("ACK connection closed before the job's ACK")
		a.report(comp)
		return
	}
	if a.broken != nil {
		a.wg.Wait() // the old reader has reported its pending commands
		if err := a.connect(context.Background()); err != nil {
			comp.AckErr = fmt.Errorf("reconnect ACK connection: %w", err)
			a.report(comp)
			return
		}
	}
	a.pending <- comp
	_, err := a.w.Write(line)
	if err == nil {
		err = a.w.Flush()
	}
	if err != nil {
		a.broken = err
		_ = a.conn.Close() // the reader fails the pending commands, this one included
	}
}

// read matches answers to commands, in order; on a broken connection every pending
// command is reported with the error (Faktory will requeue those jobs).
func (a *acker) read(r *bufio.Reader, pending chan Completion, endPend func()) {
	defer a.wg.Done()
	for comp := range pending {
		line, err := r.ReadString('\n')
		switch {
		case err != nil:
			comp.AckErr = fmt.Errorf("ACK connection: %w", err)
			a.report(comp)
			a.failAll(pending, endPend, err)
			return
		case strings.HasPrefix(line, "-"):
			comp.AckErr = fmt.Errorf("faktory: %s", strings.TrimSpace(line[1:]))
		}
		a.report(comp)
	}
}

func (a *acker) failAll(pending chan Completion, endPend func(), err error) {
	a.mu.Lock()
	if a.broken == nil {
		a.broken = err
	}
	endPend()
	a.mu.Unlock()
	for comp := range pending {
		comp.AckErr = fmt.Errorf("ACK connection: %w", err)
		a.report(comp)
	}
}

func (a *acker) report(comp Completion) {
	if a.sink != nil {
		a.sink.Complete(comp)
	}
}

// close waits for the answers to every command sent (bounded by ctx), then closes.
func (a *acker) close(ctx context.Context) {
	a.mu.Lock()
	a.closed = true
	if a.broken == nil {
		a.broken = errors.New("acker closed")
	}
	a.endPend()
	conn := a.conn
	a.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	a.wg.Wait()
	stop()
	_ = conn.Close()
}
