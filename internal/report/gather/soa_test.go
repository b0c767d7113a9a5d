package gather

import (
	"strings"
	"testing"
	"time"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/frameworks"
	"github.com/isms-operator/isms-operator/internal/report"
	"github.com/isms-operator/isms-operator/internal/soa"
)

func statement(name, version string, excluded ...string) ismsv1.StatementOfApplicability {
	s := ismsv1.StatementOfApplicability{Spec: ismsv1.StatementOfApplicabilitySpec{Framework: "iso27001-2022", Version: version,
		Entries: []ismsv1.SoAEntry{{Requirement: "A.8.9", Applicable: true,
			Inclusions: []ismsv1.SoAInclusion{{Reason: ismsv1.SoAInclusionReason("RiskAssessment"), Risks: []string{"risk-1"}}}}}}}
	s.Name = name
	for _, id := range excluded {
		s.Spec.Entries = append(s.Spec.Entries, ismsv1.SoAEntry{Requirement: id, ExclusionJustification: "no offices: inherited from the provider"})
	}
	return s
}

func decision(name, version, digest, outcome, framework string, at time.Time) evidence.Proved {
	return evidence.Proved{Entry: evidence.Entry{Leaf: evidence.Leaf{Kind: evidence.KindSoA, Time: at, SoA: &evidence.SoADecision{
		Name: name, Version: version, Digest: digest, Decision: outcome, Framework: framework,
		DecidedBy: "ciso@example.com", DecidedAt: at.Format(time.RFC3339)}}}}
}

// The report takes the Statement of Applicability the ledger says was in force at the
// period's end, and its applicability from the cluster's statement only while that still has
// the approved content.
func TestApplySoA(t *testing.T) {
	catalog, _ := frameworks.Default().Lookup("iso27001-2022")
	current := statement("platform", "3", "A.7.1")
	edited := statement("platform", "4", "A.7.1", "A.7.2")
	digest := soa.Digest(&current.Spec)
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		inForce      []evidence.Proved
		cluster      []ismsv1.StatementOfApplicability
		wantVersion  string // "" for no SoA
		wantExcluded bool   // A.7.1 not applicable, with its justification
		wantNote     string
	}{
		"none in force": {cluster: []ismsv1.StatementOfApplicability{current}},
		"in force, content unchanged": {inForce: []evidence.Proved{decision("platform", "3", digest, "Approved", "iso27001-2022", t0)},
			cluster: []ismsv1.StatementOfApplicability{current}, wantVersion: "3", wantExcluded: true},
		"in force, edited since": {inForce: []evidence.Proved{decision("platform", "3", digest, "Approved", "iso27001-2022", t0)},
			cluster: []ismsv1.StatementOfApplicability{edited}, wantVersion: "3", wantNote: "no longer in the cluster with that content"},
		"the latest approval wins": {inForce: []evidence.Proved{
			decision("platform", "3", digest, "Approved", "iso27001-2022", t0),
			decision("old", "1", "sha256:00", "Approved", "iso27001-2022", t0.Add(-time.Hour))},
			cluster: []ismsv1.StatementOfApplicability{current}, wantVersion: "3", wantExcluded: true},
		"rejections and other frameworks are not in force": {inForce: []evidence.Proved{
			decision("platform", "3", digest, "Rejected", "iso27001-2022", t0),
			decision("soc", "1", digest, "Approved", "soc2", t0)},
			cluster: []ismsv1.StatementOfApplicability{current}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := report.Input{Catalog: catalog}
			AddStatements(&in, tc.cluster)
			note := ApplySoA(&in, tc.inForce)
			switch {
			case tc.wantVersion == "" && in.SoA != nil:
				t.Fatalf("SoA %+v, want none", in.SoA)
			case tc.wantVersion != "" && (in.SoA == nil || in.SoA.Version != tc.wantVersion || in.SoA.ApprovedBy != "ciso@example.com"):
				t.Fatalf("SoA %+v, want version %s approved by ciso@example.com", in.SoA, tc.wantVersion)
			}
			a, ok := in.Applicability["A.7.1"]
			if got := ok && !a.Applicable && strings.Contains(a.Justification, "inherited"); got != tc.wantExcluded {
				t.Errorf("A.7.1 excluded with its justification: %v, want %v (%+v)", got, tc.wantExcluded, in.Applicability)
			}
			if tc.wantExcluded && !strings.Contains(in.Applicability["A.8.9"].Justification, "risk-1") {
				t.Errorf("A.8.9's inclusion does not name its Risk: %+v", in.Applicability["A.8.9"])
			}
			if (tc.wantNote == "") != (note == "") || !strings.Contains(note, tc.wantNote) {
				t.Errorf("note %q, want one containing %q", note, tc.wantNote)
			}
		})
	}
}
