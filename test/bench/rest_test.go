package main

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

func TestUnchangedIntervalLeavesRoomForTheIdleWindow(t *testing.T) {
	cases := map[string]struct {
		flag     time.Duration
		fullWall float64
		want     time.Duration
	}{
		"the flag, to the second":          {flag: 10400 * time.Millisecond, fullWall: 100, want: 10 * time.Second},
		"a short sweep: a minute":          {fullWall: 0.6, want: time.Minute},
		"a long sweep: 3x its wall + 30 s": {fullWall: 30.2, want: 121 * time.Second},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := unchangedInterval(Config{UnchangedInterval: tc.flag}, tc.fullWall); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCheckOneSweepAfterTheIdleWindow(t *testing.T) {
	controls := []ismsv1.Control{{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, {ObjectMeta: metav1.ObjectMeta{Name: "b"}}}
	idleEnd := time.Unix(1000, 0)
	full := sweepCycle{sweeps: map[string]float64{"a": 3, "b": 5}}
	cases := map[string]struct {
		sweeps, ended map[string]float64
		ok            bool
	}{
		"each swept once after the window": {sweeps: map[string]float64{"a": 4, "b": 6}, ended: map[string]float64{"a": 1001, "b": 1000.5}, ok: true},
		"one swept twice":                  {sweeps: map[string]float64{"a": 5, "b": 6}, ended: map[string]float64{"a": 1001, "b": 1001}},
		"one not swept":                    {sweeps: map[string]float64{"a": 4, "b": 5}, ended: map[string]float64{"a": 1001, "b": 1001}},
		"one swept during the window":      {sweeps: map[string]float64{"a": 4, "b": 6}, ended: map[string]float64{"a": 1001, "b": 999}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := checkOneSweepAfter(controls, full, sweepCycle{sweeps: tc.sweeps, ended: tc.ended}, idleEnd)
			if (err == nil) != tc.ok {
				t.Errorf("error %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
