package frameworks

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/policies"
)

// TestLibraryMapsOnlyKnownRequirements: every requirement the embedded policy library maps
// to is in its framework's catalog, and every framework has one. A typo in a policy.yaml (or a
// NIST or CIS id the catalog does not list yet: add it to catalogs/) fails here.
func TestLibraryMapsOnlyKnownRequirements(t *testing.T) {
	lib, err := policies.LoadFS(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	if len(lib) == 0 {
		t.Fatal("the embedded library is empty")
	}
	for _, p := range lib {
		for _, problem := range Default().Check(field.NewPath("frameworks"), p.Metadata.Frameworks) {
			t.Errorf("policies/%s/policy.yaml: %s", p.Name, problem)
		}
	}
}

// TestShippedControlsMapOnlyKnownRequirements checks the Controls the repository ships as
// manifests (the generated library and the samples) the same way.
func TestShippedControlsMapOnlyKnownRequirements(t *testing.T) {
	controls := 0
	for _, dir := range []string{"../../config/library", "../../config/samples"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
				return err
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			docs, err := policies.DecodeDocuments(raw)
			if err != nil {
				t.Errorf("%s: %v", path, err)
				return nil
			}
			for _, doc := range docs {
				if doc["kind"] != "Control" {
					continue
				}
				controls++
				for _, problem := range Check(controlMappings(t, path, doc)) {
					t.Errorf("%s: %s", path, problem)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if controls < 10 {
		t.Fatalf("found %d Controls in config/: the test reads the wrong directories", controls)
	}
}

func controlMappings(t *testing.T, path string, doc map[string]any) []ismsv1.FrameworkMapping {
	js, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var c ismsv1.Control
	if err := json.Unmarshal(js, &c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c.Spec.Frameworks
}
