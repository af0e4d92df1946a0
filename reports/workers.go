package reports

// WorkerHost is one worker host's share of a run on hosts (run --hosts): its
// completions, and the clock its completion times were read on.
type WorkerHost struct {
	Name      string `json:"name"`
	Host      string `json:"host"`                // its address
	Namespace string `json:"namespace,omitempty"` // its network namespace (--hosts netns)
	Completed int    `json:"completed"`
	Failed    int    `json:"failed"`
	Killed    bool   `json:"killed,omitempty"` // a phase killed its process
	// Clock is its offset to the driver's clock, as its completion sink measured it (nil:
	// never measured; its times were taken as they came).
	Clock *Clock `json:"clock,omitempty"`
}

// Clock is a host's clock offset to the driver's: the driver's clock minus the host's,
// known to ±UncertaintyMS (half the round trip it was measured over). Corrected says the
// host's times were moved onto the driver's clock (the offset exceeded the uncertainty);
// otherwise the two clocks agree within what can be measured and the times stand.
type Clock struct {
	OffsetMS      float64 `json:"offset_ms"`
	UncertaintyMS float64 `json:"uncertainty_ms"`
	Corrected     bool    `json:"corrected"`
}
