// Package netem puts emulated network distance between the reference system's parts.
//
// A Link is one TCP path between two parts (driver → API, API → Faktory, ...). Each link
// is an embedded toxiproxy proxy listening on 127.0.0.1; the parts dial the link's address
// instead of the real one:
//
//	driver ──▶ [client-api link] ──▶ API ──▶ [api-faktory link] ──▶ Faktory
//	driver ──▶ [client-faktory link] ─────────────────────────────▶ Faktory
//	worker ──▶ [worker-faktory link] ─────────────────────────────▶ Faktory
//
// Toxiproxy delays one direction per toxic, so a link's RTT is applied as RTT/2 on the
// upstream stream and RTT/2 on the downstream stream (jitter likewise), with a
// microsecond-resolution latency toxic (toxiproxy's own takes whole milliseconds, which
// cannot express 0.5 ms per direction of a 1 ms RTT).
//
// The delays are timed by one clock (clock.go) that sleeps on a kernel timer rather than
// Go's, which wakes about 1 ms late for short waits: a delivery lands some µs after it is
// due (p50; p99 ~0.1-0.3 ms idle, a few ms when the cores are saturated), never before.
// Proxies.Lateness and Link.Lateness report that calibration (delivered − due, µs
// histograms), resettable with ResetLateness.
//
// Two backends open links (Backend, LinkHandle): the embedded proxies above
// (NewProxies), and External (NewExternal, --netem toxiproxy-external), which creates
// the run's links on a running official toxiproxy server through its HTTP API, named
// wfbench-<run id>-<link> and removed by Close. The official server's latency toxic takes
// whole milliseconds per direction and adds its own overhead: External measures that
// overhead once (a calibration proxy in front of a local echo) and picks the toxics whose
// expected round trip is nearest the configured RTT; what it cannot do as configured
// (sub-ms RTTs, byte counts, delay-line lateness) it says in Notes.
//
// Kernel netem (BackendKernel, --netem kernel; kernel.go) is Linux's sch_netem qdisc on
// the veth pairs that join the parts' network namespaces under --hosts netns. netem
// delays only what an interface sends, so each end of a pair takes half the RTT
// (SpecHalves: an odd µs on the root-namespace end, so the halves add up) and half the
// jitter, uniform as the embedded toxic's, in whole µs; TCNetem adds a loss and a rate
// (bytes per second, as Condition.Bandwidth, written in tc's bits). This package builds
// the tc commands (TCNetemArgs, KernelLinkArgs, TCDeleteArgs, InNetns); the hosts exec
// them. NewBackend first runs ProbeKernelNetem, which adds netem to a veth in a throwaway
// namespace and deletes it: where that fails (no sch_netem, not root, no ip or tc) the
// error wraps ErrNoKernelNetem, the machine's fault for a run (exit code 3). Unlike the
// embedded links netem delays packets, not the byte stream: jitter reorders packets (TCP
// recovers), and its queue holds 1000 packets, beyond which a long delay at a high rate
// drops.
//
// A topology decides which links cross the WAN and so take the run's --rtt.
//
// A link counts the bytes crossing it each way (Link.Bytes), and takes timed Conditions
// (Link.Impose, Link.Lift): extra latency, a bandwidth cap, or a fault (reset, blackhole,
// down) that a scenario applies for a phase of a run.
package netem
