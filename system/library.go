package system

import (
	"context"
	"fmt"
	"time"

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
	// The Manager sets the process-wide worker id at boot; waiting for its Startup event
	// orders that write before every dial that follows (ours included).
	started := make(chan struct{})
	mgr.On(worker.Startup, func(*worker.Manager) error { close(started); return nil })
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
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		cancel()
		return fmt.Errorf("library worker: the Manager did not start within 10 s")
	}
	// Each of the library's slots sleeps a random 0-2.1 s before its first FETCH (its
	// guard against a thundering herd); load sent before then would measure that
	// stagger, not steady-state polling.
	time.Sleep(LibraryStagger)
	return nil
}

// LibraryStagger is how long faktory_worker_go's slots may wait before their first FETCH.
const LibraryStagger = 2200 * time.Millisecond

func (w *Worker) libraryHandler(jobType string) worker.Perform {
	return func(ctx context.Context, args ...any) error {
		job := &faktory.Job{Type: jobType, Args: args, Jid: worker.HelperFor(ctx).Jid()}
		if run, ok := worker.HelperFor(ctx).Custom(CustomRun); ok {
			job.SetCustom(CustomRun, run)
		}
		comp := w.run(job)
		// The library ACKs (or FAILs) after the handler returns: the completion is
		// reported here, before Faktory has heard of it (AckErr stays nil; a lost ACK
		// shows up as a duplicate when Faktory hands the job out again).
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
