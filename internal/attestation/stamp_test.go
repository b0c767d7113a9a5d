package attestation

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

func submitted(by string) *ismsv1.Attestation {
	return &ismsv1.Attestation{ObjectMeta: metav1.ObjectMeta{Name: "q1"}, Spec: ismsv1.AttestationSpec{Control: "a-5-1", Statement: "s", SubmittedBy: by}}
}

func decided(a *ismsv1.Attestation, outcome ismsv1.AttestationOutcome, by string, at time.Time) *ismsv1.Attestation {
	a = a.DeepCopy()
	a.Spec.Decision = &ismsv1.AttestationDecision{Outcome: outcome, DecidedBy: by, DecidedAt: timeRef(at)}
	return a
}

func TestStamp(t *testing.T) {
	now := t0.Add(time.Hour)
	bob := User{Name: "bob", Groups: []string{"isms-approvers"}}
	cases := map[string]struct {
		old, new               *ismsv1.Attestation
		user                   User
		submittedBy, decidedBy string
		decidedAt              time.Time
	}{
		"create: the submitter is the requester, not what the object says": {
			new: submitted("mallory"), user: User{Name: "alice"}, submittedBy: "alice",
		},
		"update: the submitter stays, whatever the update says": {
			old: submitted("alice"), new: submitted("mallory"), user: bob, submittedBy: "alice",
		},
		"the update that decides: the decider is the requester, at the clock's time": {
			old: submitted("alice"), new: decided(submitted("alice"), ismsv1.AttestationApproved, "carol", t0),
			user: bob, submittedBy: "alice", decidedBy: "bob", decidedAt: now,
		},
		"a decided one keeps its decider and time": {
			old:  decided(submitted("alice"), ismsv1.AttestationApproved, "bob", t0),
			new:  decided(submitted("alice"), ismsv1.AttestationApproved, "carol", now),
			user: User{Name: "carol"}, submittedBy: "alice", decidedBy: "bob", decidedAt: t0,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			a := tc.new.DeepCopy()
			Stamp(tc.old, a, tc.user, now)
			if a.Spec.SubmittedBy != tc.submittedBy {
				t.Errorf("submittedBy = %q, want %q", a.Spec.SubmittedBy, tc.submittedBy)
			}
			var by string
			var at time.Time
			if d := a.Spec.Decision; d != nil {
				by, at = d.DecidedBy, d.DecidedAt.Time
			}
			if by != tc.decidedBy || !at.Equal(tc.decidedAt) {
				t.Errorf("decided by %q at %s, want %q at %s", by, at, tc.decidedBy, tc.decidedAt)
			}
		})
	}
}

func TestCheckWrite(t *testing.T) {
	approvers := Approvers{Groups: []string{"isms-approvers"}}
	alice := User{Name: "alice", Groups: []string{"isms-approvers"}}
	bob := User{Name: "bob", Groups: []string{"isms-approvers"}}
	dave := User{Name: "dave"}
	pending := submitted("alice")
	cases := map[string]struct {
		old, new *ismsv1.Attestation
		user     User
		attested bool
		refused  string
	}{
		"a submission":                           {new: pending, user: alice, attested: true},
		"a submission for an unattested control": {new: pending, user: alice, refused: "has no spec.attestation"},
		"a submission that decides itself":       {new: decided(pending, ismsv1.AttestationApproved, "alice", t0), user: alice, attested: true, refused: "without a decision"},
		"an approval by another approver":        {old: pending, new: decided(pending, ismsv1.AttestationApproved, "bob", t0), user: bob},
		"a rejection by another approver":        {old: pending, new: decided(pending, ismsv1.AttestationRejected, "bob", t0), user: bob},
		"self-approval":                          {old: pending, new: decided(pending, ismsv1.AttestationApproved, "alice", t0), user: alice, refused: "may not decide"},
		"approval by a non-approver":             {old: pending, new: decided(pending, ismsv1.AttestationApproved, "dave", t0), user: dave, refused: "not among"},
		"withdrawal by the submitter":            {old: pending, new: decided(pending, ismsv1.AttestationWithdrawn, "alice", t0), user: alice},
		"withdrawal by someone else":             {old: pending, new: decided(pending, ismsv1.AttestationWithdrawn, "bob", t0), user: bob, refused: "only its submitter"},
		"an edit before the decision":            {old: pending, new: submitted("alice"), user: alice},
		"turning an approval into a rejection": {
			old: decided(pending, ismsv1.AttestationApproved, "bob", t0), new: decided(pending, ismsv1.AttestationRejected, "bob", t0),
			user: bob, refused: "final",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := CheckWrite(tc.old, tc.new, tc.user, approvers, tc.attested)
			switch {
			case tc.refused == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
				t.Fatalf("err = %v, want one saying %q", err, tc.refused)
			}
		})
	}
}
