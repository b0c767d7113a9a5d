package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	"github.com/isms-operator/isms-operator/internal/policy"
	"github.com/isms-operator/isms-operator/internal/risk"
)

// riskControlIndex indexes Risks by the names of the Controls they link, so that a Control whose
// result changes finds its Risks in the cache without listing them all.
const riskControlIndex = "spec.controls.name"

// RiskReconciler scores Risks from the current results of the Controls that treat them. The
// scoring itself is internal/risk; this moves data between it and the API server.
type RiskReconciler struct {
	client.Client
	Recorder events.EventRecorder
	Metrics  *RiskMetrics
	Now      func() time.Time
	// Assets lists the watched objects a Risk's spec.assets select; nil: assets are not
	// evaluated.
	Assets AssetSource

	// within remembers the appetite verdict last written for each Risk, so that a reconcile
	// that reads a Risk from a cache not yet updated by our own write does not announce the same
	// transition twice.
	mu     sync.Mutex
	within map[string]metav1.ConditionStatus // by Risk name
}

// +kubebuilder:rbac:groups=isms.dev,resources=risks,verbs=get;list;watch
// +kubebuilder:rbac:groups=isms.dev,resources=risks/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=isms.dev,resources=controls,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// setupRiskWithManager adds the Risk controller to mgr, its metrics to reg: Risks are re-scored when they change and
// when a Control they link changes its result (or appears or goes).
func setupRiskWithManager(mgr ctrl.Manager, reg prometheus.Registerer, src AssetSource) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &ismsv1.Risk{}, riskControlIndex, func(obj client.Object) []string {
		r := obj.(*ismsv1.Risk)
		names := make([]string, 0, len(r.Spec.Controls))
		for _, c := range r.Spec.Controls {
			names = append(names, c.Name)
		}
		return names
	}); err != nil {
		return fmt.Errorf("indexing risks by control: %w", err)
	}
	r := &RiskReconciler{
		Client:   mgr.GetClient(),
		Recorder: eventRecorder(mgr),
		Metrics:  NewRiskMetrics(reg),
		Now:      time.Now,
		Assets:   src,
		within:   map[string]metav1.ConditionStatus{},
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&ismsv1.Risk{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&ismsv1.Control{}, handler.EnqueueRequestsFromMapFunc(r.risksOfControl), builder.WithPredicates(controlResultChanged())).
		Named("risk").
		WithOptions(controllerOptions(1)).
		Complete(r)
}

// controlResultChanged passes the Control events that can move a risk score: a Control appearing
// or going, a change of its result, and a change of its spec (its targets decide whether it
// evaluates a Risk's assets). Everything else a Control's status records (counts, times)
// changes far more often and cannot change a score.
func controlResultChanged() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return true },
		DeleteFunc:  func(event.DeleteEvent) bool { return true },
		GenericFunc: func(event.GenericEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			oldC, okOld := e.ObjectOld.(*ismsv1.Control)
			newC, okNew := e.ObjectNew.(*ismsv1.Control)
			return !okOld || !okNew || oldC.Status.Result != newC.Status.Result || oldC.Generation != newC.Generation
		},
	}
}

// risksOfControl maps a Control to the Risks that link it.
func (r *RiskReconciler) risksOfControl(ctx context.Context, obj client.Object) []reconcile.Request {
	var risks ismsv1.RiskList
	if err := r.List(ctx, &risks, client.MatchingFields{riskControlIndex: obj.GetName()}); err != nil {
		logf.FromContext(ctx).Error(err, "Listing the risks of a control", "control", obj.GetName())
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(risks.Items))
	for _, rk := range risks.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: rk.Name}})
	}
	return reqs
}

