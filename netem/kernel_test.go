package netem

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestKernelNetemArgs(t *testing.T) {
	const ms, us = time.Millisecond, time.Microsecond
	head := []string{"tc", "qdisc", "replace", "dev", "veth0", "root", "netem", "delay"}
	cases := []struct {
		name string
		n    TCNetem
		want string // after "delay"
	}{
		{"delay only", TCNetem{Delay: 11500 * us}, "11500us"},
		{"zero delay is still set", TCNetem{}, "0us"},
		{"sub-µs truncated", TCNetem{Delay: 1500 * time.Nanosecond, Jitter: 999 * time.Nanosecond}, "1us"},
		{"jitter, uniform", TCNetem{Delay: 11500 * us, Jitter: ms}, "11500us 1000us"},
		{"jitter, normal", TCNetem{Delay: 11500 * us, Jitter: ms, Distribution: "normal"}, "11500us 1000us distribution normal"},
		{"loss", TCNetem{Delay: ms, LossPercent: 0.5}, "1000us loss 0.5%"},
		{"loss, tiny", TCNetem{Delay: ms, LossPercent: 0.0001}, "1000us loss 0.0001%"},
		{"rate 2000 B/s", TCNetem{Delay: ms, Rate: 2000}, "1000us rate 16kbit"},
		{"rate 1 B/s", TCNetem{Delay: ms, Rate: 1}, "1000us rate 8bit"},
		{"rate 1234 B/s", TCNetem{Delay: ms, Rate: 1234}, "1000us rate 9872bit"},
		{"rate 64KiB/s", TCNetem{Delay: ms, Rate: 65536}, "1000us rate 524288bit"},
		{"rate 1MB/s", TCNetem{Delay: ms, Rate: 1_000_000}, "1000us rate 8mbit"},
		{"rate 125MB/s", TCNetem{Delay: ms, Rate: 125_000_000}, "1000us rate 1gbit"},
		{"rate 1TB/s", TCNetem{Delay: ms, Rate: 1e12}, "1000us rate 8tbit"},
		{"everything", TCNetem{Delay: 50 * ms, Jitter: 5 * ms, Distribution: "pareto", LossPercent: 1, Rate: 64000},
			"50000us 5000us distribution pareto loss 1% rate 512kbit"},
		{"bounds", TCNetem{Delay: time.Minute, Jitter: time.Minute, LossPercent: 100}, "60000000us 60000000us loss 100%"},
	}
	for _, c := range cases {
		got, err := c.n.Args("veth0")
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if want := append(slices.Clone(head), strings.Fields(c.want)...); !slices.Equal(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, want)
		}
	}
}

func TestKernelNetemArgsRejected(t *testing.T) {
	cases := []struct {
		name string
		n    TCNetem
		dev  string
		want string // in the error: the accepted form
	}{
		{"negative delay", TCNetem{Delay: -time.Millisecond}, "veth0", "from 0 to 1m0s per direction"},
		{"huge delay", TCNetem{Delay: time.Hour}, "veth0", "from 0 to 1m0s per direction"},
		{"negative jitter", TCNetem{Jitter: -1}, "veth0", "accepted is a jitter"},
		{"huge jitter", TCNetem{Jitter: 2 * time.Minute}, "veth0", "accepted is a jitter"},
		{"unknown distribution", TCNetem{Jitter: time.Millisecond, Distribution: "gauss"}, "veth0", "normal, pareto, paretonormal"},
		{"distribution without jitter", TCNetem{Distribution: "normal"}, "veth0", "jitter of 1us or more"},
		{"negative loss", TCNetem{LossPercent: -1}, "veth0", "percentage from 0 to 100"},
		{"loss over 100", TCNetem{LossPercent: 100.5}, "veth0", "percentage from 0 to 100"},
		{"loss NaN", TCNetem{LossPercent: math.NaN()}, "veth0", "percentage from 0 to 100"},
		{"negative rate", TCNetem{Rate: -1}, "veth0", "bytes per second from 1 to 1e12"},
		{"huge rate", TCNetem{Rate: 2e12}, "veth0", "bytes per second from 1 to 1e12"},
		{"no interface", TCNetem{}, "", "1 to 15 bytes"},
		{"interface name too long", TCNetem{}, "wfbench-api-faktory0", "1 to 15 bytes"},
		{"interface name with /", TCNetem{}, "a/b", "without /, : or spaces"},
		{"interface name with space", TCNetem{}, "a b", "without /, : or spaces"},
		{"interface ..", TCNetem{}, "..", "1 to 15 bytes"},
	}
	for _, c := range cases {
		args, err := c.n.Args(c.dev)
		if err == nil || !strings.Contains(err.Error(), "accepted") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: args %q, error %v: want an error naming the accepted form (%q)", c.name, args, err, c.want)
		}
	}
}

