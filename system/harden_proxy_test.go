package system

import (
	"bufio"
	"net"
	"sync"
	"testing"
)

// tcpProxy forwards TCP connections to a target (a real Faktory) and lets a test break
// them the ways a network does: hold a direction (bytes stop flowing, nothing is
// closed: a partition), cut (both sides closed), or answer a client's line itself
// instead of forwarding it (inject). Faktory's protocol is lines from the client, so
// the client side is read line by line.
type tcpProxy struct {
	l      net.Listener
	target string

	mu     sync.Mutex
	pairs  map[*proxyPair]struct{}
	inject func(line string) (reply string, ok bool) // ok: reply instead of forwarding
}

// Directions of a proxied connection.
const (
	proxyUp   = 0 // client → server
	proxyDown = 1 // server → client
)

type proxyPair struct {
	client, server net.Conn
	wmu            sync.Mutex // writes to client: forwarded answers and injected ones

	mu     sync.Mutex
	cond   *sync.Cond
	held   [2]bool
	closed bool
	finned bool // the server side was closed by finServers: the client keeps its own
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{l: l, target: target, pairs: map[*proxyPair]struct{}{}}
	go p.accept()
	t.Cleanup(func() { _ = l.Close(); p.cut() })
	return p
}

func (p *tcpProxy) addr() string { return p.l.Addr().String() }

func (p *tcpProxy) accept() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		pair := &proxyPair{client: c, server: s}
		pair.cond = sync.NewCond(&pair.mu)
		p.mu.Lock()
		p.pairs[pair] = struct{}{}
		p.mu.Unlock()
		go p.up(pair)
		go p.down(pair)
	}
}

// wait blocks while direction dir is held; it reports whether the pair is still open.
func (pp *proxyPair) wait(dir int) bool {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	for pp.held[dir] && !pp.closed {
		pp.cond.Wait()
	}
	return !pp.closed
}

func (pp *proxyPair) close() {
	pp.mu.Lock()
	pp.closed = true
	pp.cond.Broadcast()
	pp.mu.Unlock()
	_ = pp.client.Close()
	_ = pp.server.Close()
}

func (p *tcpProxy) up(pp *proxyPair) {
	defer p.drop(pp)
	r := bufio.NewReader(pp.client)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		p.mu.Lock()
		inject := p.inject
		p.mu.Unlock()
		if inject != nil {
			if reply, ok := inject(line); ok {
				pp.wmu.Lock()
				_, err = pp.client.Write([]byte(reply))
				pp.wmu.Unlock()
				if err != nil {
					return
				}
				continue
			}
		}
		if !pp.wait(proxyUp) {
			return
		}
		if _, err := pp.server.Write([]byte(line)); err != nil {
			return
		}
	}
}

func (p *tcpProxy) down(pp *proxyPair) {
	buf := make([]byte, 32<<10)
	for {
		n, err := pp.server.Read(buf)
		if err != nil {
			pp.mu.Lock()
			finned := pp.finned
			pp.mu.Unlock()
			if finned { // the client sees EOF; the pair lasts until it closes its side
				_ = pp.client.(*net.TCPConn).CloseWrite()
				return
			}
			p.drop(pp)
			return
		}
		if !pp.wait(proxyDown) {
			p.drop(pp)
			return
		}
		pp.wmu.Lock()
		_, err = pp.client.Write(buf[:n])
		pp.wmu.Unlock()
		if err != nil {
			p.drop(pp)
			return
		}
	}
}

// finServers closes the server side of every connection open now, as a Faktory that
// closes a connection does: the client reads EOF, and the proxy keeps the client's
// side open until the client closes it, so open tells whether it did.
func (p *tcpProxy) finServers() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pp := range p.pairs {
		pp.mu.Lock()
		pp.finned = true
		pp.mu.Unlock()
		_ = pp.server.Close()
	}
}

func (p *tcpProxy) drop(pp *proxyPair) {
	pp.close()
	p.mu.Lock()
	delete(p.pairs, pp)
	p.mu.Unlock()
}

// hold stops the given directions of every connection open now (later ones flow).
func (p *tcpProxy) hold(dirs ...int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pp := range p.pairs {
		pp.mu.Lock()
		for _, d := range dirs {
			pp.held[d] = true
		}
		pp.mu.Unlock()
	}
}

// cut closes every connection open now, both sides, dropping what was held.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	pairs := make([]*proxyPair, 0, len(p.pairs))
	for pp := range p.pairs {
		pairs = append(pairs, pp)
	}
	p.mu.Unlock()
	for _, pp := range pairs {
		pp.close()
	}
}

// open is the number of connections the proxy holds open.
func (p *tcpProxy) open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pairs)
}

// setInject sets (nil: clears) the function that may answer client lines itself.
func (p *tcpProxy) setInject(f func(line string) (string, bool)) {
	p.mu.Lock()
	p.inject = f
	p.mu.Unlock()
}
