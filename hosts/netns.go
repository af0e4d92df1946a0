package hosts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrUnavailable: this machine cannot give the run its hosts (not root, no `ip`, no
// network namespaces). The run cannot be measured as asked: exit 3.
var ErrUnavailable = errors.New("network namespaces unavailable")

// nsPrefix names this package's namespaces: wfbench-<driver pid>-<host>.
const nsPrefix = "wfbench-"

// ip runs `ip args...`, returning its stderr in the error.
func ip(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// checkNetns says why namespaces cannot be made here, wrapping ErrUnavailable.
func checkNetns() error {
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("%w: the ip command (iproute2) is not installed: apt-get install iproute2, or use --hosts local", ErrUnavailable)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: creating network namespaces and veth pairs needs root (uid %d); run as root, or use --hosts local", ErrUnavailable, os.Geteuid())
	}
	return nil
}

// lockPath is where drivers on this machine take turns setting up their hosts.
const lockPath = "/run/wfbench-hosts.lock"

// lockHosts takes the machine-wide lock (flock: released if the driver dies).
func lockHosts() (func(), error) {
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %w", ErrUnavailable, lockPath, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: lock %s: %w", ErrUnavailable, lockPath, err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// addrBlock picks B for 10.B.0.0/16, the addresses of this run's veths: the first of
// 10.200–10.254 no interface of this namespace has an address in.
func addrBlock() (int, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return 0, fmt.Errorf("%w: list addresses: %w", ErrUnavailable, err)
	}
	used := map[int]bool{}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if v4 := n.IP.To4(); v4 != nil && v4[0] == 10 {
				used[int(v4[1])] = true
			}
		}
	}
	for b := 200; b <= 254; b++ {
		if !used[b] {
			return b, nil
		}
	}
	return 0, fmt.Errorf("%w: every block 10.200.0.0/16 to 10.254.0.0/16 is in use here", ErrUnavailable)
}

// addNetnsHost makes host n's namespace and its veth pair: 10.B.n.1 on the driver's
// side, 10.B.n.2 inside, nothing else routed. It fills h's NS, Addr and Gateway.
func addNetnsHost(ctx context.Context, h *Host, pid, block, n int) error {
	h.NS = fmt.Sprintf("%s%d-%s", nsPrefix, pid, h.Name)
	h.dev = fmt.Sprintf("wfb%dh%d", pid, n) // at most 3+7+1+3 = 14 of IFNAMSIZ's 15
	peer := fmt.Sprintf("wfb%dp%d", pid, n)
	h.Gateway = fmt.Sprintf("10.%d.%d.1", block, n)
	h.Addr = fmt.Sprintf("10.%d.%d.2", block, n)
	if err := ip(ctx, "netns", "add", h.NS); err != nil {
		h.NS = "" // nothing to remove
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	steps := [][]string{
		{"link", "add", h.dev, "type", "veth", "peer", "name", peer, "netns", h.NS},
		{"addr", "add", h.Gateway + "/30", "dev", h.dev},
		{"link", "set", h.dev, "up"},
		{"-n", h.NS, "addr", "add", h.Addr + "/30", "dev", peer},
		{"-n", h.NS, "link", "set", peer, "up"},
		{"-n", h.NS, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if err := ip(ctx, s...); err != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	return nil
}

// removeNetns deletes a namespace; its veth pair goes with it.
func removeNetns(ns string) error {
	if ns == "" {
		return nil
	}
	return ip(context.Background(), "netns", "del", ns)
}

// OwnNamespaces lists the namespaces of the driver with this pid.
func OwnNamespaces(pid int) ([]string, error) {
	all, err := Namespaces()
	prefix := fmt.Sprintf("%s%d-", nsPrefix, pid)
	var own []string
	for _, ns := range all {
		if strings.HasPrefix(ns, prefix) {
			own = append(own, ns)
		}
	}
	return own, err
}

// Namespaces lists this package's namespaces present now (wfbench-*), for tests and
// for the sweep.
func Namespaces() ([]string, error) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return nil, fmt.Errorf("ip netns list: %w", err)
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], nsPrefix) {
			names = append(names, f[0])
		}
	}
	return names, nil
}

// sweep removes the namespaces of drivers that are gone (killed with SIGKILL: their
// processes died with them, their namespaces did not) and that hold no process.
func sweep() {
	names, err := Namespaces()
	if err != nil {
		return
	}
	for _, ns := range names {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(ns, nsPrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue
		}
		if out, err := exec.Command("ip", "netns", "pids", ns).Output(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			continue
		}
		_ = removeNetns(ns)
	}
}
