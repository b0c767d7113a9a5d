package chart

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/isms-operator/isms-operator/test/install"
)

func render(t *testing.T, namespace string, set ...string) *Rendered {
	t.Helper()
	r, err := Render(namespace, set...)
	if err != nil {
		t.Fatalf("helm install --set %s: %v", strings.Join(set, ","), err)
	}
	return r
}

func kustomize(t *testing.T, dir string, components ...string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := install.RenderWithComponents(dir, components...)
	if len(components) == 0 {
		objs, err = install.Render(dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func assertSame(t *testing.T, want []*unstructured.Unstructured, got *Rendered) {
	t.Helper()
	for _, p := range Compare(want, got) {
		t.Error(p)
	}
}

// TestDefaultsRenderConfigDefault: with its default values the chart renders config/default,
// every object and every field (kinds, names, namespaces, RBAC rules, the webhook
// configuration, the CRDs, the Deployment's args, env, probes and resources), but for what a
// Helm install differs in by nature (Compare). A change to config/default fails this test
// until the chart follows.
func TestDefaultsRenderConfigDefault(t *testing.T) {
	assertSame(t, kustomize(t, install.Default), render(t, Namespace))
}

// TestCertManagerModeRendersTheOverlay: webhook.certMode=cert-manager renders what
// config/overlays/cert-manager does: the Issuer and Certificate, the CA-injection annotation,
// --webhook-cert-rotation=false, and neither the rotator's Secret nor its RBAC.
func TestCertManagerModeRendersTheOverlay(t *testing.T) {
	assertSame(t, kustomize(t, install.CertManager), render(t, Namespace, "webhook.certMode=cert-manager"))
}

// TestSizesRenderTheSizingComponents: size=<s> renders config/default with the component
// config/sizing/<s>.
func TestSizesRenderTheSizingComponents(t *testing.T) {
	for _, size := range install.Sizes {
		t.Run(size, func(t *testing.T) {
			assertSame(t, kustomize(t, install.Default, "config/sizing/"+size), render(t, Namespace, "size="+size))
		})
	}
}

// TestCRDsAreConfigCRDBases: the chart's crds/ holds config/crd/bases byte for byte (make
// manifests copies them), no more and no fewer.
func TestCRDsAreConfigCRDBases(t *testing.T) {
	bases := readYAMLFiles(t, filepath.Join(install.RepoRoot(), "config/crd/bases"))
	chartCRDs := readYAMLFiles(t, filepath.Join(install.RepoRoot(), Dir, "crds"))
	for name, data := range bases {
		if got, ok := chartCRDs[name]; !ok {
			t.Errorf("%s/crds/%s is missing: run make manifests", Dir, name)
		} else if !bytes.Equal(got, data) {
			t.Errorf("%s/crds/%s differs from config/crd/bases/%s: run make manifests", Dir, name, name)
		}
	}
	for name := range chartCRDs {
		if _, ok := bases[name]; !ok {
			t.Errorf("%s/crds/%s is not in config/crd/bases: run make manifests", Dir, name)
		}
	}
	if len(bases) == 0 {
		t.Fatal("config/crd/bases holds no CRDs")
	}
}

func readYAMLFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() || !slices.Contains([]string{".yaml", ".yml"}, filepath.Ext(e.Name())) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = data
	}
	return out
}
