package assets

import (
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// HasSelectors reports whether any of a Risk's assets selects objects; a Risk whose assets
// are all in words selects none, and is scored as before assets were evaluated.
func HasSelectors(assets []ismsv1.RiskAsset) bool {
	return slices.ContainsFunc(assets, func(a ismsv1.RiskAsset) bool {
		return a.NamespaceSelector != nil || a.WorkloadSelector != nil
	})
}

// Select returns the objects a Risk's assets select, each once, in the register's order
// (namespace, a Namespace before its workloads, kind, name):
//   - namespaceSelector alone: the selected Namespaces and the workloads in them;
//   - workloadSelector: the workloads with those labels, in the namespaces the
//     namespaceSelector selects if it is set too.
//
// Workloads a controller owns are not assets of their own. An asset whose selector does not
// compile selects nothing, and problems says why.
func Select(assets []ismsv1.RiskAsset, namespaces, workloads []Object) (selected []Object, problems []string) {
	nsLabels := namespaceLabels(namespaces)
	seen := map[findingKey]bool{}
	add := func(o Object) {
		if k := keyOf(o); !o.Controlled && !seen[k] {
			seen[k] = true
			selected = append(selected, o)
		}
	}
	for i, a := range assets {
		if a.NamespaceSelector == nil && a.WorkloadSelector == nil {
			continue
		}
		nsSel, err := selectorOf(a.NamespaceSelector)
		if err != nil {
			problems = append(problems, fmt.Sprintf("spec.assets[%d].namespaceSelector: %v", i, err))
			continue
		}
		wlSel, err := selectorOf(a.WorkloadSelector)
		if err != nil {
			problems = append(problems, fmt.Sprintf("spec.assets[%d].workloadSelector: %v", i, err))
			continue
		}
		if a.WorkloadSelector == nil {
			for _, ns := range namespaces {
				if nsSel.Matches(labels.Set(ns.Labels)) {
					add(ns)
				}
			}
		}
		for _, w := range workloads {
			if nsSel.Matches(labels.Set(nsLabels[w.Namespace])) && wlSel.Matches(labels.Set(w.Labels)) {
				add(w)
			}
		}
	}
	slices.SortStableFunc(selected, func(a, b Object) int {
		return compareRefs(a.GVK.Kind, a.Namespace, a.Name, b.GVK.Kind, b.Namespace, b.Name)
	})
	return selected, problems
}

// selectorOf compiles a label selector; an unset one selects everything.
func selectorOf(sel *metav1.LabelSelector) (labels.Selector, error) {
	if sel == nil {
		return labels.Everything(), nil
	}
	return metav1.LabelSelectorAsSelector(sel)
}

// EvaluatingControls names the Controls (of those given) whose targets match at least one of
// the objects; namespaces gives the labels of the objects' namespaces.
func EvaluatingControls(controls []ismsv1.Control, objects, namespaces []Object) map[string]bool {
	matchers, _ := Matchers(controls)
	nsLabels := namespaceLabels(namespaces)
	out := map[string]bool{}
	for name, m := range matchers {
		for _, o := range objects {
			if Evaluates(m, o, nsLabels[o.scope()]) {
				out[name] = true
				break
			}
		}
	}
	return out
}
