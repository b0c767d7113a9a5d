package exception

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func ex(name string, expires time.Time, subjects ismsv1.ExceptionSubjects, controls ...string) ismsv1.ControlException {
	return ismsv1.ControlException{
		ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1},
		Spec: ismsv1.ControlExceptionSpec{
			Controls: controls, Subjects: subjects, Justification: "vendor image", ApprovedBy: "ciso",
			ApprovedAt: metav1.NewTime(t0.Add(-time.Hour)), ExpiresAt: metav1.NewTime(expires),
		},
	}
}

func TestMatch(t *testing.T) {
	web := Subject{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", Labels: map[string]string{"app": "web", "tier": "front"}}
	later := t0.Add(time.Hour)
	tests := map[string]struct {
		exceptions []ismsv1.ControlException
		now        time.Time
		want       string // "" for none
	}{
		"by namespace":    {exceptions: []ismsv1.ControlException{ex("ns", later, ismsv1.ExceptionSubjects{Namespaces: []string{"shop"}}, "c")}, want: "ns"},
		"other namespace": {exceptions: []ismsv1.ControlException{ex("ns", later, ismsv1.ExceptionSubjects{Namespaces: []string{"bank"}}, "c")}},
		"by label selector on the subject's labels": {exceptions: []ismsv1.ControlException{ex("sel", later, ismsv1.ExceptionSubjects{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "front"}}}, "c")}, want: "sel"},
		"label selector not matching": {exceptions: []ismsv1.ControlException{ex("sel", later, ismsv1.ExceptionSubjects{
			LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"front"}}}}}, "c")}},
		"by named object, any namespace and version": {exceptions: []ismsv1.ControlException{ex("obj", later, ismsv1.ExceptionSubjects{
			Objects: []ismsv1.ExceptedObject{{Kind: "Deployment", Name: "web"}}}, "c")}, want: "obj"},
		"named object of another version": {exceptions: []ismsv1.ControlException{ex("obj", later, ismsv1.ExceptionSubjects{
			Objects: []ismsv1.ExceptedObject{{APIVersion: "apps/v2", Kind: "Deployment", Name: "web"}}}, "c")}},
		"every selection set must match": {exceptions: []ismsv1.ControlException{ex("both", later, ismsv1.ExceptionSubjects{
			Namespaces: []string{"shop"}, Objects: []ismsv1.ExceptedObject{{Kind: "Deployment", Namespace: "shop", Name: "api"}}}, "c")}},
		"another control's exception":  {exceptions: []ismsv1.ControlException{ex("ns", later, ismsv1.ExceptionSubjects{Namespaces: []string{"shop"}}, "other")}},
		"expired exactly at expiresAt": {exceptions: []ismsv1.ControlException{ex("ns", t0, ismsv1.ExceptionSubjects{Namespaces: []string{"shop"}}, "c")}},
		"one second before expiry":     {exceptions: []ismsv1.ControlException{ex("ns", t0.Add(time.Second), ismsv1.ExceptionSubjects{Namespaces: []string{"shop"}}, "c")}, want: "ns"},
		"two exceptions: the first by name": {exceptions: []ismsv1.ControlException{
			ex("zeta", later, ismsv1.ExceptionSubjects{Namespaces: []string{"shop"}}, "c"),
			ex("alpha", later, ismsv1.ExceptionSubjects{Namespaces: []string{"shop"}}, "c", "d")}, want: "alpha"},
		"no selection matches nothing": {exceptions: []ismsv1.ControlException{ex("none", later, ismsv1.ExceptionSubjects{}, "c")}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := NewSet(tc.exceptions, "c", t0).Match(web)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("Match = %q, %v; want %q", got, ok, tc.want)
			}
		})
	}
}

func TestNextExpiry(t *testing.T) {
	exs := []ismsv1.ControlException{
		ex("past", t0.Add(-time.Minute), ismsv1.ExceptionSubjects{Namespaces: []string{"a"}}, "c"),
		ex("late", t0.Add(2*time.Hour), ismsv1.ExceptionSubjects{Namespaces: []string{"a"}}, "c"),
		ex("soon", t0.Add(time.Hour), ismsv1.ExceptionSubjects{Namespaces: []string{"a"}}, "c"),
		ex("other", t0.Add(time.Minute), ismsv1.ExceptionSubjects{Namespaces: []string{"a"}}, "d"),
	}
	if got := NextExpiry(exs, "c", t0); !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("NextExpiry = %v, want in an hour", got)
	}
	if got := NextExpiry(exs, "c", t0.Add(3*time.Hour)); !got.IsZero() {
		t.Errorf("NextExpiry after all expired = %v, want zero", got)
	}
}

func TestNextStatus(t *testing.T) {
	e := ex("e", t0.Add(time.Hour), ismsv1.ExceptionSubjects{Namespaces: []string{"a"}}, "c")
	st, tr := NextStatus(&e, 3, t0)
	if st.Phase != ismsv1.ExceptionActive || tr != Activated || st.MatchedSubjects != 3 || st.Conditions[0].Status != metav1.ConditionTrue {
		t.Errorf("active: %+v %q", st, tr)
	}
	e.Status = st
	if st, tr = NextStatus(&e, 3, t0.Add(time.Minute)); tr != NoTransition {
		t.Errorf("still active: transition %q", tr)
	}
	st, tr = NextStatus(&e, 3, t0.Add(time.Hour))
	if st.Phase != ismsv1.ExceptionExpired || tr != Expired || st.MatchedSubjects != 0 || st.Conditions[0].Reason != "Expired" {
		t.Errorf("expired: %+v %q", st, tr)
	}
}
