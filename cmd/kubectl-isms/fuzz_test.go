package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary manifests to eval's loader: it never panics, and anything it
// refuses is an input error (exit code 2) that names the file.
func FuzzLoad(f *testing.F) {
	f.Add("apiVersion: isms.dev/v1alpha1\nkind: Control\nmetadata: {name: c}\nspec: {id: X, title: x, owner: o, severity: high, interval: 0s, targets: {kinds: [{apiGroups: [''], kinds: [Pod]}]}, policy: {rego: 'package x'}}\n")
	f.Add("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n---\nkind: Pod\n")
	f.Add("a: &x [*x, *x]\n")
	f.Add("apiVersion: isms.dev/v1alpha1\nkind: ControlException\nmetadata: {name: e}\nspec: {controls: [c], subjects: {namespaces: [a]}, justification: j, approvedBy: b, approvedAt: '2030-01-01T00:00:00Z', expiresAt: '2030-06-01T00:00:00Z'}\n")
	f.Add("{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"a\", \"name\": \"b\"}}")
	f.Fuzz(func(t *testing.T, manifest string) {
		path := filepath.Join(t.TempDir(), "in.yaml")
		if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := load([]string{path}, nil)
		var ue usageError
		if err != nil && !errors.As(err, &ue) {
			t.Fatalf("load failed with %T, not an input error: %v", err, err)
		}
	})
}
