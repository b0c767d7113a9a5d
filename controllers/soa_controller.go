package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/frameworks"
	"github.com/isms-operator/isms-operator/internal/policy"
	"github.com/isms-operator/isms-operator/internal/soa"
)

// soaCoalesce is how long a change of a Control, Finding, exception or Risk waits before the
// statements are recomputed, so that a sweep changing many Controls recomputes each
// statement once rather than once per Control: every statement reads every Control.
const soaCoalesce = 2 * time.Second

// SoAReconciler computes the live status of StatementsOfApplicability (soa.Compute) and
// records each approved version in the evidence ledger. The decisions are internal/soa; this
// moves data between it and the API server.
type SoAReconciler struct {
	client.Client
	Recorder events.EventRecorder
	Now      func() time.Time
	// evidence records approvals; nil when the ledger is off.
	evidence *evidenceRecorder
}

// +kubebuilder:rbac:groups=isms.dev,resources=statementofapplicabilities,verbs=get;list;watch
// +kubebuilder:rbac:groups=isms.dev,resources=statementofapplicabilities/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=isms.dev,resources=controls;controlexceptions;risks,verbs=get;list;watch
// +kubebuilder:rbac:groups=isms.dev,resources=findings,verbs=get;list;watch

// setupSoAWithManager adds the StatementOfApplicability controller: a statement is recomputed
// when it changes, and, coalesced, when anything it reads changes. Statements are few (one per
// ISMS scope), so a change queues them all.
func setupSoAWithManager(mgr ctrl.Manager, rec *evidenceRecorder) error {
	r := &SoAReconciler{Client: mgr.GetClient(), Recorder: eventRecorder(mgr), Now: time.Now, evidence: rec}
	all := r.enqueueAll()
	return ctrl.NewControllerManagedBy(mgr).
		For(&ismsv1.StatementOfApplicability{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&ismsv1.Control{}, all, builder.WithPredicates(controlMappingOrResultChanged())).
		Watches(&ismsv1.Finding{}, all, builder.WithPredicates(findingStateChanged())).
		Watches(&ismsv1.ControlException{}, all, builder.WithPredicates(exceptionSpecOrPhaseChanged())).
		Watches(&ismsv1.Risk{}, all, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("statementofapplicability").
		WithOptions(controllerOptions(1)).
		Complete(r)
}

// enqueueAll queues every statement soaCoalesce after the event; the queue keeps one entry
// per statement, so the events of a burst coalesce into one reconcile each.
func (r *SoAReconciler) enqueueAll() handler.EventHandler {
	add := func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		var list ismsv1.StatementOfApplicabilityList
		if err := r.List(ctx, &list); err != nil {
			logf.FromContext(ctx).Error(err, "Listing the statements of applicability")
			return
		}
		for _, s := range list.Items {
			q.AddAfter(reconcile.Request{NamespacedName: types.NamespacedName{Name: s.Name}}, soaCoalesce)
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, _ event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, q)
		},
		UpdateFunc: func(ctx context.Context, _ event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, q)
		},
		DeleteFunc: func(ctx context.Context, _ event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, q)
		},
		GenericFunc: func(ctx context.Context, _ event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, q)
		},
	}
}

// controlMappingOrResultChanged passes the Control events that can change a statement: a
// Control appearing or going, a spec change (its mappings, attested or not) and a new result.
func controlMappingOrResultChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, okO := e.ObjectOld.(*ismsv1.Control)
			n, okN := e.ObjectNew.(*ismsv1.Control)
			return !okO || !okN || o.Generation != n.Generation || o.Status.Result != n.Status.Result
		},
	}
}

