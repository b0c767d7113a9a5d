package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/controllers"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/library"
	"github.com/isms-operator/isms-operator/internal/params"
	"github.com/isms-operator/isms-operator/policies"
)

// Config is what one benchmark run does.
type Config struct {
	Objects        int     `json:"objects"`
	Namespaces     int     `json:"namespaces"`
	Violating      float64 `json:"violatingFraction"`
	Controls       int     `json:"controls"`
	Flips          int     `json:"flips"`
	ChurnPerSecond float64 `json:"churnPerSecond"`
	// Profile captures the manager's CPU profiles during the first evaluation
	// (initial.cpu.pprof) and the re-sweep (sweep.cpu.pprof), and its heap after the first
	// evaluation (loaded.heap.pprof).
	Profile bool `json:"-"`
	// Evidence is the evidence ledger's setting: "on" (the manager's default; also when
	// empty), "off", or "both": the run with it on, then the full sweep again with it off.
	Evidence string `json:"evidence"`
	// Soak, when set, churns for this long after the drift measurement and samples the
	// manager's heap and goroutines (soakResult).
	Soak time.Duration `json:"soakSeconds,omitempty"`
	// UnchangedInterval is the spec.interval set on every Control to measure a periodic sweep
	// in which nothing changed (unchangedSweep); zero picks one from the full sweep's length.
	UnchangedInterval time.Duration `json:"-"`
	// Rest, when set, also measures the manager's CPU at rest over this long (rounded to whole
	// default intervals, at least one) with every Control at the default interval.
	Rest          time.Duration `json:"-"`
	ManagerBinary string        `json:"-"`
	RepoRoot      string        `json:"-"`
	WorkDir       string        `json:"-"`
}

// Results are every figure of a run.
type Results struct {
	Config  Config      `json:"config"`
	Machine machineInfo `json:"machine"`
	Started time.Time   `json:"started"`

	LoadSeconds float64 `json:"loadSeconds"`
	// Error, when set, is why the run stopped: the figures after that point are missing.
	Error string `json:"error,omitempty"`

	// InitialSeconds: from the Controls' creation to every Control evaluated, including the
	// watches' initial list and conversion of every object.
	InitialSeconds float64 `json:"initialEvaluationSeconds"`
	// SettledSeconds: from the Controls' creation until the Findings of the first evaluation
	// are written and the control reconcilers are idle; the sweep is measured after it.
	SettledSeconds float64     `json:"settledSeconds"`
	Sweep          sweepResult `json:"sweep"`
	Raw            rawLimit    `json:"rawEngineLimit"`
	// SweepToRaw is the sweep's evaluations/s over the raw limit's, both on one goroutine per CPU.
	SweepToRaw float64     `json:"sweepToRawRatio"`
	Drift      driftResult `json:"drift"`
	Soak       *soakResult `json:"soak,omitempty"`
	Memory     memory      `json:"memory"`
	Findings   footprint   `json:"findings"`
	// Evidence is what the ledger recorded (zero with -evidence=off).
	Evidence evidenceResult `json:"evidence"`
	// UnchangedSweep is every Control's periodic sweep in which nothing changed, against the
	// full sweep just before it; Rest is the manager's CPU at rest, projected from it (and
	// measured over real default intervals with -rest).
	UnchangedSweep unchangedSweep `json:"unchangedSweep"`
	Rest           restCPU        `json:"cpuAtRest"`
	// SweepLedgerOff is the full sweep with the ledger off, with -evidence=both.
	SweepLedgerOff *sweepResult `json:"sweepLedgerOff,omitempty"`
}

// evidenceResult is the ledger writer's counters at the end of the run, and the database's size.
type evidenceResult struct {
	Enabled  bool  `json:"enabled"`
	Appended int64 `json:"leavesAppended"`
	Dropped  int64 `json:"leavesDropped"`
	Leaves   int64 `json:"ledgerLeaves"`
	DBBytes  int64 `json:"databaseBytes"`
}

