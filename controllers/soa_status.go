package controllers

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// recordApproval keeps status.approved in line with spec.approval and records a new approval
// in the evidence ledger, once: status.approved.recorded says it was queued, and survives
// operator restarts. A decision is announced by an Event when it first shows. It reports
// whether the leaf found no room in the ledger's queue, for a retry.
func (r *SoAReconciler) recordApproval(original, s *ismsv1.StatementOfApplicability) bool {
	a := s.Spec.Approval
	if a == nil || a.Decision != ismsv1.SoAApproved || a.DecidedAt == nil {
		s.Status.Approved = nil
		if a != nil && approvedReason(original) != ismsv1.ReasonSoARejected && approvedReason(s) == ismsv1.ReasonSoARejected {
			r.announceSoA(s)
		}
		return false
	}
	want := ismsv1.SoAApprovedStatus{Version: a.Version, By: a.DecidedBy, At: a.DecidedAt.DeepCopy(), Digest: a.Digest}
	prev := original.Status.Approved
	same := prev != nil && prev.Version == want.Version && prev.By == want.By && prev.Digest == want.Digest && prev.At.Equal(want.At)
	if !same {
		r.announceSoA(s)
	}
	want.Recorded = same && prev.Recorded
	s.Status.Approved = &want
	if want.Recorded || r.evidence == nil {
		return false
	}
	if !r.evidence.enqueue(soaLeaf(s, r.Now())) {
		return true
	}
	want.Recorded = true
	return false
}

func approvedReason(s *ismsv1.StatementOfApplicability) string {
	if c := meta.FindStatusCondition(s.Status.Conditions, ismsv1.SoAConditionApproved); c != nil {
		return c.Reason
	}
	return ""
}

// soaLeaf is the ledger's record of the decision in spec.approval: the version and digest
// decided, by whom and when, and who last edited it.
func soaLeaf(s *ismsv1.StatementOfApplicability, now time.Time) evidence.Leaf {
	a := s.Spec.Approval
	framework := s.Spec.Framework
	if framework == "" {
		framework = ismsv1.DefaultSoAFramework
	}
	return evidence.Leaf{V: evidence.LeafVersion, Kind: evidence.KindSoA, Time: now.UTC(),
		SoA: &evidence.SoADecision{Name: s.Name, Version: a.Version, Framework: framework, Decision: string(a.Decision),
			Digest: a.Digest, DecidedAt: rfc3339(a.DecidedAt.Time),
			DecidedBy: policy.Truncate(a.DecidedBy, evidence.MaxUserLen), EditedBy: policy.Truncate(s.Spec.EditedBy, evidence.MaxUserLen)}}
}
