package controllers

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/exception"
)

// exceptionControlIndex indexes ControlExceptions by the Controls they name, so that a
// Control's reconcile reads its exceptions from the cache without listing them all.
const exceptionControlIndex = "spec.controls"

// exceptionMatches is what the Control reconciles learn about exceptions: how many failing
// subjects each exempts per control, as of each control's latest sync, and which exceptions
// were active for each control then. The Exception reconciler reads the totals into the
// exceptions' status, so that counting costs no extra evaluation and no extra list.
type exceptionMatches struct {
	mu      sync.Mutex
	counts  map[string]map[string]int // exception → control → subjects
	active  map[string][]string       // control → names of the exceptions active at its last sync
	changed chan event.GenericEvent   // exceptions whose total changed
}

func newExceptionMatches() *exceptionMatches {
	return &exceptionMatches{
		counts:  map[string]map[string]int{},
		active:  map[string][]string{},
		changed: make(chan event.GenericEvent, 1024),
	}
}

// setActive records the exceptions active for a control and reports whether they changed.
func (m *exceptionMatches) setActive(control string, names []string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if slices.Equal(m.active[control], names) {
		return false
	}
	if len(names) == 0 {
		delete(m.active, control)
	} else {
		m.active[control] = names
	}
	return true
}

// set records how many subjects of control each exception exempts (those not in counts exempt
// none) and signals the exceptions whose total changed.
func (m *exceptionMatches) set(control string, counts map[string]int) {
	m.mu.Lock()
	var changed []string
	for name, byControl := range m.counts {
		if _, still := counts[name]; !still && byControl[control] != 0 {
			delete(byControl, control)
			changed = append(changed, name)
		}
	}
	for name, n := range counts {
		byControl := m.counts[name]
		if byControl == nil {
			byControl = map[string]int{}
			m.counts[name] = byControl
		}
		if byControl[control] != n {
			byControl[control] = n
			changed = append(changed, name)
		}
	}
	m.mu.Unlock()
	for _, name := range changed {
		ex := &ismsv1.ControlException{}
		ex.Name = name
		select {
		case m.changed <- event.GenericEvent{Object: ex}:
		default: // the exception's next reconcile (at the latest its expiry) catches up
		}
	}
}

func (m *exceptionMatches) forgetControl(control string) {
	m.set(control, nil)
	m.mu.Lock()
	delete(m.active, control)
	m.mu.Unlock()
}

func (m *exceptionMatches) total(exceptionName string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.counts[exceptionName] {
		n += c
	}
	return n
}

// +kubebuilder:rbac:groups=isms.dev,resources=controlexceptions,verbs=get;list;watch
// +kubebuilder:rbac:groups=isms.dev,resources=controlexceptions/status,verbs=get;update;patch

// activeExceptions reads the exceptions that name the control from the cache, and returns
// those active now and when the next of them expires. When the active ones changed since the
// control's last sync (one was created, edited, deleted or expired), every Finding of the
// control is synced again.
func (r *ControlReconciler) activeExceptions(ctx context.Context, control string) (*exception.Set, time.Time, error) {
	var list ismsv1.ControlExceptionList
	if err := r.List(ctx, &list, client.MatchingFields{exceptionControlIndex: control}); err != nil {
		return nil, time.Time{}, fmt.Errorf("listing control exceptions: %w", err)
	}
	now := r.Now()
	set := exception.NewSet(list.Items, control, now)
	if r.exceptions.setActive(control, set.Names()) {
		r.Evaluator.MarkAllDirty(control)
	}
	return set, exception.NextExpiry(list.Items, control, now), nil
}

// exceptedSummary adjusts a control's summary for its exceptions (see
// exception.ApplyToSummary) and records how many subjects each exempts.
func (r *ControlReconciler) exceptedSummary(control string, set *exception.Set, sum evaluation.Summary) (evaluation.Summary, int) {
	sum, counts := exception.ApplyToSummary(sum, set, func(ns string) []evaluation.SubjectResult {
		failures, _ := r.Evaluator.Failures(control, ns)
		return failures
	})
	r.exceptions.set(control, counts)
	return sum, counts.Total()
}

