package crdschema

import (
	"path/filepath"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/config/crd"
)

// TestAttestedLibrary checks config/library/attested: every file is an attested Control the
// API server accepts, with the owner and approvers left as placeholders for the user, and the
// kustomization lists them all.
func TestAttestedLibrary(t *testing.T) {
	v, err := Load(crd.Bases, "bases")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "config", "library", "attested")
	ids, requirements := map[string]bool{}, map[string]bool{}
	for base, data := range acceptedLibraryFiles(t, v, dir, "Control") {
		var c ismsv1.Control
		if err := yaml.UnmarshalStrict(data, &c); err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		switch {
		case !c.IsAttested():
			t.Errorf("%s: not attested", base)
		case c.Spec.Owner != "SET-ME-control-owner" || !slices.Equal(c.Spec.Attestation.Approvers.Groups, []string{"SET-ME-isms-approvers"}):
			t.Errorf("%s: owner and approvers must be the placeholders the docs tell users to replace", base)
		case ids[c.Spec.ID]:
			t.Errorf("%s: id %s used twice", base, c.Spec.ID)
		}
		ids[c.Spec.ID] = true
		for _, fm := range c.Spec.Frameworks {
			for _, r := range fm.Requirements {
				requirements[r] = true
			}
		}
	}
	if len(ids) < 15 {
		t.Errorf("%d attested controls, want at least 15", len(ids))
	}
	for _, r := range []string{"A.5.1", "A.5.2", "A.5.19", "A.5.20", "A.5.21", "A.5.22", "A.5.24", "A.5.26", "A.5.27", "A.6.1", "A.6.3", "A.7.1", "A.8.13"} {
		if !requirements[r] {
			t.Errorf("no attested control maps %s", r)
		}
	}
}
