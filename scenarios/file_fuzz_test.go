package scenarios

import "testing"

// FuzzParseScenario feeds the scenario parser any bytes: ParseScenario and Plan (plain
// and quick) may refuse them, with errors, but must never panic.
func FuzzParseScenario(f *testing.F) {
	// The seed corpus, testdata/fuzz/FuzzParseScenario, holds the built-in scenarios.
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := ParseScenario("fuzz.yaml", data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		for _, quick := range []bool{false, true} {
			if _, err := sc.Plan(quick); err != nil && err.Error() == "" {
				t.Fatal("a plan error without a message")
			}
		}
	})
}
