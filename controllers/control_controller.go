// Package controllers moves data between the API server and the pure core under internal/:
// it watches what Controls target, feeds the evaluator, and writes back Control statuses and
// Findings. The decisions themselves (what complies, what a Finding says) are made in
// internal/evaluation and internal/finding.
package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/finding"
	"github.com/isms-operator/isms-operator/internal/params"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// How long to wait before looking again at a control whose targets cannot be resolved or
// watched yet. A watch that syncs, or a Control that changes, triggers a reconcile sooner.
const (
	unresolvedRetry   = 30 * time.Second
	watchPendingRetry = 10 * time.Second
)

// ControlReconciler evaluates Controls and keeps their status and Findings current.
type ControlReconciler struct {
	client.Client
	// APIReader reads from the API server directly, for what the cache may not have seen yet.
	APIReader client.Reader
	Engine    *policy.Engine
	Evaluator *evaluation.Evaluator
	Watches   *Watches
	Sweeper   *Sweeper
	Recorder  events.EventRecorder
	Metrics   *Metrics
	Now       func() time.Time
	// Workflow sets Findings' due dates and how long resolved ones are kept.
	Workflow finding.Workflow

	// exceptions records what the control reconciles learn about ControlExceptions.
	exceptions *exceptionMatches

	// wakes holds when each Finding next falls due or expires.
	wakes *wakeTimes
	// versions tells when the cache has not caught up with the operator's own Finding writes.
	versions *findingVersions

	// enqueue carries controls whose results changed between reconciles (object events).
	enqueue chan event.GenericEvent
	// pacer spaces out status writes that only move counts.
	pacer statusPacer
}

// +kubebuilder:rbac:groups=isms.dev,resources=controls,verbs=get;list;watch
// +kubebuilder:rbac:groups=isms.dev,resources=controls/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=isms.dev,resources=controls/finalizers,verbs=update
// +kubebuilder:rbac:groups=isms.dev,resources=findings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=isms.dev,resources=findings/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=isms.dev,resources=policies,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
//
// What controls may target by default: read-only, and never Secrets. Further kinds are granted
// by ClusterRoles labelled isms.dev/aggregate-to-reader=true (see config/rbac).
// +kubebuilder:rbac:groups="",resources=namespaces;pods;services;serviceaccounts,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets;replicasets,verbs=get;list;watch
// +kubebuilder:rbac:groups=batch,resources=jobs;cronjobs,verbs=get;list;watch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies;ingresses,verbs=get;list;watch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings;clusterroles;clusterrolebindings,verbs=get;list;watch
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch

