package main

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestShortBenchmarkProducesEveryFigure keeps `make bench` from rotting: it runs the benchmark
// on 1k objects and checks that every figure was measured. It asserts no timing: CI machines
// are too noisy for that, and the figures are read from `make bench`.
func TestShortBenchmarkProducesEveryFigure(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run the tests with `make test`")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	manager := filepath.Join(dir, "manager")
	build := exec.Command("go", "build", "-o", manager, "./cmd/manager")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the manager: %v\n%s", err, out)
	}
	cfg := Config{Objects: 1000, Namespaces: 10, Violating: 0.1, Flips: 20, ChurnPerSecond: 20,
		Soak: 3 * time.Second, UnchangedInterval: shortUnchangedInterval, ManagerBinary: manager, RepoRoot: root, WorkDir: dir}
	res, err := Run(context.Background(), cfg, func(msg string) { t.Log(msg) })
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "manager.log"))
		t.Fatalf("the benchmark failed: %v\n--- manager log (tail) ---\n%s", err, tailBytes(log, 4000))
	}
	var table strings.Builder
	printTable(&table, res)
	t.Log("\n" + table.String())

	checks := map[string]bool{
		"controls":                      res.Config.Controls >= 4,
		"load time":                     res.LoadSeconds > 0,
		"first evaluation":              res.InitialSeconds > 0 && res.SettledSeconds >= res.InitialSeconds,
		"sweep wall time":               res.Sweep.WallSeconds > 0,
		"sweep evaluations":             res.Sweep.Evaluations >= cfg.Objects,
		"sweep evaluations per second":  res.Sweep.PerSecond > 0,
		"raw limit":                     res.Raw.PerSecond > 0 && res.Raw.SingleGoroutinePS > 0,
		"raw evaluations match sweep":   res.Raw.Evaluations == res.Sweep.Evaluations,
		"sweep to raw ratio":            res.SweepToRaw > 0,
		"drift flips":                   res.Drift.Flips == cfg.Flips && len(res.Drift.latenciesSecs) > 0,
		"drift percentiles":             res.Drift.P50ms > 0 && res.Drift.P99ms >= res.Drift.P50ms,
		"churn":                         res.Drift.ChurnWrites > 0,
		"every flip written":            res.Drift.FailedWrites == 0,
		"peak RSS":                      res.Memory.PeakRSSBytes > 0 && res.Memory.PeakRSSBytes >= res.Memory.SteadyRSSBytes,
		"API requests during the sweep": res.Sweep.APIRequests["PATCH controls"] >= res.Sweep.Controls,
		"CPU during the sweep":          res.Sweep.CPUSeconds["manager"] > 0 && len(res.Sweep.CPUSeconds) == 4,
		"baseline RSS":                  res.Memory.BaselineRSSBytes > 0 && res.Memory.BaselineRSSBytes <= res.Memory.PeakRSSBytes,
		"heap":                          res.Memory.BaselineHeapBytes > 0 && res.Memory.LoadedHeapBytes > res.Memory.BaselineHeapBytes,
		"bytes per cached object":       res.Memory.BytesPerCachedObject > 0,
		"findings":                      res.Findings.Count > 0 && res.Findings.LargestBytes > 0 && res.Findings.TotalBytes >= res.Findings.LargestBytes,
		"failing pairs":                 res.Findings.FailingPairs > 0,
		"evidence leaves":               res.Evidence.Enabled && res.Evidence.Appended > 0 && res.Evidence.Leaves >= res.Evidence.Appended && res.Evidence.DBBytes > 0,
		"evidence without drops":        res.Evidence.Dropped == 0,
		"soak samples":                  res.Soak != nil && len(res.Soak.Samples) == soakSamples+1 && res.Soak.Samples[0].Goroutines > 0 && res.Soak.Samples[0].HeapBytes > 0,
		"unchanged sweep":               unchangedProduced(res.UnchangedSweep, res.Sweep.Evaluations),
		"CPU at rest":                   restProduced(res.Rest),
		"soak flips and churn":          res.Soak != nil && res.Soak.Flips > 0 && res.Soak.ChurnWrites > 0,
	}
	for figure, ok := range checks {
		if !ok {
			t.Errorf("figure missing or inconsistent: %s", figure)
		}
	}
}

// unchangedProduced: the unchanged sweep and the full one before it were measured, and it
// matched the subjects the full sweep did, most of them with their verdict kept.
func unchangedProduced(u unchangedSweep, evaluations int) bool {
	finite := func(v float64) bool { return v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) }
	return finite(u.Seconds) && finite(u.CPUSeconds) && finite(u.FullSeconds) && finite(u.FullCPUSeconds) &&
		finite(u.FractionOfFull) && finite(u.CPUFractionOfFull) &&
		u.ReusedSubjects+u.EvaluatedSubjects == evaluations && u.ReusedSubjects > u.EvaluatedSubjects
}

// restProduced: the idle window was measured (its CPU may round to zero) and the projection made.
func restProduced(r restCPU) bool {
	return r.IdleSeconds > 0 && r.IdleFractionOfCore >= 0 && r.DefaultIntervalSeconds == defaultInterval().Seconds() &&
		r.SweepsFractionOfCore > 0 && r.ProjectedFractionOfCore >= r.SweepsFractionOfCore && !math.IsInf(r.ProjectedFractionOfCore, 0)
}

func tailBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
