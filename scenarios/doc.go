// Package scenarios is what a scenario is: a YAML file (or a built-in, embedded from
// builtin/*.yaml) with a base configuration, a matrix to sweep, explicit runs, timed link
// phases, a quick override for CI, the expectations that decide the exit code and an
// earlier analysis' estimates to print beside the measurements.
//
//	file ─ParseScenario─▶ Scenario ─Plan─▶ []PlannedRun ─bench.Execute─▶ runs
//	                         └────────── Check(runs) ─▶ expectations, estimates
//
// A plan is the explicit runs, else the matrix product, else the base alone; each run's
// settings are layered base, matrix value or run, quick base, --set, and read through
// bench's settings table. Every error in a file is a *FileError with its file and line,
// found when the file is read: bad keys and values, runs whose settings do not go
// together, expectations that select no run. RunScenario and RunPair measure the plan
// (interleaved in rounds with repetitions) and check it.
package scenarios
