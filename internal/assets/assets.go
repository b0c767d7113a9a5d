// Package assets is the asset register: the cluster's Namespaces and workloads as information
// assets (ISO/IEC 27001:2022 A.5.9 inventory, A.5.12 classification), with who owns them, how
// their data is classified, which Controls evaluate them and which of those fail on them. It
// also selects the assets a Risk concerns (spec.assets). It is pure: the caller lists the
// objects, Controls and Findings; `kubectl isms assets` and the Risk controller both decide
// here, and match a Control's targets with the evaluator's own matcher
// (evaluation.NewMatcher), so that "evaluates" means what the operator evaluates.
package assets

import (
	"k8s.io/apimachinery/pkg/runtime/schema"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
)

// NamespaceGVK is the kind of Namespace assets.
var NamespaceGVK = schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}

// WorkloadGVKs are the kinds of workload assets. Pods and ReplicaSets are not assets of their
// own: a workload above makes them.
var WorkloadGVKs = []schema.GroupVersionKind{
	{Group: "apps", Version: "v1", Kind: "Deployment"},
	{Group: "apps", Version: "v1", Kind: "StatefulSet"},
	{Group: "apps", Version: "v1", Kind: "DaemonSet"},
	{Group: "batch", Version: "v1", Kind: "CronJob"},
	{Group: "batch", Version: "v1", Kind: "Job"},
}

// GroupKinds are the kinds of all assets, Namespace first.
func GroupKinds() []schema.GroupKind {
	out := []schema.GroupKind{NamespaceGVK.GroupKind()}
	for _, gvk := range WorkloadGVKs {
		out = append(out, gvk.GroupKind())
	}
	return out
}

// Object is a Namespace or a workload as the caller listed it.
type Object struct {
	GVK       schema.GroupVersionKind
	Namespace string // empty for a Namespace
	Name      string
	Labels    map[string]string
	// Controlled is true when a controller owns the object (a Job of a CronJob): the owner is
	// the asset, and the object is not listed of its own.
	Controlled bool
}

// IsNamespace reports whether the object is a Namespace.
func (o Object) IsNamespace() bool { return o.GVK.GroupKind() == NamespaceGVK.GroupKind() }

// scope is the namespace the object lives in, or is, for a Namespace.
func (o Object) scope() string {
	if o.IsNamespace() {
		return o.Name
	}
	return o.Namespace
}

// subject is the object in the form the evaluator's matcher reads.
func (o Object) subject() *evaluation.Subject {
	s := &evaluation.Subject{GVK: o.GVK}
	s.Namespace, s.Name, s.Labels = o.Namespace, o.Name, o.Labels
	return s
}

// Matchers compiles the targets of the evaluated Controls, by Control name. Attested Controls
// evaluate no object and have none; a Control whose targets do not compile (the API server's
// validation lets few through) is in invalid instead.
func Matchers(controls []ismsv1.Control) (matchers map[string]*evaluation.Matcher, invalid []string) {
	matchers = map[string]*evaluation.Matcher{}
	for i := range controls {
		c := &controls[i]
		if c.IsAttested() {
			continue
		}
		m, err := evaluation.NewMatcher(c.Spec.Targets)
		if err != nil {
			invalid = append(invalid, c.Name)
			continue
		}
		matchers[c.Name] = m
	}
	return matchers, invalid
}

// Evaluates reports whether a Control's targets match the object: the evaluator's own test,
// with the labels of the object's namespace (nil when the namespace is unknown).
func Evaluates(m *evaluation.Matcher, o Object, namespaceLabels map[string]string) bool {
	return m.Matches(o.subject(), namespaceLabels)
}

// namespaceLabels maps each Namespace's name to its labels.
func namespaceLabels(namespaces []Object) map[string]map[string]string {
	out := make(map[string]map[string]string, len(namespaces))
	for _, ns := range namespaces {
		out[ns.Name] = ns.Labels
	}
	return out
}
