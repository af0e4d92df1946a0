package netem

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The delay line's clock. Go timers fire about 1 ms late on Linux for short waits: an
// idle runtime sleeps in epoll_wait, whose timeout is in whole milliseconds (a wait under
// 1 ms sleeps 1 ms). A link of 1 ms RTT then delivered each direction 0.5-1 ms late.
//
// The clock keeps every pipe's next delivery in one min-heap and sleeps until the
// earliest on an alarm that the kernel fires to the nanosecond: on Linux a timerfd in
// Go's own netpoller (alarm_linux.go), so an epoll_wait sleeping on a long timeout
// returns the moment it goes off, and no thread is blocked for it (a thread blocked on
// the alarm would need a P back from the runtime to hand anything on: measured 0.3-0.8 ms
// late under load). Two delays remain, both measured and aimed ahead of:
//
//   - the alarm's wake-up comes 50-500 µs after it goes off (the kernel waking an idle
//     vCPU, more after a longer sleep): the alarm is aimed lead early, lead being the
//     90th percentile of that lateness, tracked apart for short, medium and long sleeps;
//     the clock then yields the CPU in a loop (runtime.Gosched) until the delivery is
//     due, at most lead and only while a delivery is that close;
//   - the woken pipe goroutine runs some µs after the clock wakes it: the clock wakes it
//     early by handoff (the 75th percentile of that, at most handoffMax) and the pipe
//     yields the rest itself.
//
// Nothing spins while no delivery is due within a lead, and the clock's yielding is capped
// at spinShare of a CPU. The clock goroutine exists only
// while there is something to wait for, plus clockRetire: it leaves none behind when
// links go quiet.

const (
	clockRetire = time.Second

	leadMin      = 10 * time.Microsecond
	leadMax      = 300 * time.Microsecond
	leadStep     = 10 * time.Microsecond
	leadQuantile = 0.9

	// The yielding before deliveries is capped at spinShare of one CPU over time (bursts
	// of up to spinBurst): a link carrying thousands of deliveries a second would otherwise
	// keep the clock yielding without a pause, a CPU the system under test no longer has
	// (measured at 10 ms RTT, a burst drain: -8% worker throughput uncapped). Past the cap
	// the alarm is aimed at the due time itself, and deliveries come its lateness late.
	spinShare = 0.2
	spinBurst = 2 * time.Millisecond

	handoffMax      = 50 * time.Microsecond
	handoffStep     = 2 * time.Microsecond
	handoffQuantile = 0.75
)

// leadInitial is where lead starts, per sleepClass (measured on a 2-vCPU VM).
var leadInitial = [3]int64{int64(100 * time.Microsecond), int64(150 * time.Microsecond), int64(250 * time.Microsecond)}

// sleepClass is the lead an alarm sleeping d uses: under 2 ms, under 20 ms, longer.
func sleepClass(d int64) int {
	switch {
	case d < int64(2*time.Millisecond):
		return 0
	case d < int64(20*time.Millisecond):
		return 1
	}
	return 2
}

// waiter is a pipe's place in the clock: one per Pipe run, waiting for one delivery at a
// time.
type waiter struct {
	ch     chan struct{} // the clock's wake-up (capacity 1)
	due    int64         // ns after the clock's base
	idx    int           // position in the clock's heap; -1 if not in it
	popped time.Time     // when the clock woke it (written before the wake-up is sent)
}

func newWaiter() *waiter { return &waiter{ch: make(chan struct{}, 1), idx: -1} }

// alarm is what the clock sleeps on: set makes it go off at a time (ns after the clock's
// base; 0 disarms it), wait blocks until it has gone off.
type alarm interface {
	set(at int64) error
	wait() error
	precise() bool // false: a Go timer, whose lateness an early aim would only turn into spinning
	close()        // makes a blocked wait return an error
}

