// Package reports holds the result model and everything that reads it: result.json (the
// wfbench.result/v1 contract in Result), the terminal table, report.md, report.html with
// its plots (gonum/plot), HdrHistogram .hgrm files and .hlog interval logs (Timeline),
// merging the results of several drivers, and comparing two results.
//
// It reads results only: it never imports the system or the run engine, so any report
// can be written again from a result.json alone (wfbench report).
package reports