// exceptionChanged re-syncs every Finding of the controls an exception names (before and after
// an edit: the handler maps both versions).
func (r *ControlReconciler) exceptionChanged(_ context.Context, obj client.Object) []reconcile.Request {
	ex, ok := obj.(*ismsv1.ControlException)
	if !ok {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(ex.Spec.Controls))
	for _, c := range ex.Spec.Controls {
		r.Evaluator.MarkAllDirty(c)
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: c}})
	}
	return reqs
}

// exceptionSpecOrPhaseChanged passes what can change which subjects an exception exempts: its
// creation, deletion, a spec edit and its expiry; not the count updates in its status.
func exceptionSpecOrPhaseChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, okO := e.ObjectOld.(*ismsv1.ControlException)
			n, okN := e.ObjectNew.(*ismsv1.ControlException)
			return !okO || !okN || o.Generation != n.Generation || o.Status.Phase != n.Status.Phase
		},
	}
}

// ExceptionReconciler keeps ControlExceptions' status: Active until expiresAt, then Expired
// with an Event, at that very time; and how many failing subjects each exempts.
type ExceptionReconciler struct {
	client.Client
	Recorder events.EventRecorder
	Now      func() time.Time
	matches  *exceptionMatches
	// evidence records phase changes in the evidence ledger; nil when it is off.
	evidence *evidenceRecorder
	// expired re-syncs the Findings of an expired exception's controls at once.
	expired func(controls []string)
}

// setupExceptionWithManager adds the ControlException controller to mgr.
func setupExceptionWithManager(mgr ctrl.Manager, matches *exceptionMatches, rec *evidenceRecorder, expired func([]string)) error {
	r := &ExceptionReconciler{
		Client:   mgr.GetClient(),
		Recorder: eventRecorder(mgr),
		Now:      time.Now,
		matches:  matches,
		evidence: rec,
		expired:  expired,
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&ismsv1.ControlException{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesRawSource(source.Channel(matches.changed, &handler.EnqueueRequestForObject{})).
		Named("controlexception").
		WithOptions(controllerOptions(1)).
		Complete(r)
}

// Reconcile writes one exception's phase, conditions and matched count, and requeues for its
// expiry.
func (r *ExceptionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var ex ismsv1.ControlException
	if err := r.Get(ctx, req.NamespacedName, &ex); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("getting control exception: %w", err)
	}
	now := r.Now()
	next, tr := exception.NextStatus(&ex, r.matches.total(ex.Name), now)
	if !equality.Semantic.DeepEqual(next, ex.Status) {
		from := ex.Status.Phase
		ex.Status = next
		if err := r.Status().Update(ctx, &ex); err != nil {
			if apierrors.IsNotFound(err) {
				return ctrl.Result{}, nil
			}
			return ctrl.Result{}, fmt.Errorf("updating control exception status: %w", err)
		}
		if r.evidence != nil {
			r.evidence.recordException(&ex, from)
		}
		if tr == exception.Expired {
			r.Recorder.Eventf(&ex, nil, corev1.EventTypeWarning, ismsv1.EventExceptionExpired, "Expire",
				"Expired at %s: the subjects it exempted from %v count as failing again", ex.Spec.ExpiresAt.UTC().Format(time.RFC3339), ex.Spec.Controls)
		}
	}
	if tr == exception.Expired {
		r.expired(ex.Spec.Controls)
	}
	if exception.Active(&ex, now) {
		return ctrl.Result{RequeueAfter: ex.Spec.ExpiresAt.Sub(now) + 50*time.Millisecond}, nil
	}
	return ctrl.Result{}, nil
}

// indexExceptions indexes ControlExceptions by the Controls they name.
func indexExceptions(mgr ctrl.Manager) error {
	return mgr.GetFieldIndexer().IndexField(context.Background(), &ismsv1.ControlException{}, exceptionControlIndex, func(obj client.Object) []string {
		return slices.Clone(obj.(*ismsv1.ControlException).Spec.Controls)
	})
}
