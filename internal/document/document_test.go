package document

import (
	"strings"
	"testing"
	"time"

	"github.com/isms-operator/isms-operator/internal/attestation"
)

var t0 = time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

var (
	v4 = strings.Repeat("a4", 32)
	v5 = strings.Repeat("b5", 32)
)

// yearly is the A.5.1 control of the library: reviewed every 365 days, 30 days of grace.
var yearly = attestation.Schedule{Every: 365 * day, Grace: 30 * day}

var policy = Document{Name: "information-security-policy", Version: "4.0", SHA256: v4}

// review is an attestation of the control approved by bob at `at`, with these artifacts.
func review(name string, at time.Time, artifacts ...Artifact) Attestation {
	return Attestation{Record: attestation.Record{Name: name, SubmittedBy: "alice", SubmittedAt: at.Add(-day),
		Decision: attestation.Approved, DecidedBy: "bob", DecidedAt: at}, Artifacts: artifacts}
}

func TestEvaluate(t *testing.T) {
	asPolicy := Artifact{Name: policy.Name, SHA256: v4}
	cases := map[string]struct {
		doc          Document
		attestations []Attestation
		previous     *Approval
		now          time.Time
		phase        Phase
		approval     *Approval
		nextReview   time.Time
		next         time.Time
	}{
		"never reviewed": {doc: policy, now: t0, phase: NotApproved},
		"submitted, not approved yet": {
			doc: policy, now: t0.Add(day), phase: NotApproved,
			attestations: []Attestation{{Record: attestation.Record{Name: "r1", SubmittedBy: "alice", SubmittedAt: t0}, Artifacts: []Artifact{asPolicy}}},
		},
		"a rejected review does not count": {
			doc: policy, now: t0.Add(2 * day), phase: NotApproved,
			attestations: []Attestation{{Record: attestation.Record{Name: "r1", SubmittedAt: t0, Decision: attestation.Rejected,
				DecidedBy: "bob", DecidedAt: t0.Add(day)}, Artifacts: []Artifact{asPolicy}}},
		},
		"current after approval": {
			doc: policy, attestations: []Attestation{review("r1", t0, asPolicy)}, now: t0.Add(day),
			phase:      Current,
			approval:   &Approval{Attestation: "r1", SHA256: v4, Version: "4.0", By: "bob", At: t0},
			nextReview: t0.Add(365 * day), next: t0.Add(292 * day),
		},
		"matched by digest under another artifact name": {
			doc: policy, attestations: []Attestation{review("r1", t0, Artifact{Name: "isp-v4.pdf", SHA256: v4})}, now: t0.Add(day),
			phase:      Current,
			approval:   &Approval{Attestation: "r1", SHA256: v4, Version: "4.0", By: "bob", At: t0},
			nextReview: t0.Add(365 * day), next: t0.Add(292 * day),
		},
		"review due soon, at 80% of the control's period": {
			doc: policy, attestations: []Attestation{review("r1", t0, asPolicy)}, now: t0.Add(300 * day),
			phase:      ReviewDue,
			approval:   &Approval{Attestation: "r1", SHA256: v4, Version: "4.0", By: "bob", At: t0},
			nextReview: t0.Add(365 * day), next: t0.Add(365 * day),
		},
		"overdue in the grace, the control still passes": {
			doc: policy, attestations: []Attestation{review("r1", t0, asPolicy)}, now: t0.Add(370 * day),
			phase:      Overdue,
			approval:   &Approval{Attestation: "r1", SHA256: v4, Version: "4.0", By: "bob", At: t0},
			nextReview: t0.Add(365 * day), next: t0.Add(395 * day),
		},
		"overdue after the grace, the control has expired": {
			doc: policy, attestations: []Attestation{review("r1", t0, asPolicy)}, now: t0.Add(400 * day),
			phase:      Overdue,
			approval:   &Approval{Attestation: "r1", SHA256: v4, Version: "4.0", By: "bob", At: t0},
			nextReview: t0.Add(365 * day),
		},
		"a new approved review makes it current again": {
			doc: policy, attestations: []Attestation{review("r2", t0.Add(400*day), asPolicy), review("r1", t0, asPolicy)},
			now:        t0.Add(401 * day),
			phase:      Current,
			approval:   &Approval{Attestation: "r2", SHA256: v4, Version: "4.0", By: "bob", At: t0.Add(400 * day)},
			nextReview: t0.Add(765 * day), next: t0.Add(692 * day),
		},
		"content changed after the approval: the approved version is remembered": {
			doc:          Document{Name: policy.Name, Version: "5.0", SHA256: v5},
			attestations: []Attestation{review("r1", t0, asPolicy)},
			previous:     &Approval{Attestation: "r1", SHA256: v4, Version: "4.0", By: "bob", At: t0},
			now:          t0.Add(10 * day),
			phase:        VersionChanged,
			approval:     &Approval{Attestation: "r1", SHA256: v4, Version: "4.0", By: "bob", At: t0},
			nextReview:   t0.Add(365 * day), next: t0.Add(292 * day),
		},
		"content changed before the operator saw the approved version": {
			doc:          Document{Name: policy.Name, Version: "5.0", SHA256: v5},
			attestations: []Attestation{review("r1", t0, asPolicy)},
			now:          t0.Add(10 * day),
			phase:        VersionChanged,
			approval:     &Approval{Attestation: "r1", SHA256: v4, By: "bob", At: t0},
			nextReview:   t0.Add(365 * day), next: t0.Add(292 * day),
		},
		"the attestation in force left the document out": {
			doc: policy, attestations: []Attestation{review("r1", t0, asPolicy), review("r2", t0.Add(100*day), Artifact{Name: "other", SHA256: v5})},
			now:      t0.Add(101 * day),
			phase:    NotApproved,
			approval: &Approval{Attestation: "r1", SHA256: v4, Version: "4.0", By: "bob", At: t0},
		},
		"a review stamped in the future does not count yet": {
			doc: policy, attestations: []Attestation{review("r1", t0.Add(10*day), asPolicy)}, now: t0,
			phase: NotApproved,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			st := Evaluate(Input{Document: tc.doc, Schedule: yearly, Attestations: tc.attestations, Previous: tc.previous}, tc.now)
			if st.Phase != tc.phase {
				t.Errorf("phase %s, want %s", st.Phase, tc.phase)
			}
			switch {
			case (st.Approval == nil) != (tc.approval == nil):
				t.Errorf("approval %+v, want %+v", st.Approval, tc.approval)
			case st.Approval != nil && (*st.Approval != *tc.approval):
				t.Errorf("approval %+v, want %+v", *st.Approval, *tc.approval)
			}
			if !st.NextReview.Equal(tc.nextReview) {
				t.Errorf("next review %s, want %s", st.NextReview, tc.nextReview)
			}
			if !st.Next.Equal(tc.next) {
				t.Errorf("next change %s, want %s", st.Next, tc.next)
			}
		})
	}
}

// The document's review follows its control's attestation: it is overdue with a Finding exactly
// when the control has expired, and the failing time is the control's.
func TestOverdueFollowsTheControl(t *testing.T) {
	in := Input{Document: policy, Schedule: yearly, Attestations: []Attestation{review("r1", t0, Artifact{Name: policy.Name, SHA256: v4})}}
	for _, now := range []time.Time{t0, t0.Add(300 * day), t0.Add(370 * day), t0.Add(395 * day), t0.Add(500 * day)} {
		st := Evaluate(in, now)
		if got, want := st.Phase == Overdue, !now.Before(st.Control.DueAt); got != want {
			t.Errorf("at %s: overdue %v, want %v (control %s)", now, got, want, st.Control.Standing)
		}
		if !st.FailsAt.Equal(st.Control.FailsAt) || !st.FailsAt.Equal(t0.Add(395*day)) {
			t.Errorf("at %s: fails at %s, control fails at %s", now, st.FailsAt, st.Control.FailsAt)
		}
	}
}