type machineInfo struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"goVersion"`
	OS        string `json:"os"`
	CPUModel  string `json:"cpuModel"`
}

type sweepResult struct {
	Controls    int     `json:"controls"`
	Evaluations int     `json:"evaluations"`
	WallSeconds float64 `json:"wallSeconds"`
	// EvalSeconds sums the controls' sweep durations; controls sweep concurrently, so it can
	// exceed the wall time and is not a throughput.
	EvalSeconds float64 `json:"sumOfSweepSeconds"`
	// PerSecond is evaluations per wall second, from the spec change to the last sweep's end:
	// what a user waits for, reconcile and status writes included.
	PerSecond     float64 `json:"evaluationsPerSecond"`
	SlowestSweep  float64 `json:"slowestControlSeconds"`
	SlowestOfWhat string  `json:"slowestControl"`
	// CPUSeconds is the CPU time each process of the run used during the sweep: the manager,
	// kube-apiserver, etcd and the benchmark itself, which share the machine's cores.
	CPUSeconds map[string]float64 `json:"cpuSeconds,omitempty"`
	// APIRequests counts the API server's requests during the sweep by verb and resource
	// (apiserver_request_total), the benchmark's own included.
	APIRequests map[string]int `json:"apiRequests,omitempty"`
}

type memory struct {
	BaselineHeapBytes    uint64  `json:"baselineHeapBytes"`
	BaselineRSSBytes     uint64  `json:"baselineRSSBytes"`
	LoadedHeapBytes      uint64  `json:"loadedHeapBytes"`
	SteadyHeapBytes      uint64  `json:"steadyHeapBytes"`
	PeakRSSBytes         uint64  `json:"peakRSSBytes"`
	SteadyRSSBytes       uint64  `json:"steadyRSSBytes"`
	CachedObjects        int     `json:"cachedObjects"`
	BytesPerCachedObject float64 `json:"bytesPerCachedObject"`
}

type footprint struct {
	Count        int    `json:"count"`
	TotalBytes   int    `json:"totalBytes"`
	LargestBytes int    `json:"largestBytes"`
	Largest      string `json:"largest"`
	Open         int    `json:"open"`
	// FailingPairs is the number of (control, namespace) pairs with failing subjects: the
	// Finding count must grow with it, not with the number of objects.
	FailingPairs int `json:"failingControlNamespacePairs"`
}

const operatorNamespace = "isms-system"

// evaluationTimeout is how long the benchmark waits for an evaluation of every Control (the
// first one, a sweep) or for the reconcilers to be idle before it gives up: 10 minutes, or
// longer for a run that would take longer at 2,000 evaluations a second (100k × 50 is 5M
// evaluations, and its first evaluation took over 10 minutes on a loaded 2-core machine).
var evaluationTimeout = 10 * time.Minute

// setEvaluationTimeout sizes evaluationTimeout for cfg's objects and controls.
func setEvaluationTimeout(cfg Config, controls int) {
	evaluationTimeout = max(10*time.Minute, time.Duration(cfg.Objects*controls/2000)*time.Second)
}

// Run starts a control plane, loads the estate, runs the manager and measures it.
func Run(ctx context.Context, cfg Config, progress func(string)) (res *Results, err error) {
	res = &Results{Config: cfg, Started: time.Now().UTC(), Machine: machine()}
	controls, err := benchControls(cfg)
	if err != nil {
		return res, err
	}
	res.Config.Controls = len(controls)
	setEvaluationTimeout(cfg, len(controls))

	plane, err := startEstate(ctx, cfg, nil, progress)
	if err != nil {
		return res, err
	}
	defer plane.stop()
	c, restCfg, kubeconfig := plane.client, plane.restCfg, plane.kubeconfig
	res.LoadSeconds = plane.loadSeconds

	progress("starting the manager")
	ledgerOn := cfg.Evidence != "off"
	mgr, err := startManager(ctx, cfg.ManagerBinary, kubeconfig, operatorNamespace, cfg.WorkDir, ledgerOn)
	if err != nil {
		return res, err
	}
	defer func() {
		if mgr != nil { // nil when its restart with the ledger off failed
			mgr.stop()
		}
	}()
	// A run that fails keeps what it measured (the caller writes it), with the manager's
	// memory at the failure: a long run at 100k should not lose its figures to a late error.
	defer func() {
		if err != nil && mgr != nil && res.Memory.PeakRSSBytes == 0 {
			res.Memory.SteadyRSSBytes, res.Memory.PeakRSSBytes, _ = mgr.rss()
		}
	}()
	time.Sleep(2 * time.Second) // let the namespace watch settle before the baseline
	if res.Memory.BaselineHeapBytes, err = mgr.heapAfterGC(); err != nil {
		return res, err
	}
	// What the binary and runtime cost before any object is cached.
	if res.Memory.BaselineRSSBytes, _, err = mgr.rss(); err != nil {
		return res, err
	}

	progress(fmt.Sprintf("creating %d controls and waiting for their first evaluation", len(controls)))
	var initialProfile chan error
	if cfg.Profile {
		initialProfile = make(chan error, 1)
		go func() { initialProfile <- mgr.cpuProfile(filepath.Join(cfg.WorkDir, "initial.cpu.pprof"), 10) }()
		time.Sleep(200 * time.Millisecond)
	}
	start := time.Now()
	for i := range controls {
		if err := c.Create(ctx, &controls[i]); err != nil {
			return res, fmt.Errorf("creating control %s: %w", controls[i].Name, err)
		}
	}
	if err := waitForSweeps(ctx, c, mgr, controls, nil, evaluationTimeout); err != nil {
		return res, err
	}
	res.InitialSeconds = time.Since(start).Seconds()
	if err := waitForIdle(ctx, mgr, evaluationTimeout); err != nil {
		return res, err
	}
	res.SettledSeconds = time.Since(start).Seconds()
	if initialProfile != nil {
		if err := <-initialProfile; err != nil {
			return res, fmt.Errorf("profiling the first evaluation: %w", err)
		}
		progress("CPU profile of the first 10 s of the first evaluation: " + filepath.Join(cfg.WorkDir, "initial.cpu.pprof"))
	}
	if res.Memory.LoadedHeapBytes, err = mgr.heapAfterGC(); err != nil {
		return res, err
	}
	if cfg.Profile {
		path := filepath.Join(cfg.WorkDir, "loaded.heap.pprof")
		if err := mgr.saveProfile("heap", path); err != nil {
			return res, fmt.Errorf("saving the heap profile: %w", err)
		}
		progress("heap profile after the first evaluation: " + path)
	}
	res.Memory.CachedObjects = cfg.Objects + (cfg.Namespaces+1)/2 // Deployments and NetworkPolicies
	res.Memory.BytesPerCachedObject = float64(int64(res.Memory.LoadedHeapBytes)-int64(res.Memory.BaselineHeapBytes)) / float64(res.Memory.CachedObjects)

	progress("re-sweeping every control")
	var profiled chan error
	if cfg.Profile {
		profiled = make(chan error, 1)
		// Long enough to cover most of the sweep: about half a second per control.
		seconds := max(5, min(30, len(controls)/2))
		go func() { profiled <- mgr.cpuProfile(filepath.Join(cfg.WorkDir, "sweep.cpu.pprof"), seconds) }()
		time.Sleep(200 * time.Millisecond)
	}
	if res.Sweep, err = fastestSweep(ctx, c, restCfg, mgr, controls, 11); err != nil {
		return res, err
	}
	if profiled != nil {
		if err := <-profiled; err != nil {
			return res, fmt.Errorf("profiling the sweep: %w", err)
		}
		progress("CPU profile of the sweep: " + filepath.Join(cfg.WorkDir, "sweep.cpu.pprof"))
	}

	progress("measuring the raw engine limit on the same objects and policies")
	gvks := map[schema.GroupKind]schema.GroupVersionKind{
		{Group: "apps", Kind: "Deployment"}:                 {Group: "apps", Version: "v1", Kind: "Deployment"},
		evaluation.NamespaceGroupKind:                       {Version: "v1", Kind: "Namespace"},
		{Group: "networking.k8s.io", Kind: "NetworkPolicy"}: {Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"},
	}
	if res.Raw, err = measureRawLimit(ctx, c, controls, gvks); err != nil {
		return res, err
	}
	if res.Raw.PerSecond > 0 {
		res.SweepToRaw = res.Sweep.PerSecond / res.Raw.PerSecond
	}

	progress(fmt.Sprintf("measuring drift latency over %d flips with %.0f updates/s of churn", cfg.Flips, cfg.ChurnPerSecond))
	if res.Drift, err = measureDrift(ctx, c, cfg, controls[0].Name, progress); err != nil {
		return res, err
	}

	if cfg.Soak > 0 {
		progress(fmt.Sprintf("soaking for %s: churn, a flip a second, the manager sampled %d times", cfg.Soak, soakSamples+1))
		soak, err := measureSoak(ctx, c, cfg, mgr, progress)
		if err != nil {
			return res, err
		}
		res.Soak = &soak
	}
	if res.Memory.SteadyHeapBytes, err = mgr.heapAfterGC(); err != nil {
		return res, err
	}
	if err := mgr.saveMemStats(filepath.Join(cfg.WorkDir, "memstats.txt")); err != nil {
		return res, err
	}
	if res.Memory.SteadyRSSBytes, res.Memory.PeakRSSBytes, err = mgr.rss(); err != nil {
		return res, err
	}
	if res.Findings, err = measureFindings(ctx, c, controls); err != nil {
		return res, err
	}
	if res.Evidence, err = measureEvidence(mgr, cfg.WorkDir, ledgerOn); err != nil {
		return res, err
	}
	// After the drift and soak phases, whose churn has stopped: nothing changes in it.
	if res.UnchangedSweep, res.Rest, err = measureRest(ctx, c, cfg, mgr, controls, res.Sweep.WallSeconds, progress); err != nil {
		return res, err
	}
	if cfg.Evidence == "both" {
		progress("re-sweeping every control with the evidence ledger off")
		mgr.stop()
		if mgr, err = startManager(ctx, cfg.ManagerBinary, kubeconfig, operatorNamespace, cfg.WorkDir, false); err != nil {
			return res, err
		}
		if res.SweepLedgerOff, err = sweepAfterStart(ctx, c, restCfg, mgr, controls); err != nil {
			return res, err
		}
	}
	return res, nil
}

// estate is a running control plane with the benchmark's objects loaded.
type estate struct {
	env         *envtest.Environment
	restCfg     *rest.Config
	client      client.WithWatch
	kubeconfig  string
	loadSeconds float64
}

func (e *estate) stop() { _ = e.env.Stop() }

// startEstate starts kube-apiserver and etcd with the project's CRDs (and those in extraCRDs),
// creates the operator's namespace and loads the synthetic estate.
func startEstate(ctx context.Context, cfg Config, extraCRDs []string, progress func(string)) (*estate, error) {
	progress("starting kube-apiserver and etcd")
	env := &envtest.Environment{
		CRDDirectoryPaths:     append([]string{filepath.Join(cfg.RepoRoot, "config", "crd", "bases")}, extraCRDs...),
		ErrorIfCRDPathMissing: true,
	}
	restCfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	e := &estate{env: env, restCfg: restCfg}
	if err := e.load(ctx, cfg, progress); err != nil {
		e.stop()
		return nil, err
	}
	return e, nil
}

func (e *estate) load(ctx context.Context, cfg Config, progress func(string)) error {
	e.restCfg.QPS, e.restCfg.Burst = 2000, 4000
	c, err := client.NewWithWatch(e.restCfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		return err
	}
	e.client = c
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}}); err != nil {
		return err
	}
	loadStart := time.Now()
	if err := load(ctx, c, cfg, progress); err != nil {
		return err
	}
	e.loadSeconds = time.Since(loadStart).Seconds()
	e.kubeconfig, err = writeKubeconfig(e.env, cfg.WorkDir)
	return err
}

// fastestSweep is, like the raw limit, the fastest of a few full sweeps while they take less
// than a few seconds; interval numbers the spec changes that start them (minutes).
func fastestSweep(ctx context.Context, c client.Client, restCfg *rest.Config, mgr *managerProcess, controls []ismsv1.Control, interval int) (sweepResult, error) {
	var best sweepResult
	total := 0.0
	for run := 0; run < 3 && (run == 0 || total < 5); run++ {
		sweep, err := measureSweep(ctx, c, restCfg, mgr, controls, fmt.Sprintf("%dm", interval+run))
		if err != nil {
			return best, err
		}
		total += sweep.WallSeconds
		if run == 0 || sweep.PerSecond > best.PerSecond {
			best = sweep
		}
		if err := waitForIdle(ctx, mgr, evaluationTimeout); err != nil {
			return best, err
		}
	}
	return best, nil
}

// sweepAfterStart waits for a newly started manager's first evaluation, then measures the
// full sweep as the main run does.
func sweepAfterStart(ctx context.Context, c client.Client, restCfg *rest.Config, mgr *managerProcess, controls []ismsv1.Control) (*sweepResult, error) {
	if err := waitForSweeps(ctx, c, mgr, controls, nil, evaluationTimeout); err != nil {
		return nil, err
	}
	if err := waitForIdle(ctx, mgr, evaluationTimeout); err != nil {
		return nil, err
	}
	sweep, err := fastestSweep(ctx, c, restCfg, mgr, controls, 21)
	return &sweep, err
}

// measureEvidence reads the ledger writer's counters and the database's size.
func measureEvidence(mgr *managerProcess, dir string, on bool) (evidenceResult, error) {
	res := evidenceResult{Enabled: on}
	if !on {
		return res, nil
	}
	families, err := mgr.metrics()
	if err != nil {
		return res, err
	}
	value := func(name string) int64 { return int64(unlabelled(families, name)) }
	res.Appended, res.Dropped = value("isms_evidence_leaves_appended_total"), value("isms_evidence_leaves_dropped_total")
	res.Leaves = value("isms_evidence_ledger_leaves")
	for _, name := range []string{"ledger.db", "ledger.db-wal"} {
		if fi, err := os.Stat(filepath.Join(dir, "evidence", name)); err == nil {
			res.DBBytes += fi.Size()
		}
	}
	return res, nil
}

// benchControls are the sample Controls, then (up to cfg.Controls) the library's Controls that
// evaluate what the benchmark loads (Deployments and Namespaces), then copies of the sample
// Controls that target Deployments if more are asked for. The library gives a realistic mix:
// one drifting Deployment fails a few different controls, not dozens of identical ones.
func benchControls(cfg Config) ([]ismsv1.Control, error) {
	files, err := filepath.Glob(filepath.Join(cfg.RepoRoot, "config", "samples", "isms_*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no sample controls under %s/config/samples", cfg.RepoRoot)
	}
	var samples []ismsv1.Control
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var c ismsv1.Control
		if err := yaml.UnmarshalStrict(data, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		samples = append(samples, c)
	}
	// The privileged-container control first: drift is measured on it.
	slices.SortFunc(samples, func(a, b ismsv1.Control) int { return strings.Compare(a.Name, b.Name) })
	controls := slices.Clone(samples)

	lib, err := policies.LoadFS(policies.FS)
	if err != nil {
		return nil, fmt.Errorf("loading the policy library: %w", err)
	}
	libControls, libPolicies, err := library.Controls(lib, library.DefaultOwner)
	if err != nil {
		return nil, err
	}
	for i, c := range libControls {
		if len(controls) >= cfg.Controls {
			break
		}
		if !targetsKind(c, "Deployment") && !targetsKind(c, "Namespace") {
			continue
		}
		if c.Spec.WhenKindsNotServed == ismsv1.KindsNotServedNotApplicable {
			continue // reads another tool's kinds, which the benchmark does not install: never swept
		}
		// Inline the Policy's Rego: the benchmark measures evaluation, which is the same for a
		// Control that references a Policy, and the raw limit compiles the Controls' Rego.
		if ref := c.Spec.Policy.Ref; ref != nil && ref.Name != libPolicies[i].Name {
			return nil, fmt.Errorf("library control %s references %s, not %s", c.Name, ref.Name, libPolicies[i].Name)
		}
		rego, err := params.Resolve(&c, &libPolicies[i])
		if err != nil {
			return nil, fmt.Errorf("library control %s: %w", c.Name, err)
		}
		c.Spec.Policy = ismsv1.PolicySource{Rego: rego}
		controls = append(controls, c)
	}

	var deploymentControls []ismsv1.Control
	for _, c := range samples {
		if targetsKind(c, "Deployment") {
			deploymentControls = append(deploymentControls, c)
		}
	}
	for i := 0; len(controls) < cfg.Controls && len(deploymentControls) > 0; i++ {
		c := *deploymentControls[i%len(deploymentControls)].DeepCopy()
		c.Name = fmt.Sprintf("%s-copy-%02d", c.Name, i)
		c.Spec.ID = fmt.Sprintf("%s-C%02d", c.Spec.ID, i)
		controls = append(controls, c)
	}
	return controls, nil
}

func targetsKind(c ismsv1.Control, kind string) bool {
	for _, gk := range evaluation.GroupKinds(c.Spec.Targets.Kinds) {
		if gk.Kind == kind {
			return true
		}
	}
	return false
}

// waitForSweeps waits until every control has a result and has been swept more often than in
// before (at least once when before is nil).
func waitForSweeps(ctx context.Context, c client.Client, mgr *managerProcess, controls []ismsv1.Control, before map[string]float64, timeout time.Duration) error {
	started := time.Now()
	deadline := started.Add(timeout)
	for time.Now().Before(deadline) {
		families, err := mgr.metrics()
		if err == nil {
			sweeps := perControl(families, "isms_control_sweeps_total")
			done := 0
			for _, ctl := range controls {
				if sweeps[ctl.Name] > before[ctl.Name] {
					done++
				}
			}
			if done == len(controls) {
				return nil
			}
		}
		// Scraping the manager's metrics costs CPU in both processes: poll at 2% of the time
		// waited so far, so that a long sweep is not slowed down by its own measurement.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(max(50*time.Millisecond, time.Since(started)/50)):
		}
	}
	return fmt.Errorf("controls were not all evaluated within %s", timeout)
}

// waitForIdle waits until the control reconcilers have nothing queued or running, three polls
// in a row: the Findings of what was evaluated are written.
func waitForIdle(ctx context.Context, mgr *managerProcess, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	idle := 0
	for time.Now().Before(deadline) && idle < 3 {
		families, err := mgr.metrics()
		if err != nil {
			return err
		}
		depth, ok1 := labelled(families, "workqueue_depth", "name", "control")
		active, ok2 := labelled(families, "controller_runtime_active_workers", "controller", "control")
		if !ok1 || !ok2 {
			return fmt.Errorf("the manager does not report workqueue_depth and controller_runtime_active_workers for the control controller")
		}
		if depth == 0 && active == 0 {
			idle++
		} else {
			idle = 0
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	if idle < 3 {
		return fmt.Errorf("the control reconcilers were still busy after %s", timeout)
	}
	return nil
}

// measureSweep changes every control's interval (a spec change, so each is swept again) and
// times the sweeps.
func measureSweep(ctx context.Context, c client.Client, restCfg *rest.Config, mgr *managerProcess, controls []ismsv1.Control, interval string) (sweepResult, error) {
	var res sweepResult
	families, err := mgr.metrics()
	if err != nil {
		return res, err
	}
	before := perControl(families, "isms_control_sweeps_total")
	cpuBefore := processCPU("manager", mgr.cmd.Process.Pid)
	requestsBefore, err := apiserverRequests(ctx, restCfg)
	if err != nil {
		return res, err
	}
	start := time.Now()
	for _, ctl := range controls {
		patch := []byte(`{"spec":{"interval":"` + interval + `"}}`)
		if err := c.Patch(ctx, &ismsv1.Control{ObjectMeta: metav1.ObjectMeta{Name: ctl.Name}}, client.RawPatch(types.MergePatchType, patch)); err != nil {
			return res, err
		}
	}
	if err := waitForSweeps(ctx, c, mgr, controls, before, evaluationTimeout); err != nil {
		return res, err
	}
	res.WallSeconds = time.Since(start).Seconds()
	res.CPUSeconds = map[string]float64{}
	for name, after := range processCPU("manager", mgr.cmd.Process.Pid) {
		res.CPUSeconds[name] = after - cpuBefore[name]
	}
	requestsAfter, err := apiserverRequests(ctx, restCfg)
	if err != nil {
		return res, err
	}
	res.APIRequests = map[string]int{}
	for what, n := range requestsAfter {
		if d := int(n - requestsBefore[what]); d > 0 {
			res.APIRequests[what] = d
		}
	}
	if families, err = mgr.metrics(); err != nil {
		return res, err
	}
	durations := perControl(families, "isms_control_last_sweep_duration_seconds")
	subjects := perControl(families, "isms_control_last_sweep_subjects")
	res.Controls = len(controls)
	for _, ctl := range controls {
		res.Evaluations += int(subjects[ctl.Name])
		res.EvalSeconds += durations[ctl.Name]
		if durations[ctl.Name] > res.SlowestSweep {
			res.SlowestSweep, res.SlowestOfWhat = durations[ctl.Name], ctl.Name
		}
	}
	res.PerSecond = float64(res.Evaluations) / res.WallSeconds
	return res, nil
}

func measureFindings(ctx context.Context, c client.Client, controls []ismsv1.Control) (footprint, error) {
	var fp footprint
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(ismsv1.GroupVersion.WithKind("FindingList"))
	if err := c.List(ctx, list); err != nil {
		return fp, err
	}
	for _, item := range list.Items {
		data, err := json.Marshal(item.Object)
		if err != nil {
			return fp, err
		}
		fp.Count++
		fp.TotalBytes += len(data)
		if len(data) > fp.LargestBytes {
			fp.LargestBytes, fp.Largest = len(data), item.GetNamespace()+"/"+item.GetName()
		}
		if state, _, _ := unstructured.NestedString(item.Object, "status", "state"); state == string(ismsv1.FindingOpen) {
			fp.Open++
		}
	}
	for _, ctl := range controls {
		var live ismsv1.Control
		if err := c.Get(ctx, types.NamespacedName{Name: ctl.Name}, &live); err != nil {
			return fp, err
		}
		fp.FailingPairs += int(live.Status.OpenFindings)
	}
	return fp, nil
}

func writeKubeconfig(env *envtest.Environment, dir string) (string, error) {
	user, err := env.AddUser(envtest.User{Name: "bench-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", err
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "kubeconfig")
	return path, os.WriteFile(path, data, 0o600)
}

func machine() machineInfo {
	m := machineInfo{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return m
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
