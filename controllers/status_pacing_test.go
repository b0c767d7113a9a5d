package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

func TestStatusPacerWritesSignificantChangesAtOnce(t *testing.T) {
	failing := func(n int32, reason string) *ismsv1.ControlStatus {
		return &ismsv1.ControlStatus{
			Result: ismsv1.ResultFail, FailingSubjects: n, OpenFindings: 1,
			Conditions: []metav1.Condition{{Type: ismsv1.ConditionCompliant, Status: metav1.ConditionFalse, Reason: reason, Message: "n fail"}},
		}
	}
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	cases := map[string]struct {
		sinceWrite time.Duration
		neverWrote bool
		old, new   *ismsv1.ControlStatus
		wantWait   time.Duration
	}{
		"first write":                   {neverWrote: true, old: failing(1, "SubjectsFailing"), new: failing(2, "SubjectsFailing")},
		"counts only, just written":     {sinceWrite: time.Second, old: failing(1, "SubjectsFailing"), new: failing(2, "SubjectsFailing"), wantWait: 4 * time.Second},
		"counts only, written long ago": {sinceWrite: time.Minute, old: failing(1, "SubjectsFailing"), new: failing(2, "SubjectsFailing")},
		"result changes":                {sinceWrite: time.Second, old: failing(1, "SubjectsFailing"), new: &ismsv1.ControlStatus{Result: ismsv1.ResultPass}},
		"condition reason changes":      {sinceWrite: time.Second, old: failing(1, "SubjectsFailing"), new: failing(1, "EvaluationError")},
		"failing count reaches zero":    {sinceWrite: time.Second, old: failing(1, "SubjectsFailing"), new: failing(0, "SubjectsFailing")},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var p statusPacer
			if !tc.neverWrote {
				p.wrote("c", now.Add(-tc.sinceWrite))
			}
			if got := p.wait("c", tc.old, tc.new, now); got != tc.wantWait {
				t.Errorf("wait = %v, want %v", got, tc.wantWait)
			}
		})
	}
}
