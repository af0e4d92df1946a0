//go:build !linux

package netem

import (
	"errors"
	"time"
)

// Elsewhere than Linux the clock sleeps on a Go timer.
func newPreciseAlarm(time.Time) (alarm, error) {
	return nil, errors.New("no precise alarm on this system")
}
