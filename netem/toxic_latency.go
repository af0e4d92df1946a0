package netem

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
)

// ratePoll is how often a rate-limited transmission looks for a new rate.
const ratePoll = 10 * time.Millisecond

// LatencyToxicType is the toxiproxy type name of LatencyToxic.
const LatencyToxicType = "wfbench_latency"

// LatencyToxic delays every chunk by latency ± jitter, in microseconds. It is toxiproxy's
// latency toxic with a finer unit (one direction of a 1 ms RTT is 500 µs) and settings
// that change live without a race: Set stores them atomically, and every connection's
// pipe reads them per chunk. (Toxiproxy's own update decodes JSON into the toxic while
// its pipes read it.)
//
// It also limits bandwidth (SetRate), counts the bytes entering it, and never blocks
// where an Impose could not reach it: see Pipe. Its waits are timed by the package's
// clock (clock.go), and how late each delivery came is recorded (Link.Lateness).
type LatencyToxic struct {
	latencyUS atomic.Int64
	jitterUS  atomic.Int64
	rate      atomic.Int64 // bytes per second, 0 = unlimited
	bytes     atomic.Int64

	// The link's direction is one pipe shared by its connections: transmissions are
	// scheduled one after the other, across connections, until serialEnd.
	schedMu   sync.Mutex
	serialEnd time.Time

	initOnce  sync.Once
	closeOnce sync.Once
	released  chan struct{}

	late lateness // how late deliveries were (see lateness)
}

// Set changes the delay of every connection on the toxic's link.
func (t *LatencyToxic) Set(latency, jitter time.Duration) {
	t.latencyUS.Store(latency.Microseconds())
	t.jitterUS.Store(jitter.Microseconds())
}

// SetRate limits the bytes per second the toxic's link direction carries, all
// connections together (a link's capacity, not a per-connection cap); 0 lifts the limit.
// Data in transmission moves to the new rate from its next piece (about 10 ms) on.
func (t *LatencyToxic) SetRate(bytesPerSecond int64) {
	r := max(bytesPerSecond, 0)
	if t.rate.Swap(r) != r {
		// Transmissions re-plan at the new rate (Pipe): none waits behind the old plan.
		t.schedMu.Lock()
		t.serialEnd = time.Time{}
		t.schedMu.Unlock()
	}
}

// Bytes is how many bytes have entered the toxic, on every connection, since it was added.
func (t *LatencyToxic) Bytes() int64 { return t.bytes.Load() }

// release lets every pipe of the toxic return: a pipe whose writer died (its connection
// closed with data in flight) waits on this rather than leak. Called when the link closes.
func (t *LatencyToxic) release() { t.closeOnce.Do(func() { close(t.done()) }) }

// done is closed by release. (Made lazily: toxiproxy creates toxics by reflection.)
func (t *LatencyToxic) done() chan struct{} {
	t.initOnce.Do(func() { t.released = make(chan struct{}) })
	return t.released
}

func (t *LatencyToxic) delay() time.Duration {
	d, j := t.latencyUS.Load(), t.jitterUS.Load()
	if j > 0 {
		d += rand.Int64N(2*j+1) - j
	}
	if d < 0 {
		d = 0
	}
	return time.Duration(d) * time.Microsecond
}

// GetBufferSize lets chunks queue while earlier ones wait out their delay: a link is a
// pipe, not a stop-and-wait channel.
func (t *LatencyToxic) GetBufferSize() int { return 1024 }

// latencyState is one connection's chunk in delivery. It lives on the toxiproxy stub, so
// it survives the pipe being interrupted (a toxic added or removed after it) and the next
// run resumes the chunk where it was.
type latencyState struct {
	c     *stream.StreamChunk // being delivered; nil if none
	sent  int                 // bytes of c already handed on
	start time.Time           // when c's transmission starts (its arrival if unlimited)
	rate  int64               // rate c was scheduled at; 0 = unlimited
	delay time.Duration       // propagation delay drawn for c
}

// NewState makes the toxic stateful for toxiproxy, which keeps one state per connection.
func (t *LatencyToxic) NewState() any { return new(latencyState) }