// Reconcile computes one statement's status and records a new approval.
func (r *SoAReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var s ismsv1.StatementOfApplicability
	if err := r.Get(ctx, req.NamespacedName, &s); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	original := s.DeepCopy()
	cat, ok := frameworks.Default().Lookup(s.Spec.Framework)
	if !ok {
		setSoACondition(&s, ismsv1.SoAConditionRequirementsKnown, false, ismsv1.ReasonSoAUnknownFramework,
			fmt.Sprintf("Framework %q has no catalog in this operator (%v)", s.Spec.Framework, frameworks.Default().Names()))
		return ctrl.Result{}, r.patchStatus(ctx, original, &s, reconcile.TerminalError(fmt.Errorf("framework %q has no catalog", s.Spec.Framework)))
	}
	in, err := r.gather(ctx, cat, &s)
	if err != nil {
		return ctrl.Result{}, err
	}
	applySoAResult(&s, soa.Compute(in, r.Now()))
	retry := r.recordApproval(original, &s)
	s.Status.ObservedGeneration = s.Generation
	if err := r.patchStatus(ctx, original, &s, nil); err != nil {
		return ctrl.Result{}, err
	}
	if retry {
		return ctrl.Result{RequeueAfter: evidenceRetry}, nil
	}
	return ctrl.Result{}, nil
}

// gather reads what the statement's status is computed from, from the cache.
func (r *SoAReconciler) gather(ctx context.Context, cat *frameworks.Catalog, s *ismsv1.StatementOfApplicability) (soa.Input, error) {
	var controls ismsv1.ControlList
	var findings ismsv1.FindingList
	var exceptions ismsv1.ControlExceptionList
	var risks ismsv1.RiskList
	for _, l := range []client.ObjectList{&controls, &findings, &exceptions, &risks} {
		if err := r.List(ctx, l); err != nil {
			return soa.Input{}, fmt.Errorf("listing %T: %w", l, err)
		}
	}
	return soa.Input{Catalog: cat, Entries: s.Spec.Entries, Controls: controls.Items, Findings: findings.Items,
		Exceptions: exceptions.Items, Risks: risks.Items}, nil
}

func (r *SoAReconciler) patchStatus(ctx context.Context, original, s *ismsv1.StatementOfApplicability, err error) error {
	if equality.Semantic.DeepEqual(original.Status, s.Status) {
		return err
	}
	if perr := r.Status().Patch(ctx, s, client.MergeFrom(original)); perr != nil && !apierrors.IsNotFound(perr) {
		return fmt.Errorf("patching statement of applicability status: %w", perr)
	}
	return err
}

// applySoAResult writes the computed rows, totals and conditions into the status.
func applySoAResult(s *ismsv1.StatementOfApplicability, res soa.Result) {
	st := &s.Status
	st.Requirements, st.Totals, st.UnknownRequirements = res.Requirements, res.Totals, soa.UnknownIDs(res.Unknown)
	st.ContentDigest = soa.Digest(&s.Spec)
	reason := ismsv1.ReasonRequirementsKnown
	if len(res.Unknown) > 0 {
		reason = ismsv1.ReasonUnknownRequirement
	}
	setSoACondition(s, ismsv1.SoAConditionRequirementsKnown, len(res.Unknown) == 0, reason, soa.UnknownMessage(res.Unknown))
	v := soa.Approval(&s.Spec)
	setSoACondition(s, ismsv1.SoAConditionApproved, v.Approved, v.Reason, v.Message)
}

func setSoACondition(s *ismsv1.StatementOfApplicability, conditionType string, ok bool, reason, message string) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&s.Status.Conditions, metav1.Condition{Type: conditionType, Status: status, Reason: reason,
		Message: policy.Truncate(message, maxNoteLen), ObservedGeneration: s.Generation})
}

// announceSoA is the Event of a decision, once it is recorded.
func (r *SoAReconciler) announceSoA(s *ismsv1.StatementOfApplicability) {
	a := s.Spec.Approval
	reason, kind := ismsv1.EventSoAApproved, corev1.EventTypeNormal
	if a.Decision == ismsv1.SoARejected {
		reason, kind = ismsv1.EventSoARejected, corev1.EventTypeWarning
	}
	r.Recorder.Eventf(s, nil, kind, reason, "Decide", "Version %s %s by %s (%s).", a.Version, a.Decision, a.DecidedBy, a.Digest)
}
