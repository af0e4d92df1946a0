package system

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	faktory "github.com/contribsys/faktory/client"
	"github.com/contribsys/faktory/server"
	"github.com/contribsys/faktory/util"
	"github.com/contribsys/faktory/webui"
	"github.com/redis/go-redis/v9"
)

// quietRedis drops go-redis's own log lines (a dial retry while redis-server stops would
// print to stderr); failures still reach us as errors.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quietRedis{}) }

// ErrRedisMissing is returned when the embedded broker cannot find redis-server.
var ErrRedisMissing = errors.New("redis-server not found on PATH: run `make setup` (it installs it with apt-get) or `apt-get install redis-server`")

// ErrBrokerDied is wrapped by Broker.Err when the embedded broker's redis-server exited
// without Stop having asked it to.
var ErrBrokerDied = errors.New("embedded Faktory broker died")

// brokerDiedError says how redis-server ended; it is ErrBrokerDied and wraps the exit
// error (an *exec.ExitError for a signal or a non-zero status).
type brokerDiedError struct {
	cause error
	log   string
}

func (e *brokerDiedError) Error() string {
	return fmt.Sprintf("redis-server for the embedded Faktory exited: %v (log: %s)", e.cause, e.log)
}

func (e *brokerDiedError) Unwrap() []error { return []error{ErrBrokerDied, e.cause} }

// Broker is an embedded Faktory server: the real server, manager and storage packages,
// storing in a redis-server child process on a unix socket in a temporary directory.
// If that redis-server dies, the broker does not crash the process: Died is closed and
// Err says why; Faktory then answers its clients with errors until Stop.
type Broker struct {
	addr     string
	dir      string // the temporary folder (socket; storage too without a DataDir), removed on Stop
	data     string // where Faktory's storage lives: dir, or BrokerOptions.DataDir
	srv      *server.Server
	red      *redisProc
	done     chan struct{}
	stopOnce sync.Once
	stopErr  error
	web      *webui.Lifecycle

	died    chan struct{}
	diedMu  sync.Mutex
	diedErr error

	srvMu   sync.Mutex            // guards srv and done across Pause, Resume and Stop
	srvOpts *server.ServerOptions // how srv was made: Resume makes another the same way
}

// BrokerOptions configures an embedded broker.
type BrokerOptions struct {
	// DataDir keeps Faktory's storage (redis-server's snapshot) here across restarts;
	// "" stores it in a temporary folder removed on Stop: a restart starts empty.
	DataDir string
	// Bind is the listen address; "" means 127.0.0.1 on an ephemeral port.
	Bind string
	// Password, if set, is required of clients.
	Password string
	// WebUI, if set, serves Faktory's Web UI on this address (host:port).
	WebUI string
}

// StartBroker boots redis-server and Faktory. The caller must Stop it; Stop is also safe
// after a failed start.
func StartBroker(ctx context.Context, opts BrokerOptions) (*Broker, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, ErrRedisMissing
	}
	util.InitLogger("warn")
	removeStaleDirs()
	dir, err := os.MkdirTemp("", staleDirPrefix)
	if err != nil {
		return nil, fmt.Errorf("create broker storage dir: %w", err)
	}
	b := &Broker{dir: dir, data: dir, done: make(chan struct{}), died: make(chan struct{})}
	fail := func(err error) (*Broker, error) {
		_ = b.Stop()
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return fail(fmt.Errorf("create broker storage dir: %w", err))
	}
	if opts.DataDir != "" {
		// Absolute: redis-server runs in the folder and is given paths inside it.
		data, err := filepath.Abs(opts.DataDir)
		if err == nil {
			err = os.MkdirAll(data, 0o700)
		}
		if err != nil {
			return fail(fmt.Errorf("--data-dir %s: %w", opts.DataDir, err))
		}
		b.data = data
	}
	// The socket stays in the temporary folder: a unix socket's path is limited to ~100
	// bytes, which a data folder's may not be.
	red, err := startRedis(ctx, b.data, filepath.Join(dir, "redis.sock"), b.redisExited)
	if err != nil {
		return fail(fmt.Errorf("boot redis-server for Faktory: %w", err))
	}
	red.persist = opts.DataDir != ""
	b.red = red
	sock := red.sock
	if err := ctx.Err(); err != nil {
		return fail(err)
	}

	// Faktory does not expose its listener's address, so an ephemeral port is picked
	// first; a port taken in between is retried.
	for attempt := 0; ; attempt++ {
		bind := opts.Bind
		if bind == "" || strings.HasSuffix(bind, ":0") { // Faktory cannot report an ephemeral port
			host := "127.0.0.1"
			if h, _, err := net.SplitHostPort(bind); err == nil && h != "" {
				host = h
			}
			if bind, err = freeAddr(host); err != nil {
				return fail(err)
			}
		}
		srv, err := server.NewServer(&server.ServerOptions{
			Binding:          bind,
			StorageDirectory: b.data,
			// Faktory turns TLS on when its config folder holds private.key.pem and
			// public.cert.pem; unset, that folder is the working directory, so whatever
			// lies where wfbench was started would decide. The broker's own folder holds
			// none: the embedded broker speaks plain TCP on loopback.
			ConfigDirectory: b.dir,
			RedisSock:       sock,
			Password:        opts.Password,
			PoolSize:        server.DefaultMaxPoolSize,
			GlobalConfig:    map[string]any{},
		})
		if err != nil {
			return fail(fmt.Errorf("create Faktory server: %w", err))
		}
		if err = srv.Boot(); err != nil {
			if (opts.Bind == "" || strings.HasSuffix(opts.Bind, ":0")) && attempt < 3 && strings.Contains(err.Error(), "address already in use") {
				continue
			}
			return fail(fmt.Errorf("boot Faktory on %s: %w", bind, err))
		}
		b.srv, b.addr, b.srvOpts = srv, bind, srv.Options
		break
	}
	if opts.WebUI != "" {
		b.web = webui.Subsystem(opts.WebUI)
		b.srv.Register(b.web)
	}
	srv, done := b.srv, b.done
	go func() {
		defer close(done)
		_ = srv.Run()
	}()
	return b, nil
}

