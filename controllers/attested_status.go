package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/attestation"
	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// setAttestedResult fills in an attested control's status from its standing, with the
// Compliant and UpcomingRenewal conditions, and the Events of its transitions.
func (r *ControlReconciler) setAttestedResult(s *controlScope, st attestation.State, openFindings int, now time.Time) {
	control := s.control
	status := &control.Status
	previous := ""
	if status.Attestation != nil {
		previous = status.Attestation.Standing
	}
	result, reason, message := attestedVerdict(st)
	meta.RemoveStatusCondition(&status.Conditions, ismsv1.ConditionPolicyReady)
	status.PolicyDigest, status.LastSweep = "", nil
	status.Result, status.OpenFindings = result, int32(openFindings)
	status.EvaluatedSubjects, status.FailingSubjects, status.ErroredSubjects, status.ExceptedSubjects = 0, 0, 0, 0
	if st.Current != nil {
		status.EvaluatedSubjects = 1
	}
	if result == ismsv1.ResultFail {
		status.FailingSubjects = 1
	}
	status.Attestation = attestedStatus(st)
	if previous != string(st.Standing) || status.LastEvaluated == nil {
		status.LastEvaluated = timeRef(now)
	}
	switch result {
	case ismsv1.ResultPass:
		setCondition(control, ismsv1.ConditionCompliant, metav1.ConditionTrue, reason, message)
	case ismsv1.ResultFail:
		setCondition(control, ismsv1.ConditionCompliant, metav1.ConditionFalse, reason, message)
	default:
		setCondition(control, ismsv1.ConditionCompliant, metav1.ConditionUnknown, reason, message)
	}
	upcoming := metav1.ConditionFalse
	if st.Standing == attestation.RenewalDue || st.Standing == attestation.InGrace {
		upcoming = metav1.ConditionTrue
	}
	setCondition(control, ismsv1.ConditionUpcomingRenewal, upcoming, reason, message)
	if previous != string(st.Standing) {
		r.announceStanding(s, st, result, message)
	}
}

// announceStanding records a change of standing as an Event: renewal due (Normal), in grace
// (Warning), failing or passing again.
func (r *ControlReconciler) announceStanding(s *controlScope, st attestation.State, result ismsv1.ControlResult, message string) {
	control := s.control
	switch {
	case st.Standing == attestation.RenewalDue:
		r.Recorder.Eventf(control, nil, corev1.EventTypeNormal, ismsv1.EventRenewalDue, "Attest", "%s", message)
	case st.Standing == attestation.InGrace:
		r.Recorder.Eventf(control, nil, corev1.EventTypeWarning, ismsv1.EventAttestationInGrace, "Attest", "%s", message)
	case result == ismsv1.ResultFail && s.previous != ismsv1.ResultFail:
		r.Recorder.Eventf(control, nil, corev1.EventTypeWarning, ismsv1.EventControlFailing, "Attest", "%s", message)
	case result == ismsv1.ResultPass && (s.previous == ismsv1.ResultFail || s.previous == ismsv1.ResultError):
		r.Recorder.Eventf(control, nil, corev1.EventTypeNormal, ismsv1.EventControlPassing, "Attest", "%s", message)
	}
}

func attestedStatus(st attestation.State) *ismsv1.AttestedStatus {
	out := &ismsv1.AttestedStatus{Standing: string(st.Standing), AwaitingApproval: int32(len(st.Awaiting))}
	if st.Current != nil {
		out.Current = st.Current.Name
		out.RenewAt, out.DueAt, out.FailsAt = timeRef(st.RenewAt), timeRef(st.DueAt), timeRef(st.FailsAt)
	}
	return out
}

// recordAttestedEvidence records the attested control's state in the ledger: its result,
// with the standing and the attestation in force as its message.
func (r *ControlReconciler) recordAttestedEvidence(s *controlScope, st attestation.State) {
	control := s.control
	if r.evidence == nil {
		meta.RemoveStatusCondition(&control.Status.Conditions, ismsv1.ConditionEvidenceRecorded)
		return
	}
	state := evidence.ControlState{Control: control.Name, Result: ledgerResult(control.Status.Result),
		Generation: control.Generation, Message: "Attested: " + string(st.Standing)}
	if st.Current != nil {
		state.Message += fmt.Sprintf(" (attestation %s, approved by %s)", st.Current.Name, st.Current.DecidedBy)
	}
	if st.Standing == attestation.Expired {
		state.Counts.Failing = 1
	}
	r.setEvidenceCondition(s, r.evidence.record(state, nil, false))
}

