package crdschema

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
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
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	kustomization, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ids, requirements := map[string]bool{}, map[string]bool{}
	for _, f := range files {
		base := filepath.Base(f)
		if base == "kustomization.yaml" {
			continue
		}
		if !strings.Contains(string(kustomization), "\n- "+base+"\n") {
			t.Errorf("%s is not listed in the kustomization", base)
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := yaml.Unmarshal(data, &obj); err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		if errs := v.Validate(context.Background(), schema.GroupVersionKind{Group: "isms.dev", Version: "v1alpha1", Kind: "Control"}, obj); len(errs) > 0 {
			t.Errorf("%s: the API server would refuse it: %v", base, errs.ToAggregate())
		}
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
