package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/finding"
)

// syncFindings writes, for every namespace where the control fails or has a Finding, the
// Finding the evidence calls for, and returns how many are open. A namespace that fails to
// sync does not stop the others.
func (r *ControlReconciler) syncFindings(ctx context.Context, control *ismsv1.Control) (int, error) {
	var list ismsv1.FindingList
	if err := r.List(ctx, &list, client.MatchingLabels{ismsv1.LabelControl: control.Name}); err != nil {
		return 0, fmt.Errorf("listing findings: %w", err)
	}
	existing := make(map[string]*ismsv1.Finding, len(list.Items))
	for i := range list.Items {
		existing[list.Items[i].Namespace] = &list.Items[i]
	}
	namespaces := map[string]bool{}
	for ns := range existing {
		namespaces[ns] = true
	}
	for _, ns := range r.Evaluator.Summarize(control.Name).FailingNamespaces {
		namespaces[ns] = true
	}

	open := 0
	var errs []error
	for _, ns := range slices.Sorted(maps.Keys(namespaces)) {
		state, err := r.syncFinding(ctx, control, ns, existing[ns])
		if err != nil {
			errs = append(errs, fmt.Errorf("namespace %s: %w", ns, err))
		}
		if state == ismsv1.FindingOpen {
			open++
		}
	}
	return open, errors.Join(errs...)
}

// syncFinding creates or updates the Finding of one (control, namespace) and returns its state.
func (r *ControlReconciler) syncFinding(ctx context.Context, control *ismsv1.Control, ns string, current *ismsv1.Finding) (ismsv1.FindingState, error) {
	failures, observedAt := r.Evaluator.Failures(control.Name, ns)
	evidence := finding.Evidence{
		Failing:      findingSubjects(failures),
		ObservedAt:   observedAt,
		PolicyDigest: control.Status.PolicyDigest,
	}

	if current == nil {
		next, transition := finding.Next(ismsv1.FindingStatus{}, evidence, r.Now())
		if transition != finding.Opened {
			return "", nil
		}
		f := newFinding(control, ns)
		if err := controllerutil.SetControllerReference(control, f, r.Scheme()); err != nil {
			return "", fmt.Errorf("setting owner: %w", err)
		}
		if err := r.Create(ctx, f); err != nil {
			return "", fmt.Errorf("creating finding: %w", err)
		}
		f.Status = next
		if err := r.Status().Update(ctx, f); err != nil {
			return "", fmt.Errorf("recording finding status: %w", err)
		}
		r.recordTransition(f, transition)
		return next.State, nil
	}

	f := current.DeepCopy()
	if desired := newFinding(control, ns); !equality.Semantic.DeepEqual(f.Spec, desired.Spec) || !hasLabels(f.Labels, desired.Labels) {
		f.Spec = desired.Spec
		if f.Labels == nil {
			f.Labels = map[string]string{}
		}
		maps.Copy(f.Labels, desired.Labels)
		if err := r.Update(ctx, f); err != nil {
			return current.Status.State, fmt.Errorf("updating finding: %w", err)
		}
	}
	next, transition := finding.Next(f.Status, evidence, r.Now())
	if equality.Semantic.DeepEqual(next, f.Status) {
		return next.State, nil
	}
	f.Status = next
	if err := r.Status().Update(ctx, f); err != nil {
		if apierrors.IsConflict(err) {
			return current.Status.State, fmt.Errorf("finding changed while syncing, will retry: %w", err)
		}
		return current.Status.State, fmt.Errorf("updating finding status: %w", err)
	}
	r.recordTransition(f, transition)
	return next.State, nil
}

func (r *ControlReconciler) recordTransition(f *ismsv1.Finding, t finding.Transition) {
	switch t {
	case finding.Opened:
		r.Recorder.Eventf(f, nil, "Warning", "FindingOpened", "Evaluate", f.Status.Message)
	case finding.Reopened:
		r.Recorder.Eventf(f, nil, "Warning", "FindingReopened", "Evaluate", "Reopened (%d time(s)): %s", f.Status.ReopenCount, f.Status.Message)
	case finding.Resolved:
		r.Recorder.Eventf(f, nil, "Normal", "FindingResolved", "Evaluate", f.Status.Message)
	}
}

// newFinding is the Finding a control raises in a namespace, without status.
func newFinding(control *ismsv1.Control, ns string) *ismsv1.Finding {
	return &ismsv1.Finding{
		ObjectMeta: metav1.ObjectMeta{
			// One Finding per (control, namespace), named after the control: raising it again
			// finds the same object.
			Name:      control.Name,
			Namespace: ns,
			Labels: map[string]string{
				ismsv1.LabelControl:  control.Name,
				ismsv1.LabelSeverity: string(control.Spec.Severity),
			},
		},
		Spec: ismsv1.FindingSpec{
			Control:    control.Name,
			ControlID:  control.Spec.ID,
			Title:      control.Spec.Title,
			Severity:   control.Spec.Severity,
			Frameworks: control.Spec.Frameworks,
		},
	}
}

func findingSubjects(results []evaluation.SubjectResult) []finding.Subject {
	out := make([]finding.Subject, 0, len(results))
	for _, res := range results {
		s := finding.Subject{
			APIVersion: res.Subject.APIVersion,
			Kind:       res.Subject.Kind,
			Name:       res.Subject.Name,
			UID:        string(res.Subject.UID),
		}
		for _, v := range res.Violations {
			s.Messages = append(s.Messages, v.Message)
		}
		out = append(out, s)
	}
	return out
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
