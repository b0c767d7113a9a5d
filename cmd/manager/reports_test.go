package main

import (
	"flag"
	"testing"
	"time"

	"github.com/isms-operator/isms-operator/internal/openreports"
)

// Publishing reports is off unless --publish-reports names the one format there is.
func TestPublishReportsFlag(t *testing.T) {
	tests := map[string]struct {
		args    []string
		on      bool
		wantErr bool
	}{
		"off by default": {args: nil},
		"openreports":    {args: []string{"--publish-reports=openreports", "--publish-reports-interval=5s", "--publish-reports-max-results=7"}, on: true},
		"another format": {args: []string{"--publish-reports=policyreport"}, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, _, err := parseFlags(flag.NewFlagSet("manager", flag.ContinueOnError), tc.args)
			if err != nil {
				t.Fatal(err)
			}
			opts, err := cfg.reports.options()
			if (err != nil) != tc.wantErr || (opts != nil) != tc.on {
				t.Fatalf("options() = %+v, %v", opts, err)
			}
			if tc.on && (opts.Interval != 5*time.Second || opts.MaxResults != 7) {
				t.Errorf("options %+v", opts)
			}
		})
	}
	cfg, _, _ := parseFlags(flag.NewFlagSet("manager", flag.ContinueOnError), nil)
	if cfg.reports.MaxResults != openreports.DefaultMaxResults {
		t.Errorf("default max results %d, want %d", cfg.reports.MaxResults, openreports.DefaultMaxResults)
	}
}
