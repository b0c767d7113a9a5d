package controllers

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/risk"
)

// RiskMetrics count the risk register by residual level, on the manager's metrics endpoint.
type RiskMetrics struct {
	risks *prometheus.GaugeVec

	mu    sync.Mutex
	state map[string]ismsv1.RiskLevel // by Risk name
}

// NewRiskMetrics creates the risk metrics and registers them with reg.
func NewRiskMetrics(reg prometheus.Registerer) *RiskMetrics {
	m := &RiskMetrics{
		risks: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "isms_risks",
			Help: "Number of Risks by the level of their residual risk (Low, Medium, High, Critical).",
		}, []string{"level"}),
		state: map[string]ismsv1.RiskLevel{},
	}
	reg.MustRegister(m.risks)
	m.publish()
	return m
}

// SetRisk records a risk's residual level.
func (m *RiskMetrics) SetRisk(name string, level ismsv1.RiskLevel) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state[name] = level
	m.publish()
}

// ForgetRisk drops a deleted risk.
func (m *RiskMetrics) ForgetRisk(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.state, name)
	m.publish()
}

// publish recomputes the gauge from the per-risk state; callers hold m.mu (or own m).
func (m *RiskMetrics) publish() {
	byLevel := map[ismsv1.RiskLevel]int{}
	for _, level := range m.state {
		byLevel[level]++
	}
	for _, level := range risk.Levels {
		m.risks.WithLabelValues(string(level)).Set(float64(byLevel[level]))
	}
}
