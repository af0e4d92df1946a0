package reports

import (
	"fmt"
	"strings"
	"time"
)

// The terminal table and the markdown summary show the same figures; building the
// rows once keeps them from drifting apart.

// summaryColumns names the summary columns (units in the names, so cells stay
// numeric): one-line for markdown, two-line for the terminal, where the one-line names
// make the table wider than most windows.
var summaryColumns = []struct{ md, term string }{
	{"run", "run"},
	{"enqueue RTT ms (conf / meas)", "enqueue RTT ms\nconf / meas"},
	{"batch", "batch"},
	{"completed / accepted", "completed\n/ accepted"},
	{"lost", "lost"},
	{"enqueue ms (p50 / p99)", "enqueue ms\np50 / p99"},
	{"pickup ms (p50)", "pickup ms\np50"},
	{"end-to-end ms (p50 / p99)", "end-to-end ms\np50 / p99"},
	{"enqueue jobs/s", "enqueue\njobs/s"},
	{"completed jobs/s", "completed\njobs/s"},
	{"efficiency vs floor", "efficiency\nvs floor"},
}

// summaryHeader returns the column names for markdown (term=false) or the terminal.
func summaryHeader(term bool) []string {
	out := make([]string, len(summaryColumns))
	for i, c := range summaryColumns {
		out[i] = c.md
		if term {
			out[i] = c.term
		}
	}
	return out
}

// summaryRow returns one run's cells in summaryColumns order.
func summaryRow(r *Run) []string {
	enq, hasEnq := r.LatencyMS[PointEnqueue]
	pick, hasPick := r.LatencyMS[PointPickup]
	e2e, hasE2E := r.LatencyMS[PointEndToEnd]
	return []string{
		runLabel(r),
		confRTT(r) + " / " + measuredRTT(r),
		fmt.Sprint(r.Config.Batch),
		fmt.Sprintf("%d / %d", r.Jobs.Completed, r.Jobs.Accepted),
		fmt.Sprint(r.Jobs.Lost),
		pair(hasEnq, enq.P50, enq.P99),
		single(hasPick, pick.P50),
		pair(hasE2E, e2e.P50, e2e.P99),
		fmtRate(r.Throughput.EnqueueJobsPerS),
		fmtRate(r.Throughput.CompletedJobsPerS),
		efficiency(r),
	}
}

// measuredRTT is the measured RTT of the links an enqueue call crosses (the model's sum),
// or, in results without it, the first link's.
func measuredRTT(r *Run) string {
	switch {
	case r.Model.MeasuredEnqueueRTTMS > 0:
		return fmtMS(r.Model.MeasuredEnqueueRTTMS)
	case len(r.Links) == 0:
		return "-"
	}
	return fmtMS(r.Links[0].MeasuredRTTMS)
}

func pair(ok bool, a, b float64) string {
	if !ok {
		return "-"
	}
	return fmtMS(a) + " / " + fmtMS(b)
}

func single(ok bool, a float64) string {
	if !ok {
		return "-"
	}
	return fmtMS(a)
}

// efficiency is "-" when there is no floor (no added RTT): a ratio to zero says nothing.
func efficiency(r *Run) string {
	if r.Model.NetworkFloorS <= 0 {
		return "-"
	}
	return fmtPct(r.Model.Efficiency)
}

// runWarnings lists what makes a run's figures untrustworthy or a failure, in plain
// words; empty for a clean run.
func runWarnings(r *Run) []string {
	var w []string
	switch {
	case r.Ended == EndedRedisKill:
		// The loss is what the phase was for: said as such, not as a failure of the system.
		w = append(w, fmt.Sprintf("ended by its own redis kill phase, as planned: Redis without persistence lost its queued and reserved jobs (%s lost)", plural(r.Jobs.Lost, "job")))
	case r.Jobs.Lost > 0:
		w = append(w, fmt.Sprintf("%s lost (accepted, never completed, not held by Faktory when the run ended)", plural(r.Jobs.Lost, "job")))
	}
	if r.Jobs.Pending > 0 {
		w = append(w, pendingLine(r))
	}
	if r.Jobs.Unreported > 0 {
		w = append(w, fmt.Sprintf("%s done (acknowledged to Faktory) but never reported: their worker host was killed with the reports in flight; not lost, not timed", plural(r.Jobs.Unreported, "job")))
	}
	if r.Jobs.Duplicated > 0 {
		w = append(w, fmt.Sprintf("%s completed more than once", plural(r.Jobs.Duplicated, "job")))
	}
	if r.Interrupted {
		w = append(w, "interrupted before it finished: figures cover only what was measured until then")
	}
	if r.Model.BeatsFloor {
		w = append(w, "faster than the network floor: a measurement error, not a win")
	}
	return w
}

// pendingLine says how many jobs Faktory still held when the run ended and how long they
// would take at the rate the run measured. Not a failure, but the end-to-end figures
// leave out these jobs, the ones that waited longest.
func pendingLine(r *Run) string {
	s := fmt.Sprintf("%s still queued or reserved in Faktory when the drain ended", plural(r.Jobs.Pending, "job"))
	if rate := r.Throughput.CompletedJobsPerS; rate > 0 {
		eta := max(time.Duration(float64(r.Jobs.Pending)/rate*float64(time.Second)).Round(time.Second), time.Second)
		s += fmt.Sprintf(" (at the measured %s jobs/s they need ~%s more)", fmtRate(rate), eta)
	}
	return s + ": end-to-end latency covers the completed jobs only"
}

// warningLine joins a run's warnings into one sentence ("" when clean).
func warningLine(r *Run) string {
	w := runWarnings(r)
	if len(w) == 0 {
		return ""
	}
	return fmt.Sprintf("%s: %s.", runLabel(r), strings.Join(w, "; "))
}

// runLabel is the run's name, with its repetition number when it has one.
func runLabel(r *Run) string {
	if r.Repetition > 0 {
		return fmt.Sprintf("%s #%d", r.Name, r.Repetition)
	}
	return r.Name
}