// Pipe delays each chunk relative to when the link read it, so chunks in flight overlap
// as packets on a real path do. With a rate set, a chunk is transmitted after the ones
// before it on the link (any connection) and delivered in pieces of about 10 ms of
// transmission, each a propagation delay after it is transmitted.
//
// Every wait also watches the interrupt and the toxic's release: toxiproxy interrupts a
// pipe to change the chain under the collection lock, and its ToxicLink stops reading a
// connection's output without telling the pipes when the connection dies. A plain send to
// a dead writer would block forever, and an Impose interrupting it with it.
func (t *LatencyToxic) Pipe(stub *toxics.ToxicStub) {
	st, ok := stub.State.(*latencyState)
	if !ok {
		st = new(latencyState) // not started by toxiproxy's link: nothing to resume
	}
	w := newWaiter()
	for {
		if st.c == nil {
			select {
			case <-stub.Interrupt:
				return
			case <-t.done():
				t.drain(stub)
				return
			case c := <-stub.Input:
				if c == nil {
					stub.Close()
					return
				}
				// Counted on receipt, not delivery: once a reader has the echo of a
				// chunk, the chunk has been counted both ways.
				t.bytes.Add(int64(len(c.Data)))
				*st = latencyState{c: c, delay: t.delay()}
				t.plan(st, c.Timestamp)
			}
		}
		if st.rate != t.rate.Load() {
			t.plan(st, time.Now())
		}
		piece, due := st.next()
		// While a rate is set, wake at least every 10 ms: a changed or lifted rate
		// re-plans the transmission (above) instead of waiting out the old plan.
		wake := due
		if st.rate > 0 {
			if soon := time.Now().Add(ratePoll); soon.Before(wake) {
				wake = soon
			}
		}
		waited := time.Now().Before(wake)
		if !sleepUntil(w, wake, stub.Interrupt, t.done()) {
			select {
			case <-t.done():
				t.drain(stub)
			default: // interrupted: the next run resumes st
			}
			return
		}
		if wake.Before(due) {
			continue
		}
		if waited {
			t.late.record(time.Since(due)) // the clock's lateness: see lateness
		}
		select {
		case stub.Output <- &stream.StreamChunk{Data: piece, Timestamp: due}:
			if st.sent += len(piece); st.sent == len(st.c.Data) {
				st.c = nil
			}
		case <-stub.Interrupt:
			return
		case <-t.done():
			t.drain(stub)
			return
		}
	}
}

// plan schedules the rest of the chunk in delivery at the link's current rate: with a
// rate, its transmission is reserved on the link from the later of from and the end of
// the transmissions reserved before it.
func (t *LatencyToxic) plan(st *latencyState, from time.Time) {
	st.rate = t.rate.Load()
	if st.rate == 0 {
		st.start = st.c.Timestamp
		return
	}
	t.schedMu.Lock()
	if t.serialEnd.After(from) {
		from = t.serialEnd
	}
	t.serialEnd = from.Add(transmitTime(len(st.c.Data)-st.sent, st.rate))
	t.schedMu.Unlock()
	// Backdated by what was sent, so that next counts a piece's time from the chunk start.
	st.start = from.Add(-transmitTime(st.sent, st.rate))
}

// next returns the next piece of the chunk in delivery and when it is due.
func (st *latencyState) next() ([]byte, time.Time) {
	if st.rate == 0 {
		return st.c.Data[st.sent:], st.start.Add(st.delay)
	}
	end := min(len(st.c.Data), st.sent+int(max(st.rate/100, 1)))
	return st.c.Data[st.sent:end], st.start.Add(transmitTime(end, st.rate) + st.delay)
}

func transmitTime(n int, rate int64) time.Duration {
	return time.Duration(int64(n) * int64(time.Second) / rate)
}

// drain discards what is left of a released link's stream until its reader closes it, so
// the stages before this one do not block on it either.
func (t *LatencyToxic) drain(stub *toxics.ToxicStub) {
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
		}
	}
}

func init() {
	toxics.Register(LatencyToxicType, new(LatencyToxic))
}
