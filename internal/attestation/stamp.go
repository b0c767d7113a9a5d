package attestation

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// Stamp writes into a who did what and when, from the request's user and the clock, as the
// mutating admission webhook does: on create (old nil) submittedBy is the requesting user; on
// an update submittedBy is kept from old, and the update that first sets the decision gets
// decidedBy and decidedAt; once decided they are kept from old. Whatever the client wrote in
// those fields is replaced, so that no one can speak for someone else.
func Stamp(old, a *ismsv1.Attestation, user User, now time.Time) {
	if old == nil {
		a.Spec.SubmittedBy = user.Name
		if d := a.Spec.Decision; d != nil {
			// Refused by CheckWrite; stamped all the same so that nothing unstamped is shown.
			d.DecidedBy, d.DecidedAt = user.Name, timeRef(now)
		}
		return
	}
	a.Spec.SubmittedBy = old.Spec.SubmittedBy
	d := a.Spec.Decision
	switch {
	case d == nil:
	case old.Spec.Decision == nil:
		d.DecidedBy, d.DecidedAt = user.Name, timeRef(now)
	default:
		d.DecidedBy, d.DecidedAt = old.Spec.Decision.DecidedBy, old.Spec.Decision.DecidedAt.DeepCopy()
	}
}

// CheckWrite says why user may not write a (created when old is nil, else updated from old),
// or nil. approvers are the Control's; attested says whether the Control exists with a
// spec.attestation. An attestation is submitted undecided, for an attested control; its
// decision comes from an approver other than the submitter (CheckDecider), or is the
// submitter's withdrawal; once decided it is final (CheckChange).
func CheckWrite(old, a *ismsv1.Attestation, user User, approvers Approvers, attested bool) error {
	if old == nil {
		if !attested {
			return fmt.Errorf("control %q does not exist or has no spec.attestation", a.Spec.Control)
		}
		if a.Spec.Decision != nil {
			return fmt.Errorf("an attestation is submitted without a decision: an approver decides it with an update")
		}
		return nil
	}
	prev, next := RecordOf(old), RecordOf(a)
	if err := CheckChange(prev, next, user); err != nil {
		return err
	}
	if prev.Decision != Undecided || next.Decision == Undecided || next.Decision == Withdrawn {
		return nil
	}
	return CheckDecider(approvers, prev.SubmittedBy, user)
}

func timeRef(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t)
	return &mt
}
