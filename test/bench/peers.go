package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// The peer benchmark (-peers): the manager, then Gatekeeper's audit, on one control plane and
// one set of Deployments, one privileged-container policy each, one after the other (never
// both at once: they would share the cores).

// PeerConfig is what the peer run needs beyond the estate.
type PeerConfig struct {
	GatekeeperBinary string        `json:"-"`
	GatekeeperCRDs   string        `json:"-"`
	AuditInterval    time.Duration `json:"-"`
	// AuditIntervalSeconds is AuditInterval in the results file.
	AuditIntervalSeconds float64 `json:"auditIntervalSeconds"`
	// Flips is how many compliant Deployments each side sees turned privileged, one at a time.
	Flips int `json:"flips"`
}

// peerSweeps is how many full sweeps (audits) each side is timed over; the fastest counts,
// since noise from a shared machine only ever adds time.
const peerSweeps = 3

// peerControl is the sample Control that the Gatekeeper template is equivalent to.
const peerControl = "isms-k8s-001-no-privileged"

// PeerResults are the two sides' figures and their ratios.
type PeerResults struct {
	Config  Config      `json:"config"`
	Peer    PeerConfig  `json:"peer"`
	Machine machineInfo `json:"machine"`
	Started time.Time   `json:"started"`
	// LoadAverage is /proc/loadavg's one-minute figure before and after: on a shared machine
	// the absolute figures move with it, the ratios less.
	LoadAverage [2]string   `json:"loadAverageBeforeAfter"`
	LoadSeconds float64     `json:"loadSeconds"`
	Ours        peerFigures `json:"isms"`
	Theirs      peerFigures `json:"gatekeeper"`
	// Ratios are Gatekeeper's figure over isms-operator's: above 1, isms-operator needs less.
	Ratios peerRatios `json:"gatekeeperOverIsms"`
}

type peerFigures struct {
	// FirstResultSeconds: from the policy's creation to its first result written (Findings;
	// the constraint's status).
	FirstResultSeconds float64 `json:"firstResultSeconds"`
	// Violations is what the first result counts: the Control's failing subjects; the
	// constraint's totalViolations.
	Violations int64 `json:"violations"`
	// Sweeps are the wall seconds of each timed full sweep (audit), SweepSeconds the fastest,
	// and the CPU seconds are those of that sweep.
	Sweeps                 []float64 `json:"sweepsSeconds"`
	SweepSeconds           float64   `json:"sweepSeconds"`
	CPUSeconds             float64   `json:"cpuSeconds"`
	ControlPlaneCPUSeconds float64   `json:"controlPlaneCPUSeconds"`
	PeakRSSBytes           uint64    `json:"peakRSSBytes"`
	// VisibleSeconds: from the write that turns a Deployment privileged to the violation shown
	// (in its Finding; in the constraint's totalViolations after an audit), per flip.
	VisibleSeconds       []float64 `json:"violationVisibleSeconds"`
	VisibleMedianSeconds float64   `json:"violationVisibleMedianSeconds"`
	VisibleMaxSeconds    float64   `json:"violationVisibleMaxSeconds"`
}

type peerRatios struct {
	Sweep   float64 `json:"sweep"`
	CPU     float64 `json:"cpu"`
	PeakRSS float64 `json:"peakRSS"`
	Visible float64 `json:"violationVisibleMedian"`
}

// RunPeers loads the estate once and measures the manager, then Gatekeeper, on it.
func RunPeers(ctx context.Context, cfg Config, peer PeerConfig, progress func(string)) (*PeerResults, error) {
	peer.AuditIntervalSeconds = peer.AuditInterval.Seconds()
	// One Control, no churn: the main run's drift and control settings do not apply here.
	cfg.Controls, cfg.Flips, cfg.ChurnPerSecond, cfg.Evidence = 1, 0, 0, "on"
	res := &PeerResults{Config: cfg, Peer: peer, Machine: machine(), Started: time.Now().UTC()}
	res.LoadAverage[0] = loadAverage()
	flippers := compliantFlippers(cfg, peer.Flips)
	if len(flippers) < peer.Flips {
		return nil, fmt.Errorf("only %d compliant Deployments lead their namespace: use more -namespaces or fewer -peer-flips", len(flippers))
	}
	plane, err := startEstate(ctx, cfg, []string{peer.GatekeeperCRDs}, progress)
	if err != nil {
		return nil, err
	}
	defer plane.stop()
	res.LoadSeconds = plane.loadSeconds

	if res.Ours, err = measureOurs(ctx, plane, cfg, flippers, progress); err != nil {
		return nil, fmt.Errorf("isms-operator: %w", err)
	}
	if res.Theirs, err = measureGatekeeper(ctx, plane, cfg, peer, flippers, progress); err != nil {
		return nil, fmt.Errorf("gatekeeper: %w", err)
	}
	res.Ratios = peerRatios{
		Sweep:   ratio(res.Theirs.SweepSeconds, res.Ours.SweepSeconds),
		CPU:     ratio(res.Theirs.CPUSeconds, res.Ours.CPUSeconds),
		PeakRSS: ratio(float64(res.Theirs.PeakRSSBytes), float64(res.Ours.PeakRSSBytes)),
		Visible: ratio(res.Theirs.VisibleMedianSeconds, res.Ours.VisibleMedianSeconds),
	}
	res.LoadAverage[1] = loadAverage()
	return res, nil
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// compliantFlippers are up to n Deployments that start compliant and lead their namespace (so
// they sort first in its Finding's bounded subject list).
func compliantFlippers(cfg Config, n int) []int {
	var out []int
	for i := 0; i < min(cfg.Namespaces, cfg.Objects) && len(out) < n; i++ {
		if !privilegedAt(i, cfg.Namespaces, cfg.Violating) {
			out = append(out, i)
		}
	}
	return out
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return ""
	}
	return fields[0]
}