// A Spec's RTT is the round trip; each end of a veth pair delays only what it sends, so
// each takes half, the halves adding up to the RTT.
func TestKernelLinkArgs(t *testing.T) {
	const ms, us = time.Millisecond, time.Microsecond
	cases := []struct {
		spec       Spec
		host, peer string // after "delay"
	}{
		{Spec{Name: "client-api", RTT: 23 * ms}, "11500us", "11500us"},
		{Spec{Name: "client-api", RTT: 23 * ms, Jitter: 2 * ms}, "11500us 1000us", "11500us 1000us"},
		{Spec{Name: "odd", RTT: 1001 * us, Jitter: 3 * us}, "501us 1us", "500us 1us"},
		{Spec{Name: "sub-µs", RTT: 1999 * time.Nanosecond}, "1us", "0us"},
		{Spec{Name: "zero"}, "0us", "0us"},
		{Spec{Name: "max", RTT: 2 * time.Minute}, "60000000us", "60000000us"},
	}
	for _, c := range cases {
		cmds, err := KernelLinkArgs("wfh0", "wfbench-api", "wfn0", c.spec)
		if err != nil {
			t.Errorf("%+v: %v", c.spec, err)
			continue
		}
		host := append([]string{"tc", "qdisc", "replace", "dev", "wfh0", "root", "netem", "delay"}, strings.Fields(c.host)...)
		peer := append([]string{"ip", "netns", "exec", "wfbench-api", "tc", "qdisc", "replace", "dev", "wfn0", "root", "netem", "delay"}, strings.Fields(c.peer)...)
		if len(cmds) != 2 || !slices.Equal(cmds[0], host) || !slices.Equal(cmds[1], peer) {
			t.Errorf("%+v:\n got %q\nwant %q", c.spec, cmds, [][]string{host, peer})
		}
		one, err := TCNetemArgs("wfh0", c.spec)
		if err != nil || !slices.Equal(one, host) {
			t.Errorf("TCNetemArgs %+v = %q, %v: want the host end's %q", c.spec, one, err, host)
		}
	}
	for _, s := range []Spec{
		{Name: "negative", RTT: -time.Millisecond},
		{Name: "huge", RTT: 3 * time.Minute},
		{Name: "negative jitter", Jitter: -time.Millisecond},
		{Name: "huge jitter", Jitter: time.Hour},
	} {
		if _, err := KernelLinkArgs("wfh0", "ns", "wfn0", s); err == nil || !strings.Contains(err.Error(), "accepted is 0 to 2m0s") ||
			!strings.Contains(err.Error(), s.Name) {
			t.Errorf("%+v: error %v, want one naming the link and the accepted range", s, err)
		}
		if _, err := TCNetemArgs("wfh0", s); err == nil {
			t.Errorf("TCNetemArgs %+v: no error", s)
		}
	}
	if _, err := KernelLinkArgs("wfh0", "a/b", "wfn0", Spec{Name: "x"}); err == nil || !strings.Contains(err.Error(), "accepted is 1 to 255 bytes") {
		t.Errorf("namespace a/b: error %v, want the accepted form", err)
	}
	if _, err := KernelLinkArgs("wfh0", "ns", "", Spec{Name: "x"}); err == nil {
		t.Error("empty namespace-side interface: no error")
	}
	if del, err := TCDeleteArgs("wfh0"); err != nil || !slices.Equal(del, []string{"tc", "qdisc", "del", "dev", "wfh0", "root"}) {
		t.Errorf("TCDeleteArgs = %q, %v", del, err)
	}
	if _, err := TCDeleteArgs("a:b"); err == nil {
		t.Error("TCDeleteArgs(a:b): no error")
	}
}