// Reconcile scores one Risk and writes the score, its conditions and when to review it.
func (r *RiskReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var rk ismsv1.Risk
	if err := r.Get(ctx, req.NamespacedName, &rk); err != nil {
		if apierrors.IsNotFound(err) {
			r.Metrics.ForgetRisk(req.Name)
			r.forgetVerdict(req.Name)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("getting risk: %w", err)
	}
	if !rk.DeletionTimestamp.IsZero() {
		r.Metrics.ForgetRisk(rk.Name)
		r.forgetVerdict(rk.Name)
		return ctrl.Result{}, nil
	}
	original := rk.DeepCopy()

	standings, controls, err := r.standings(ctx, &rk)
	if err != nil {
		return ctrl.Result{}, err
	}
	standings, sel := r.scopeToAssets(&rk, standings, controls)
	now := r.Now()
	review := r.score(&rk, standings, assetProblems(sel), now)
	r.Metrics.SetRisk(rk.Name, rk.Status.ResidualLevel)

	if !equality.Semantic.DeepEqual(original.Status, rk.Status) {
		if err := r.Status().Patch(ctx, &rk, client.MergeFrom(original)); err != nil {
			if apierrors.IsNotFound(err) {
				return ctrl.Result{}, nil
			}
			return ctrl.Result{}, fmt.Errorf("patching risk status: %w", err)
		}
	}
	r.announce(original, &rk)

	logf.FromContext(ctx).V(1).Info("Risk scored", "residual", rk.Status.ResidualScore, "level", rk.Status.ResidualLevel, "nextReview", review.Due)
	return ctrl.Result{RequeueAfter: nextScore(review, sel, now)}, nil
}

// nextScore is when to score the Risk again with no event: when its review falls due (Control
// results arrive by watch; an overdue review stays overdue until someone records one, which is
// a spec change), and, for a Risk that selects assets, on the asset resync, sooner while a
// watch of an asset kind is still listing. 0: not at all.
func nextScore(review risk.ReviewState, sel *riskAssets, now time.Time) time.Duration {
	var after time.Duration
	if !review.Overdue {
		after = review.Due.Sub(now) + time.Second
	}
	if sel == nil {
		return after
	}
	resync := assetResync
	if sel.unsynced {
		resync = assetUnsynced
	}
	if after == 0 || resync < after {
		after = resync
	}
	return after
}

// standings reads each linked Control from the cache, and returns those found too.
func (r *RiskReconciler) standings(ctx context.Context, rk *ismsv1.Risk) ([]risk.ControlStanding, []ismsv1.Control, error) {
	out := make([]risk.ControlStanding, 0, len(rk.Spec.Controls))
	var found []ismsv1.Control
	for _, ref := range rk.Spec.Controls {
		s := risk.ControlStanding{Name: ref.Name, LikelihoodReduction: ref.LikelihoodReduction, ImpactReduction: ref.ImpactReduction}
		var c ismsv1.Control
		switch err := r.Get(ctx, types.NamespacedName{Name: ref.Name}, &c); {
		case err == nil:
			s.Found, s.Result, s.Attested = true, c.Status.Result, c.IsAttested()
			found = append(found, c)
		case apierrors.IsNotFound(err):
		default:
			return nil, nil, fmt.Errorf("getting control %s: %w", ref.Name, err)
		}
		out = append(out, s)
	}
	return out, found, nil
}

// score fills in rk.Status from the model and returns the review state; note is added to the
// WithinAppetite message.
func (r *RiskReconciler) score(rk *ismsv1.Risk, standings []risk.ControlStanding, note string, now time.Time) risk.ReviewState {
	spec, st := &rk.Spec, &rk.Status
	a := risk.Residual(spec.Likelihood, spec.Impact, standings)
	st.InherentScore, st.InherentLevel = a.Inherent.Score, a.Inherent.Level
	st.ResidualLikelihood, st.ResidualImpact = a.Residual.Likelihood, a.Residual.Impact
	st.ResidualScore, st.ResidualLevel = a.Residual.Score, a.Residual.Level
	st.EffectiveControls, st.FailingControls = int32(a.Effective), int32(a.Failing)
	st.MissingControls = a.Missing
	st.Controls = nil
	for _, c := range a.Controls {
		st.Controls = append(st.Controls, ismsv1.RiskControlStatus{Name: c.Name, Result: c.Result, Effective: c.Effective, Missing: c.Missing, OffAssets: c.OffAssets})
	}

	verdict := risk.Judge(a, spec.Appetite)
	status := metav1.ConditionUnknown
	if verdict.Known {
		status = metav1.ConditionFalse
		if verdict.Within {
			status = metav1.ConditionTrue
		}
	}
	message := verdict.Message + note
	if spec.Treatment == ismsv1.TreatmentAccept && spec.Acceptance != nil {
		message += fmt.Sprintf(" Accepted by %s until %s.", spec.Acceptance.AcceptedBy, spec.Acceptance.Until.UTC().Format(time.RFC3339))
	}
	setRiskCondition(rk, ismsv1.ConditionWithinAppetite, status, verdict.Reason, message)

	var lastReviewed time.Time
	st.LastReviewed = nil
	if spec.Review != nil {
		lastReviewed = spec.Review.At.Time
		st.LastReviewed = timeRef(lastReviewed)
	}
	var until *time.Time
	if spec.Treatment == ismsv1.TreatmentAccept && spec.Acceptance != nil {
		until = &spec.Acceptance.Until.Time
	}
	review := risk.Review(lastReviewed, rk.CreationTimestamp.Time, reviewInterval(rk), until, now)
	st.NextReview = timeRef(review.Due)
	reviewed := metav1.ConditionTrue
	if review.Overdue {
		reviewed = metav1.ConditionFalse
	}
	setRiskCondition(rk, ismsv1.ConditionReviewed, reviewed, review.Reason, review.Message)
	st.ObservedGeneration = rk.Generation
	return review
}

// announce records an Event when the risk leaves its appetite or comes back within it.
func (r *RiskReconciler) announce(original, rk *ismsv1.Risk) {
	cond := meta.FindStatusCondition(rk.Status.Conditions, ismsv1.ConditionWithinAppetite)
	if cond == nil || cond.Status == metav1.ConditionUnknown {
		return
	}
	r.mu.Lock()
	previous, known := r.within[rk.Name]
	r.within[rk.Name] = cond.Status
	r.mu.Unlock()
	if !known {
		if old := meta.FindStatusCondition(original.Status.Conditions, ismsv1.ConditionWithinAppetite); old != nil {
			previous = old.Status
		}
	}
	switch {
	case previous == cond.Status:
	case cond.Status == metav1.ConditionFalse:
		r.Recorder.Eventf(rk, nil, corev1.EventTypeWarning, ismsv1.EventRiskOutOfAppetite, "Score", "%s", cond.Message)
	case previous == metav1.ConditionFalse:
		r.Recorder.Eventf(rk, nil, corev1.EventTypeNormal, ismsv1.EventRiskWithinAppetite, "Score", "%s", cond.Message)
	}
}

func (r *RiskReconciler) forgetVerdict(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.within, name)
}

func setRiskCondition(rk *ismsv1.Risk, conditionType string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&rk.Status.Conditions, metav1.Condition{
		Type:               conditionType,
		Status:             status,
		Reason:             reason,
		Message:            policy.Truncate(message, maxNoteLen),
		ObservedGeneration: rk.Generation,
	})
}

func reviewInterval(rk *ismsv1.Risk) time.Duration {
	if rk.Spec.ReviewInterval != nil && rk.Spec.ReviewInterval.Duration > 0 {
		return rk.Spec.ReviewInterval.Duration
	}
	d, _ := time.ParseDuration(ismsv1.DefaultRiskReviewInterval)
	return d
}