type clock struct {
	base    time.Time
	handoff atomic.Int64 // how early waiters are woken (ns); updated by the waiters
	precise atomic.Bool  // the alarm is precise (not a Go timer): handoff is tracked

	mu         sync.Mutex
	alarm      alarm
	heap       []*waiter
	running    bool     // the clock goroutine is alive
	awake      bool     // it is not blocked on the alarm: it reads the heap before it blocks again
	armed      int64    // when the alarm goes off; 0 = not set
	armedClass int      // the sleepClass it was set with
	lead       [3]int64 // how early the alarm is aimed, per sleepClass (ns)
	retire     int64    // when an idle clock goroutine exits; 0 = not idle
	spinCredit int64    // how long the clock may yield before deliveries now (ns; see spinShare)
	spinRefill int64    // when spinCredit was last topped up
}

var (
	clockOnce sync.Once
	theClock  *clock
)

func getClock() *clock {
	clockOnce.Do(func() {
		base := time.Now()
		a, err := newPreciseAlarm(base)
		if err != nil {
			a = newTimerAlarm(base)
		}
		theClock = &clock{base: base, alarm: a}
		if a.precise() {
			theClock.precise.Store(true)
			theClock.lead = leadInitial
		}
	})
	return theClock
}

// sleepUntil waits until due, or returns false if interrupt or release comes first. It
// never returns true before due.
func sleepUntil(w *waiter, due time.Time, interrupt <-chan struct{}, release <-chan struct{}) bool {
	if !time.Now().Before(due) {
		return true
	}
	c := getClock()
	c.add(w, int64(due.Sub(c.base)))
	select {
	case <-w.ch:
	case <-interrupt:
		c.remove(w)
		return false
	case <-release:
		c.remove(w)
		return false
	}
	now := time.Now()
	c.trackHandoff(int64(now.Sub(w.popped)))
	// Woken up to handoff early: yield the rest (or return on an interrupt meanwhile).
	for now.Before(due) {
		select {
		case <-interrupt:
			return false
		case <-release:
			return false
		default:
		}
		runtime.Gosched()
		now = time.Now()
	}
	return true
}

func (c *clock) now() int64 { return int64(time.Since(c.base)) }

// aim is when the alarm goes off for a delivery due at due, from now. c.mu held.
func (c *clock) aim(due, now int64) (at int64, class int) {
	wake := due - c.handoff.Load()
	class = sleepClass(wake - now)
	return wake - c.lead[class], class
}

// add puts w in the heap, due at due, and makes sure the clock wakes for it.
func (c *clock) add(w *waiter, due int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w.due = due
	c.push(w)
	switch {
	case !c.running:
		c.running, c.awake, c.retire = true, true, 0
		go c.run()
	case !c.awake && w.idx == 0:
		// The clock sleeps on the alarm: bring it forward if w is due before it goes off.
		if at, class := c.aim(due, c.now()); c.armed == 0 || at < c.armed {
			c.set(at, class)
		}
	}
}

// remove takes w out of the heap, and takes back a wake-up sent before it could.
func (c *clock) remove(w *waiter) {
	c.mu.Lock()
	if w.idx >= 0 {
		c.removeAt(w.idx)
	}
	c.mu.Unlock()
	select {
	case <-w.ch:
	default:
	}
}

// set makes the alarm go off at at (0: not at all). c.mu held.
func (c *clock) set(at int64, class int) {
	if at != 0 {
		at = max(at, 1) // 0 would disarm
	}
	if err := c.alarm.set(at); err != nil {
		c.degrade()
		_ = c.alarm.set(at)
	}
	c.armed, c.armedClass = at, class
}

// degrade moves the clock to a Go timer if the precise alarm fails (it should not).
// c.mu held.
func (c *clock) degrade() {
	if c.alarm.precise() {
		c.alarm.close() // the clock goroutine, if blocked on it, moves over
		c.alarm = newTimerAlarm(c.base)
		c.lead = [3]int64{}
		c.precise.Store(false)
		c.handoff.Store(0)
	}
}

