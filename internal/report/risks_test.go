package report

import (
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// An accepted risk is listed when its acceptance was in force at some time in the period:
// the Risk existed before the period's end and was accepted until after its start.
func TestAcceptedRisksInForce(t *testing.T) {
	tests := map[string]struct {
		created, until time.Time
		listed         bool
		expired        bool
	}{
		"accepted throughout":               {created: h(-100), until: h(100), listed: true},
		"acceptance ends inside the period": {created: h(-100), until: h(10), listed: true, expired: true},
		"created inside the period":         {created: h(10), until: h(100), listed: true},
		"creation unknown":                  {until: h(100), listed: true},
		"acceptance ended before":           {created: h(-100), until: h(-1)},
		"acceptance ended at the start":     {created: h(-100), until: h(0)},
		"created after the period":          {created: h(24), until: h(100)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := testInput(t, 24)
			in.RisksReadAt = h(30)
			in.Risks = []Risk{{Name: "r", Owner: "o", AcceptedBy: "ciso", Created: tc.created, AcceptedUntil: tc.until,
				ResidualScore: 6, Appetite: 4, Controls: []string{"b", "not-in-scope"}}}
			r, err := Compute(in)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(r.AcceptedRisks) == 1; got != tc.listed {
				t.Fatalf("listed = %v, want %v: %+v", got, tc.listed, r.AcceptedRisks)
			}
			if !tc.listed {
				return
			}
			ar := r.AcceptedRisks[0]
			if ar.Expired != tc.expired || ar.WithinAppetite || !slices.Equal(ar.Requirements, []string{"A.8.1", "A.8.2"}) ||
				!slices.Equal(ar.Controls, []string{"b", "not-in-scope"}) {
				t.Errorf("accepted risk %+v: want expired %v, above appetite, requirements of b only", ar, tc.expired)
			}
			if !r.Methodology.RisksReadAt.Equal(h(30)) {
				t.Errorf("RisksReadAt = %s, want %s", r.Methodology.RisksReadAt, h(30))
			}
		})
	}
}

// Without a register read, the report says so and lists none; the methodology mentions the
// register only when it was read.
func TestAcceptedRisksNotRead(t *testing.T) {
	r, err := Compute(testInput(t, 24))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.AcceptedRisks) != 0 || !r.Methodology.RisksReadAt.IsZero() || r.Methodology.Description != methodologyText {
		t.Errorf("register not read: risks %+v, read at %s, methodology %q", r.AcceptedRisks, r.Methodology.RisksReadAt, r.Methodology.Description)
	}
}

func TestRisksOfKeepsAcceptedRisksOnly(t *testing.T) {
	until := metav1.NewTime(h(100))
	risk := func(name string, treatment ismsv1.RiskTreatment, accepted bool) ismsv1.Risk {
		r := ismsv1.Risk{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(h(-5))},
			Spec: ismsv1.RiskSpec{Title: "t " + name, Owner: "team", Treatment: treatment, Appetite: 9,
				Controls: []ismsv1.RiskControlRef{{Name: "z"}, {Name: "a"}}},
			Status: ismsv1.RiskStatus{ResidualScore: 8, ResidualLevel: ismsv1.RiskMedium, InherentScore: 20}}
		if accepted {
			r.Spec.Acceptance = &ismsv1.RiskAcceptance{AcceptedBy: "ciso", Justification: "cost", Until: until}
		}
		return r
	}
	got := RisksOf([]ismsv1.Risk{risk("mitigated", ismsv1.TreatmentMitigate, true), risk("accepted", ismsv1.TreatmentAccept, true),
		risk("no-acceptance", ismsv1.TreatmentAccept, false)})
	want := []Risk{{Name: "accepted", Title: "t accepted", Owner: "team", AcceptedBy: "ciso", Justification: "cost",
		AcceptedUntil: h(100), Created: h(-5), InherentScore: 20, ResidualScore: 8, Appetite: 9, ResidualLevel: "Medium",
		Controls: []string{"a", "z"}}}
	if len(got) != 1 || got[0].Name != want[0].Name || !got[0].AcceptedUntil.Equal(want[0].AcceptedUntil) ||
		!slices.Equal(got[0].Controls, want[0].Controls) || got[0].ResidualScore != 8 || got[0].ResidualLevel != "Medium" ||
		got[0].AcceptedBy != "ciso" || !got[0].Created.Equal(h(-5)) {
		t.Errorf("RisksOf = %+v, want %+v", got, want)
	}
}
