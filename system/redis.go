package system

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/contribsys/faktory/client"
	"github.com/contribsys/faktory/storage"
	"github.com/redis/go-redis/v9"
)

// The embedded broker starts and watches redis-server itself rather than through
// Faktory's storage.Boot, whose watcher panics (crashing wfbench) when redis-server
// exits. Faktory's server.Boot still opens its store through storage.Open, which in
// Faktory v1.10.0 only dials the socket but refuses a socket storage.Boot did not
// register; this replacement does the same dial, ping and storage.NewRedisStore without
// that check. Nothing else in wfbench uses storage.Boot.
func init() { storage.Open = openRedisStore }

func openRedisStore(sock string, poolSize uint64) (storage.Store, error) {
	rc := redis.NewClient(&redis.Options{
		Network:  "unix",
		Addr:     sock,
		DB:       0,
		PoolSize: int(min(poolSize, 1<<20)), // nolint:gosec // bounded above
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := rc.Ping(ctx).Err(); err != nil {
		_ = rc.Close()
		return nil, err
	}
	st, err := storage.NewRedisStore(sock, rc)
	if err != nil {
		_ = rc.Close()
		return nil, err
	}
	return st, nil
}

const (
	// redisReadyTimeout bounds the wait for a new redis-server to answer PING.
	redisReadyTimeout = 10 * time.Second
	// redisStopTimeout bounds each step of stopping redis-server (SHUTDOWN NOSAVE,
	// SIGTERM, SIGKILL).
	redisStopTimeout = 5 * time.Second
)

// redisConf is Faktory's own redis.conf (storage/redis.go, v1.10.0); socket, log file,
// log level, directory and "no TCP" are also given on the command line, as Faktory does.
const redisConf = `# Created by wfbench for the embedded Faktory %s (Faktory's own settings)
port 0
unixsocketperm 700
timeout 0
daemonize no
maxmemory-policy noeviction
save 120 1
save 30 5
stop-writes-on-bgsave-error yes
rdbcompression yes
rdbchecksum yes
dbfilename faktory.rdb
slowlog-log-slower-than 10000
slowlog-max-len 128
`

// redisProc is a redis-server child process. One goroutine owns its Wait; exited is
// closed when it has returned, after waitErr is set.
type redisProc struct {
	persist  bool // its data folder outlives it: save on stop
	cmd      *exec.Cmd
	pid      int
	sock     string
	log      string
	exited   chan struct{}
	waitErr  error
	stopping atomic.Bool // set before stop asks it to exit

	mu     sync.Mutex
	onExit func(error) // set once redis-server is ready
}

// startRedis starts redis-server in dir (its working and data directory) on the unix
// socket sock, without a TCP port, and waits until it answers PING. onExit, if not nil,
// runs in the Wait goroutine when redis-server exits, after a successful start, without
// stop having been called.
func startRedis(ctx context.Context, dir, sock string, onExit func(error)) (*redisProc, error) {
	binary, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrRedisMissing
	}
	conf := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, redisConf, client.Version), 0o600); err != nil {
		return nil, fmt.Errorf("write redis.conf: %w", err)
	}
	p := &redisProc{sock: sock, log: filepath.Join(dir, "redis.log"), exited: make(chan struct{})}
	// nolint:gosec // fixed binary and arguments
	cmd := exec.Command(binary, conf,
		"--port", "0",
		"--unixsocket", sock,
		"--loglevel", "warning",
		"--dir", dir,
		"--logfile", p.log)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Dies with wfbench, even on SIGKILL (Linux).
		Pdeathsig: syscall.SIGKILL,
		// Own process group: a terminal's Ctrl-C reaches wfbench, which stops the broker
		// in order, and not redis-server directly (that would look like a crash).
		Setpgid: true,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	p.cmd, p.pid = cmd, cmd.Process.Pid
	go func() {
		err := cmd.Wait()
		p.waitErr = err
		close(p.exited)
		p.mu.Lock()
		f := p.onExit
		p.mu.Unlock()
		if f != nil && !p.stopping.Load() {
			f(err)
		}
	}()
	if err := p.waitReady(ctx); err != nil {
		_ = p.stop()
		return nil, err
	}
	// Armed under mu so that an exit from now on is reported by the Wait goroutine, and
	// one before is reported here, as a failed start.
	p.mu.Lock()
	exited := p.gone()
	if !exited {
		p.onExit = onExit
	}
	p.mu.Unlock()
	if exited {
		return nil, fmt.Errorf("redis-server exited right after startup: %v (log: %s%s)", exitReason(p.waitErr), p.log, logTail(p.log))
	}
	return p, nil
}

// waitReady polls PING on the socket until redis-server answers PONG, exits, or the
// bound (or ctx) runs out.
func (p *redisProc) waitReady(ctx context.Context) error {
	deadline := time.NewTimer(redisReadyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = p.ping(); last == nil {
			return nil
		}
		select {
		case <-tick.C:
		case <-p.exited:
			return fmt.Errorf("redis-server exited during startup: %v (log: %s%s)", exitReason(p.waitErr), p.log, logTail(p.log))
		case <-deadline.C:
			return fmt.Errorf("redis-server did not answer PING on %s within %v: %v (log: %s%s)", p.sock, redisReadyTimeout, last, p.log, logTail(p.log))
		case <-ctx.Done():
			return fmt.Errorf("waiting for redis-server to answer PING: %w", ctx.Err())
		}
	}
}

// ping sends one PING on a new connection and expects +PONG.
func (p *redisProc) ping() error {
	reply, err := p.command("PING", true)
	if err != nil {
		return err
	}
	if reply != "+PONG" {
		return fmt.Errorf("PING answered %q", reply)
	}
	return nil
}

// command sends one inline command on a new connection to the socket and, if wantReply,
// returns the first reply line.
func (p *redisProc) command(cmd string, wantReply bool) (string, error) {
	conn, err := net.DialTimeout("unix", p.sock, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte(cmd + "\r\n")); err != nil {
		return "", err
	}
	if !wantReply {
		return "", nil
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// stop makes redis-server exit (SHUTDOWN NOSAVE, then SIGTERM, then SIGKILL, each with a
// bound) and waits for it. It is safe after redis-server exited by itself, and may be
// called more than once.
func (p *redisProc) stop() error {
	p.stopping.Store(true)
	if p.gone() {
		return nil
	}
	shutdown := "SHUTDOWN NOSAVE"
	if p.persist {
		shutdown = "SHUTDOWN SAVE" // a --data-dir keeps the queues for the next start
	}
	if _, err := p.command(shutdown, false); err == nil && p.waitExit(redisStopTimeout) {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if p.waitExit(redisStopTimeout) {
		return nil
	}
	_ = p.cmd.Process.Kill()
	if p.waitExit(redisStopTimeout) {
		return nil
	}
	return fmt.Errorf("redis-server (pid %d) still running %v after SIGKILL", p.pid, redisStopTimeout)
}

func (p *redisProc) gone() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

func (p *redisProc) waitExit(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.exited:
		return true
	case <-t.C:
		return false
	}
}

// exitReason describes how redis-server ended; cmd.Wait returns nil for status 0.
func exitReason(waitErr error) error {
	if waitErr == nil {
		return errors.New("exit status 0")
	}
	return waitErr
}

// logTail returns the last lines of redis-server's log as "; last lines: ...", or "".
func logTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	if len(lines) == 0 || len(lines[0]) == 0 {
		return ""
	}
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return "; last lines: " + string(bytes.Join(lines, []byte(" | ")))
}
