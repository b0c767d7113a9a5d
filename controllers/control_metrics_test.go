package controllers

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// A Control has one isms_control_result series, whose result label follows the Control's;
// a deleted Control leaves no series with its name.
func TestControlResultSeriesFollowTheControl(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	a := metricsControl("a", ismsv1.ResultPending, ismsv1.SeverityHigh, 0)
	m.SetControl(a)
	a.Status.Result, a.Status.ErroredSubjects = ismsv1.ResultError, 2
	m.SetControl(a)
	m.SetControl(metricsControl("b", ismsv1.ResultPass, ismsv1.SeverityLow, 0))

	want := `
# HELP isms_control_result 1 for each Control, with its latest result (Pass, Fail, Error, Pending, NotApplicable) as the result label.
# TYPE isms_control_result gauge
isms_control_result{control="a",id="ID-a",owner="team-a",result="Error",severity="high"} 1
isms_control_result{control="b",id="ID-b",owner="team-b",result="Pass",severity="low"} 1
# HELP isms_control_errored_subjects Subjects whose evaluation by the Control failed with an error (status.erroredSubjects).
# TYPE isms_control_errored_subjects gauge
isms_control_errored_subjects{control="a"} 2
isms_control_errored_subjects{control="b"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "isms_control_result", "isms_control_errored_subjects"); err != nil {
		t.Error(err)
	}

	m.ObserveSweep("a", 3, 2, 0.5, time.Unix(1000, 0))
	m.SetFinding("a", "ns1", ismsv1.SeverityHigh, ismsv1.FindingOpen, true)
	m.ForgetControl("a")
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		for _, metric := range mf.GetMetric() {
			for _, l := range metric.GetLabel() {
				if l.GetName() == "control" && l.GetValue() == "a" {
					t.Errorf("%s still has a series of the deleted control a", mf.GetName())
				}
			}
		}
	}
}

// A sweep's series say how many subjects it matched and how many of them kept their verdict.
func TestSweepSeriesCountMatchedAndReusedSubjects(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.ObserveSweep("a", 5, 0, 0.5, time.Unix(1000, 0))
	m.ObserveSweep("a", 5, 4, 0.01, time.Unix(1600, 0))
	want := `
# HELP isms_control_last_sweep_reused_subjects Subjects whose verdict the latest full evaluation kept because nothing it depends on changed.
# TYPE isms_control_last_sweep_reused_subjects gauge
isms_control_last_sweep_reused_subjects{control="a"} 4
# HELP isms_control_last_sweep_subjects Subjects that matched the Control's targets in its latest full evaluation, evaluated or with their verdict kept (isms_control_last_sweep_reused_subjects).
# TYPE isms_control_last_sweep_subjects gauge
isms_control_last_sweep_subjects{control="a"} 5
# HELP isms_control_sweeps_total Full evaluations of a Control against all its subjects.
# TYPE isms_control_sweeps_total counter
isms_control_sweeps_total{control="a"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "isms_control_last_sweep_reused_subjects",
		"isms_control_last_sweep_subjects", "isms_control_sweeps_total"); err != nil {
		t.Error(err)
	}
}

// The last sweep time is the later of this process's sweeps and the status's lastSweep, so
// that it survives a restart and is not moved back by a status the cache has not caught up on.
func TestLastSweepTimeIsTheLatestKnown(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	c := metricsControl("a", ismsv1.ResultPass, ismsv1.SeverityHigh, 0)
	c.Status.LastSweep = &metav1.Time{Time: time.Unix(2000, 0)}
	m.SetControl(c)
	if got := testutil.ToFloat64(m.lastSweepTime.WithLabelValues("a")); got != 2000 {
		t.Errorf("from status: %v, want 2000", got)
	}
	m.ObserveSweep("a", 1, 0, 0.1, time.Unix(3000, 0))
	m.SetControl(c) // status still says 2000
	if got := testutil.ToFloat64(m.lastSweepTime.WithLabelValues("a")); got != 3000 {
		t.Errorf("after a sweep: %v, want 3000", got)
	}
	if got := testutil.ToFloat64(m.sweepInterval.WithLabelValues("a")); got != 600 {
		t.Errorf("sweep interval: %v, want the default 600", got)
	}
}

