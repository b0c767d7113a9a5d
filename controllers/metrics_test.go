package controllers

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

func TestMetricsCountControlsAndOpenFindings(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.SetControl("a", ismsv1.ResultFail, ismsv1.SeverityHigh, 2)
	m.SetControl("b", ismsv1.ResultFail, ismsv1.SeverityHigh, 1)
	m.SetControl("c", ismsv1.ResultPass, ismsv1.SeverityLow, 0)
	m.SetControl("a", ismsv1.ResultFail, ismsv1.SeverityHigh, 3) // a later reconcile replaces, not adds
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
