package health

import (
	"strings"
	"testing"
	"time"
)

// observation is one liveness probe: seconds since the start, the evaluator's count, and
// whether work waits.
type observation struct {
	at    int
	count uint64
	busy  bool
}

func TestHeartbeat(t *testing.T) {
	tests := map[string]struct {
		limit   time.Duration
		probes  []observation
		wantErr string // of the last probe; "" means alive
	}{
		"first probe":                       {time.Minute, []observation{{0, 0, true}}, ""},
		"idle for long":                     {time.Minute, []observation{{0, 5, false}, {600, 5, false}}, ""},
		"busy and progressing":              {time.Minute, []observation{{0, 5, true}, {50, 9, true}, {100, 12, true}}, ""},
		"busy, stuck within the limit":      {time.Minute, []observation{{0, 5, true}, {60, 5, true}}, ""},
		"busy, stuck past the limit":        {time.Minute, []observation{{0, 5, true}, {30, 5, true}, {61, 5, true}}, "no evaluation finished for 1m1s"},
		"idle time before work not counted": {time.Minute, []observation{{0, 5, false}, {300, 5, false}, {330, 5, true}}, ""},
		"work starts, then sticks":          {time.Minute, []observation{{0, 5, false}, {10, 5, true}, {80, 5, true}}, "no evaluation finished for 1m10s"},
		"progress resets the clock":         {time.Minute, []observation{{0, 5, true}, {50, 6, true}, {100, 6, true}}, ""},
		"no limit":                          {0, []observation{{0, 5, true}, {9000, 5, true}}, ""},
	}
	start := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := &Heartbeat{Limit: tc.limit}
			var err error
			for _, p := range tc.probes {
				err = h.Check(start.Add(time.Duration(p.at)*time.Second), p.count, p.busy)
			}
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("got %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestWatchesReady(t *testing.T) {
	tests := map[string]struct {
		w       Watches
		wantErr string
	}{
		"follower":            {Watches{Leading: false}, ""},
		"leader, not started": {Watches{Leading: true}, "not started"},
		"leader, listing":     {Watches{Leading: true, Started: true, Waiting: "Deployment.apps: listing"}, "Deployment.apps: listing"},
		"leader, synced":      {Watches{Leading: true, Started: true, Synced: true}, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := WatchesReady(tc.w)
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("got %v, want %q", err, tc.wantErr)
			}
		})
	}
}