// needNetns skips unless this process can make network namespaces with ip and tc.
func needNetns(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(bin); err != nil { // the built commands name them bare
			t.Skipf("needs iproute2's %s in PATH: %v", bin, err)
		}
	}
	if m := missingCaps(); m != "" {
		t.Skipf("needs root (%s) to create network namespaces", m)
	}
}

var testNetnsSeq atomic.Int64

// throwawayNetns creates a network namespace holding a veth pair wfa0/wfa1, deleted at
// the test's end: nothing outside it is touched.
func throwawayNetns(t *testing.T) string {
	t.Helper()
	needNetns(t)
	ns := fmt.Sprintf("wfbench-test-%d-%d", os.Getpid(), testNetnsSeq.Add(1))
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "delete", ns).CombinedOutput(); err != nil {
			t.Errorf("delete network namespace %s: %v: %s", ns, err, out)
		}
	})
	if out, err := exec.Command("ip", "-n", ns, "link", "add", "wfa0", "type", "veth", "peer", "name", "wfa1").CombinedOutput(); err != nil {
		t.Skipf("cannot create a veth pair: %v: %s", err, out)
	}
	return ns
}

// tc itself takes the commands built here: it runs them (where sch_netem is missing,
// its parser passes them and the kernel refuses the qdisc kind, not the arguments).
func TestKernelArgsParsedByTC(t *testing.T) {
	ns := throwawayNetns(t)
	spec := Spec{Name: "client-api", RTT: 23 * time.Millisecond, Jitter: 2 * time.Millisecond}
	link, err := KernelLinkArgs("wfa0", ns, "wfa1", spec)
	if err != nil {
		t.Fatal(err)
	}
	full, err := TCNetem{Delay: 11500 * time.Microsecond, Jitter: time.Millisecond, Distribution: "normal",
		LossPercent: 0.5, Rate: 2000}.Args("wfa0")
	if err != nil {
		t.Fatal(err)
	}
	big, _ := TCNetem{Delay: time.Minute, Jitter: time.Minute, Distribution: "paretonormal", LossPercent: 100, Rate: 1e12}.Args("wfa1")
	cmds := [][]string{
		InNetns(ns, link[0]), // the host end, here inside the throwaway namespace too
		link[1],
		InNetns(ns, full),
		InNetns(ns, big),
	}
	for _, argv := range cmds {
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		switch {
		case err == nil:
		case strings.Contains(string(out), "qdisc kind is unknown"):
			t.Logf("%q: parsed by tc, refused by the kernel (no sch_netem): %s", argv, strings.TrimSpace(string(out)))
			continue
		default:
			t.Errorf("%q: %v: %s", argv, err, out)
			continue
		}
		dev := argv[slices.Index(argv, "dev")+1]
		del, _ := TCDeleteArgs(dev)
		if out, err := exec.Command("ip", InNetns(ns, del)[1:]...).CombinedOutput(); err != nil {
			t.Errorf("%q: %v: %s", del, err, out)
		}
	}
}

// ipNetns lists the network namespaces whose names start with prefix.
func ipNetns(t *testing.T, prefix string) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatalf("ip netns list: %v", err)
	}
	var names []string
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], prefix) {
			names = append(names, f[0])
		}
	}
	return names
}

