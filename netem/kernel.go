package netem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Kernel netem (--netem kernel): Linux's sch_netem qdisc on the egress of each end of a
// veth pair. The builders below return argv slices; the callers (the network-namespace
// hosts) exec them.

var (
	// ErrNoKernelNetem: kernel netem cannot be used on this machine. Every error of
	// ProbeKernelNetem wraps it (interruptions aside); the missing module's says sch_netem
	// and quotes tc.
	ErrNoKernelNetem = errors.New("kernel netem unavailable")
	// ErrKernelNetemPrereq is wrapped beside ErrNoKernelNetem when what is missing is
	// around sch_netem rather than the module itself: Linux, root (CAP_NET_ADMIN and
	// CAP_SYS_ADMIN), the ip and tc binaries, network namespaces or veth.
	ErrKernelNetemPrereq = errors.New("kernel netem prerequisite missing")
	// ErrKernelNeedsHosts: kernel netem shapes the veth links between the parts' network
	// namespaces, which only --hosts netns makes.
	ErrKernelNeedsHosts = errors.New("--netem kernel needs --hosts netns")
)

// Kernel netem bounds. tc itself refuses delays from about 274.9 s (u32 ticks of
// 64 ns); a minute per direction is far beyond any WAN and keeps netem's 1000-packet
// queue from being the limit instead.
const (
	maxKernelDelay = time.Minute
	maxKernelRate  = 1_000_000_000_000 // bytes per second, as ParseRate's bound
	ifNameMax      = 15                // IFNAMSIZ - 1
)

// KernelDistributions are the accepted TCNetem.Distribution values: "" is netem's
// default, uniform, as the embedded latency toxic's jitter; the others are tc's tables.
var KernelDistributions = []string{"", "normal", "pareto", "paretonormal"}

// TCNetem is one direction of a link as tc netem takes it: the egress of one interface.
type TCNetem struct {
	Delay        time.Duration // one-way delay; whole µs (finer is truncated)
	Jitter       time.Duration // ± around Delay, per packet; whole µs
	Distribution string        // of the jitter: one of KernelDistributions
	LossPercent  float64       // packets dropped, 0 to 100
	Rate         int64         // bytes per second, as Condition.Bandwidth; 0 = unlimited
}

// Args is `tc qdisc replace dev DEV root netem delay Dus [Jus [distribution D]] [loss
// X%] [rate R]`. replace, so that it both installs and changes the qdisc; the delay is
// always given, so that a change to 0 takes effect.
func (n TCNetem) Args(dev string) ([]string, error) {
	if err := checkDev(dev); err != nil {
		return nil, err
	}
	const durForm = "from 0 to 1m0s per direction, in whole microseconds, e.g. 11500us"
	switch {
	case n.Delay < 0 || n.Delay > maxKernelDelay:
		return nil, fmt.Errorf("netem delay %s: accepted is a delay %s", n.Delay, durForm)
	case n.Jitter < 0 || n.Jitter > maxKernelDelay:
		return nil, fmt.Errorf("netem jitter %s: accepted is a jitter %s", n.Jitter, durForm)
	case !slices.Contains(KernelDistributions, n.Distribution):
		return nil, fmt.Errorf("netem distribution %q: accepted are normal, pareto, paretonormal, or empty (uniform)", n.Distribution)
	case n.Distribution != "" && n.Jitter < time.Microsecond:
		return nil, fmt.Errorf("netem distribution %s without jitter: accepted is a distribution with a jitter of 1us or more", n.Distribution)
	case math.IsNaN(n.LossPercent) || n.LossPercent < 0 || n.LossPercent > 100:
		return nil, fmt.Errorf("netem loss %v%%: accepted is a percentage from 0 to 100, e.g. 0.5", n.LossPercent)
	case n.Rate < 0 || n.Rate > maxKernelRate:
		return nil, fmt.Errorf("netem rate %d B/s: accepted is bytes per second from 1 to 1e12, 0 for unlimited, e.g. 2000 (tc's 16kbit)", n.Rate)
	}
	args := []string{"tc", "qdisc", "replace", "dev", dev, "root", "netem", "delay", usec(n.Delay)}
	if n.Jitter >= time.Microsecond {
		args = append(args, usec(n.Jitter))
		if n.Distribution != "" {
			args = append(args, "distribution", n.Distribution)
		}
	}
	if n.LossPercent > 0 {
		args = append(args, "loss", strconv.FormatFloat(n.LossPercent, 'f', -1, 64)+"%")
	}
	if n.Rate > 0 {
		args = append(args, "rate", tcRate(n.Rate))
	}
	return args, nil
}

