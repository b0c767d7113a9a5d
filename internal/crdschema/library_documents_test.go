package crdschema

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/config/crd"
)

// TestDocumentLibrary checks config/library/documents: every file is a Document the API server
// accepts, reviewed by an attested Control of config/library/attested, with its owner, version
// and digest left as placeholders for the user; the kustomization lists them all, and the four
// documents an ISMS rests on are there.
func TestDocumentLibrary(t *testing.T) {
	v, err := Load(crd.Bases, "bases")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "..", "config", "library")
	attested := attestedLibraryControls(t, filepath.Join(root, "attested"))
	found := map[string]bool{}
	for base, data := range acceptedLibraryFiles(t, v, filepath.Join(root, "documents"), "Document") {
		var d ismsv1.Document
		if err := yaml.UnmarshalStrict(data, &d); err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		switch {
		case !attested[d.Spec.Control]:
			t.Errorf("%s: control %q is not an attested Control of the library", base, d.Spec.Control)
		case d.Spec.Owner != "SET-ME-document-owner" || d.Spec.Version != "SET-ME" || strings.Trim(d.Spec.Location.SHA256, "0") != "":
			t.Errorf("%s: owner, version and sha256 must be the placeholders the docs tell users to replace", base)
		}
		found[d.Name] = true
	}
	for _, name := range []string{"information-security-policy", "access-control-policy", "incident-response-plan", "data-classification-policy"} {
		if !found[name] {
			t.Errorf("the library has no Document %s", name)
		}
	}
}

func attestedLibraryControls(t *testing.T, dir string) map[string]bool {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "a-*.yaml"))
	names := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c ismsv1.Control
		if err := yaml.Unmarshal(data, &c); err != nil {
			t.Fatal(err)
		}
		names[c.Name] = c.IsAttested()
	}
	return names
}

// TestDocumentSamples: the sample Documents are ones the API server accepts.
func TestDocumentSamples(t *testing.T) {
	v, err := Load(crd.Bases, "bases")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "config", "samples", "documents", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no sample Documents")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := yaml.Unmarshal(data, &obj); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if errs := v.Validate(context.Background(), schema.GroupVersionKind{Group: "isms.dev", Version: "v1alpha1", Kind: "Document"}, obj); len(errs) > 0 {
			t.Errorf("%s: the API server would refuse it: %v", f, errs.ToAggregate())
		}
	}
}