// The probe's namespace exists while it runs and is gone after, whether the probe passes,
// fails or is interrupted. Only this process's probe namespaces are compared: other
// processes may make and delete namespaces meanwhile.
func TestKernelProbeLeavesNoNamespace(t *testing.T) {
	needNetns(t)
	prefix := fmt.Sprintf("wfbench-probe-%d-", os.Getpid())
	t.Cleanup(func() { probeCreated = nil })
	for _, interrupt := range []bool{false, true} {
		before := ipNetns(t, prefix)
		ctx, cancel := context.WithCancel(context.Background())
		var made string
		var during []string
		probeCreated = func(ns string) {
			made, during = ns, ipNetns(t, prefix)
			if interrupt {
				cancel()
			}
		}
		err := ProbeKernelNetem(ctx)
		cancel()
		after := ipNetns(t, prefix)
		t.Logf("interrupted %v: probe namespace %s; probe: %v", interrupt, made, err)
		if made == "" || !slices.Contains(during, made) {
			t.Fatalf("interrupted %v: the probe's namespace %q was not seen while it ran (%q)", interrupt, made, during)
		}
		if !slices.Equal(before, after) || slices.Contains(after, made) {
			t.Errorf("interrupted %v: namespaces %q before, %q after: %s left behind", interrupt, before, after, made)
		}
		if interrupt && !errors.Is(err, context.Canceled) {
			t.Errorf("interrupted probe: %v, want context.Canceled", err)
		}
		if !interrupt && err != nil && !errors.Is(err, ErrNoKernelNetem) {
			t.Errorf("probe: %v, want nil or ErrNoKernelNetem", err)
		}
	}
}

// --netem kernel is accepted, probed first: where sch_netem is missing its error names
// the module and quotes tc; where it works, it waits for --hosts netns.
func TestKernelBackend(t *testing.T) {
	if !slices.Contains(BackendNames, BackendKernel) {
		t.Fatalf("BackendNames %q lacks %q", BackendNames, BackendKernel)
	}
	ctx := context.Background()
	b, err := NewBackend(ctx, BackendKernel, "", "run1")
	if b != nil || err == nil {
		t.Fatalf("NewBackend(kernel) = %v, %v: want an error", b, err)
	}
	probe := ProbeKernelNetem(ctx)
	switch {
	case probe == nil:
		if !errors.Is(err, ErrKernelNeedsHosts) || errors.Is(err, ErrNoKernelNetem) {
			t.Errorf("probe passed; NewBackend(kernel): %v, want ErrKernelNeedsHosts", err)
		}
	case errors.Is(probe, ErrKernelNetemPrereq):
		if !errors.Is(err, ErrNoKernelNetem) || !errors.Is(err, ErrKernelNetemPrereq) || !strings.Contains(err.Error(), "--netem toxiproxy") {
			t.Errorf("NewBackend(kernel): %v, want ErrNoKernelNetem and ErrKernelNetemPrereq, suggesting --netem toxiproxy", err)
		}
	default:
		msg := err.Error()
		if !errors.Is(err, ErrNoKernelNetem) || errors.Is(err, ErrKernelNetemPrereq) || errors.Is(err, ErrKernelNeedsHosts) ||
			!strings.Contains(msg, "sch_netem") || !strings.Contains(msg, `said "`) || !strings.Contains(msg, "--netem toxiproxy") {
			t.Errorf("NewBackend(kernel): %v, want ErrNoKernelNetem naming sch_netem, quoting tc, suggesting --netem toxiproxy", err)
		}
		t.Logf("here: %v", err)
	}
}

// The probe's errors carry their sentinels however they are wrapped.
func TestKernelProbeErrors(t *testing.T) {
	cause := errors.New("exit status 2")
	module := fmt.Errorf("netem kernel: %w", &probeError{msg: "no sch_netem", cause: cause})
	prereq := fmt.Errorf("netem kernel: %w", &probeError{msg: "tc not found", prereq: true})
	if !errors.Is(module, ErrNoKernelNetem) || errors.Is(module, ErrKernelNetemPrereq) || !errors.Is(module, cause) {
		t.Errorf("module error %v: want ErrNoKernelNetem and its cause only", module)
	}
	if !errors.Is(prereq, ErrNoKernelNetem) || !errors.Is(prereq, ErrKernelNetemPrereq) {
		t.Errorf("prerequisite error %v: want ErrNoKernelNetem and ErrKernelNetemPrereq", prereq)
	}
	if want := "netem kernel: kernel netem unavailable: no sch_netem"; module.Error() != want {
		t.Errorf("message %q, want %q", module.Error(), want)
	}
}