// usec is d in tc's microsecond form, "11500us".
func usec(d time.Duration) string { return strconv.FormatInt(d.Microseconds(), 10) + "us" }

// tcRate is a rate in bytes per second in tc's bits, in the largest unit that keeps it
// exact: 2000 → "16kbit". tc's kbit, mbit... are powers of 1000 and its "bps" would be
// bytes, hence bits throughout.
func tcRate(bytesPerSec int64) string {
	bits := bytesPerSec * 8
	for _, u := range []struct {
		n    int64
		name string
	}{{1e12, "tbit"}, {1e9, "gbit"}, {1e6, "mbit"}, {1e3, "kbit"}} {
		if bits%u.n == 0 {
			return strconv.FormatInt(bits/u.n, 10) + u.name
		}
	}
	return strconv.FormatInt(bits, 10) + "bit"
}

// SpecHalves splits a link's round trip into its two directions, as the embedded links
// do (Link.SetRTT): RTT/2 each way, an odd microsecond on up, so that the halves add up
// to the RTT (truncated to µs); jitter/2 each way, uniform.
func SpecHalves(s Spec) (up, down TCNetem) {
	rtt := s.RTT.Truncate(time.Microsecond)
	half := time.Duration(rtt.Microseconds()/2) * time.Microsecond
	jitter := (s.Jitter / 2).Truncate(time.Microsecond)
	return TCNetem{Delay: rtt - half, Jitter: jitter}, TCNetem{Delay: half, Jitter: jitter}
}

// checkSpec rejects what no direction can carry, naming the link and the accepted form.
func checkSpec(s Spec) error {
	switch {
	case s.RTT < 0 || s.RTT > 2*maxKernelDelay:
		return fmt.Errorf("link %s: RTT %s: accepted is 0 to 2m0s (half per direction, whole microseconds), e.g. 23ms", s.Name, s.RTT)
	case s.Jitter < 0 || s.Jitter > 2*maxKernelDelay:
		return fmt.Errorf("link %s: jitter %s: accepted is 0 to 2m0s (half per direction, whole microseconds), e.g. 2ms", s.Name, s.Jitter)
	}
	return nil
}

// TCNetemArgs is the netem command for one end of a link: the up half of SpecHalves
// (RTT/2, with an odd µs), since netem delays only what dev sends. A link's two ends take
// the two halves: KernelLinkArgs.
func TCNetemArgs(dev string, s Spec) ([]string, error) {
	if err := checkSpec(s); err != nil {
		return nil, err
	}
	up, _ := SpecHalves(s)
	return up.Args(dev)
}

// KernelLinkArgs shapes a veth pair as the link s: hostDev, in the current (root)
// network namespace, delays what goes into namespace ns by the up half of the RTT;
// nsDev, its peer in ns, delays what comes back by the down half (run through `ip netns
// exec ns`). The two commands, in that order.
func KernelLinkArgs(hostDev, ns, nsDev string, s Spec) ([][]string, error) {
	if err := checkSpec(s); err != nil {
		return nil, err
	}
	if err := checkNetns(ns); err != nil {
		return nil, err
	}
	up, down := SpecHalves(s)
	host, err := up.Args(hostDev)
	if err != nil {
		return nil, err
	}
	peer, err := down.Args(nsDev)
	if err != nil {
		return nil, err
	}
	return [][]string{host, InNetns(ns, peer)}, nil
}

