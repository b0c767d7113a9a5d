package controllers

import (
	"context"
	"fmt"
	"maps"
	"time"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/dynamic"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/finding"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// Options configure the operator.
type Options struct {
	// Namespace receives the Findings of failing cluster-scoped subjects (the operator's own).
	Namespace string
	// EvaluationTimeout is the deadline of one policy evaluation of one subject.
	EvaluationTimeout time.Duration
	// SweepBudget is the evaluation time one control may spend in one sweep; 0 is
	// evaluation.DefaultSweepBudget.
	SweepBudget time.Duration
	// MaxConcurrentReconciles of the Control controller.
	MaxConcurrentReconciles int
	// Findings sets Findings' due periods by severity and how long resolved Findings are kept;
	// when its DuePeriods are nil, finding.DefaultWorkflow() applies.
	Findings finding.Workflow
	// EnableWebhooks registers the validating webhooks of ControlExceptions, Controls and
	// Policies with the manager's webhook server, which then needs a serving certificate
	// (see config/default).
	EnableWebhooks bool
	// Evidence, when set, records the evidence ledger; nil runs without it.
	Evidence *EvidenceOptions
	// EvaluationStallTimeout: the liveness check fails when evaluation makes no progress this
	// long while work waits; 0 means DefaultEvaluationStallTimeout, negative never fails.
	EvaluationStallTimeout time.Duration
	// Reports, when set, publishes the results as OpenReports (reports_publisher.go); nil, the
	// default, publishes none.
	Reports *ReportsOptions
	// Registry receives the operator's metrics; nil means controller-runtime's, which the
	// manager's metrics server serves. (Tests that start a second manager pass their own.)
	Registry prometheus.Registerer
}

// SetupWithManager wires the policy engine, the evaluator, the watches, the sweeper, and the
// Control, Policy, Risk, ControlException, Document and StatementOfApplicability controllers into mgr. The manager binary, the
// local control plane and the tests all use it.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	if opts.Namespace == "" {
		return fmt.Errorf("the operator's namespace must be set")
	}
	if opts.Registry == nil {
		opts.Registry = defaultRegistry
	}
	r := newControlReconciler(mgr, opts)
	for _, step := range []func(ctrl.Manager) error{
		r.addRunnables,
		r.addIndexes,
		r.setupExceptions,
		func(mgr ctrl.Manager) error { return setupWebhooks(mgr, opts.EnableWebhooks, r.Engine, r.Metrics) },
		func(mgr ctrl.Manager) error { return setupRisks(mgr, opts.Registry, r.Watches) },
		func(mgr ctrl.Manager) error { return setupPolicies(mgr, r.Engine) },
		setupDocuments, // after addIndexes: it lists Attestations and Findings by control
		func(mgr ctrl.Manager) error { return setupSoAs(mgr, r.evidence) },
		func(mgr ctrl.Manager) error { return r.addHealthChecks(mgr, stallTimeout(opts.EvaluationStallTimeout)) },
	} {
		if err := step(mgr); err != nil {
			return err
		}
	}
	if opts.Reports != nil {
		if err := mgr.Add(newReportsPublisher(mgr, r.Evaluator, *opts.Reports)); err != nil {
			return fmt.Errorf("adding the OpenReports publisher: %w", err)
		}
	}
	if opts.Evidence != nil {
		if err := r.setupEvidence(mgr, opts.Evidence, opts.Namespace, opts.Registry); err != nil {
			return err
		}
	}
	return r.setupControls(mgr, opts.MaxConcurrentReconciles)
}

// newControlReconciler builds the Control reconciler and the core it feeds: one inventory
// shared by the policy engine and the evaluator.
func newControlReconciler(mgr ctrl.Manager, opts Options) *ControlReconciler {
	inventory := policy.NewInventory()
	r := &ControlReconciler{
		Client:     mgr.GetClient(),
		APIReader:  mgr.GetAPIReader(),
		Engine:     policy.NewEngine(inventory, policy.Options{Timeout: opts.EvaluationTimeout}),
		Evaluator:  evaluation.NewEvaluator(inventory, opts.Namespace, nil),
		Recorder:   eventRecorder(mgr),
		Metrics:    NewMetrics(opts.Registry),
		Now:        time.Now,
		Workflow:   opts.Findings,
		wakes:      newWakeTimes(),
		versions:   newWrittenVersions(),
		exceptions: newExceptionMatches(),
		enqueue:    make(chan event.GenericEvent, 4096),
	}
	r.Evaluator.SetSweepBudget(opts.SweepBudget)
	if r.Workflow.DuePeriods == nil {
		r.Workflow = finding.DefaultWorkflow()
	}
	if opts.Evidence != nil {
		r.evidence = newEvidenceRecorder(opts.Evidence.Heartbeat, r.Now)
	}
	return r
}