// Reconcile brings one Control's status and Findings in line with the evaluation of its policy.
func (r *ControlReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := logf.FromContext(ctx)

	var control ismsv1.Control
	if err := r.Get(ctx, req.NamespacedName, &control); err != nil {
		if apierrors.IsNotFound(err) {
			// Its Findings go with it: they carry an owner reference.
			r.forget(req.Name)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("getting control: %w", err)
	}
	if !control.DeletionTimestamp.IsZero() {
		r.forget(control.Name)
		return ctrl.Result{}, nil
	}
	original := control.DeepCopy()

	result, err := r.evaluate(ctx, &control)
	if wait := r.pacer.wait(control.Name, &original.Status, &control.Status, r.Now()); wait > 0 && err == nil {
		// Only counts moved, and the status was written moments ago: a later reconcile writes them.
		if result.RequeueAfter == 0 || wait < result.RequeueAfter {
			result.RequeueAfter = wait
		}
		return result, nil
	}
	if perr := r.patchStatus(ctx, original, &control); perr != nil {
		return ctrl.Result{}, errors.Join(err, perr)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	log.V(1).Info("Control reconciled", "result", control.Status.Result, "failing", control.Status.FailingSubjects, "requeueAfter", result.RequeueAfter)
	return result, nil
}

// evaluate runs the phases of a reconcile and fills in control.Status. It returns a terminal
// error for a spec that cannot succeed until it is edited.
func (r *ControlReconciler) evaluate(ctx context.Context, control *ismsv1.Control) (ctrl.Result, error) {
	status := &control.Status
	def, err := r.define(ctx, control)
	if err != nil {
		r.Evaluator.RemoveControl(control.Name)
		if pe := (*params.Error)(nil); errors.As(err, &pe) {
			return r.policyUnusable(control, pe)
		}
		var ce *policy.CompileError
		if !errors.As(err, &ce) {
			return ctrl.Result{}, err // not the policy's fault: retry with backoff
		}
		setNotReady(control, ismsv1.ReasonCompileError, ce.Message)
		status.ObservedGeneration = control.Generation
		return ctrl.Result{}, reconcile.TerminalError(fmt.Errorf("control %s: %w", control.Name, err))
	}
	status.PolicyDigest = def.Policy.Digest

	kinds := append(evaluation.GroupKinds(control.Spec.Targets.Kinds), evaluation.GroupKinds(control.Spec.Inventory)...)
	if err := r.Watches.Ensure(ctx, kinds); err != nil {
		r.Evaluator.RemoveControl(control.Name)
		setNotReady(control, ismsv1.ReasonTargetsUnresolved, err.Error())
		status.ObservedGeneration = control.Generation
		return ctrl.Result{RequeueAfter: unresolvedRetry}, nil
	}
	if err := r.Evaluator.SetControl(def); err != nil {
		setNotReady(control, ismsv1.ReasonTargetsUnresolved, err.Error())
		return ctrl.Result{}, reconcile.TerminalError(err)
	}
	if err := r.Evaluator.LoadInventory(ctx, evaluation.GroupKinds(control.Spec.Inventory), r.Watches.List); err != nil {
		return ctrl.Result{}, fmt.Errorf("loading the inventory: %w", err)
	}
	if synced, waiting := r.Watches.Synced(kinds); !synced {
		setCondition(control, ismsv1.ConditionPolicyReady, metav1.ConditionFalse, ismsv1.ReasonWatchPending, "Waiting for watches: "+waiting)
		if status.Result == "" || status.Result == ismsv1.ResultError {
			status.Result = ismsv1.ResultPending
		}
		return ctrl.Result{RequeueAfter: watchPendingRetry}, nil
	}
	setCondition(control, ismsv1.ConditionPolicyReady, metav1.ConditionTrue, ismsv1.ReasonCompiled,
		fmt.Sprintf("Policy %s compiled; watching %d kind(s).", def.Policy.Package, len(kinds)))

	interval := sweepInterval(control)
	// One summary for the whole reconcile: Summarize walks every failing and erroring subject.
	// An event that lands after it queues the control again.
	sum := r.Evaluator.Summarize(control.Name)
	sweeping := r.requestSweepIfDue(control, interval, sum.LastSweep)
	exceptions, nextExpiry, err := r.activeExceptions(ctx, control.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	wake, syncErr := r.syncFindings(ctx, control, exceptions)
	if !nextExpiry.IsZero() && (wake.IsZero() || nextExpiry.Before(wake)) {
		wake = nextExpiry // when an exception expires, its subjects fail again at once
	}

	// A control's Finding is open exactly where it has failing subjects that no exception
	// exempts, once synced.
	sum, excepted := r.exceptedSummary(control.Name, exceptions, sum)
	openFindings := len(sum.FailingNamespaces)
	status.ExceptedSubjects = int32(excepted)
	r.setResult(control, sum, openFindings)
	status.ObservedGeneration = control.Generation
	r.Metrics.SetControl(control.Name, status.Result, control.Spec.Severity, openFindings)
	if syncErr != nil {
		return ctrl.Result{}, fmt.Errorf("syncing findings: %w", syncErr)
	}
	// Wake for the next sweep or for the next Finding falling due, whichever comes first.
	var after time.Duration
	if !sweeping { // otherwise the sweeper queues the control when its sweep is done
		after = max(time.Second, interval-r.Now().Sub(sum.LastSweep))
	}
	if !wake.IsZero() {
		untilWake := max(100*time.Millisecond, wake.Sub(r.Now())+100*time.Millisecond)
		if after == 0 || untilWake < after {
			after = untilWake
		}
	}
	return ctrl.Result{RequeueAfter: after}, nil
}

// define compiles the control's policy (inline, or the Policy its spec.policy.ref names, read
// from the cache) and parameters into what the evaluator needs, as kubectl isms eval does.
func (r *ControlReconciler) define(ctx context.Context, control *ismsv1.Control) (evaluation.ControlDefinition, error) {
	referenced, err := r.referencedPolicy(ctx, control)
	if err != nil {
		return evaluation.ControlDefinition{}, err
	}
	return evaluation.Define(ctx, r.Engine, control, referenced)
}

// requestSweepIfDue asks the sweeper to evaluate the control against all its subjects when
// its spec changed, when an object its policy reads from the inventory changed, or when its
// interval has passed. It reports whether a sweep is requested or under way; until it ends,
// the control's Findings and status follow its previous results and its events.
func (r *ControlReconciler) requestSweepIfDue(control *ismsv1.Control, interval time.Duration, lastSweep time.Time) bool {
	if r.Sweeper.Busy(control.Name) {
		return true
	}
	if !r.Evaluator.NeedsSweep(control.Name) && r.Now().Sub(lastSweep) < interval {
		return false
	}
	r.Sweeper.Request(control.Name, evaluation.GroupKinds(control.Spec.Targets.Kinds))
	return true
}

// setResult fills in the result, counts and Compliant condition, with an Event when the
// control starts failing or passes again.
func (r *ControlReconciler) setResult(control *ismsv1.Control, sum evaluation.Summary, openFindings int) {
	status := &control.Status
	verdict := evaluation.Judge(sum)
	previous := status.Result
	status.Result = verdict.Result
	status.EvaluatedSubjects = int32(sum.Evaluated)
	status.FailingSubjects = int32(sum.Failing)
	status.ErroredSubjects = int32(sum.Errored)
	status.OpenFindings = int32(openFindings)
	if !sum.LastSweep.IsZero() {
		status.LastSweep = timeRef(sum.LastSweep)
	}
	// lastEvaluated moves on every event; writing it each time would turn every change of a
	// watched object into a status write. It is kept to the minute unless the result moves.
	if !sum.LastEvaluated.IsZero() && (status.LastEvaluated == nil || previous != verdict.Result ||
		sum.LastEvaluated.Sub(status.LastEvaluated.Time) >= time.Minute) {
		status.LastEvaluated = timeRef(sum.LastEvaluated)
	}

	switch verdict.Result {
	case ismsv1.ResultPass, ismsv1.ResultNotApplicable:
		setCondition(control, ismsv1.ConditionCompliant, metav1.ConditionTrue, verdict.Reason, verdict.Message)
	case ismsv1.ResultPending:
		setCondition(control, ismsv1.ConditionCompliant, metav1.ConditionUnknown, verdict.Reason, verdict.Message)
	default:
		setCondition(control, ismsv1.ConditionCompliant, metav1.ConditionFalse, verdict.Reason, verdict.Message)
	}

	switch {
	case previous == verdict.Result:
	case verdict.Result == ismsv1.ResultFail:
		r.Recorder.Eventf(control, nil, "Warning", "ControlFailing", "Evaluate", verdict.Message)
	case verdict.Result == ismsv1.ResultError:
		r.Recorder.Eventf(control, nil, "Warning", "ControlError", "Evaluate", verdict.Message)
	case verdict.Result == ismsv1.ResultPass && (previous == ismsv1.ResultFail || previous == ismsv1.ResultError):
		r.Recorder.Eventf(control, nil, "Normal", "ControlPassing", "Evaluate", verdict.Message)
	}
}

// setNotReady records a control whose policy or targets cannot be used.
func setNotReady(control *ismsv1.Control, reason, message string) {
	setCondition(control, ismsv1.ConditionPolicyReady, metav1.ConditionFalse, reason, message)
	setCondition(control, ismsv1.ConditionCompliant, metav1.ConditionUnknown, reason, "The control cannot be evaluated; see PolicyReady.")
	control.Status.Result = ismsv1.ResultError
	control.Status.EvaluatedSubjects, control.Status.FailingSubjects, control.Status.ErroredSubjects = 0, 0, 0
}

func (r *ControlReconciler) patchStatus(ctx context.Context, original, control *ismsv1.Control) error {
	if equalStatus(original.Status, control.Status) {
		return nil
	}
	if err := r.Status().Patch(ctx, control, client.MergeFrom(original)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("patching control status: %w", err)
	}
	r.pacer.wrote(control.Name, r.Now())
	if original.Status.Result == ismsv1.ResultError || control.Status.Result != ismsv1.ResultError {
		return nil
	}
	if c := findCondition(control.Status.Conditions, ismsv1.ConditionPolicyReady); c != nil && c.Status == metav1.ConditionFalse {
		r.Recorder.Eventf(control, nil, "Warning", c.Reason, "Compile", c.Message)
	}
	return nil
}

func (r *ControlReconciler) forget(name string) {
	r.pacer.forget(name)
	r.Evaluator.RemoveControl(name)
	r.Metrics.ForgetControl(name)
	r.wakes.forget(name)
	r.versions.forgetControl(name)
	r.exceptions.forgetControl(name)
}

func sweepInterval(control *ismsv1.Control) time.Duration {
	if control.Spec.Interval != nil && control.Spec.Interval.Duration > 0 {
		return control.Spec.Interval.Duration
	}
	d, _ := time.ParseDuration(ismsv1.DefaultSweepInterval)
	return d
}
