package netem

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// Many waits at once, some interrupted and some released: none returns before its due
// time, an interrupted or released one returns false, and the clock's heap ends empty.
func TestClockNeverEarly(t *testing.T) {
	release := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 7))
			w := newWaiter()
			for i := range 30 {
				due := time.Now().Add(time.Duration(r.Int64N(int64(3 * time.Millisecond))))
				interrupt := make(chan struct{})
				cut := i%5 == 4
				if cut {
					after := time.Duration(r.Int64N(int64(time.Millisecond)))
					go func() { time.Sleep(after); close(interrupt) }()
				}
				ok := sleepUntil(w, due, interrupt, release)
				if now := time.Now(); ok && now.Before(due) {
					t.Errorf("woke %s before due", due.Sub(now))
				}
				if !ok && !cut {
					t.Error("uninterrupted wait returned false")
				}
				if len(w.ch) != 0 {
					t.Error("a wake-up left behind in the waiter")
				}
			}
		})
	}
	wg.Wait()
	// Released: waits return false at once.
	close(release)
	if sleepUntil(newWaiter(), time.Now().Add(time.Hour), nil, release) {
		t.Error("released wait returned true")
	}
	c := getClock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.heap) != 0 {
		t.Errorf("%d waiters left in the clock", len(c.heap))
	}
}

// The heap keeps the earliest due time first through pushes and removals anywhere.
func TestClockHeap(t *testing.T) {
	c := &clock{}
	r := rand.New(rand.NewPCG(1, 2))
	var ws []*waiter
	for range 200 {
		w := newWaiter()
		w.due = r.Int64N(1000)
		c.push(w)
		ws = append(ws, w)
	}
	for i := 0; i < len(ws); i += 3 { // remove a third, from anywhere
		c.removeAt(ws[i].idx)
		if ws[i].idx != -1 {
			t.Fatal("removed waiter keeps an index")
		}
	}
	last := int64(-1)
	for len(c.heap) > 0 {
		for i, w := range c.heap {
			if w.idx != i {
				t.Fatalf("waiter at %d says %d", i, w.idx)
			}
		}
		w := c.heap[0]
		c.removeAt(0)
		if w.due < last {
			t.Fatalf("due %d after %d", w.due, last)
		}
		last = w.due
	}
}
