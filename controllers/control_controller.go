// Package controllers moves data between the API server and the pure core under internal/:
// it watches what Controls target, feeds the evaluator, and writes back Control statuses and
// Findings. The decisions themselves (what complies, what a Finding says) are made in
// internal/evaluation and internal/finding.
package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/exception"
	"github.com/isms-operator/isms-operator/internal/finding"
	"github.com/isms-operator/isms-operator/internal/params"
	"github.com/isms-operator/isms-operator/internal/policy"
	"github.com/isms-operator/isms-operator/internal/schedule"
)

// How long to wait before looking again at a control whose targets cannot be resolved or
// watched yet. A watch that syncs, or a Control that changes, triggers a reconcile sooner.
const (
	unresolvedRetry   = 30 * time.Second
	watchPendingRetry = 10 * time.Second
	// forbiddenRetry backs up the watch that syncs once access is granted: that watch's
	// reflector retries on its own and queues the control when it succeeds.
	forbiddenRetry = 30 * time.Second
)

// maxForbiddenMessage bounds the Forbidden message: it quotes the API server once per kind.
const maxForbiddenMessage = 1024

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
	// versions tells when the cache has not caught up with the operator's own writes of
	// Controls and Findings.
	versions *writtenVersions

	// enqueue carries controls whose results changed between reconciles (object events).
	enqueue chan event.GenericEvent
	// pacer spaces out status writes that only move counts.
	pacer statusPacer
	// evidence records the controls' states in the evidence ledger; nil when it is off.
	evidence *evidenceRecorder
	// eventsInFlight counts the object events being evaluated, for the liveness check.
	eventsInFlight atomic.Int64
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

