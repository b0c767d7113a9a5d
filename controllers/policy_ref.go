package controllers

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/params"
)

// controlPolicyIndex indexes Controls by the Policy their spec.policy.ref names, so that a
// Policy that changes (or appears, or goes) finds its Controls in the cache.
const controlPolicyIndex = "spec.policy.ref.name"

// indexControlsByPolicy registers controlPolicyIndex; the manager must not have started.
func indexControlsByPolicy(mgr ctrl.Manager) error {
	return mgr.GetFieldIndexer().IndexField(context.Background(), &ismsv1.Control{}, controlPolicyIndex, func(obj client.Object) []string {
		if ref := obj.(*ismsv1.Control).Spec.Policy.Ref; ref != nil {
			return []string{ref.Name}
		}
		return nil
	})
}

// referencedPolicy reads the Policy the control's spec.policy.ref names from the cache: nil
// for inline Rego or a Policy that does not exist (evaluation.Define says PolicyNotFound).
func (r *ControlReconciler) referencedPolicy(ctx context.Context, control *ismsv1.Control) (*ismsv1.Policy, error) {
	return referencedPolicy(ctx, r.Client, control)
}

// referencedPolicy reads the Policy the control's spec.policy.ref names with reader, for the
// reconciler and the admission webhook alike.
func referencedPolicy(ctx context.Context, reader client.Reader, control *ismsv1.Control) (*ismsv1.Policy, error) {
	ref := control.Spec.Policy.Ref
	if ref == nil {
		return nil, nil
	}
	var p ismsv1.Policy
	switch err := reader.Get(ctx, types.NamespacedName{Name: ref.Name}, &p); {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("getting policy %s: %w", ref.Name, err) // retried with backoff
	}
	return &p, nil
}

// policyUnusable records a control whose spec.policy.ref cannot be used. A missing Policy is
// waited for: the Policy watch queues the control when it is created. Invalid parameters or an
// invalid schema are terminal until the Control or the Policy changes, which queues it again.
func (r *ControlReconciler) policyUnusable(s *controlScope, pe *params.Error) error {
	r.setNotReady(s, pe.Reason, pe.Message)
	if pe.Reason == ismsv1.ReasonPolicyNotFound {
		return nil
	}
	return reconcile.TerminalError(fmt.Errorf("control %s: %w", s.control.Name, pe))
}

// controlsOfPolicy maps a Policy to the Controls that reference it.
func (r *ControlReconciler) controlsOfPolicy(ctx context.Context, obj client.Object) []reconcile.Request {
	var controls ismsv1.ControlList
	if err := r.List(ctx, &controls, client.MatchingFields{controlPolicyIndex: obj.GetName()}); err != nil {
		logf.FromContext(ctx).Error(err, "Listing the controls of a policy", "policy", obj.GetName())
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(controls.Items))
	for _, c := range controls.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: c.Name}})
	}
	return reqs
}
