package hosts

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// readyLine is the line `wfbench serve` prints once every part it runs is up.
const readyLine = "Ctrl-C stops it."

// proc is one `wfbench serve` process.
type proc struct {
	part     string
	cmd      *exec.Cmd
	done     chan struct{} // closed when it has exited
	err      error         // its exit, once done
	mu       sync.Mutex
	lines    []string // what it printed, the last maxLines
	ready    chan struct{}
	readDone chan struct{} // its output is read to the end
	signaled bool          // we sent it a signal: its death by one is ours
}

const maxLines = 40

// startProc runs argv (a `wfbench serve PART ...` command line, maybe behind
// `ip netns exec`) with env, and waits until it says it is ready.
func startProc(ctx context.Context, part string, argv, env []string) (*proc, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	// Its own process group: a Ctrl-C at the terminal reaches the driver, which stops the
	// parts in order (workers drained first), not every process at once. Pdeathsig: a
	// driver killed outright takes its parts with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	p := &proc{part: part, cmd: cmd, done: make(chan struct{}), ready: make(chan struct{}), readDone: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", part, err)
	}
	go p.read(pr)
	go func() {
		p.err = cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-p.ready:
		return p, nil
	case <-p.done:
		<-p.readDone // its last words, which say why
		return nil, fmt.Errorf("%s exited at start (%v): %s", part, p.err, p.output())
	case <-ctx.Done():
		p.kill()
		return nil, ctx.Err()
	case <-timer.C:
		p.kill()
		return nil, fmt.Errorf("%s did not start within %s: %s", part, startTimeout, p.output())
	}
}

// startTimeout bounds a part's start (redis-server and Faktory for the broker).
const startTimeout = 30 * time.Second

func (p *proc) read(r io.Reader) {
	defer close(p.readDone)
	sc := bufio.NewScanner(r)
	once := sync.Once{}
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		p.lines = append(p.lines, line)
		if len(p.lines) > maxLines {
			p.lines = p.lines[len(p.lines)-maxLines:]
		}
		p.mu.Unlock()
		if strings.TrimSpace(line) == readyLine {
			once.Do(func() { close(p.ready) })
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// output is what it printed last, on one line.
func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, " | ")
}

// banner is the address its part's banner line names: "faktory  tcp://HOST:PORT ...".
func (p *proc) banner(part string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.lines {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == part {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("%s printed no address: %s", part, strings.Join(p.lines, " | "))
}

// stop asks it to stop (SIGTERM: a worker finishes its jobs and sends its completions,
// an API flushes its buffer) and kills it if it has not within grace.
func (p *proc) stop(grace time.Duration) error {
	select {
	case <-p.done:
		return p.exitErr()
	default:
	}
	p.mu.Lock()
	p.signaled = true
	p.mu.Unlock()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return p.exitErr()
	case <-t.C:
		p.kill()
		return fmt.Errorf("%s did not stop within %s of SIGTERM: killed", p.part, grace)
	}
}

// kill sends SIGKILL and waits for it to be gone.
func (p *proc) kill() {
	p.mu.Lock()
	p.signaled = true
	p.mu.Unlock()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// exitErr is nil for a clean exit or one by our own signal.
func (p *proc) exitErr() error {
	p.mu.Lock()
	ours := p.signaled
	p.mu.Unlock()
	var ee *exec.ExitError
	if p.err == nil || ours && errors.As(p.err, &ee) && ee.ExitCode() == -1 {
		return nil
	}
	return fmt.Errorf("%s: %w: %s", p.part, p.err, p.output())
}

// exited says whether it has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// binary is the wfbench executable the parts run: WFBENCH_BINARY (tests, which are not
// wfbench themselves), or this one.
func binary() (string, error) {
	if b := os.Getenv("WFBENCH_BINARY"); b != "" {
		return b, nil
	}
	return os.Executable()
}
