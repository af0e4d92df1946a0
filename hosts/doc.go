// Package hosts runs the parts of the reference system as their own `wfbench serve`
// processes, one per host, for a run that spans hosts (run --hosts):
//
//	netns: each host is a network namespace with one veth pair to the driver's:
//
//	      driver (root namespace)                       host namespaces
//	  links (toxiproxy) + collector ── 10.B.n.1 ═══ veth ═══ 10.B.n.2  faktory | api-1 | worker-1 ...
//
//	local: the same processes, on 127.0.0.1.
//
// A host reaches nothing but its veth's other end, where the driver's links listen:
// every path between parts crosses a link, so it is emulated and measured. Namespaces,
// veths and processes are removed when the cluster closes; those of a driver killed
// with SIGKILL are swept by the next one (the processes die with their parent).
package hosts
