package netem

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// timerfdAlarm is the clock's precise alarm on Linux: a non-blocking timerfd on
// CLOCK_MONOTONIC (the clock of Go's monotonic time), read through Go's netpoller. The
// kernel fires it to the nanosecond and it makes the runtime's epoll_wait return at once,
// whatever its millisecond timeout; no thread blocks on it.
type timerfdAlarm struct {
	fd       int
	f        *os.File
	baseMono int64 // CLOCK_MONOTONIC at the clock's base, in ns
}

func newPreciseAlarm(base time.Time) (alarm, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	// Where base sits on CLOCK_MONOTONIC: read it between two time.Now, and keep the
	// tightest of a few tries (within ~1 µs). An error that size only makes the clock
	// yield for it: it wakes nothing before time.Now says it is due.
	var baseMono int64
	best := time.Hour
	for range 16 {
		var ts unix.Timespec
		t1 := time.Now()
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("clock_gettime: %w", err)
		}
		t2 := time.Now()
		if gap := t2.Sub(t1); gap < best {
			best = gap
			baseMono = ts.Nano() - int64(t1.Add(gap/2).Sub(base))
		}
	}
	f := os.NewFile(uintptr(fd), "netem-clock")
	if f == nil {
		unix.Close(fd)
		return nil, fmt.Errorf("timerfd %d: no file", fd)
	}
	return &timerfdAlarm{fd: fd, f: f, baseMono: baseMono}, nil
}

func (a *timerfdAlarm) set(at int64) error {
	var its unix.ItimerSpec
	if at != 0 {
		its.Value = unix.NsecToTimespec(a.baseMono + at)
	}
	return unix.TimerfdSettime(a.fd, unix.TFD_TIMER_ABSTIME, &its, nil)
}

// wait blocks the calling goroutine (not its thread) until the timerfd has gone off.
func (a *timerfdAlarm) wait() error {
	var ticks [8]byte
	_, err := a.f.Read(ticks[:])
	return err
}

func (a *timerfdAlarm) precise() bool { return true }
func (a *timerfdAlarm) close()        { a.f.Close() }
