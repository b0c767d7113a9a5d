package controllers

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/runtime"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

func TestMetricsCountControlsAndOpenFindings(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.SetControl(metricsControl("a", ismsv1.ResultFail, ismsv1.SeverityHigh, 2))
	m.SetControl(metricsControl("b", ismsv1.ResultFail, ismsv1.SeverityHigh, 1))
	m.SetControl(metricsControl("c", ismsv1.ResultPass, ismsv1.SeverityLow, 0))
	m.SetControl(metricsControl("a", ismsv1.ResultFail, ismsv1.SeverityHigh, 3)) // a later reconcile replaces, not adds
	m.ForgetControl("b")
	m.ObserveEvaluation("sweep", 0.01)

	want := `
# HELP isms_controls Number of Controls by their latest result.
# TYPE isms_controls gauge
isms_controls{result="Error"} 0
isms_controls{result="Fail"} 1
isms_controls{result="NotApplicable"} 0
isms_controls{result="Pass"} 1
isms_controls{result="Pending"} 0
# HELP isms_findings_open Number of open Findings by severity.
# TYPE isms_findings_open gauge
isms_findings_open{severity="critical"} 0
isms_findings_open{severity="high"} 3
isms_findings_open{severity="info"} 0
isms_findings_open{severity="low"} 0
isms_findings_open{severity="medium"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "isms_controls", "isms_findings_open"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.evaluationDuration); n != 1 {
		t.Errorf("evaluation duration series = %d, want 1", n)
	}
}

// metricsControl is a Control as a reconcile leaves it, with the result and open Findings
// given.
func metricsControl(name string, result ismsv1.ControlResult, severity ismsv1.Severity, openFindings int32, mappings ...ismsv1.FrameworkMapping) *ismsv1.Control {
	c := &ismsv1.Control{}
	c.Name = name
	c.Spec = ismsv1.ControlSpec{ID: "ID-" + name, Owner: "team-" + name, Severity: severity, Frameworks: mappings}
	c.Status.Result, c.Status.OpenFindings = result, openFindings
	return c
}

func TestMetricsCountFindingsByStateAndOverdue(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.SetFinding("a", "ns1", ismsv1.SeverityHigh, ismsv1.FindingOpen, false)
	m.SetFinding("a", "ns2", ismsv1.SeverityHigh, ismsv1.FindingOpen, true)
	m.SetFinding("a", "ns2", ismsv1.SeverityHigh, ismsv1.FindingAcknowledged, true) // replaces
	m.SetFinding("b", "ns1", ismsv1.SeverityLow, ismsv1.FindingOpen, false)
	m.SetFinding("b", "ns2", ismsv1.SeverityLow, ismsv1.FindingOpen, false)
	m.SetFinding("b", "ns2", ismsv1.SeverityLow, ismsv1.FindingResolved, false) // no longer counted
	m.SetFinding("c", "ns1", ismsv1.SeverityCritical, ismsv1.FindingOpen, true)
	m.ForgetControl("c")
	m.ObserveRemediation(ismsv1.SeverityHigh, 3600)
	m.ObserveRemediation(ismsv1.SeverityHigh, 7200)

	want := `
# HELP isms_findings Number of open Findings by severity and state (Open or Acknowledged).
# TYPE isms_findings gauge
isms_findings{severity="critical",state="Acknowledged"} 0
isms_findings{severity="critical",state="Open"} 0
isms_findings{severity="high",state="Acknowledged"} 1
isms_findings{severity="high",state="Open"} 1
isms_findings{severity="info",state="Acknowledged"} 0
isms_findings{severity="info",state="Open"} 0
isms_findings{severity="low",state="Acknowledged"} 0
isms_findings{severity="low",state="Open"} 1
isms_findings{severity="medium",state="Acknowledged"} 0
isms_findings{severity="medium",state="Open"} 0
# HELP isms_findings_overdue Number of open Findings past their due date, by severity.
# TYPE isms_findings_overdue gauge
isms_findings_overdue{severity="critical"} 0
isms_findings_overdue{severity="high"} 1
isms_findings_overdue{severity="info"} 0
isms_findings_overdue{severity="low"} 0
isms_findings_overdue{severity="medium"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "isms_findings", "isms_findings_overdue"); err != nil {
		t.Error(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != "isms_finding_time_to_remediate_seconds" {
			continue
		}
		var h *dto.Histogram
		for _, metric := range mf.GetMetric() {
			if metric.GetLabel()[0].GetValue() == string(ismsv1.SeverityHigh) {
				h = metric.GetHistogram()
			}
		}
		if n := len(mf.GetMetric()); n != len(allSeverities) {
			t.Errorf("time to remediate series = %d, want one per severity from the start", n)
		}
		if mean := h.GetSampleSum() / float64(h.GetSampleCount()); mean != 5400 {
			t.Errorf("mean time to remediate = %v, want 5400", mean)
		}
		return
	}
	t.Error("isms_finding_time_to_remediate_seconds not found")
}

// A note of any length reaches the Event recorder cut to maxNoteLen, and % signs in it are
// not read as a format.
func TestBoundedRecorderCutsNotes(t *testing.T) {
	rec := &noteRecorder{}
	boundedRecorder{rec}.Eventf(nil, nil, "Warning", "R", "A", "%s", strings.Repeat("x%d", 1000))
	if len(rec.note) > maxNoteLen || !strings.HasPrefix(rec.note, "x%dx%d") || !strings.HasSuffix(rec.note, "...") {
		t.Errorf("note of %d bytes: %.40q", len(rec.note), rec.note)
	}
}

type noteRecorder struct{ note string }

func (r *noteRecorder) Eventf(_, _ runtime.Object, _, _, _, note string, args ...any) {
	r.note = fmt.Sprintf(note, args...)
}
