package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/wfbench/wfbench/bench"
)

// Progress modes (--progress).
var progressModes = []string{"auto", "bar", "lines", "none"}

// progressLineEvery is how often the quiet (non-terminal) mode prints a line.
const progressLineEvery = 5 * time.Second

// progressView shows a run's progress: a bar on a terminal, a line every few seconds
// otherwise (CI logs), nothing with --progress none.
type progressView struct {
	w    io.Writer
	mode string // bar | lines | none

	mu       sync.Mutex
	bar      *progressbar.ProgressBar
	label    string
	lastLine time.Time
}

func newProgressView(w io.Writer, mode string) *progressView {
	if mode == "auto" {
		mode = "lines"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			mode = "bar"
		}
	}
	return &progressView{w: w, mode: mode}
}

// start begins a run; label names it ("[2/4] rtt=100ms batch=1").
func (v *progressView) start(label string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.label, v.bar, v.lastLine = label, nil, time.Now()
	if v.mode == "lines" {
		fmt.Fprintf(v.w, "%s: starting\n", label)
	}
}

// update is the bench.Progress callback.
func (v *progressView) update(p bench.Progress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch v.mode {
	case "bar":
		if v.bar == nil {
			max := int64(p.Total)
			if max == 0 {
				max = -1 // bound by duration: a spinner with the count
			}
			v.bar = progressbar.NewOptions64(max,
				progressbar.OptionSetWriter(v.w),
				progressbar.OptionSetDescription(v.label),
				progressbar.OptionShowCount(),
				progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("jobs"),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionClearOnFinish(),
				progressbar.OptionSetWidth(30),
			)
		}
		desc := fmt.Sprintf("%s %s, %d sent", v.label, p.Stage, p.Sent)
		if eta := drainETA(p); eta != "" {
			desc += ", " + eta
		}
		v.bar.Describe(desc)
		_ = v.bar.Set(p.Completed)
		if p.Done {
			_ = v.bar.Finish()
			_ = v.bar.Clear()
			v.bar = nil
		}
	case "lines":
		if p.Done || time.Since(v.lastLine) >= progressLineEvery {
			fmt.Fprintf(v.w, "%s: %s\n", v.label, progressLine(p))
			v.lastLine = time.Now()
		}
	}
}

// progressLine is one line of progress: counts, rate, and an ETA while it can be told.
func progressLine(p bench.Progress) string {
	rate := 0.0
	if p.Elapsed > 0 {
		rate = float64(p.Completed) / p.Elapsed.Seconds()
	}
	s := fmt.Sprintf("%s, %d sent, %d accepted, %d done, %.1f jobs/s, %s elapsed",
		p.Stage, p.Sent, p.Accepted, p.Completed, rate, p.Elapsed.Round(100*time.Millisecond))
	switch {
	case p.Done:
	case drainETA(p) != "":
		s += ", " + drainETA(p)
	case p.Total > 0 && rate > 0 && p.Completed < p.Total:
		eta := time.Duration(float64(p.Total-p.Completed) / rate * float64(time.Second))
		s += fmt.Sprintf(", ETA %s", eta.Round(time.Second))
	case p.Total == 0 && p.Duration > p.Elapsed:
		s += fmt.Sprintf(", %s to go", (p.Duration - p.Elapsed).Round(time.Second))
	}
	if p.Done {
		s += " (done)"
	}
	return s
}

// drainETA tells, during the drain, how many jobs are left and when they will be done at
// the recent completion rate ("" when it cannot be told).
func drainETA(p bench.Progress) string {
	left := p.Accepted - p.Completed
	if p.Done || p.Stage != "drain" || p.Rate <= 0 || left <= 0 {
		return ""
	}
	eta := time.Duration(float64(left) / p.Rate * float64(time.Second))
	return fmt.Sprintf("%d to drain at %.1f jobs/s, ETA %s", left, p.Rate, eta.Round(time.Second))
}