func TestComplianceRatiosByFrameworkAndGroup(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	iso := func(reqs ...string) ismsv1.FrameworkMapping {
		return ismsv1.FrameworkMapping{Framework: "iso27001-2022", Requirements: reqs}
	}
	custom := ismsv1.FrameworkMapping{Framework: "acme", Requirements: []string{"X-1"}}
	m.SetControl(metricsControl("a", ismsv1.ResultPass, ismsv1.SeverityHigh, 0, iso("A.8.9", "A.5.15"), custom))
	m.SetControl(metricsControl("b", ismsv1.ResultFail, ismsv1.SeverityHigh, 1, iso("A.8.2")))
	m.SetControl(metricsControl("c", ismsv1.ResultNotApplicable, ismsv1.SeverityHigh, 0, iso("A.8.20")))
	m.SetControl(metricsControl("d", ismsv1.ResultError, ismsv1.SeverityHigh, 0, iso("A.8.21")))
	m.SetControl(metricsControl("e", ismsv1.ResultPending, ismsv1.SeverityHigh, 0, iso("A.6.3"))) // left out
	m.SetControl(metricsControl("f", ismsv1.ResultFail, ismsv1.SeverityHigh, 0, custom))

	want := `
# HELP isms_framework_compliance_ratio Share of the Controls mapped to the framework that are Compliant, among those Compliant or NonCompliant (Pending ones are left out).
# TYPE isms_framework_compliance_ratio gauge
isms_framework_compliance_ratio{framework="acme"} 0.5
isms_framework_compliance_ratio{framework="iso27001-2022"} 0.5
# HELP isms_framework_group_compliance_ratio As isms_framework_compliance_ratio, per group of a framework the operator has a catalog of (ISO 27001 Annex A theme 5-8, NIST family, SOC 2 series, CIS section).
# TYPE isms_framework_group_compliance_ratio gauge
isms_framework_group_compliance_ratio{framework="iso27001-2022",group="5"} 1
isms_framework_group_compliance_ratio{framework="iso27001-2022",group="8"} 0.5
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "isms_framework_compliance_ratio", "isms_framework_group_compliance_ratio"); err != nil {
		t.Error(err)
	}
	m.ForgetControl("a")
	m.ForgetControl("f")
	want = `
# HELP isms_framework_group_compliance_ratio As isms_framework_compliance_ratio, per group of a framework the operator has a catalog of (ISO 27001 Annex A theme 5-8, NIST family, SOC 2 series, CIS section).
# TYPE isms_framework_group_compliance_ratio gauge
isms_framework_group_compliance_ratio{framework="iso27001-2022",group="8"} 0.3333333333333333
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "isms_framework_group_compliance_ratio"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.frameworkRatio); n != 1 {
		t.Errorf("framework ratio series after the acme controls went = %d, want 1", n)
	}
}

func TestOverdueFindingsPerControl(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	m.SetControl(metricsControl("a", ismsv1.ResultFail, ismsv1.SeverityHigh, 3))
	m.SetFinding("a", "ns1", ismsv1.SeverityHigh, ismsv1.FindingOpen, true)
	m.SetFinding("a", "ns2", ismsv1.SeverityHigh, ismsv1.FindingOpen, true)
	m.SetFinding("a", "ns3", ismsv1.SeverityHigh, ismsv1.FindingOpen, false)
	m.SetFinding("a", "ns2", ismsv1.SeverityHigh, ismsv1.FindingResolved, false)
	if got := testutil.ToFloat64(m.controlOverdue.WithLabelValues("a")); got != 1 {
		t.Errorf("overdue Findings of a = %v, want 1", got)
	}
}

type refusingValidator struct{}

func (refusingValidator) ValidateCreate(context.Context, *ismsv1.Policy) (admission.Warnings, error) {
	return nil, errors.New("no")
}
func (refusingValidator) ValidateUpdate(context.Context, *ismsv1.Policy, *ismsv1.Policy) (admission.Warnings, error) {
	return nil, nil
}
func (refusingValidator) ValidateDelete(context.Context, *ismsv1.Policy) (admission.Warnings, error) {
	return nil, nil
}

func TestWebhookRejectionsAreCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	v := countRejections[*ismsv1.Policy](refusingValidator{}, "Policy", m)
	for range 2 {
		if _, err := v.ValidateCreate(context.Background(), &ismsv1.Policy{}); err == nil {
			t.Fatal("the wrapped validator's refusal was lost")
		}
	}
	_, _ = v.ValidateUpdate(context.Background(), &ismsv1.Policy{}, &ismsv1.Policy{})
	want := `
# HELP isms_webhook_rejections_total Admission requests the operator's validating webhooks refused, by kind and operation.
# TYPE isms_webhook_rejections_total counter
isms_webhook_rejections_total{kind="Policy",operation="CREATE"} 2
isms_webhook_rejections_total{kind="Policy",operation="DELETE"} 0
isms_webhook_rejections_total{kind="Policy",operation="UPDATE"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "isms_webhook_rejections_total"); err != nil {
		t.Error(err)
	}
}
