package controllers

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/frameworks"
)

// Metrics are served on the manager's metrics endpoint. Their cardinality is bounded by the
// number of Controls, never by the subjects they evaluate: the series per Control are
// listed in docs/operations.md, "Metrics".
type Metrics struct {
	controls           *prometheus.GaugeVec
	openFindings       *prometheus.GaugeVec
	evaluationDuration *prometheus.HistogramVec
	lastSweepDuration  *prometheus.GaugeVec
	sweeps             *prometheus.CounterVec
	sweptSubjects      *prometheus.GaugeVec
	reusedSubjects     *prometheus.GaugeVec
	findings           *prometheus.GaugeVec
	overdueFindings    *prometheus.GaugeVec
	timeToRemediate    *prometheus.HistogramVec
	// Per Control (control_metrics.go): its result and what its alerts need.
	controlResult     *prometheus.GaugeVec
	erroredSubjects   *prometheus.GaugeVec
	controlOverdue    *prometheus.GaugeVec
	lastSweepTime     *prometheus.GaugeVec
	sweepInterval     *prometheus.GaugeVec
	frameworkRatio    *prometheus.GaugeVec
	groupRatio        *prometheus.GaugeVec
	webhookRejections *prometheus.CounterVec

	mu    sync.Mutex
	state map[string]controlMetrics // by Control name
	// ratios are the framework and group compliance series published, to delete those no
	// Control maps to any more.
	ratios publishedRatios
	// overdueByControl counts each Control's overdue open Findings, and lastSweeps holds when
	// each was last swept (by this process, or as its status says).
	overdueByControl map[string]int
	lastSweeps       map[string]time.Time
	// findingState is the last known state of each open Finding, by Control and namespace,
	// and findingCounts their totals, adjusted one Finding at a time.
	findingState  map[string]map[string]findingMetrics
	findingCounts map[findingMetrics]int
}

// findingMetrics is what the Finding gauges count of one open Finding.
type findingMetrics struct {
	severity ismsv1.Severity
	state    ismsv1.FindingState
	overdue  bool
}

type controlMetrics struct {
	result       ismsv1.ControlResult
	severity     ismsv1.Severity
	openFindings int
	// labels are those of the Control's isms_control_result series, result included.
	labels     [5]string
	compliance ismsv1.ComplianceState
	frameworks []string
	groups     []frameworks.GroupRef
}

var (
	allResults    = []ismsv1.ControlResult{ismsv1.ResultPass, ismsv1.ResultFail, ismsv1.ResultError, ismsv1.ResultPending, ismsv1.ResultNotApplicable}
	allSeverities = []ismsv1.Severity{ismsv1.SeverityCritical, ismsv1.SeverityHigh, ismsv1.SeverityMedium, ismsv1.SeverityLow, ismsv1.SeverityInfo}
)

// NewMetrics creates the operator's metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		controls: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "isms_controls",
			Help: "Number of Controls by their latest result.",
		}, []string{"result"}),
		openFindings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "isms_findings_open",
			Help: "Number of open Findings by severity.",
		}, []string{"severity"}),
		evaluationDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "isms_evaluation_duration_seconds",
			Help:    "Time to evaluate: one changed object against the controls that target it (trigger=event), or one control against all its subjects (trigger=sweep).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10), // 100µs .. 26s
		}, []string{"trigger"}),
		lastSweepDuration: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "isms_control_last_sweep_duration_seconds",
			Help: "Time the latest full evaluation of a Control against all its subjects took.",
		}, []string{"control"}),
		sweeps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "isms_control_sweeps_total",
			Help: "Full evaluations of a Control against all its subjects.",
		}, []string{"control"}),
		sweptSubjects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "isms_control_last_sweep_subjects",
			Help: "Subjects that matched the Control's targets in its latest full evaluation, evaluated or with their verdict kept (isms_control_last_sweep_reused_subjects).",
		}, []string{"control"}),
		reusedSubjects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "isms_control_last_sweep_reused_subjects",
			Help: "Subjects whose verdict the latest full evaluation kept because nothing it depends on changed.",
		}, []string{"control"}),
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "isms_findings",
			Help: "Number of open Findings by severity and state (Open or Acknowledged).",
		}, []string{"severity", "state"}),
		overdueFindings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "isms_findings_overdue",
			Help: "Number of open Findings past their due date, by severity.",
		}, []string{"severity"}),
		timeToRemediate: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "isms_finding_time_to_remediate_seconds",
			Help: "Time from a Finding opening to its subjects passing again, by severity; the mean is _sum / _count.",
			// 1 minute .. about 190 days.
			Buckets: prometheus.ExponentialBuckets(60, 4, 11),
		}, []string{"severity"}),
		state:            map[string]controlMetrics{},
		findingState:     map[string]map[string]findingMetrics{},
		findingCounts:    map[findingMetrics]int{},
		overdueByControl: map[string]int{},
		lastSweeps:       map[string]time.Time{},
		ratios:           publishedRatios{frameworks: map[string]bool{}, groups: map[frameworks.GroupRef]bool{}},
	}
	m.newPerControl()
	// Remediations are rare: the series exist from the start, so that the dashboard's mean
	// (an increase over _sum / _count) is defined before the first one.
	for _, s := range allSeverities {
		m.timeToRemediate.WithLabelValues(string(s))
	}
	reg.MustRegister(m.controls, m.openFindings, m.evaluationDuration, m.lastSweepDuration, m.sweeps, m.sweptSubjects, m.reusedSubjects,
		m.findings, m.overdueFindings, m.timeToRemediate, m.controlResult, m.erroredSubjects, m.controlOverdue,
		m.lastSweepTime, m.sweepInterval, m.frameworkRatio, m.groupRatio, m.webhookRejections)
	m.publish()
	return m
}

