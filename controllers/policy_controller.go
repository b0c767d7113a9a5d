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
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/params"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// PolicyReconciler reports whether a Policy can be used: its Rego compiles through the
// operator's engine (sandbox included) and its parametersSchema is a usable object schema.
// Controls that reference the Policy are re-evaluated by the Control controller, which watches
// Policies too.
type PolicyReconciler struct {
	client.Client
	// Engine is the Control controller's, so that a Policy compiles exactly as its Controls do
	// and its compiled form is shared with them (the engine caches by digest).
	Engine   *policy.Engine
	Recorder events.EventRecorder
}

// +kubebuilder:rbac:groups=isms.dev,resources=policies,verbs=get;list;watch
// +kubebuilder:rbac:groups=isms.dev,resources=policies/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// SetupPolicyWithManager adds the Policy controller to mgr, compiling with engine, and indexes
// Controls by the Policy they reference (for the Control controller's Policy watch).
// SetupWithManager calls it with the Control controller's engine.
func SetupPolicyWithManager(mgr ctrl.Manager, engine *policy.Engine) error {
	if err := indexControlsByPolicy(mgr); err != nil {
		return fmt.Errorf("indexing controls by policy: %w", err)
	}
	r := &PolicyReconciler{
		Client:   mgr.GetClient(),
		Engine:   engine,
		Recorder: eventRecorder(mgr),
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&ismsv1.Policy{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("policy").
		WithOptions(controllerOptions(1)).
		Complete(r)
}

// Reconcile compiles one Policy, checks its schema and writes its Ready condition and digest.
func (r *PolicyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var p ismsv1.Policy
	if err := r.Get(ctx, req.NamespacedName, &p); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("getting policy: %w", err)
	}
	if !p.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	original := p.DeepCopy()

	ready := metav1.Condition{Type: ismsv1.ConditionReady, ObservedGeneration: p.Generation}
	compiled, err := r.Engine.Compile(ctx, p.Spec.Rego)
	var ce *policy.CompileError
	switch {
	case errors.As(err, &ce):
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, ismsv1.ReasonCompileError, ce.Message
	case err != nil:
		return ctrl.Result{}, err // not the policy's fault: retry with backoff
	default:
		if err := params.CheckSchema(params.SchemaJSON(&p)); err != nil {
			ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, ismsv1.ReasonInvalidSchema, err.Error()
		} else {
			ready.Status, ready.Reason = metav1.ConditionTrue, ismsv1.ReasonCompiled
			ready.Message = fmt.Sprintf("Policy %s compiled.", compiled.Package)
		}
	}
	p.Status.ObservedGeneration = p.Generation
	p.Status.Digest = policy.Digest(p.Spec.Rego)
	ready.Message = policy.Truncate(ready.Message, maxNoteLen)
	meta.SetStatusCondition(&p.Status.Conditions, ready)

	if equality.Semantic.DeepEqual(original.Status, p.Status) {
		return ctrl.Result{}, nil
	}
	if err := r.Status().Patch(ctx, &p, client.MergeFrom(original)); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("patching policy status: %w", err)
	}
	if ready.Status == metav1.ConditionFalse {
		if prev := meta.FindStatusCondition(original.Status.Conditions, ismsv1.ConditionReady); prev == nil || prev.Reason != ready.Reason || prev.Message != ready.Message {
			r.Recorder.Eventf(&p, nil, corev1.EventTypeWarning, ready.Reason, "Compile", "%s", ready.Message)
		}
	}
	return ctrl.Result{}, nil
}