// Reconcile brings one Control's status and Findings in line with the evaluation of its
// policy: it reads the Control, runs the phases of controlPhases over one controlScope, and
// writes the status they filled in (deferred, so that every path writes it).
func (r *ControlReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	control, err := r.currentControl(ctx, req.Name)
	if err != nil {
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
	scope := &controlScope{control: control, previous: control.Status.Result, previousDigest: control.Status.PolicyDigest}
	setFrameworksCondition(control)
	defer func() { result, err = r.writeStatus(ctx, original, scope, err) }()
	return ctrl.Result{}, r.runPhases(ctx, scope)
}

// currentControl reads a Control from the cache or, when the cache has not caught up with the
// operator's last status write to it, from the API server: the status is decided against what
// etcd holds, or a write that undoes the last one would look like no change (writtenVersions).
func (r *ControlReconciler) currentControl(ctx context.Context, name string) (*ismsv1.Control, error) {
	var control ismsv1.Control
	key := client.ObjectKey{Name: name}
	if err := r.Get(ctx, key, &control); err != nil {
		return nil, err
	}
	if r.versions.current(&control) {
		return &control, nil
	}
	if err := r.APIReader.Get(ctx, key, &control); err != nil {
		return nil, err
	}
	r.versions.wrote(&control) // the latest there is: once the cache holds it, the cache will do
	return &control, nil
}

// controlScope is what the phases of one Control reconcile share.
type controlScope struct {
	control *ismsv1.Control
	// previous is the result before this reconcile, to tell transitions worth an Event, and
	// previousDigest the policy digest it was reached with.
	previous       ismsv1.ControlResult
	previousDigest string
	// carried: the evaluator has not swept the control yet, and the status keeps the result
	// a sweep of this very definition reached before (see carriesResult).
	carried bool
	def     evaluation.ControlDefinition
	// kinds are the kinds the control targets and reads from the inventory.
	kinds    []schema.GroupKind
	interval time.Duration
	// summary is the evaluator's, read once: Summarize walks every failing and erroring
	// subject. An event that lands after it queues the control again.
	summary evaluation.Summary
	// sweeping: a sweep is requested or under way; the sweeper queues the control after it.
	sweeping   bool
	exceptions *exception.Set
	// wake is when the control's Findings or exceptions next change with time alone.
	wake time.Time
	// syncErr is why some Findings could not be synced, returned once the status is set.
	syncErr error
	// observed: the status describes the current spec, see runPhases.
	observed bool
	result   ctrl.Result
}

// controlPhase is one step of a Control reconcile. It reports done when the reconcile ends
// with it (s.result holds the requeue); an error ends it too.
type controlPhase func(ctx context.Context, s *controlScope) (done bool, err error)

// controlPhases are the steps of a Control reconcile, in order.
func (r *ControlReconciler) controlPhases() []controlPhase {
	return []controlPhase{
		r.reconcileAttested, // an attested control ends here (attested_control.go)
		r.definePolicy,
		r.ensureWatches,
		r.registerControl,
		r.awaitWatches,
		r.requestSweep,
		r.syncFindingsPhase,
		r.setResultPhase,
	}
}

// runPhases runs the phases until one is done or fails, then sets status.observedGeneration,
// here only, when the status describes the current spec: when it holds the result of the
// current spec's evaluation (even if writing some Findings failed), or says why the spec
// cannot be evaluated (its policy, parameters or targets). It is left as it was while the
// watches sync (the result shown is the previous spec's) and on errors that are not the
// spec's fault, which are retried.
func (r *ControlReconciler) runPhases(ctx context.Context, s *controlScope) error {
	var err error
	for _, phase := range r.controlPhases() {
		var done bool
		if done, err = phase(ctx, s); done || err != nil {
			break
		}
	}
	if s.observed {
		s.control.Status.ObservedGeneration = s.control.Generation
		r.syncCompliance(s.control)
	}
	return err
}

// syncCompliance sets status.compliant from the result, and adds to status.history when it
// changed: what Open Cluster Management reads of a Control used as a policy template.
func (r *ControlReconciler) syncCompliance(control *ismsv1.Control) {
	status := &control.Status
	status.Compliant = evaluation.ComplianceOf(status.Result)
	message := ""
	if c := meta.FindStatusCondition(status.Conditions, ismsv1.ConditionCompliant); c != nil {
		message = c.Message
	}
	status.History = evaluation.RecordCompliance(status.History, status.Compliant, status.Result, message, r.Now())
}

// writeStatus patches the status the phases filled in, unless only counts moved moments
// after the last write (the pacer then requeues for a later reconcile to write them), and
// returns the phases' result and error.
func (r *ControlReconciler) writeStatus(ctx context.Context, original *ismsv1.Control, s *controlScope, err error) (ctrl.Result, error) {
	control := s.control
	// The metrics follow the status as this reconcile leaves it, on every path (Pending while
	// watches sync, Error when the policy cannot be used), whether or not it is written now.
	r.Metrics.SetControl(control)
	if wait := r.pacer.wait(control.Name, &original.Status, &control.Status, r.Now()); wait > 0 && err == nil {
		return ctrl.Result{RequeueAfter: schedule.Sooner(s.result.RequeueAfter, wait)}, nil
	}
	if perr := r.patchStatus(ctx, original, control); perr != nil {
		return ctrl.Result{}, errors.Join(err, perr)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	logf.FromContext(ctx).V(1).Info("Control reconciled", "result", control.Status.Result, "failing", control.Status.FailingSubjects, "requeueAfter", s.result.RequeueAfter)
	return s.result, nil
}

// definePolicy compiles the control's policy (inline, or the Policy its spec.policy.ref names,
// read from the cache) and parameters into what the evaluator needs, as kubectl isms eval
// does. A policy that cannot be used takes the control out of the evaluator.
func (r *ControlReconciler) definePolicy(ctx context.Context, s *controlScope) (bool, error) {
	control := s.control
	referenced, err := r.referencedPolicy(ctx, control)
	if err == nil {
		s.def, err = evaluation.Define(ctx, r.Engine, control, referenced)
	}
	if err == nil {
		control.Status.PolicyDigest = s.def.Policy.Digest
		s.kinds = append(evaluation.GroupKinds(control.Spec.Targets.Kinds), evaluation.GroupKinds(control.Spec.Inventory)...)
		return false, nil
	}
	r.Evaluator.RemoveControl(control.Name)
	if pe := (*params.Error)(nil); errors.As(err, &pe) {
		return true, r.policyUnusable(s, pe)
	}
	var ce *policy.CompileError
	if !errors.As(err, &ce) {
		return true, err // not the policy's fault: retry with backoff
	}
	r.setNotReady(s, ismsv1.ReasonCompileError, ce.Message)
	return true, reconcile.TerminalError(fmt.Errorf("control %s: %w", control.Name, err))
}

// ensureWatches starts the watches of the control's kinds. A kind that cannot be resolved yet
// (its CRD is not installed) is retried after unresolvedRetry; meanwhile the control is Error,
// or NotApplicable when it says so for kinds that are not served (spec.whenKindsNotServed).
func (r *ControlReconciler) ensureWatches(ctx context.Context, s *controlScope) (bool, error) {
	err := r.Watches.Ensure(ctx, s.kinds)
	if err == nil {
		return false, nil
	}
	r.Evaluator.RemoveControl(s.control.Name)
	var we *WatchError
	if s.control.Spec.WhenKindsNotServed == ismsv1.KindsNotServedNotApplicable && errors.As(err, &we) && we.NotServed() {
		r.setKindsNotServed(s, err.Error())
	} else {
		r.setNotReady(s, ismsv1.ReasonTargetsUnresolved, err.Error())
	}
	s.result = ctrl.Result{RequeueAfter: unresolvedRetry}
	return true, nil
}

// setKindsNotServed records a control that reads kinds the API server does not serve and asks
// to be NotApplicable meanwhile: the tool that defines them does not run here, which is shown,
// neither failed nor passed. Its Findings are left as they were.
func (r *ControlReconciler) setKindsNotServed(s *controlScope, message string) {
	control := s.control
	message = policy.Truncate(message, maxForbiddenMessage)
	setCondition(control, ismsv1.ConditionPolicyReady, metav1.ConditionFalse, ismsv1.ReasonTargetsUnresolved, message)
	setCondition(control, ismsv1.ConditionCompliant, metav1.ConditionTrue, ismsv1.ReasonKindsNotServed,
		policy.Truncate("Not applicable while the kinds it reads are not served (is the tool that defines them installed?); "+
			"set spec.whenKindsNotServed: Error to require them. "+message, maxForbiddenMessage))
	control.Status.Result = ismsv1.ResultNotApplicable
	control.Status.EvaluatedSubjects, control.Status.FailingSubjects, control.Status.ErroredSubjects = 0, 0, 0
	s.observed = true
	r.recordNotServed(s, message)
	if s.previous != ismsv1.ResultNotApplicable {
		r.Recorder.Eventf(control, nil, corev1.EventTypeNormal, ismsv1.ReasonKindsNotServed, "Watch", "%s", message)
	}
}

// kindsGone records a control whose kinds stopped being served after the operator watched
// them (their CRD was deleted): as a kind never served, NotApplicable when the control says so
// for kinds not served, else Error. Their objects are forgotten already (Watches.revoked).
func (r *ControlReconciler) kindsGone(s *controlScope, gone []string) {
	message := "No longer served by the API server (was its CRD deleted?): " + strings.Join(gone, "; ")
	if s.control.Spec.WhenKindsNotServed == ismsv1.KindsNotServedNotApplicable {
		r.setKindsNotServed(s, message)
	} else {
		r.setNotReady(s, ismsv1.ReasonTargetsUnresolved, policy.Truncate(message, maxForbiddenMessage))
	}
	s.result = ctrl.Result{RequeueAfter: unresolvedRetry}
}

// registerControl registers the control's definition with the evaluator and loads the
// objects its policy reads from the inventory.
func (r *ControlReconciler) registerControl(ctx context.Context, s *controlScope) (bool, error) {
	if err := r.Evaluator.SetControl(s.def); err != nil {
		r.setNotReady(s, ismsv1.ReasonTargetsUnresolved, err.Error())
		return true, reconcile.TerminalError(err)
	}
	if err := r.Evaluator.LoadInventory(ctx, evaluation.GroupKinds(s.control.Spec.Inventory), r.Watches.List); err != nil {
		return true, fmt.Errorf("loading the inventory: %w", err)
	}
	return false, nil
}

// awaitWatches waits for the watches of the control's kinds to sync: until then the
// evaluator has not seen every object. A watch that syncs queues the control. A watch the API
// server refuses (403) will not sync until someone grants access: the control is Error with
// reason Forbidden rather than waiting for ever, and stays registered, so that the watch
// syncing then queues it.
func (r *ControlReconciler) awaitWatches(_ context.Context, s *controlScope) (bool, error) {
	control := s.control
	if refused := r.Watches.Forbidden(s.kinds); len(refused) > 0 {
		r.setNotReady(s, ismsv1.ReasonForbidden, forbiddenMessage(refused))
		s.result = ctrl.Result{RequeueAfter: forbiddenRetry}
		return true, nil
	}
	if gone := r.Watches.Gone(s.kinds); len(gone) > 0 {
		r.kindsGone(s, gone)
		return true, nil
	}
	if synced, waiting := r.Watches.Synced(s.kinds); !synced {
		setCondition(control, ismsv1.ConditionPolicyReady, metav1.ConditionFalse, ismsv1.ReasonWatchPending, "Waiting for watches: "+waiting)
		if control.Status.Result == "" || control.Status.Result == ismsv1.ResultError {
			control.Status.Result = ismsv1.ResultPending
		}
		s.result = ctrl.Result{RequeueAfter: watchPendingRetry}
		if r.evidence != nil {
			r.evidence.setKinds(control.Name, s.kinds)
		}
		return true, nil
	}
	setCondition(control, ismsv1.ConditionPolicyReady, metav1.ConditionTrue, ismsv1.ReasonCompiled,
		fmt.Sprintf("Policy %s compiled; watching %d kind(s).", s.def.Policy.Package, len(s.kinds)))
	return false, nil
}

// forbiddenMessage names the kinds the operator may not read and how to grant access, followed
// by what the API server said, cut to maxForbiddenMessage.
func forbiddenMessage(refused []string) string {
	kinds := make([]string, len(refused))
	for i, r := range refused {
		kinds[i], _, _ = strings.Cut(r, ": ")
	}
	msg := fmt.Sprintf("The operator may not list and watch %s. Grant get, list and watch on it with a ClusterRole "+
		"labelled isms.dev/aggregate-to-reader: \"true\" (see config/rbac/reader_extra_example.yaml); "+
		"the control is evaluated as soon as access is granted. The API server said: %s",
		strings.Join(kinds, ", "), strings.Join(refused, "; "))
	return policy.Truncate(msg, maxForbiddenMessage)
}

// requestSweep asks the sweeper to evaluate the control against all its subjects when its
// spec changed, when an object its policy reads from the inventory changed, or when its
// interval has passed. Until the sweep ends, the control's Findings and status follow its
// previous results and its events.
func (r *ControlReconciler) requestSweep(_ context.Context, s *controlScope) (bool, error) {
	control := s.control
	s.summary = r.Evaluator.Summarize(control.Name)
	s.interval = schedule.SweepInterval(sweepInterval(control), s.summary.TransientErrors > 0, s.summary.TransientRetries)
	switch {
	case r.Sweeper.Busy(control.Name):
		s.sweeping = true
	case r.Evaluator.NeedsSweep(control.Name) || r.Now().Sub(s.summary.LastSweep) >= s.interval:
		r.Sweeper.Request(control.Name, evaluation.GroupKinds(control.Spec.Targets.Kinds))
		s.sweeping = true
	}
	return false, nil
}

// syncFindingsPhase reads the control's active exceptions and brings its Findings in line with
// its results. A Finding that fails to sync does not stop the phases: the status is still
// set, and the error returned after it.
func (r *ControlReconciler) syncFindingsPhase(ctx context.Context, s *controlScope) (bool, error) {
	exceptions, nextExpiry, err := r.activeExceptions(ctx, s.control.Name)
	if err != nil {
		return true, err
	}
	s.exceptions = exceptions
	wake, err := r.syncFindings(ctx, s.control, exceptions)
	// When an exception expires, its subjects fail again at once.
	s.wake = schedule.Earliest(wake, nextExpiry)
	if err != nil {
		s.syncErr = fmt.Errorf("syncing findings: %w", err)
	}
	return false, nil
}

// setResultPhase sets the result and counts, with a control's Finding open exactly where it
// has failing subjects that no exception exempts, and requeues for the next sweep or the next
// time-driven change, whichever comes first.
func (r *ControlReconciler) setResultPhase(_ context.Context, s *controlScope) (bool, error) {
	control := s.control
	sum, excepted := r.exceptedSummary(control.Name, s.exceptions, s.summary)
	openFindings := len(sum.FailingNamespaces)
	control.Status.ExceptedSubjects = int32(excepted)
	r.setResult(s, sum, openFindings)
	s.observed = true
	if s.syncErr == nil {
		s.result = ctrl.Result{RequeueAfter: schedule.Requeue(r.Now(), s.interval, sum.LastSweep, s.wake, s.sweeping)}
	}
	r.recordEvidence(s)
	return true, s.syncErr
}

// setResult fills in the result, counts and Compliant condition, with an Event when the
// control starts failing or passes again.
func (r *ControlReconciler) setResult(s *controlScope, sum evaluation.Summary, openFindings int) {
	control := s.control
	status := &control.Status
	if s.carried = carriesResult(s, sum); s.carried {
		return
	}
	verdict := evaluation.Judge(sum)
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
	if !sum.LastEvaluated.IsZero() && (status.LastEvaluated == nil || s.previous != verdict.Result ||
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

	switch previous := s.previous; {
	case previous == verdict.Result:
	case verdict.Result == ismsv1.ResultFail:
		r.Recorder.Eventf(control, nil, corev1.EventTypeWarning, ismsv1.EventControlFailing, "Evaluate", "%s", verdict.Message)
	case verdict.Result == ismsv1.ResultError:
		r.Recorder.Eventf(control, nil, corev1.EventTypeWarning, ismsv1.EventControlError, "Evaluate", "%s", verdict.Message)
	case verdict.Result == ismsv1.ResultPass && (previous == ismsv1.ResultFail || previous == ismsv1.ResultError):
		r.Recorder.Eventf(control, nil, corev1.EventTypeNormal, ismsv1.EventControlPassing, "Evaluate", "%s", verdict.Message)
	}
}

// carriesResult says whether the status should keep its result while the evaluator has not
// swept the control: after the operator restarts, every control awaits its first sweep, which
// takes minutes on a large cluster. The status holds the result of a sweep of the same
// generation with the same policy digest; showing Pending (and zero counts) meanwhile would
// lose that evidence and announce a new failure with an Event when the sweep ends.
func carriesResult(s *controlScope, sum evaluation.Summary) bool {
	st := s.control.Status
	return !sum.Swept && st.LastSweep != nil && st.ObservedGeneration == s.control.Generation &&
		s.previousDigest != "" && s.previousDigest == sum.PolicyDigest &&
		s.previous != "" && s.previous != ismsv1.ResultPending
}

// setNotReady records a control whose policy, parameters or targets cannot be used: the
// status describes the current spec. When its result turns Error, a Warning Event with the
// reason of PolicyReady announces it.
func (r *ControlReconciler) setNotReady(s *controlScope, reason, message string) {
	control := s.control
	setCondition(control, ismsv1.ConditionPolicyReady, metav1.ConditionFalse, reason, message)
	setCondition(control, ismsv1.ConditionCompliant, metav1.ConditionUnknown, reason, "The control cannot be evaluated; see PolicyReady.")
	control.Status.Result = ismsv1.ResultError
	control.Status.EvaluatedSubjects, control.Status.FailingSubjects, control.Status.ErroredSubjects = 0, 0, 0
	s.observed = true
	r.recordUnevaluable(s, reason, message)
	if s.previous != ismsv1.ResultError {
		r.Recorder.Eventf(control, nil, corev1.EventTypeWarning, reason, "Compile", "%s", message)
	}
}

// patchStatus writes the control's status when it changed.
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
	r.versions.wrote(control)
	return nil
}

func (r *ControlReconciler) forget(name string) {
	r.pacer.forget(name)
	r.Evaluator.RemoveControl(name)
	r.Metrics.ForgetControl(name)
	r.wakes.forget(name)
	r.versions.forgetControl(name)
	r.exceptions.forgetControl(name)
	if r.evidence != nil {
		r.evidence.forget(name)
	}
}

func sweepInterval(control *ismsv1.Control) time.Duration {
	if control.Spec.Interval != nil && control.Spec.Interval.Duration > 0 {
		return control.Spec.Interval.Duration
	}
	d, _ := time.ParseDuration(ismsv1.DefaultSweepInterval)
	return d
}
