package assets

import (
	"cmp"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
)

// Input is what the register is built from, as listed from the API server.
type Input struct {
	Namespaces []Object
	Workloads  []Object
	Controls   []ismsv1.Control
	Findings   []ismsv1.Finding
	Labels     LabelNames
}

// Asset is one row of the register.
type Asset struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// Owner is the owner label's value: the asset's own, or for a workload without one its
	// namespace's (OwnerInherited).
	Owner          string `json:"owner,omitempty"`
	OwnerInherited bool   `json:"ownerInherited,omitempty"`
	// Classification is the classification label's value, the asset's own or its namespace's
	// (ClassificationInherited).
	Classification          string `json:"classification,omitempty"`
	ClassificationInherited bool   `json:"classificationInherited,omitempty"`
	Unowned                 bool   `json:"unowned"`
	// Unclassified: no classification, or one that is not among the levels.
	Unclassified bool `json:"unclassified"`
	// Controls are the evaluated Controls whose targets match the asset.
	Controls []string `json:"controls"`
	// FailingControls are the Controls whose open Findings list the asset as failing.
	FailingControls []string `json:"failingControls"`
	// OpenFindings are those Findings, as namespace/name.
	OpenFindings []string `json:"openFindings"`
	// UnlistedFindings are open Findings of Controls that evaluate the asset, where it lives,
	// that list only part of their failing subjects (a Finding keeps at most 50) and not this
	// one: the asset may be among those not listed.
	UnlistedFindings []string `json:"unlistedFindings,omitempty"`
}

// NeedsOwnerOrClassification reports whether the asset lacks an owner or a classification.
func (a *Asset) NeedsOwnerOrClassification() bool { return a.Unowned || a.Unclassified }

// Register is the asset register.
type Register struct {
	Labels       LabelNames `json:"labels"`
	Total        int        `json:"total"`
	Unowned      int        `json:"unowned"`
	Unclassified int        `json:"unclassified"`
	// Assets: the unowned or unclassified first, then those with the most failing Controls.
	Assets []Asset `json:"assets"`
	// InvalidControls are Controls whose targets do not compile: they evaluate nothing here.
	InvalidControls []string `json:"invalidControls,omitempty"`
}

// Build makes the register: every Namespace and every workload no controller owns.
func Build(in Input) Register {
	matchers, invalid := Matchers(in.Controls)
	nsLabels := namespaceLabels(in.Namespaces)
	failing := failingIndexOf(in.Findings)
	reg := Register{Labels: in.Labels, Assets: []Asset{}, InvalidControls: invalid}
	for _, o := range slices.Concat(in.Namespaces, in.Workloads) {
		if o.Controlled {
			continue
		}
		a := describe(o, nsLabels, in.Labels)
		a.Controls = evaluating(matchers, o, nsLabels[o.scope()])
		a.FailingControls, a.OpenFindings = failing.of(o)
		a.UnlistedFindings = failing.unlisted(o, a.Controls, a.OpenFindings)
		if a.Unowned {
			reg.Unowned++
		}
		if a.Unclassified {
			reg.Unclassified++
		}
		reg.Assets = append(reg.Assets, a)
	}
	reg.Total = len(reg.Assets)
	slices.SortStableFunc(reg.Assets, compareAssets)
	return reg
}

// describe reads the asset's owner and classification from its labels, or from its namespace's.
func describe(o Object, nsLabels map[string]map[string]string, names LabelNames) Asset {
	a := Asset{APIVersion: o.GVK.GroupVersion().String(), Kind: o.GVK.Kind, Namespace: o.Namespace, Name: o.Name}
	inherited := nsLabels[o.Namespace]
	if o.IsNamespace() {
		inherited = nil
	}
	a.Owner, a.OwnerInherited = labelOrInherited(o.Labels, inherited, names.Owner)
	a.Classification, a.ClassificationInherited = labelOrInherited(o.Labels, inherited, names.Classification)
	a.Unowned = a.Owner == ""
	a.Unclassified = a.Classification == "" || (len(names.Levels) > 0 && !slices.Contains(names.Levels, a.Classification))
	return a
}

// labelOrInherited is the non-blank value of the label on the object, else on its namespace.
func labelOrInherited(own, namespace map[string]string, label string) (string, bool) {
	if v := strings.TrimSpace(own[label]); v != "" {
		return v, false
	}
	if v := strings.TrimSpace(namespace[label]); v != "" {
		return v, true
	}
	return "", false
}

