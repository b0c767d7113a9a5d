package evaluation

import (
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// Matcher decides whether a subject is in a Control's scope.
type Matcher struct {
	kinds              map[schema.GroupKind]bool
	namespaces         map[string]bool
	excludedNamespaces map[string]bool
	namespaceSelector  labels.Selector // nil: any namespace
	labelSelector      labels.Selector // nil: any labels
}

// NewMatcher compiles a Control's targets.
func NewMatcher(t ismsv1.Targets) (*Matcher, error) {
	m := &Matcher{
		kinds:              map[schema.GroupKind]bool{},
		namespaces:         setOf(t.Namespaces),
		excludedNamespaces: setOf(t.ExcludedNamespaces),
	}
	for _, gk := range GroupKinds(t.Kinds) {
		m.kinds[gk] = true
	}
	var err error
	if t.NamespaceSelector != nil {
		if m.namespaceSelector, err = metav1.LabelSelectorAsSelector(t.NamespaceSelector); err != nil {
			return nil, fmt.Errorf("targets.namespaceSelector: %w", err)
		}
	}
	if t.LabelSelector != nil {
		if m.labelSelector, err = metav1.LabelSelectorAsSelector(t.LabelSelector); err != nil {
			return nil, fmt.Errorf("targets.labelSelector: %w", err)
		}
	}
	return m, nil
}

// Targets reports whether subjects of this kind are in scope at all.
func (m *Matcher) Targets(gk schema.GroupKind) bool { return m.kinds[gk] }

// UsesNamespaceLabels reports whether matching depends on namespace labels.
func (m *Matcher) UsesNamespaceLabels() bool { return m.namespaceSelector != nil }

// Matches reports whether the subject is in scope. namespaceLabels are the labels of the
// subject's namespace (of the Namespace itself for a Namespace subject).
func (m *Matcher) Matches(s *Subject, namespaceLabels map[string]string) bool {
	if !m.kinds[s.GroupKind()] {
		return false
	}
	ns := scopeNamespace(s)
	if ns != "" {
		if len(m.namespaces) > 0 && !m.namespaces[ns] {
			return false
		}
		if m.excludedNamespaces[ns] {
			return false
		}
		if m.namespaceSelector != nil && !m.namespaceSelector.Matches(labels.Set(namespaceLabels)) {
			return false
		}
	}
	if m.labelSelector != nil && !m.labelSelector.Matches(labels.Set(s.Labels)) {
		return false
	}
	return true
}

// scopeNamespace is the namespace a subject's namespace filters apply to: its own for a
// namespaced object, its name for a Namespace, none for other cluster-scoped objects.
func scopeNamespace(s *Subject) string {
	if s.Namespace != "" {
		return s.Namespace
	}
	if IsNamespace(s.GroupKind()) {
		return s.Name
	}
	return ""
}

// NamespaceGroupKind is the GroupKind of core Namespaces.
var NamespaceGroupKind = schema.GroupKind{Kind: "Namespace"}

// IsNamespace reports whether gk is the core Namespace kind.
func IsNamespace(gk schema.GroupKind) bool { return gk == NamespaceGroupKind }

// GroupKinds expands kind selectors into GroupKinds, without duplicates, in a stable order.
func GroupKinds(sel []ismsv1.KindSelector) []schema.GroupKind {
	var out []schema.GroupKind
	for _, k := range sel {
		for _, g := range k.APIGroups {
			for _, kind := range k.Kinds {
				gk := schema.GroupKind{Group: g, Kind: kind}
				if !slices.Contains(out, gk) {
					out = append(out, gk)
				}
			}
		}
	}
	return out
}

func setOf(xs []string) map[string]bool {
	if len(xs) == 0 {
		return nil
	}
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}