// addRunnables adds the watches of the targeted kinds and the sweeper, which run with the
// manager.
func (r *ControlReconciler) addRunnables(mgr ctrl.Manager) error {
	dyn, err := dynamic.NewForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("creating dynamic client: %w", err)
	}
	r.Watches = NewWatches(dyn, mgr.GetRESTMapper(), r, mgr.GetLogger().WithName("watches"))
	if err := mgr.Add(r.Watches); err != nil {
		return fmt.Errorf("adding watches: %w", err)
	}
	r.Sweeper = NewSweeper(r.Evaluator, r.Watches, r.Metrics, mgr.GetLogger().WithName("sweeper"), r.queue)
	if err := mgr.Add(r.Sweeper); err != nil {
		return fmt.Errorf("adding the sweeper: %w", err)
	}
	return nil
}

// addIndexes registers the cache indexes the Control reconciler lists by.
func (r *ControlReconciler) addIndexes(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &ismsv1.Finding{}, findingControlIndex, func(obj client.Object) []string {
		return []string{obj.(*ismsv1.Finding).Spec.Control}
	}); err != nil {
		return fmt.Errorf("indexing findings by control: %w", err)
	}
	if err := indexExceptions(mgr); err != nil {
		return fmt.Errorf("indexing control exceptions by control: %w", err)
	}
	if err := indexAttestations(mgr); err != nil {
		return fmt.Errorf("indexing attestations by control: %w", err)
	}
	return nil
}

// setupExceptions adds the ControlException controller; an exception that expires re-syncs
// every Finding of its controls at once.
func (r *ControlReconciler) setupExceptions(mgr ctrl.Manager) error {
	if err := setupExceptionWithManager(mgr, r.exceptions, r.evidence, func(controls []string) {
		for _, c := range controls {
			r.Evaluator.MarkAllDirty(c)
		}
		r.queue(controls)
	}); err != nil {
		return fmt.Errorf("setting up the control exception controller: %w", err)
	}
	return nil
}

// setupWebhooks registers the validating webhooks: ControlExceptions', and Controls' and
// Policies', which compile with the Control reconciler's engine; m counts their refusals.
func setupWebhooks(mgr ctrl.Manager, enabled bool, engine *policy.Engine, m *Metrics) error {
	if !enabled {
		return nil
	}
	if err := SetupExceptionWebhookWithManager(mgr, m); err != nil {
		return fmt.Errorf("setting up the control exception webhook: %w", err)
	}
	if err := SetupRegoWebhooksWithManager(mgr, engine, m); err != nil {
		return fmt.Errorf("setting up the control and policy webhooks: %w", err)
	}
	if err := SetupAttestationWebhookWithManager(mgr, m); err != nil {
		return fmt.Errorf("setting up the attestation webhooks: %w", err)
	}
	if err := SetupSoAWebhookWithManager(mgr, m); err != nil {
		return fmt.Errorf("setting up the statement of applicability webhooks: %w", err)
	}
	return nil
}

func setupRisks(mgr ctrl.Manager, reg prometheus.Registerer, src AssetSource) error {
	if err := setupRiskWithManager(mgr, reg, src); err != nil {
		return fmt.Errorf("setting up the risk controller: %w", err)
	}
	return nil
}

func setupDocuments(mgr ctrl.Manager) error {
	if err := setupDocumentWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the document controller: %w", err)
	}
	return nil
}

func setupSoAs(mgr ctrl.Manager, rec *evidenceRecorder) error {
	if err := setupSoAWithManager(mgr, rec); err != nil {
		return fmt.Errorf("setting up the statement of applicability controller: %w", err)
	}
	return nil
}