// run is the clock goroutine: it wakes each waiter once its due time has come (less
// handoff).
func (c *clock) run() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		now := c.now()
		early := c.handoff.Load()
		for len(c.heap) > 0 && c.heap[0].due-early <= now {
			w := c.heap[0]
			c.removeAt(0)
			w.popped = time.Now()
			// Sent under c.mu: remove then finds w either in the heap or this token.
			select {
			case w.ch <- struct{}{}:
			default:
			}
		}
		var at int64
		class := 0
		if len(c.heap) == 0 {
			if c.retire == 0 {
				c.retire = now + int64(clockRetire)
			}
			if now >= c.retire {
				c.running = false
				c.set(0, 0)
				return
			}
			at = c.retire
		} else {
			c.retire = 0
			if at, class = c.aim(c.heap[0].due, now); at <= now {
				// The last stretch, shorter than the alarm's own lateness: yield until due,
				// while the spin budget lasts; past it, sleep to the wake-up time itself.
				if c.spinCredit = min(c.spinCredit+int64(float64(now-c.spinRefill)*spinShare), int64(spinBurst)); c.spinCredit > 0 {
					c.spinRefill = now
					c.mu.Unlock()
					runtime.Gosched()
					c.mu.Lock()
					c.spinCredit -= c.now() - now
					continue
				}
				c.spinRefill = now
				at = c.heap[0].due - early
			}
		}
		c.set(at, class)
		c.awake = false
		c.mu.Unlock()
		err := c.alarm.wait()
		c.mu.Lock()
		c.awake = true
		if err != nil {
			c.degrade()
			continue
		}
		if len(c.heap) > 0 && c.armed != 0 && c.alarm.precise() {
			l := &c.lead[c.armedClass]
			*l = quantileStep(*l, c.now()-c.armed, leadQuantile, leadStep, leadMin, leadMax)
		}
		c.armed = 0
	}
}

// trackHandoff takes one hand-off time (clock wake-up to the waiter running). Updates
// from concurrent waiters may overwrite each other: an estimate loses a sample.
func (c *clock) trackHandoff(d int64) {
	if c.precise.Load() {
		c.handoff.Store(quantileStep(c.handoff.Load(), d, handoffQuantile, handoffStep, 0, handoffMax))
	}
}

// quantileStep moves a running estimate of a quantile q towards a new sample: up by
// step×q if the sample is above it, down by step×(1-q) otherwise (it settles where a
// fraction q of samples is below), within [lo, hi].
func quantileStep(est, sample int64, q float64, step, lo, hi time.Duration) int64 {
	if sample > est {
		est += int64(float64(step) * q)
	} else {
		est -= int64(float64(step) * (1 - q))
	}
	return min(max(est, int64(lo)), int64(hi))
}

// The heap, by due time. c.mu held.

func (c *clock) push(w *waiter) {
	w.idx = len(c.heap)
	c.heap = append(c.heap, w)
	c.up(w.idx)
}

func (c *clock) removeAt(i int) {
	n := len(c.heap) - 1
	w := c.heap[i]
	if i != n {
		c.swap(i, n)
	}
	c.heap[n] = nil
	c.heap = c.heap[:n]
	w.idx = -1
	if i != n {
		if !c.down(i) {
			c.up(i)
		}
	}
}

func (c *clock) swap(i, j int) {
	c.heap[i], c.heap[j] = c.heap[j], c.heap[i]
	c.heap[i].idx, c.heap[j].idx = i, j
}

func (c *clock) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if c.heap[p].due <= c.heap[i].due {
			return
		}
		c.swap(i, p)
		i = p
	}
}

// down sifts i down; it reports whether i moved.
func (c *clock) down(i int) bool {
	start, n := i, len(c.heap)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && c.heap[r].due < c.heap[l].due {
			m = r
		}
		if c.heap[i].due <= c.heap[m].due {
			break
		}
		c.swap(i, m)
		i = m
	}
	return i != start
}

// timerAlarm is the fallback alarm: a Go timer (about 1 ms late, see above).
type timerAlarm struct {
	base time.Time
	t    *time.Timer
}

func newTimerAlarm(base time.Time) *timerAlarm {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &timerAlarm{base: base, t: t}
}

func (a *timerAlarm) set(at int64) error {
	if at == 0 {
		a.t.Stop()
	} else {
		a.t.Reset(time.Until(a.base.Add(time.Duration(at))))
	}
	return nil
}

func (a *timerAlarm) wait() error   { <-a.t.C; return nil }
func (a *timerAlarm) precise() bool { return false }
func (a *timerAlarm) close()        {}
