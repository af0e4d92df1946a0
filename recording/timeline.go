package recording

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/wfbench/wfbench/reports"
)

// HlogWriter writes one timing point's interval histograms in HdrHistogram's interval log
// format (version 1.3, as HistogramLogWriter writes it and HistogramLogReader,
// HistogramLogProcessor and HistogramLogAnalyzer read it): a header with the log's start
// time, then one line per interval with its start (seconds from the start), length, max
// and the compressed histogram. Values are microseconds. Lines are untagged: one file
// holds one timing point, and HistogramLogProcessor reads only untagged lines by default.
type HlogWriter struct {
	lw      *hdrhistogram.HistogramLogWriter
	startMS int64
}

// NewHlogWriter writes the log's header: start is the start of the load, which interval
// starts count from; comment (one line) says what the log holds.
func NewHlogWriter(w io.Writer, start time.Time, comment string) (*HlogWriter, error) {
	lw := hdrhistogram.NewHistogramLogWriter(w)
	startMS := start.UnixMilli()
	lw.SetBaseTime(startMS)
	secs := float64(startMS) / 1000
	// StartTime and BaseTime as HdrHistogram's Java writer has them (seconds with ms): the
	// Go library's own OutputStartTime drops the ms, and its OutputBaseTime writes
	// "Basetime", which no reader (its own included) recognises.
	err := errors.Join(
		lw.OutputLogFormatVersion(),
		lw.OutputComment(comment),
		lw.OutputComment(fmt.Sprintf("[StartTime: %.3f (seconds since epoch), %s]", secs, start.UTC().Format("2006-01-02T15:04:05.000Z"))),
		lw.OutputComment(fmt.Sprintf("[BaseTime: %.3f (seconds since epoch)]", secs)),
		lw.OutputLegend(),
	)
	if err != nil {
		return nil, fmt.Errorf("interval log header: %w", err)
	}
	return &HlogWriter{lw: lw, startMS: startMS}, nil
}

// Write logs h as the interval [from, to) after the start. The Interval_Max column is the
// library's: the max scaled by 1/10^6 (µs values: seconds).
func (w *HlogWriter) Write(h *hdrhistogram.Histogram, from, to time.Duration) error {
	h.SetStartTimeMs(w.startMS + from.Milliseconds())
	h.SetEndTimeMs(w.startMS + to.Milliseconds())
	if err := w.lw.OutputIntervalHistogram(h); err != nil {
		return fmt.Errorf("interval log: %w", err)
	}
	return nil
}

// HlogInterval is one interval read back from an interval log.
type HlogInterval struct {
	StartS, LengthS float64 // from the log's base time (the start of the load)
	Hist            *hdrhistogram.Histogram
}

var hlogBaseTime = regexp.MustCompile(`(?m)^#\[BaseTime: ([0-9.]+)`)

// ReadHlog reads an interval log back with the library's HistogramLogReader.
func ReadHlog(r io.Reader) ([]HlogInterval, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read interval log: %w", err)
	}
	var baseMS int64
	if m := hlogBaseTime.FindSubmatch(data); m != nil {
		s, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			return nil, fmt.Errorf("interval log BaseTime %q: %w", m[1], err)
		}
		baseMS = int64(math.Round(s * 1000))
	}
	lr := hdrhistogram.NewHistogramLogReader(bytes.NewReader(data))
	var out []HlogInterval
	for {
		h, err := lr.NextIntervalHistogram()
		if err != nil {
			return out, fmt.Errorf("interval log, interval %d: %w", len(out)+1, err)
		}
		if h == nil {
			return out, nil
		}
		out = append(out, HlogInterval{
			StartS:  float64(h.StartTimeMs()-baseMS) / 1000,
			LengthS: float64(h.EndTimeMs()-h.StartTimeMs()) / 1000,
			Hist:    h,
		})
	}
}