// finishVisible sets the median and maximum of the per-flip latencies.
func (f *peerFigures) finishVisible() {
	sorted := slices.Clone(f.VisibleSeconds)
	slices.Sort(sorted)
	if len(sorted) > 0 {
		f.VisibleMedianSeconds = sorted[len(sorted)/2]
		f.VisibleMaxSeconds = sorted[len(sorted)-1]
	}
}

// peerControlOf is the sample Control the comparison runs.
func peerControlOf(cfg Config) (ismsv1.Control, error) {
	controls, err := benchControls(Config{RepoRoot: cfg.RepoRoot})
	if err != nil {
		return ismsv1.Control{}, err
	}
	for _, c := range controls {
		if c.Name == peerControl {
			return c, nil
		}
	}
	return ismsv1.Control{}, fmt.Errorf("no sample control %s", peerControl)
}

// measureOurs runs the manager with the privileged-container Control alone.
func measureOurs(ctx context.Context, plane *estate, cfg Config, flippers []int, progress func(string)) (peerFigures, error) {
	var f peerFigures
	control, err := peerControlOf(cfg)
	if err != nil {
		return f, err
	}
	progress("isms-operator: starting the manager")
	mgr, err := startManager(ctx, cfg.ManagerBinary, plane.kubeconfig, operatorNamespace, cfg.WorkDir, true)
	if err != nil {
		return f, err
	}
	defer mgr.stop()
	time.Sleep(2 * time.Second) // as the main run: let the namespace watch settle
	c, controls := plane.client, []ismsv1.Control{control}
	start := time.Now()
	if err := c.Create(ctx, &control); err != nil {
		return f, fmt.Errorf("creating control %s: %w", control.Name, err)
	}
	if err := waitForSweeps(ctx, c, mgr, controls, nil, evaluationTimeout); err != nil {
		return f, err
	}
	if err := waitForIdle(ctx, mgr, evaluationTimeout); err != nil {
		return f, err
	}
	f.FirstResultSeconds = time.Since(start).Seconds()
	var live ismsv1.Control
	if err := c.Get(ctx, types.NamespacedName{Name: control.Name}, &live); err != nil {
		return f, err
	}
	f.Violations = int64(live.Status.FailingSubjects)

	progress(fmt.Sprintf("isms-operator: timing %d full sweeps", peerSweeps))
	for run := range peerSweeps {
		sweep, err := measureSweep(ctx, c, plane.restCfg, mgr, controls, fmt.Sprintf("%dm", 11+run))
		if err != nil {
			return f, err
		}
		f.Sweeps = append(f.Sweeps, sweep.WallSeconds)
		if run == 0 || sweep.WallSeconds < f.SweepSeconds {
			f.SweepSeconds, f.CPUSeconds = sweep.WallSeconds, sweep.CPUSeconds["manager"]
			f.ControlPlaneCPUSeconds = sweep.CPUSeconds["kube-apiserver"] + sweep.CPUSeconds["etcd"]
		}
		if err := waitForIdle(ctx, mgr, evaluationTimeout); err != nil {
			return f, err
		}
	}
	progress(fmt.Sprintf("isms-operator: turning %d Deployments privileged, one at a time", len(flippers)))
	if f.VisibleSeconds, err = flipUntilFindings(ctx, plane, cfg, control.Name, flippers); err != nil {
		return f, err
	}
	f.finishVisible()
	_, f.PeakRSSBytes, err = mgr.rss()
	return f, err
}

// flipUntilFindings turns each Deployment privileged and times its Finding listing it, then
// turns them all back and waits for that too, so Gatekeeper audits the same estate.
func flipUntilFindings(ctx context.Context, plane *estate, cfg Config, control string, flippers []int) ([]float64, error) {
	views, stopWatch, err := watchFindings(ctx, plane.client, control)
	if err != nil {
		return nil, err
	}
	defer stopWatch()
	var latencies []float64
	for _, privileged := range []bool{true, false} {
		for _, i := range flippers {
			for len(views) > 0 {
				<-views
			}
			if err := setPrivileged(ctx, plane.client, cfg, i, privileged); err != nil {
				return nil, err
			}
			written := time.Now()
			seen, ok := awaitFinding(views, namespaceName(i%cfg.Namespaces), deploymentName(i), privileged, time.Minute)
			if !ok {
				return nil, fmt.Errorf("the Finding did not show %s privileged=%t within a minute", deploymentName(i), privileged)
			}
			if privileged {
				latencies = append(latencies, seen.Sub(written).Seconds())
			}
		}
	}
	return latencies, nil
}
