package system

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Headers of the completion channel (POST /completions) between a standalone worker's
// HTTPSink and its collector (the API, or a benchmark driver's Collector).
const (
	// HeaderWorker names the worker process that sends (WORKER_NAME).
	HeaderWorker = "X-Wfbench-Worker"
	// HeaderClock is the collector's wall clock when it answered, in Unix nanoseconds:
	// the sink's ping-pong reads it between its own send and receive times.
	HeaderClock = "X-Wfbench-Clock"
	// HeaderClockOffset is what the sink measured: "OFFSET_NS/RTT_NS", the collector's
	// clock minus the worker's, from the exchange with the shortest round trip (the
	// offset is known to ±RTT/2).
	HeaderClockOffset = "X-Wfbench-Clock-Offset"
)

// ClockSample is one worker's clock offset to its collector, as its sink measured it.
type ClockSample struct {
	Offset time.Duration // collector's clock minus the worker's
	RTT    time.Duration // of the exchange it comes from: the offset is known to ±RTT/2
}

// Uncertainty is how far the true offset may be from Offset.
func (c ClockSample) Uncertainty() time.Duration { return c.RTT / 2 }

func (c ClockSample) header() string {
	return strconv.FormatInt(int64(c.Offset), 10) + "/" + strconv.FormatInt(int64(c.RTT), 10)
}

func parseClockSample(s string) (ClockSample, bool) {
	o, r, ok := strings.Cut(s, "/")
	off, err1 := strconv.ParseInt(o, 10, 64)
	rtt, err2 := strconv.ParseInt(r, 10, 64)
	if !ok || err1 != nil || err2 != nil || rtt < 0 || rtt > int64(time.Minute) || off > int64(24*time.Hour) || off < -int64(24*time.Hour) {
		return ClockSample{}, false
	}
	return ClockSample{Offset: time.Duration(off), RTT: time.Duration(rtt)}, true
}

// WorkerReport is what one worker process reported to a Collector.
type WorkerReport struct {
	Name      string
	Completed int // completions without a job error
	Failed    int // completions with one
	Clock     ClockSample
	Measured  bool // Clock was measured (the worker's sink sent it)
	Corrected bool // its times were shifted by Clock.Offset (larger than its uncertainty)
}

// Collector is a benchmark driver's end of WORKER_REPORT_URL: POST /completions from
// workers in other processes or on other hosts, fed to a sink. It counts each worker's
// completions, and puts a worker's times on the collector's clock when that worker
// measured an offset larger than the measurement's own uncertainty; otherwise the times
// stay as sent, and WorkerReport says so.
type Collector struct {
	sink CompletionSink
	dec  *API             // decodes the list, with the API's limits and answers
	now  func() time.Time // the collector's clock (tests shift it)
	mu   sync.Mutex
	byW  map[string]*WorkerReport
}

// NewCollector feeds the completions it receives to sink.
func NewCollector(sink CompletionSink) *Collector {
	return &Collector{sink: sink, dec: &API{MaxBody: DefaultMaxBody}, byW: map[string]*WorkerReport{}, now: time.Now}
}

// maxWorkers bounds the worker names a Collector keeps (a name is any header value).
const maxWorkers = 1024

// ServeHTTP answers POST /completions.
func (c *Collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/completions" {
		writeError(w, http.StatusNotFound, "the collector answers POST /completions only")
		return
	}
	list, ok := decodeList[wireCompletion](c.dec, w, r, "completions", MaxCompletionsPerPost, func(n int) string {
		return fmt.Sprintf("reading stopped at completion %d: send at most %d per POST", n, MaxCompletionsPerPost)
	})
	if !ok {
		return
	}
	name := r.Header.Get(HeaderWorker)
	if len(name) > 128 {
		name = name[:128]
	}
	clock, measured := parseClockSample(r.Header.Get(HeaderClockOffset))
	c.mu.Lock()
	rep := c.byW[name]
	if rep == nil && len(c.byW) < maxWorkers {
		rep = &WorkerReport{Name: name}
		c.byW[name] = rep
	}
	shift := time.Duration(0)
	if rep != nil {
		if measured {
			rep.Clock, rep.Measured = clock, true
			rep.Corrected = clock.Offset > clock.Uncertainty() || -clock.Offset > clock.Uncertainty()
		}
		if rep.Corrected {
			shift = rep.Clock.Offset
		}
		for _, wc := range list {
			if wc.Err == "" {
				rep.Completed++
			} else {
				rep.Failed++
			}
		}
	}
	c.mu.Unlock()
	for _, wc := range list {
		comp := wc.completion()
		if shift != 0 {
			comp.Started, comp.Finished = comp.Started.Add(shift), comp.Finished.Add(shift)
		}
		c.sink.Complete(comp)
	}
	stampClock(w, c.now())
	w.WriteHeader(http.StatusNoContent)
}

// stampClock puts the collector's clock on an answer to POST /completions.
func stampClock(w http.ResponseWriter, now time.Time) {
	w.Header().Set(HeaderClock, strconv.FormatInt(now.UnixNano(), 10))
}

// Workers lists what each worker reported, by name.
func (c *Collector) Workers() []WorkerReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]WorkerReport, 0, len(c.byW))
	for _, r := range c.byW {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b WorkerReport) int { return strings.Compare(a.Name, b.Name) })
	return out
}