func setupPolicies(mgr ctrl.Manager, engine *policy.Engine) error {
	if err := SetupPolicyWithManager(mgr, engine); err != nil {
		return fmt.Errorf("setting up the policy controller: %w", err)
	}
	return nil
}

// setupControls adds the Control controller: Controls, and what changes their evaluation or
// their Findings.
func (r *ControlReconciler) setupControls(mgr ctrl.Manager, maxConcurrentReconciles int) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&ismsv1.Control{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&ismsv1.Finding{}, handler.EnqueueRequestsFromMapFunc(r.findingChanged), builder.WithPredicates(findingEditedByOthers())).
		Watches(&ismsv1.ControlException{}, handler.EnqueueRequestsFromMapFunc(r.exceptionChanged), builder.WithPredicates(exceptionSpecOrPhaseChanged())).
		// A Policy's Rego or schema changes the Controls that reference it; its status does not.
		Watches(&ismsv1.Policy{}, handler.EnqueueRequestsFromMapFunc(r.controlsOfPolicy), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// An attested control's result follows its Attestations' specs (submission, decision).
		Watches(&ismsv1.Attestation{}, handler.EnqueueRequestsFromMapFunc(controlOfAttestation), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesRawSource(source.Channel(r.enqueue, &handler.EnqueueRequestForObject{})).
		WithOptions(controllerOptions(maxConcurrentReconciles)).
		Named("control").
		Complete(r)
}

// findingChanged marks the Finding's namespace for a sync and queues its control, so that a
// Finding someone deleted or edited is put back as the evidence says.
func (r *ControlReconciler) findingChanged(_ context.Context, obj client.Object) []reconcile.Request {
	f, ok := obj.(*ismsv1.Finding)
	if !ok || f.Spec.Control == "" {
		return nil
	}
	r.Evaluator.MarkDirty(f.Spec.Control, f.Namespace)
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: f.Spec.Control}}}
}

// findingEditedByOthers passes the Finding events the operator did not cause itself: deletions,
// and changes to a Finding's spec or labels. The operator alone writes status, and reacting to
// its own writes would double the reconciles of every change.
func findingEditedByOthers() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return true },
		GenericFunc: func(event.GenericEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			return e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() ||
				!maps.Equal(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels())
		},
	}
}

// SubjectChanged re-evaluates a new or changed object and queues the controls it affected.
func (r *ControlReconciler) SubjectChanged(ctx context.Context, s *evaluation.Subject) {
	r.eventsInFlight.Add(1)
	defer r.eventsInFlight.Add(-1)
	start := time.Now()
	affected, err := r.Evaluator.Upsert(ctx, s)
	r.Metrics.ObserveEvaluation("event", time.Since(start).Seconds())
	if err != nil {
		logf.FromContext(ctx).Error(err, "Evaluating changed object", "kind", s.GVK.Kind, "namespace", s.Namespace, "name", s.Name)
	}
	r.queue(affected)
}

// SubjectDeleted removes a deleted object from the results and queues the controls it affected.
func (r *ControlReconciler) SubjectDeleted(ctx context.Context, s *evaluation.Subject) {
	r.eventsInFlight.Add(1)
	defer r.eventsInFlight.Add(-1)
	affected, err := r.Evaluator.Delete(ctx, s)
	if err != nil {
		logf.FromContext(ctx).Error(err, "Forgetting deleted object", "kind", s.GVK.Kind, "namespace", s.Namespace, "name", s.Name)
	}
	r.queue(affected)
}

// WatchChanged queues the controls that wait for a kind's watch.
func (r *ControlReconciler) WatchChanged(gk schema.GroupKind) {
	r.queue(r.Evaluator.ControlsTargeting(gk))
}

func (r *ControlReconciler) queue(controls []string) {
	for _, name := range controls {
		obj := &ismsv1.Control{}
		obj.Name = name
		r.enqueue <- event.GenericEvent{Object: client.Object(obj)}
	}
}

// NewScheme knows the built-in kinds, ours, and the OpenReports the operator may publish.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(ismsv1.AddToScheme(s))
	utilruntime.Must(reportsv1alpha1.AddToScheme(s))
	return s
}
