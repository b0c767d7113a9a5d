package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/policies"
)

// TestLibraryIsGenerated fails when config/library is stale (run `go run ./hack/gen-library`)
// and checks that every generated manifest decodes strictly into a Control.
func TestLibraryIsGenerated(t *testing.T) {
	lib, err := policies.Load(filepath.Join("..", "..", "policies"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := Generate(lib, DefaultOwner)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "config", "library")
	onDisk, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range onDisk {
		if _, ok := files[filepath.Base(f)]; !ok {
			t.Errorf("%s is not generated from any policy: run go run ./hack/gen-library", f)
		}
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("config/library/%s is stale or missing: run go run ./hack/gen-library", name)
		}
	}

	byName := map[string]*policies.Policy{}
	for i := range lib {
		byName[lib[i].Name+".yaml"] = &lib[i]
	}
	for name, data := range files {
		p, ok := byName[name]
		if !ok {
			continue // kustomization.yaml
		}
		var c ismsv1.Control
		if err := yaml.UnmarshalStrict(data, &c); err != nil {
			t.Errorf("%s: does not decode into a Control: %v", name, err)
			continue
		}
		switch {
		case c.Kind != "Control" || c.APIVersion != "isms.dev/v1alpha1":
			t.Errorf("%s: kind %s, apiVersion %s", name, c.Kind, c.APIVersion)
		case c.Name != "isms-lib-"+p.Name:
			t.Errorf("%s: metadata.name is %q", name, c.Name)
		case c.Spec.ID != p.Metadata.ID || c.Spec.Title != p.Metadata.Title || c.Spec.Owner != DefaultOwner:
			t.Errorf("%s: id, title or owner not carried over: %+v", name, c.Spec)
		case string(c.Spec.Severity) != string(p.Metadata.Severity) || len(c.Spec.Targets.Kinds) == 0:
			t.Errorf("%s: severity or targets not carried over", name)
		case c.Spec.Policy.Rego != p.Rego.Text:
			t.Errorf("%s: spec.policy.rego differs from %s", name, p.Rego.Path)
		case len(c.Spec.Description) > 8192 || len(c.Spec.Title) > 256 || len(c.Spec.Policy.Rego) > 65536:
			t.Errorf("%s: a field exceeds the CRD's maximum length", name)
		case (p.Metadata.Parameters != nil) != (c.Spec.Parameters != nil):
			t.Errorf("%s: parameters not carried over", name)
		}
	}
}
