package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/attestation"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/finding"
	"github.com/isms-operator/isms-operator/internal/schedule"
)

// An attested Control (spec.attestation) has no policy, targets, watches or sweeps: its
// result is attestation.Evaluate over its Attestations. Its one "subject" is the Control
// itself, so that an expired attestation opens a Finding through the same lifecycle as any
// failing subject (due date, Overdue, acknowledgement); like the Findings of cluster-scoped
// subjects, that Finding lives in the operator's namespace.

// attestationControlIndex indexes Attestations by the Control they attest.
const attestationControlIndex = "spec.control"

// +kubebuilder:rbac:groups=isms.dev,resources=attestations,verbs=get;list;watch
// +kubebuilder:rbac:groups=isms.dev,resources=attestations/status,verbs=get;update;patch

// indexAttestations registers the index the attested reconcile lists by.
func indexAttestations(mgr ctrl.Manager) error {
	return mgr.GetFieldIndexer().IndexField(context.Background(), &ismsv1.Attestation{}, attestationControlIndex, func(obj client.Object) []string {
		return []string{obj.(*ismsv1.Attestation).Spec.Control}
	})
}

// controlOfAttestation queues the Control an Attestation attests.
func controlOfAttestation(_ context.Context, obj client.Object) []reconcile.Request {
	a, ok := obj.(*ismsv1.Attestation)
	if !ok || a.Spec.Control == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: a.Spec.Control}}}
}

// reconcileAttested is the first phase: it passes an evaluated Control on to the policy
// phases, and reconciles an attested one entirely, ending the chain.
func (r *ControlReconciler) reconcileAttested(ctx context.Context, s *controlScope) (bool, error) {
	control := s.control
	if !control.IsAttested() {
		return false, nil
	}
	// It may have been evaluated before its spec changed to attested.
	r.Evaluator.RemoveControl(control.Name)
	sched, err := attestation.ScheduleOf(control.Spec.Attestation)
	if err != nil {
		return true, reconcile.TerminalError(fmt.Errorf("control %s: spec.attestation: %w", control.Name, err))
	}
	var list ismsv1.AttestationList
	if err := r.List(ctx, &list, client.MatchingFields{attestationControlIndex: control.Name}); err != nil {
		return true, fmt.Errorf("listing attestations: %w", err)
	}
	now := r.Now()
	st := attestation.Evaluate(sched, attestation.RecordsOf(list.Items), now)
	stepsLeft, recordErr := r.recordAttestations(ctx, control, list.Items, st)
	wake, syncErr := r.syncAttestedFindings(ctx, control, st, now)
	openFindings := 0
	if st.Standing == attestation.Expired {
		openFindings = 1
	}
	r.setAttestedResult(s, st, openFindings, now)
	r.recordAttestedEvidence(s, st)
	s.observed = true
	next := schedule.Earliest(st.Next, wake)
	if !next.IsZero() {
		s.result.RequeueAfter = schedule.Sooner(s.result.RequeueAfter, max(schedule.WakeSlack, next.Sub(now)+schedule.WakeSlack))
	}
	if stepsLeft {
		s.result.RequeueAfter = schedule.Sooner(s.result.RequeueAfter, evidenceRetry)
	}
	return true, errors.Join(recordErr, syncErr)
}

// syncAttestedFindings brings the control's Findings in line with its standing: open in the
// operator's namespace while the control is Expired, resolved otherwise; a Finding left in
// another namespace from when the control was evaluated resolves. It returns when the next of
// them changes with time alone.
func (r *ControlReconciler) syncAttestedFindings(ctx context.Context, control *ismsv1.Control, st attestation.State, now time.Time) (time.Time, error) {
	home := r.Evaluator.NamespaceOf(evaluation.SubjectRef{})
	var list ismsv1.FindingList
	if err := r.List(ctx, &list, client.MatchingFields{findingControlIndex: control.Name}); err != nil {
		return time.Time{}, fmt.Errorf("listing findings: %w", err)
	}
	namespaces := map[string]bool{home: true}
	for i := range list.Items {
		namespaces[list.Items[i].Namespace] = true
	}
	var errs []error
	for _, ns := range slices.Sorted(maps.Keys(namespaces)) {
		ev := finding.Evidence{ObservedAt: now, Severity: control.Spec.Severity}
		if ns == home && st.Standing == attestation.Expired {
			ev.Failing = []finding.Subject{attestedSubject(control, st)}
		}
		wake, err := r.syncFindingEvidence(ctx, r.Client, control, ns, ev)
		if apierrors.IsConflict(err) {
			wake, err = r.syncFindingEvidence(ctx, r.APIReader, control, ns, ev)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("namespace %s: %w", ns, err))
			continue
		}
		r.wakes.set(control.Name, ns, wake)
	}
	return r.wakes.next(control.Name), errors.Join(errs...)
}

// attestedSubject is the failing subject of an expired attested control: the Control itself.
func attestedSubject(control *ismsv1.Control, st attestation.State) finding.Subject {
	msg := fmt.Sprintf("No attestation in force: %s, approved by %s, expired at %s (period and grace over). "+
		"Submit a new one (kubectl isms attest %s) for an approver to approve.",
		st.Current.Name, st.Current.DecidedBy, st.FailsAt.UTC().Format(time.RFC3339), control.Name)
	return finding.Subject{APIVersion: ismsv1.GroupVersion.String(), Kind: "Control", Name: control.Name,
		UID: string(control.UID), Messages: []string{msg}}
}

// attestedVerdict is the result, Compliant reason and message of a standing.
func attestedVerdict(st attestation.State) (ismsv1.ControlResult, string, string) {
	switch st.Standing {
	case attestation.Current:
		return ismsv1.ResultPass, ismsv1.ReasonAttestationCurrent, fmt.Sprintf("Attestation %s, approved by %s, is current; renewal is due from %s.", st.Current.Name, st.Current.DecidedBy, rfc3339(st.RenewAt))
	case attestation.RenewalDue:
		return ismsv1.ResultPass, ismsv1.ReasonRenewalDue, fmt.Sprintf("Attestation %s is current until %s: submit its renewal.", st.Current.Name, rfc3339(st.DueAt))
	case attestation.InGrace:
		return ismsv1.ResultPass, ismsv1.ReasonInGrace, fmt.Sprintf("Attestation %s's period ended at %s; the control fails at %s unless a renewal is approved.", st.Current.Name, rfc3339(st.DueAt), rfc3339(st.FailsAt))
	case attestation.Expired:
		return ismsv1.ResultFail, ismsv1.ReasonAttestationExpired, fmt.Sprintf("Attestation %s expired at %s; no approved attestation is in force.", st.Current.Name, rfc3339(st.FailsAt))
	}
	return ismsv1.ResultPending, ismsv1.ReasonNeverAttested, fmt.Sprintf("No approved attestation yet (%d awaiting approval).", len(st.Awaiting))
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
