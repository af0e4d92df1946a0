package main

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// A flag's value reaches the standing system as given: the password in --faktory-url
// included (the settings' canonical form, which reports use, drops it).
func TestServeFlagsKeepFaktoryPassword(t *testing.T) {
	t.Setenv("FAKTORY_URL", "")
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	cf := addConfigFlags(fs)
	if err := fs.Parse([]string{"--faktory-url", "tcp://:s3cret@127.0.0.1:7419", "--pool-size", "7"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := cf.resolve(fs)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cfg.FaktoryURL, "s3cret") || cfg.PoolSize != 7 {
		t.Errorf("resolved FaktoryURL %q, pool size %d: want the password kept and 7", cfg.FaktoryURL, cfg.PoolSize)
	}
}
