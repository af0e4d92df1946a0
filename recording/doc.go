// Package recording is the run's instrument: the Recorder follows every job from its
// enqueue call to its completion (exactly once, in constant memory: per-job state only
// while a job is in flight, one bit per finished job) into HDR histograms per timing
// point, and the Timeline cuts the same samples into intervals, written as HdrHistogram
// interval logs (.hlog) as each interval ends.
//
//	driver ──calls──▶ Recorder ◀──completions── workers
//	                     │ every sample
//	                     ├──▶ run histograms (enqueue, pickup, end_to_end, service)
//	                     └──▶ Timeline ──▶ <run>.<point>.hlog, the run's time series
//
// It knows nothing of how a run is driven (package bench) or reported (package reports,
// whose result types it fills).
package recording