// ReadHlogFile reads the interval log at path.
func ReadHlogFile(path string) ([]HlogInterval, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out, err := ReadHlog(f)
	if err != nil {
		return out, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// Timeline records a run's samples by the interval they happened in, besides the run's
// own histograms: per interval, one histogram per timing point and the jobs enqueued and
// completed. Each interval is written out (one interval log per timing point, and a line
// of the series) as it ends, so a long run's logs are on disk as it goes and its memory
// stays flat: two intervals are open at a time (the one ending, for samples noted a
// little late, and the next), and their histograms are reused. Safe for concurrent use.
type Timeline struct {
	start time.Time
	every time.Duration
	grace time.Duration
	dir   string // "" : no interval logs, the series only
	stem  string
	name  string

	mu     sync.Mutex
	cur    int        // the older of the two open intervals
	open   [2]*bucket // intervals cur and cur+1
	free   []*bucket
	points []string // every point recorded so far, in order of first sample
	series []reports.Interval
	closed bool
	end    time.Time // set by Stop: the end of the series

	wmu  sync.Mutex // one writer at a time, intervals in order
	logs map[string]*hlogFile
	err  error // the first write error; later intervals are still summarised

	stop chan struct{}
	done chan struct{}
}

type bucket struct {
	idx                 int
	hist                map[string]*hdrhistogram.Histogram
	enqueued, completed int64
}

type hlogFile struct {
	f *os.File
	w *HlogWriter
}

// TimelineOptions configure a Timeline.
type TimelineOptions struct {
	Start time.Time     // the start of the load: interval 0 starts here
	Every time.Duration // the interval length
	// Dir and Stem name the interval logs, Dir/<Stem>.<point>.hlog; Dir "" writes none.
	Dir, Stem string
	Run       string   // the run's name, in the logs' header
	Points    []string // the timing points to log from the start (others from their first sample)
	// Grace is how long after its end an interval waits for samples noted late (a
	// completion reaches the recorder a round trip after the worker finished); 0: a tenth
	// of the interval, at most 100 ms. At most half the interval.
	Grace time.Duration
}

// NewTimeline starts a timeline. Its interval logs are created at once (with their
// headers); call Start to rotate intervals as time passes and Close to end it.
func NewTimeline(o TimelineOptions) (*Timeline, error) {
	if err := reports.CheckInterval(o.Every); err != nil {
		return nil, err
	}
	t := &Timeline{
		start: o.Start, every: o.Every, grace: min(cmp.Or(o.Grace, min(o.Every/10, 100*time.Millisecond)), o.Every/2),
		dir: o.Dir, stem: o.Stem, name: o.Run, logs: map[string]*hlogFile{},
	}
	t.open = [2]*bucket{t.newBucket(0), t.newBucket(1)}
	for _, p := range o.Points {
		t.addPoint(p)
	}
	if t.dir != "" {
		for _, p := range t.points {
			if _, err := t.log(p); err != nil {
				t.closeLogs()
				return nil, err
			}
		}
	}
	return t, nil
}

// Points are the timing points the timeline has (logs) for, in order.
func (t *Timeline) Points() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.points)
}

// Hlogs returns the interval log's file name (within the folder) per timing point.
func (t *Timeline) Hlogs() map[string]string {
	if t.dir == "" {
		return nil
	}
	out := map[string]string{}
	for _, p := range t.Points() {
		out[p] = reports.HlogName(t.stem, p)
	}
	return out
}

func (t *Timeline) newBucket(idx int) *bucket {
	b := &bucket{hist: map[string]*hdrhistogram.Histogram{}}
	if n := len(t.free); n > 0 {
		b, t.free = t.free[n-1], t.free[:n-1]
	}
	// A bucket freed while a point was added lacks it.
	for _, p := range t.points {
		if b.hist[p] == nil {
			b.hist[p] = reports.NewHistogram()
		}
	}
	b.idx = idx
	return b
}

// addPoint starts recording a timing point; the caller holds mu (or owns t).
func (t *Timeline) addPoint(p string) {
	if slices.Contains(t.points, p) {
		return
	}
	t.points = append(t.points, p)
	for _, b := range t.open {
		b.hist[p] = reports.NewHistogram()
	}
	for _, b := range t.free {
		b.hist[p] = reports.NewHistogram()
	}
}

// bucketFor is the open interval a sample at wall time at goes into: its own, or the
// nearest one still open (an interval already written takes no sample: it goes into the
// older open one; one not open yet, when the rotation runs late, into the newer).
// The caller holds mu.
func (t *Timeline) bucketFor(at time.Time) *bucket {
	if !t.end.IsZero() && at.After(t.end) {
		at = t.end // noted after Stop: the last interval
	}
	idx := 0
	if d := at.Sub(t.start); d > 0 {
		idx = int(d / t.every)
	}
	if idx <= t.cur {
		return t.open[0]
	}
	return t.open[1]
}

// Record adds a sample of point (µs, clamped into the histograms' range) that happened
// at wall time at.
func (t *Timeline) Record(point string, us int64, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.addPoint(point)
	_ = t.bucketFor(at).hist[point].RecordValue(min(max(us, 0), reports.HistMaxUS))
}

// Enqueued counts n jobs accepted by an answer at wall time at.
func (t *Timeline) Enqueued(n int, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.closed {
		t.bucketFor(at).enqueued += int64(n)
	}
}

// Completed counts one job a worker finished at wall time at.
func (t *Timeline) Completed(at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.closed {
		t.bucketFor(at).completed++
	}
}

// Rotate writes every interval that ended (with a short grace for samples noted late)
// by now. Start calls it on time; tests call it themselves.
func (t *Timeline) Rotate(now time.Time) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	for {
		t.mu.Lock()
		end := t.start.Add(time.Duration(t.cur+1) * t.every)
		if t.closed || now.Sub(end) < t.grace {
			t.mu.Unlock()
			return
		}
		b := t.open[0]
		t.open[0], t.open[1] = t.open[1], t.newBucket(t.cur+2)
		t.cur++
		points := slices.Clone(t.points)
		t.mu.Unlock()
		t.finish(b, points, t.every)
	}
}

