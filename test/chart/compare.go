package chart

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/isms-operator/isms-operator/test/install"
)

// The labels and annotations by which a Helm install differs from the kustomize one by nature.
// Compare checks that each is there, with its value, before it strips it; nothing else is
// allowed to differ.
const (
	managedByLabel = "app.kubernetes.io/managed-by"
	instanceLabel  = "app.kubernetes.io/instance"
	chartLabel     = "helm.sh/chart"
	// helm uninstall keeps an object with this annotation; kustomize has no counterpart.
	resourcePolicyAnnotation = "helm.sh/resource-policy"
)

// keptKinds are the kinds the chart annotates helm.sh/resource-policy: keep: the evidence
// ledger's volume, which is audit evidence.
var keptKinds = []string{"PersistentVolumeClaim"}

// Compare reports every difference between the kustomize render (want) and the chart's (got),
// after normalising what differs by nature (normaliseKustomize, normaliseChart). An empty
// result means the chart renders the kustomize install, object for object and field for field.
func Compare(want []*unstructured.Unstructured, got *Rendered) []string {
	kustomized, problems := normaliseKustomize(want)
	charted, chartProblems := normaliseChart(got)
	problems = append(problems, chartProblems...)
	wantIndex, gotIndex := install.Index(kustomized), install.Index(charted)
	for _, w := range kustomized {
		g := gotIndex.Get(w.GetKind(), w.GetNamespace(), w.GetName())
		if g == nil {
			problems = append(problems, fmt.Sprintf("%s: in the kustomize render, not in the chart's", describe(w)))
			continue
		}
		if diff := cmp.Diff(w.Object, g.Object); diff != "" {
			problems = append(problems, fmt.Sprintf("%s differs (-kustomize +chart):\n%s", describe(w), diff))
		}
	}
	for _, g := range charted {
		if wantIndex.Get(g.GetKind(), g.GetNamespace(), g.GetName()) == nil {
			problems = append(problems, fmt.Sprintf("%s: in the chart's render, not in the kustomize one", describe(g)))
		}
	}
	return problems
}

// normaliseKustomize takes from the kustomize render what a Helm install cannot have:
//   - the Namespace object: Helm installs into a release namespace that exists before the
//     release (helm install --create-namespace, or kubectl create namespace) and stores the
//     release in it, so a chart does not create it. ReleaseNamespace stands in for it, and
//     the chart's NOTES tell users to label it as config/default does (TestNotesLabelTheNamespace).
//   - app.kubernetes.io/managed-by: kustomize, which the chart sets to Helm.
func normaliseKustomize(objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, []string) {
	var out []*unstructured.Unstructured
	var problems []string
	for _, obj := range objs {
		if obj.GetKind() == "Namespace" {
			continue
		}
		obj = obj.DeepCopy()
		labels := obj.GetLabels()
		if v, ok := labels[managedByLabel]; ok && v != "kustomize" {
			problems = append(problems, fmt.Sprintf("%s: kustomize render has %s=%q", describe(obj), managedByLabel, v))
		}
		delete(labels, managedByLabel)
		setLabels(obj, labels)
		out = append(out, obj)
	}
	return out, problems
}

// normaliseChart checks and strips the Helm labels every object of templates/ carries
// (_helpers.tpl) and the resource-policy annotation of keptKinds. The CRDs come from crds/
// verbatim, so they carry neither.
func normaliseChart(r *Rendered) ([]*unstructured.Unstructured, []string) {
	want := map[string]string{
		managedByLabel: "Helm",
		instanceLabel:  ReleaseName,
		chartLabel:     r.Chart.Name() + "-" + r.Chart.Metadata.Version,
	}
	var problems []string
	out := slices.Clone(r.CRDs)
	for _, obj := range r.Templates {
		obj = obj.DeepCopy()
		labels := obj.GetLabels()
		for k, v := range want {
			if labels[k] != v {
				problems = append(problems, fmt.Sprintf("%s: chart render has %s=%q, want %q", describe(obj), k, labels[k], v))
			}
			delete(labels, k)
		}
		setLabels(obj, labels)
		if slices.Contains(keptKinds, obj.GetKind()) {
			annotations := obj.GetAnnotations()
			if annotations[resourcePolicyAnnotation] != "keep" {
				problems = append(problems, fmt.Sprintf("%s: want %s: keep, so that helm uninstall leaves it", describe(obj), resourcePolicyAnnotation))
			}
			delete(annotations, resourcePolicyAnnotation)
			setAnnotations(obj, annotations)
		}
		out = append(out, obj)
	}
	return out, problems
}

// setLabels sets labels, removing the field when none are left (as kustomize renders an
// object without labels).
func setLabels(obj *unstructured.Unstructured, labels map[string]string) {
	if len(labels) == 0 {
		unstructured.RemoveNestedField(obj.Object, "metadata", "labels")
		return
	}
	obj.SetLabels(labels)
}

func setAnnotations(obj *unstructured.Unstructured, annotations map[string]string) {
	if len(annotations) == 0 {
		unstructured.RemoveNestedField(obj.Object, "metadata", "annotations")
		return
	}
	obj.SetAnnotations(annotations)
}

// PodSecurityLabels are the Pod Security labels config/default puts on its Namespace, which the
// chart's NOTES tell users to put on the release namespace.
func PodSecurityLabels(kustomized []*unstructured.Unstructured) map[string]string {
	out := map[string]string{}
	for _, obj := range kustomized {
		if obj.GetKind() != "Namespace" {
			continue
		}
		for k, v := range obj.GetLabels() {
			if strings.HasPrefix(k, "pod-security.kubernetes.io/") {
				out[k] = v
			}
		}
	}
	return out
}

// ReleaseNamespace is the namespace Helm installs into, with labels: what Check and an API
// server need besides the chart's objects.
func ReleaseNamespace(name string, labels map[string]string) *unstructured.Unstructured {
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName(name)
	ns.SetLabels(maps.Clone(labels))
	return ns
}

func describe(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s %s/%s", obj.GetKind(), ns, obj.GetName())
	}
	return obj.GetKind() + " " + obj.GetName()
}
