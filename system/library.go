package system

import (
	"context"
	"fmt"

	faktory "github.com/contribsys/faktory/client"
	worker "github.com/contribsys/faktory_worker_go"
)

// PollLibrary runs github.com/contribsys/faktory_worker_go's Manager with its defaults
// (20 slots unless told otherwise): what a Go team would deploy, and the baseline the
// other two strategies are measured against.
const PollLibrary = "library"

// LibrarySlots is faktory_worker_go's default concurrency.
const LibrarySlots = 20

// startLibrary runs the library's Manager on w's queue, its connections dialled through
// w's endpoint (so through the worker-faktory link).
func (w *Worker) startLibrary() error {
	mgr := worker.NewManager()
	mgr.Concurrency = w.opts.Concurrency
	mgr.Logger = quietLogger{}
	ep := w.opts.Endpoint
	pool, err := faktory.NewPoolWithClientConstructor(mgr.Concurrency+2, func() (*faktory.Client, error) {
		c, err := ep.Dial(context.Background())
		if err == nil {
			rawConns.Delete(c) // the library closes its clients itself
		}
		return c, err
	})
	if err != nil {
		return fmt.Errorf("library worker pool: %w", err)
	}
	mgr.Pool = pool
	mgr.ProcessStrictPriorityQueues(w.queue)
	for _, jobType := range Operations {
		mgr.Register(jobType, w.libraryHandler(jobType))
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.stopLibrary = cancel
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		_ = mgr.RunWithContext(ctx) // returns once ctx ends and the Manager terminated
		// The Manager set the process-wide worker id that Faktory's client sends with
		// every HELLO; once it no longer heartbeats for it, later connections must not
		// carry it (Faktory would reap them).
		faktory.RandomProcessWid = ""
	}()
	return nil
}

func (w *Worker) libraryHandler(jobType string) worker.Perform {
	return func(ctx context.Context, args ...any) error {
		job := &faktory.Job{Type: jobType, Args: args, Jid: worker.HelperFor(ctx).Jid()}
		if run, ok := worker.HelperFor(ctx).Custom(CustomRun); ok {
			job.SetCustom(CustomRun, run)
		}
		comp := w.run(job)
		// The library ACKs (or FAILs) after the handler returns: the completion is
		// reported here, before Faktory has heard of it.
		if w.opts.Sink != nil {
			w.opts.Sink.Complete(comp)
		}
		return comp.Err
	}
}

// quietLogger drops the library's log lines (wfbench is quiet by default).
type quietLogger struct{}

func (quietLogger) Debug(...any)          {}
func (quietLogger) Debugf(string, ...any) {}
func (quietLogger) Info(...any)           {}
func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Warn(...any)           {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Error(...any)          {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatal(...any)          {}
func (quietLogger) Fatalf(string, ...any) {}
