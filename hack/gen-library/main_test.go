package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/params"
	"github.com/isms-operator/isms-operator/policies"
)

// TestLibraryIsGenerated fails when config/library is stale (run `go run ./hack/gen-library`)
// and checks that every generated manifest decodes strictly into a Policy or a Control, that
// each Control references its Policy, and that its parameters match the Policy's schema.
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
	onDisk, err := Existing(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range onDisk {
		if _, ok := files[f]; !ok {
			t.Errorf("config/library/%s is not generated from any policy: run go run ./hack/gen-library", f)
		}
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("config/library/%s is stale or missing: run go run ./hack/gen-library", name)
		}
	}

	for i := range lib {
		p := &lib[i]
		policyFile, controlFile := PoliciesDir+"/"+p.Name+".yaml", p.Name+".yaml"
		var pol ismsv1.Policy
		if err := yaml.UnmarshalStrict(files[policyFile], &pol); err != nil {
			t.Errorf("%s: does not decode into a Policy: %v", policyFile, err)
			continue
		}
		var c ismsv1.Control
		if err := yaml.UnmarshalStrict(files[controlFile], &c); err != nil {
			t.Errorf("%s: does not decode into a Control: %v", controlFile, err)
			continue
		}
		switch {
		case pol.Kind != "Policy" || pol.APIVersion != "isms.dev/v1alpha1":
			t.Errorf("%s: kind %s, apiVersion %s", policyFile, pol.Kind, pol.APIVersion)
		case pol.Name != "isms-lib-"+p.Name:
			t.Errorf("%s: metadata.name is %q", policyFile, pol.Name)
		case pol.Spec.Rego != p.Rego.Text:
			t.Errorf("%s: spec.rego differs from %s", policyFile, p.Rego.Path)
		case len(pol.Spec.Description) > 8192 || len(pol.Spec.Rego) > 65536:
			t.Errorf("%s: a field exceeds the CRD's maximum length", policyFile)
		case (p.Metadata.ParametersSchema != nil) != (pol.Spec.ParametersSchema != nil):
			t.Errorf("%s: parametersSchema not carried over", policyFile)
		case c.Kind != "Control" || c.APIVersion != "isms.dev/v1alpha1":
			t.Errorf("%s: kind %s, apiVersion %s", controlFile, c.Kind, c.APIVersion)
		case c.Name != "isms-lib-"+p.Name:
			t.Errorf("%s: metadata.name is %q", controlFile, c.Name)
		case c.Spec.ID != p.Metadata.ID || c.Spec.Title != p.Metadata.Title || c.Spec.Owner != DefaultOwner:
			t.Errorf("%s: id, title or owner not carried over: %+v", controlFile, c.Spec)
		case string(c.Spec.Severity) != string(p.Metadata.Severity) || len(c.Spec.Targets.Kinds) == 0:
			t.Errorf("%s: severity or targets not carried over", controlFile)
		case c.Spec.Policy.Rego != "" || c.Spec.Policy.Ref == nil || c.Spec.Policy.Ref.Name != pol.Name:
			t.Errorf("%s: spec.policy must reference Policy %s only: %+v", controlFile, pol.Name, c.Spec.Policy)
		case len(c.Spec.Description) > 8192 || len(c.Spec.Title) > 256:
			t.Errorf("%s: a field exceeds the CRD's maximum length", controlFile)
		case (p.Metadata.Parameters != nil) != (c.Spec.Parameters != nil):
			t.Errorf("%s: parameters not carried over", controlFile)
		}
		// What the operator checks before it evaluates the Control.
		if _, err := params.Resolve(&c, &pol); err != nil {
			t.Errorf("%s: %v", controlFile, err)
		}
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(files["kustomization.yaml"], &k); err != nil {
		t.Fatal(err)
	}
	if len(k.Resources) != 2*len(lib) {
		t.Errorf("kustomization.yaml lists %d resources, want a Policy and a Control for each of %d policies", len(k.Resources), len(lib))
	}
}