// TCDeleteArgs removes dev's root qdisc (its netem), back to the kernel's default.
func TCDeleteArgs(dev string) ([]string, error) {
	if err := checkDev(dev); err != nil {
		return nil, err
	}
	return []string{"tc", "qdisc", "del", "dev", dev, "root"}, nil
}

// InNetns runs argv in network namespace ns: `ip netns exec NS argv...`.
func InNetns(ns string, argv []string) []string {
	return append([]string{"ip", "netns", "exec", ns}, argv...)
}

// checkDev is the kernel's rule for interface names (dev_valid_name).
func checkDev(dev string) error {
	if dev == "" || len(dev) > ifNameMax || dev == "." || dev == ".." ||
		strings.ContainsAny(dev, "/: \t\n\v\f\r\x00") {
		return fmt.Errorf("interface name %q: accepted is 1 to 15 bytes without /, : or spaces, e.g. veth-api0", dev)
	}
	return nil
}

// checkNetns is ip's rule for namespace names: a file in /run/netns.
func checkNetns(ns string) error {
	if ns == "" || len(ns) > 255 || ns == "." || ns == ".." || strings.ContainsAny(ns, "/\x00") {
		return fmt.Errorf("network namespace name %q: accepted is 1 to 255 bytes without /, e.g. wfbench-api", ns)
	}
	return nil
}

// probeError is a failed probe: ErrNoKernelNetem, ErrKernelNetemPrereq if prereq, and
// the cause.
type probeError struct {
	msg    string
	prereq bool
	cause  error
}

func (e *probeError) Error() string { return ErrNoKernelNetem.Error() + ": " + e.msg }