// recordAttestations records each new step of the control's Attestations, once: a submission
// or a decision (a generation the status has not observed yet), and the expiry of the one in
// force. Each step is an Event on the Control and a leaf in the evidence ledger; the
// Attestation's status (InForce, observedGeneration) then says it was recorded. A step whose
// leaf does not fit in the ledger's queue is retried at the next reconcile; it reports whether
// one was left for it.
func (r *ControlReconciler) recordAttestations(ctx context.Context, control *ismsv1.Control, items []ismsv1.Attestation, st attestation.State) (bool, error) {
	var errs []error
	left := false
	for i := range items {
		a := &items[i]
		original := a.DeepCopy()
		previous := findCondition(a.Status.Conditions, ismsv1.AttestationConditionInForce)
		wasInForce := previous != nil && previous.Status == metav1.ConditionTrue
		cond := inForceCondition(a, st)
		recorded := true
		if a.Status.ObservedGeneration != a.Generation {
			recorded = r.recordStep(control, a, stepOf(a))
		}
		if wasInForce && cond.Reason == ismsv1.ReasonAttestationExpired {
			recorded = r.recordStep(control, a, evidence.StepExpired) && recorded
		}
		if !recorded {
			left = true
			continue
		}
		a.Status.ObservedGeneration = a.Generation
		meta.SetStatusCondition(&a.Status.Conditions, cond)
		if equality.Semantic.DeepEqual(original.Status, a.Status) {
			continue
		}
		if err := r.Status().Patch(ctx, a, client.MergeFrom(original)); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("patching attestation %s status: %w", a.Name, err))
		}
	}
	return left, errors.Join(errs...)
}

// stepOf is the step an Attestation's current generation records.
func stepOf(a *ismsv1.Attestation) string {
	if a.Spec.Decision == nil {
		return evidence.StepSubmitted
	}
	return string(a.Spec.Decision.Outcome)
}

// inForceCondition says whether the attestation keeps its control passing, and if not why.
func inForceCondition(a *ismsv1.Attestation, st attestation.State) metav1.Condition {
	c := metav1.Condition{Type: ismsv1.AttestationConditionInForce, Status: metav1.ConditionFalse, ObservedGeneration: a.Generation}
	d := a.Spec.Decision
	switch {
	case d == nil:
		c.Reason, c.Message = ismsv1.ReasonAwaitingApproval, fmt.Sprintf("Submitted by %s; awaiting an approver.", a.Spec.SubmittedBy)
	case d.Outcome == ismsv1.AttestationRejected:
		c.Reason, c.Message = ismsv1.ReasonAttestationRejected, fmt.Sprintf("Rejected by %s: %s", d.DecidedBy, d.Comment)
	case d.Outcome == ismsv1.AttestationWithdrawn:
		c.Reason, c.Message = ismsv1.ReasonAttestationWithdrawn, fmt.Sprintf("Withdrawn by %s.", d.DecidedBy)
	case st.Current == nil || st.Current.Name != a.Name:
		c.Reason, c.Message = ismsv1.ReasonAttestationSuperseded, "A later approved attestation of the control is in force."
	case !st.Standing.Passes():
		c.Reason, c.Message = ismsv1.ReasonAttestationExpired, fmt.Sprintf("Expired at %s.", rfc3339(st.FailsAt))
	default:
		_, c.Reason, c.Message = attestedVerdict(st)
		c.Status = metav1.ConditionTrue
	}
	c.Message = policy.Truncate(c.Message, maxNoteLen)
	return c
}

// recordStep announces one step of an attestation on its Control and queues its leaf; it
// reports false when the ledger's queue was full, for a retry.
func (r *ControlReconciler) recordStep(control *ismsv1.Control, a *ismsv1.Attestation, step string) bool {
	if r.evidence != nil && !r.evidence.enqueue(attestationLeaf(a, step, r.Now())) {
		return false
	}
	reason, kind := stepEvent(step)
	by := a.Spec.SubmittedBy
	if d := a.Spec.Decision; d != nil && step != evidence.StepExpired {
		by = d.DecidedBy
	}
	r.Recorder.Eventf(control, a, kind, reason, "Attest", "Attestation %s %s by %s (%d artifact(s)).", a.Name, step, by, len(a.Spec.Artifacts))
	return true
}

func stepEvent(step string) (reason, eventType string) {
	switch step {
	case evidence.StepApproved:
		return ismsv1.EventAttestationApproved, corev1.EventTypeNormal
	case evidence.StepRejected:
		return ismsv1.EventAttestationRejected, corev1.EventTypeWarning
	case evidence.StepWithdrawn:
		return ismsv1.EventAttestationWithdrawn, corev1.EventTypeNormal
	case evidence.StepExpired:
		return ismsv1.ReasonAttestationExpired, corev1.EventTypeWarning
	}
	return ismsv1.EventAttestationSubmitted, corev1.EventTypeNormal
}

// attestationLeaf is the ledger's record of one step of an attestation, with the digests of
// its artifacts (names cut to the leaf's bound).
func attestationLeaf(a *ismsv1.Attestation, step string, now time.Time) evidence.Leaf {
	change := &evidence.AttestationChange{Name: a.Name, Step: step,
		SubmittedBy: policy.Truncate(a.Spec.SubmittedBy, evidence.MaxUserLen),
		PeriodFrom:  rfc3339(a.Spec.Period.From.Time), PeriodTo: rfc3339(a.Spec.Period.To.Time)}
	if d := a.Spec.Decision; d != nil {
		change.DecidedBy = policy.Truncate(d.DecidedBy, evidence.MaxUserLen)
	}
	for _, art := range a.Spec.Artifacts[:min(len(a.Spec.Artifacts), evidence.MaxLeafArtifacts)] {
		change.Artifacts = append(change.Artifacts, evidence.ArtifactDigest{
			Name: policy.Truncate(art.Name, evidence.MaxArtifactNameLen), SHA256: art.SHA256, Size: art.Size})
	}
	return evidence.Leaf{V: evidence.LeafVersion, Kind: evidence.KindAttestation, Control: a.Spec.Control,
		Time: now.UTC(), Attestation: change}
}
