package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

func risk(name string, score, appetite int32, within metav1.ConditionStatus) ismsv1.Risk {
	r := ismsv1.Risk{ObjectMeta: metav1.ObjectMeta{Name: name}}
	r.Spec.Title, r.Spec.Owner, r.Spec.Appetite = "Risk "+name, "ciso", appetite
	r.Status.ResidualScore, r.Status.ResidualLevel = score, ismsv1.RiskHigh
	if within != "" {
		r.Status.Conditions = []metav1.Condition{{Type: ismsv1.ConditionWithinAppetite, Status: within, Reason: "AboveAppetite"}}
	}
	return r
}

func control(name string, sev ismsv1.Severity, result ismsv1.ControlResult, failing int32) ismsv1.Control {
	c := ismsv1.Control{ObjectMeta: metav1.ObjectMeta{Name: name}}
	c.Spec.ID, c.Spec.Severity = strings.ToUpper(name), sev
	c.Status.Result, c.Status.FailingSubjects = result, failing
	return c
}

// TestStatusOrdersWorstFirst checks the ordering and the out-of-appetite selection that the
// envtest test (test/cli) cannot set up without a risk controller's scores.
func TestStatusOrdersWorstFirst(t *testing.T) {
	risks := risksStatus([]ismsv1.Risk{
		risk("slightly-over", 8, 6, metav1.ConditionFalse),
		risk("within", 4, 6, metav1.ConditionTrue),
		risk("far-over", 20, 6, metav1.ConditionFalse),
		risk("unscored", 0, 6, ""),
	})
	if risks.Total != 4 || risks.OutOfAppetite != 2 || risks.Items[0].Name != "far-over" || risks.Items[1].Name != "slightly-over" {
		t.Errorf("risks: %+v", risks)
	}

	controls := controlsStatus([]ismsv1.Control{
		control("pass", ismsv1.SeverityCritical, ismsv1.ResultPass, 0),
		control("error-critical", ismsv1.SeverityCritical, ismsv1.ResultError, 0),
		control("fail-low", ismsv1.SeverityLow, ismsv1.ResultFail, 9),
		control("fail-high-few", ismsv1.SeverityHigh, ismsv1.ResultFail, 1),
		control("fail-high-many", ismsv1.SeverityHigh, ismsv1.ResultFail, 5),
		control("new", ismsv1.SeverityHigh, "", 0),
	})
	var order []string
	for _, c := range controls.Attention {
		order = append(order, c.Name)
	}
	if got := strings.Join(order, ","); got != "fail-high-many,fail-high-few,fail-low,error-critical,new" {
		t.Errorf("attention order %s", got)
	}
	if controls.ByResult[ismsv1.ResultPending] != 1 || controls.ByResult[ismsv1.ResultPass] != 1 {
		t.Errorf("by result %v", controls.ByResult)
	}

	var out bytes.Buffer
	printStatus(&out, &StatusReport{Controls: controls, Findings: findingsStatus(nil), Risks: risks}, 2, time.Now())
	for _, want := range []string{
		"Controls: 6   Fail 3   Error 1   Pending 1   Pass 1   NotApplicable 0\n",
		"  ... and 3 more (--limit 0 shows all)\n",
		"Open findings: 0   critical 0",
		"Risks out of appetite: 2 of 4\n",
		"far-over", "AboveAppetite",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	printStatus(&out, &StatusReport{Controls: controls, Findings: findingsStatus(nil), Risks: RisksStatus{}}, 0, time.Now())
	if !strings.Contains(out.String(), "(the cluster has no Risk CRD)") {
		t.Errorf("without the CRD:\n%s", out.String())
	}
}
