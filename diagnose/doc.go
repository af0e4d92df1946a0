// Package diagnose measures a live deployment — a Faktory broker and, optionally, the
// reference API in front of it — in well under a minute, and turns what it measured into
// findings ranked by impact, each with the knob to turn and the gain to expect.
//
// What it measures (Run):
//
//	connect        TCP connect, then Faktory's HI/HELLO handshake, on fresh connections
//	command RTT    a command Faktory answers without touching Redis (system.Ping), many
//	               times: min, p50, p99 (HdrHistogram)
//	enqueue        PUSH per job vs PUSHB per job at a few batch sizes
//	worker path    pickup (PUSH sent → a waiting FETCH returns the job), FETCH with a job
//	               waiting, ACK
//	INFO           connections, queue sizes, and each queue's latency (QUEUE LATENCY)
//	API            GET /healthz, GET /metrics (pool in use / idle / wait, circuit), and a
//	               few POST /jobs/add
//
// Sample counts are sized from the RTT measured first, so a run fits its budget at any
// RTT, and every loop is bounded in count and in time.
//
// Everything diagnose pushes goes to a private queue (wfbench-diag-<random>) that it
// drains (FETCH and ACK, pipelined on one connection) and removes afterwards, on success,
// on error and on cancellation alike; INFO before and after shows the queue list as it
// was found. ReadOnly sends only HELLO, the no-op ping, INFO, QUEUE LATENCY and END to
// Faktory and only GETs to the API.
//
// Findings are computed with bench's model (bench.EnqueueFloor, bench.WorkerFloor) and
// the reference worker's sizing (system.TunedSlots) from the measured figures, never with
// a model of their own.
package diagnose
