package controllers

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// Metrics are served on the manager's metrics endpoint.
type Metrics struct {
	controls           *prometheus.GaugeVec
	openFindings       *prometheus.GaugeVec
	evaluationDuration *prometheus.HistogramVec
	lastSweepDuration  *prometheus.GaugeVec
	sweeps             *prometheus.CounterVec
	sweptSubjects      *prometheus.GaugeVec

	mu    sync.Mutex
	state map[string]controlMetrics // by Control name
}

type controlMetrics struct {
	result       ismsv1.ControlResult
	severity     ismsv1.Severity
	openFindings int
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
			Help: "Subjects that matched the Control's targets and were evaluated in its latest full evaluation.",
		}, []string{"control"}),
		state: map[string]controlMetrics{},
	}
	reg.MustRegister(m.controls, m.openFindings, m.evaluationDuration, m.lastSweepDuration, m.sweeps, m.sweptSubjects)
	m.publish()
	return m
}

// defaultRegistry is controller-runtime's, served on the manager's metrics endpoint.
var defaultRegistry prometheus.Registerer = metrics.Registry

// SetControl records a control's result and open Findings.
func (m *Metrics) SetControl(name string, result ismsv1.ControlResult, severity ismsv1.Severity, openFindings int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state[name] = controlMetrics{result: result, severity: severity, openFindings: openFindings}
	m.publish()
}

// ForgetControl drops a deleted control.
func (m *Metrics) ForgetControl(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.state, name)
	m.publish()
	m.lastSweepDuration.DeleteLabelValues(name)
	m.sweeps.DeleteLabelValues(name)
	m.sweptSubjects.DeleteLabelValues(name)
}

// ObserveSweep records a full evaluation of a control.
func (m *Metrics) ObserveSweep(control string, subjects int, seconds float64) {
	m.evaluationDuration.WithLabelValues("sweep").Observe(seconds)
	m.lastSweepDuration.WithLabelValues(control).Set(seconds)
	m.sweptSubjects.WithLabelValues(control).Set(float64(subjects))
	m.sweeps.WithLabelValues(control).Inc()
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
}

// ObserveEvaluation records how long an evaluation took.
func (m *Metrics) ObserveEvaluation(trigger string, seconds float64) {
	m.evaluationDuration.WithLabelValues(trigger).Observe(seconds)
}
