package crdschema

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// acceptedLibraryFiles reads the manifests of a config/library folder, checks that its
// kustomization lists each and that the API server would accept each as kind, and returns
// their contents by file name, for the caller's own checks.
func acceptedLibraryFiles(t *testing.T, v *Validator, dir, kind string) map[string][]byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	kustomization, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
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
		if errs := v.Validate(context.Background(), schema.GroupVersionKind{Group: "isms.dev", Version: "v1alpha1", Kind: kind}, obj); len(errs) > 0 {
			t.Errorf("%s: the API server would refuse it: %v", base, errs.ToAggregate())
		}
		out[base] = data
	}
	return out
}
