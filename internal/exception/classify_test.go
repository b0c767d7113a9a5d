package exception

import (
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/policy"
)

func failure(kind, ns, name string, labels map[string]string, msgs ...string) evaluation.SubjectResult {
	r := evaluation.SubjectResult{Subject: evaluation.SubjectRef{APIVersion: "apps/v1", Kind: kind, Namespace: ns, Name: name, UID: types.UID("uid-" + name), Labels: labels}}
	for _, m := range msgs {
		r.Violations = append(r.Violations, policy.Violation{Message: m})
	}
	return r
}

// names renders a split as "failing | excepted(by)" for comparison.
func names(s Split) string {
	var f, e []string
	for _, r := range s.Failing {
		f = append(f, r.Subject.Name)
	}
	for _, r := range s.Excepted {
		e = append(e, r.Subject.Name+"("+r.Exception+")")
	}
	return strings.Join(f, ",") + " | " + strings.Join(e, ",")
}

func TestClassify(t *testing.T) {
	later := t0.Add(time.Hour)
	failures := []evaluation.SubjectResult{
		failure("Deployment", "shop", "api", map[string]string{"tier": "back"}),
		failure("Deployment", "shop", "web", map[string]string{"tier": "front"}),
		failure("StatefulSet", "shop", "db", nil),
	}
	tests := map[string]struct {
		exceptions []ismsv1.ControlException
		want       string
	}{
		"no exception": {want: "api,web,db | "},
		"a label selector exempts one": {exceptions: []ismsv1.ControlException{ex("front", later, ismsv1.ExceptionSubjects{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "front"}}}, "c")}, want: "api,db | web(front)"},
		"a named object exempts one": {exceptions: []ismsv1.ControlException{ex("db", later, ismsv1.ExceptionSubjects{
			Objects: []ismsv1.ExceptedObject{{Kind: "StatefulSet", Name: "db"}}}, "c")}, want: "api,web | db(db)"},
		"the namespace exempts all, by the first exception by name": {exceptions: []ismsv1.ControlException{
			ex("b", later, ismsv1.ExceptionSubjects{Namespaces: []string{"shop"}}, "c"),
			ex("a", later, ismsv1.ExceptionSubjects{Objects: []ismsv1.ExceptedObject{{Kind: "Deployment", Name: "api"}}}, "c")},
			want: " | api(a),web(b),db(b)"},
		"an expired exception exempts nothing": {exceptions: []ismsv1.ControlException{ex("old", t0, ismsv1.ExceptionSubjects{Namespaces: []string{"shop"}}, "c")},
			want: "api,web,db | "},
		"an exception of another control exempts nothing": {exceptions: []ismsv1.ControlException{ex("other", later, ismsv1.ExceptionSubjects{Namespaces: []string{"shop"}}, "d")},
			want: "api,web,db | "},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := names(Classify(failures, NewSet(tc.exceptions, "c", t0))); got != tc.want {
				t.Errorf("Classify = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFindingSubjects(t *testing.T) {
	s := Split{
		Failing:  []evaluation.SubjectResult{failure("Deployment", "shop", "api", nil, "privileged", "no limits")},
		Excepted: []Excepted{{SubjectResult: failure("Deployment", "shop", "web", nil, "privileged"), Exception: "vendor"}},
	}
	failing, excepted := s.FindingSubjects()
	if len(failing) != 1 || failing[0].Name != "api" || failing[0].UID != "uid-api" || failing[0].APIVersion != "apps/v1" ||
		!slices.Equal(failing[0].Messages, []string{"privileged", "no limits"}) || failing[0].Exception != "" {
		t.Errorf("failing = %+v", failing)
	}
	if len(excepted) != 1 || excepted[0].Name != "web" || excepted[0].Exception != "vendor" {
		t.Errorf("excepted = %+v", excepted)
	}
}

func TestApplyToSummary(t *testing.T) {
	later := t0.Add(time.Hour)
	byNS := map[string][]evaluation.SubjectResult{
		"shop": {failure("Deployment", "shop", "api", nil), failure("Deployment", "shop", "web", nil)},
		"bank": {failure("Deployment", "bank", "ledger", nil)},
	}
	sum := evaluation.Summary{Evaluated: 5, Failing: 3, FailingNamespaces: []string{"bank", "shop"}}
	tests := map[string]struct {
		exceptions []ismsv1.ControlException
		failing    int
		namespaces []string
		counts     Counts
	}{
		"none applies": {failing: 3, namespaces: []string{"bank", "shop"}, counts: Counts{}},
		"one subject of a namespace": {exceptions: []ismsv1.ControlException{ex("web", later, ismsv1.ExceptionSubjects{
			Objects: []ismsv1.ExceptedObject{{Kind: "Deployment", Name: "web"}}}, "c")},
			failing: 2, namespaces: []string{"bank", "shop"}, counts: Counts{"web": 1}},
		"a whole namespace: its Finding is not open": {exceptions: []ismsv1.ControlException{ex("shop", later, ismsv1.ExceptionSubjects{
			Namespaces: []string{"shop"}}, "c")},
			failing: 1, namespaces: []string{"bank"}, counts: Counts{"shop": 2}},
		"everything, by two exceptions": {exceptions: []ismsv1.ControlException{
			ex("shop", later, ismsv1.ExceptionSubjects{Namespaces: []string{"shop"}}, "c"),
			ex("bank", later, ismsv1.ExceptionSubjects{Namespaces: []string{"bank"}}, "c")},
			failing: 0, counts: Counts{"shop": 2, "bank": 1}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, counts := ApplyToSummary(sum, NewSet(tc.exceptions, "c", t0), func(ns string) []evaluation.SubjectResult { return byNS[ns] })
			if got.Failing != tc.failing || !slices.Equal(got.FailingNamespaces, tc.namespaces) || got.Evaluated != 5 {
				t.Errorf("summary = %+v, want %d failing in %v", got, tc.failing, tc.namespaces)
			}
			if len(counts) != len(tc.counts) || counts.Total() != tc.counts.Total() {
				t.Errorf("counts = %v, want %v", counts, tc.counts)
			}
			for k, v := range tc.counts {
				if counts[k] != v {
					t.Errorf("counts[%s] = %d, want %d", k, counts[k], v)
				}
			}
		})
	}
}
