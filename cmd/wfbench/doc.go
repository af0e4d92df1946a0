// Command wfbench measures what network latency does to a real job system (HTTP API →
// Faktory → workers) and which configuration wins it back.
//
// The CLI is thin: run turns its flags into a bench.RunConfig (the flags come from
// bench's settings table), scenario run loads a scenario file and measures its plan,
// report and compare read result.json files, serve and up run parts of the reference
// system. Each command writes into --out, by default wfbench-results/<timestamp>/.
//
// Exit codes come from the types of the errors the commands return, never from their
// text (exitCode in main.go):
//
//	0    ok (pending jobs included)
//	1    a check failed: lost jobs, an expectation, a regression
//	2    bad input: flags, a scenario file (*scenarios.FileError), cobra's own rejections
//	3    the environment (bench.ErrEnvironment): redis-server missing, port taken,
//	     Faktory unreachable, an output folder that cannot be written
//	130  interrupted
package main
