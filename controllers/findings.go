package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/finding"
)

// findingControlIndex indexes Findings by the Control that raised them, so that listing one
// control's Findings reads only those instead of scanning every Finding in the cache.
const findingControlIndex = "spec.control"

// findingWriters bounds the Findings of one control written at once.
const findingWriters = 8

// syncFindings brings the control's Findings in line with its results, in the namespaces the
// evaluator marked dirty since the last sync (all of them, and every existing Finding of the
// control, after a sweep). It returns how many of the control's Findings are open. A namespace
// that fails to sync does not stop the others and is marked dirty again.
func (r *ControlReconciler) syncFindings(ctx context.Context, control *ismsv1.Control) (int, error) {
	dirty, all := r.Evaluator.TakeDirty(control.Name)
	namespaces := map[string]bool{}
	for _, ns := range dirty {
		namespaces[ns] = true
	}
	if all {
		var list ismsv1.FindingList
		if err := r.List(ctx, &list, client.MatchingFields{findingControlIndex: control.Name}); err != nil {
			r.Evaluator.MarkDirty(control.Name, dirty...)
			return 0, fmt.Errorf("listing findings: %w", err)
		}
		for i := range list.Items {
			namespaces[list.Items[i].Namespace] = true
		}
	}

	// Findings are written a few at a time: after a sweep, each write waits on the API server
	// and etcd rather than on CPU.
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, findingWriters)
	)
	for _, ns := range slices.Sorted(maps.Keys(namespaces)) {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := r.syncFinding(ctx, control, ns); err != nil {
				r.Evaluator.MarkDirty(control.Name, ns)
				mu.Lock()
				errs = append(errs, fmt.Errorf("namespace %s: %w", ns, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// A control's Finding is open exactly where it has failing subjects, once synced.
	return len(r.Evaluator.Summarize(control.Name).FailingNamespaces), errors.Join(errs...)
}

// syncFinding creates or updates the Finding of one (control, namespace).
func (r *ControlReconciler) syncFinding(ctx context.Context, control *ismsv1.Control, ns string) error {
	var current *ismsv1.Finding
	var existing ismsv1.Finding
	switch err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: control.Name}, &existing); {
	case err == nil:
		current = &existing
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("reading finding: %w", err)
	}
	failures, observedAt := r.Evaluator.Failures(control.Name, ns)
	evidence := finding.Evidence{
		Failing:      findingSubjects(failures),
		ObservedAt:   observedAt,
		PolicyDigest: control.Status.PolicyDigest,
	}

	if current == nil {
		next, transition := finding.Next(ismsv1.FindingStatus{}, evidence, r.Now())
		if transition != finding.Opened {
			return nil
		}
		f := newFinding(control, ns)
		if err := controllerutil.SetControllerReference(control, f, r.Scheme()); err != nil {
			return fmt.Errorf("setting owner: %w", err)
		}
		err := r.Create(ctx, f)
		switch {
		case err == nil:
			f.Status = next
			if err := r.Status().Update(ctx, f); err != nil {
				return fmt.Errorf("recording finding status: %w", err)
			}
			r.recordTransition(f, transition)
			return nil
		case apierrors.IsAlreadyExists(err):
			// Created by an earlier sync that the cache has not seen yet: read it from the API
			// server and update it below.
			if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ns, Name: control.Name}, &existing); err != nil {
				return fmt.Errorf("reading finding: %w", err)
			}
			current = &existing
		default:
			return fmt.Errorf("creating finding: %w", err)
		}
	}

	f := current
	if desired := newFinding(control, ns); !equality.Semantic.DeepEqual(f.Spec, desired.Spec) || !hasLabels(f.Labels, desired.Labels) {
		f.Spec = desired.Spec
		if f.Labels == nil {
			f.Labels = map[string]string{}
		}
		maps.Copy(f.Labels, desired.Labels)
		if err := r.Update(ctx, f); err != nil {
			return fmt.Errorf("updating finding: %w", err)
		}
	}
	next, transition := finding.Next(f.Status, evidence, r.Now())
	if equality.Semantic.DeepEqual(next, f.Status) {
		return nil
	}
	f.Status = next
	if err := r.Status().Update(ctx, f); err != nil {
		if apierrors.IsConflict(err) {
			return fmt.Errorf("finding changed while syncing, will retry: %w", err)
		}
		return fmt.Errorf("updating finding status: %w", err)
	}
	r.recordTransition(f, transition)
	return nil
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
