// Package argocd_test checks the Argo CD manifests of config/argocd: the overlays render with
// kustomize, the CRDs are protected from pruning, the sync waves are in order, and the
// Applications and ApplicationSets decode strictly into the fields of Argo CD's API that they
// use and point at paths that render.
package argocd_test

import (
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

const (
	syncOptions = "argocd.argoproj.io/sync-options"
	syncWave    = "argocd.argoproj.io/sync-wave"
	// thisRepo is the repoURL the examples use: their paths are checked in this checkout.
	thisRepo = "https://github.com/isms-operator/isms-operator.git"
)

var repoRoot = filepath.Join("..", "..")

func render(t *testing.T, dir string) resmap.ResMap {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return m
}

// TestOperatorOverlayProtectsTheCRDs: every CRD carries Prune=false,Delete=false and an
// earlier wave than everything else; nothing else is protected.
func TestOperatorOverlayProtectsTheCRDs(t *testing.T) {
	crds := 0
	for _, r := range render(t, "operator").Resources() {
		ann := r.GetAnnotations()
		if r.GetKind() != "CustomResourceDefinition" {
			if _, ok := ann[syncOptions]; ok {
				t.Errorf("%s %s has %s %q; only the CRDs should", r.GetKind(), r.GetName(), syncOptions, ann[syncOptions])
			}
			if wave(t, ann) >= 0 && wave(t, ann) != 0 {
				t.Errorf("%s %s is in wave %d, want the default 0", r.GetKind(), r.GetName(), wave(t, ann))
			}
			continue
		}
		crds++
		opts := strings.Split(ann[syncOptions], ",")
		slices.Sort(opts)
		if !slices.Equal(opts, []string{"Delete=false", "Prune=false"}) {
			t.Errorf("CRD %s: %s = %q, want Prune=false,Delete=false", r.GetName(), syncOptions, ann[syncOptions])
		}
		if wave(t, ann) >= 0 {
			t.Errorf("CRD %s: wave %d, want it before the operator's objects (wave 0)", r.GetName(), wave(t, ann))
		}
	}
	if want := len(crdFiles(t)); crds != want {
		t.Errorf("the overlay renders %d CRDs, want the %d isms.dev ones of config/crd/bases", crds, want)
	}
}

// crdFiles are the generated CRDs.
func crdFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "crd", "bases", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs under config/crd/bases: %v", err)
	}
	return files
}

// wave is the object's sync wave (0 when unset, as in Argo CD).
func wave(t *testing.T, annotations map[string]string) int {
	t.Helper()
	v, ok := annotations[syncWave]
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s %q is not an integer", syncWave, v)
	}
	return n
}

// TestControlsOverlayWaves: Policies, then Controls, then exceptions, then Risks; and every
// object a later wave names is in the earlier wave of its kind, so that the order means
// something.
func TestControlsOverlayWaves(t *testing.T) {
	order := map[string]int{"Policy": 0, "Control": 1, "ControlException": 2, "Risk": 3}
	names := map[string][]string{}
	var refs []reference
	for _, r := range render(t, "controls").Resources() {
		want, ok := order[r.GetKind()]
		if !ok || r.GetGvk().Group != ismsv1.GroupVersion.Group {
			t.Errorf("unexpected %s %s in the Controls' Application", r.GetKind(), r.GetName())
			continue
		}
		if got := wave(t, r.GetAnnotations()); got != want {
			t.Errorf("%s %s is in wave %d, want %d", r.GetKind(), r.GetName(), got, want)
		}
		names[r.GetKind()] = append(names[r.GetKind()], r.GetName())
		data, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, references(t, r.GetKind(), r.GetName(), data)...)
	}
	for kind := range order {
		if len(names[kind]) == 0 {
			t.Errorf("the example holds no %s", kind)
		}
	}
	for _, ref := range refs {
		if !slices.Contains(names[ref.kind], ref.name) || order[ref.kind] >= order[ref.fromKind] {
			t.Errorf("%s %s names %s %s, which no earlier wave holds", ref.fromKind, ref.from, ref.kind, ref.name)
		}
	}
}

// reference: the object from (of kind fromKind) names the object name of kind kind.
type reference struct{ fromKind, from, kind, name string }

// references decodes an isms.dev object strictly and lists the objects it names.
func references(t *testing.T, kind, name string, data []byte) []reference {
	t.Helper()
	var refs []reference
	add := func(to, toName string) { refs = append(refs, reference{kind, name, to, toName}) }
	switch kind {
	case "Policy":
		decodeStrict(t, data, &ismsv1.Policy{})
	case "Control":
		var c ismsv1.Control
		decodeStrict(t, data, &c)
		if c.Spec.Policy.Ref != nil {
			add("Policy", c.Spec.Policy.Ref.Name)
		}
	case "ControlException":
		var ex ismsv1.ControlException
		decodeStrict(t, data, &ex)
		for _, c := range ex.Spec.Controls {
			add("Control", c)
		}
	case "Risk":
		var r ismsv1.Risk
		decodeStrict(t, data, &r)
		for _, c := range r.Spec.Controls {
			add("Control", c.Name)
		}
	}
	return refs
}

// decodeStrict decodes YAML as the API server does: field names matched exactly (Go's
// encoding/json would take selfheal for selfHeal), unknown and duplicate fields refused.
func decodeStrict(t *testing.T, data []byte, into any) {
	t.Helper()
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("%v in:\n%s", err, data)
	}
	strict, err := kjson.UnmarshalStrict(js, into, kjson.DisallowUnknownFields, kjson.DisallowDuplicateFields)
	if err = errors.Join(append(strict, err)...); err != nil {
		t.Fatalf("%v in:\n%s", err, data)
	}
}