// defaultRegistry is controller-runtime's, served on the manager's metrics endpoint.
var defaultRegistry prometheus.Registerer = metrics.Registry

// SetControl records a control's result, open Findings and the series of it alerts read, from
// its status as the reconcile leaves it.
func (m *Metrics) SetControl(control *ismsv1.Control) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, had := m.state[control.Name]
	s := newControlMetrics(control)
	m.state[control.Name] = s
	m.publishControl(control, s, old, had)
	m.publish()
}

// ForgetControl drops a deleted control.
func (m *Metrics) ForgetControl(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, had := m.state[name]; had {
		m.controlResult.DeleteLabelValues(old.labels[:]...)
	}
	delete(m.state, name)
	for _, f := range m.findingState[name] {
		m.findingCounts[f]--
	}
	delete(m.findingState, name)
	delete(m.overdueByControl, name)
	delete(m.lastSweeps, name)
	m.publish()
	for _, vec := range []*prometheus.GaugeVec{m.lastSweepDuration, m.sweptSubjects, m.reusedSubjects, m.erroredSubjects, m.controlOverdue, m.lastSweepTime, m.sweepInterval} {
		vec.DeleteLabelValues(name)
	}
	m.sweeps.DeleteLabelValues(name)
}

// ObserveSweep records a full evaluation of a control, which ended at the time given: the
// subjects it matched, and how many of them kept their verdict instead of being evaluated.
func (m *Metrics) ObserveSweep(control string, subjects, reused int, seconds float64, ended time.Time) {
	m.evaluationDuration.WithLabelValues("sweep").Observe(seconds)
	m.lastSweepDuration.WithLabelValues(control).Set(seconds)
	m.sweptSubjects.WithLabelValues(control).Set(float64(subjects))
	m.reusedSubjects.WithLabelValues(control).Set(float64(reused))
	m.sweeps.WithLabelValues(control).Inc()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweptAt(control, ended)
}

// publish recomputes the gauges from the per-control state; callers hold m.mu (or own m).
func (m *Metrics) publish() {
	byResult := map[ismsv1.ControlResult]int{}
	bySeverity := map[ismsv1.Severity]int{}
	for _, s := range m.state {
		byResult[s.result]++
		bySeverity[s.severity] += s.openFindings
	}
	for _, r := range allResults {
		m.controls.WithLabelValues(string(r)).Set(float64(byResult[r]))
	}
	for _, s := range allSeverities {
		m.openFindings.WithLabelValues(string(s)).Set(float64(bySeverity[s]))
	}
	m.publishRatios()
	m.publishFindings()
}

// publishFindings sets the Finding gauges from findingCounts; callers hold m.mu (or own m).
func (m *Metrics) publishFindings() {
	overdue := map[ismsv1.Severity]int{}
	for f, n := range m.findingCounts {
		if f.overdue {
			overdue[f.severity] += n
		}
	}
	for _, s := range allSeverities {
		for _, st := range []ismsv1.FindingState{ismsv1.FindingOpen, ismsv1.FindingAcknowledged} {
			n := m.findingCounts[findingMetrics{s, st, false}] + m.findingCounts[findingMetrics{s, st, true}]
			m.findings.WithLabelValues(string(s), string(st)).Set(float64(n))
		}
		m.overdueFindings.WithLabelValues(string(s)).Set(float64(overdue[s]))
	}
}

// SetFinding records the state of one Finding; only open (Open or Acknowledged) ones count.
func (m *Metrics) SetFinding(control, ns string, severity ismsv1.Severity, state ismsv1.FindingState, overdue bool) {
	if !state.IsOpen() {
		m.ForgetFinding(control, ns)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	byNS := m.findingState[control]
	if byNS == nil {
		byNS = map[string]findingMetrics{}
		m.findingState[control] = byNS
	}
	f := findingMetrics{severity: severity, state: state, overdue: overdue}
	old, had := byNS[ns]
	if had && old == f {
		return
	}
	if had {
		m.findingCounts[old]--
		m.countOverdue(control, old, -1)
	}
	byNS[ns] = f
	m.findingCounts[f]++
	m.countOverdue(control, f, 1)
	m.publishFindings()
}

// ForgetFinding drops a Finding that resolved or was deleted.
func (m *Metrics) ForgetFinding(control, ns string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, had := m.findingState[control][ns]
	if !had {
		return
	}
	delete(m.findingState[control], ns)
	m.findingCounts[old]--
	m.countOverdue(control, old, -1)
	m.publishFindings()
}

// ObserveRemediation records how long a Finding took to resolve.
func (m *Metrics) ObserveRemediation(severity ismsv1.Severity, seconds float64) {
	m.timeToRemediate.WithLabelValues(string(severity)).Observe(seconds)
}

// ObserveEvaluation records how long an evaluation took.
func (m *Metrics) ObserveEvaluation(trigger string, seconds float64) {
	m.evaluationDuration.WithLabelValues(trigger).Observe(seconds)
}