// evaluating names the Controls whose targets match the object, sorted.
func evaluating(matchers map[string]*evaluation.Matcher, o Object, namespaceLabels map[string]string) []string {
	out := []string{}
	for name, m := range matchers {
		if Evaluates(m, o, namespaceLabels) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// compareAssets orders the register: assets without an owner or a classification first, then
// more failing Controls first, then by namespace (a Namespace before its workloads), kind and
// name.
func compareAssets(a, b Asset) int {
	if a.NeedsOwnerOrClassification() != b.NeedsOwnerOrClassification() {
		if a.NeedsOwnerOrClassification() {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(len(b.FailingControls), len(a.FailingControls)); c != 0 {
		return c
	}
	return compareRefs(a.Kind, a.Namespace, a.Name, b.Kind, b.Namespace, b.Name)
}

// compareRefs orders assets by the namespace they are in or are, a Namespace first, then kind
// and name.
func compareRefs(aKind, aNamespace, aName, bKind, bNamespace, bName string) int {
	scope := func(kind, ns, name string) (string, bool) {
		if kind == NamespaceGVK.Kind && ns == "" {
			return name, false
		}
		return ns, true
	}
	as, aWorkload := scope(aKind, aNamespace, aName)
	bs, bWorkload := scope(bKind, bNamespace, bName)
	if c := strings.Compare(as, bs); c != 0 {
		return c
	}
	if aWorkload != bWorkload {
		if aWorkload {
			return 1
		}
		return -1
	}
	return cmp.Or(strings.Compare(aKind, bKind), strings.Compare(aName, bName))
}

// findingKey identifies a failing subject: group, kind, namespace (none for a Namespace) and
// name.
type findingKey struct {
	group, kind, namespace, name string
}

func keyOf(o Object) findingKey {
	return findingKey{group: o.GVK.Group, kind: o.GVK.Kind, namespace: o.Namespace, name: o.Name}
}

// failingIndex indexes the open Findings by the subjects they list.
type failingIndex struct {
	listed map[findingKey][]*ismsv1.Finding
	// partial are the open Findings that list only part of their failing subjects.
	partial []*ismsv1.Finding
}

func failingIndexOf(findings []ismsv1.Finding) failingIndex {
	idx := failingIndex{listed: map[findingKey][]*ismsv1.Finding{}}
	for i := range findings {
		f := &findings[i]
		if !f.Status.State.IsOpen() {
			continue
		}
		for _, s := range f.Status.Subjects {
			gv, _ := schema.ParseGroupVersion(s.APIVersion)
			k := findingKey{group: gv.Group, kind: s.Kind, namespace: f.Namespace, name: s.Name}
			if gv.Group == "" && s.Kind == NamespaceGVK.Kind {
				k.namespace = "" // a Namespace is cluster-scoped: its Finding is in the operator's namespace
			}
			idx.listed[k] = append(idx.listed[k], f)
		}
		if int(f.Status.SubjectCount) > len(f.Status.Subjects) {
			idx.partial = append(idx.partial, f)
		}
	}
	return idx
}

// of returns the Controls whose open Findings list the object, and those Findings, sorted.
func (idx failingIndex) of(o Object) (controls, findings []string) {
	controls, findings = []string{}, []string{}
	for _, f := range idx.listed[keyOf(o)] {
		if !slices.Contains(controls, f.Spec.Control) {
			controls = append(controls, f.Spec.Control)
		}
		if ref := f.Namespace + "/" + f.Name; !slices.Contains(findings, ref) {
			findings = append(findings, ref)
		}
	}
	sort.Strings(controls)
	sort.Strings(findings)
	return controls, findings
}

// unlisted returns the partial open Findings of the Controls that evaluate the object, where
// the object's Finding would be, that do not already list it.
func (idx failingIndex) unlisted(o Object, controls, listed []string) []string {
	var out []string
	for _, f := range idx.partial {
		ref := f.Namespace + "/" + f.Name
		if !slices.Contains(controls, f.Spec.Control) || slices.Contains(listed, ref) || !concerns(f, o) {
			continue
		}
		out = append(out, ref)
	}
	sort.Strings(out)
	return out
}

// concerns reports whether a Finding is where a failure of the object would be recorded: in
// its namespace, or for a Namespace (cluster-scoped) in the Finding that lists Namespaces,
// wherever the operator keeps it.
func concerns(f *ismsv1.Finding, o Object) bool {
	if !o.IsNamespace() {
		return f.Namespace == o.Namespace
	}
	if len(f.Status.Subjects) == 0 {
		return true
	}
	return slices.ContainsFunc(f.Status.Subjects, func(s ismsv1.FailingSubject) bool {
		return s.Kind == NamespaceGVK.Kind && !strings.Contains(s.APIVersion, "/")
	})
}
