package controllers

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/params"
	"github.com/isms-operator/isms-operator/internal/policy"
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

// compilePolicy compiles the Rego the control applies: inline, or that of the Policy its
// spec.policy.ref names, read from the cache, with spec.parameters validated against the
// Policy's parametersSchema. A *params.Error says why a reference cannot be used; a
// *policy.CompileError why the Rego does not compile.
func (r *ControlReconciler) compilePolicy(ctx context.Context, control *ismsv1.Control) (*policy.Policy, error) {
	ref := control.Spec.Policy.Ref
	var rego string
	var err error
	if ref == nil {
		rego, err = params.Resolve(control, nil)
	} else {
		var p ismsv1.Policy
		switch getErr := r.Get(ctx, types.NamespacedName{Name: ref.Name}, &p); {
		case apierrors.IsNotFound(getErr):
			rego, err = params.Resolve(control, nil)
		case getErr != nil:
			return nil, fmt.Errorf("getting policy %s: %w", ref.Name, getErr) // retried with backoff
		default:
			rego, err = params.Resolve(control, &p)
		}
	}
	if err != nil {
		return nil, err
	}
	compiled, err := r.Engine.Compile(ctx, rego)
	var ce *policy.CompileError
	if ref != nil && errors.As(err, &ce) {
		return nil, &policy.CompileError{Message: fmt.Sprintf("Policy %s: %s", ref.Name, ce.Message)}
	}
	return compiled, err
}

// policyUnusable records a control whose spec.policy.ref cannot be used. A missing Policy is
// waited for: the Policy watch queues the control when it is created. Invalid parameters or an
// invalid schema are terminal until the Control or the Policy changes, which queues it again.
func (r *ControlReconciler) policyUnusable(control *ismsv1.Control, pe *params.Error) (ctrl.Result, error) {
	setNotReady(control, pe.Reason, pe.Message)
	control.Status.ObservedGeneration = control.Generation
	if pe.Reason == ismsv1.ReasonPolicyNotFound {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, reconcile.TerminalError(fmt.Errorf("control %s: %w", control.Name, pe))
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
