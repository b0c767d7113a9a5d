package controllers

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/attestation"
	"github.com/isms-operator/isms-operator/internal/document"
	"github.com/isms-operator/isms-operator/internal/schedule"
)

// A Document's review is an Attestation of the attested Control it names, with the document
// among its artifacts. The Document reconciler only reads: the Control's schedule, its
// Attestations and its Finding, and writes the Document's status from document.Evaluate. The
// Control reconciler alone opens and resolves the Finding of an overdue review, as for any
// attested control, so that there is one lifecycle and one schedule.

// documentControlIndex indexes Documents by the Control whose review they evidence.
const documentControlIndex = "spec.control"

// DocumentReconciler keeps Documents' status in line with their controls' attestations.
type DocumentReconciler struct {
	client.Client
	Recorder events.EventRecorder
	Now      func() time.Time
}

// +kubebuilder:rbac:groups=isms.dev,resources=documents,verbs=get;list;watch
// +kubebuilder:rbac:groups=isms.dev,resources=documents/status,verbs=get;update;patch

// setupDocumentWithManager adds the Document controller: a Document is reconciled when it
// changes, and when its Control's spec, an Attestation of that Control or the Control's
// Finding changes. (Attestations and Findings are indexed by control in addIndexes.)
func setupDocumentWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &ismsv1.Document{}, documentControlIndex, func(obj client.Object) []string {
		return []string{obj.(*ismsv1.Document).Spec.Control}
	}); err != nil {
		return fmt.Errorf("indexing documents by control: %w", err)
	}
	r := &DocumentReconciler{Client: mgr.GetClient(), Recorder: eventRecorder(mgr), Now: time.Now}
	byControl := func(control func(client.Object) string) handler.EventHandler {
		return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
			return r.documentsOf(ctx, control(obj))
		})
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&ismsv1.Document{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&ismsv1.Control{}, byControl(client.Object.GetName), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&ismsv1.Attestation{}, byControl(func(o client.Object) string { return o.(*ismsv1.Attestation).Spec.Control }),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&ismsv1.Finding{}, byControl(func(o client.Object) string { return o.(*ismsv1.Finding).Spec.Control }),
			builder.WithPredicates(findingStateChanged())).
		Named("document").
		WithOptions(controllerOptions(1)).
		Complete(r)
}

// findingStateChanged passes the Finding events that change what a Document or a Statement of
// Applicability says of it: a Finding appearing or going, a change of its state (open counts
// follow), or of the control it belongs to.
func findingStateChanged() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return true },
		DeleteFunc:  func(event.DeleteEvent) bool { return true },
		GenericFunc: func(event.GenericEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			oldF, okOld := e.ObjectOld.(*ismsv1.Finding)
			newF, okNew := e.ObjectNew.(*ismsv1.Finding)
			return !okOld || !okNew || oldF.Status.State != newF.Status.State || oldF.Spec.Control != newF.Spec.Control
		},
	}
}

// documentsOf queues the Documents that name control.
func (r *DocumentReconciler) documentsOf(ctx context.Context, control string) []reconcile.Request {
	if control == "" {
		return nil
	}
	var list ismsv1.DocumentList
	if err := r.List(ctx, &list, client.MatchingFields{documentControlIndex: control}); err != nil {
		logf.FromContext(ctx).Error(err, "Listing the documents of a control", "control", control)
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: list.Items[i].Name}})
	}
	return reqs
}

// Reconcile decides where one Document stands and writes it to its status (deferred, so that
// every path writes it); it runs again when the standing next changes with time alone.
func (r *DocumentReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	var doc ismsv1.Document
	if err := r.Get(ctx, req.NamespacedName, &doc); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("getting document: %w", err)
	}
	if !doc.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	original := doc.DeepCopy()
	defer func() { err = r.writeStatus(ctx, original, &doc, err) }()
	ctl, err := r.attestedControl(ctx, doc.Spec.Control)
	if err != nil || ctl == nil {
		if err == nil {
			setControlNotAttested(&doc)
		}
		return ctrl.Result{}, err
	}
	st, err := r.evaluate(ctx, &doc, ctl)
	if err != nil {
		return ctrl.Result{}, err
	}
	finding, err := r.openFinding(ctx, ctl.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	r.setDocumentStatus(&doc, ctl, st, finding)
	if !st.Next.IsZero() {
		result.RequeueAfter = max(schedule.WakeSlack, st.Next.Sub(r.Now())+schedule.WakeSlack)
	}
	return result, nil
}

// attestedControl reads the Control a Document names; nil when it does not exist or is not
// attested (the Control watch queues the Document when that changes).
func (r *DocumentReconciler) attestedControl(ctx context.Context, name string) (*ismsv1.Control, error) {
	var ctl ismsv1.Control
	if err := r.Get(ctx, client.ObjectKey{Name: name}, &ctl); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("getting control %s: %w", name, err)
	}
	if !ctl.IsAttested() {
		return nil, nil
	}
	return &ctl, nil
}

// evaluate decides the Document's standing from its control's schedule and Attestations.
func (r *DocumentReconciler) evaluate(ctx context.Context, doc *ismsv1.Document, ctl *ismsv1.Control) (document.State, error) {
	sched, err := attestation.ScheduleOf(ctl.Spec.Attestation)
	if err != nil {
		// The Control's own reconcile reports it (a TerminalError there); here it is the
		// control's fault, not the document's.
		setControlNotAttested(doc)
		return document.State{}, reconcile.TerminalError(fmt.Errorf("control %s: spec.attestation: %w", ctl.Name, err))
	}
	var list ismsv1.AttestationList
	if err := r.List(ctx, &list, client.MatchingFields{attestationControlIndex: ctl.Name}); err != nil {
		return document.State{}, fmt.Errorf("listing attestations: %w", err)
	}
	return document.Evaluate(document.InputOf(doc, sched, list.Items), r.Now()), nil
}

// openFinding is the control's Finding that is not resolved, if there is one.
func (r *DocumentReconciler) openFinding(ctx context.Context, control string) (*ismsv1.Finding, error) {
	var list ismsv1.FindingList
	if err := r.List(ctx, &list, client.MatchingFields{findingControlIndex: control}); err != nil {
		return nil, fmt.Errorf("listing findings: %w", err)
	}
	for i := range list.Items {
		if s := list.Items[i].Status.State; s != "" && s != ismsv1.FindingResolved {
			return &list.Items[i], nil
		}
	}
	return nil, nil
}
