package main

import (
	"context"
	"fmt"
	"math"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// unchangedSweep is every Control's periodic sweep of a cluster in which nothing changed since
// the full sweep just before it: each (control, subject) verdict is kept, not evaluated again.
// Both sweeps are measured the same way in the same phase of the run, one after the other, so
// their ratio is what the machine's noise disturbs least.
type unchangedSweep struct {
	// IntervalSeconds is the spec.interval set on every Control for this phase: setting it
	// forces the full sweep, and the periodic sweep follows one interval later.
	IntervalSeconds float64 `json:"intervalSeconds"`
	Controls        int     `json:"controls"`
	// Seconds sums the Controls' isms_control_last_sweep_duration_seconds of the periodic
	// sweep; SlowestSeconds is the largest of them.
	Seconds        float64 `json:"seconds"`
	SlowestSeconds float64 `json:"slowestControlSeconds"`
	// CPUSeconds is the manager's CPU (user + system, /proc) from just before the sweep came due
	// until its reconcilers were idle after it: the status writes and the benchmark's few
	// scrapes of its metrics at the end are included, so it is an upper bound.
	CPUSeconds float64 `json:"cpuSeconds"`
	// ReusedSubjects sums isms_control_last_sweep_reused_subjects; EvaluatedSubjects are the
	// other subjects the sweep matched (isms_control_last_sweep_subjects), evaluated again.
	ReusedSubjects    int `json:"reusedSubjects"`
	EvaluatedSubjects int `json:"evaluatedSubjects"`
	// FullSeconds and FullCPUSeconds are the same figures of the full sweep that the interval
	// change forced (every verdict evaluated), from the change until the reconcilers were idle.
	FullSeconds    float64 `json:"fullSweepSeconds"`
	FullCPUSeconds float64 `json:"fullSweepCPUSeconds"`
	// FractionOfFull is Seconds / FullSeconds, and CPUFractionOfFull CPUSeconds / FullCPUSeconds.
	FractionOfFull    float64 `json:"fractionOfFull"`
	CPUFractionOfFull float64 `json:"cpuFractionOfFull"`
}

// restCPU is the manager's CPU when nothing changes, as a fraction of one core, at the default
// interval (ismsv1.DefaultSweepInterval).
type restCPU struct {
	// IdleSeconds is a window with no sweep in it (between the full sweep and the periodic one
	// of unchangedSweep), during which the benchmark does not scrape the manager;
	// IdleFractionOfCore is the manager's CPU in it over its length: leader election renewals,
	// resyncs and timers.
	IdleSeconds        float64 `json:"idleWindowSeconds"`
	IdleCPUSeconds     float64 `json:"idleCPUSeconds"`
	IdleFractionOfCore float64 `json:"idleFractionOfCore"`
	// DefaultIntervalSeconds is DefaultSweepInterval (600); SweepsFractionOfCore is the
	// unchanged sweep's CPU over it: every Control swept once per default interval.
	DefaultIntervalSeconds float64 `json:"defaultIntervalSeconds"`
	SweepsFractionOfCore   float64 `json:"unchangedSweepsFractionOfCore"`
	// ProjectedFractionOfCore = IdleFractionOfCore + SweepsFractionOfCore: computed, not
	// measured over a real default interval (Measured is, with -rest).
	ProjectedFractionOfCore float64       `json:"projectedFractionOfCore"`
	Measured                *measuredRest `json:"measured,omitempty"`
}

// measuredRest is the manager's CPU over a real window at the default interval (-rest D), the
// periodic sweeps in it included.
type measuredRest struct {
	// WindowSeconds runs from the reconcilers idle after the full sweep that setting the default
	// interval forced, to their idle after each Control's SweepsPerControl-th periodic sweep
	// since (D rounded to whole intervals, at least one): whole periods of the rest cost.
	WindowSeconds    float64 `json:"windowSeconds"`
	SweepsPerControl int     `json:"sweepsPerControl"`
	CPUSeconds       float64 `json:"cpuSeconds"`
	FractionOfCore   float64 `json:"fractionOfCore"`
}

// sweepCycle is one sweep of every Control, measured from what started it until the control
// reconcilers are idle after it.
type sweepCycle struct {
	seconds, slowest, cpu float64
	subjects, reused      int
	// sweeps is isms_control_sweeps_total and ended isms_control_last_sweep_timestamp_seconds
	// afterwards, by Control, and status each Control's status.lastSweep.
	sweeps, ended map[string]float64
	status        map[string]time.Time
	// idleAt is when the reconcilers were idle after it, and cpuAt the manager's CPU seconds
	// (managerCPU) then.
	idleAt time.Time
	cpuAt  float64
}

// restMargin is how long before the periodic sweep is due the idle window ends.
const restMargin = time.Second

// defaultInterval is ismsv1.DefaultSweepInterval.
func defaultInterval() time.Duration {
	d, _ := time.ParseDuration(ismsv1.DefaultSweepInterval)
	return d
}

// unchangedInterval is the interval of the unchanged-sweep phase: cfg.UnchangedInterval, or
// long enough for the idle window between the full sweep (about fullWall) and the periodic one.
func unchangedInterval(cfg Config, fullWall float64) time.Duration {
	if cfg.UnchangedInterval > 0 {
		return cfg.UnchangedInterval.Round(time.Second)
	}
	return max(time.Minute, time.Duration(math.Ceil(3*fullWall+30))*time.Second)
}

// measureRest sets every Control's interval to a short one, measures the full sweep that
// forces, the manager's idle CPU until the periodic sweep is due and that (unchanged) sweep,
// and projects the CPU at rest at the default interval. With cfg.Rest it then also measures
// the CPU at rest over a real window at the default interval.
func measureRest(ctx context.Context, c client.Client, cfg Config, mgr *managerProcess, controls []ismsv1.Control, fullWall float64, progress func(string)) (unchangedSweep, restCPU, error) {
	interval := unchangedInterval(cfg, fullWall)
	res := unchangedSweep{IntervalSeconds: interval.Seconds(), Controls: len(controls)}
	var rest restCPU
	progress(fmt.Sprintf("setting every control's interval to %s: a full sweep, %s with no sweep, then a periodic sweep of unchanged objects", interval, interval))
	full, err := forcedSweep(ctx, c, mgr, controls, fmt.Sprintf("%ds", int(interval.Seconds())))
	if err != nil {
		return res, rest, err
	}
	res.FullSeconds, res.FullCPUSeconds = full.seconds, full.cpu
	idleEnd, err := idleWindow(ctx, mgr, full, interval, &rest)
	if err != nil {
		return res, rest, err
	}
	unchanged, err := awaitSweepCycle(ctx, c, mgr, controls, managerCPU(mgr), full.status)
	if err != nil {
		return res, rest, err
	}
	if err := checkOneSweepAfter(controls, full, unchanged, idleEnd); err != nil {
		return res, rest, err
	}
	res.Seconds, res.SlowestSeconds, res.CPUSeconds = unchanged.seconds, unchanged.slowest, unchanged.cpu
	res.ReusedSubjects, res.EvaluatedSubjects = unchanged.reused, unchanged.subjects-unchanged.reused
	res.FractionOfFull, res.CPUFractionOfFull = ratio(res.Seconds, res.FullSeconds), ratio(res.CPUSeconds, res.FullCPUSeconds)
	rest.DefaultIntervalSeconds = defaultInterval().Seconds()
	rest.SweepsFractionOfCore = res.CPUSeconds / rest.DefaultIntervalSeconds
	rest.ProjectedFractionOfCore = rest.IdleFractionOfCore + rest.SweepsFractionOfCore
	if cfg.Rest > 0 || cfg.Evidence == "both" {
		// Back to the default: what follows (the direct measurement, or the sweep with the
		// ledger off after a restart) must not meet periodic sweeps at the short interval.
		progress("setting every control's interval back to the default " + ismsv1.DefaultSweepInterval)
		if full, err = forcedSweep(ctx, c, mgr, controls, ""); err != nil {
			return res, rest, err
		}
	}
	if cfg.Rest > 0 {
		measured, err := measureRestDirectly(ctx, c, mgr, controls, full, cfg.Rest, progress)
		if err != nil {
			return res, rest, err
		}
		rest.Measured = &measured
	}
	return res, rest, nil
}

// forcedSweep sets every Control's spec.interval (to the default when empty), a spec change
// that sweeps each again in full, and measures that sweep.
func forcedSweep(ctx context.Context, c client.Client, mgr *managerProcess, controls []ismsv1.Control, interval string) (sweepCycle, error) {
	before, err := statusLastSweeps(ctx, c)
	if err != nil {
		return sweepCycle{}, err
	}
	// status.lastSweep is kept to the second: the new sweep must end in a later one.
	latest := time.Time{}
	for _, t := range before {
		if t.After(latest) {
			latest = t
		}
	}
	if err := sleepUntil(ctx, latest.Add(2*time.Second)); err != nil {
		return sweepCycle{}, err
	}
	value := `null`
	if interval != "" {
		value = `"` + interval + `"`
	}
	cpuBefore := managerCPU(mgr)
	for _, ctl := range controls {
		patch := []byte(`{"spec":{"interval":` + value + `}}`)
		if err := c.Patch(ctx, &ismsv1.Control{ObjectMeta: metav1.ObjectMeta{Name: ctl.Name}}, client.RawPatch(types.MergePatchType, patch)); err != nil {
			return sweepCycle{}, err
		}
	}
	return awaitSweepCycle(ctx, c, mgr, controls, cpuBefore, before)
}

// idleWindow waits, without scraping the manager, from now until restMargin before the
// earliest periodic sweep after full is due, and records the manager's CPU meanwhile.
func idleWindow(ctx context.Context, mgr *managerProcess, full sweepCycle, interval time.Duration, rest *restCPU) (time.Time, error) {
	earliest := math.Inf(1)
	for _, ended := range full.ended {
		earliest = math.Min(earliest, ended)
	}
	if math.IsInf(earliest, 1) {
		return time.Time{}, fmt.Errorf("the manager reports no isms_control_last_sweep_timestamp_seconds")
	}
	start := time.Now()
	end := time.Unix(0, int64(earliest*1e9)).Add(interval - restMargin)
	if end.Sub(start) < restMargin {
		return end, fmt.Errorf("the full sweep's tail left no idle window within the %s interval: raise -unchanged-interval", interval)
	}
	cpuBefore := managerCPU(mgr)
	if err := sleepUntil(ctx, end); err != nil {
		return end, err
	}
	rest.IdleSeconds, rest.IdleCPUSeconds = time.Since(start).Seconds(), managerCPU(mgr)-cpuBefore
	rest.IdleFractionOfCore = rest.IdleCPUSeconds / rest.IdleSeconds
	return end, nil
}

// checkOneSweepAfter: between the full sweep and the end of the unchanged one, each Control
// was swept once, after the idle window: that window had no sweep in it.
func checkOneSweepAfter(controls []ismsv1.Control, full, unchanged sweepCycle, idleEnd time.Time) error {
	for _, ctl := range controls {
		if n := unchanged.sweeps[ctl.Name] - full.sweeps[ctl.Name]; n != 1 {
			return fmt.Errorf("control %s was swept %v times after the full sweep, not once: the unchanged sweep is not one sweep", ctl.Name, n)
		}
		if ended := unchanged.ended[ctl.Name]; ended < float64(idleEnd.UnixNano())/1e9 {
			return fmt.Errorf("control %s was swept during the idle window (at %.3f)", ctl.Name, ended)
		}
	}
	return nil
}

// awaitSweepCycle waits until every Control's status.lastSweep is later than in after, then
// until the control reconcilers are idle, and reads the sweep's figures. It polls the API
// server, not the manager, while the sweeps run: scraping the manager would add to its CPU.
func awaitSweepCycle(ctx context.Context, c client.Client, mgr *managerProcess, controls []ismsv1.Control, cpuBefore float64, after map[string]time.Time) (sweepCycle, error) {
	var cycle sweepCycle
	if err := waitForStatusSweeps(ctx, c, controls, after, evaluationTimeout); err != nil {
		return cycle, err
	}
	if err := waitForIdle(ctx, mgr, evaluationTimeout); err != nil {
		return cycle, err
	}
	cycle.idleAt, cycle.cpuAt = time.Now(), managerCPU(mgr)
	cycle.cpu = cycle.cpuAt - cpuBefore
	families, err := mgr.metrics()
	if err != nil {
		return cycle, err
	}
	durations := perControl(families, "isms_control_last_sweep_duration_seconds")
	subjects := perControl(families, "isms_control_last_sweep_subjects")
	reused := perControl(families, "isms_control_last_sweep_reused_subjects")
	cycle.sweeps = perControl(families, "isms_control_sweeps_total")
	cycle.ended = perControl(families, "isms_control_last_sweep_timestamp_seconds")
	for _, ctl := range controls {
		cycle.seconds += durations[ctl.Name]
		cycle.slowest = max(cycle.slowest, durations[ctl.Name])
		cycle.subjects += int(subjects[ctl.Name])
		cycle.reused += int(reused[ctl.Name])
	}
	cycle.status, err = statusLastSweeps(ctx, c)
	return cycle, err
}

// statusLastSweeps reads every Control's status.lastSweep from the API server.
func statusLastSweeps(ctx context.Context, c client.Client) (map[string]time.Time, error) {
	var list ismsv1.ControlList
	if err := c.List(ctx, &list); err != nil {
		return nil, err
	}
	out := map[string]time.Time{}
	for _, ctl := range list.Items {
		if ctl.Status.LastSweep != nil {
			out[ctl.Name] = ctl.Status.LastSweep.Time
		}
	}
	return out, nil
}

// waitForStatusSweeps waits until every Control's status.lastSweep is later than in after.
func waitForStatusSweeps(ctx context.Context, c client.Client, controls []ismsv1.Control, after map[string]time.Time, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		now, err := statusLastSweeps(ctx, c)
		if err != nil {
			return err
		}
		done := 0
		for _, ctl := range controls {
			if t, ok := now[ctl.Name]; ok && t.After(after[ctl.Name]) {
				done++
			}
		}
		if done == len(controls) {
			return nil
		}
		if err := sleepUntil(ctx, time.Now().Add(250*time.Millisecond)); err != nil {
			return err
		}
	}
	return fmt.Errorf("the controls' status.lastSweep did not all move within %s", timeout)
}

