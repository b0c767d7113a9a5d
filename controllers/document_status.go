package controllers

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/attestation"
	"github.com/isms-operator/isms-operator/internal/document"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// writeStatus patches the Document's status when the reconcile changed it. observedGeneration
// follows the spec only when the status describes it: on success, or when the error is the
// spec's (a TerminalError).
func (r *DocumentReconciler) writeStatus(ctx context.Context, original, doc *ismsv1.Document, err error) error {
	if err == nil || errors.Is(err, reconcile.TerminalError(nil)) {
		doc.Status.ObservedGeneration = doc.Generation
	}
	if equality.Semantic.DeepEqual(original.Status, doc.Status) {
		return err
	}
	if perr := r.Status().Patch(ctx, doc, client.MergeFrom(original)); perr != nil && !apierrors.IsNotFound(perr) {
		return errors.Join(err, fmt.Errorf("patching document status: %w", perr))
	}
	r.announcePhase(original, doc)
	return err
}

// setDocumentStatus fills in the status from the Document's standing and its control's open
// Finding.
func (r *DocumentReconciler) setDocumentStatus(doc *ismsv1.Document, ctl *ismsv1.Control, st document.State, f *ismsv1.Finding) {
	status := &doc.Status
	status.Phase = ismsv1.DocumentPhase(st.Phase)
	status.Approved = approvalStatus(st.Approval)
	status.NextReview, status.FailsAt, status.Finding = nil, nil, nil
	if !st.NextReview.IsZero() {
		status.NextReview, status.FailsAt = timeRef(st.NextReview), timeRef(st.FailsAt)
	}
	if f != nil {
		status.Finding = &ismsv1.FindingReference{Namespace: f.Namespace, Name: f.Name}
	}
	reviewed, reason, message := documentVerdict(doc, ctl.Name, st, status.Finding)
	setDocumentCondition(doc, reviewed, reason, message)
}

// setControlNotAttested says the Document cannot be reviewed: its control does not exist or
// is not attested.
func setControlNotAttested(doc *ismsv1.Document) {
	doc.Status.Phase = ismsv1.DocumentNotApproved
	doc.Status.NextReview, doc.Status.FailsAt, doc.Status.Finding = nil, nil, nil
	setDocumentCondition(doc, metav1.ConditionFalse, ismsv1.ReasonControlNotAttested,
		fmt.Sprintf("Control %s does not exist or is not attested (spec.attestation): its attestations review this document.", doc.Spec.Control))
}

func setDocumentCondition(doc *ismsv1.Document, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&doc.Status.Conditions, metav1.Condition{Type: ismsv1.ConditionReviewed, Status: status,
		Reason: reason, Message: policy.Truncate(message, maxNoteLen), ObservedGeneration: doc.Generation})
}

func approvalStatus(a *document.Approval) *ismsv1.DocumentApproval {
	if a == nil {
		return nil
	}
	return &ismsv1.DocumentApproval{Attestation: a.Attestation, Version: a.Version, SHA256: a.SHA256,
		ApprovedBy: a.By, ApprovedAt: timeRef(a.At)}
}

// documentVerdict is the Reviewed condition of a standing: status, reason and message.
func documentVerdict(doc *ismsv1.Document, control string, st document.State, f *ismsv1.FindingReference) (metav1.ConditionStatus, string, string) {
	submit := fmt.Sprintf("kubectl isms attest %s --document %s", control, doc.Name)
	a := st.Approval
	switch st.Phase {
	case document.Current:
		return metav1.ConditionTrue, ismsv1.ReasonReviewCurrent, fmt.Sprintf("Version %s approved by %s at %s (attestation %s of control %s); next review due %s.",
			a.Version, a.By, rfc3339(a.At), a.Attestation, control, rfc3339(st.NextReview))
	case document.ReviewDue:
		return metav1.ConditionTrue, ismsv1.ReasonReviewDue, fmt.Sprintf("Review due %s: submit control %s's next attestation with this document (%s).",
			rfc3339(st.NextReview), control, submit)
	case document.Overdue:
		if st.Control.Standing != attestation.Expired {
			return metav1.ConditionFalse, ismsv1.ReasonReviewOverdue, fmt.Sprintf("Review was due %s; control %s fails and opens a Finding at %s unless a review is approved (%s).",
				rfc3339(st.NextReview), control, rfc3339(st.FailsAt), submit)
		}
		return metav1.ConditionFalse, ismsv1.ReasonReviewExpired, fmt.Sprintf("Review was due %s; control %s has failed since %s with %s (%s).",
			rfc3339(st.NextReview), control, rfc3339(st.FailsAt), findingText(f), submit)
	case document.VersionChanged:
		return metav1.ConditionFalse, ismsv1.ReasonVersionChanged, fmt.Sprintf("The content (sha256 %s) is not the one approved by %s in attestation %s (sha256 %s, version %s): submit a review of this version (%s).",
			short(doc.Spec.Location.SHA256), a.By, a.Attestation, short(a.SHA256), orUnknown(a.Version), submit)
	}
	if a != nil {
		return metav1.ConditionFalse, ismsv1.ReasonNotInAttestationInForce, fmt.Sprintf("Approved by %s in attestation %s, which the attestation in force of control %s superseded without this document: include it in the next one (%s).",
			a.By, a.Attestation, control, submit)
	}
	return metav1.ConditionFalse, ismsv1.ReasonNeverApproved, fmt.Sprintf("No approved attestation of control %s includes this document (sha256 %s): submit one (%s) for an approver to approve.",
		control, short(doc.Spec.Location.SHA256), submit)
}

func findingText(f *ismsv1.FindingReference) string {
	if f == nil {
		return "its Finding (being opened)"
	}
	return fmt.Sprintf("Finding %s/%s open", f.Namespace, f.Name)
}

func short(sum string) string { return sum[:min(len(sum), 12)] }

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// announcePhase records a change of phase as an Event on the Document.
func (r *DocumentReconciler) announcePhase(original, doc *ismsv1.Document) {
	if original.Status.Phase == doc.Status.Phase {
		return
	}
	kind, reason := corev1.EventTypeWarning, ""
	switch doc.Status.Phase {
	case ismsv1.DocumentCurrent:
		kind, reason = corev1.EventTypeNormal, ismsv1.EventDocumentApproved
	case ismsv1.DocumentReviewDue:
		kind, reason = corev1.EventTypeNormal, ismsv1.EventDocumentReviewDue
	case ismsv1.DocumentOverdue:
		reason = ismsv1.EventDocumentOverdue
	case ismsv1.DocumentVersionChanged:
		reason = ismsv1.EventDocumentVersionChanged
	default:
		if original.Status.Phase == "" {
			return // a new Document awaiting its first review is no news
		}
		reason = ismsv1.EventDocumentNotApproved
	}
	message := ""
	if c := meta.FindStatusCondition(doc.Status.Conditions, ismsv1.ConditionReviewed); c != nil {
		message = c.Message
	}
	r.Recorder.Eventf(doc, nil, kind, reason, "Review", "%s", message)
}