// finish summarises and writes a closed interval of the given length, then frees its
// bucket. The caller holds wmu.
func (t *Timeline) finish(b *bucket, points []string, length time.Duration) {
	from := time.Duration(b.idx) * t.every
	iv := reports.Interval{StartS: from.Seconds(), LengthS: length.Seconds(), Enqueued: b.enqueued, Completed: b.completed}
	if length > 0 {
		iv.EnqueuedPerS = float64(b.enqueued) / length.Seconds()
		iv.CompletedPerS = float64(b.completed) / length.Seconds()
	}
	for _, p := range points {
		h := b.hist[p]
		if h.TotalCount() > 0 {
			if iv.LatencyMS == nil {
				iv.LatencyMS = map[string]reports.IntervalLatency{}
			}
			iv.LatencyMS[p] = reports.IntervalLatencyOf(h)
		}
		if t.dir != "" && t.err == nil {
			l, err := t.log(p)
			if err == nil {
				err = l.w.Write(h, from, from+length)
			}
			if err != nil {
				t.err = fmt.Errorf("%s: %w", reports.HlogName(t.stem, p), err)
			}
		}
		h.Reset()
	}
	b.enqueued, b.completed = 0, 0
	t.mu.Lock()
	t.series = append(t.series, iv)
	t.free = append(t.free, b)
	t.mu.Unlock()
}

// log returns the open interval log of a point, creating it (with its header) the first
// time. The caller holds wmu, or owns t.
func (t *Timeline) log(p string) (*hlogFile, error) {
	if l := t.logs[p]; l != nil {
		return l, nil
	}
	name := reports.HlogName(t.stem, p)
	f, err := os.Create(filepath.Join(t.dir, name))
	if err != nil {
		return nil, fmt.Errorf("create interval log: %w", err)
	}
	comment := fmt.Sprintf("wfbench run %q, timing point %s: latency in microseconds (1 us .. 1 h, %d significant digits), one interval every %s from the start of the load; Interval_Max in seconds",
		t.name, p, reports.HistDigits, t.every)
	w, err := NewHlogWriter(f, t.start, comment)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	l := &hlogFile{f: f, w: w}
	t.logs[p] = l
	return l, nil
}

func (t *Timeline) closeLogs() error {
	var errs []error
	for _, l := range t.logs {
		errs = append(errs, l.f.Close())
	}
	t.logs = map[string]*hlogFile{}
	return errors.Join(errs...)
}

// Start rotates the intervals as they end, until Close.
func (t *Timeline) Start() {
	t.mu.Lock()
	if t.stop != nil || t.closed {
		t.mu.Unlock()
		return
	}
	stop, done := make(chan struct{}), make(chan struct{})
	t.stop, t.done = stop, done
	t.mu.Unlock()
	go func() {
		defer close(done)
		timer := time.NewTimer(0)
		defer timer.Stop()
		for {
			t.mu.Lock()
			next := t.start.Add(time.Duration(t.cur+1)*t.every + t.grace)
			t.mu.Unlock()
			timer.Reset(max(time.Until(next), 0))
			select {
			case now := <-timer.C:
				t.Rotate(now)
			case <-stop:
				return
			}
		}
	}()
}

// Stop ends the series at end (the end of the run's measurement, before its shutdown):
// rotation stops, and a sample noted later counts in the last interval, so that the
// series still adds up to the run's histograms. Close writes what is still open.
func (t *Timeline) Stop(end time.Time) {
	t.mu.Lock()
	stop, done := t.stop, t.done
	t.stop = nil
	if t.end.IsZero() || end.Before(t.end) {
		t.end = end
	}
	t.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

// Close ends the timeline at end (the end of the run; Stop's end if it was stopped): the
// intervals still open are written, the last one as long as it lasted, and the logs are
// closed. It returns the series and the first error writing the logs (the series is
// whole even then). Samples recorded after Close are not in the series.
func (t *Timeline) Close(end time.Time) (*reports.Intervals, error) {
	t.Stop(end)
	t.mu.Lock()
	end = t.end
	t.mu.Unlock()
	t.Rotate(end)
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.mu.Lock()
	if t.closed {
		defer t.mu.Unlock()
		return &reports.Intervals{IntervalS: t.every.Seconds(), Series: slices.Clone(t.series)}, t.err
	}
	t.closed = true
	last := t.open
	points := slices.Clone(t.points)
	t.mu.Unlock()
	for _, b := range last {
		from := time.Duration(b.idx) * t.every
		length := min(max(end.Sub(t.start)-from, 0), t.every)
		empty := b.enqueued == 0 && b.completed == 0
		for _, h := range b.hist {
			empty = empty && h.TotalCount() == 0
		}
		// The newer open interval is written only when the run reached it (or, with a
		// late rotation, it holds samples).
		if b == last[1] && length == 0 && empty {
			continue
		}
		t.finish(b, points, length)
	}
	if err := t.closeLogs(); err != nil && t.err == nil {
		t.err = fmt.Errorf("close interval logs: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return &reports.Intervals{IntervalS: t.every.Seconds(), Series: slices.Clone(t.series)}, t.err
}
