package scenarios

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/wfbench/wfbench/reports"
)

// Stopped before its first run, MeasurePair returns each side's result started (the
// scenario recorded, no run) and leaves no empty side folder behind.
func TestMeasurePairStoppedBeforeARun(t *testing.T) {
	var scs [2]*Scenario
	for i := range scs {
		sc, err := Load("seed")
		if err != nil {
			t.Fatal(err)
		}
		scs[i] = sc
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	res, err := MeasurePair(ctx, scs, PairOptions{Quick: true, Dir: dir, NewResult: func() *reports.Result { return &reports.Result{Schema: reports.Schema} }})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	for s, r := range res {
		if r == nil || r.Schema != reports.Schema || r.Scenario == nil || r.Scenario.Name != "seed" || len(r.Runs) != 0 {
			t.Errorf("side %d: %+v", s, r)
		}
	}
	for _, side := range []string{"a", "b"} {
		if _, err := os.Stat(filepath.Join(dir, side)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s/: %v, want it removed", side, err)
		}
	}
}
