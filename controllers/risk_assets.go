package controllers

import (
	"fmt"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"k8s.io/apimachinery/pkg/runtime/schema"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/assets"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/risk"
)

// assetResync is how often a Risk that selects assets is scored again: objects appearing,
// going or changing their labels reach it this way (Control results arrive by watch).
const assetResync = time.Minute

// assetUnsynced is how soon a Risk is scored again while a watch of an asset kind is listing.
const assetUnsynced = 5 * time.Second

// AssetSource lists the objects the operator's watches hold (Watches): Namespaces always, and
// the other kinds only while a Control targets them.
type AssetSource interface {
	Watched(gk schema.GroupKind) (watched, synced bool)
	List(gks []schema.GroupKind) []*evaluation.Subject
}

// riskAssets is what a Risk's asset selectors select now, from the watches' caches.
type riskAssets struct {
	status     ismsv1.RiskAssetsStatus
	evaluating map[string]bool
	problems   []string
	// unsynced: a watch of an asset kind is still listing, so the selection may grow.
	unsynced bool
}

// selectAssets selects the Risk's assets among the watched objects and finds which of its
// Controls evaluate them. A kind no Control targets is not watched: its objects are not
// listed (status.assets.unwatchedKinds names the kind), and no Control evaluates them anyway.
func selectAssets(src AssetSource, rk *ismsv1.Risk, controls []ismsv1.Control) riskAssets {
	var out riskAssets
	var watched []schema.GroupKind
	for _, gk := range assets.GroupKinds() {
		switch ok, synced := src.Watched(gk); {
		case !ok:
			out.status.UnwatchedKinds = append(out.status.UnwatchedKinds, displayGK(gk))
		default:
			watched = append(watched, gk)
			out.unsynced = out.unsynced || !synced
		}
	}
	var namespaces, workloads []assets.Object
	for _, s := range src.List(watched) {
		o := assets.Object{GVK: s.GVK, Namespace: s.Namespace, Name: s.Name, Labels: s.Labels}
		if o.IsNamespace() {
			namespaces = append(namespaces, o)
			continue
		}
		o.Controlled = s.GVK.Kind == "Job" && controlledSubject(s)
		workloads = append(workloads, o)
	}
	selected, problems := assets.Select(rk.Spec.Assets, namespaces, workloads)
	out.problems = problems
	out.evaluating = assets.EvaluatingControls(controls, selected, namespaces)
	out.status.Count = int32(len(selected))
	for _, o := range selected[:min(len(selected), ismsv1.MaxRiskAssetsListed)] {
		out.status.Items = append(out.status.Items, ismsv1.RiskAssetRef{Kind: o.GVK.Kind, Namespace: o.Namespace, Name: o.Name})
	}
	return out
}

// scopeToAssets takes the Controls that evaluate none of the Risk's assets out of its score,
// and records the selection in the status. A Risk whose assets select nothing by label (or
// that has none) is scored as before, with no status.assets.
func (r *RiskReconciler) scopeToAssets(rk *ismsv1.Risk, standings []risk.ControlStanding, controls []ismsv1.Control) ([]risk.ControlStanding, *riskAssets) {
	if !assets.HasSelectors(rk.Spec.Assets) || r.Assets == nil {
		rk.Status.Assets = nil
		return standings, nil
	}
	sel := selectAssets(r.Assets, rk, controls)
	rk.Status.Assets = &sel.status
	return risk.ScopeToAssets(standings, true, sel.evaluating), &sel
}

// controlledSubject reports whether a controller owns the object (metadata.ownerReferences
// with controller: true), e.g. a Job a CronJob made.
func controlledSubject(s *evaluation.Subject) bool {
	obj, ok := s.Materialize().(ast.Object)
	if !ok {
		return false
	}
	refs, ok := termAt(obj, "metadata", "ownerReferences").(*ast.Array)
	if !ok {
		return false
	}
	for i := range refs.Len() {
		if ref, ok := refs.Elem(i).Value.(ast.Object); ok {
			if b, ok := termAt(ref, "controller").(ast.Boolean); ok && bool(b) {
				return true
			}
		}
	}
	return false
}

// termAt is the value at a path of object keys, nil when absent.
func termAt(obj ast.Object, path ...string) ast.Value {
	var v ast.Value = obj
	for _, key := range path {
		o, ok := v.(ast.Object)
		if !ok {
			return nil
		}
		t := o.Get(ast.StringTerm(key))
		if t == nil {
			return nil
		}
		v = t.Value
	}
	return v
}

// assetProblems says, for the WithinAppetite message, that the selectors select no object, or
// which of them cannot select any.
func assetProblems(sel *riskAssets) string {
	var note string
	if sel == nil {
		return ""
	}
	if sel.status.Count == 0 {
		note = " Its asset selectors select no object, so no evaluated Control counts."
	}
	if len(sel.problems) > 0 {
		note += fmt.Sprintf(" Selecting nothing: %s.", strings.Join(sel.problems, "; "))
	}
	return note
}