// Addr is the host:port Faktory listens on.
func (b *Broker) Addr() string { return b.addr }

// URL is the tcp:// URL of the broker.
func (b *Broker) URL() string { return "tcp://" + b.addr }

// Version of the embedded Faktory.
func (b *Broker) Version() string { return faktory.Version }

// Died is closed when the broker's redis-server exited without Stop having asked it to;
// the broker is then unusable (Err says why) and should be stopped.
func (b *Broker) Died() <-chan struct{} { return b.died }

// Err is nil while the broker is healthy and, once Died is closed, the error saying how
// redis-server ended; errors.Is(err, ErrBrokerDied) holds for it.
func (b *Broker) Err() error {
	b.diedMu.Lock()
	defer b.diedMu.Unlock()
	return b.diedErr
}

// redisExited runs in the redis-server Wait goroutine when it exits unexpectedly.
func (b *Broker) redisExited(waitErr error) {
	b.diedMu.Lock()
	b.diedErr = &brokerDiedError{cause: exitReason(waitErr), log: filepath.Join(b.data, "redis.log")}
	b.diedMu.Unlock()
	close(b.died)
}

// redisPID is the pid of the broker's redis-server child, 0 if it was not started.
func (b *Broker) redisPID() int {
	if b.red == nil {
		return 0
	}
	return b.red.pid
}

// KillRedis sends SIGKILL to the broker's redis-server, as a crash would, and waits until
// it is gone: the broker then dies as for any other death of it (Died, Err), and, Redis
// running without persistence, every job it held is gone with it.
func (b *Broker) KillRedis() error {
	if b.red == nil || b.red.gone() || b.red.stopping.Load() {
		return errors.New("kill redis-server: it is not running")
	}
	if err := b.red.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill redis-server (pid %d): %w", b.red.pid, err)
	}
	if !b.red.waitExit(redisStopTimeout) {
		return fmt.Errorf("redis-server (pid %d) still running %v after SIGKILL", b.red.pid, redisStopTimeout)
	}
	return nil
}

// Stop shuts Faktory down, stops its redis-server and removes the storage directory.
// It is idempotent, and safe after a failed start or after redis-server died.
func (b *Broker) Stop() error {
	b.stopOnce.Do(func() {
		var errs []error
		b.srvMu.Lock()
		if b.web != nil && b.srv != nil {
			_ = b.web.Shutdown(b.srv)
		}
		b.stopServer()
		b.srvMu.Unlock()
		if b.red != nil {
			if err := b.red.stop(); err != nil {
				errs = append(errs, fmt.Errorf("stop redis-server: %w", err))
			}
		}
		if b.dir != "" {
			if err := os.RemoveAll(b.dir); err != nil {
				errs = append(errs, fmt.Errorf("remove broker storage: %w", err))
			}
		}
		b.stopErr = errors.Join(errs...)
	})
	return b.stopErr
}

// stopServer stops the Faktory server, if it runs; redis-server, and the jobs in it, stay.
// b.srvMu held.
func (b *Broker) stopServer() {
	if b.srv == nil {
		return
	}
	close(b.srv.Stopper()) // stops Faktory's background tasks
	b.srv.Stop(nil)        // closes the listener and the store
	<-b.done
	b.srv = nil
}

// Pause stops the Faktory server while its storage (redis-server, with every queued,
// reserved and scheduled job) keeps running: clients see the broker down, connections
// closed and dials refused, as in a broker restart. Resume brings it back.
func (b *Broker) Pause() {
	b.srvMu.Lock()
	defer b.srvMu.Unlock()
	b.stopServer()
}

// Resume starts a new Faktory server on the paused one's address and storage; jobs
// queued before the pause are there. A no-op when the server runs.
func (b *Broker) Resume() error {
	b.srvMu.Lock()
	defer b.srvMu.Unlock()
	if b.srv != nil || b.srvOpts == nil {
		return nil
	}
	opts := *b.srvOpts
	var err error
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		srv, nerr := server.NewServer(&opts)
		if nerr != nil {
			return fmt.Errorf("restart Faktory: %w", nerr)
		}
		if err = srv.Boot(); err == nil {
			b.srv, b.done = srv, make(chan struct{})
			break
		}
		if time.Now().After(deadline) { // the port, just released, may still be held briefly
			return fmt.Errorf("restart Faktory on %s: %w", b.addr, err)
		}
	}
	srv, done := b.srv, b.done
	go func() {
		defer close(done)
		_ = srv.Run()
	}()
	return nil
}

// Temporary broker folders: wfbench-faktory-*, each with the owning process's pid.
const (
	staleDirPrefix = "wfbench-faktory-"
	ownerFile      = "owner.pid"
)

// removeStaleDirs removes the temporary folders of brokers whose process is gone (a run
// killed with SIGKILL cannot remove its own): redis-server died with it (Pdeathsig), so
// nothing uses them. A folder without an owner file is left alone (not ours to judge).
func removeStaleDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), staleDirPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			continue
		}
		// A pid from another pid namespace looks dead from here: a redis-server that still
		// answers on the folder's socket says the folder is in use.
		if c, err := net.DialTimeout("unix", filepath.Join(d, "redis.sock"), time.Second); err == nil {
			_ = c.Close()
			continue
		}
		_ = os.RemoveAll(d)
	}
}

func freeAddr(host string) (string, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("find a free port on %s: %w", host, err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
