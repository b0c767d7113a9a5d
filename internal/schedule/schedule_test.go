package schedule

import (
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func TestRequeue(t *testing.T) {
	tests := map[string]struct {
		interval  time.Duration
		lastSweep time.Time
		nextWake  time.Time
		sweeping  bool
		want      time.Duration
	}{
		"the rest of the interval":          {interval: time.Hour, lastSweep: t0.Add(-10 * time.Minute), want: 50 * time.Minute},
		"a sweep overdue waits the minimum": {interval: time.Hour, lastSweep: t0.Add(-2 * time.Hour), want: MinSweepWait},
		"never swept waits the minimum":     {interval: time.Hour, want: MinSweepWait},
		"sweeping: the sweeper requeues":    {interval: time.Hour, lastSweep: t0.Add(-2 * time.Hour), sweeping: true, want: 0},
		"a wake before the sweep, with slack": {interval: time.Hour, lastSweep: t0, nextWake: t0.Add(5 * time.Second),
			want: 5*time.Second + WakeSlack},
		"a wake after the sweep": {interval: time.Minute, lastSweep: t0, nextWake: t0.Add(2 * time.Minute), want: time.Minute},
		"a wake while sweeping": {interval: time.Hour, lastSweep: t0, nextWake: t0.Add(3 * time.Second), sweeping: true,
			want: 3*time.Second + WakeSlack},
		"a wake already past waits the slack": {interval: time.Hour, lastSweep: t0, nextWake: t0.Add(-time.Minute), want: WakeSlack},
		"a wake past beats an overdue sweep":  {interval: time.Hour, nextWake: t0.Add(-time.Minute), want: WakeSlack},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Requeue(t0, tc.interval, tc.lastSweep, tc.nextWake, tc.sweeping); got != tc.want {
				t.Errorf("Requeue = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSooner(t *testing.T) {
	tests := map[string]struct{ a, b, want time.Duration }{
		"neither set":            {},
		"only the first":         {a: time.Second, want: time.Second},
		"only the second":        {b: time.Second, want: time.Second},
		"the shorter":            {a: 2 * time.Second, b: time.Second, want: time.Second},
		"the first when shorter": {a: time.Second, b: 2 * time.Second, want: time.Second},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Sooner(tc.a, tc.b); got != tc.want {
				t.Errorf("Sooner(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestEarliest(t *testing.T) {
	later := t0.Add(time.Minute)
	tests := map[string]struct{ a, b, want time.Time }{
		"neither":           {},
		"only the first":    {a: t0, want: t0},
		"only the second":   {b: t0, want: t0},
		"the earlier":       {a: later, b: t0, want: t0},
		"the first earlier": {a: t0, b: later, want: t0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Earliest(tc.a, tc.b); !got.Equal(tc.want) {
				t.Errorf("Earliest(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestSweepInterval(t *testing.T) {
	interval := 10 * time.Minute
	cases := []struct {
		transient bool
		retries   int
		want      time.Duration
	}{
		{false, 0, interval},
		{false, 5, interval},
		{true, 0, 30 * time.Second},
		{true, 1, 30 * time.Second},
		{true, 2, time.Minute},
		{true, 3, 2 * time.Minute},
		{true, 5, 8 * time.Minute},
		{true, 6, interval},
		{true, 1000, interval},
	}
	for _, c := range cases {
		if got := SweepInterval(interval, c.transient, c.retries); got != c.want {
			t.Errorf("SweepInterval(%s, %v, %d) = %s, want %s", interval, c.transient, c.retries, got, c.want)
		}
	}
	if got := SweepInterval(10*time.Second, true, 1); got != 10*time.Second {
		t.Errorf("a retry never waits longer than the interval: got %s", got)
	}
}
