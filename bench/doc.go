// Package bench is what one run does: it brings up the reference system with emulated
// links between its parts, drives the load, records every job and turns it all into a
// reports.Run.
//
// Where it sits (data flows one way; results go to reports and nothing reads back):
//
//	cmd/wfbench ──▶ scenarios ──▶ bench ──▶ system, netem
//	 (flags)       (a file's        │      (Faktory, API, workers; links)
//	               runs, checks)    ├──▶ recording (per-job accounting, HDR
//	                                │    histograms, time series, .hlog)
//	                                ▼
//	                              reports (result.json, report.md, report.html, plots)
//
// A run's lifecycle (Execute: Resolve the settings into a Plan once, then ExecutePlan):
//
//	stack up       embedded Faktory on redis-server (or --faktory-url), one link per
//	               path, the API: the assembly serve and up run (system.StartStandalone)
//	               with the links in between (stack.go)
//	links measured each link's real RTT, before any load, on a quiet system
//	warm           workers started, sized by the measured RTT (with --burst only after
//	               the load); the target's and the API's connections opened
//	load + phases  the driver's closed or open loop (driver.go); timed phases change
//	               links from the load's start (phases.go); every call and job goes to
//	               the recorder's HDR histograms and time series (package recording)
//	drain          while accepted jobs keep completing, up to the drain timeout
//	accounting     workers and API stopped; Faktory asked what it still holds:
//	               completed + failed + pending + lost = accepted
//	stack down     everything started is stopped, whatever happened before
//
// Every run setting is declared once, in the settings table (settings.go): it makes
// run's flags, the scenario files' keys, the defaults, the accepted ranges and the
// result's config.settings. Failures of the machine rather than of the configuration
// wrap ErrEnvironment (the CLI's exit code 3).
package bench
