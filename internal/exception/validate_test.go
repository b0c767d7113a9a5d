package exception

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

func TestValidate(t *testing.T) {
	valid := func() ismsv1.ControlException {
		return ex("e", t0.Add(24*time.Hour), ismsv1.ExceptionSubjects{Namespaces: []string{"shop"}}, "c")
	}
	tests := map[string]struct {
		mutate func(*ismsv1.ControlException)
		want   string // a substring of the errors; "" for valid
	}{
		"valid": {mutate: func(*ismsv1.ControlException) {}},
		"expired is still valid": {mutate: func(e *ismsv1.ControlException) {
			e.Spec.ApprovedAt = metav1.NewTime(t0.Add(-48 * time.Hour))
			e.Spec.ExpiresAt = metav1.NewTime(t0.Add(-time.Hour))
		}},
		"an empty label selector is a selection": {mutate: func(e *ismsv1.ControlException) {
			e.Spec.Subjects = ismsv1.ExceptionSubjects{LabelSelector: &metav1.LabelSelector{}}
		}},
		"no controls":        {mutate: func(e *ismsv1.ControlException) { e.Spec.Controls = nil }, want: "spec.controls: Required value"},
		"too many controls":  {mutate: func(e *ismsv1.ControlException) { e.Spec.Controls = make([]string, 33); fill(e.Spec.Controls) }, want: "spec.controls: Too many: 33: must have at most 32 items"},
		"a repeated control": {mutate: func(e *ismsv1.ControlException) { e.Spec.Controls = []string{"c", "c"} }, want: `spec.controls[1]: Duplicate value: "c"`},
		"no selection": {mutate: func(e *ismsv1.ControlException) { e.Spec.Subjects = ismsv1.ExceptionSubjects{} },
			want: "spec.subjects: Invalid value: \"\": at least one of namespaces, labelSelector or objects must be set"},
		"a long namespace": {mutate: func(e *ismsv1.ControlException) { e.Spec.Subjects.Namespaces = []string{strings.Repeat("n", 64)} },
			want: "spec.subjects.namespaces[0]: Too long: may not be more than 63 bytes"},
		"an object without a kind": {mutate: func(e *ismsv1.ControlException) {
			e.Spec.Subjects.Objects = []ismsv1.ExceptedObject{{Name: "web"}}
		}, want: "spec.subjects.objects[0].kind: Required value"},
		"a requirement without an operator": {mutate: func(e *ismsv1.ControlException) {
			e.Spec.Subjects.LabelSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier"}}}
		}, want: "spec.subjects.labelSelector.matchExpressions[0].operator: Required value"},
		"no justification": {mutate: func(e *ismsv1.ControlException) { e.Spec.Justification = "" }, want: "spec.justification: Required value"},
		"no approver":      {mutate: func(e *ismsv1.ControlException) { e.Spec.ApprovedBy = "" }, want: "spec.approvedBy: Required value"},
		"no expiry":        {mutate: func(e *ismsv1.ControlException) { e.Spec.ExpiresAt = metav1.Time{} }, want: "spec.expiresAt: Required value"},
		"expires before approval": {mutate: func(e *ismsv1.ControlException) { e.Spec.ExpiresAt = e.Spec.ApprovedAt },
			want: "spec: Invalid value: \"2025-03-01T09:00:00Z\": expiresAt must be after approvedAt"},
		"lasts more than a year": {mutate: func(e *ismsv1.ControlException) {
			e.Spec.ExpiresAt = metav1.NewTime(e.Spec.ApprovedAt.Add(8761 * time.Hour))
		},
			want: "expiresAt must be at most 365 days after approvedAt"},
		"exactly a year": {mutate: func(e *ismsv1.ControlException) {
			e.Spec.ExpiresAt = metav1.NewTime(e.Spec.ApprovedAt.Add(8760 * time.Hour))
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := valid()
			tc.mutate(&e)
			got := Validate(&e).ToAggregate()
			switch {
			case tc.want == "" && got != nil:
				t.Errorf("Validate = %v, want valid", got)
			case tc.want != "" && (got == nil || !strings.Contains(got.Error(), tc.want)):
				t.Errorf("Validate = %v, want an error containing %q", got, tc.want)
			}
		})
	}
}

func fill(s []string) {
	for i := range s {
		s[i] = strings.Repeat("c", i+1)
	}
}