// measureRestDirectly measures the manager's CPU over whole default intervals (d rounded, at
// least one) from restored, the full sweep that set the default interval, without scraping
// the manager until the last periodic sweep is due.
func measureRestDirectly(ctx context.Context, c client.Client, mgr *managerProcess, controls []ismsv1.Control, restored sweepCycle, d time.Duration, progress func(string)) (measuredRest, error) {
	interval := defaultInterval()
	periods := max(1, int(math.Round(float64(d)/float64(interval))))
	m := measuredRest{SweepsPerControl: periods}
	progress(fmt.Sprintf("measuring the manager's CPU at rest over %d default interval(s) of %s", periods, interval))
	start, cpuBefore := restored.idleAt, restored.cpuAt
	after, earliest := map[string]time.Time{}, time.Time{}
	for name, t := range restored.status {
		// Past the (periods-1)-th periodic sweep, before the periods-th.
		after[name] = t.Add(time.Duration(periods)*interval - interval/2)
		if earliest.IsZero() || t.Before(earliest) {
			earliest = t
		}
	}
	if err := sleepUntil(ctx, earliest.Add(time.Duration(periods)*interval-restMargin)); err != nil {
		return m, err
	}
	cycle, err := awaitSweepCycle(ctx, c, mgr, controls, cpuBefore, after)
	if err != nil {
		return m, err
	}
	for _, ctl := range controls {
		if n := cycle.sweeps[ctl.Name] - restored.sweeps[ctl.Name]; n != float64(periods) {
			return m, fmt.Errorf("control %s was swept %v times in the window, not %d", ctl.Name, n, periods)
		}
	}
	m.WindowSeconds, m.CPUSeconds = cycle.idleAt.Sub(start).Seconds(), cycle.cpu
	m.FractionOfCore = m.CPUSeconds / m.WindowSeconds
	return m, nil
}

// managerCPU is the manager's CPU seconds so far (user + system).
func managerCPU(mgr *managerProcess) float64 {
	s, _ := cpuOf(mgr.cmd.Process.Pid)
	return s
}

// sleepUntil waits until t, or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(t)):
		return nil
	}
}
