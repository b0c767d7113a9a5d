package controllers

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/frameworks"
)

// controlResultLabels are the labels of isms_control_result: one series per Control, valued 1,
// whose result label is its latest result. The labels besides control are what an alert
// routes and groups by; the series of the previous result is deleted when the result moves.
var controlResultLabels = []string{"control", "id", "severity", "owner", "result"}

// newPerControl creates the series kept per Control, and the compliance ratios computed over
// the Controls of a framework.
func (m *Metrics) newPerControl() {
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	}
	m.controlResult = gauge("isms_control_result",
		"1 for each Control, with its latest result (Pass, Fail, Error, Pending, NotApplicable) as the result label.", controlResultLabels...)
	m.erroredSubjects = gauge("isms_control_errored_subjects",
		"Subjects whose evaluation by the Control failed with an error (status.erroredSubjects).", "control")
	m.controlOverdue = gauge("isms_control_findings_overdue",
		"Open Findings of the Control past their due date.", "control")
	m.lastSweepTime = gauge("isms_control_last_sweep_timestamp_seconds",
		"Unix time the latest full evaluation of the Control ended (this process's, or status.lastSweep after a restart).", "control")
	m.sweepInterval = gauge("isms_control_sweep_interval_seconds",
		"The Control's sweep interval (spec.interval, or the default); evaluated Controls only.", "control")
	m.frameworkRatio = gauge("isms_framework_compliance_ratio",
		"Share of the Controls mapped to the framework that are Compliant, among those Compliant or NonCompliant (Pending ones are left out).", "framework")
	m.groupRatio = gauge("isms_framework_group_compliance_ratio",
		"As isms_framework_compliance_ratio, per group of a framework the operator has a catalog of (ISO 27001 Annex A theme 5-8, NIST family, SOC 2 series, CIS section).", "framework", "group")
	m.webhookRejections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "isms_webhook_rejections_total",
		Help: "Admission requests the operator's validating webhooks refused, by kind and operation.",
	}, []string{"kind", "operation"})
}

func newControlMetrics(control *ismsv1.Control) controlMetrics {
	st := control.Status
	s := controlMetrics{
		result:       st.Result,
		severity:     control.Spec.Severity,
		openFindings: int(st.OpenFindings),
		labels:       [5]string{control.Name, control.Spec.ID, string(control.Spec.Severity), control.Spec.Owner, string(st.Result)},
		compliance:   evaluation.ComplianceOf(st.Result),
		groups:       frameworks.Default().GroupsOf(control.Spec.Frameworks),
	}
	for _, f := range control.Spec.Frameworks {
		s.frameworks = append(s.frameworks, f.Framework)
	}
	return s
}

// publishControl sets the Control's own series; callers hold m.mu. The series of its previous
// result goes first, so that a scrape never sees two results of one Control.
func (m *Metrics) publishControl(control *ismsv1.Control, s, old controlMetrics, had bool) {
	name := control.Name
	if had && old.labels != s.labels {
		m.controlResult.DeleteLabelValues(old.labels[:]...)
	}
	m.controlResult.WithLabelValues(s.labels[:]...).Set(1)
	m.erroredSubjects.WithLabelValues(name).Set(float64(control.Status.ErroredSubjects))
	m.controlOverdue.WithLabelValues(name).Set(float64(m.overdueByControl[name]))
	if control.IsAttested() {
		m.sweepInterval.DeleteLabelValues(name)
	} else {
		m.sweepInterval.WithLabelValues(name).Set(sweepInterval(control).Seconds())
	}
	if control.Status.LastSweep != nil {
		m.sweptAt(name, control.Status.LastSweep.Time)
	}
}

// sweptAt records that a Control was swept at t, unless it is known to have been swept since;
// callers hold m.mu.
func (m *Metrics) sweptAt(control string, t time.Time) {
	if !t.After(m.lastSweeps[control]) {
		return
	}
	m.lastSweeps[control] = t
	m.lastSweepTime.WithLabelValues(control).Set(float64(t.UnixNano()) / 1e9)
}

// countOverdue adds n to the Control's overdue Findings when f is overdue; callers hold m.mu.
func (m *Metrics) countOverdue(control string, f findingMetrics, n int) {
	if !f.overdue {
		return
	}
	m.overdueByControl[control] += n
	if _, known := m.state[control]; known {
		m.controlOverdue.WithLabelValues(control).Set(float64(m.overdueByControl[control]))
	}
}

// publishedRatios are the label values of the compliance ratio series published.
type publishedRatios struct {
	frameworks map[string]bool
	groups     map[frameworks.GroupRef]bool
}

// complianceTally counts a framework's (or group's) decided Controls.
type complianceTally struct{ compliant, decided int }

func (t complianceTally) ratio() float64 { return float64(t.compliant) / float64(t.decided) }

// publishRatios sets the compliance ratio of every framework and group a decided Control maps
// to, and deletes the series of those none does any more; callers hold m.mu.
func (m *Metrics) publishRatios() {
	byFramework := map[string]complianceTally{}
	byGroup := map[frameworks.GroupRef]complianceTally{}
	for _, s := range m.state {
		if s.compliance != ismsv1.Compliant && s.compliance != ismsv1.NonCompliant {
			continue
		}
		add := func(t complianceTally) complianceTally {
			t.decided++
			if s.compliance == ismsv1.Compliant {
				t.compliant++
			}
			return t
		}
		for _, f := range s.frameworks {
			byFramework[f] = add(byFramework[f])
		}
		for _, g := range s.groups {
			byGroup[g] = add(byGroup[g])
		}
	}
	for f := range m.ratios.frameworks {
		if _, ok := byFramework[f]; !ok {
			m.frameworkRatio.DeleteLabelValues(f)
			delete(m.ratios.frameworks, f)
		}
	}
	for g := range m.ratios.groups {
		if _, ok := byGroup[g]; !ok {
			m.groupRatio.DeleteLabelValues(g.Framework, g.Group)
			delete(m.ratios.groups, g)
		}
	}
	for f, t := range byFramework {
		m.frameworkRatio.WithLabelValues(f).Set(t.ratio())
		m.ratios.frameworks[f] = true
	}
	for g, t := range byGroup {
		m.groupRatio.WithLabelValues(g.Framework, g.Group).Set(t.ratio())
		m.ratios.groups[g] = true
	}
}