func (e *probeError) Unwrap() []error {
	errs := []error{ErrNoKernelNetem}
	if e.prereq {
		errs = append(errs, ErrKernelNetemPrereq)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

const useToxiproxy = "; or use --netem " + BackendToxiproxy + " (embedded, needs no kernel module)"

// probeTimeout bounds the probe's commands, and the deletion of its namespace apart.
const probeTimeout = 10 * time.Second

// probeSeq tells apart the namespaces of probes running at once in one process.
var probeSeq atomic.Int64

// probeCreated, if set (tests), is called with the probe's namespace once it exists.
var probeCreated func(ns string)

// ProbeKernelNetem checks that a netem qdisc can be made here, without touching any real
// interface: it creates a throwaway network namespace wfbench-probe-<pid>-<n>, a veth
// pair inside it, and adds netem to one end; the namespace is deleted whatever happens
// (with the veth and qdisc in it). ip netns leaves only its own /run/netns mount.
//
// Its errors wrap ErrNoKernelNetem; those of the prerequisites (Linux, root, ip, tc,
// namespaces, veth) wrap ErrKernelNetemPrereq too and say which is missing; sch_netem
// missing is said so with tc's own message. An interrupted probe returns ctx's error; a
// namespace that could not be deleted is named in the error, to delete by hand.
func ProbeKernelNetem(ctx context.Context) (err error) {
	prereq := func(cause error, format string, a ...any) error {
		return &probeError{msg: fmt.Sprintf(format, a...) + useToxiproxy, prereq: true, cause: cause}
	}
	if runtime.GOOS != "linux" {
		return prereq(nil, "sch_netem is Linux's, this is %s", runtime.GOOS)
	}
	var bins [2]string // ip, tc
	for i, name := range []string{"ip", "tc"} {
		if bins[i], err = lookIPRoute2(name); err != nil {
			return prereq(err, "%s not found in PATH, /usr/sbin or /sbin (it comes with iproute2, e.g. apt-get install iproute2)", name)
		}
	}
	ip, tc := bins[0], bins[1]
	parent := ctx // interruptions are parent's; probeTimeout's are the probe's failure
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if missing := missingCaps(); missing != "" {
		if uid := os.Geteuid(); uid != 0 {
			return prereq(nil, "it needs root: creating network namespaces and qdiscs takes %s, which this process (uid %d) lacks; run wfbench as root", missing, uid)
		}
		return prereq(nil, "creating network namespaces and qdiscs takes %s, which this process lacks though it runs as root (a container without it? e.g. docker run --cap-add NET_ADMIN --cap-add SYS_ADMIN)", missing)
	}

	ns := fmt.Sprintf("wfbench-probe-%d-%d", os.Getpid(), probeSeq.Add(1))
	if out, err := run(ctx, ip, "netns", "add", ns); err != nil {
		if parent.Err() != nil {
			return fmt.Errorf("probe kernel netem: %w", parent.Err())
		}
		return prereq(err, "cannot create a throwaway network namespace (ip netns add %s said %q)", ns, out)
	}
	defer func() {
		// Deleted even when ctx is done: the namespace must not outlive the probe.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(parent), probeTimeout)
		defer cancel()
		if out, derr := run(dctx, ip, "netns", "delete", ns); derr != nil {
			err = errors.Join(err, fmt.Errorf("probe kernel netem: delete the throwaway network namespace %s: %w (%q); delete it by hand: ip netns delete %s", ns, derr, out, ns))
		}
	}()
	if probeCreated != nil {
		probeCreated(ns)
	}
	if out, err := run(ctx, ip, "-n", ns, "link", "add", "wfprobe0", "type", "veth", "peer", "name", "wfprobe1"); err != nil {
		if parent.Err() != nil {
			return fmt.Errorf("probe kernel netem: %w", parent.Err())
		}
		return prereq(err, "cannot create a veth pair in a throwaway network namespace (ip link add ... type veth said %q)", out)
	}
	out, err := run(ctx, ip, "netns", "exec", ns, tc, "qdisc", "add", "dev", "wfprobe0", "root", "netem", "delay", "1ms")
	if err == nil {
		return nil
	}
	if parent.Err() != nil {
		return fmt.Errorf("probe kernel netem: %w", parent.Err())
	}
	if strings.Contains(out, "qdisc kind is unknown") {
		return &probeError{msg: fmt.Sprintf("this kernel has no sch_netem, the netem qdisc's module "+
			"(tc qdisc add ... netem, in a throwaway network namespace, said %q); load it with modprobe sch_netem "+
			"if this kernel ships it", out) + useToxiproxy, cause: err}
	}
	return &probeError{msg: fmt.Sprintf("tc cannot add a netem qdisc (sch_netem) in a throwaway network namespace: it said %q", out) + useToxiproxy, cause: err}
}

// lookIPRoute2 finds an iproute2 binary: PATH, then the sbin directories that a
// non-root PATH often lacks.
func lookIPRoute2(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin/", "/sbin/"} {
		if st, serr := os.Stat(dir + name); serr == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return dir + name, nil
		}
	}
	return "", err
}

// missingCaps names the capabilities the probe needs that this process's effective set
// lacks: CAP_SYS_ADMIN for ip netns (a new namespace, a bind mount), CAP_NET_ADMIN for
// links and qdiscs. "" when both are there, or when the set cannot be read (the probe
// then finds out by trying).
func missingCaps() string {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(status)) {
		hex, ok := strings.CutPrefix(line, "CapEff:")
		if !ok {
			continue
		}
		eff, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			return ""
		}
		var missing []string
		for _, c := range []struct {
			bit  uint
			name string
		}{{21, "CAP_SYS_ADMIN"}, {12, "CAP_NET_ADMIN"}} {
			if eff&(1<<c.bit) == 0 {
				missing = append(missing, c.name)
			}
		}
		return strings.Join(missing, " and ")
	}
	return ""
}

// run execs argv, bounded by ctx, and returns its output (stderr, else stdout) trimmed.
func run(ctx context.Context, name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	out := strings.TrimSpace(stderr.String())
	if out == "" {
		out = strings.TrimSpace(stdout.String())
	}
	return out, err
}
