package netem

import (
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/Shopify/toxiproxy/v2/toxics"
)

// LatencyToxicType is the toxiproxy type name of LatencyToxic.
const LatencyToxicType = "wfbench_latency"

// LatencyToxic delays every chunk by latency ± jitter, in microseconds. It is toxiproxy's
// latency toxic with a finer unit (one direction of a 1 ms RTT is 500 µs) and settings
// that change live without a race: Set stores them atomically, and every connection's
// pipe reads them per chunk. (Toxiproxy's own update decodes JSON into the toxic while
// its pipes read it.)
//
// It also counts the bytes entering it: one toxic serves every connection of its link and
// direction, and it is the first toxic of the chain, so the count is what the senders put
// on the link, whatever a condition added after it (a blackhole, a reset) does with it.
type LatencyToxic struct {
	latencyUS atomic.Int64
	jitterUS  atomic.Int64
	bytes     atomic.Int64
}

// Bytes is how many bytes have entered the toxic, on every connection, since it was added.
func (t *LatencyToxic) Bytes() int64 { return t.bytes.Load() }

// Set changes the delay of every connection on the toxic's link.
func (t *LatencyToxic) Set(latency, jitter time.Duration) {
	t.latencyUS.Store(latency.Microseconds())
	t.jitterUS.Store(jitter.Microseconds())
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

// Pipe delays each chunk relative to when the link read it, so chunks in flight overlap
// as packets on a real path do.
func (t *LatencyToxic) Pipe(stub *toxics.ToxicStub) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			// Counted on receipt, not delivery: once a reader has the echo of a chunk, the
			// chunk has been counted both ways.
			t.bytes.Add(int64(len(c.Data)))
			due := c.Timestamp.Add(t.delay())
			if !sleepUntil(timer, due, stub.Interrupt) {
				stub.Output <- c // never drop data on an update
				return
			}
			c.Timestamp = due
			stub.Output <- c
		}
	}
}

func init() {
	toxics.Register(LatencyToxicType, new(LatencyToxic))
}

// timerLate is how late Go timers fire on this machine (a decaying maximum, in ns). On a
// VM a timer commonly fires 0.3-1 ms after its deadline (the runtime's netpoller sleeps in
// whole milliseconds), which would add that much to every direction of every link: 7% of
// a 10 ms RTT. sleepUntil aims the timer that much early and yields the CPU for the rest.
var timerLate atomic.Int64

const maxTimerLate = 2 * time.Millisecond

// sleepUntil waits until due, or returns false if interrupt closes first.
func sleepUntil(timer *time.Timer, due time.Time, interrupt <-chan struct{}) bool {
	est := time.Duration(timerLate.Load())
	if wake := time.Until(due) - est; wake > 0 {
		asked := time.Now().Add(wake)
		timer.Reset(wake)
		select {
		case <-timer.C:
		case <-interrupt:
			return false
		}
		// Track a decaying maximum, not a mean: a wake-up later than the estimate delivers
		// late, and the estimate should cover nearly all of them.
		late := min(max(time.Since(asked), 0), maxTimerLate)
		next := est - est/64
		if late > next {
			next = late
		}
		timerLate.Store(int64(next))
	}
	// The last stretch: yield the CPU in a loop until due. At most spinLimit delays do
	// so at once; the others sleep it on a timer and arrive up to ~1 ms late. Unbounded,
	// every chunk in flight spinning made a busy link's CPU cost grow with its traffic
	// (measured: -20% worker throughput at 10 ms RTT on 2 cores).
	if rest := time.Until(due); rest > 0 {
		if spinners.Add(1) <= spinLimit {
			for time.Now().Before(due) {
				runtime.Gosched()
			}
		} else {
			timer.Reset(rest)
			select {
			case <-timer.C:
			case <-interrupt:
				spinners.Add(-1)
				return false
			}
		}
		spinners.Add(-1)
	}
	return true
}

// spinners counts the delays yielding until due; spinLimit bounds them to half the CPUs.
var (
	spinners  atomic.Int64
	spinLimit = int64(max(1, runtime.GOMAXPROCS(0)/2))
)
