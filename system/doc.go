// Package system is the reference job system that wfbench measures: an embedded Faktory
// broker (the real server, storing in a redis-server it boots), the HTTP API that enqueues
// math jobs, and the workers that run them.
//
//	client ──HTTP──▶ API ──PUSH/PUSHB──▶ Faktory ◀──FETCH/ACK── workers ──▶ CompletionSink
//
// Every part takes the address it dials from its caller, so a netem link can sit on any
// path. The package knows nothing of load or measurement: workers report completions to
// a CompletionSink, and the caller decides what to do with them.
package system
